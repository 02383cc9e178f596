//! The options every command shares (`--port`, `--db`, `--host`, `--brokers`,
//! `--json`, each with its `CLAUDE_PEERS_*` variable), and the brokers they name.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use claude_peers_client::{BrokerList, Endpoint};

/// Options every command shares.
#[derive(Args, Clone, Debug)]
pub struct Global {
    /// Broker port.
    #[arg(long, global = true, env = "CLAUDE_PEERS_PORT", default_value_t = 7899)]
    pub port: u16,
    /// SQLite database (the admin token, lock and log live beside it). Default: ~/.claude-peers.db
    #[arg(long, global = true, env = "CLAUDE_PEERS_DB")]
    pub db: Option<PathBuf>,
    /// Broker host for clients (CLI, MCP server).
    #[arg(
        long,
        global = true,
        env = "CLAUDE_PEERS_HOST",
        default_value = "127.0.0.1"
    )]
    pub host: String,
    /// Brokers for clients (CLI, MCP server, hooks), in order of preference:
    /// `https://a:7899,https://b:7899`. A client uses the first that answers.
    /// Default: the one broker of --host/--port.
    #[arg(long, global = true, env = "CLAUDE_PEERS_BROKERS")]
    pub brokers: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The endpoint from the global options (`--host`, `--port`, `--db`): the
/// broker this machine runs, and the default list of one for clients.
pub fn endpoint(g: &Global) -> Endpoint {
    Endpoint {
        host: g.host.clone(),
        port: g.port,
        db: db(g),
        tls: false,
    }
}

/// The database from `--db`/`CLAUDE_PEERS_DB`, else the default.
fn db(g: &Global) -> PathBuf {
    g.db.clone().unwrap_or_else(|| {
        claude_peers_proto::paths::default_db(
            std::env::var_os("HOME").map(PathBuf::from).as_deref(),
        )
    })
}

/// The brokers clients use: `--brokers`/`CLAUDE_PEERS_BROKERS` when set,
/// else the one of [`endpoint`].
pub fn brokers(g: &Global) -> Result<BrokerList> {
    match g.brokers.as_deref().filter(|l| !l.trim().is_empty()) {
        Some(list) => BrokerList::parse(list, &db(g)).map_err(anyhow::Error::msg),
        None => Ok(BrokerList::single(endpoint(g))),
    }
}
