//! The webhook (`--notify-url`) against a local HTTP receiver: a burst of new
//! "needs you" items is one POST with a `text` field; a failing or hanging
//! webhook is retried (timeout, back-off) without ever holding up the broker;
//! a refusal (4xx) is not retried.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_peers_proto::api::SendRequest;
use claude_peers_proto::coord::{RequestApproval, RequestVerification};
use claude_peers_proto::permissions::REQUEST_METHOD;
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the receiver does with one request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// Read the request and never answer.
    Hang,
}

/// A local webhook receiver: answers attempt N with `script[N]` (the last one
/// after that) and reports each request's JSON body.
struct Receiver {
    url: String,
    bodies: mpsc::UnboundedReceiver<(Value, String)>,
}

async fn receiver(script: Vec<Answer>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook?tpl=1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(Mutex::new(0usize));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = {
                let mut c = count.lock().unwrap();
                *c += 1;
                *c - 1
            };
            let answer = script[n.min(script.len() - 1)];
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body) = loop {
                    let k = sock.read(&mut chunk).await.unwrap_or(0);
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        while buf.len() < p + 4 + len {
                            let k = sock.read(&mut chunk).await.unwrap_or(0);
                            if k == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..k]);
                        }
                        break (head, buf[p + 4..].to_vec());
                    }
                };
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = tx.send((v, head));
                match answer {
                    Answer::Status(code) => {
                        let _ = sock
                            .write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
                            .await;
                    }
                    Answer::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    Receiver { url, bodies: rx }
}

impl Receiver {
    async fn next(&mut self) -> (Value, String) {
        tokio::time::timeout(WAIT, self.bodies.recv())
            .await
            .expect("the webhook was not called")
            .unwrap()
    }

    /// No further request within `window`.
    async fn none_within(&mut self, window: Duration) {
        if let Ok(Some((v, _))) = tokio::time::timeout(window, self.bodies.recv()).await {
            panic!("an unexpected webhook call: {v}");
        }
    }
}

#[tokio::test]
async fn a_burst_of_new_items_is_one_notification() {
    let mut rx = receiver(vec![Answer::Status(200)]).await;
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &[
            "--permission-relay",
            "--notify-url",
            &rx.url,
            "--notify-coalesce-ms",
            "2000",
        ],
    )
    .await;
    let cwd = env.subdir("a");
    let mut m = Mcp::start(&env, &cwd).await;
    for i in 0..10 {
        m.notify(
            REQUEST_METHOD,
            json!({"request_id": format!("req{i:02}"), "tool_name": "Bash", "description": "run", "input_preview": "ls"}),
        )
        .await;
    }
    let (v, head) = rx.next().await;
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert!(head.starts_with("POST /hook?tpl=1 "), "{head}");
    assert_eq!(v["count"], 10, "{v}");
    let text = v["text"].as_str().unwrap();
    assert!(text.starts_with("10 things need you"), "{text}");
    assert!(
        text.contains(&format!("{} asks to use Bash", m.name)),
        "{text}"
    );
    assert_eq!(v["content"], v["text"], "Discord reads content");
    assert_eq!(v["title"], "claude-peers: 10 things need you");
    rx.none_within(Duration::from_secs(3)).await;

    // A single later item is its own notification, with its own text.
    env.register("/tmp", |_| {})
        .await
        .1
        .send(&SendRequest {
            to: "dashboard".into(),
            text: "the build is red".into(),
            context: None,
            wait_ms: None,
            reply_to: None,
            status: false,
        })
        .await
        .unwrap();
    let (v, _) = rx.next().await;
    assert_eq!(v["count"], 1);
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .ends_with("wrote: the build is red"),
        "{v}"
    );
}

#[tokio::test]
async fn a_failing_or_hanging_webhook_is_retried_and_never_holds_up_the_broker() {
    let mut rx = receiver(vec![Answer::Hang, Answer::Status(500), Answer::Status(200)]).await;
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &[
            "--notify-url",
            &rx.url,
            "--notify-coalesce-ms",
            "100",
            "--notify-timeout-ms",
            "800",
        ],
    )
    .await;
    let (_, peer) = env.register("/tmp", |_| {}).await;
    let msg = |t: &str| SendRequest {
        to: "dashboard".into(),
        text: t.into(),
        context: None,
        wait_ms: None,
        reply_to: None,
        status: false,
    };
    peer.send(&msg("please look")).await.unwrap();
    let (first, _) = rx.next().await;
    // The first attempt hangs: the broker still answers everything.
    env.anon().health().await.unwrap();
    peer.send(&msg("still here")).await.unwrap();
    env.admin().needs_you().await.unwrap();
    let (second, _) = rx.next().await; // after the timeout
    let (third, _) = rx.next().await; // after a 500
    assert_eq!(first, second, "the same notification, retried");
    assert_eq!(second, third);
    assert!(first["text"].as_str().unwrap().contains("please look"));
    // Then the second message's notification (a burst of its own).
    let (next, _) = rx.next().await;
    assert!(
        next["text"].as_str().unwrap().contains("still here"),
        "{next}"
    );
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_only_http_urls_are_taken() {
    let mut rx = receiver(vec![Answer::Status(400)]).await;
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &["--notify-url", &rx.url, "--notify-coalesce-ms", "100"],
    )
    .await;
    let (_, peer) = env.register("/tmp", |_| {}).await;
    peer.send(&SendRequest {
        to: "dashboard".into(),
        text: "hello".into(),
        context: None,
        wait_ms: None,
        reply_to: None,
        status: false,
    })
    .await
    .unwrap();
    rx.next().await;
    rx.none_within(Duration::from_secs(2)).await;

    let other = Env::new();
    let db = other.db.to_string_lossy().to_string();
    let (ok, _, err) = other
        .cli(&["broker", "--db", &db, "--notify-url", "ftp://127.0.0.1:9/x"])
        .await;
    assert!(
        !ok && err.contains("must be an http:// or https:// URL"),
        "{err}"
    );
}

/// An approval or a verification request addressed to the person is a new
/// "needs you" item: announced (a burst of both is one POST); one addressed
/// to a peer is not.
#[tokio::test]
async fn requests_to_the_person_are_announced_and_requests_to_peers_are_not() {
    let mut rx = receiver(vec![Answer::Status(200)]).await;
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &["--notify-url", &rx.url, "--notify-coalesce-ms", "1000"],
    )
    .await;
    let (asker, client) = env.register("/tmp", |_| {}).await;
    let (peer, _) = env.register("/tmp", |_| {}).await;
    client
        .request_approval(&RequestApproval {
            approver: peer.peer.name.clone(),
            action: "rename the crate".into(),
        })
        .await
        .unwrap();
    rx.none_within(Duration::from_secs(2)).await;

    client
        .request_approval(&RequestApproval {
            approver: "dashboard".into(),
            action: "deploy to production".into(),
        })
        .await
        .unwrap();
    client
        .request_verification(&RequestVerification {
            verifier: "dashboard".into(),
            claim: "the release notes are complete".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (v, _) = rx.next().await;
    assert_eq!(v["count"], 2, "{v}");
    let text = v["text"].as_str().unwrap();
    for line in [
        format!(
            "{} asks your approval: deploy to production",
            asker.peer.name
        ),
        format!(
            "{} asks you to verify: the release notes are complete",
            asker.peer.name
        ),
    ] {
        assert!(text.contains(&line), "{line} missing in {text}");
    }
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"approval") && kinds.contains(&"verification"),
        "{v}"
    );
    // Answering it announces nothing new.
    let pending = env.admin().needs_you().await.unwrap();
    let approval = pending
        .items
        .iter()
        .find(|i| i.kind == claude_peers_proto::needs_you::ItemKind::Approval)
        .unwrap();
    let (ok, _, err) = env.cli(&["inbox", "approve", &approval.id]).await;
    assert!(ok, "{err}");
    rx.none_within(Duration::from_secs(2)).await;
}
