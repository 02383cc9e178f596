//! The permission relay's routes, for the operator only: `GET /v1/permissions`
//! (pending requests) and `POST /v1/permissions/{id}` (allow or deny). A peer
//! token gets 403 on both. Also the two steps the peer stream calls: a session's
//! request arriving ([`relay_request`]) and its requests leaving with it ([`gone`]).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{Party, PartyKind};
use claude_peers_proto::permissions::{
    AnswerPermission, Behavior, PermissionAnswered, PermissionDecision, PermissionList,
    PermissionOutcome, PermissionRequest,
};
use claude_peers_proto::stream::{Event, ServerFrame};
use claude_peers_proto::time::now_ms;

use super::extract::{Json, Path};
use crate::domain::audit;
use crate::domain::peers;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/permissions", get(list))
        .route("/v1/permissions/{id}", post(answer))
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
    let delivered = perms.send(
        &taken.peer_id,
        ServerFrame::PermissionDecision {
            decision: PermissionDecision {
                request_id: taken.view.request_id.clone(),
                behavior: req.behavior,
            },
        },
    );
    tracing::info!(permission = %id, peer = %taken.view.peer.name, behavior = req.behavior.as_str(), by = kind.id(), delivered, "permission answered");
    state.hub().publish(Event::PermissionGone {
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
    let pid = peer_id.to_string();
    let name = match state.store.read(move |c| peers::get(c, &pid)).await {
        Ok(Some(p)) => p.name,
        _ => return,
    };
    let peer = Party {
        kind: PartyKind::Peer,
        id: peer_id.to_string(),
        name,
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
    state.hub().publish(Event::Permission {
        permission: Box::new(sub.view),
    });
}

/// These requests left the lane: tell the operator's streams.
pub fn gone(state: &AppState, ids: Vec<String>, outcome: PermissionOutcome) {
    for id in ids {
        state.hub().publish(Event::PermissionGone { id, outcome });
    }
}
