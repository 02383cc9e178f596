//! Hook latency (`cargo bench -p claude-peers --bench hooks`): the wall time of
//! one `claude-peers hook EVENT` call, the way Claude Code makes it (a new
//! process, the client's JSON on stdin), when there is nothing to do. Target:
//! under 20 ms per call.
//!
//! A broker and one MCP server (a child of this process, which stands in for
//! the Claude Code session: `CLAUDE_PID` is this process) are started first.
//! Knobs: BENCH_HOOK_CALLS (default 100); BENCH_BIN (another `claude-peers`
//! binary to measure, e.g. a debug build).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

fn bin() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_claude-peers").to_string())
}

fn cmd(port: u16, db: &Path, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .env("CLAUDE_PEERS_PORT", port.to_string())
        .env("CLAUDE_PEERS_DB", db)
        .env("HOME", home)
        .env("CLAUDE_PEERS_SETTLE_MS", "0")
        .env("LOG_LEVEL", "warn")
        .env("CLAUDE_PID", std::process::id().to_string())
        .kill_on_drop(true);
    c
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn call(port: u16, db: &Path, home: &Path, event: &str, input: &Value) -> Duration {
    let t = Instant::now();
    let mut child = cmd(port, db, home, &["hook", event])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = child.stdin.take().unwrap();
    w.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(w);
    let out = child.wait_with_output().await.unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{event}: {out:?}");
    assert!(
        out.stdout.is_empty(),
        "{event} had something to do: {out:?}"
    );
    took
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_HOOK_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _broker = cmd(
        port,
        &db,
        dir.path(),
        &["broker", "--db", db.to_str().unwrap()],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut mcp = cmd(port, &db, dir.path(), &["mcp"])
        .env("CLAUDE_CODE_SESSION_ID", "bench")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = mcp.stdin.take().unwrap();
    let mut lines = BufReader::new(mcp.stdout.take().unwrap()).lines();
    for (id, method, params) in [
        (
            1,
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
        ),
        (2, "tools/call", json!({"name": "whoami", "arguments": {}})),
    ] {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        stdin
            .write_all(format!("{req}\n").as_bytes())
            .await
            .unwrap();
        if id == 1 {
            let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            stdin
                .write_all(format!("{note}\n").as_bytes())
                .await
                .unwrap();
        }
        while let Some(line) = lines.next_line().await.unwrap() {
            if serde_json::from_str::<Value>(&line).unwrap()["id"] == json!(id) {
                break;
            }
        }
    }
    let cwd = dir.path().display().to_string();
    let common = |event: &str, extra: Value| {
        let mut v = json!({"session_id": "bench", "transcript_path": format!("{cwd}/t.jsonl"),
            "cwd": cwd, "permission_mode": "default", "hook_event_name": event});
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    };
    let file = format!("{cwd}/a.rs");
    let cases = [
        (
            "PostToolUse",
            common(
                "PostToolUse",
                json!({"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_response": {}}),
            ),
        ),
        (
            "UserPromptSubmit",
            common("UserPromptSubmit", json!({"prompt": "hello"})),
        ),
        (
            "PreToolUse",
            common(
                "PreToolUse",
                json!({"tool_name": "Edit", "tool_input": {"file_path": file, "old_string": "a", "new_string": "b"}}),
            ),
        ),
    ];
    println!("hook calls with nothing to do ({calls} each, {}):", bin());
    for (event, input) in &cases {
        call(port, &db, dir.path(), event, input).await; // warm up
        let mut times: Vec<Duration> = Vec::with_capacity(calls);
        for _ in 0..calls {
            times.push(call(port, &db, dir.path(), event, input).await);
        }
        times.sort();
        println!(
            "  {event:<17} p50 {:>6.2} ms   p95 {:>6.2} ms   max {:>6.2} ms",
            pct(&times, 0.5).as_secs_f64() * 1e3,
            pct(&times, 0.95).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3
        );
    }
}
