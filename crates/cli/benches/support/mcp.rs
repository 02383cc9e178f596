//! An MCP server driven over stdio by a benchmark: spawned against a
//! broker, handshaken, asked for tools, read for channel notifications.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Child;

use super::cmd;

/// A running `claude-peers mcp`.
pub struct Mcp {
    pub child: Child,
    pub stdin: tokio::process::ChildStdin,
    pub lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next: i64,
}

impl Mcp {
    pub async fn spawn(port: u16, db: &Path, home: &Path, cwd: &Path) -> (Mcp, Duration) {
        let t0 = Instant::now();
        let mut child = cmd(port, db, home, &["mcp"])
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut m = Mcp {
            child,
            stdin,
            lines,
            next: 1,
        };
        m.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}))
            .await;
        let startup = t0.elapsed();
        m.write(&json!({"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}}))
            .await;
        (m, startup)
    }

    pub async fn write(&mut self, v: &Value) {
        let mut s = v.to_string();
        s.push('\n');
        self.stdin.write_all(s.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next;
        self.next += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        loop {
            let line = self.lines.next_line().await.unwrap().expect("mcp closed");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == json!(id) {
                return v;
            }
        }
    }

    /// Read lines until a channel notification; tool results are skipped.
    pub async fn next_channel(&mut self) -> Value {
        loop {
            let line = self.lines.next_line().await.unwrap().expect("mcp closed");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["method"] == "notifications/claude/channel" {
                return v;
            }
        }
    }
}
