//! Routes: registration, the caller's own record, listing peers.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::api::{
    LeaveQuery, ListPeersQuery, PeerView, RegisterRequest, RegisterResponse, Scope, UpdateMe,
    WhoAmI,
};
use claude_peers_proto::{ApiError, ErrorCode};

use super::extract::{Json, Query};
use crate::coord::{files, proposals};
use crate::domain::messages;
use crate::domain::peers;
use crate::domain::peers::listing::{self, Listing};
use crate::domain::peers::standing;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::auth::PeerActor;
use crate::http::state::AppState;
use crate::runtime::ids::{hash_token, same_secret};

use claude_peers_proto::api::{JOIN_HEADER, PEERS_NEXT_HEADER};
use claude_peers_proto::limits::DEFAULT_PEER_PAGE;
use claude_peers_proto::validate;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/peers", post(register).get(list))
        .route("/v1/me", get(me).patch(update).delete(leave))
}

async fn register(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<RegisterRequest>,
) -> Result<Reply<RegisterResponse>> {
    let local = addr.ip().is_loopback();
    if !local || state.config().require_join_token {
        let given = headers
            .get(JOIN_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let ok = state
            .config()
            .join_token
            .as_deref()
            .is_some_and(|t| same_secret(t, given));
        if !ok {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                format!(
                    "registering from another machine needs the join token (header {JOIN_HEADER})"
                ),
            )
            .into());
        }
    }
    if let Err(ms) = state.rates.registrations.take("all") {
        return Err(ApiError::rate_limited(
            format!(
                "too many registrations: at most {} per minute; retry in {ms} ms",
                state.rates.registrations.capacity()
            ),
            ms,
        )
        .into());
    }
    let resume = crate::http::auth::bearer_header(&headers).map(hash_token);
    let cc_session = req.cc_session.clone();
    let resp = state
        .write(move |t, sh| peers::register(t, sh, &req, resume.as_deref(), local))
        .await?;
    tracing::info!(peer = %resp.peer.name, id = %resp.peer.id, resumed = resp.resumed, "registered");
    state
        .hub()
        .reach
        .registered(&resp.peer.id, cc_session.as_deref());
    Ok(Reply(resp))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListPeersQuery>,
) -> Result<(HeaderMap, Reply<Vec<PeerView>>)> {
    let listing = Listing {
        include_self: q.include_self.unwrap_or(false),
        include_stale: q.include_stale.unwrap_or(true),
        after: q.cursor.as_deref().map(validate::peer_cursor).transpose()?,
        limit: validate::page(q.limit, DEFAULT_PEER_PAGE)?,
    };
    let sh = state.shared.clone();
    let page = state
        .store
        .read(move |c| {
            let (standing, me) = standing(c, &actor)?;
            let scope = q.scope.unwrap_or(Scope::Machine);
            listing::page(c, &standing, me.as_ref(), scope, &listing)
        })
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = &page.next
        && let Ok(v) = HeaderValue::from_str(&next.to_string())
    {
        headers.insert(PEERS_NEXT_HEADER, v);
    }
    Ok((
        headers,
        Reply(page.peers.iter().map(|p| p.view(&sh)).collect()),
    ))
}

async fn me(State(state): State<AppState>, PeerActor(id): PeerActor) -> Result<Reply<WhoAmI>> {
    let sh = state.shared.clone();
    let (peer, unread) = state
        .store
        .read(move |c| Ok((peers::require(c, &id)?, messages::unread_count(c, &id)?)))
        .await?;
    Ok(Reply(WhoAmI {
        peer: peer.view(&sh),
        unread,
        session_id: sh.hub.session(),
    }))
}

async fn update(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Json(change): Json<UpdateMe>,
) -> Result<Reply<PeerView>> {
    Ok(Reply(
        state
            .write(move |t, sh| peers::update(t, sh, &id, &change))
            .await?,
    ))
}

async fn leave(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Query(q): Query<LeaveQuery>,
) -> Result<StatusCode> {
    let sh = state.shared.clone();
    let notify = q.notify.unwrap_or(true);
    state
        .store
        .write(move |t| {
            let gone = peers::leave(t, &sh, &id, notify)?;
            files::clear_departed(t, &sh, gone)?;
            proposals::recheck_open(t, &sh)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
