//! Routes: approval requests and answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{
    ApprovalStatus, ApprovalView, ListQuery, RequestApproval, RespondApproval,
};

use super::extract::{Json, Path, Query};
use crate::coord::Caller;
use crate::coord::approvals;
use crate::coord::record;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/approvals", post(request))
        .route("/v1/approvals/{id}/respond", post(respond))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/approvals", get(list))
}

async fn request(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<RequestApproval>,
) -> Result<(StatusCode, Reply<ApprovalView>)> {
    let a = state
        .write(move |t, sh| approvals::request(t, sh, &actor, &req))
        .await?;
    Ok((StatusCode::CREATED, Reply(a)))
}

async fn respond(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Json(req): Json<RespondApproval>,
) -> Result<Reply<ApprovalView>> {
    Ok(Reply(
        state
            .write(move |t, sh| approvals::respond(t, sh, &actor, &id, &req))
            .await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery<ApprovalStatus>>,
) -> Result<Reply<Vec<ApprovalView>>> {
    let session = state.hub().session();
    Ok(Reply(
        state
            .store
            .read(move |c| record::list::<ApprovalView>(c, &Caller::load(c, &actor)?, &session, &q))
            .await?,
    ))
}
