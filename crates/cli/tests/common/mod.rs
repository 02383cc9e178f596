//! Test harness: real processes with a temporary database.
//!
//! - [`Env`]: a temp dir, a port, a database path, and the environment
//!   every process of the test gets;
//! - [`Broker`]: `claude-peers broker`, killed when dropped. The first broker
//!   of an [`Env`] binds port 0 (the system picks a free port) and the harness
//!   reads the bound port back from the lock file (`<db>.lock` holds
//!   `pid port` once the port is bound), so no other process can take the port
//!   between choosing and binding it; a restart binds the same port again;
//! - [`Mcp`]: `claude-peers mcp` driven over stdio with JSON-RPC lines, the way
//!   Claude Code drives it;
//! - helpers to register peers over HTTP and to run the CLI.
//!
//! The store: SQLite at [`Env::db`], or, when `CLAUDE_PEERS_TEST_PG` names a
//! PostgreSQL server (`postgres://…/postgres`, as `.ci/run` sets it), a fresh
//! database on it for each [`Env`], given to every process of the test as
//! `CLAUDE_PEERS_STORE` (so brokers a client starts use it too).
#![allow(dead_code, unused_macros)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{RegisterRequest, RegisterResponse};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

pub mod coord;
pub mod hooks;
pub mod recording;
pub mod tls;

pub const BIN: &str = env!("CARGO_BIN_EXE_claude-peers");

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(15);

/// A port free now, for a test where a broker is started by a client (auto-start)
/// rather than by [`Broker::start`], which binds port 0 instead. Another
/// process may take it before the broker binds it: such tests run through
/// [`autostarted`], which retries on that collision.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How many times [`autostarted`] runs a test whose chosen port another
/// process took.
pub const PORT_ATTEMPTS: u32 = 3;

/// Run `body` with a fresh [`Env`] whose broker a client starts by itself on
/// the env's port, or that expects nothing on it. A client cannot be told "any
/// free port" (the port is how every session, hook and CLI of a database finds
/// the one broker), so the port is chosen free beforehand and another process
/// may take it first: when `body` fails while something other than this
/// test's broker holds the port, it runs again with a new port, up to
/// [`PORT_ATTEMPTS`] times. Any other failure is the test's failure.
pub async fn autostarted<F, Fut>(body: F)
where
    F: Fn(std::sync::Arc<Env>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for attempt in 1..=PORT_ATTEMPTS {
        let env = std::sync::Arc::new(Env::new());
        match tokio::spawn(body(env.clone())).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                if attempt < PORT_ATTEMPTS && env.port_taken_by_another() {
                    eprintln!(
                        "port {} was taken by another process; again with a new port",
                        env.port()
                    );
                    continue;
                }
                std::panic::resume_unwind(e.into_panic());
            }
            Err(e) => panic!("the test task ended: {e}"),
        }
    }
}

/// One test's world.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// The broker's port: a free port until [`Broker::start`] binds one.
    port: AtomicU16,
    /// Whether a broker of this test has bound its port.
    bound: AtomicBool,
    pub db: PathBuf,
    /// Extra environment for every process.
    pub vars: Vec<(String, String)>,
    /// This test's PostgreSQL database, when the suite runs on PostgreSQL.
    pub store: Option<String>,
}

/// The PostgreSQL server to run the suite against, if any.
pub fn test_pg() -> Option<String> {
    std::env::var("CLAUDE_PEERS_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A new, empty database on the server at `admin_url` (a URL ending in
/// `/DBNAME`); its URL.
pub fn fresh_pg_database(admin_url: &str) -> String {
    let name = format!("t_{}", short_random());
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .expect("CLAUDE_PEERS_TEST_PG must end in /DBNAME");
    let admin = admin_url.to_string();
    let create = format!("CREATE DATABASE {name}");
    // The sync client runs its own runtime: keep it off the test's.
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot reach CLAUDE_PEERS_TEST_PG: {e}"));
        c.batch_execute(&create).unwrap();
    })
    .join()
    .unwrap();
    format!("{base}/{name}")
}

fn short_random() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Env {
    pub fn new() -> Self {
        // The workspace's reqwest has no crypto provider of its own: install
        // ours before a test builds a plain `reqwest::Client`.
        claude_peers_client::tls::provider();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("peers.db");
        let store = test_pg().map(|admin| fresh_pg_database(&admin));
        let mut vars = vec![
            ("CLAUDE_PEERS_SETTLE_MS".to_string(), "50".to_string()),
            ("LOG_LEVEL".into(), "debug".into()),
        ];
        if let Some(url) = &store {
            vars.push(("CLAUDE_PEERS_STORE".into(), url.clone()));
        }
        Self {
            port: AtomicU16::new(free_port()),
            bound: AtomicBool::new(false),
            db,
            dir,
            vars,
            store,
        }
    }

    /// Another broker's world on this one's PostgreSQL database (team
    /// mode): its own state directory, port and log, the same store and
    /// environment.
    pub fn beside(&self) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("peers.db");
        Self {
            port: AtomicU16::new(free_port()),
            bound: AtomicBool::new(false),
            db,
            dir,
            vars: self.vars.clone(),
            store: self.store.clone(),
        }
    }

    pub fn with(mut self, k: &str, v: &str) -> Self {
        self.vars.push((k.into(), v.into()));
        self
    }

    /// The broker's port (the bound one once [`Broker::start`] returned).
    pub fn port(&self) -> u16 {
        self.port.load(Ordering::SeqCst)
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: self.port(),
            db: self.db.clone(),
            tls: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(Path::new(BIN), args)
    }

    /// [`Env::command`] of another executable (a copy of the binary, or
    /// `claude-peers-mcp`).
    pub fn command_of(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .env_remove("CLAUDE_PEERS_PORT")
            .env_remove("CLAUDE_PEERS_DB")
            .env_remove("CLAUDE_PEERS_TOOLS")
            .env_remove("CLAUDE_PEERS_STORE")
            .env("CLAUDE_PEERS_PORT", self.port().to_string())
            .env("CLAUDE_PEERS_DB", &self.db)
            .env("HOME", self.dir.path())
            .kill_on_drop(true);
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Whether something other than this test's broker listens on the port:
    /// a broker of this database records `pid port` in `<db>.lock` once bound.
    pub fn port_taken_by_another(&self) -> bool {
        let lock = std::fs::read_to_string(self.db.with_extension("lock")).unwrap_or_default();
        let ours = lock.split_whitespace().nth(1).and_then(|p| p.parse().ok()) == Some(self.port());
        !ours && std::net::TcpStream::connect(("127.0.0.1", self.port())).is_ok()
    }

    /// A directory inside the test's temp dir.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.db.with_extension("admin-token"))
            .unwrap()
            .trim()
            .to_string()
    }

    pub fn admin(&self) -> BrokerClient {
        BrokerClient::new(&self.endpoint(), Some(self.admin_token()))
    }

    pub fn anon(&self) -> BrokerClient {
        BrokerClient::new(&self.endpoint(), None)
    }

    /// Register a peer directly over HTTP (no MCP server, so it is not connected).
    pub async fn register(
        &self,
        cwd: &str,
        f: impl FnOnce(&mut RegisterRequest),
    ) -> (RegisterResponse, BrokerClient) {
        let mut req = RegisterRequest {
            pid: std::process::id(),
            cwd: cwd.into(),
            ..Default::default()
        };
        f(&mut req);
        let r = self.anon().register(&req, None).await.expect("register");
        let c = BrokerClient::new(&self.endpoint(), r.token.clone());
        (r, c)
    }

    /// Run the CLI to completion: (exit success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::time::timeout(WAIT, self.command(args).output())
            .await
            .expect("cli timed out")
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Run a command to completion within `timeout`: (exit code, stdout, stderr).
pub async fn run_output(mut cmd: Command, timeout: Duration) -> (Option<i32>, String, String) {
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .expect("command timed out")
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The pinned real client `command` of `tests/clients/<folder>` (installed by
/// `bash tests/clients/install.sh`, which `scripts/test.sh` runs first).
pub fn real_client(folder: &str, command: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients")
        .join(folder)
        .join("node_modules/.bin")
        .join(command);
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/clients/install.sh`",
        p.display()
    );
    p
}

impl Drop for Env {
    /// Stop any broker that serves this test's database (auto-started ones
    /// are detached and would outlive the test).
    fn drop(&mut self) {
        for pid in broker_pids(&self.db) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// Pids of `claude-peers broker` processes serving `db`.
pub fn broker_pids(db: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    let db = db.to_string_lossy().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a.ends_with("claude-peers"))
            && args.iter().any(|a| a == "broker")
            && args.contains(&db)
        {
            // Skip zombies.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
            {
                continue;
            }
            out.push(pid);
        }
    }
    out
}

/// A broker process.
pub struct Broker {
    pub child: Child,
}

impl Broker {
    pub async fn start(env: &Env, extra: &[&str]) -> Broker {
        let b = Self::spawn(env, &[], extra).await;
        wait_healthy(env).await;
        b
    }

    /// Start `claude-peers broker --db <env's db> ARGS --port P EXTRA`, logging
    /// to the test's `broker-test.log`. The first broker of `env` binds port 0
    /// and its bound port becomes `env`'s port (read back from the lock file);
    /// a restart binds that port again. Returns once the port is bound (not
    /// yet once the broker answers).
    pub async fn spawn(env: &Env, args: &[&str], extra: &[&str]) -> Broker {
        let db = env.db.to_string_lossy().to_string();
        let first = !env.bound.swap(true, Ordering::SeqCst);
        let port = if first {
            "0".to_string()
        } else {
            env.port().to_string()
        };
        let mut all = vec!["broker", "--db", db.as_str()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--port", port.as_str()]);
        all.extend_from_slice(extra);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.dir.path().join("broker-test.log"))
            .unwrap();
        let child = env
            .command(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut b = Broker { child };
        if first {
            let port = b.bound_port(env).await;
            env.port.store(port, Ordering::SeqCst);
        }
        b
    }

    /// The port this broker bound, from its lock file's `pid port` line.
    async fn bound_port(&mut self, env: &Env) -> u16 {
        let lock = env.db.with_extension("lock");
        let pid = self.pid();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let line = std::fs::read_to_string(&lock).unwrap_or_default();
            let mut parts = line.split_whitespace().map(str::parse::<u32>);
            if let (Some(Ok(p)), Some(Ok(port))) = (parts.next(), parts.next())
                && p == pid
                && port != 0
            {
                return port as u16;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("broker exited ({status}): {}", broker_log(env));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("broker did not bind a port: {}", broker_log(env));
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    pub fn sigkill(&mut self) {
        unsafe { libc::kill(self.pid() as i32, libc::SIGKILL) };
    }

    pub async fn wait_exit(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("broker did not exit")
            .unwrap()
    }
}

pub async fn wait_healthy(env: &Env) {
    let deadline = Instant::now() + WAIT;
    let c = env.anon();
    while Instant::now() < deadline {
        if c.health().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("broker did not become healthy: {}", broker_log(env));
}

pub fn broker_log(env: &Env) -> String {
    let mut s = String::new();
    for f in ["broker-test.log", "peers.log"] {
        if let Ok(t) = std::fs::read_to_string(env.dir.path().join(f)) {
            s.push_str(&t);
        }
    }
    s
}

/// Poll `$cond` (an expression that may `.await`) until it is true, or panic
/// naming `$what`.
macro_rules! until {
    ($what:expr, $cond:expr) => {{
        let deadline = std::time::Instant::now() + $crate::common::WAIT;
        loop {
            if $cond {
                break;
            }
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for: {}", $what);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }};
}

/// Wait until `f` holds, polling.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A tool result.
#[derive(Debug, Clone)]
pub struct ToolResult {
    pub text: String,
    pub is_error: bool,
    pub raw: Value,
}

/// Assert that a tool call was refused with an error containing `want`.
#[track_caller]
pub fn refused(r: &ToolResult, want: &str) {
    assert!(r.is_error && r.text.contains(want), "{}", r.text);
}

/// `claude-peers mcp`, driven over stdio.
pub struct Mcp {
    pub child: Child,
    stdin: ChildStdin,
    rx: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for responses.
    pub notifications: VecDeque<Value>,
    pub init: Value,
    pub name: String,
    pub id: String,
}

impl Mcp {
    /// Start an MCP server in `cwd` without the handshake.
    pub async fn spawn(env: &Env, cwd: &Path, extra_env: &[(&str, &str)]) -> Mcp {
        let mut cmd = env.command(&["mcp"]);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Self::spawn_command(env, cmd, cwd)
    }

    /// Start the MCP server `cmd` (from [`Env::command_of`]) in `cwd` without
    /// the handshake; its stderr goes to the env's `mcp-test.log`.
    pub fn spawn_command(env: &Env, mut cmd: Command, cwd: &Path) -> Mcp {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.dir.path().join("mcp-test.log"))
            .unwrap();
        cmd.current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        let _ = tx.send(v);
                    }
                    Err(e) => panic!("MCP server wrote a non-JSON line to stdout: {line:?} ({e})"),
                }
            }
        });
        Mcp {
            child,
            stdin,
            rx,
            next_id: 1,
            notifications: VecDeque::new(),
            init: Value::Null,
            name: String::new(),
            id: String::new(),
        }
    }

    /// Start, handshake as Claude Code does, and wait until registered.
    pub async fn start(env: &Env, cwd: &Path) -> Mcp {
        Self::start_with(env, cwd, &[]).await
    }

    pub async fn start_with(env: &Env, cwd: &Path, extra_env: &[(&str, &str)]) -> Mcp {
        let mut m = Self::spawn(env, cwd, extra_env).await;
        m.handshake("2025-11-25").await;
        m.identify().await;
        m
    }

    /// Start and handshake as another client does (its `initialize` params),
    /// then learn the name and id it registered.
    pub async fn start_as(env: &Env, cwd: &Path, initialize: Value) -> Mcp {
        let mut m = Self::spawn(env, cwd, &[]).await;
        m.request("initialize", initialize).await;
        m.notify("notifications/initialized", json!({})).await;
        m.identify().await;
        m
    }

    /// Fill in `name` and `id` from `whoami`.
    pub async fn identify(&mut self) {
        let who = self.call("whoami", json!({})).await;
        assert!(!who.is_error, "whoami failed: {}", who.text);
        self.name = who
            .text
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string();
        self.id = peer_id_in(&who.text);
    }

    pub async fn handshake(&mut self, version: &str) -> Value {
        let r = self
            .request(
                "initialize",
                json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "claude-code", "version": "2.1.80"}}),
            )
            .await;
        self.notify("notifications/initialized", json!({})).await;
        self.init = r.clone();
        r
    }

    pub async fn write(&mut self, v: &Value) {
        let mut line = serde_json::to_string(v).unwrap();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    pub async fn write_raw(&mut self, s: &str) {
        self.stdin.write_all(s.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.write(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Send a request and wait for its response (buffering notifications).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let v = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .expect("MCP server closed stdout");
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
            if v.get("id").is_none() {
                self.notifications.push_back(v);
            }
        }
    }

    pub async fn call(&mut self, tool: &str, args: Value) -> ToolResult {
        let v = self
            .request("tools/call", json!({"name": tool, "arguments": args}))
            .await;
        let result = v
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("tools/call {tool} failed: {v}"));
        let text = result["content"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        ToolResult {
            text,
            is_error: result["isError"].as_bool().unwrap_or(false),
            raw: result,
        }
    }

    /// The next channel notification within `timeout`.
    pub async fn channel(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(pos) = self
            .notifications
            .iter()
            .position(|n| n["method"] == "notifications/claude/channel")
        {
            return self.notifications.remove(pos);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(v)) if v["method"] == "notifications/claude/channel" => return Some(v),
                Ok(Some(v)) => self.notifications.push_back(v),
                _ => return None,
            }
        }
    }

    /// The next notification with `method` within `timeout` (others are kept).
    pub async fn notification(&mut self, method: &str, timeout: Duration) -> Option<Value> {
        if let Some(pos) = self
            .notifications
            .iter()
            .position(|n| n["method"] == method)
        {
            return self.notifications.remove(pos);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(v)) if v["method"] == method => return Some(v),
                Ok(Some(v)) => self.notifications.push_back(v),
                _ => return None,
            }
        }
    }

    /// Every channel notification arriving within `window`.
    pub async fn drain_channel(&mut self, window: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.channel(left).await {
                Some(v) => out.push(v),
                None => return out,
            }
        }
    }

    pub async fn close_stdin_and_wait(mut self) -> std::process::ExitStatus {
        drop(self.stdin);
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("MCP server did not exit")
            .unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }
}

/// The message id in a channel notification's meta.
pub fn meta_id(n: &Value) -> i64 {
    n["params"]["meta"]["message_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The "needs you" lane's items, as the operator reads them.
pub async fn lane(env: &Env) -> Vec<claude_peers_proto::needs_you::NeedsYouItem> {
    env.admin().needs_you().await.unwrap().items
}

/// Read channel notifications from `m` until every id of `expected` was
/// shown (panics naming the lost ones after `WAIT`), then what follows
/// within half a second; returns each shown message's text by id and the
/// ids shown more than once.
pub async fn shown_messages(
    m: &mut Mcp,
    expected: &BTreeSet<i64>,
) -> (BTreeMap<i64, String>, BTreeSet<i64>) {
    let mut seen: BTreeMap<i64, String> = BTreeMap::new();
    let mut dupes = BTreeSet::new();
    let mut note = |n: Value, seen: &mut BTreeMap<i64, String>| {
        let text = n["params"]["content"].as_str().unwrap().to_string();
        if seen.insert(meta_id(&n), text).is_some() {
            dupes.insert(meta_id(&n));
        }
    };
    let deadline = Instant::now() + WAIT;
    while !expected.iter().all(|id| seen.contains_key(id)) {
        assert!(
            Instant::now() < deadline,
            "lost: {:?}",
            expected
                .iter()
                .filter(|id| !seen.contains_key(id))
                .collect::<Vec<_>>()
        );
        if let Some(n) = m.channel(Duration::from_millis(200)).await {
            note(n, &mut seen);
        }
    }
    for n in m.drain_channel(Duration::from_millis(500)).await {
        note(n, &mut seen);
    }
    (seen, dupes)
}

/// Run `git` in `dir`.
pub fn git(dir: &Path, args: &[&str]) {
    let st = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// A git repository with one commit on `branch`.
pub fn repo(dir: &Path, branch: &str) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", branch]);
    std::fs::write(dir.join("README"), "x").unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "init"]);
}

/// Send `text` from `from` to the peer `to` through the broker's API; the new
/// message's id.
pub async fn send_text(from: &BrokerClient, to: &str, text: &str) -> i64 {
    from.send(&send_req(to, text)).await.unwrap().message_id
}

/// A plain send request (no context, no wait).
pub fn send_req(to: &str, text: impl Into<String>) -> claude_peers_proto::api::SendRequest {
    claude_peers_proto::api::SendRequest {
        to: to.into(),
        text: text.into(),
        ..Default::default()
    }
}

/// The number after the first `#` of a tool result ("Message #12 sent to …").
pub fn msg_id(text: &str) -> i64 {
    text.split('#')
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no message id in {text:?}"))
}

/// The peer id in a text that says "… (id ID) …" (whoami, SessionStart's context).
pub fn peer_id_in(text: &str) -> String {
    text.split("(id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no peer id in {text:?}"))
        .to_string()
}

/// Peer `id` as the operator's listing shows it.
pub async fn peer_view(env: &Env, id: &str) -> Option<claude_peers_proto::api::PeerView> {
    env.admin()
        .peers(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == id)
}

/// `claude-peers watch`, with its stdout as lines.
pub fn watch(
    env: &Env,
) -> (
    Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    let mut child = env
        .command(&["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}
