//! What every agent client implements, the machine it is looked at on, and the
//! list of clients claude-peers knows.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::{FileChange, SetupError};

/// Where a client registers our MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// For every project of this user.
    User,
    /// For the current directory's project only (a file in the project).
    Project,
}

/// The machine as the setup code sees it: everything it reads comes from here,
/// so tests point it at a temporary HOME.
#[derive(Debug, Clone)]
pub struct Host {
    pub home: PathBuf,
    pub cwd: PathBuf,
    /// The absolute path of the `claude-peers` binary to register.
    pub exe: PathBuf,
    /// `PATH`, to find clients' commands.
    pub path: Option<OsString>,
    /// `CLAUDE_CONFIG_DIR` (Claude Code keeps its files there instead of HOME).
    pub claude_config_dir: Option<PathBuf>,
    /// `CODEX_HOME` (Codex CLI's directory instead of `~/.codex`).
    pub codex_home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (OpenCode's configuration lives under it, default `~/.config`).
    pub xdg_config_home: Option<PathBuf>,
}

impl Host {
    /// The host of this process.
    pub fn from_env(exe: PathBuf) -> std::io::Result<Self> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| std::io::Error::other("HOME is not set"))?;
        Ok(Self {
            home,
            cwd: std::env::current_dir()?,
            exe,
            path: std::env::var_os("PATH"),
            claude_config_dir: dir_var("CLAUDE_CONFIG_DIR"),
            codex_home: dir_var("CODEX_HOME"),
            xdg_config_home: dir_var("XDG_CONFIG_HOME"),
        })
    }

    /// The first executable called `name` on `PATH`.
    pub fn which(&self, name: &str) -> Option<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.as_ref()?;
        std::env::split_paths(path).map(|d| d.join(name)).find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
    }

    /// `path` shown with `~` for the home directory.
    pub fn show(&self, path: &Path) -> String {
        match path.strip_prefix(&self.home) {
            Ok(rest) => format!("~/{}", rest.display()),
            Err(_) => path.display().to_string(),
        }
    }
}

fn dir_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// What is wrong with a registered server whose command is `command` (`None`
/// when nothing is).
pub fn entry_problem(command: &str, args_ok: bool) -> Option<String> {
    if command.is_empty() {
        Some("the entry has no command".to_string())
    } else if !Path::new(command).is_file() {
        Some(format!("its command {command} does not exist"))
    } else if !args_ok {
        Some("its arguments are not `mcp`".to_string())
    } else {
        None
    }
}

/// What a client's configuration says about claude-peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStatus {
    /// Where our MCP server is registered (a file, with the scope in words),
    /// `None` when it is not.
    pub server: Option<String>,
    /// Something wrong with the registration (e.g. its command does not exist).
    pub server_problem: Option<String>,
    /// Whether the client runs hooks that claude-peers installs.
    pub has_hooks: bool,
    /// Hooks missing or different from what install writes (event names).
    pub hooks_missing: Vec<String>,
    /// Something the person must know or do that no file change covers (e.g.
    /// Gemini CLI starts MCP servers only in trusted folders).
    pub notes: Vec<String>,
}

/// What a client's own listing command says about our server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// Listed and connected (or, for a client whose listing never connects, listed).
    Connected(String),
    /// Listed, but the client could not connect to it.
    Failed(String),
    /// Not in the list.
    Missing,
}

/// The client's own listing command: its arguments, and how to read its output.
#[derive(Debug, Clone, Copy)]
pub struct ListCommand {
    pub args: &'static [&'static str],
    pub read: fn(&str) -> Listed,
}

/// Read a listing where our server has one line, found by `find`, that says
/// it is connected when `ok` holds.
pub fn read_line(out: &str, find: impl Fn(&str) -> bool, ok: impl Fn(&str) -> bool) -> Listed {
    match out.lines().map(str::trim).find(|l| find(l)) {
        None => Listed::Missing,
        Some(l) if ok(l) => Listed::Connected(l.to_string()),
        Some(l) => Listed::Failed(l.to_string()),
    }
}

/// One agent client: Claude Code, and the others as they are added.
pub trait AgentClient: Sync {
    /// The name used on the command line (`--client claude-code`).
    fn id(&self) -> &'static str;
    /// The client's command, to find it on `PATH` and ask its version.
    fn command(&self) -> &'static str;
    /// Whether the client is present on this machine.
    fn detect(&self, host: &Host) -> bool;
    /// The changes that register our server (at `scope`) and our hooks.
    fn install(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError>;
    /// The changes that remove exactly what [`AgentClient::install`] adds.
    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError>;
    /// What the configuration says now.
    fn status(&self, host: &Host) -> Result<ClientStatus, SetupError>;
    /// The client's own command that lists its MCP servers.
    fn list_command(&self) -> ListCommand;
    /// Whether the client has a project-scope configuration we write.
    fn has_project_scope(&self) -> bool {
        true
    }
    /// What to tell the person after an install at `scope` (nothing by default).
    fn install_notes(&self, _host: &Host, _scope: Scope) -> Vec<String> {
        Vec::new()
    }
}

/// Every client claude-peers can install into.
pub fn all_clients() -> &'static [&'static dyn AgentClient] {
    &[
        &crate::claude_code::ClaudeCode,
        &crate::codex::Codex,
        &crate::gemini::Gemini,
        &crate::opencode::OpenCode,
    ]
}

/// The client called `id`.
pub fn client_by_id(id: &str) -> Result<&'static dyn AgentClient, SetupError> {
    all_clients()
        .iter()
        .copied()
        .find(|c| c.id() == id)
        .ok_or_else(|| {
            SetupError::UnknownClient(
                id.to_string(),
                all_clients()
                    .iter()
                    .map(|c| c.id())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

/// Read a file that may not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, SetupError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SetupError::Read {
            file: path.display().to_string(),
            source,
        }),
    }
}
