//! Routes: sending, broadcasting, the inbox, acknowledgements, history, pins,
//! reactions, and the operator's feed.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::api::{
    AckResult, BroadcastRequest, BroadcastResult, CheckResult, DeliveryState, MessageList,
    PageQuery, PinRequest, ReactRequest, ReadRequest, ReadResult, SendRequest, SendResult,
};
use claude_peers_proto::limits::{DEFAULT_ACKS, DEFAULT_HISTORY, MAX_PAGE};
use claude_peers_proto::{ApiError, validate};

use super::extract::{Json, Path, Query};
use crate::domain::messages;
use crate::domain::peers;
use crate::domain::peers::standing;
use crate::domain::rules::Actor;
use crate::domain::threads;
use crate::error::Result;
use crate::http::auth::{Operator, PeerActor};
use crate::http::state::AppState;
use crate::runtime::hub::Waited;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/messages", post(send))
        .route("/v1/broadcasts", post(broadcast))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/messages", get(feed))
        .route("/v1/inbox", get(inbox))
        .route("/v1/inbox/check", post(check))
        .route("/v1/inbox/read", post(read))
        .route("/v1/messages/sent", get(sent))
        .route("/v1/messages/history", get(history))
        .route("/v1/messages/{id}/ack", post(ack))
        .route("/v1/messages/{id}/pin", post(pin))
        .route("/v1/messages/{id}/reactions", post(react))
}

async fn send(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<SendRequest>,
) -> Result<Reply<SendResult>> {
    let wait = validate::wait_ms("wait_ms", req.wait_ms)?;
    let waiter = (wait > 0).then(|| state.hub().delivery_waiter());
    // `send` checks everything before it stores anything (see there).
    let mut result = state
        .write_checked(move |t, sh| messages::send(t, sh, &actor, &req))
        .await?;
    if let Some(waiter) = waiter
        && result.state == DeliveryState::Queued
        && result.recipient_connected
    {
        let (id, to) = (result.message_id, result.to.id.clone());
        match waiter.wait(id, &to, Duration::from_millis(wait)).await {
            Waited::Reached(s) => result.state = result.state.max(s),
            Waited::TimedOut => {}
            Waited::Missed => {
                if let Some(v) = state
                    .store
                    .read(move |c| messages::view(c, id, messages::Viewer::Recipient(&to)))
                    .await?
                    && let Some(s) = v.deliveries.first().map(|d| d.state)
                {
                    result.state = s;
                }
            }
        }
    }
    Ok(Reply(result))
}

async fn broadcast(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<BroadcastRequest>,
) -> Result<Reply<BroadcastResult>> {
    Ok(Reply(
        state
            .write(move |t, sh| messages::broadcast(t, sh, &actor, &req))
            .await?,
    ))
}

async fn inbox(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Query(q): Query<PageQuery>,
) -> Result<Reply<MessageList>> {
    let limit = validate::page(q.limit, MAX_PAGE)?;
    let messages = state
        .store
        .read(move |c| messages::unread_after(c, &id, 0, limit))
        .await?;
    Ok(Reply(MessageList { messages }))
}

async fn check(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
) -> Result<Reply<CheckResult>> {
    let (messages, remaining) = state
        .store
        .write(move |t| messages::check(t, &id, MAX_PAGE))
        .await?;
    Ok(Reply(CheckResult {
        messages,
        remaining,
    }))
}

async fn read(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Json(req): Json<ReadRequest>,
) -> Result<Reply<ReadResult>> {
    let read = state
        .store
        .write(move |t| messages::mark_read(t, &id, req.ids.as_deref()))
        .await?;
    Ok(Reply(ReadResult { read }))
}

async fn ack(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Path(message_id): Path<i64>,
) -> Result<Reply<AckResult>> {
    let st = state
        .store
        .write(move |t| messages::ack(t, &id, message_id))
        .await?;
    Ok(Reply(AckResult {
        message_id,
        state: st,
    }))
}

async fn sent(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Query(q): Query<PageQuery>,
) -> Result<Reply<MessageList>> {
    let limit = validate::page(q.limit, DEFAULT_ACKS)?;
    let messages = state
        .store
        .read(move |c| messages::sent(c, &id, limit, q.before))
        .await?;
    Ok(Reply(MessageList { messages }))
}

async fn history(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Query(q): Query<PageQuery>,
) -> Result<Reply<MessageList>> {
    let limit = validate::page(q.limit, DEFAULT_HISTORY)?;
    if let Some(thread) = q.thread {
        let messages = state
            .store
            .read(move |c| threads::messages(c, &Actor::Peer(id), thread, limit))
            .await?;
        return Ok(Reply(MessageList { messages }));
    }
    let Some(other) = q.peer.clone() else {
        return Err(ApiError::invalid(
            "peer",
            "'peer' (name or id) or 'thread' (a message id) is required",
        )
        .into());
    };
    let session = state.hub().session();
    let messages = state
        .store
        .read(move |c| {
            let (standing, _) = standing(c, &Actor::Peer(id.clone()))?;
            let other = peers::resolve(c, &standing, &other)?;
            messages::history(c, &session, &id, &other.id, limit, q.before)
        })
        .await?;
    Ok(Reply(MessageList { messages }))
}

async fn feed(
    State(state): State<AppState>,
    _op: Operator,
    Query(q): Query<PageQuery>,
) -> Result<Reply<MessageList>> {
    let limit = validate::page(q.limit, DEFAULT_HISTORY)?;
    let session = state.hub().session();
    let messages = state
        .store
        .read(move |c| messages::feed(c, &session, limit, q.before))
        .await?;
    Ok(Reply(MessageList { messages }))
}

async fn pin(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    Json(req): Json<PinRequest>,
) -> Result<StatusCode> {
    let sh = state.shared.clone();
    state
        .store
        .write(move |t| messages::pin(t, &sh, &actor, id, req.pinned))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn react(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    Json(req): Json<ReactRequest>,
) -> Result<StatusCode> {
    let sh = state.shared.clone();
    state
        .store
        .write(move |t| messages::react(t, &sh, &actor, id, &req.emoji, req.remove))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
