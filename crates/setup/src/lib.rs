//! Install and remove claude-peers in agent clients' own configuration files.
//!
//! Every client is one [`AgentClient`]: it says whether the client is present,
//! and turns the client's files into the files it wants ([`FileChange`]s), as pure
//! text transforms that keep everything else in the file as it was. The CLI's
//! `install`, `uninstall` and `doctor` commands are thin layers over this crate.
//! - [`jsondoc`]: edit JSON / JSONC in place, byte for byte outside our keys;
//! - [`mcp_json`]: our server entry in a client's JSON file (add, remove, read);
//! - [`hooks_json`]: our command hooks in a client's JSON settings (Claude Code, Gemini CLI, Codex CLI);
//! - [`change`]: a planned change to one file: its diff, backup and atomic write;
//! - [`client`]: the [`AgentClient`] trait, the [`Host`] it looks at, the registry;
//! - [`claude_code`]: Claude Code (MCP server in `~/.claude.json` or `.mcp.json`,
//!   hooks in `~/.claude/settings.json`);
//! - [`codex`]: Codex CLI (`~/.codex/config.toml`, edited with `toml_edit`;
//!   hooks in `~/.codex/hooks.json`);
//! - [`codex_trust`]: the trust Codex needs before it runs a hook (`[hooks.state]`);
//! - [`gemini`]: Gemini CLI (`settings.json`, user or project; folder trust);
//! - [`opencode`]: OpenCode (`opencode.json[c]`, user or project);
//! - [`shell`]: quoting and splitting the hook command line.

pub mod change;
pub mod claude_code;
pub mod client;
pub mod codex;
pub mod codex_trust;
pub mod gemini;
pub mod hooks_json;
pub mod jsondoc;
pub mod mcp_json;
pub mod opencode;
pub mod shell;

pub use change::FileChange;
pub use client::{
    AgentClient, ClientStatus, Host, ListCommand, Listed, Scope, all_clients, client_by_id,
};

/// Name under which our MCP server is registered in every client.
pub const SERVER_NAME: &str = "claude-peers";

/// Why a configuration file could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "{file} is not valid ({reason}); fix or move it first, claude-peers does not change a file it cannot read"
    )]
    Unparsable { file: String, reason: String },
    #[error("{file}: `{path}` is not {expected}; fix it first, claude-peers does not overwrite it")]
    Shape {
        file: String,
        path: String,
        expected: &'static str,
    },
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("cannot write {file}: {source}")]
    Write {
        file: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("unknown client {0:?} (known: {1})")]
    UnknownClient(String, String),
}
