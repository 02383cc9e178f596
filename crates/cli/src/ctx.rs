//! What a CLI command needs: where the broker is, and the admin token.

use anyhow::{Context, Result};
use claude_peers_client::autostart::{Probe, probe, unreachable};
use claude_peers_client::{BrokerClient, ClientError, Endpoint};

use crate::Global;

pub struct Ctx {
    pub endpoint: Endpoint,
    pub json: bool,
    /// Whether a missing broker may be started here (the default list only).
    pub autostart: bool,
}

impl Ctx {
    /// The context of a one-shot command: the first broker of the list that
    /// answers (or the first, to report it is down).
    pub async fn new(g: &Global) -> Result<Self> {
        let brokers = claude_peers::global::brokers(g)?;
        Ok(Self {
            endpoint: brokers.pick().await,
            json: g.json,
            autostart: brokers.autostart(),
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

    /// Fail with a message for people when no broker answers (before anything
    /// reads the admin token, whose absence would only confuse). A one-shot
    /// command does not start a broker: with a mistyped port or database it
    /// would start an empty one and then report "no such peer".
    pub async fn require_broker(&self) -> Result<()> {
        match probe(&self.endpoint).await {
            Probe::Ours(_) => Ok(()),
            // A TLS broker may be up but refused (an untrusted certificate): say why.
            Probe::Down if self.endpoint.tls => {
                anyhow::bail!("{}", unreachable(&self.endpoint).await)
            }
            Probe::Down => Err(not_running(self)),
            Probe::Foreign(why) => anyhow::bail!(
                "port {} answers, but not as a claude-peers broker ({why}); set CLAUDE_PEERS_PORT to the broker's port",
                self.endpoint.port
            ),
        }
    }

    /// A client acting as the operator.
    pub fn admin(&self) -> Result<BrokerClient> {
        Ok(BrokerClient::new(&self.endpoint, Some(self.admin_token()?)))
    }
}

/// "The broker is not running", with how to start it.
pub fn not_running(ctx: &Ctx) -> anyhow::Error {
    anyhow::anyhow!(
        "the broker is not running at {} (database {}); start it with `claude-peers broker`, or open a Claude Code session with claude-peers (it starts the broker)",
        ctx.endpoint.base_url(),
        ctx.endpoint.db.display()
    )
}

/// Turn a client error into a message for people.
pub fn explain(e: ClientError, ctx: &Ctx) -> anyhow::Error {
    match e {
        // A TLS broker may be up but refused (an untrusted certificate): say why.
        e @ ClientError::Unreachable { .. } if ctx.endpoint.tls => anyhow::anyhow!(e),
        ClientError::Unreachable { .. } => not_running(ctx),
        other => anyhow::anyhow!(other),
    }
}
