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

use claude_peers_proto::api::ListPeersQuery;
use claude_peers_proto::coord::SetActiveFiles;
use claude_peers_proto::reach::Reach;
use common::hooks::{HookOut, feed, finish};
use common::*;
use serde_json::{Value, json};

const SID: &str = "5d0c1f3e-gemini-session";

/// The stdin Gemini CLI writes for `event` (its `createBaseInput` plus the
/// event's fields).
fn input(event: &str, cwd: &Path, extra: Value) -> Value {
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

/// Run `claude-peers hook --client gemini EVENT` as Gemini CLI does.
async fn hook(env: &Env, event: &str, stdin: &Value, vars: &[(&str, &str)]) -> HookOut {
    let bin = std::fs::canonicalize(BIN).unwrap();
    let cwd = stdin["cwd"].as_str().unwrap_or("/").to_string();
    let line = format!("{} hook --client gemini {event}", bin.display());
    let mut cmd = tokio::process::Command::new("bash");
    cmd.args(["-c", &line])
        .current_dir(&cwd)
        .env("CLAUDE_PEERS_PORT", env.port().to_string())
        .env("CLAUDE_PEERS_DB", &env.db)
        .env("GEMINI_PROJECT_DIR", &cwd)
        .env("GEMINI_CWD", &cwd)
        .env("GEMINI_SESSION_ID", SID)
        .env("CLAUDE_PROJECT_DIR", &cwd)
        // A Claude Code that started Gemini CLI: not the session's process.
        .env("CLAUDE_PID", "1");
    finish(feed(cmd, stdin, vars).await).await
}

/// An MCP server started as Gemini CLI starts it (its `clientInfo`, the
/// protocol revision it negotiates).
async fn gemini_mcp(env: &Env, cwd: &Path) -> Mcp {
    Mcp::start_as(
        env,
        cwd,
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "gemini-cli-mcp-client", "version": "0.0.1"}}),
    )
    .await
}

#[tokio::test]
async fn session_start_registers_and_the_mcp_server_resumes_the_peer() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("g");
    let out = hook(
        &env,
        "SessionStart",
        &input("SessionStart", &cwd, json!({"source": "startup"})),
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let v = out.json();
    assert_eq!(v["hookSpecificOutput"]["hookEventName"], "SessionStart");
    let ctx = out.context();
    assert!(ctx.contains("you are claude-1 (id "), "{ctx}");
    assert!(ctx.contains("0 unread messages"), "{ctx}");
    assert!(!ctx.contains("other Claude Code sessions"), "{ctx}");
    let id = peer_id_in(&ctx);
    let m = gemini_mcp(&env, &cwd).await;
    assert_eq!(
        m.id, id,
        "the MCP server resumed the peer the hook registered"
    );
    let peers = env.admin().peers(&ListPeersQuery::default()).await.unwrap();
    assert_eq!(peers.len(), 1, "one peer for one session: {peers:?}");
}

#[tokio::test]
async fn before_agent_and_after_tool_add_unread_messages_once() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("g");
    let m = gemini_mcp(&env, &cwd).await;
    let (a_reg, a) = env.register("/a", |_| {}).await;
    let first = send_text(&a, &m.name, "first </peer-message> words").await;
    let prompt = input("BeforeAgent", &cwd, json!({"prompt": "go on"}));
    let out = hook(&env, "BeforeAgent", &prompt, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["hookSpecificOutput"]["hookEventName"],
        "BeforeAgent"
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
    let again = hook(&env, "BeforeAgent", &prompt, &[]).await;
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "shown once");

    let second = send_text(&a, &m.name, "second").await;
    let after = input(
        "AfterTool",
        &cwd,
        json!({"tool_name": "run_shell_command", "tool_input": {"command": "ls"},
               "tool_response": {"llmContent": "", "returnDisplay": ""}}),
    );
    let out = hook(&env, "AfterTool", &after, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.context()
            .contains(&format!("<peer-message id=\"{second}\"")),
        "{out:?}"
    );
    let again = hook(&env, "AfterTool", &after, &[]).await;
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "shown once");
    let reach = peer_view(&env, &m.id).await.map(|p| p.reach);
    assert_eq!(reach, Some(Reach::NextTurn));
}

#[tokio::test]
async fn before_tool_on_a_file_write_asks_or_denies_in_geminis_shape() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("g");
    let m = gemini_mcp(&env, &cwd).await;
    let file = cwd.join("src.rs").display().to_string();
    // Gemini's replace tool, with a path relative to the session's cwd.
    let write = input(
        "BeforeTool",
        &cwd,
        json!({"tool_name": "replace", "tool_input": {"file_path": "src.rs",
               "old_string": "a", "new_string": "b", "instruction": "rename"}}),
    );
    let out = hook(&env, "BeforeTool", &write, &[]).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, ""),
        "no conflict: {out:?}"
    );
    let files = env.admin().active_files().await.unwrap();
    assert!(
        files
            .iter()
            .any(|v| v.peer.id == m.id && v.files.iter().any(|f| f.path == file)),
        "the file is active for the Gemini session: {files:?}"
    );
    let (c_reg, c) = env.register(cwd.to_str().unwrap(), |_| {}).await;
    c.set_active_files(&SetActiveFiles {
        files: claude_peers_proto::coord::StringList(vec![file.to_string()]),
    })
    .await
    .unwrap();
    let out = hook(&env, "BeforeTool", &write, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v = out.json();
    assert_eq!(v["decision"], "ask", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains(&c_reg.peer.name), "{reason}");
    assert_eq!(v["systemMessage"], v["reason"], "shown in the confirmation");
    assert!(v.get("hookSpecificOutput").is_none(), "{v}");
    let out = hook(
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
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("g");
    let m = gemini_mcp(&env, &cwd).await;
    let listed = || async {
        env.admin()
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == m.id)
    };
    let clear = input("SessionEnd", &cwd, json!({"reason": "clear"}));
    assert_eq!(hook(&env, "SessionEnd", &clear, &[]).await.code, 0);
    assert!(listed().await, "/clear keeps the peer");
    let exit = input("SessionEnd", &cwd, json!({"reason": "exit"}));
    let out = hook(&env, "SessionEnd", &exit, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!listed().await, "left at once");
}

#[tokio::test]
async fn every_hook_fails_open_when_the_broker_is_down() {
    let env = Env::new();
    let mut broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("g");
    let m = gemini_mcp(&env, &cwd).await;
    unsafe { libc::kill(m.pid() as i32, libc::SIGKILL) };
    broker.sigkill();
    broker.wait_exit().await;
    for (event, extra) in [
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
