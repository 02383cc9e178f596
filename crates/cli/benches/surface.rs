//! What the tool surface costs every session's context
//! (`cargo bench -p claude-peers --bench surface`).
//!
//! Starts a broker on a free port with a temporary database and real
//! `claude-peers mcp` servers driven over stdio, then prints:
//! 1. `tools/list` for the full and the `core` profile: tools, characters of
//!    the result's JSON as sent, and an estimate of tokens (characters / 4,
//!    a rule of thumb for English and JSON, not a tokenizer);
//! 2. the server's `instructions` (Claude Code's text and the other clients');
//! 3. the `meta` of typical channel notifications: a direct message from a
//!    peer that has set its summary, a reply to it, a structured question and
//!    a coordination notice (a task assigned): attributes and characters.
//!
//! The figures do not depend on the machine; run it after changing a tool,
//! a description or the channel meta, and compare with BENCHMARKS.md.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_claude-peers");
/// How long any step may take before the benchmark gives up.
const WAIT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn cmd(port: u16, dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env_remove("CLAUDE_PEERS_TOOLS")
        .env("CLAUDE_PEERS_PORT", port.to_string())
        .env("CLAUDE_PEERS_DB", dir.join("peers.db"))
        .env("HOME", dir)
        .env("CLAUDE_PEERS_SETTLE_MS", "0")
        .env("LOG_LEVEL", "warn")
        .kill_on_drop(true);
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

/// One MCP server driven the way Claude Code drives it.
struct Mcp {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    /// Notifications read while waiting for an answer.
    pushed: Vec<Value>,
}

impl Mcp {
    async fn start(port: u16, dir: &Path, client: &str, vars: &[(&str, &str)]) -> (Self, Value) {
        let mut child = cmd(port, dir, &["mcp"], vars)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn claude-peers mcp");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut m = Self {
            _child: child,
            stdin,
            lines,
            next_id: 0,
            pushed: Vec::new(),
        };
        let init = m
            .request(
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": client, "version": "1"}}),
            )
            .await;
        m.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        (m, init["result"].clone())
    }

    async fn send(&mut self, v: Value) {
        let line = format!("{v}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("the MCP server went quiet")
            .unwrap()
            .expect("the MCP server closed stdout");
        serde_json::from_str(&line).expect("a JSON-RPC line")
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let v = self.read().await;
            if v["id"] == id {
                return v;
            }
            self.pushed.push(v);
        }
    }

    async fn call(&mut self, tool: &str, args: Value) -> String {
        let r = self
            .request("tools/call", json!({"name": tool, "arguments": args}))
            .await;
        let text = r["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(r["result"]["isError"] != true, "{tool}: {r}");
        text.to_string()
    }

    /// The next channel notification.
    async fn channel(&mut self) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self
                .pushed
                .iter()
                .position(|v| v["method"] == "notifications/claude/channel")
            {
                return self.pushed.remove(i);
            }
            assert!(Instant::now() < deadline, "no channel notification");
            let v = self.read().await;
            self.pushed.push(v);
        }
    }
}

fn chars(v: &Value) -> usize {
    v.to_string().chars().count()
}

/// Characters and the token estimate, as one cell.
fn size(n: usize) -> String {
    format!("{n} chars ≈ {} tokens", n.div_ceil(4))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut broker = cmd(port, dir.path(), &["broker"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn broker");
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + WAIT;
    while reqwest::get(&health).await.is_err() {
        assert!(Instant::now() < deadline, "the broker did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    println!("## Tool surface (tokens estimated as characters / 4)\n");
    println!("| profile | tools | `tools/list` result |");
    println!("|---|---|---|");
    for (profile, vars) in [
        ("full", &[][..]),
        ("core", &[("CLAUDE_PEERS_TOOLS", "core")][..]),
    ] {
        let (mut m, _) = Mcp::start(port, dir.path(), "claude-code", vars).await;
        let list = m.request("tools/list", json!({})).await;
        let tools = list["result"]["tools"].as_array().map_or(0, Vec::len);
        println!("| {profile} | {tools} | {} |", size(chars(&list["result"])));
    }
    println!();
    for client in ["claude-code", "codex-mcp-client"] {
        let (_, init) = Mcp::start(port, dir.path(), client, &[]).await;
        let text = init["instructions"].as_str().unwrap_or_default();
        println!("instructions for {client}: {}", size(text.chars().count()));
    }

    println!("\n## Channel notification meta\n");
    let (mut a, _) = Mcp::start(port, dir.path(), "claude-code", &[]).await;
    let (mut b, _) = Mcp::start(port, dir.path(), "claude-code", &[]).await;
    a.call(
        "set_summary",
        json!({"summary": "reviewing the parser in src/parse.rs"}),
    )
    .await;
    let who = b.call("whoami", json!({})).await;
    let b_name = who
        .strip_prefix("You are ")
        .and_then(|s| s.split_whitespace().next())
        .expect("whoami names the peer")
        .to_string();
    let who = a.call("whoami", json!({})).await;
    let a_name = who
        .strip_prefix("You are ")
        .and_then(|s| s.split_whitespace().next())
        .expect("whoami names the peer")
        .to_string();

    println!("| notification | attributes | `meta` | keys |");
    println!("|---|---|---|---|");
    let row = |what: &str, n: &Value| {
        let meta = &n["params"]["meta"];
        let keys: Vec<&str> = meta
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        println!(
            "| {what} | {} | {} | {} |",
            keys.len(),
            size(chars(meta)),
            keys.join(", ")
        );
    };
    a.call(
        "send_message",
        json!({"to_id": b_name, "message": "Can you review the error paths in src/parse.rs?"}),
    )
    .await;
    let first = b.channel().await;
    row("direct message", &first);
    let id = first["params"]["meta"]["message_id"].clone();
    b.call(
        "send_message",
        json!({"to_id": a_name, "message": "Yes, after this test run.", "reply_to": id}),
    )
    .await;
    row("reply", &a.channel().await);
    a.call(
        "send_structured",
        json!({"to_id": b_name, "msg_type": "question",
               "question": "Should a parse error carry the byte offset or the line and column?",
               "expected_format": "one of: offset, line+column"}),
    )
    .await;
    row("structured question", &b.channel().await);
    a.call(
        "create_task",
        json!({"title": "Review the error paths", "assignee": b_name}),
    )
    .await;
    row("task assigned (notice)", &b.channel().await);

    broker.kill().await.ok();
}
