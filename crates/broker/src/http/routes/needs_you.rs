//! The "needs you" lane, for the operator only: `GET /v1/needs-you` (everything
//! waiting on the person, newest first), `POST /v1/needs-you/read` (messages
//! seen) and `POST /v1/needs-you/dismiss` (an unreachable mail taken out).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::limits::MAX_NEEDS_YOU_PER_KIND;
use claude_peers_proto::needs_you::{DismissMail, MarkRead, NeedsYou};
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::now_ms;
use claude_peers_proto::validate;

use super::extract::Json;
use crate::coord::needs_you;
use crate::domain::audit;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/needs-you", get(list))
        .route("/v1/needs-you/read", post(read))
        .route("/v1/needs-you/dismiss", post(dismiss))
}

async fn list(_op: Operator, State(state): State<AppState>) -> Result<Reply<NeedsYou>> {
    let now = now_ms();
    let sh = state.shared.clone();
    let connected = sh.hub.connected_ids();
    let items = state
        .store
        .read(move |c| {
            let permissions = crate::domain::permissions::list(c, &sh.hub.team, now)?;
            needs_you::collect(c, &sh, permissions, &connected, now, MAX_NEEDS_YOU_PER_KIND)
        })
        .await?;
    Ok(Reply(NeedsYou {
        items,
        permission_relay: state.config().permission_relay,
        unreachable_after_ms: state.config().unreachable_after_ms,
    }))
}

async fn read(
    _op: Operator,
    State(state): State<AppState>,
    Json(req): Json<MarkRead>,
) -> Result<StatusCode> {
    state
        .store
        .write(move |t| needs_you::mark_read(t, req.upto))
        .await?;
    state.hub().announce(Event::NeedsYou { item: None });
    Ok(StatusCode::NO_CONTENT)
}

async fn dismiss(
    Operator(kind): Operator,
    State(state): State<AppState>,
    Json(req): Json<DismissMail>,
) -> Result<StatusCode> {
    let recipient = validate::required_line("recipient", &req.recipient, 64)?;
    let sh = state.shared.clone();
    let by = Actor::Operator(kind).party();
    state
        .store
        .write(move |t| {
            needs_you::dismiss(t, req.message_id, &recipient)?;
            audit::record(
                t,
                &sh.hub,
                &by,
                "needs_you.dismiss",
                &format!(
                    "unreachable mail #{} to {recipient} dismissed",
                    req.message_id
                ),
                None,
            )
        })
        .await?;
    state.hub().announce(Event::NeedsYou { item: None });
    Ok(StatusCode::NO_CONTENT)
}

/// Maintenance: find unreachable mail, tell each sender once, and announce the
/// new items.
pub async fn escalate_unreachable(state: &AppState) -> Result<()> {
    let now = now_ms();
    let sh = state.shared.clone();
    let connected = sh.hub.connected_ids();
    let after = sh.config.unreachable_after_ms;
    let found = state
        .store
        .read(move |c| needs_you::unreachable(c, &connected, now, after, MAX_NEEDS_YOU_PER_KIND))
        .await?;
    let fresh: Vec<_> = found.into_iter().filter(|u| u.mark.is_none()).collect();
    let new = state
        .store
        .write(move |t| {
            needs_you::forget_marks(t)?;
            needs_you::tell_senders(t, &sh, &fresh)
        })
        .await?;
    for item in new {
        state.hub().announce(Event::NeedsYou {
            item: Some(Box::new(item)),
        });
    }
    Ok(())
}
