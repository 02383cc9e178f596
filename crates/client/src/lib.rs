//! Typed client of the claude-peers broker, used by the MCP server, the CLI,
//! the tests and the benchmarks.
//!
//! - [`BrokerClient`]: every HTTP route, with errors as [`ClientError`];
//! - [`autostart`]: find the broker, or start one (exactly one, even when several
//!   sessions start at the same moment);
//! - [`stream`]: open the WebSocket stream with a token;
//! - [`credentials`]: where an MCP server keeps its peer token between restarts;
//! - [`reach`]: the delivery ladder's calls (reach facts, injection, the wake waiter);
//! - [`brokers`]: the broker list (`CLAUDE_PEERS_BROKERS`) and failover order;
//! - [`tls`]: whom `https://`/`wss://` connections trust (`CLAUDE_PEERS_CA_FILE`).
//! - [`turns`]: who started a session's current turn (the peer-turn guard's record).

pub mod autostart;
pub mod brokers;
pub mod credentials;
pub mod http;
pub mod reach;
pub mod stream;
pub mod tls;
pub mod turns;

pub use brokers::BrokerList;
pub use http::{BrokerClient, ClientError, PeerPage};

use std::path::PathBuf;

/// Where the broker is and which database it serves.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host the broker listens on (for clients: where to connect).
    pub host: String,
    pub port: u16,
    pub db: PathBuf,
    /// Whether the broker speaks TLS (`https://`, `wss://`).
    pub tls: bool,
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
        Ok(Self {
            host,
            port,
            db,
            tls: false,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    fn authority(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `http://host:port` (`https://` for a TLS broker).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }

    /// The WebSocket URL of `path_and_query` (`ws://`, or `wss://` for TLS).
    pub fn ws_url(&self, path_and_query: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{path_and_query}", self.authority())
    }

    /// The files beside the database.
    pub fn paths(&self) -> claude_peers_proto::paths::StatePaths {
        claude_peers_proto::paths::StatePaths::for_db(&self.db)
    }

    /// Whether the broker is a plain-HTTP one on this machine (the kind a
    /// session may auto-start).
    pub fn is_local(&self) -> bool {
        !self.tls
            && matches!(
                self.host.as_str(),
                "127.0.0.1" | "localhost" | "::1" | "[::1]"
            )
    }
}
