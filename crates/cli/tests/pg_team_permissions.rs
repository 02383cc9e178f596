//! The permission relay across brokers (team mode: two brokers on one
//! PostgreSQL; these tests need `CLAUDE_PEERS_TEST_PG`, which `.ci/run`
//! sets; without it they say so and return). A session's stream or hook is
//! on broker A; the person uses broker B:
//! - a request relayed by a real MCP server on A (over stdio, as Claude
//!   Code sends it) is listed on B (API and CLI) and answered there; the
//!   MCP server writes `notifications/claude/channel/permission` at once;
//!   a second answer, on A, is told "already answered" and nothing is sent
//!   twice;
//! - two answers at once on A and B: exactly one wins;
//! - a `PermissionRequest` hook fed Claude Code's stdin, waiting on A, gets
//!   the decision given on B;
//! - a request whose broker died leaves every list, and answering it says
//!   why.

#[macro_use]
mod common;

use std::time::Duration;

use claude_peers_proto::ErrorCode;
use claude_peers_proto::permissions::{ANSWER_METHOD, Behavior, PermissionView, REQUEST_METHOD};
use common::hooks::{finish, permission_prompt, spawn_hook, start_session};
use common::*;
use serde_json::{Value, json};

const RELAY: &[&str] = &["--permission-relay"];

/// Two brokers with the relay on, on this test's PostgreSQL database, or
/// `None` (said on stderr) without a server.
async fn team() -> Option<(Env, Env, Broker, Broker)> {
    if test_pg().is_none() {
        eprintln!("CLAUDE_PEERS_TEST_PG is not set: this PostgreSQL team test did not run");
        return None;
    }
    let a = Env::new();
    let b = a.beside();
    let ba = Broker::start(&a, RELAY).await;
    let bb = Broker::start(&b, RELAY).await;
    Some((a, b, ba, bb))
}

async fn ask(m: &mut Mcp, request_id: &str) {
    m.notify(
        REQUEST_METHOD,
        json!({"request_id": request_id, "tool_name": "Bash",
               "description": "Bash wants to run", "input_preview": "{\"command\":\"cargo test\"}"}),
    )
    .await;
}

async fn pending(env: &Env) -> Vec<PermissionView> {
    env.admin().permissions().await.unwrap().pending
}

/// The request matching `pick` once `env` lists it.
async fn listed(env: &Env, what: &str, pick: impl Fn(&PermissionView) -> bool) -> PermissionView {
    let mut found: Option<PermissionView>;
    until!(format!("{what} listed on broker :{}", env.port()), {
        found = pending(env).await.into_iter().find(&pick);
        found.is_some()
    });
    found.unwrap()
}

fn answer_params(request_id: &str, behavior: &str) -> Value {
    json!({"request_id": request_id, "behavior": behavior})
}

#[tokio::test]
async fn a_request_relayed_through_a_is_listed_and_answered_on_b() {
    let Some((a, b, _ba, _bb)) = team().await else {
        return;
    };
    let mut m = Mcp::start(&a, &a.subdir("w")).await;
    ask(&mut m, "abcde").await;
    let on_b = listed(&b, "abcde", |p| p.request_id == "abcde").await;
    assert_eq!(on_b.peer.name, m.name);
    assert_eq!(pending(&a).await, vec![on_b.clone()], "the same lane on A");
    // The dashboard's lane on B too (as after a reload).
    let lane = b.admin().needs_you().await.unwrap();
    assert!(
        lane.items.iter().any(|i| i.id == on_b.id),
        "{:?}",
        lane.items
    );
    let (ok, out, err) = b.cli(&["permissions"]).await;
    assert!(ok && out.contains(&on_b.id), "{out}{err}");

    // Allowed with B's CLI: A's session gets it.
    let (ok, out, err) = b.cli(&["permissions", "allow", &on_b.id]).await;
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("Allowed"), "{out}");
    let n = m
        .notification(ANSWER_METHOD, WAIT)
        .await
        .expect("the answer given on B reached the MCP server on A");
    assert_eq!(n["params"], answer_params("abcde", "allow"));
    assert!(pending(&a).await.is_empty() && pending(&b).await.is_empty());

    // A second answer, on A: refused, and nothing is sent again.
    let (ok, _, err) = a.cli(&["permissions", "deny", &on_b.id]).await;
    assert!(
        !ok && err.contains("already answered (allow) from the cli"),
        "{err}"
    );
    assert!(
        m.notification(ANSWER_METHOD, Duration::from_millis(500))
            .await
            .is_none(),
        "sent twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_answers_at_once_on_two_brokers_one_wins() {
    let Some((a, b, _ba, _bb)) = team().await else {
        return;
    };
    let mut m = Mcp::start(&a, &a.subdir("w")).await;
    let (admin_a, admin_b) = (a.admin(), b.admin());
    for round in 0..5 {
        let rid = format!("race{round}");
        ask(&mut m, &rid).await;
        let p = listed(&b, &rid, |p| p.request_id == rid).await;
        let (on_a, on_b) = tokio::join!(
            admin_a.answer_permission(&p.id, Behavior::Allow),
            admin_b.answer_permission(&p.id, Behavior::Deny)
        );
        let (winner, loser) = match (on_a, on_b) {
            (Ok(_), Err(e)) => ("allow", e),
            (Err(e), Ok(_)) => ("deny", e),
            other => panic!("not exactly one winner: {other:?}"),
        };
        assert_eq!(loser.code(), Some(ErrorCode::Conflict), "{loser}");
        assert!(
            loser
                .to_string()
                .contains(&format!("already answered ({winner})")),
            "{loser}"
        );
        let n = m
            .notification(ANSWER_METHOD, WAIT)
            .await
            .expect("an answer");
        assert_eq!(n["params"], answer_params(&rid, winner));
    }
    assert!(
        m.notification(ANSWER_METHOD, Duration::from_millis(500))
            .await
            .is_none(),
        "one answer each"
    );
}

#[tokio::test]
async fn a_hook_waiting_on_a_gets_the_decision_given_on_b() {
    const SID: &str = "cc-session-team-permission";
    let Some((a, b, _ba, _bb)) = team().await else {
        return;
    };
    let cwd = a.subdir("w");
    start_session(&a, SID, &cwd).await;
    let child = spawn_hook(
        &a,
        "PermissionRequest",
        &permission_prompt(SID, &cwd, "rm -rf target"),
        &[("CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S", "60")],
    )
    .await;
    let p = listed(&b, "the hook's request", |p| p.tool_name == "Bash").await;
    assert_eq!(p.input_preview, "rm -rf target");
    let (ok, out, err) = b.cli(&["permissions", "deny", &p.id]).await;
    assert!(ok, "{out}{err}");
    let out = finish(child).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not the hook's answer ({e}): {out:?}"));
    assert_eq!(
        v["hookSpecificOutput"]["hookEventName"],
        "PermissionRequest"
    );
    assert_eq!(v["hookSpecificOutput"]["decision"]["behavior"], "deny");
    assert!(pending(&a).await.is_empty());
}

#[tokio::test]
async fn a_request_whose_broker_died_leaves_every_list() {
    let Some((a, b, mut ba, _bb)) = team().await else {
        return;
    };
    // A list of two (A, then a port nobody serves): the server does not
    // start a broker of its own, nor move to B, when A dies.
    let list = format!(
        "http://127.0.0.1:{},http://127.0.0.1:{}",
        a.port(),
        free_port()
    );
    let mut m = Mcp::start_with(&a, &a.subdir("w"), &[("CLAUDE_PEERS_BROKERS", &list)]).await;
    ask(&mut m, "lost1").await;
    let p = listed(&b, "lost1", |p| p.request_id == "lost1").await;
    ba.sigkill();
    ba.wait_exit().await;
    until!(
        "the request of a dead broker leaves B's lane",
        pending(&b).await.is_empty()
    );
    let e = b
        .admin()
        .answer_permission(&p.id, Behavior::Allow)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");
    assert!(
        e.to_string()
            .contains("the broker holding its session stopped"),
        "{e}"
    );
}
