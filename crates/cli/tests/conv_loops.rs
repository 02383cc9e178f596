//! The loop guard and the per-pair rate, through the MCP tools and the CLI:
//! two agents answering each other are held at the chain limit (stored, not
//! lost, the sender told why, the operator told in `watch` and `held`);
//! status updates and coordination notices pass a held chain; the operator
//! releases it and every held message arrives in order; a person's message
//! starts the chain again from zero.

#[macro_use]
mod common;

use std::time::Duration;

use common::coord::*;
use common::*;
use serde_json::json;

/// The chain limit these tests run with (the default, 12, is the same rule).
const LIMIT: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_is_held_at_the_limit_and_released_by_the_operator() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--chain-limit", &LIMIT.to_string()]).await;
    let (mut watch, mut watch_lines) = watch(&env);
    let mut ps = peers(&env, &["a", "b"]).await;
    let names = [ps[0].name.clone(), ps[1].name.clone()];

    // A and B answer each other: LIMIT messages pass.
    for i in 0..LIMIT {
        let (from, to) = (i % 2, 1 - i % 2);
        let r = ps[from]
            .call(
                "send_message",
                json!({"to_id": names[to], "message": format!("ping {i}")}),
            )
            .await;
        assert!(!r.is_error, "{}", r.text);
        assert!(!r.text.contains("held"), "message {i}: {}", r.text);
        let n = ps[to].channel(WAIT).await.expect("delivered");
        assert_eq!(content(&n), format!("ping {i}"));
    }
    // The next two in the chain are held: stored, the sender told why.
    let mut held = Vec::new();
    for i in LIMIT..LIMIT + 2 {
        let r = ps[0]
            .call(
                "send_message",
                json!({"to_id": names[1], "message": format!("ping {i}")}),
            )
            .await;
        assert!(!r.is_error, "{}", r.text);
        assert!(r.text.contains("is held, not delivered"), "{}", r.text);
        assert!(
            r.text.contains(&format!("the limit is {LIMIT}")),
            "{}",
            r.text
        );
        assert!(r.text.contains("not lost"), "{}", r.text);
        held.push(msg_id(&r.text));
    }

    // A status update and a coordination notice still pass.
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": names[1], "message": "blocked: waiting for a person", "status": true}),
        )
        .await;
    assert!(!r.is_error && !r.text.contains("held"), "{}", r.text);
    let n = ps[1].channel(WAIT).await.expect("the status update passes");
    assert_eq!(meta(&n, "msg_type"), "status");
    let r = ps[0]
        .call(
            "create_task",
            json!({"title": "look at this", "assignee": names[1]}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    expect_channel(&mut ps[1], "task_assigned").await;
    // But nothing held arrived.
    let early = ps[1].drain_channel(Duration::from_millis(300)).await;
    assert!(
        early.is_empty(),
        "B got something while the chain is held: {early:?}"
    );
    // A status update stays short.
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": names[1], "message": "x".repeat(600), "status": true}),
        )
        .await;
    refused(&r, "at most 500 bytes");

    // The operator is told: `watch` and `held`.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let line = tokio::time::timeout_at(deadline, watch_lines.next_line())
            .await
            .expect("watch shows the held chain")
            .unwrap()
            .expect("watch ended");
        if line.contains("HELD") {
            assert!(
                line.contains(&names[0]) && line.contains(&names[1]),
                "{line}"
            );
            break;
        }
    }
    let (ok, out, err) = env.cli(&["held"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("2 message(s) held"), "{out}");
    let chains = env.admin().held_chains().await.unwrap().chains;
    assert_eq!(chains.len(), 1);
    assert_eq!(chains[0].held, 2);
    assert_eq!(chains[0].depth as usize, LIMIT + 1);
    let chain = chains[0].chain_id;

    // Released: both held messages arrive, in order, nothing lost.
    let (ok, out, err) = env.cli(&["release", &chain.to_string()]).await;
    assert!(ok, "{err}");
    assert!(out.contains("2 message(s) delivered"), "{out}");
    for (i, id) in held.iter().enumerate() {
        let n = ps[1].channel(WAIT).await.expect("a released message");
        assert_eq!(meta(&n, "message_id"), id.to_string());
        assert_eq!(content(&n), format!("ping {}", LIMIT + i));
    }
    assert!(env.admin().held_chains().await.unwrap().chains.is_empty());
    let (ok, _, err) = env.cli(&["release", &chain.to_string()]).await;
    assert!(!ok && err.contains("no held chain"), "{err}");

    // The chain starts again from zero: the conversation goes on.
    for i in 0..LIMIT {
        let (from, to) = (i % 2, 1 - i % 2);
        let r = ps[from]
            .call(
                "send_message",
                json!({"to_id": names[to], "message": format!("again {i}")}),
            )
            .await;
        assert!(
            !r.text.contains("held"),
            "after release, message {i}: {}",
            r.text
        );
        ps[to].channel(WAIT).await.expect("delivered after release");
    }
    let _ = watch.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_message_resets_the_chain() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--chain-limit", &LIMIT.to_string()]).await;
    let mut ps = peers(&env, &["a", "b"]).await;
    let names = [ps[0].name.clone(), ps[1].name.clone()];
    let exchange = |n: usize| n % 2;
    for i in 0..LIMIT {
        let (from, to) = (exchange(i), 1 - exchange(i));
        ps[from]
            .call(
                "send_message",
                json!({"to_id": names[to], "message": format!("m{i}")}),
            )
            .await;
        ps[to].channel(WAIT).await.unwrap();
    }
    // A person writes to A (the next sender): A starts from zero.
    let (ok, _, err) = env
        .cli(&["send", &names[0], "keep going, both of you"])
        .await;
    assert!(ok, "{err}");
    ps[0].channel(WAIT).await.unwrap();
    let r = ps[0]
        .call(
            "send_message",
            json!({"to_id": names[1], "message": "continuing"}),
        )
        .await;
    assert!(!r.text.contains("held"), "{}", r.text);
    ps[1]
        .channel(WAIT)
        .await
        .expect("delivered after the person spoke");
    // B had not heard from the person: its reply is one deeper than A's.
    let r = ps[1]
        .call("send_message", json!({"to_id": names[0], "message": "ok"}))
        .await;
    assert!(!r.text.contains("held"), "{}", r.text);
    let feed = env.admin().feed(Some(1), None).await.unwrap();
    assert_eq!(feed.messages[0].chain_depth, LIMIT as u32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_agent_cannot_flood_another_below_its_overall_limit() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--pair-sends-per-minute", "3"]).await;
    let mut ps = peers(&env, &["a", "b", "c"]).await;
    let (b, c) = (ps[1].name.clone(), ps[2].name.clone());
    for i in 0..3 {
        let r = ps[0]
            .call(
                "send_message",
                json!({"to_id": b, "message": format!("m{i}"), "status": true}),
            )
            .await;
        assert!(!r.is_error, "{}", r.text);
    }
    let r = ps[0]
        .call("send_message", json!({"to_id": b, "message": "one more"}))
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(
        r.text
            .contains(&format!("at most 3 messages per minute to {b}")),
        "{}",
        r.text
    );
    // Another recipient, and another sender to the same recipient, are not limited.
    let r = ps[0]
        .call("send_message", json!({"to_id": c, "message": "hi"}))
        .await;
    assert!(!r.is_error, "{}", r.text);
    let r = ps[2]
        .call("send_message", json!({"to_id": b, "message": "hi"}))
        .await;
    assert!(!r.is_error, "{}", r.text);
}
