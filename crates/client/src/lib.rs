//! Typed client of the claude-peers broker, used by the MCP server, the CLI,
//! the tests and the benchmarks.
//!
//! - [`BrokerClient`]: every HTTP route, with errors as [`ClientError`];
//! - [`autostart`]: find the broker, or start one (exactly one, even when several
//!   sessions start at the same moment);
//! - [`stream`]: open the WebSocket stream with a token;
//! - [`credentials`]: where an MCP server keeps its peer token between restarts;
//! - [`reach`]: the delivery ladder's calls (reach facts, injection, the wake waiter);
//! - [`turns`]: who started a session's current turn (the peer-turn guard's record).

pub mod autostart;
pub mod credentials;
pub mod http;
pub mod reach;
pub mod stream;
pub mod turns;

pub use http::{BrokerClient, ClientError};

use std::path::PathBuf;

/// Where the broker is and which database it serves.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host the broker listens on (for clients: where to connect).
    pub host: String,
    pub port: u16,
    pub db: PathBuf,
}

impl Endpoint {
    /// From `CLAUDE_PEERS_PORT`, `CLAUDE_PEERS_DB` and `CLAUDE_PEERS_HOST` (defaults
    /// 7899, `~/.claude-peers.db`, 127.0.0.1).
    pub fn from_env() -> Result<Self, String> {
        let port = match std::env::var("CLAUDE_PEERS_PORT") {
            Ok(p) => p
                .trim()
                .parse()
                .map_err(|_| format!("CLAUDE_PEERS_PORT must be a port number (got {p:?})"))?,
            Err(_) => 7899,
        };
        let db = match std::env::var_os("CLAUDE_PEERS_DB") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => claude_peers_proto::paths::default_db(
                std::env::var_os("HOME").map(PathBuf::from).as_deref(),
            ),
        };
        let host = std::env::var("CLAUDE_PEERS_HOST").unwrap_or_else(|_| "127.0.0.1".into());
        Ok(Self { host, port, db })
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// The files beside the database.
    pub fn paths(&self) -> claude_peers_proto::paths::StatePaths {
        claude_peers_proto::paths::StatePaths::for_db(&self.db)
    }

    /// Whether the broker is on this machine (so it may be auto-started).
    pub fn is_local(&self) -> bool {
        matches!(
            self.host.as_str(),
            "127.0.0.1" | "localhost" | "::1" | "[::1]"
        )
    }
}
