//! What a CLI command needs: where the broker is, and the admin token.

use std::path::PathBuf;

use anyhow::{Context, Result};
use claude_peers_client::{BrokerClient, ClientError, Endpoint};

use crate::Global;

pub struct Ctx {
    pub endpoint: Endpoint,
    pub json: bool,
}

impl Ctx {
    pub fn new(g: &Global) -> Result<Self> {
        Ok(Self {
            endpoint: endpoint(g),
            json: g.json,
        })
    }

    /// The admin token: `CLAUDE_PEERS_ADMIN_TOKEN`, or the file beside the database.
    pub fn admin_token(&self) -> Result<String> {
        if let Ok(t) = std::env::var("CLAUDE_PEERS_ADMIN_TOKEN")
            && !t.trim().is_empty()
        {
            return Ok(t.trim().to_string());
        }
        let path = self.endpoint.paths().admin_token;
        let t = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read the admin token {} (has the broker ever run with this database? set CLAUDE_PEERS_ADMIN_TOKEN for a remote broker)",
                path.display()
            )
        })?;
        Ok(t.trim().to_string())
    }

    /// A client acting as the operator.
    pub fn admin(&self) -> Result<BrokerClient> {
        Ok(BrokerClient::new(&self.endpoint, Some(self.admin_token()?)))
    }
}

/// The endpoint from the global options.
pub fn endpoint(g: &Global) -> Endpoint {
    Endpoint {
        host: g.host.clone(),
        port: g.port,
        db: g.db.clone().unwrap_or_else(|| {
            claude_peers_proto::paths::default_db(
                std::env::var_os("HOME").map(PathBuf::from).as_deref(),
            )
        }),
    }
}

/// Turn a client error into a message for people.
pub fn explain(e: ClientError, ctx: &Ctx) -> anyhow::Error {
    match e {
        ClientError::Unreachable { .. } => anyhow::anyhow!(
            "the broker is not running at {} (start it with `claude-peers broker`, or open a Claude Code session with claude-peers)",
            ctx.endpoint.base_url()
        ),
        other => anyhow::anyhow!(other),
    }
}
