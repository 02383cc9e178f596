//! The real Codex CLI, Gemini CLI and OpenCode (pinned in `tests/clients/`),
//! each set up by `claude-peers install` in a temporary HOME and pointed at a
//! [`FakeModel`] of its API shape, so a test drives a real model turn offline
//! and proves at the model what a peer's message did. A client that is not
//! installed is skipped with the reason printed ([`Agent::new`] gives `None`).
//! The cells ([`busy`], [`idle_wake`]) are shared by the pass/fail tests and
//! the reach measurement (`real_agents.rs`).
//!
//! Include it with `#[path = "common/agents/mod.rs"] mod agents;` next to
//! `#[path = "common/models/mod.rs"] mod models;` and `mod common;`.
#![allow(dead_code)]

pub mod codex;
pub mod gemini;
pub mod opencode;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use claude_peers_proto::api::{ListPeersQuery, PeerView};
use claude_peers_proto::reach::Reach;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::common::{BIN, Env, Mcp, run_output};
use crate::models::{Api, FakeModel, Recorded, Reply};

/// How long a client may take to start and send its first turn (client
/// start, MCP handshake, hooks) on a loaded 2-core machine.
pub const START_WAIT: Duration = Duration::from_secs(60);
/// How long a test waits for the model to receive something.
pub const MODEL_WAIT: Duration = Duration::from_secs(30);
/// The prompt of a session's first turn.
pub const PROMPT: &str = "Please look at the build.";

/// The clients driven here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Codex,
    Gemini,
    OpenCode,
}

impl Client {
    /// Its folder in `tests/clients/` and its command.
    fn pinned(self) -> (&'static str, &'static str) {
        match self {
            Client::Codex => (codex::FOLDER, "codex"),
            Client::Gemini => (gemini::FOLDER, "gemini"),
            Client::OpenCode => (opencode::FOLDER, "opencode"),
        }
    }

    /// `claude-peers install --client NAME`.
    fn install_name(self) -> &'static str {
        match self {
            Client::Codex => "codex",
            Client::Gemini => "gemini",
            Client::OpenCode => "opencode",
        }
    }

    fn api(self) -> Api {
        match self {
            Client::Codex => Api::Responses,
            Client::Gemini => Api::Gemini,
            Client::OpenCode => Api::Chat,
        }
    }

    /// The client and version, as the reach table names it.
    pub fn label(self) -> &'static str {
        match self {
            Client::Codex => "Codex CLI 0.171.0",
            Client::Gemini => "Gemini CLI 0.61.0",
            Client::OpenCode => "OpenCode 1.18.33",
        }
    }
}

/// One client set up in its own HOME and project, with its fake model.
pub struct Agent {
    pub client: Client,
    pub bin: PathBuf,
    pub home: PathBuf,
    pub project: PathBuf,
    pub model: FakeModel,
    /// Where the client's stdout and stderr go (printed on failure).
    pub log: PathBuf,
    vars: Vec<(String, String)>,
}

impl Agent {
    /// Set up `client` in `env` (whose broker must run): `claude-peers
    /// install --client …` in a fresh HOME, then the client's model
    /// configuration. `None` (with the reason printed) when the pinned client
    /// is not installed.
    pub async fn new(env: &Env, client: Client) -> Option<Agent> {
        let (folder, cmd) = client.pinned();
        let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/clients")
            .join(folder)
            .join("node_modules/.bin")
            .join(cmd);
        if !bin.exists() {
            eprintln!(
                "SKIP: {} is not installed at {} (run `bash tests/clients/install.sh`)",
                client.label(),
                bin.display()
            );
            return None;
        }
        let root = env.subdir(&format!("{cmd}-agent"));
        let home = root.join("home");
        let project = root.join("project");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        let project = project.canonicalize().unwrap();
        let model = FakeModel::start(client.api()).await;
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), home.display().to_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TERM".into(), "dumb".into()),
            ("CLAUDE_PEERS_PORT".into(), env.port().to_string()),
            ("CLAUDE_PEERS_DB".into(), env.db.display().to_string()),
        ];
        vars.extend(env.vars.iter().cloned());
        let mut agent = Agent {
            client,
            bin,
            home,
            project,
            model,
            log: root.join("client.log"),
            vars,
        };
        agent.install().await;
        match client {
            Client::Codex => codex::configure(&mut agent),
            Client::Gemini => gemini::configure(&mut agent),
            Client::OpenCode => opencode::configure(&mut agent),
        }
        Some(agent)
    }

    async fn install(&self) {
        let mut c = Command::new(BIN);
        c.args(["install", "--client", self.client.install_name()])
            .current_dir(&self.project)
            .env_clear()
            .envs(self.vars.iter().cloned());
        let (code, out, err) = run_output(c, START_WAIT).await;
        assert_eq!(code, Some(0), "install --client: {out}{err}");
    }

    /// A variable of the client's environment.
    pub fn var(&self, k: &str) -> Option<String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    }

    /// Add to the client's environment.
    pub fn env(&mut self, k: &str, v: &str) {
        self.vars.push((k.into(), v.into()));
    }

    /// The client with `args`, in the project, with this agent's environment
    /// only; its output goes to [`Agent::log`].
    pub fn command(&self, args: &[String]) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut c = Command::new(&self.bin);
        c.args(args)
            .current_dir(&self.project)
            .env_clear()
            .envs(self.vars.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        c
    }

    /// One non-interactive session that runs `prompt` and exits.
    pub fn one_shot(&self, prompt: &str) -> Group {
        let args = match self.client {
            Client::Codex => codex::one_shot(self, prompt),
            Client::Gemini => gemini::one_shot(prompt),
            Client::OpenCode => opencode::one_shot(prompt),
        };
        Group(self.command(&args).spawn().expect("start the client"))
    }

    /// This client's peer on the broker: connected, in its project.
    pub async fn peer(&self, env: &Env) -> PeerView {
        let project = self.project.display().to_string();
        let deadline = Instant::now() + START_WAIT;
        loop {
            let peers = env.admin().peers(&ListPeersQuery::default()).await;
            let mine: Vec<PeerView> = peers
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.cwd == project && p.connected)
                .collect();
            if let [p] = mine.as_slice() {
                return p.clone();
            }
            if Instant::now() > deadline {
                let all = env.admin().peers(&ListPeersQuery::default()).await;
                self.fail(&format!(
                    "one connected peer in {project}: {mine:?}; all peers: {all:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Fail with the client's output and the model's requests.
    pub fn fail(&self, why: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = log
            .chars()
            .rev()
            .take(6000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!(
            "{}: {why}\n--- client output (tail) ---\n{tail}\n--- model ---\n{}",
            self.client.label(),
            self.model.summary()
        );
    }
}

/// A client started in its own process group (`.bin/` launchers start the
/// native client as a child; the client starts MCP servers and hooks): the
/// whole group is killed when dropped.
pub struct Group(pub Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            // SAFETY: kill(2) on a process group this test started.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
    }
}

/// A message text no other request could contain.
pub fn marker(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("peer-note-{what}-{nanos}")
}

/// A message that reached the model.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// From `send_message` until the request that holds it.
    pub took: Duration,
    /// Which rung carried it (see [`rung`]).
    pub rung: &'static str,
    pub request: Recorded,
}

/// Which rung put the message into `got`: a hook's `<peer-message>` context
/// (`next-turn`), or the model reading it with `check_messages` after our
/// unread line (`tool-only`) or after the plugin's wake prompt (`wake`).
pub fn rung(model: &FakeModel, from: usize, got: &Recorded) -> &'static str {
    // Gemini CLI escapes a hook's context (`&lt;peer-message id=…`).
    if got.new_text.contains("peer-message id=") {
        return "next-turn";
    }
    let woken = model.requests().iter().skip(from).any(|r| {
        r.turn && r.new_text.contains("claude-peers: ") && r.new_text.contains("new message")
    });
    if woken { "wake" } else { "tool-only" }
}

/// A peer that sends: our MCP server in its own directory.
async fn send(env: &Env, to: &str, text: &str) {
    let mut peer = Mcp::start(env, &env.subdir("sender")).await;
    let r = peer
        .call("send_message", json!({"to_id": to, "message": text}))
        .await;
    assert!(!r.is_error, "send_message failed: {}", r.text);
}

/// Wait for a one-shot session to end (the model ended its turn).
async fn wait_exit(agent: &Agent, child: &mut Group) {
    match tokio::time::timeout(MODEL_WAIT, child.0.wait()).await {
        Ok(Ok(s)) if s.success() => {}
        Ok(r) => agent.fail(&format!("the client ended with {r:?}")),
        Err(_) => agent.fail("the client did not end its turn"),
    }
}

/// Busy: a one-shot session is in its turn (the model's reply held) when the
/// peer sends; the model then calls `whoami`, and follows what it is told.
/// The message must be in a request the model receives.
pub async fn busy(env: &Env, agent: &Agent, text: &str) -> Result<Delivery, String> {
    let held = agent.model.then_held(Reply::tool("whoami"));
    let mut child = agent.one_shot(PROMPT);
    agent
        .model
        .wait_from(0, START_WAIT, "the first turn", |r| {
            r.turn && r.holds(PROMPT)
        })
        .await?;
    let peer = agent.peer(env).await;
    let from = agent.model.len();
    let t0 = Instant::now();
    send(env, &peer.id, text).await;
    held.release();
    let got = agent
        .model
        .wait_from(from, MODEL_WAIT, "the peer's message", |r| {
            r.turn && r.holds(text)
        })
        .await?;
    wait_exit(agent, &mut child).await;
    Ok(Delivery {
        took: got.at - t0,
        rung: rung(&agent.model, from, &got),
        request: got,
    })
}

/// Idle (OpenCode): the server runs with one session that finished its first
/// turn; nobody types when the peer sends. The plugin must start a turn.
pub async fn idle_wake(env: &Env, agent: &Agent, text: &str) -> Result<Delivery, String> {
    let server = opencode::Server::start(agent).await?;
    let session = server.session().await?;
    server.prompt(&session, PROMPT).await?;
    let project = agent.project.display().to_string();
    let admin = env.admin();
    let deadline = Instant::now() + START_WAIT;
    let peer = loop {
        let peers = admin
            .peers(&ListPeersQuery::default())
            .await
            .unwrap_or_default();
        if let Some(p) = peers
            .into_iter()
            .find(|p| p.cwd == project && p.reach == Reach::Wake)
        {
            break p;
        }
        if Instant::now() > deadline {
            return Err("the plugin's waiter was never armed (reach wake)".into());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let from = agent.model.len();
    let t0 = Instant::now();
    send(env, &peer.id, text).await;
    let got = agent
        .model
        .wait_from(from, MODEL_WAIT, "the peer's message, nobody typing", |r| {
            r.turn && r.holds(text)
        })
        .await?;
    Ok(Delivery {
        took: got.at - t0,
        rung: rung(&agent.model, from, &got),
        request: got,
    })
}
