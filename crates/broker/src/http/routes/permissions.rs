//! The permission relay's routes, for the operator only: `GET /v1/permissions`
//! (pending requests) and `POST /v1/permissions/{id}` (allow or deny). A peer
//! token gets 403 on both; any broker of a database lists and answers every
//! request (the lane is in the store: `domain::permissions`). Also the two
//! steps the peer stream calls: a session's request arriving
//! ([`relay_request`]) and its requests leaving with it ([`stream_closed`]).
//!
//! One peer route: `POST /v1/me/permission`, where a session's
//! `PermissionRequest` hook puts a tool use of its *own* session in the lane
//! and waits a short time for the operator's answer. It can neither list nor
//! answer anything: the caller learns only the answer to its own request.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{Party, PartyKind};
use claude_peers_proto::permissions::{
    AnswerPermission, HookPermissionAnswer, HookPermissionRequest, PermissionAnswered,
    PermissionList, PermissionRequest,
};
use claude_peers_proto::time::now_ms;

use super::extract::{Json, Path};
use crate::domain::peers;
use crate::domain::permissions;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::auth::{Operator, PeerActor};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/permissions", get(list))
        .route("/v1/permissions/{id}", post(answer))
        .route("/v1/me/permission", post(hook_ask))
}

async fn list(State(state): State<AppState>, _op: Operator) -> Result<Reply<PermissionList>> {
    let team = state.hub().team.clone();
    let now = now_ms();
    let pending = state
        .store
        .read(move |c| permissions::list(c, &team, now))
        .await?;
    Ok(Reply(PermissionList {
        relay: state.config().permission_relay,
        pending,
    }))
}

/// `POST /v1/permissions/{id}`, on any broker: the first answer wins; a
/// second gets 409 with the first one's answer (see `domain::permissions`).
async fn answer(
    Operator(kind): Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<AnswerPermission>,
) -> Result<Reply<PermissionAnswered>> {
    let behavior = req.behavior;
    let pid = id.clone();
    let done = state
        .write(move |t, sh| permissions::answer(t, sh, &pid, behavior, kind))
        .await?;
    tracing::info!(permission = %id, peer = %done.view.peer.name, behavior = behavior.as_str(), by = kind.id(), delivered = done.delivered, "permission answered");
    Ok(Reply(PermissionAnswered {
        id,
        behavior,
        by: Actor::Operator(kind).party(),
        delivered: done.delivered,
    }))
}

/// A session's MCP server relayed a permission request: put it in the lane
/// (recorded, and told to the operator's streams on every broker with the
/// commit). Ignored while the relay is off.
pub async fn relay_request(state: &AppState, peer_id: &str, req: PermissionRequest) {
    if !state.config().permission_relay {
        tracing::warn!(peer = %peer_id, "ignoring a permission request: the broker's permission relay is off");
        return;
    }
    let req = match req.validated() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(peer = %peer_id, error = %e.message, "ignoring an invalid permission request");
            return;
        }
    };
    let Some(peer) = party(state, peer_id).await else {
        return;
    };
    let timeout = state.config().permission_timeout_ms;
    match state
        .write(move |t, sh| permissions::relay(t, sh, &peer, req, timeout))
        .await
    {
        Ok(Some(view)) => {
            tracing::info!(permission = %view.id, peer = %view.peer.name, tool = %view.tool_name, "permission requested")
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(peer = %peer_id, error = %e, "cannot put a permission request in the lane")
        }
    }
}

/// The peer `peer_id` as a party (`None` if it is gone).
async fn party(state: &AppState, peer_id: &str) -> Option<Party> {
    let pid = peer_id.to_string();
    let name = match state.store.read(move |c| peers::get(c, &pid)).await {
        Ok(Some(p)) => p.name,
        _ => return None,
    };
    Some(Party {
        kind: PartyKind::Peer,
        id: peer_id.to_string(),
        name,
    })
}

/// `POST /v1/me/permission`: the caller's `PermissionRequest` hook asks the
/// operator about a tool use of its own session and waits up to `wait_ms` for
/// the answer, given on any broker. Relay off: answered at once with no
/// decision. The request leaves the lane when the wait ends unanswered, or
/// when the hook goes away (its connection closes and this handler is
/// dropped).
async fn hook_ask(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Json(req): Json<HookPermissionRequest>,
) -> Result<Reply<HookPermissionAnswer>> {
    if !state.config().permission_relay {
        return Ok(Reply(HookPermissionAnswer {
            relay: false,
            id: None,
            behavior: None,
        }));
    }
    let valid = req.validated("hook")?;
    let Some(peer) = party(&state, &id).await else {
        return Err(ApiError::not_found("this peer is gone").into());
    };
    // Waiting before the request is in the lane: an answer cannot come
    // before there is someone to take it.
    let ticket = state.hub().permits.wait_hook();
    let key = ticket.key;
    let _withdraw = Withdraw {
        state: state.clone(),
        key,
    };
    let wait_ms = req.wait_ms as i64;
    let added = state
        .write(move |t, sh| permissions::hook_ask(t, sh, &peer, valid, key, wait_ms))
        .await?;
    let lane_id = added.map(|v| {
        tracing::info!(permission = %v.id, peer = %v.peer.name, tool = %v.tool_name, "permission requested by a hook");
        v.id
    });
    let behavior = match tokio::time::timeout(
        std::time::Duration::from_millis(req.wait_ms),
        ticket.rx,
    )
    .await
    {
        Ok(Ok(b)) => Some(b),
        _ => None,
    };
    Ok(Reply(HookPermissionAnswer {
        relay: true,
        id: lane_id,
        behavior,
    }))
}

/// Takes a hook's request out of the lane when its wait ends, however it
/// ends (an answered request stays answered).
struct Withdraw {
    state: AppState,
    key: u64,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        self.state.hub().permits.forget_hook(self.key);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let state = self.state.clone();
        let key = self.key;
        rt.spawn(async move {
            if let Err(e) = state
                .write(move |t, sh| permissions::withdraw_hook(t, sh, key))
                .await
            {
                tracing::warn!(error = %e, "cannot take a hook's permission request out of the lane");
            }
        });
    }
}

/// `peer`'s stream `conn_id` on this broker closed: if it was the current
/// one, the requests only its channel carried leave the lane.
pub async fn stream_closed(state: &AppState, peer: &str, conn_id: u64) {
    // With the relay off this broker put nothing in the lane.
    if !state.hub().permits.detach(peer, conn_id) || !state.config().permission_relay {
        return;
    }
    let pid = peer.to_string();
    if let Err(e) = state
        .write(move |t, sh| permissions::stream_closed(t, sh, &pid))
        .await
    {
        tracing::warn!(peer = %peer, error = %e, "cannot take a closed session's permission requests out of the lane");
    }
}
