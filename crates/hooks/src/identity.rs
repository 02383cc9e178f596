//! Which peer a hook acts for: the one whose token the session's MCP server
//! saved in the credentials file of the Claude Code process (`CLAUDE_PID`,
//! keyed by pid and start time, `crates/client/src/credentials.rs`). At
//! `SessionStart` a hook may register the session itself, under the same lock
//! the MCP server registers under, so both end up as one peer.

use std::path::{Path, PathBuf};

use claude_peers_client::credentials::{self, Credentials};
use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{PeerView, RegisterRequest};
use claude_peers_proto::hooks::HookClient;

/// Where the hook runs.
#[derive(Debug, Clone)]
pub struct HookEnv {
    pub endpoint: Endpoint,
    /// Whether `SessionStart` may start a missing broker (only for the
    /// default list: one local plain-HTTP broker).
    pub autostart: bool,
    /// The Claude Code process (`CLAUDE_PID`; else the hook's grandparent,
    /// since Claude Code runs hooks through a shell).
    pub claude_pid: u32,
    /// The `claude-peers` executable (to start a broker at `SessionStart`).
    pub exe: PathBuf,
    /// The client that runs the hook (its event names and answer shapes).
    pub client: HookClient,
}

impl HookEnv {
    /// From the environment the client gives hooks.
    pub fn from_env(endpoint: Endpoint, exe: PathBuf, client: HookClient) -> Self {
        let claude_pid = match client {
            HookClient::ClaudeCode => std::env::var("CLAUDE_PID")
                .ok()
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or_else(grandparent),
            // Gemini CLI (`bash -c`) and Codex CLI (`sh -c`) run hooks through
            // a shell, which may or may not exec our binary; their MCP servers
            // are their own children. (A `CLAUDE_PID` in their environment
            // would be their parent's.)
            HookClient::Gemini | HookClient::Codex => client_process(),
        };
        Self {
            autostart: endpoint.is_local(),
            endpoint,
            claude_pid,
            exe,
            client,
        }
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.endpoint.paths().sessions
    }

    pub fn claude_start(&self) -> Option<u64> {
        claude_peers_proto::process::start_time(self.claude_pid)
    }

    /// The saved identity of this Claude Code process, else of the session
    /// `cc_session` (resumed in a new process), if any.
    pub fn saved(&self, cc_session: &str) -> Option<Credentials> {
        let (dir, start) = (self.sessions_dir(), self.claude_start());
        credentials::find(&dir, self.claude_pid, start)
            .map(|(_, c)| c)
            .or_else(|| credentials::load_session(&dir, cc_session, self.claude_pid, start))
    }

    /// Whether this Claude Code process has registered (its own slot).
    pub fn registered_here(&self) -> bool {
        credentials::find(&self.sessions_dir(), self.claude_pid, self.claude_start()).is_some()
    }

    /// A client acting as the saved peer.
    pub fn client(&self, cc_session: &str) -> Option<(BrokerClient, Credentials)> {
        let c = self.saved(cc_session)?;
        Some((self.broker(Some(c.token.clone())), c))
    }

    /// A client with a short timeout (hooks must be quick).
    pub fn broker(&self, token: Option<String>) -> BrokerClient {
        BrokerClient::with_timeout(&self.endpoint, token, std::time::Duration::from_secs(3))
    }
}

fn grandparent() -> u32 {
    let parent = std::os::unix::process::parent_id();
    parent_of(parent).unwrap_or(parent)
}

/// The parent of `pid` (from `/proc/PID/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok())
        })
}

/// Shells a client may run a hook command through.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "busybox"];

/// The client process that runs this hook: the parent, or the shell's parent
/// when the parent is a shell.
fn client_process() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap_or_default();
    if SHELLS.contains(&comm.trim()) {
        parent_of(parent).unwrap_or(parent)
    } else {
        parent
    }
}

/// Register the session (or resume it with the saved token), saving a new
/// token where the MCP server will find it.
pub async fn register(
    env: &HookEnv,
    cwd: &Path,
    cc_session: &str,
) -> Result<(BrokerClient, PeerView), String> {
    let dir = env.sessions_dir();
    let start = env.claude_start();
    let _guard = credentials::register_lock(&dir, env.claude_pid, start).await;
    let saved = env.saved(cc_session);
    let repo = claude_peers_mcp::git::repo_info(cwd).await;
    let req = RegisterRequest {
        pid: env.claude_pid,
        pid_start: start,
        cwd: cwd.display().to_string(),
        git_root: repo.root,
        git_common_dir: repo.common_dir,
        git_branch: repo.branch,
        name: std::env::var("CLAUDE_PEERS_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty()),
        cc_session: Some(cc_session.to_string()),
        ..Default::default()
    };
    let join = std::env::var("CLAUDE_PEERS_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let resp = env
        .broker(None)
        .register_with(
            &req,
            saved.as_ref().map(|c| c.token.as_str()),
            join.as_deref(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let token = match (resp.token, saved) {
        (Some(t), _) => t,
        (None, Some(c)) => c.token,
        (None, None) => return Err("the broker resumed a peer without a token".into()),
    };
    let creds = Credentials {
        peer_id: resp.peer.id.clone(),
        token: token.clone(),
    };
    let path = credentials::file_for(&dir, env.claude_pid, start, 1);
    credentials::save(&path, &creds)
        .map_err(|e| format!("cannot save the peer token in {}: {e}", path.display()))?;
    credentials::save_session(&dir, cc_session, &creds, env.claude_pid, start)
        .map_err(|e| format!("cannot save the session's identity: {e}"))?;
    Ok((env.broker(Some(token)), resp.peer))
}
