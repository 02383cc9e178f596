//! `claude-peers mcp`: the MCP stdio server.

use std::time::Duration;

use anyhow::{Context, Result};
use claude_peers_mcp::Options;

use crate::Global;

/// Default settle delay before the first push (Claude Code registers its channel
/// handler about 1.4 s after the handshake).
const DEFAULT_SETTLE_MS: u64 = 1500;

pub async fn run(g: &Global, profile: &str) -> Result<()> {
    let settle = match std::env::var("CLAUDE_PEERS_SETTLE_MS") {
        Ok(v) => v
            .trim()
            .parse()
            .context("CLAUDE_PEERS_SETTLE_MS must be a number of milliseconds")?,
        Err(_) => DEFAULT_SETTLE_MS,
    };
    let opts = Options {
        brokers: crate::ctx::brokers(g)?,
        exe: std::env::current_exe().context("cannot find the claude-peers executable")?,
        settle: Duration::from_millis(settle),
        name: std::env::var("CLAUDE_PEERS_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty()),
        cwd: std::env::current_dir().context("cannot read the current directory")?,
        join_token: std::env::var("CLAUDE_PEERS_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    claude_peers_mcp::run(opts, profile).await
}
