//! Calling `claude-peers hook EVENT` the way Claude Code does: the client's
//! exact stdin JSON (`session_id`, `transcript_path`, `cwd`, `permission_mode`,
//! `hook_event_name`, plus the event's fields) and the environment it gives
//! hooks (`CLAUDE_PID`: here the test process, the parent of the test's MCP
//! servers, so hooks and MCP server belong to one "Claude Code session").

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use super::{Env, WAIT};

/// A hook's answer.
#[derive(Debug)]
pub struct HookOut {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl HookOut {
    /// The `additionalContext` of the JSON on stdout ("" if none).
    pub fn context(&self) -> String {
        serde_json::from_str::<Value>(&self.stdout)
            .ok()
            .and_then(|v| {
                v["hookSpecificOutput"]["additionalContext"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_default()
    }

    /// The JSON on stdout (panics with the output if there is none).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// The stdin Claude Code writes for `event` in session `session`.
pub fn input(event: &str, session: &str, cwd: &Path, mode: &str, extra: Value) -> Value {
    let mut v = json!({
        "session_id": session,
        "transcript_path": cwd.join("transcript.jsonl").display().to_string(),
        "cwd": cwd.display().to_string(),
        "permission_mode": mode,
        "hook_event_name": event,
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// Start `claude-peers hook EVENT` with `stdin`.
pub async fn spawn_hook(env: &Env, event: &str, stdin: &Value, vars: &[(&str, &str)]) -> Child {
    let mut cmd = env.command(&["hook", event]);
    cmd.env("CLAUDE_PID", std::process::id().to_string());
    feed(cmd, stdin, vars).await
}

/// Start a hook's command line with `vars` set and `stdin` written to it.
pub async fn feed(mut cmd: Command, stdin: &Value, vars: &[(&str, &str)]) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut w = child.stdin.take().unwrap();
    w.write_all(stdin.to_string().as_bytes()).await.unwrap();
    drop(w);
    child
}

/// Wait for a hook to end.
pub async fn finish(child: Child) -> HookOut {
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("the hook did not end")
        .unwrap();
    HookOut {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run a hook to completion.
pub async fn hook(env: &Env, event: &str, stdin: &Value, vars: &[(&str, &str)]) -> HookOut {
    finish(spawn_hook(env, event, stdin, vars).await).await
}

/// Register session `session` in `cwd` the way Claude Code starts it (its
/// `SessionStart` hook, source `startup`).
pub async fn start_session(env: &Env, session: &str, cwd: &Path) {
    let stdin = input(
        "SessionStart",
        session,
        cwd,
        "default",
        json!({"source": "startup"}),
    );
    let out = hook(env, "SessionStart", &stdin, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
}
