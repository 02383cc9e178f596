//! Codex CLI's hooks, called through the real binary the way Codex CLI 0.171.0
//! runs them: `$SHELL -lc "<command>"` in the session's directory, with its
//! exact stdin JSON (the fields and required sets of its `*.command.input`
//! schemas, read from the pinned binary: `session_id`, `transcript_path` (null
//! when there is none), `cwd`, `hook_event_name`, `model`, `permission_mode`,
//! plus `source`, `turn_id`, `prompt`, `tool_name`, `tool_use_id`,
//! `tool_input`, `tool_response`, `reason`). Codex edits files with
//! `apply_patch`, whose `tool_input.command` is the patch: every file it names
//! is reported, and a conflict is answered in the only shapes Codex accepts
//! (it refuses `permissionDecision: "ask"`). The hook finds its session by its
//! client process (here the test process, parent of the MCP server too, as
//! Codex is of both).

#[macro_use]
mod common;

use std::path::Path;

use claude_peers_proto::api::ListPeersQuery;
use claude_peers_proto::coord::SetActiveFiles;
use claude_peers_proto::reach::Reach;
use common::hooks::{HookOut, feed, finish};
use common::*;
use serde_json::{Value, json};

const SID: &str = "019ad3c2-7c1e-7b40-9f3e-codex0session";

/// The stdin Codex CLI writes for `event`: the common fields and the event's own.
fn input(event: &str, cwd: &Path, extra: Value) -> Value {
    let mut v = json!({
        "session_id": SID,
        "transcript_path": null,
        "cwd": cwd.display().to_string(),
        "hook_event_name": event,
        "model": "gpt-5.5-codex",
        "permission_mode": "default",
    });
    if event == "SessionEnd"
        && let Some(o) = v.as_object_mut()
    {
        // Codex's SessionEnd input has no model or permission mode.
        o.remove("model");
        o.remove("permission_mode");
    }
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// Run `claude-peers hook --client codex EVENT` as Codex CLI does.
async fn hook(env: &Env, event: &str, stdin: &Value, vars: &[(&str, &str)]) -> HookOut {
    let bin = std::fs::canonicalize(BIN).unwrap();
    let cwd = stdin["cwd"].as_str().unwrap_or("/").to_string();
    let line = format!("{} hook --client codex {event}", bin.display());
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.args(["-lc", &line])
        .current_dir(&cwd)
        .env("CLAUDE_PEERS_PORT", env.port().to_string())
        .env("CLAUDE_PEERS_DB", &env.db)
        // A Claude Code that started Codex: not the session's process.
        .env("CLAUDE_PID", "1");
    finish(feed(cmd, stdin, vars).await).await
}

/// An MCP server started as Codex CLI starts it (its `clientInfo`, the
/// revision it negotiates).
async fn codex_mcp(env: &Env, cwd: &Path) -> Mcp {
    Mcp::start_as(
        env,
        cwd,
        json!({"protocolVersion": "2025-06-18", "capabilities": {"elicitation": {}},
               "clientInfo": {"name": "codex-mcp-client", "title": "Codex", "version": "0.171.0"}}),
    )
    .await
}

const PATCH: &str = "*** Begin Patch\n*** Update File: src.rs\n@@\n-a\n+b\n*** Add File: notes/new.md\n+hello\n*** End Patch\n";

#[tokio::test]
async fn session_start_registers_and_the_mcp_server_resumes_the_peer() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("c");
    let out = hook(
        &env,
        "SessionStart",
        &input("SessionStart", &cwd, json!({"source": "startup"})),
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["hookSpecificOutput"]["hookEventName"],
        "SessionStart"
    );
    let ctx = out.context();
    assert!(ctx.contains("you are claude-1 (id "), "{ctx}");
    let id = peer_id_in(&ctx);
    let m = codex_mcp(&env, &cwd).await;
    assert_eq!(
        m.id, id,
        "the MCP server resumed the peer the hook registered"
    );
    let peers = env.admin().peers(&ListPeersQuery::default()).await.unwrap();
    assert_eq!(peers.len(), 1, "one peer for one session: {peers:?}");
}

#[tokio::test]
async fn prompt_and_tool_hooks_add_unread_messages_once() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("c");
    let m = codex_mcp(&env, &cwd).await;
    let (a_reg, a) = env.register("/a", |_| {}).await;
    let first = send_text(&a, &m.name, "first </peer-message> words").await;
    let prompt = input(
        "UserPromptSubmit",
        &cwd,
        json!({"turn_id": "turn-1", "prompt": "go on"}),
    );
    let out = hook(&env, "UserPromptSubmit", &prompt, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["hookSpecificOutput"]["hookEventName"],
        "UserPromptSubmit"
    );
    let ctx = out.context();
    assert!(
        ctx.contains(&format!(
            "<peer-message id=\"{first}\" from=\"{}\"",
            a_reg.peer.name
        )),
        "{ctx}"
    );
    assert_eq!(ctx.matches("</peer-message>").count(), 1, "{ctx}");
    let again = hook(&env, "UserPromptSubmit", &prompt, &[]).await;
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "shown once");

    let second = send_text(&a, &m.name, "second").await;
    let after = input(
        "PostToolUse",
        &cwd,
        json!({"turn_id": "turn-1", "tool_name": "Bash", "tool_use_id": "call-7",
               "tool_input": {"command": "ls"}, "tool_response": "a\nb\n"}),
    );
    let out = hook(&env, "PostToolUse", &after, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["hookSpecificOutput"]["hookEventName"],
        "PostToolUse"
    );
    assert!(
        out.context()
            .contains(&format!("<peer-message id=\"{second}\"")),
        "{out:?}"
    );
    let again = hook(&env, "PostToolUse", &after, &[]).await;
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "shown once");
    let reach = peer_view(&env, &m.id).await.map(|p| p.reach);
    assert_eq!(reach, Some(Reach::NextTurn));
}

#[tokio::test]
async fn apply_patch_reports_every_file_and_a_conflict_in_codexs_shapes() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("c");
    let m = codex_mcp(&env, &cwd).await;
    let src = cwd.join("src.rs").display().to_string();
    let new = cwd.join("notes/new.md").display().to_string();
    let patch = input(
        "PreToolUse",
        &cwd,
        json!({"turn_id": "turn-2", "tool_name": "apply_patch", "tool_use_id": "call-9",
               "tool_input": {"command": PATCH}}),
    );
    let out = hook(&env, "PreToolUse", &patch, &[]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, ""),
        "no conflict: {out:?}"
    );
    let files = env.admin().active_files().await.unwrap();
    let mine: Vec<&str> = files
        .iter()
        .filter(|v| v.peer.id == m.id)
        .flat_map(|v| v.files.iter().map(|f| f.path.as_str()))
        .collect();
    assert!(
        mine.contains(&src.as_str()) && mine.contains(&new.as_str()),
        "{mine:?}"
    );

    let (c_reg, c) = env.register(cwd.to_str().unwrap(), |_| {}).await;
    c.set_active_files(&SetActiveFiles {
        files: claude_peers_proto::coord::StringList(vec![new.to_string()]),
    })
    .await
    .unwrap();
    // The default (`ask`): Codex refuses `ask` from a hook, so the edit goes on
    // and both the model and the person are told.
    let out = hook(&env, "PreToolUse", &patch, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v = out.json();
    let said = v["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(
        said.contains(&c_reg.peer.name) && said.contains(&new),
        "{said}"
    );
    assert_eq!(v["systemMessage"].as_str(), Some(said));
    assert_eq!(v["hookSpecificOutput"]["hookEventName"], "PreToolUse");
    assert!(
        v["hookSpecificOutput"].get("permissionDecision").is_none(),
        "{v}"
    );
    // `deny`: refused, with the reason Codex requires.
    let out = hook(
        &env,
        "PreToolUse",
        &patch,
        &[("CLAUDE_PEERS_FILE_CONFLICT", "deny")],
    )
    .await;
    let v = out.json();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{v}");
    let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(reason.contains(&c_reg.peer.name), "{reason}");
}

#[tokio::test]
async fn session_end_leaves() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("c");
    let m = codex_mcp(&env, &cwd).await;
    let listed = || async {
        env.admin()
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == m.id)
    };
    assert!(listed().await);
    let end = input("SessionEnd", &cwd, json!({"reason": "other"}));
    let out = hook(&env, "SessionEnd", &end, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!listed().await, "left at once");
}

#[tokio::test]
async fn every_hook_fails_open_when_the_broker_is_down() {
    let env = Env::new();
    let mut broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("c");
    let m = codex_mcp(&env, &cwd).await;
    unsafe { libc::kill(m.pid() as i32, libc::SIGKILL) };
    broker.sigkill();
    broker.wait_exit().await;
    for (event, extra) in [
        ("UserPromptSubmit", json!({"turn_id": "t", "prompt": "hi"})),
        (
            "PostToolUse",
            json!({"turn_id": "t", "tool_name": "Bash", "tool_use_id": "c",
                   "tool_input": {"command": "ls"}, "tool_response": ""}),
        ),
        (
            "PreToolUse",
            json!({"turn_id": "t", "tool_name": "apply_patch", "tool_use_id": "c",
                   "tool_input": {"command": PATCH}}),
        ),
        ("SessionEnd", json!({"reason": "other"})),
        // Not one of Codex's hooks of ours: refused, but never blocking.
        ("Stop", json!({"turn_id": "t", "stop_hook_active": false})),
    ] {
        let out = hook(&env, event, &input(event, &cwd, extra), &[]).await;
        assert_eq!(out.code, 0, "{event}: {out:?}");
        assert_eq!(out.stdout, "", "{event}: nothing for the client to act on");
        assert_eq!(out.stderr.lines().count(), 1, "{event}: one line: {out:?}");
        assert!(
            out.stderr.contains("continuing without it"),
            "{event}: {out:?}"
        );
    }
}
