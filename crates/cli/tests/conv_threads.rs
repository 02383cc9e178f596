//! Threads through the MCP tools: a reply names the message it answers, the
//! receiver's reply lands in the same thread (channel meta `thread_id`,
//! `reply_to`), `message_history {thread}` returns the thread in order as the
//! caller may see it, and coordination notices thread under their record.

#[macro_use]
mod common;

use std::time::Duration;

use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_the_receiver_lands_in_the_same_thread() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b", "c"]).await;
    let (b_name, a_name) = (ps[1].name.clone(), ps[0].name.clone());

    // A opens a thread with B.
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": b_name, "message": "what did we decide about the session API?"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let root = msg_id(&r.text);
    let n = ps[1].channel(WAIT).await.expect("B gets the question");
    assert_eq!(meta(&n, "thread_id"), root.to_string());
    assert_eq!(meta(&n, "reply_to"), "");

    // B answers with the id from its channel meta (a string, as agents see it).
    let r = ps[1]
        .call(
            "send_message",
            json!({"to_id": a_name, "message": "cookies, decided yesterday", "reply_to": meta(&n, "message_id")}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let answer = msg_id(&r.text);
    let n = ps[0].channel(WAIT).await.expect("A gets the answer");
    assert_eq!(meta(&n, "thread_id"), root.to_string());
    assert_eq!(meta(&n, "reply_to"), root.to_string());

    // A replies to the reply: still the same thread.
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": b_name, "message": "thanks", "reply_to": answer}),
        )
        .await;
    let third = msg_id(&r.text);
    let n = ps[1].channel(WAIT).await.expect("B gets the thanks");
    assert_eq!(meta(&n, "thread_id"), root.to_string());
    assert_eq!(meta(&n, "reply_to"), answer.to_string());

    // Unrelated noise between A and B outside the thread.
    ps[0]
        .call(
            "send_message",
            json!({"to_id": b_name, "message": "unrelated"}),
        )
        .await;

    // The thread, in order, for both parties; nothing else.
    for m in [0, 1] {
        let h = ps[m].call("message_history", json!({"thread": root})).await;
        assert!(!h.is_error, "{}", h.text);
        let lines: Vec<&str> = h.text.lines().filter(|l| l.starts_with("[20")).collect();
        assert_eq!(lines.len(), 3, "{}", h.text);
        assert!(lines[0].contains(&format!("#{root} ")), "{}", h.text);
        assert!(
            lines[1].contains(&format!("#{answer} ↩#{root}")),
            "{}",
            h.text
        );
        assert!(
            lines[2].contains(&format!("#{third} ↩#{answer}")),
            "{}",
            h.text
        );
        assert!(!h.text.contains("unrelated"), "{}", h.text);
    }

    // C saw none of it: the thread is empty for C, and C cannot reply into it.
    let h = ps[2].call("message_history", json!({"thread": root})).await;
    assert!(h.text.starts_with("No messages"), "{}", h.text);
    let r = ps[2]
        .call(
            "send_message",
            json!({"to_id": a_name, "message": "me too", "reply_to": root}),
        )
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("reply_to"), "{}", r.text);

    // The operator sees the whole thread over HTTP.
    let t = env.admin().thread(root, None).await.unwrap();
    let ids: Vec<i64> = t.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![root, answer, third]);
    assert!(t.messages.iter().all(|m| m.thread_id == root));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reply_and_history_without_a_peer_are_handled() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b"]).await;
    let b_name = ps[1].name.clone();
    let r = ps[0]
        .call("send_message", json!({"to_id": b_name, "message": "plan?"}))
        .await;
    let root = msg_id(&r.text);
    ps[1].channel(WAIT).await.unwrap();
    let r = ps[1]
        .call(
            "broadcast_message",
            json!({"scope": "machine", "message": "plan: ship", "reply_to": root}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let n = ps[0].channel(WAIT).await.unwrap();
    assert_eq!(meta(&n, "thread_id"), root.to_string());

    let h = ps[0].call("message_history", json!({})).await;
    assert!(h.is_error, "{}", h.text);
    assert!(h.text.contains("peer_id"), "{}", h.text);
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": b_name, "message": "x", "reply_to": 999_999}),
        )
        .await;
    refused(&r, "#999999");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notices_of_a_task_thread_under_its_first_notice() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b"]).await;
    let b_name = ps[1].name.clone();
    let r = ps[0]
        .call(
            "create_task",
            json!({"title": "write the docs", "assignee": b_name}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let task = id_in(&r.text, "task-");
    let assigned = expect_channel(&mut ps[1], "task_assigned").await;
    let first = meta(&assigned, "message_id").to_string();
    assert_eq!(meta(&assigned, "thread_id"), first);

    let r = ps[1].call("start_task", json!({"task_id": task})).await;
    assert!(!r.is_error, "{}", r.text);
    let started = expect_channel(&mut ps[0], "task_started").await;
    assert_eq!(meta(&started, "thread_id"), first);
    assert_eq!(meta(&started, "reply_to"), first);

    let r = ps[1]
        .call("complete_task", json!({"task_id": task, "result": "done"}))
        .await;
    assert!(!r.is_error, "{}", r.text);
    let done = expect_channel(&mut ps[0], "task_completed").await;
    assert_eq!(meta(&done, "thread_id"), first);

    let h = ps[0]
        .call("message_history", json!({"thread": first}))
        .await;
    assert_eq!(
        h.text.lines().filter(|l| l.starts_with("[20")).count(),
        3,
        "{}",
        h.text
    );
    expect_none(&mut ps[0], "task_assigned", Duration::from_millis(100)).await;
}
