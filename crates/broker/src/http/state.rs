//! The state every request handler gets: the store, the shared domain
//! context, rate limits, dashboard sign-ins, shutdown.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::domain::context::Shared;
use crate::error::Result;
use crate::runtime::hub::Hub;
use crate::runtime::ratelimit::RateLimits;
use crate::runtime::store::{Store, Tx};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub shared: Arc<Shared>,
    pub admin_token: Arc<str>,
    pub rates: Arc<RateLimits>,
    pub started: Instant,
    pub dashboard: Arc<crate::http::signin::SignIns>,
    /// Limits the number of open streams.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Set to `true` to stop the broker.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// Set by a shutdown that asks MCP servers not to start a new broker.
    pub stay_down: Arc<std::sync::atomic::AtomicBool>,
    /// Streams' `delivered` answers waiting to be stored together.
    pub acks: Arc<crate::http::acks::Acks>,
}

impl AppState {
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }
    pub fn config(&self) -> &Config {
        &self.shared.config
    }
    /// Run `f` in a write transaction of the store with the shared domain
    /// context (the shape of every handler that changes something).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>, &Arc<Shared>) -> Result<T> + Send + 'static,
    {
        let sh = self.shared.clone();
        self.store.write(move |t| f(t, &sh)).await
    }

    /// [`AppState::write`] for a closure that makes every check before its
    /// first change: see [`Store::write_checked`](crate::runtime::store::Store::write_checked).
    pub async fn write_checked<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>, &Arc<Shared>) -> Result<T> + Send + 'static,
    {
        let sh = self.shared.clone();
        self.store.write_checked(move |t| f(t, &sh)).await
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
