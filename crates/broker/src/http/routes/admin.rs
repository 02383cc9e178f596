//! Routes: health, the dashboard's state and sign-in, the audit log, shutdown.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::api::{
    DashboardState, Health, LoginRequest, ShutdownRequest, ShutdownResult,
};
use claude_peers_proto::coord::AuditQuery;
use claude_peers_proto::limits::{DEFAULT_COORD_PAGE, DEFAULT_HISTORY, TYPING_WINDOW_MS};
use claude_peers_proto::paths::StatePaths;
use claude_peers_proto::{ApiError, ErrorCode, SERVICE, VERSION, validate};

use super::extract::{Json, Query};
use crate::config::DashboardLogin;
use crate::coord::GroupFilter;
use crate::coord::decisions;
use crate::coord::files;
use crate::coord::record;
use crate::domain::audit;
use crate::domain::groups;
use crate::domain::messages;
use crate::domain::peers;
use crate::domain::rules::{Actor, Standing};
use crate::error::Result;
use crate::http::auth::{Operator, identify};
use crate::http::signin::SignIns;
use crate::http::state::AppState;
use crate::runtime::ids::same_secret;
use claude_peers_proto::coord::{ApprovalView, ProposalView, TaskView, VerificationView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/state", get(dashboard_state))
        .route("/v1/signin", post(login))
        // The old name of the sign-in (before "session" meant only a
        // collaboration session); kept for one release.
        .route("/v1/session", post(login))
        .route("/v1/audit", get(audit_log))
        .route("/v1/shutdown", post(shutdown))
}

struct MaybeOperator(bool);

impl axum::extract::FromRequestParts<AppState> for MaybeOperator {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeOperator(matches!(
            identify(parts, state).await,
            Ok(Actor::Operator(_))
        )))
    }
}

async fn health(
    State(state): State<AppState>,
    MaybeOperator(op): MaybeOperator,
) -> Result<Reply<Health>> {
    let peers = state
        .store
        .read(|c| Ok(peers::all(c)?.len() as u32))
        .await?;
    Ok(Reply(Health {
        service: SERVICE.into(),
        status: if state.shutting_down() {
            "stopping"
        } else {
            "ok"
        }
        .into(),
        version: VERSION.into(),
        peers,
        uptime_ms: state.started.elapsed().as_millis() as u64,
        pid: op.then(std::process::id),
        db: op.then(|| state.config().db.display().to_string()),
        permission_relay: state.config().permission_relay,
    }))
}

async fn dashboard_state(
    State(state): State<AppState>,
    _op: Operator,
) -> Result<Reply<DashboardState>> {
    let sh = state.shared.clone();
    let session = sh.hub.session();
    let uptime = state.started.elapsed().as_millis() as u64;
    let now = claude_peers_proto::time::now_ms();
    let out = state
        .store
        .read(move |c| {
            Ok(DashboardState {
                version: VERSION.into(),
                session_id: session.clone(),
                uptime_ms: uptime,
                peers: peers::all(c)?.iter().map(|p| p.view(&sh)).collect(),
                groups: groups::list(c, &Standing::Operator)?,
                messages: messages::feed(c, &session, DEFAULT_HISTORY, None)?,
                pinned: messages::pinned(c, &session)?,
                typing: sh.hub.typing_since(now, TYPING_WINDOW_MS),
                audit: audit::query(
                    c,
                    &audit::Filter {
                        limit: 50,
                        ..Default::default()
                    },
                )?,
                tasks: record::query::<TaskView>(
                    c,
                    &GroupFilter::All,
                    &session,
                    None,
                    DEFAULT_COORD_PAGE,
                )?,
                decisions: decisions::query(
                    c,
                    &decisions::Filter {
                        group: GroupFilter::All,
                        key: None,
                        category: None,
                        status: None,
                        limit: DEFAULT_COORD_PAGE,
                    },
                )?,
                verifications: record::query::<VerificationView>(
                    c,
                    &GroupFilter::All,
                    &session,
                    None,
                    DEFAULT_COORD_PAGE,
                )?,
                proposals: record::query::<ProposalView>(
                    c,
                    &GroupFilter::All,
                    &session,
                    None,
                    DEFAULT_COORD_PAGE,
                )?,
                approvals: record::query::<ApprovalView>(
                    c,
                    &GroupFilter::All,
                    &session,
                    None,
                    DEFAULT_COORD_PAGE,
                )?,
                active_files: files::list(
                    c,
                    &Standing::Operator,
                    now,
                    sh.config.limits.active_files_ttl_ms,
                )?,
            })
        })
        .await?;
    Ok(Reply(out))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<Response> {
    let config = state.config();
    let ok = match &req.token {
        Some(t) => same_secret(t.trim(), &state.admin_token),
        None => {
            config.dashboard_login == DashboardLogin::Auto
                && config.loopback_only()
                && addr.ip().is_loopback()
        }
    };
    if !ok {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "sign in with the admin token: `claude-peers token` prints it on the broker's machine",
        )
        .into());
    }
    let value = state.dashboard.issue(claude_peers_proto::time::now_ms());
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, SignIns::cookie(&value, config.tls.is_some()))],
    )
        .into_response())
}

async fn audit_log(
    State(state): State<AppState>,
    _op: Operator,
    Query(q): Query<AuditQuery>,
) -> Result<Reply<Vec<audit::AuditEntry>>> {
    let limit = validate::page(q.limit, DEFAULT_HISTORY)?;
    Ok(Reply(
        state
            .store
            .read(move |c| {
                let group = match q.group.as_deref() {
                    None => GroupFilter::All,
                    Some(g) => GroupFilter::One(crate::coord::find_group(c, g)?),
                };
                audit::query(
                    c,
                    &audit::Filter {
                        limit,
                        before: q.before,
                        action: q.action.filter(|a| !a.trim().is_empty()),
                        actor: q.actor.filter(|a| !a.trim().is_empty()),
                        group,
                        session: q.session.filter(|s| !s.trim().is_empty()),
                    },
                )
            })
            .await?,
    ))
}

async fn shutdown(
    State(state): State<AppState>,
    _op: Operator,
    Json(req): Json<ShutdownRequest>,
) -> Result<Reply<ShutdownResult>> {
    tracing::info!(stay_down = req.stay_down, "shutdown requested");
    state.stay_down.store(req.stay_down, Ordering::Relaxed);
    if req.stay_down {
        // Sessions whose stream was not open to hear the shutdown frame (one
        // reconnecting, one between registration and stream) read this file.
        let path = StatePaths::for_db(&state.config().db).stopped;
        if let Err(e) = std::fs::write(&path, format!("{}\n", std::process::id())) {
            tracing::warn!(error = %e, path = %path.display(), "cannot write the stopped marker");
        }
    }
    let s = state.clone();
    // Answer first, then stop.
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        s.begin_shutdown();
    });
    Ok(Reply(ShutdownResult {
        pid: std::process::id(),
        db: state.config().db.display().to_string(),
    }))
}
