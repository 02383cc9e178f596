//! The "needs you" lane end to end: a permission prompt, an open proposal, a
//! message to the person and unreachable mail all show in `GET /v1/needs-you`
//! and `claude-peers inbox`, newest first; each is resolved by its action; the
//! sender of unreachable mail is told once; only the operator sees the lane.

#[macro_use]
mod common;

use std::time::Duration;

use claude_peers_proto::coord::CreateProposal;
use claude_peers_proto::needs_you::ItemKind;
use claude_peers_proto::permissions::REQUEST_METHOD;
use common::*;
use serde_json::json;

async fn kinds(env: &Env) -> Vec<(ItemKind, String)> {
    lane(env)
        .await
        .into_iter()
        .map(|i| (i.kind, i.id))
        .collect()
}

#[tokio::test]
async fn everything_waiting_on_the_person_is_in_one_lane() {
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &["--permission-relay", "--unreachable-after-ms", "300"],
    )
    .await;
    let cwd = env.subdir("a");
    let mut a = Mcp::start(&env, &cwd).await;
    // B registered but never connected: mail to it is unreachable.
    let (b, b_client) = env.register(cwd.to_str().unwrap(), |_| {}).await;
    assert!(kinds(&env).await.is_empty(), "empty at first");

    // 1. a message from B to the person.
    let msg = b_client
        .send(&send_req("dashboard", "can you look at the CI?"))
        .await
        .unwrap();
    // 2. an open proposal.
    let prop = b_client
        .create_proposal(&CreateProposal {
            title: "switch to tokio".into(),
            description: "faster".into(),
            required_votes: None,
        })
        .await
        .unwrap();
    // 3. mail from A that B cannot read.
    let r = a
        .call(
            "send_message",
            json!({"to_id": b.peer.id, "message": "please review"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    // 4. a permission prompt (newest).
    // Newer by the clock than the message (the lane orders by time).
    let sent = claude_peers_proto::time::now_ms();
    until!(
        "the clock moved on",
        claude_peers_proto::time::now_ms() > sent
    );
    a.notify(
        REQUEST_METHOD,
        json!({"request_id": "abcde", "tool_name": "Bash", "description": "run tests", "input_preview": "cargo test"}),
    )
    .await;

    let mut lane;
    until!("all four kinds in the lane", {
        lane = kinds(&env).await;
        [
            ItemKind::Message,
            ItemKind::Proposal,
            ItemKind::UnreachableMail,
            ItemKind::Permission,
        ]
        .iter()
        .all(|k| lane.iter().any(|(x, _)| x == k))
    });
    let full = env.admin().needs_you().await.unwrap();
    let times: Vec<&str> = full.items.iter().map(|i| i.at.as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(times, sorted, "newest first");
    let unreachable = full
        .items
        .iter()
        .find(|i| i.kind == ItemKind::UnreachableMail)
        .unwrap();
    assert_eq!(unreachable.to.as_ref().unwrap().id, b.peer.id);
    assert_eq!(unreachable.from.name, a.name);

    // The sender is told, once.
    let is_notice = |n: &serde_json::Value| {
        n["params"]["content"]
            .as_str()
            .is_some_and(|t| t.contains("has not been read") && t.contains(&b.peer.name))
    };
    loop {
        let n = a
            .channel(WAIT)
            .await
            .expect("the sender of unreachable mail is told");
        if is_notice(&n) {
            break;
        }
    }
    // A maintenance round (5 s) later, no second notice.
    let later = a.drain_channel(Duration::from_secs(6)).await;
    assert!(!later.iter().any(is_notice), "told only once: {later:?}");

    // The CLI shows the same lane, with what resolves each item.
    let (ok, out, err) = env.cli(&["inbox"]).await;
    assert!(ok, "{err}");
    for needle in [
        "permission",
        "proposal",
        "message",
        "unreachable mail",
        "permissions allow",
    ] {
        assert!(out.contains(needle), "{needle} missing in {out}");
    }
    let (ok, out, _) = env.cli(&["inbox", "--json"]).await;
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), lane.len());

    // Each item's action resolves it.
    let (ok, _, err) = env
        .cli(&["inbox", "read", &msg.message_id.to_string()])
        .await;
    assert!(ok, "{err}");
    let (ok, _, err) = env
        .cli(&["inbox", "dismiss", &unreachable.id, &b.peer.id])
        .await;
    assert!(ok, "{err}");
    env.admin()
        .vote(
            &prop.id,
            &claude_peers_proto::coord::CastVote {
                vote: claude_peers_proto::coord::Vote::Approve,
                reason: None,
            },
        )
        .await
        .unwrap();
    let pid = full
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Permission)
        .unwrap()
        .id
        .clone();
    let (ok, _, err) = env.cli(&["permissions", "deny", &pid]).await;
    assert!(ok, "{err}");
    assert!(kinds(&env).await.is_empty(), "{:?}", kinds(&env).await);
}

#[tokio::test]
async fn only_the_operator_sees_the_lane() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (_, peer) = env.register("/tmp", |_| {}).await;
    let http = reqwest::Client::new();
    let token = peer.token().unwrap().to_string();
    for (method, path, body) in [
        (reqwest::Method::GET, "/v1/needs-you", None),
        (
            reqwest::Method::POST,
            "/v1/needs-you/read",
            Some(json!({"upto": 1})),
        ),
        (
            reqwest::Method::POST,
            "/v1/needs-you/dismiss",
            Some(json!({"message_id": 1, "recipient": "x"})),
        ),
    ] {
        let mut rb = http
            .request(method.clone(), env.url(path))
            .bearer_auth(&token);
        if let Some(b) = &body {
            rb = rb.json(b);
        }
        assert_eq!(rb.send().await.unwrap().status(), 403, "{method} {path}");
    }
    assert!(peer.needs_you().await.is_err());
}

/// Tasks marked blocked (by their assignee, with the existing task tool) and
/// loops the loop guard holds are in the lane, and leave it when resolved:
/// the assignee goes on; the operator releases the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_tasks_and_held_loops_wait_in_the_lane() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--chain-limit", "2"]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let made = a
        .call(
            "create_task",
            json!({"title": "Migrate the billing tables", "assignee": b.name}),
        )
        .await;
    assert!(!made.is_error, "{}", made.text);
    let task_id = made
        .text
        .split('(')
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap()
        .to_string();
    // Only the assignee can say it is blocked.
    let refused = a
        .call(
            "start_task",
            json!({"task_id": task_id, "blocked": "need the DB password"}),
        )
        .await;
    assert!(refused.is_error, "{}", refused.text);
    let blocked = b
        .call(
            "start_task",
            json!({"task_id": task_id, "blocked": "need the production DB password from the user"}),
        )
        .await;
    assert!(blocked.text.contains("is blocked"), "{}", blocked.text);
    let lane = env.admin().needs_you().await.unwrap();
    let item = lane
        .items
        .iter()
        .find(|i| i.kind == ItemKind::BlockedTask)
        .expect("the blocked task in the lane");
    assert_eq!(item.id, task_id);
    assert_eq!(item.from.name, b.name);
    assert_eq!(item.detail, "need the production DB password from the user");
    let (ok, out, _) = env.cli(&["inbox"]).await;
    assert!(ok && out.contains("blocked task"), "{out}");
    // The creator was told.
    let told = a.channel(WAIT).await.expect("the creator is told");
    assert!(
        common::coord::content(&told).contains("Task blocked"),
        "{told}"
    );
    // The assignee goes on: it leaves the lane.
    let resumed = b.call("start_task", json!({"task_id": task_id})).await;
    assert!(resumed.text.contains("in progress"), "{}", resumed.text);
    assert!(
        !kinds(&env)
            .await
            .iter()
            .any(|(k, _)| *k == ItemKind::BlockedTask)
    );

    // Two agents answering each other past the chain limit: held.
    let (an, bn) = (a.name.clone(), b.name.clone());
    for (i, (from, to)) in [(&mut a, bn), (&mut b, an)].into_iter().enumerate() {
        let r = from
            .call(
                "send_message",
                json!({"to_id": to, "message": format!("ping {i}")}),
            )
            .await;
        assert!(!r.is_error, "{}", r.text);
    }
    let r = a
        .call(
            "send_message",
            json!({"to_id": b.name, "message": "ping 2"}),
        )
        .await;
    assert!(r.text.contains("held"), "{}", r.text);
    let lane = env.admin().needs_you().await.unwrap();
    let held = lane
        .items
        .iter()
        .find(|i| i.kind == ItemKind::HeldLoop)
        .expect("the held loop in the lane");
    assert!(held.detail.contains("ping 2"), "{held:?}");
    assert_eq!(held.resolve, format!("claude-peers release {}", held.id));
    let (ok, out, err) = env.cli(&["release", &held.id]).await;
    assert!(ok, "{out}{err}");
    assert!(
        !kinds(&env)
            .await
            .iter()
            .any(|(k, _)| *k == ItemKind::HeldLoop)
    );
}
