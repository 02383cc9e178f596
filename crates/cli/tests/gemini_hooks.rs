//! Gemini CLI's hooks, called through the real binary the way Gemini CLI 0.61.0
//! runs them: `bash -c "<command>"` with its exact stdin JSON (`session_id`,
//! `transcript_path`, `cwd`, `hook_event_name`, `timestamp`, plus the event's
//! fields) and the variables it sets (`GEMINI_SESSION_ID`, `GEMINI_PROJECT_DIR`,
//! `GEMINI_CWD`, `CLAUDE_PROJECT_DIR`). The hook finds its session by its
//! client process (here the test process, parent of the MCP server too, as
//! Gemini CLI is of both): SessionStart registers and names the session,
//! BeforeAgent and AfterTool add unread messages once, BeforeTool on a file
//! write asks (or denies) in Gemini's decision shape, SessionEnd leaves, and
//! every hook fails open when the broker is down.

#[macro_use]
mod common;

use std::path::Path;

use common::hooks::{self, Client, HookOut};
use common::*;
use serde_json::{Value, json};

const SID: &str = "5d0c1f3e-gemini-session";

/// Gemini CLI: its stdin, its `bash -c` with its variables, its MCP
/// `clientInfo`.
struct Gemini;

impl hooks::Client for Gemini {
    /// Its `createBaseInput` plus the event's fields.
    fn input(&self, event: &str, cwd: &Path, extra: Value) -> Value {
        let mut v = json!({
            "session_id": SID,
            "transcript_path": "",
            "cwd": cwd.display().to_string(),
            "hook_event_name": event,
            "timestamp": "2026-12-01T02:20:00.000Z",
        });
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    }

    async fn hook(&self, env: &Env, event: &str, stdin: &Value, vars: &[(&str, &str)]) -> HookOut {
        let cwd = stdin["cwd"].as_str().unwrap_or("/");
        let gemini = [
            ("GEMINI_PROJECT_DIR", cwd),
            ("GEMINI_CWD", cwd),
            ("GEMINI_SESSION_ID", SID),
            ("CLAUDE_PROJECT_DIR", cwd),
        ];
        hooks::through_shell(env, ["bash", "-c"], "gemini", event, stdin, &gemini, vars).await
    }

    /// Its `clientInfo` and the protocol revision it negotiates.
    async fn mcp(&self, env: &Env, cwd: &Path) -> Mcp {
        Mcp::start_as(
            env,
            cwd,
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "gemini-cli-mcp-client", "version": "0.0.1"}}),
        )
        .await
    }
}

#[tokio::test]
async fn session_start_registers_and_the_mcp_server_resumes_the_peer() {
    let out = hooks::session_start_registers(&Gemini, "g").await;
    let v = out.json();
    assert_eq!(v["hookSpecificOutput"]["hookEventName"], "SessionStart");
    let ctx = out.context();
    assert!(!ctx.contains("other Claude Code sessions"), "{ctx}");
}

#[tokio::test]
async fn before_agent_and_after_tool_add_unread_messages_once() {
    hooks::next_turn_adds_unread_once(
        &Gemini,
        "g",
        ("BeforeAgent", json!({"prompt": "go on"})),
        (
            "AfterTool",
            json!({"tool_name": "run_shell_command", "tool_input": {"command": "ls"},
                   "tool_response": {"llmContent": "", "returnDisplay": ""}}),
        ),
    )
    .await;
}

#[tokio::test]
async fn before_tool_on_a_file_write_asks_or_denies_in_geminis_shape() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("g");
    let m = Gemini.mcp(&env, &cwd).await;
    let file = cwd.join("src.rs").display().to_string();
    // Gemini's replace tool, with a path relative to the session's cwd.
    let write = Gemini.input(
        "BeforeTool",
        &cwd,
        json!({"tool_name": "replace", "tool_input": {"file_path": "src.rs",
               "old_string": "a", "new_string": "b", "instruction": "rename"}}),
    );
    let (c_reg, _c) =
        hooks::write_reports_files(&Gemini, &env, &m.id, &write, &[&file], &file).await;
    let out = Gemini.hook(&env, "BeforeTool", &write, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v = out.json();
    assert_eq!(v["decision"], "ask", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains(&c_reg.peer.name), "{reason}");
    assert_eq!(v["systemMessage"], v["reason"], "shown in the confirmation");
    assert!(v.get("hookSpecificOutput").is_none(), "{v}");
    let out = Gemini
        .hook(
            &env,
            "BeforeTool",
            &write,
            &[("CLAUDE_PEERS_FILE_CONFLICT", "deny")],
        )
        .await;
    assert_eq!(out.json()["decision"], "deny");
}

#[tokio::test]
async fn session_end_leaves_but_clear_keeps_the_peer() {
    hooks::session_end_leaves(
        &Gemini,
        "g",
        &[json!({"reason": "clear"})],
        json!({"reason": "exit"}),
    )
    .await;
}

#[tokio::test]
async fn every_hook_fails_open_when_the_broker_is_down() {
    hooks::every_hook_fails_open(
        &Gemini,
        "g",
        vec![
            ("BeforeAgent", json!({"prompt": "hi"})),
            (
                "AfterTool",
                json!({"tool_name": "read_file", "tool_input": {}, "tool_response": {}}),
            ),
            (
                "BeforeTool",
                json!({"tool_name": "write_file", "tool_input": {"file_path": "/x/y", "content": ""}}),
            ),
            ("SessionEnd", json!({"reason": "other"})),
            // Not one of Gemini's hooks of ours: refused, but never blocking.
            ("Stop", json!({})),
        ],
    )
    .await;
}
