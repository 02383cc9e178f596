//! Team mode: two and three brokers serving one PostgreSQL database at
//! once, end to end with the real binary (these tests need
//! `CLAUDE_PEERS_TEST_PG`, which `.ci/run` sets; without it they say so and
//! return). Each broker has its own state directory, port and log
//! ([`Env::beside`]):
//! - brokers serve at once: a peer registered on A works on B with its
//!   token, every broker has the team's admin token, and the dashboard
//!   sign-in made on one broker is valid on another;
//! - a message sent through A's MCP server reaches an MCP server on B at
//!   once (a channel notification), A's sender learns it was delivered, and
//!   A lists B's peer as connected;
//! - `watch` on B shows what happens on A, a large message included;
//! - failover: an MCP server with `CLAUDE_PEERS_BROKERS=B,A` loses B to
//!   SIGKILL and moves to A as the same peer, every message shown once;
//! - writes through several brokers at once keep the single-writer rules
//!   (unique default names, a recipient's queue depth);
//! - maintenance runs on one broker and moves when that one dies;
//! - isolation holds across brokers;
//! - a broker whose `LISTEN` connection is cut connects again and its
//!   sessions get what was sent meanwhile.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use claude_peers_client::BrokerClient;
use claude_peers_proto::ErrorCode;
use claude_peers_proto::api::{DeliveryState, PeerState, SendRequest};
use common::*;
use serde_json::json;
use tokio::sync::Mutex;

/// A world on PostgreSQL, or `None` (said on stderr) without a server.
fn pg_env() -> Option<Env> {
    if test_pg().is_none() {
        eprintln!("CLAUDE_PEERS_TEST_PG is not set: this PostgreSQL team test did not run");
        return None;
    }
    Some(Env::new().with("CLAUDE_PEERS_PAIR_SENDS_PER_MINUTE", "0"))
}

fn log_of(env: &Env) -> String {
    std::fs::read_to_string(env.dir.path().join("broker-test.log")).unwrap_or_default()
}

const MAINTAINING: &str = "this broker now runs the maintenance";

#[tokio::test]
async fn several_brokers_serve_one_database_at_once_with_the_same_tokens() {
    let Some(a) = pg_env() else { return };
    let b = a.beside();
    let c = a.beside();
    let _ba = Broker::start(&a, &[]).await;
    let _bb = Broker::start(&b, &[]).await;
    let _bc = Broker::start(&c, &[]).await;

    let (alice, alice_a) = a.register("/w/a", |r| r.name = Some("alice".into())).await;
    // Alice's token works on B (B never saw her register).
    let alice_b = BrokerClient::new(&b.endpoint(), alice_a.token().map(str::to_string));
    let me = alice_b.me().await.expect("alice's token on B");
    assert_eq!(me.peer.id, alice.peer.id);
    // Bob registers on C and writes to Alice through C; she reads it through B.
    let (_, bob_c) = c.register("/w/b", |r| r.name = Some("bob".into())).await;
    let id = send_text(&bob_c, "alice", "across brokers").await;
    let inbox = alice_b.inbox().await.unwrap();
    assert!(inbox.messages.iter().any(|m| m.id == id), "{inbox:?}");

    // One admin token for the team, written to each broker's file.
    assert_eq!(a.admin_token(), b.admin_token());
    assert_eq!(a.admin_token(), c.admin_token());
    let listed = c.admin().peers(&Default::default()).await.unwrap();
    assert!(listed.iter().any(|p| p.name == "alice"), "{listed:?}");

    // A dashboard sign-in made on A is valid on B.
    let http = reqwest::Client::new();
    let signin = http
        .post(a.url("/v1/signin"))
        .json(&json!({"token": a.admin_token()}))
        .send()
        .await
        .unwrap();
    assert!(signin.status().is_success(), "{:?}", signin.status());
    let cookie = signin
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a sign-in cookie")
        .to_string();
    let on_b = http
        .get(b.url("/v1/peers"))
        .header("cookie", &cookie)
        .header("origin", b.url(""))
        .send()
        .await
        .unwrap();
    assert!(on_b.status().is_success(), "{:?}", on_b.status());
}

#[tokio::test]
async fn a_send_through_a_reaches_an_mcp_server_on_b_at_once() {
    let Some(a) = pg_env() else { return };
    let b = a.beside();
    let _ba = Broker::start(&a, &[]).await;
    let _bb = Broker::start(&b, &[]).await;
    let mut on_b = Mcp::start(&b, &b.subdir("work")).await;
    let mut on_a = Mcp::start(&a, &a.subdir("work")).await;

    // A sees B's peer connected.
    until!("A lists B's peer as connected", {
        peer_view(&a, &on_b.id).await.is_some_and(|p| p.connected)
    });

    let r = on_a
        .call(
            "send_message",
            json!({"to_id": on_b.name, "message": "pushed across"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let n = on_b
        .channel(WAIT)
        .await
        .expect("a channel notification on B");
    assert_eq!(n["params"]["content"], "pushed across");

    // A sender waiting on A learns of the delivery done on B.
    let (_, sender) = a.register("/w/s", |_| {}).await;
    let sent = sender
        .send(&SendRequest {
            to: on_b.name.clone(),
            text: "wait for me".into(),
            wait_ms: Some(5_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(sent.recipient_connected, "{sent:?}");
    assert_eq!(sent.state, DeliveryState::Delivered, "{sent:?}");
    assert!(on_b.channel(WAIT).await.is_some());
}

#[tokio::test]
async fn watch_on_b_shows_what_happens_on_a() {
    let Some(a) = pg_env() else { return };
    let b = a.beside();
    let _ba = Broker::start(&a, &[]).await;
    let _bb = Broker::start(&b, &[]).await;
    let (_, alice) = a.register("/w/a", |r| r.name = Some("alice".into())).await;
    let (_, _bob) = a.register("/w/b", |r| r.name = Some("bob".into())).await;
    let (_, carol_b) = b.register("/w/c", |r| r.name = Some("carol".into())).await;
    let (mut watching, mut lines) = watch(&b);
    // `watch` prints the last messages when it starts: wait until it shows
    // one sent through B after it subscribed, then only the stream is left.
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_millis(300), lines.next_line())
            .await
            .ok()
            .and_then(|l| l.ok().flatten())
    };
    let deadline = std::time::Instant::now() + WAIT;
    'subscribed: loop {
        assert!(
            std::time::Instant::now() < deadline,
            "watch on B shows nothing"
        );
        send_text(&carol_b, "bob", "are you watching").await;
        while let Some(l) = next_line().await {
            if l.contains("are you watching") {
                break 'subscribed;
            }
        }
    }
    // Through A now, once each; the big one is larger than a notification
    // carries, so it travels through the table.
    let big = format!("big-{}", "x".repeat(20_000));
    send_text(&alice, "bob", "small one").await;
    send_text(&alice, "bob", &big).await;
    let (mut saw_small, mut saw_big) = (false, false);
    while !(saw_small && saw_big) {
        assert!(
            std::time::Instant::now() < deadline,
            "watch on B did not show A's messages (small {saw_small}, big {saw_big})"
        );
        if let Some(l) = next_line().await {
            saw_small |= l.contains("small one");
            saw_big |= l.contains("big-xxxx");
        }
    }
    let _ = watching.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_server_moves_to_another_broker_after_sigkill_with_every_message_once() {
    let Some(a) = pg_env() else { return };
    let b = a.beside();
    let _ba = Broker::start(&a, &["--sends-per-minute", "0"]).await;
    let mut bb = Broker::start(&b, &["--sends-per-minute", "0"]).await;
    let list = format!(
        "http://127.0.0.1:{},http://127.0.0.1:{}",
        b.port(),
        a.port()
    );
    let mut m = Mcp::start_with(
        &b,
        &b.subdir("m"),
        &[("CLAUDE_PEERS_BROKERS", list.as_str())],
    )
    .await;
    let id_before = m.id.clone();

    // A sender on A, sending without pause while B dies.
    let (_, sender) = a.register("/w/s", |_| {}).await;
    let accepted: Arc<Mutex<BTreeMap<i64, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sending = {
        let (accepted, stop, to) = (accepted.clone(), stop.clone(), m.name.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let text = format!("msg-{i}");
                match sender
                    .send(&SendRequest {
                        to: to.clone(),
                        text: text.clone(),
                        ..Default::default()
                    })
                    .await
                {
                    Ok(r) => {
                        accepted.lock().await.insert(r.message_id, text);
                    }
                    Err(e) => panic!("A refused a send: {e}"),
                }
            }
        })
    };
    let count = || {
        let accepted = accepted.clone();
        async move { accepted.lock().await.len() }
    };
    until!("sends accepted before B dies", count().await >= 30);
    bb.sigkill();
    bb.wait_exit().await;
    until!("the MCP server's stream moved to A", {
        std::fs::read_to_string(b.dir.path().join("mcp-test.log"))
            .unwrap_or_default()
            .contains(&format!("broker=http://127.0.0.1:{}", a.port()))
    });
    let before = count().await;
    until!(
        "sends accepted after the move",
        count().await >= before + 30
    );
    stop.store(true, Ordering::Relaxed);
    sending.await.unwrap();

    let accepted = accepted.lock().await.clone();
    let expected = accepted.keys().copied().collect();
    let (seen, dupes) = shown_messages(&mut m, &expected).await;
    assert!(dupes.is_empty(), "shown twice: {dupes:?}");
    assert_eq!(seen, accepted, "what was shown is what was accepted");
    let who = m.call("whoami", json!({})).await;
    assert!(
        who.text.contains(&format!("(id {id_before})")),
        "{}",
        who.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_several_brokers_at_once_keep_the_single_writer_rules() {
    let Some(a) = pg_env() else { return };
    let a = a.with("CLAUDE_PEERS_QUEUE_DEPTH", "10");
    let envs = [a.beside(), a.beside(), a.beside()];
    let mut brokers = Vec::new();
    for e in &envs {
        brokers.push(
            Broker::start(
                e,
                &["--sends-per-minute", "0", "--registrations-per-minute", "0"],
            )
            .await,
        );
    }
    // Registrations with no name, at once on every broker: each gets its
    // own default name (the lowest free `claude-N`), none fails.
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..30 {
        let anon = envs[i % 3].anon();
        joins.spawn(async move {
            let req = claude_peers_proto::api::RegisterRequest {
                pid: std::process::id(),
                cwd: format!("/w/{i}"),
                ..Default::default()
            };
            anon.register(&req, None).await
        });
    }
    let mut names = BTreeSet::new();
    while let Some(r) = joins.join_next().await {
        let r = r.unwrap().expect("a registration failed");
        assert!(
            names.insert(r.peer.name.clone()),
            "{} given twice",
            r.peer.name
        );
    }
    assert_eq!(names.len(), 30);

    // Sends to one unconnected peer, at once through every broker: exactly
    // the queue depth is accepted, the others are refused as a full queue.
    let (_, _) = envs[0]
        .register("/w/r", |r| r.name = Some("rcpt".into()))
        .await;
    let mut senders = Vec::new();
    for (i, e) in envs.iter().enumerate() {
        senders.push(e.register(&format!("/w/s{i}"), |_| {}).await.1);
    }
    let mut joins = tokio::task::JoinSet::new();
    for round in 0..10 {
        for s in &senders {
            let s = s.clone();
            joins.spawn(async move { s.send(&send_req("rcpt", format!("m{round}"))).await });
        }
    }
    let (mut ok, mut full) = (0, 0);
    while let Some(r) = joins.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(e) if e.code() == Some(ErrorCode::QueueFull) => full += 1,
            Err(e) => panic!("a send failed otherwise: {e}"),
        }
    }
    assert_eq!((ok, full), (10, 20), "accepted and refused");
}

#[tokio::test]
async fn maintenance_runs_on_one_broker_and_moves_when_it_dies() {
    let Some(a) = pg_env() else { return };
    let a = a
        .with("CLAUDE_PEERS_RECONNECT_GRACE_MS", "400")
        .with("CLAUDE_PEERS_SKIP_PID_CHECK", "1");
    let b = a.beside();
    let c = a.beside();
    let mut ba = Broker::start(&a, &[]).await;
    let _bb = Broker::start(&b, &[]).await;
    let _bc = Broker::start(&c, &[]).await;
    until!("A runs the maintenance", log_of(&a).contains(MAINTAINING));
    // The others do not, for a while.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !log_of(&b).contains(MAINTAINING) && !log_of(&c).contains(MAINTAINING),
        "two brokers maintain at once"
    );
    ba.sigkill();
    ba.wait_exit().await;
    until!("B or C runs the maintenance", {
        log_of(&b).contains(MAINTAINING) || log_of(&c).contains(MAINTAINING)
    });
    // Only one of them.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !(log_of(&b).contains(MAINTAINING) && log_of(&c).contains(MAINTAINING)),
        "B and C both maintain"
    );
    // And it maintains: a peer that never connects turns stale.
    let (p, _) = b.register("/w/p", |_| {}).await;
    until!("the unconnected peer turned stale", {
        peer_view(&b, &p.peer.id)
            .await
            .is_some_and(|v| v.state == PeerState::Stale)
    });
}

#[tokio::test]
async fn isolation_holds_across_brokers() {
    let Some(a) = pg_env() else { return };
    let b = a.beside();
    let _ba = Broker::start(&a, &[]).await;
    let _bb = Broker::start(&b, &[]).await;
    let (red, red_a) = a.register("/w/red", |_| {}).await;
    let (blue, blue_b) = b.register("/w/blue", |_| {}).await;
    let admin = b.admin();
    admin.create_group("red").await.unwrap();
    admin.create_group("blue").await.unwrap();
    admin.assign_group(&red.peer.id, Some("red")).await.unwrap();
    admin
        .assign_group(&blue.peer.id, Some("blue"))
        .await
        .unwrap();
    for (from, to) in [(&red_a, &blue.peer.id), (&blue_b, &red.peer.id)] {
        let err = from.send(&send_req(to, "leak?")).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::DifferentGroup), "{err}");
    }
    let seen = red_a.peers(&Default::default()).await.unwrap();
    assert!(seen.iter().all(|p| p.id != blue.peer.id), "{seen:?}");
}

#[tokio::test]
async fn a_broker_whose_listen_connection_is_cut_catches_up() {
    let Some(a) = pg_env() else { return };
    let b = a.beside();
    let _ba = Broker::start(&a, &[]).await;
    let _bb = Broker::start(&b, &[]).await;
    let mut on_b = Mcp::start(&b, &b.subdir("work")).await;
    let (_, sender) = a.register("/w/s", |_| {}).await;
    send_text(&sender, &on_b.name, "before").await;
    assert!(on_b.channel(WAIT).await.is_some());
    // Every broker's listener connection is cut by the server.
    let url = a.store.clone().unwrap();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'claude-peers listen' AND datname = current_database()",
            &[],
        )
        .unwrap();
    })
    .join()
    .unwrap();
    send_text(&sender, &on_b.name, "while cut").await;
    let n = on_b
        .channel(WAIT)
        .await
        .expect("the message sent while cut");
    assert_eq!(n["params"]["content"], "while cut");
    until!("B's listener is back", {
        log_of(&b).contains("the connection for other brokers' notifications was lost")
    });
    send_text(&sender, &on_b.name, "after").await;
    let n = on_b.channel(WAIT).await.expect("the message sent after");
    assert_eq!(n["params"]["content"], "after");
}
