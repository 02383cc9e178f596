//! Starting the MCP server: `claude-peers mcp` replaces itself (exec, same
//! process id, same stdio) with `claude-peers-mcp` from its own directory, and
//! runs the server in-process when that binary is absent, cannot be executed,
//! or is of another version.
//!
//! Why a second binary: one MCP server runs per agent session, so its resident
//! memory counts once per session. Most of it is the executable's own code
//! pages, and in the one binary the server's code lies among the broker's
//! (SQLite, PostgreSQL, axum, the dashboard): every page the server runs maps
//! its neighbours too (the kernel maps a 64 KiB window around each faulted
//! file page). `claude-peers-mcp` links only this crate's MCP path (the MCP
//! server, the client, the wire types): about 7.9 MB resident after 2,000
//! messages instead of about 11.5 MB (BENCHMARKS.md, "MCP server memory").
//! Clients' configuration stays `claude-peers mcp`, so nothing installed
//! changes and an install without the sibling still works.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::ValueEnum;

use crate::global::Global;

/// The MCP server's own executable, looked for beside `claude-peers`.
pub const LEAN_BINARY: &str = "claude-peers-mcp";

/// This build's version and identity (a hash of its sources, see
/// `build.rs`): `claude-peers-mcp` runs only for a `claude-peers` of the same
/// (a stale copy left beside a new install or a new build would otherwise
/// serve the old tools).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("PEERS_SOURCE_HASH"));

/// Default settle delay before the first push (Claude Code registers its channel
/// handler about 1.4 s after the handshake).
const DEFAULT_SETTLE_MS: u64 = 1500;

/// The tool set the server offers (`--tools`, `CLAUDE_PEERS_TOOLS`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ToolProfile {
    Full,
    Core,
}

impl ToolProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolProfile::Full => "full",
            ToolProfile::Core => "core",
        }
    }
}

/// Replace this process with `claude-peers-mcp` beside `exe` (the running
/// `claude-peers`), passing the options as resolved here and `exe` itself (to
/// start a broker with, and to come back to on a version mismatch). Returns
/// only when the exec failed (most often: no such file).
pub fn exec_lean(g: &Global, tools: ToolProfile, exe: &std::path::Path) -> std::io::Error {
    let mut c = std::process::Command::new(exe.with_file_name(LEAN_BINARY));
    c.args(resolved_args(g, tools))
        .arg(flag("--exe=", exe.as_os_str()))
        .arg(format!("--exe-version={VERSION}"));
    c.exec()
}

/// Go back to `claude-peers mcp --in-process` (`exe`): the lean binary is of
/// another version than the `claude-peers` that started it. Returns only when
/// the exec failed.
pub fn exec_in_process(g: &Global, tools: ToolProfile, exe: &std::path::Path) -> std::io::Error {
    let mut c = std::process::Command::new(exe);
    c.arg("mcp")
        .arg("--in-process")
        .args(resolved_args(g, tools));
    c.exec()
}

/// The options as flags, so that the next executable sees exactly what this
/// one resolved from flags and environment.
fn resolved_args(g: &Global, tools: ToolProfile) -> Vec<OsString> {
    let mut args = vec![
        OsString::from(format!("--port={}", g.port)),
        OsString::from(format!("--host={}", g.host)),
        OsString::from(format!("--tools={}", tools.as_str())),
    ];
    if let Some(db) = &g.db {
        args.push(flag("--db=", db.as_os_str()));
    }
    if let Some(brokers) = &g.brokers {
        args.push(OsString::from(format!("--brokers={brokers}")));
    }
    args
}

fn flag(name: &str, value: &std::ffi::OsStr) -> OsString {
    let mut f = OsString::from(name);
    f.push(value);
    f
}

/// Run the MCP server in this process until the client goes away. `exe` is the
/// `claude-peers` executable (to start a broker with).
pub async fn run(g: &Global, tools: ToolProfile, exe: PathBuf) -> Result<()> {
    let settle = match std::env::var("CLAUDE_PEERS_SETTLE_MS") {
        Ok(v) => v
            .trim()
            .parse()
            .context("CLAUDE_PEERS_SETTLE_MS must be a number of milliseconds")?,
        Err(_) => DEFAULT_SETTLE_MS,
    };
    let opts = claude_peers_mcp::Options {
        brokers: crate::global::brokers(g)?,
        exe,
        settle: Duration::from_millis(settle),
        name: std::env::var("CLAUDE_PEERS_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty()),
        cwd: std::env::current_dir().context("cannot read the current directory")?,
        join_token: std::env::var("CLAUDE_PEERS_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    claude_peers_mcp::run(opts, tools.as_str()).await
}
