//! Full-text search through the MCP tool `search_messages` and the CLI
//! `claude-peers search`: ranked hits with snippets, filters (from, thread,
//! since), and isolation exactly as history (a peer finds only what it sent
//! or received; another group's messages never show).

#[macro_use]
mod common;

use common::coord::*;
use common::*;
use serde_json::json;

/// Hit lines of a `search_messages` result (the server may add a footer).
fn hits(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with('#')).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_only_what_the_caller_may_see() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b", "c", "d", "e"]).await;
    {
        let (ab, cd) = ps.split_at_mut(2);
        let (a, b) = ab.split_at_mut(1);
        group(&env, "one", &mut [&mut a[0], &mut b[0]]).await;
        let (c, d) = cd.split_at_mut(1);
        group(&env, "two", &mut [&mut c[0], &mut d[1]]).await;
    }
    let names: Vec<String> = ps.iter().map(|p| p.name.clone()).collect();
    // a → b in group one; c → e in group two; d (the lobby) is a bystander.
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": names[1], "message": "The session API uses signed cookies; decided with the team."}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    ps[0]
        .call(
            "send_message",
            json!({"to_id": names[1], "message": "Lunch at noon?"}),
        )
        .await;
    let r = ps[2]
        .call(
            "send_message",
            json!({"to_id": names[4], "message": "Secret: the session API of group two uses tokens."}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);

    // The sender and the recipient find their message, with a snippet.
    for i in [0, 1] {
        let s = ps[i]
            .call("search_messages", json!({"query": "session api"}))
            .await;
        assert!(!s.is_error, "{}", s.text);
        assert!(s.text.contains("signed cookies"), "{}", s.text);
        assert!(s.text.contains("[session]"), "{}", s.text);
        assert!(!s.text.contains("tokens"), "{} leaks group two", s.text);
        assert_eq!(hits(&s.text), 1, "{}", s.text);
    }
    // Group two's parties find only theirs; a bystander finds nothing.
    let s = ps[4]
        .call("search_messages", json!({"query": "session"}))
        .await;
    assert!(
        s.text.contains("tokens") && !s.text.contains("cookies"),
        "{}",
        s.text
    );
    let s = ps[3]
        .call("search_messages", json!({"query": "session"}))
        .await;
    assert!(s.text.starts_with("No messages match"), "{}", s.text);

    // Prefix match on the last word, filters.
    let s = ps[1]
        .call("search_messages", json!({"query": "cook"}))
        .await;
    assert!(s.text.contains("signed [cookies]"), "{}", s.text);
    let s = ps[1]
        .call(
            "search_messages",
            json!({"query": "session", "from": names[1]}),
        )
        .await;
    assert!(s.text.starts_with("No messages match"), "{}", s.text);
    let s = ps[1]
        .call(
            "search_messages",
            json!({"query": "session", "from": names[0], "since": "1h"}),
        )
        .await;
    assert!(s.text.contains("signed cookies"), "{}", s.text);
    let s = ps[1]
        .call(
            "search_messages",
            json!({"query": "session", "since": "2999-01-01"}),
        )
        .await;
    assert!(s.text.starts_with("No messages match"), "{}", s.text);

    // Bad input is a clear error.
    let s = ps[1].call("search_messages", json!({"query": "**"})).await;
    refused(&s, "at least one word");
    let s = ps[1]
        .call(
            "search_messages",
            json!({"query": "x", "since": "yesterday"}),
        )
        .await;
    refused(&s, "since");

    // The operator (CLI) finds both groups' messages, best first.
    let (ok, out, err) = env.cli(&["search", "session", "API"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("cookies") && out.contains("tokens"), "{out}");
    let (ok, out, _) = env.cli(&["--json", "search", "lunch"]).await;
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hits"].as_array().unwrap().len(), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_within_a_thread() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b"]).await;
    let b = ps[1].name.clone();
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": b, "message": "deploy plan A"}),
        )
        .await;
    let root: i64 = r
        .text
        .split('#')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    ps[0]
        .call(
            "send_message",
            json!({"to_id": b, "message": "deploy plan B, in the thread", "reply_to": root}),
        )
        .await;
    ps[0]
        .call(
            "send_message",
            json!({"to_id": b, "message": "deploy elsewhere"}),
        )
        .await;
    let s = ps[1]
        .call(
            "search_messages",
            json!({"query": "deploy", "thread": root}),
        )
        .await;
    assert_eq!(hits(&s.text), 2, "{}", s.text);
    assert!(!s.text.contains("elsewhere"), "{}", s.text);
    let all = env
        .admin()
        .search(&claude_peers_proto::api::SearchQuery {
            q: "deploy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.hits.len(), 3);
    assert!(all.hits.windows(2).all(|w| w[0].rank <= w[1].rank));
}
