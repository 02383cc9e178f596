//! The real Claude Code, driven offline: a pinned client from
//! `tests/clients/`, a temporary HOME (onboarding, API-key approval and the
//! project's trust preset; our MCP server registered at user scope), a
//! [`FakeModel`] as its endpoint, the interactive session in its own tmux
//! server (typed into with `send-keys`, read with `capture-pane`). Everything
//! the session started is killed when the [`Session`] is dropped, also when
//! the test fails (then the pane, the client's debug log and the recorded
//! requests are printed).
//!
//! Include it in a test binary with
//! `#[path = "common/claude/mod.rs"] mod claude;` next to `mod common;`.
#![allow(dead_code)]

pub mod cells;
pub mod fake_model;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{BIN, Env};
pub use fake_model::{FakeModel, Recorded, Reply};

/// The current client: messaging socket, hooks, channels.
pub const CURRENT: &str = "2.1.332";
/// An older client, without the messaging socket.
pub const OLDER: &str = "2.1.197";

/// How long a session may take to start (client start, MCP handshake, broker
/// registration) on a loaded 2-core machine.
pub const START_WAIT: Duration = Duration::from_secs(45);
/// How long a test waits for the model to receive something.
pub const MODEL_WAIT: Duration = Duration::from_secs(30);
/// How long teardown waits for the session's processes to leave after the
/// tmux server is killed, before it kills them.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// The client's debug-log line once our MCP server's handshake is done (both
/// pinned versions).
pub const CONNECTED: &str = "MCP server \"claude-peers\": Connection established";

/// One of our tools as the model is offered it.
const OUR_TOOL: &str = "mcp__claude-peers__whoami";

/// The environment variable every process of one session inherits, so that
/// teardown finds them all (client, MCP servers, hooks and their children).
const TAG_VAR: &str = "CLAUDE_PEERS_TEST_SESSION";

/// The API key the client is given (fake; the fake model ignores it).
const API_KEY: &str =
    "sk-ant-api03-claudepeers-realclient-test-key-0000000000000000000000000000000000000000-AAAA";

/// Where the pinned client `version` is installed.
pub fn client_bin(version: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join(format!(
        "tests/clients/claude-code-{version}/node_modules/.bin/claude"
    ));
    assert!(
        bin.exists(),
        "Claude Code {version} is not installed at {}: run `bash tests/clients/install.sh`",
        bin.display()
    );
    bin
}

/// How to start a session.
pub struct Options {
    pub version: &'static str,
    /// Extra environment for the client (and so for its MCP servers and hooks).
    pub env: Vec<(String, String)>,
    /// Merged into `~/.claude/settings.json` (e.g. `hooks`).
    pub settings: Value,
    /// The MCP server entry; `None` = `claude-peers mcp`, as install writes it.
    pub mcp_server: Option<Value>,
    /// Run `claude-peers install --client claude-code --scope user` in the
    /// temporary HOME (our MCP server and hooks) instead of writing the
    /// server entry here.
    pub install: bool,
    /// Extra arguments for the client.
    pub args: Vec<String>,
}

impl Options {
    pub fn new(version: &'static str) -> Self {
        Options {
            version,
            env: Vec::new(),
            settings: json!({}),
            mcp_server: None,
            install: false,
            args: Vec::new(),
        }
    }

    /// Set up with `claude-peers install` (MCP server and hooks).
    pub fn installed(mut self) -> Self {
        self.install = true;
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// One interactive Claude Code session in tmux.
pub struct Session {
    pub version: &'static str,
    pub model: FakeModel,
    pub home: PathBuf,
    pub project: PathBuf,
    pub debug_log: PathBuf,
    tmux_socket: PathBuf,
    tmux_conf: PathBuf,
    launches: u32,
    /// The client's whole environment.
    vars: Vec<(String, String)>,
    tag: String,
    /// The client's pid (the pane's process).
    pub pid: u32,
    /// Our name for this session on the broker, once registered.
    pub peer_name: String,
    pub peer_id: String,
}

impl Session {
    /// Start a session in `env` (whose broker must be running) and wait
    /// until it sits at its prompt with our MCP server registered, after one
    /// first turn.
    pub async fn start(env: &Env, opts: Options) -> Session {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = env.subdir(&format!("claude-{n}"));
        let home = root.join("home");
        let project = root.join("project");
        let tmp = root.join("tmp");
        for d in [&home, &project, &tmp, &home.join(".claude")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let project = project.canonicalize().unwrap();
        let model = FakeModel::start().await;
        write_home(&home, &project, &opts);
        let tag = format!("{}-{n}", env.dir.path().display());
        let conf = root.join("tmux.conf");
        std::fs::write(
            &conf,
            "set -g remain-on-exit on\nset -g history-limit 10000\nset -g focus-events on\n",
        )
        .unwrap();
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), home.display().to_string()),
            ("TMPDIR".into(), tmp.display().to_string()),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("ANTHROPIC_BASE_URL".into(), model.url.clone()),
            ("ANTHROPIC_API_KEY".into(), API_KEY.into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            (
                "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL".into(),
                "1".into(),
            ),
            ("CLAUDE_PEERS_PORT".into(), env.port().to_string()),
            ("CLAUDE_PEERS_DB".into(), env.db.display().to_string()),
            (TAG_VAR.into(), tag.clone()),
        ];
        vars.extend(env.vars.iter().cloned());
        vars.extend(opts.env.iter().cloned());
        if opts.install {
            install(&vars, &project);
        }
        let mut s = Session {
            version: opts.version,
            model,
            home,
            project,
            debug_log: root.join("client-debug.log"),
            tmux_socket: root.join("tmux.sock"),
            tmux_conf: conf,
            launches: 0,
            vars,
            tag,
            pid: 0,
            peer_name: String::new(),
            peer_id: String::new(),
        };
        s.launch(env, &opts.args).await;
        s
    }

    /// Start the client (again) in this session's HOME and project, with
    /// `args`, and wait until it is ready.
    pub async fn launch(&mut self, env: &Env, args: &[String]) {
        self.launches += 1;
        self.debug_log = self
            .debug_log
            .with_file_name(format!("client-debug-{}.log", self.launches));
        let mut cmd = Command::new("tmux");
        cmd.env_clear()
            .arg("-S")
            .arg(&self.tmux_socket)
            .arg("-f")
            .arg(&self.tmux_conf)
            .args([
                "new-session",
                "-d",
                "-s",
                "cc",
                "-x",
                "200",
                "-y",
                "50",
                "-c",
            ])
            .arg(&self.project)
            .arg("--")
            .arg(client_bin(self.version))
            .arg("--debug-file")
            .arg(&self.debug_log)
            .args(args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .expect("tmux (install it: apt-get install tmux)");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.pid = self
            .tmux(&["display-message", "-p", "-t", "cc", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid");
        self.wait_ready(env).await;
        self.first_turn().await;
    }

    /// One turn ("Hello."), repeated until the model is offered our tools
    /// (the older client may list them a moment after the handshake), then
    /// idle at the prompt: every session starts from there.
    async fn first_turn(&self) {
        let deadline = Instant::now() + START_WAIT;
        loop {
            let from = self.model.len();
            self.type_line("Hello.");
            let r = self
                .model_request(from, "the first prompt", |r| {
                    r.is_turn() && r.messages_text().contains("Hello.")
                })
                .await;
            self.wait_idle().await;
            if r.body.to_string().contains(OUR_TOOL) {
                return;
            }
            if Instant::now() > deadline {
                self.fail("the model was never offered claude-peers' tools");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Run a tmux command against this session's server; its stdout.
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.tmux_socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "cc", "-S", "-200"])
    }

    /// Type `text` and press Enter.
    pub fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "cc", "-l", text]);
        self.tmux(&["send-keys", "-t", "cc", "Enter"]);
    }

    /// The client's own record of this session (`~/.claude/sessions/PID.json`;
    /// 2.1.332 writes it: status idle/busy, messaging socket path).
    pub fn session_file(&self) -> Option<Value> {
        let raw = std::fs::read(
            self.home
                .join(format!(".claude/sessions/{}.json", self.pid)),
        )
        .ok()?;
        serde_json::from_slice(&raw).ok()
    }

    /// Whether the prompt is on screen and no turn is running.
    pub fn at_prompt(&self) -> bool {
        let screen = self.screen();
        let prompt = screen
            .lines()
            .any(|l| l.starts_with('❯') || l.starts_with('>'));
        let busy = screen.contains("esc to interrupt");
        let status_idle = match self.session_file() {
            Some(f) => f["status"] == "idle",
            None => true,
        };
        prompt && !busy && status_idle
    }

    /// Wait until the session is idle at its prompt.
    pub async fn wait_idle(&self) {
        self.wait_until("the session is idle at its prompt", START_WAIT, || {
            self.model.turns_ended() && self.at_prompt()
        })
        .await;
    }

    async fn wait_ready(&mut self, env: &Env) {
        let project = self.project.display().to_string();
        let deadline = Instant::now() + START_WAIT;
        loop {
            if Instant::now() > deadline {
                self.fail("the session did not start with claude-peers registered");
            }
            // The client's side of the handshake too: before it, the model
            // is told our tools are "still connecting".
            if self.at_prompt() && self.debug_log().contains(CONNECTED) {
                let peers = env
                    .admin()
                    .peers(&Default::default())
                    .await
                    .unwrap_or_default();
                if let Some(p) = peers.iter().find(|p| p.cwd == project && p.connected) {
                    self.peer_name = p.name.clone();
                    self.peer_id = p.id.clone();
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Poll `cond` until it holds, or fail with diagnostics.
    pub async fn wait_until(&self, what: &str, timeout: Duration, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + timeout;
        while !cond() {
            if Instant::now() > deadline {
                self.fail(&format!("timed out ({timeout:?}) waiting for: {what}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first request to the model at index `from` or later that holds
    /// `pred`; fails the test with diagnostics after `MODEL_WAIT`.
    pub async fn model_request(
        &self,
        from: usize,
        what: &str,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Recorded {
        match self.model.wait_from(from, MODEL_WAIT, what, pred).await {
            Ok(r) => r,
            Err(e) => self.fail(&e),
        }
    }

    /// Panic with everything that helps to see why.
    pub fn fail(&self, why: &str) -> ! {
        panic!("{why}\n{}", self.diagnostics());
    }

    /// The screen, the tail of the client's debug log and the requests.
    pub fn diagnostics(&self) -> String {
        let log = std::fs::read_to_string(&self.debug_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "--- Claude Code {} screen:\n{}\n--- debug log (tail):\n{}\n--- {}",
            self.version,
            self.screen(),
            tail.join("\n"),
            self.model.summary()
        )
    }

    /// The client's debug log so far.
    pub fn debug_log(&self) -> String {
        std::fs::read_to_string(&self.debug_log).unwrap_or_default()
    }

    /// Pids of every live process of this session.
    fn processes(&self) -> Vec<i32> {
        tagged_pids(&format!("{TAG_VAR}={}", self.tag))
    }

    /// End the session as a person closing the terminal would, and wait
    /// until all its processes are gone (killing what is left).
    pub fn close(&self) {
        self.tmux(&["kill-server"]);
        let deadline = Instant::now() + EXIT_GRACE;
        while !self.processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in self.processes() {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        self.close();
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Write the temporary HOME: `~/.claude.json` (onboarding done, the API key
/// approved, the project trusted, our MCP server at user scope) and
/// `~/.claude/settings.json` (our tools allowed without a prompt, the default
/// permission mode: auto mode would send each tool call to a server-side
/// check that the fake endpoint does not offer).
fn write_home(home: &Path, project: &Path, opts: &Options) {
    let key_tail: String = API_KEY[API_KEY.len() - 20..].to_string();
    let server = opts
        .mcp_server
        .clone()
        .unwrap_or_else(|| json!({"type": "stdio", "command": BIN, "args": ["mcp"], "env": {}}));
    let mut projects = serde_json::Map::new();
    projects.insert(
        project.display().to_string(),
        json!({"hasTrustDialogAccepted": true, "allowedTools": [], "hasCompletedProjectOnboarding": true}),
    );
    let config = json!({
        "hasCompletedOnboarding": true,
        "lastOnboardingVersion": opts.version,
        "numStartups": 1,
        // Notices and offers seen, so no dialog stands in front of the prompt.
        "hasSeenAutoDefaultNotice": true,
        "hasResetAutoModeOptInForDefaultOffer": true,
        "officialMarketplaceAutoInstallAttempted": true,
        "lastReleaseNotesSeen": opts.version,
        "customApiKeyResponses": {"approved": [key_tail], "rejected": []},
        "projects": projects,
    });
    let mut config = config;
    if !opts.install {
        config["mcpServers"] = json!({"claude-peers": server});
    }
    std::fs::write(
        home.join(".claude.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    let mut settings = json!({
        "permissions": {"allow": ["mcp__claude-peers"], "defaultMode": "default", "disableAutoMode": "disable"},
    });
    if let (Some(s), Some(extra)) = (settings.as_object_mut(), opts.settings.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    std::fs::write(
        home.join(".claude/settings.json"),
        serde_json::to_vec_pretty(&settings).unwrap(),
    )
    .unwrap();
}

/// `claude-peers install --client claude-code --scope user`, as a person
/// would run it, in the session's environment (its HOME).
fn install(vars: &[(String, String)], project: &Path) {
    let out = Command::new(BIN)
        .args(["install", "--client", "claude-code", "--scope", "user"])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(project)
        .output()
        .expect("claude-peers install");
    assert!(
        out.status.success(),
        "claude-peers install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pids of processes whose environment holds `needle` (`VAR=value`).
fn tagged_pids(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if raw.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'));
            if !zombie {
                out.push(pid);
            }
        }
    }
    out
}
