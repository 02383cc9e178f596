//! The claude-peers broker: one daemon per machine that peers register with.
//!
//! The source tree shows the layers; a module imports only from its own
//! layer or the ones below it:
//!
//! - [`runtime`]: the store (SQLite, one writer thread with group commit, a
//!   reader pool), the hub (presence, wake-ups, event fan-out, token cache),
//!   ids, rate limits, one broker per database;
//! - [`domain`]: peers, groups, messages and deliveries, sessions, the audit
//!   log, each owning its SQL; `domain::rules` holds the isolation and grouping rules;
//! - [`coord`]: the coordination features, one module each (structured
//!   messages, decisions, verifications, proposals, tasks, approvals, active
//!   files, the session report) and what they share;
//! - [`http`]: the HTTP API behind the guard (Host/Origin/Content-Type) and
//!   auth (tokens, dashboard sign-in), the WebSocket stream, the dashboard;
//! - [`maintenance`]: liveness and retention, run beside the server;
//! - [`team_link`]: on PostgreSQL, joining the other brokers of the
//!   database (`runtime::team`).
//!
//! Invariant: the store never knows about HTTP, and nothing is announced
//! (pushed, evented, answered) before it is committed.

pub mod config;
pub mod coord;
pub mod domain;
pub mod error;
pub mod http;
pub mod maintenance;
pub mod runtime;
pub mod team_link;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use claude_peers_proto::paths::StatePaths;
use claude_peers_proto::time::now_ms;

pub use config::{AutoGroup, Config, DashboardLogin, Limits, StoreLocation, TlsFiles};
pub use error::{Error, Result};

use crate::domain::context::Shared;
use crate::domain::sessions::Activity;
use crate::domain::{peers, sessions};
use crate::http::signin::SignIns;
use crate::http::state::AppState;
use crate::http::{auth, routes};
use crate::runtime::hub::Hub;
use crate::runtime::ratelimit::{RateLimiter, RateLimits};
use crate::runtime::singleton::BrokerLock;
use crate::runtime::store::Store;

/// Refuse configurations that would expose the broker without protection.
pub fn check_config(config: &Config) -> Result<()> {
    if config.require_join_token && config.join_token.as_deref().is_none_or(|t| t.len() < 32) {
        return Err(Error::Config(
            "--require-token needs CLAUDE_PEERS_TOKEN (at least 32 characters; try `openssl rand -hex 32`)".into(),
        ));
    }
    if !config.bind.is_loopback() {
        if !config.allow_lan {
            return Err(Error::Config(format!(
                "refusing to listen on {}: that is reachable from other machines. \
                 Add --allow-lan (and set CLAUDE_PEERS_TOKEN) if that is what you want",
                config.bind
            )));
        }
        match &config.join_token {
            Some(t) if t.len() >= 32 => {}
            Some(_) => {
                return Err(Error::Config(
                    "CLAUDE_PEERS_TOKEN must be at least 32 characters long (try `openssl rand -hex 32`)".into(),
                ));
            }
            None => {
                return Err(Error::Config(format!(
                    "refusing to listen on {} without a token: set CLAUDE_PEERS_TOKEN (at least 32 characters) \
                     so that only those who know it can join",
                    config.bind
                )));
            }
        }
    }
    Ok(())
}

/// A broker that is bound and ready; [`Running::serve`] runs it.
pub struct Running {
    state: AppState,
    listener: tokio::net::TcpListener,
    /// HTTPS and WSS (`--tls-cert`/`--tls-key`), else plain HTTP.
    tls: Option<Arc<rustls::ServerConfig>>,
    _lock: BrokerLock,
}

impl Running {
    /// The address the broker listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until SIGINT/SIGTERM or `POST /v1/shutdown`.
    pub async fn serve(self) -> Result<()> {
        let Running {
            state,
            listener,
            tls,
            _lock,
        } = self;
        tokio::spawn(maintenance::run(state.clone()));
        if let Some(n) = state.config().notify.clone() {
            tracing::info!(url = %n.url, "webhook notifications on");
            runtime::notify::spawn(n, state.hub().subscribe_events());
        }
        let signals = state.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received; shutting down");
            signals.begin_shutdown();
        });
        let mut stop = state.shutdown_rx();
        let app = routes::router(state.clone());
        let server = crate::http::tls::serve(listener, tls, app, async move {
            let _ = stop.wait_for(|v| *v).await;
        });
        let mut stop2 = state.shutdown_rx();
        tokio::select! {
            r = server => r.map_err(|e| Error::Internal(format!("server error: {e}")))?,
            _ = async {
                let _ = stop2.wait_for(|v| *v).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
            } => tracing::warn!("connections did not close within 3 s; stopping anyway"),
        }
        // Save the activity time for the next start's session decision.
        let sh = state.shared.clone();
        let _ = state
            .store
            .write(move |t| sessions::save_activity(t, sh.activity.last()))
            .await;
        tracing::info!("broker stopped");
        Ok(())
    }
}

/// Bind the configured address (port 0: any free port).
async fn bind(config: &Config) -> Result<tokio::net::TcpListener> {
    let addr = SocketAddr::new(config.bind, config.port);
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            Error::Config(format!(
                "port {} is already in use (another broker with a different database, or another program); \
                 set CLAUDE_PEERS_PORT to use another port",
                config.port
            ))
        } else {
            Error::Internal(format!("cannot listen on {addr}: {e}"))
        }
    })
}

/// Start a broker: take the database lock, bind the port, open the store.
pub async fn start(mut config: Config) -> Result<Running> {
    check_config(&config)?;
    let tls = config
        .tls
        .as_ref()
        .map(crate::http::tls::load)
        .transpose()?;
    let paths = StatePaths::for_db(&config.db);
    if let Some(dir) = config.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut lock = if config.standby {
        tracing::info!(db = %config.db.display(), "standby: waiting until no other broker uses the database");
        let p = paths.clone();
        tokio::task::spawn_blocking(move || BrokerLock::wait(&p))
            .await
            .map_err(|e| Error::Internal(format!("the lock task failed: {e}")))??
    } else {
        BrokerLock::acquire(&paths)?
    };
    // A broker runs again: sessions held back by `kill-broker` may reconnect.
    if let Err(e) = std::fs::remove_file(&paths.stopped)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, path = %paths.stopped.display(), "cannot remove the stopped marker");
    }
    if config.postgres.is_some() && config.standby {
        // Every broker of a PostgreSQL database serves at once; --standby
        // still waits for this state directory's lock (above) and no more.
        tracing::info!(
            "on PostgreSQL every broker serves at once: --standby only waits for this state directory"
        );
    }
    let admin_token = auth::load_or_create_admin_token(&paths.admin_token)?;
    let listener = bind(&config).await?;
    // Port 0 asks the system for a free port: from here on the broker is the
    // bound one (Host checks, the lock file's `pid port`, the log).
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("cannot read the bound address: {e}")))?;
    config.port = addr.port();
    lock.record(config.port)?;

    let now = now_ms();
    let rates = Arc::new(RateLimits::new(&config.limits));
    let shared = Arc::new(Shared {
        hub: Hub::new(String::new()),
        pairs: RateLimiter::new(config.limits.pair_sends_per_minute, Duration::from_secs(60)),
        config,
        activity: Activity::new(now),
    });
    let sink = {
        let sh = shared.clone();
        Arc::new(move |fx| sh.hub.apply(fx))
    };
    let store = match &shared.config.postgres {
        Some(url) => {
            let store = Store::open_postgres(url, sink, shared.hub.team.clone()).await?;
            team_link::join(url, &shared).await?;
            store
        }
        None => Store::open(&paths.db, sink)?,
    };
    let admin_token = match shared.config.postgres {
        Some(_) => auth::share_admin_token(&store, &paths.admin_token, admin_token).await?,
        None => admin_token,
    };
    let (session, last, fresh) = store.read(move |c| sessions::at_startup(c, now)).await?;
    if fresh {
        let id = session.clone();
        store.write(move |t| sessions::begin(t, &id)).await?;
    }
    shared.hub.set_session(&session);
    shared.activity.touch(last);
    shared
        .hub
        .load_tokens(store.read(peers::token_pairs).await?);
    for p in store.read(peers::all).await? {
        shared.hub.assume_disconnected(&p.id, now);
    }

    tracing::info!(%addr, db = %shared.config.db.display(), session = %session, "listening");

    let state = AppState {
        acks: Arc::new(crate::http::acks::Acks::new(store.clone())),
        store,
        dashboard: Arc::new(SignIns::new(&admin_token)),
        admin_token: Arc::from(admin_token.as_str()),
        rates,
        started: Instant::now(),
        streams: Arc::new(tokio::sync::Semaphore::new(
            shared.config.max_streams.max(1),
        )),
        shutdown: Arc::new(tokio::sync::watch::channel(false).0),
        stay_down: Arc::new(AtomicBool::new(false)),
        shared,
    };
    Ok(Running {
        state,
        listener,
        tls,
        _lock: lock,
    })
}

/// Start and serve.
pub async fn run(config: Config) -> Result<()> {
    start(config).await?.serve().await
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration the broker refuses is reported as such, not as an
    /// internal failure.
    #[test]
    fn refused_configurations_are_configuration_errors() {
        let config = Config {
            require_join_token: true,
            join_token: Some("short".into()),
            ..Config::new(0, "x.db".into())
        };
        let err = check_config(&config).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("configuration error: --require-token needs"),
            "{err}"
        );
        let lan = Config {
            bind: std::net::Ipv4Addr::UNSPECIFIED.into(),
            ..Config::new(0, "x.db".into())
        };
        assert!(matches!(check_config(&lan), Err(Error::Config(_))));
    }
}
