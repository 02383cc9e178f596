//! The permission relay's routes, for the operator only: `GET /v1/permissions`
//! (pending requests) and `POST /v1/permissions/{id}` (allow or deny). A peer
//! token gets 403 on both. Also the two steps the peer stream calls: a session's
//! request arriving ([`relay_request`]) and its requests leaving with it ([`gone`]).
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
    AnswerPermission, Behavior, HookPermissionAnswer, HookPermissionRequest, PermissionAnswered,
    PermissionDecision, PermissionList, PermissionOutcome, PermissionRequest,
};
use claude_peers_proto::stream::{Event, ServerFrame};
use claude_peers_proto::time::now_ms;

use super::extract::{Json, Path};
use crate::domain::audit;
use crate::domain::peers;
use crate::domain::permissions::Submitted;
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
    Ok(Reply(PermissionList {
        relay: state.config().permission_relay,
        pending: state.shared.permissions.list(now_ms()),
    }))
}

async fn answer(
    Operator(kind): Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<AnswerPermission>,
) -> Result<Reply<PermissionAnswered>> {
    let perms = &state.shared.permissions;
    let taken = perms.take(&id, now_ms()).ok_or_else(|| {
        ApiError::not_found(format!(
            "no pending permission request {id:?}: it was answered, expired, or its session ended \
             (`claude-peers permissions` lists the pending ones)"
        ))
    })?;
    let by = Actor::Operator(kind).party();
    let details = format!(
        "{} {} for {} (request {}, permission {}) from the {}",
        req.behavior.as_str(),
        taken.view.tool_name,
        taken.view.peer.name,
        taken.view.request_id,
        taken.view.id,
        kind.id()
    );
    let action = match req.behavior {
        Behavior::Allow => "permission.allow",
        Behavior::Deny => "permission.deny",
    };
    let sh = state.shared.clone();
    let who = by.clone();
    // The answer is recorded before it is sent: an answer that cannot be
    // audited is not given (the request goes back to the lane).
    if let Err(e) = state
        .store
        .write(move |t| audit::record(t, &sh.hub, &who, action, &details, None))
        .await
    {
        perms.put_back(taken);
        return Err(e);
    }
    let mut taken = taken;
    let to_hook = taken.answer_hook(req.behavior);
    let to_channel = taken.channel
        && perms.send(
            &taken.peer_id,
            ServerFrame::PermissionDecision {
                decision: PermissionDecision {
                    request_id: taken.view.request_id.clone(),
                    behavior: req.behavior,
                },
            },
        );
    let delivered = to_hook || to_channel;
    tracing::info!(permission = %id, peer = %taken.view.peer.name, behavior = req.behavior.as_str(), by = kind.id(), delivered, "permission answered");
    state.hub().announce(Event::PermissionGone {
        id: id.clone(),
        outcome: match req.behavior {
            Behavior::Allow => PermissionOutcome::Allowed,
            Behavior::Deny => PermissionOutcome::Denied,
        },
    });
    Ok(Reply(PermissionAnswered {
        id,
        behavior: req.behavior,
        by,
        delivered,
    }))
}

/// A session's MCP server relayed a permission request: put it in the lane,
/// tell the operator's streams, and record it. Ignored while the relay is off.
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
    let now = now_ms();
    let Some(sub) = state.shared.permissions.submit(
        peer.clone(),
        req,
        now,
        state.config().permission_timeout_ms,
    ) else {
        return;
    };
    lane_add(state, peer, sub).await;
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

/// A new request is in the lane: record it, tell the operator's streams.
async fn lane_add(state: &AppState, peer: Party, sub: Submitted) {
    gone(state, sub.dropped, PermissionOutcome::Expired);
    let details = format!(
        "{} asks to use {} (request {}, permission {})",
        peer.name, sub.view.tool_name, sub.view.request_id, sub.view.id
    );
    let sh = state.shared.clone();
    if let Err(e) = state
        .store
        .write(move |t| audit::record(t, &sh.hub, &peer, "permission.request", &details, None))
        .await
    {
        tracing::warn!(error = %e, "cannot record a permission request in the audit log");
    }
    tracing::info!(permission = %sub.view.id, peer = %sub.view.peer.name, tool = %sub.view.tool_name, "permission requested");
    state.hub().announce(Event::Permission {
        permission: Box::new(sub.view),
    });
}

/// `POST /v1/me/permission`: the caller's `PermissionRequest` hook asks the
/// operator about a tool use of its own session and waits up to `wait_ms` for
/// the answer. Relay off: answered at once with no decision. The request
/// leaves the lane when the wait ends unanswered, or when the hook goes away
/// (its connection closes and this handler is dropped).
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
    let (ticket, sub) =
        state
            .shared
            .permissions
            .submit_hook(peer.clone(), valid, now_ms(), req.wait_ms as i64);
    let lane_id = sub.as_ref().map(|s| s.view.id.clone());
    if let Some(sub) = sub {
        lane_add(&state, peer, sub).await;
    }
    let _withdraw = Withdraw {
        state: state.clone(),
        key: ticket.key,
    };
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

/// Takes a hook's request out of the lane when its wait ends, however it ends.
struct Withdraw {
    state: AppState,
    key: u64,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        if let Some(id) = self.state.shared.permissions.withdraw_hook(self.key) {
            gone(&self.state, vec![id], PermissionOutcome::Expired);
        }
    }
}

/// These requests left the lane: tell the operator's streams.
pub fn gone(state: &AppState, ids: Vec<String>, outcome: PermissionOutcome) {
    for id in ids {
        state.hub().announce(Event::PermissionGone { id, outcome });
    }
}
