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

use common::hooks::{self, Client, HookOut};
use common::*;
use serde_json::{Value, json};

const SID: &str = "019ad3c2-7c1e-7b40-9f3e-codex0session";

/// Codex CLI: its stdin, its `$SHELL -lc`, its MCP `clientInfo`.
struct Codex;

impl hooks::Client for Codex {
    /// The common fields and the event's own.
    fn input(&self, event: &str, cwd: &Path, extra: Value) -> Value {
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

    async fn hook(&self, env: &Env, event: &str, stdin: &Value, vars: &[(&str, &str)]) -> HookOut {
        hooks::through_shell(env, ["/bin/sh", "-lc"], "codex", event, stdin, &[], vars).await
    }

    /// Its `clientInfo` and the revision it negotiates.
    async fn mcp(&self, env: &Env, cwd: &Path) -> Mcp {
        Mcp::start_as(
            env,
            cwd,
            json!({"protocolVersion": "2025-06-18", "capabilities": {"elicitation": {}},
                   "clientInfo": {"name": "codex-mcp-client", "title": "Codex", "version": "0.171.0"}}),
        )
        .await
    }
}

const PATCH: &str = "*** Begin Patch\n*** Update File: src.rs\n@@\n-a\n+b\n*** Add File: notes/new.md\n+hello\n*** End Patch\n";

#[tokio::test]
async fn session_start_registers_and_the_mcp_server_resumes_the_peer() {
    let out = hooks::session_start_registers(&Codex, "c").await;
    assert_eq!(
        out.json()["hookSpecificOutput"]["hookEventName"],
        "SessionStart"
    );
}

#[tokio::test]
async fn prompt_and_tool_hooks_add_unread_messages_once() {
    hooks::next_turn_adds_unread_once(
        &Codex,
        "c",
        (
            "UserPromptSubmit",
            json!({"turn_id": "turn-1", "prompt": "go on"}),
        ),
        (
            "PostToolUse",
            json!({"turn_id": "turn-1", "tool_name": "Bash", "tool_use_id": "call-7",
                   "tool_input": {"command": "ls"}, "tool_response": "a\nb\n"}),
        ),
    )
    .await;
}

#[tokio::test]
async fn apply_patch_reports_every_file_and_a_conflict_in_codexs_shapes() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("c");
    let m = Codex.mcp(&env, &cwd).await;
    let src = cwd.join("src.rs").display().to_string();
    let new = cwd.join("notes/new.md").display().to_string();
    let patch = Codex.input(
        "PreToolUse",
        &cwd,
        json!({"turn_id": "turn-2", "tool_name": "apply_patch", "tool_use_id": "call-9",
               "tool_input": {"command": PATCH}}),
    );
    let (c_reg, _c) =
        hooks::write_reports_files(&Codex, &env, &m.id, &patch, &[&src, &new], &new).await;
    // The default (`ask`): Codex refuses `ask` from a hook, so the edit goes on
    // and both the model and the person are told.
    let out = Codex.hook(&env, "PreToolUse", &patch, &[]).await;
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
    let out = Codex
        .hook(
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
    hooks::session_end_leaves(&Codex, "c", &[], json!({"reason": "other"})).await;
}

#[tokio::test]
async fn every_hook_fails_open_when_the_broker_is_down() {
    hooks::every_hook_fails_open(
        &Codex,
        "c",
        vec![
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
        ],
    )
    .await;
}
