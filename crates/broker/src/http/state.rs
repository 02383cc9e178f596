//! State shared by every request handler and write closure.

use std::sync::Arc;
use std::time::Instant;

use claude_peers_proto::ApiError;
use claude_peers_proto::api::{Party, PartyKind};
use rusqlite::Connection;

use crate::config::Config;
use crate::domain::peers::{self, PeerRow};
use crate::domain::rules::{Actor, Standing};
use crate::domain::sessions::Activity;
use crate::error::Result;
use crate::runtime::hub::Hub;
use crate::runtime::ratelimit::RateLimits;
use crate::runtime::store::Store;

/// What write closures need besides the transaction.
pub struct Shared {
    pub hub: Hub,
    pub config: Config,
    pub activity: Activity,
    /// Pending permission requests and the links that carry their answers.
    pub permissions: crate::domain::permissions::Permissions,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub shared: Arc<Shared>,
    pub admin_token: Arc<str>,
    pub rates: Arc<RateLimits>,
    pub started: Instant,
    pub dashboard: Arc<crate::http::auth::DashboardSessions>,
    /// Limits the number of open streams.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Set to `true` to stop the broker.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// Set by a shutdown that asks MCP servers not to start a new broker.
    pub stay_down: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }
    pub fn config(&self) -> &Config {
        &self.shared.config
    }
    pub fn shutdown_rx(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
    /// Begin shutting down: streams close, the server stops accepting.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        self.hub().kick_all();
    }
}

/// How an actor appears as a party to a message or in the audit log.
pub fn actor_party(actor: &Actor) -> Party {
    match actor {
        Actor::Peer(id) => Party {
            kind: PartyKind::Peer,
            id: id.clone(),
            name: id.clone(),
        },
        Actor::Operator(kind) => Party {
            kind: PartyKind::Operator,
            id: kind.id().to_string(),
            name: kind.id().to_string(),
        },
    }
}

/// Where an actor stands, and its peer row if it is a peer.
pub fn standing(conn: &Connection, actor: &Actor) -> Result<(Standing, Option<PeerRow>)> {
    match actor {
        Actor::Operator(_) => Ok((Standing::Operator, None)),
        Actor::Peer(id) => {
            let me = peers::get(conn, id)?.ok_or_else(|| {
                ApiError::new(
                    claude_peers_proto::ErrorCode::Unauthorized,
                    "this peer no longer exists; register again",
                )
            })?;
            Ok((me.standing(), Some(me)))
        }
    }
}
