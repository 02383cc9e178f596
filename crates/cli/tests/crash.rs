//! Crashes: the broker killed with SIGKILL mid-stream, and an MCP server killed
//! before its messages were read. Nothing that was accepted is lost, nothing is
//! shown twice, and identities survive.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use claude_peers_proto::api::SendRequest;
use common::*;
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_sigkill_mid_stream_loses_nothing_and_duplicates_nothing() {
    // The broker the MCP server starts after the crash reads the variable.
    let env = Env::new().with("CLAUDE_PEERS_PAIR_SENDS_PER_MINUTE", "0");
    let mut broker = Broker::start(&env, &["--sends-per-minute", "0"]).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let who_before = b.call("whoami", json!({})).await.text;
    let b_name = b.name.clone();

    // The sender is a peer registered over HTTP, sending as fast as it can.
    let (a, a_client) = env
        .register(&env.subdir("a").to_string_lossy(), |_| {})
        .await;
    let accepted: Arc<Mutex<BTreeMap<i64, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let accepted = accepted.clone();
        let stop = stop.clone();
        let c = a_client.clone();
        let to = b_name.clone();
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let text = format!("msg-{i}");
                let req = SendRequest {
                    to: to.clone(),
                    text: text.clone(),
                    context: None,
                    wait_ms: None,
                    ..Default::default()
                };
                if let Ok(r) = c.send(&req).await {
                    accepted.lock().await.insert(r.message_id, text);
                } else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        })
    };

    until!("some sends accepted", accepted.lock().await.len() >= 50);
    broker.sigkill();
    broker.wait_exit().await;
    let before_restart = accepted.lock().await.len();
    // The MCP server (which holds a stream) notices and starts a new broker by itself.
    wait_healthy(&env).await;
    until!(
        "sends accepted again after the restart",
        accepted.lock().await.len() >= before_restart + 50
    );
    stop.store(true, Ordering::Relaxed);
    sender.await.unwrap();

    let accepted = accepted.lock().await.clone();
    let mut seen: BTreeMap<i64, String> = BTreeMap::new();
    let mut dupes = BTreeSet::new();
    let want: BTreeSet<i64> = accepted.keys().copied().collect();
    let deadline = std::time::Instant::now() + WAIT;
    while !want.iter().all(|id| seen.contains_key(id)) {
        assert!(
            std::time::Instant::now() < deadline,
            "missing: {:?}",
            want.iter()
                .filter(|id| !seen.contains_key(id))
                .collect::<Vec<_>>()
        );
        if let Some(n) = b.channel(Duration::from_millis(200)).await {
            let id = meta_id(&n);
            let text = n["params"]["content"].as_str().unwrap().to_string();
            if seen.insert(id, text).is_some() {
                dupes.insert(id);
            }
        }
    }
    // Anything still in flight would show up now as a duplicate.
    for n in b.drain_channel(Duration::from_millis(500)).await {
        let id = meta_id(&n);
        if seen
            .insert(id, n["params"]["content"].as_str().unwrap().to_string())
            .is_some()
        {
            dupes.insert(id);
        }
    }
    assert!(dupes.is_empty(), "shown twice: {dupes:?}");
    for (id, text) in &accepted {
        assert_eq!(seen.get(id), Some(text), "message {id}");
    }

    // A search brings the full-text index up to date with every accepted
    // message (the restarted broker indexed what the crash left unindexed
    // when it opened the store, the search the rest), and the index agrees
    // with the messages.
    env.admin()
        .search(&claude_peers_proto::api::SearchQuery {
            q: "msg".into(),
            ..Default::default()
        })
        .await
        .expect("search after the restart");
    let db = rusqlite::Connection::open(&env.db).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let indexed: BTreeSet<i64> = db
        .prepare("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'msg'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let unindexed: Vec<_> = want.difference(&indexed).collect();
    assert!(unindexed.is_empty(), "not in the index: {unindexed:?}");
    db.execute_batch("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
        .expect("the full-text index matches the messages");

    // Names and ids survived the crash.
    assert_eq!(
        b.call("whoami", json!({})).await.text.lines().next(),
        who_before.lines().next()
    );
    let me = a_client.me().await.expect("the sender's token still works");
    assert_eq!(me.peer.id, a.peer.id);
    assert_eq!(me.peer.name, a.peer.name);
}

#[tokio::test]
async fn a_reconnecting_mcp_server_does_not_show_a_message_twice() {
    let env = Env::new();
    let mut broker = Broker::start(&env, &[]).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let sent = a
        .send(&SendRequest {
            to: b.name.clone(),
            text: "once".into(),
            context: None,
            wait_ms: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(meta_id(&b.channel(WAIT).await.unwrap()), sent.message_id);
    // Broker restarts: the stream replays every unread message, including this one.
    broker.sigkill();
    broker.wait_exit().await;
    wait_healthy(&env).await;
    until!(
        "b reconnected",
        b.call("whoami", json!({})).await.text.contains("connected")
    );
    assert!(
        b.drain_channel(Duration::from_millis(700)).await.is_empty(),
        "the same MCP server never pushes a message twice"
    );
}
