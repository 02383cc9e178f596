//! Team mode without PostgreSQL, end to end with the real binary:
//! - TLS: a broker serving HTTPS/WSS with a certificate made in the test; an
//!   MCP server and the CLI that trust its CA (`CLAUDE_PEERS_CA_FILE`) use it,
//!   and without the CA they fail saying why;
//! - the webhook over HTTPS to a receiver whose certificate the same CA signed;
//! - failover: a broker list `A,B`; B stands by (`--standby`) on the same
//!   SQLite file; A is killed, B takes the database over, and the MCP server
//!   moves to B as the same peer, with every message shown once.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::SendRequest;
use claude_peers_proto::permissions::REQUEST_METHOD;
use common::tls::{TestCa, start_tls_broker};
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc};

fn mcp_log(env: &Env) -> String {
    std::fs::read_to_string(env.dir.path().join("mcp-test.log")).unwrap_or_default()
}

#[tokio::test]
async fn an_https_broker_serves_clients_that_trust_its_ca_over_https_and_wss() {
    let env = Env::new();
    let ca = TestCa::new(env.dir.path());
    let _broker = start_tls_broker(&env, &ca, &[]).await;
    let url = format!("https://127.0.0.1:{}", env.port());
    let ca_file = ca.ca.to_string_lossy().to_string();

    // Plain HTTP on the TLS port gets no answer from the API.
    let plain = reqwest::get(format!("http://127.0.0.1:{}/health", env.port())).await;
    assert!(
        !matches!(&plain, Ok(r) if r.status().is_success()),
        "plain HTTP was served: {plain:?}"
    );

    // The dashboard's sign-in cookie is marked Secure on an HTTPS broker.
    let r = ca
        .http()
        .post(format!("{url}/v1/signin"))
        .json(&json!({"token": env.admin_token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("; Secure"),
        "{cookie}"
    );

    // An MCP server registers over HTTPS and holds its stream over WSS.
    let trusted = [
        ("CLAUDE_PEERS_BROKERS", url.as_str()),
        ("CLAUDE_PEERS_CA_FILE", ca_file.as_str()),
    ];
    let mut m = Mcp::start_with(&env, &env.subdir("a"), &trusted).await;
    assert!(!m.id.is_empty(), "not registered: {}", mcp_log(&env));
    until!(
        "the MCP server's stream is open over wss",
        mcp_log(&env).contains(&format!("broker={url}")) && mcp_log(&env).contains("stream open")
    );

    // The CLI sends through HTTPS; the message is pushed over WSS.
    let mut cmd = env.command(&["send", &m.name, "hello over wss"]);
    for (k, v) in trusted {
        cmd.env(k, v);
    }
    let (code, out, err) = run_output(cmd, WAIT).await;
    assert_eq!(code, Some(0), "send failed: {out} {err}");
    let n = m.channel(WAIT).await.expect("no push over wss");
    assert_eq!(n["params"]["content"], "hello over wss");

    // Without the CA, the CLI refuses the certificate and says what to do.
    let mut cmd = env.command(&["peers"]);
    cmd.env("CLAUDE_PEERS_BROKERS", &url)
        .env_remove("CLAUDE_PEERS_CA_FILE");
    let (code, _, err) = run_output(cmd, WAIT).await;
    assert_ne!(code, Some(0));
    assert!(
        err.contains("not trusted") && err.contains("CLAUDE_PEERS_CA_FILE"),
        "{err}"
    );

    // And so does an MCP server (in its log, while it keeps retrying).
    let _untrusting = Mcp::spawn(
        &env,
        &env.subdir("b"),
        &[("CLAUDE_PEERS_BROKERS", url.as_str())],
    )
    .await;
    until!(
        "the untrusting MCP server logs why it cannot connect",
        mcp_log(&env).contains("certificate is not trusted")
    );
}

#[tokio::test]
async fn a_self_signed_ca_certificate_as_the_brokers_own_is_explained() {
    // `openssl req -x509` makes a CA certificate; serving it as the broker's
    // own is refused by TLS clients even when it is the CA file: the CLI
    // says so and how to make a certificate that works.
    let env = Env::new();
    let cert = TestCa::self_signed_ca_as_server(env.dir.path());
    let (c, k) = (
        cert.cert.to_string_lossy().to_string(),
        cert.key.to_string_lossy().to_string(),
    );
    let _broker = Broker::spawn(&env, &["--tls-cert", &c, "--tls-key", &k], &[]).await;
    let url = format!("https://127.0.0.1:{}", env.port());
    let deadline = std::time::Instant::now() + WAIT;
    let err = loop {
        let mut cmd = env.command(&["peers"]);
        cmd.env("CLAUDE_PEERS_BROKERS", &url)
            .env("CLAUDE_PEERS_CA_FILE", &cert.ca);
        let (code, _, err) = run_output(cmd, WAIT).await;
        assert_ne!(
            code,
            Some(0),
            "the CA certificate was accepted as the server's"
        );
        if err.contains("certificate") || std::time::Instant::now() > deadline {
            break err;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        err.contains("is a CA certificate used as the server's own")
            && err.contains("docs/TEAM.md"),
        "{err}"
    );
}

#[tokio::test]
async fn tls_flags_come_in_pairs_and_bad_files_are_named() {
    let env = Env::new();
    let db = env.db.to_string_lossy().to_string();
    let (ok, _, err) = env
        .cli(&["broker", "--db", &db, "--tls-cert", "/nonexistent/cert.pem"])
        .await;
    assert!(!ok && err.contains("--tls-key"), "{err}");

    let (ok, _, err) = env
        .cli(&[
            "broker",
            "--db",
            &db,
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .await;
    assert!(
        !ok && err.contains("/nonexistent/cert.pem") && err.contains("cannot read"),
        "{err}"
    );

    let ca = TestCa::new(env.dir.path());
    let junk = env.dir.path().join("junk.pem");
    std::fs::write(&junk, "not a key\n").unwrap();
    let (ok, _, err) = env
        .cli(&[
            "broker",
            "--db",
            &db,
            "--tls-cert",
            &ca.cert.to_string_lossy(),
            "--tls-key",
            &junk.to_string_lossy(),
        ])
        .await;
    assert!(
        !ok && err.contains("junk.pem") && err.contains("no usable private key"),
        "{err}"
    );

    // A LAN bind with TLS still needs the join token.
    let (ok, _, err) = env
        .cli(&[
            "broker",
            "--db",
            &db,
            "--bind",
            "0.0.0.0",
            "--allow-lan",
            "--tls-cert",
            &ca.cert.to_string_lossy(),
            "--tls-key",
            &ca.key.to_string_lossy(),
        ])
        .await;
    assert!(!ok && err.contains("CLAUDE_PEERS_TOKEN"), "{err}");
}

/// A local HTTPS webhook receiver: reports each request's JSON body, and
/// counts handshakes that failed.
struct TlsReceiver {
    url: String,
    bodies: mpsc::UnboundedReceiver<Value>,
    failed_handshakes: Arc<AtomicUsize>,
}

async fn tls_receiver(ca: &TestCa) -> TlsReceiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
    let (tx, bodies) = mpsc::unbounded_channel();
    let failed = Arc::new(AtomicUsize::new(0));
    let failed_handshakes = failed.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (acceptor, tx, failed) = (acceptor.clone(), tx.clone(), failed.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    failed.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let k = tls.read(&mut chunk).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= p + 4 + len {
                        let v =
                            serde_json::from_slice(&buf[p + 4..p + 4 + len]).unwrap_or(Value::Null);
                        let _ = tx.send(v);
                        let _ = tls
                            .write_all(
                                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            )
                            .await;
                        let _ = tls.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    TlsReceiver {
        url,
        bodies,
        failed_handshakes,
    }
}

/// Start a plain broker with the relay and the webhook, and have an MCP
/// server raise one permission request.
async fn raise_permission_request(env: &Env, webhook: &str) -> (Broker, Mcp) {
    let broker = Broker::start(
        env,
        &[
            "--permission-relay",
            "--notify-url",
            webhook,
            "--notify-coalesce-ms",
            "100",
        ],
    )
    .await;
    let mut m = Mcp::start(env, &env.subdir("a")).await;
    m.notify(
        REQUEST_METHOD,
        json!({"request_id": "req01", "tool_name": "Bash", "description": "run", "input_preview": "ls"}),
    )
    .await;
    (broker, m)
}

#[tokio::test]
async fn the_webhook_posts_over_https_to_a_receiver_the_ca_file_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let mut rx = tls_receiver(&ca).await;

    let env = Env::new().with("CLAUDE_PEERS_CA_FILE", &ca.ca.to_string_lossy());
    let (_b, _m) = raise_permission_request(&env, &rx.url).await;
    let body = tokio::time::timeout(WAIT, rx.bodies.recv())
        .await
        .expect("the webhook was not called over https")
        .unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap_or("")
            .contains("asks to use Bash"),
        "{body}"
    );

    // A broker without the CA refuses the receiver's certificate.
    let untrusting = Env::new();
    let (_b2, _m2) = raise_permission_request(&untrusting, &rx.url).await;
    until!(
        "the untrusting broker's handshake fails",
        rx.failed_handshakes.load(Ordering::SeqCst) > 0
    );
    until!(
        "the broker logs why",
        broker_log(&untrusting).contains("not trusted")
    );
    assert!(
        rx.bodies.try_recv().is_err(),
        "a body arrived without trust"
    );
}

/// A standby broker (`--standby`) on `env`'s database and another port: it
/// waits for the database until the broker holding it is gone.
fn spawn_standby(env: &Env, port: u16) -> Broker {
    let db = env.db.to_string_lossy().to_string();
    let port_s = port.to_string();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.dir.path().join("standby-test.log"))
        .unwrap();
    let child = env
        .command(&[
            "broker",
            "--db",
            &db,
            "--port",
            &port_s,
            "--sends-per-minute",
            "0",
            "--standby",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    Broker { child }
}

fn standby_log(env: &Env) -> String {
    std::fs::read_to_string(env.dir.path().join("standby-test.log")).unwrap_or_default()
}

fn endpoint(env: &Env, port: u16) -> Endpoint {
    Endpoint {
        port,
        ..env.endpoint()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_server_fails_over_to_a_standby_broker_as_the_same_peer_with_every_message_once() {
    let env = Env::new().with("CLAUDE_PEERS_PAIR_SENDS_PER_MINUTE", "0");
    let mut a = Broker::start(&env, &["--sends-per-minute", "0"]).await;
    let port_b = free_port();
    let list = format!("http://127.0.0.1:{},http://127.0.0.1:{port_b}", env.port());
    let mut m = Mcp::start_with(
        &env,
        &env.subdir("b"),
        &[("CLAUDE_PEERS_BROKERS", list.as_str())],
    )
    .await;
    let (id_before, name) = (m.id.clone(), m.name.clone());

    // The sender is a peer registered over HTTP that fails over the same way:
    // its token is in the shared database, so B knows it too.
    let (_, sender) = env
        .register(&env.subdir("a").to_string_lossy(), |_| {})
        .await;
    let token = sender.token().map(str::to_string);
    let brokers = [
        BrokerClient::new(&endpoint(&env, env.port()), token.clone()),
        BrokerClient::new(&endpoint(&env, port_b), token),
    ];
    let accepted: Arc<Mutex<BTreeMap<i64, (String, usize)>>> = Arc::default();
    // Sends that failed: one of them may have been committed by A just
    // before it died (its answer lost), so it may be delivered too.
    let unconfirmed: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sending = {
        let (accepted, unconfirmed, stop, to) = (
            accepted.clone(),
            unconfirmed.clone(),
            stop.clone(),
            name.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let text = format!("msg-{i}");
                let req = SendRequest {
                    to: to.clone(),
                    text: text.clone(),
                    ..Default::default()
                };
                let mut sent = false;
                for (via, c) in brokers.iter().enumerate() {
                    match c.send(&req).await {
                        Ok(r) => {
                            accepted
                                .lock()
                                .await
                                .insert(r.message_id, (text.clone(), via));
                            sent = true;
                            break;
                        }
                        // The broker may have committed it before it died.
                        Err(_) => unconfirmed.lock().await.push(text.clone()),
                    }
                }
                if !sent {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        })
    };
    let through = |via: usize| {
        let accepted = accepted.clone();
        async move {
            accepted
                .lock()
                .await
                .values()
                .filter(|(_, v)| *v == via)
                .count()
        }
    };

    // B stands by: it waits for the database A holds, and serves nothing yet.
    let _b = spawn_standby(&env, port_b);
    until!(
        "B is standing by",
        standby_log(&env).contains("standby: waiting")
    );
    let b_client = BrokerClient::new(&endpoint(&env, port_b), None);
    assert!(b_client.health().await.is_err(), "B serves beside A");

    until!("sends accepted by A", through(0).await >= 30);
    a.sigkill();
    let killed = std::time::Instant::now();
    a.wait_exit().await;
    until!(
        "the MCP server's stream moved to B",
        mcp_log(&env).contains(&format!("broker=http://127.0.0.1:{port_b}"))
    );
    // A figure for the docs, not a pass/fail threshold.
    eprintln!(
        "failover: the MCP server's stream was open on B {} ms after A was killed",
        killed.elapsed().as_millis()
    );
    until!("sends accepted by B", through(1).await >= 30);
    stop.store(true, Ordering::Relaxed);
    sending.await.unwrap();

    // Count what reached the session on the MCP server's stdout.
    let accepted = accepted.lock().await.clone();
    let expected = accepted.keys().copied().collect();
    let (seen, dupes) = shown_messages(&mut m, &expected).await;
    assert!(dupes.is_empty(), "shown twice: {dupes:?}");
    for (id, (text, _)) in &accepted {
        assert_eq!(seen.get(id), Some(text), "message {id}");
    }
    // Beyond the accepted ones, at most the one send in flight when A died.
    let unconfirmed = unconfirmed.lock().await.clone();
    let extra: Vec<_> = seen
        .iter()
        .filter(|(id, _)| !accepted.contains_key(id))
        .collect();
    assert!(
        extra.len() <= 1 && extra.iter().all(|(_, t)| unconfirmed.contains(t)),
        "pushed messages nobody sent: {extra:?}"
    );

    // Same peer on B: the id did not change.
    let who = m.call("whoami", json!({})).await;
    assert!(
        who.text.contains(&format!("(id {id_before})")),
        "{}",
        who.text
    );
}

#[tokio::test]
async fn with_a_broker_list_nothing_starts_a_broker_by_itself() {
    let env = Env::new();
    let list = format!(
        "http://127.0.0.1:{},http://127.0.0.1:{}",
        env.port(),
        free_port()
    );
    // The CLI's doctor (which starts the default broker "as a session would").
    let mut cmd = env.command(&["doctor"]);
    cmd.env("CLAUDE_PEERS_BROKERS", &list);
    let (_, out, err) = run_output(cmd, WAIT).await;
    assert!(out.contains("no broker answers"), "{out}\n{err}");
    // An MCP server keeps trying the list and starts nothing.
    let _m = Mcp::spawn(
        &env,
        &env.subdir("a"),
        &[("CLAUDE_PEERS_BROKERS", list.as_str())],
    )
    .await;
    until!(
        "the MCP server tried the whole list",
        mcp_log(&env).contains("no broker of the list answers")
    );
    assert!(
        broker_pids(&env.db).is_empty(),
        "a broker was started for a list"
    );
}
