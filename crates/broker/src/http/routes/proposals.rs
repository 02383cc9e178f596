//! Routes: proposals and votes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{
    CastVote, CreateProposal, ListQuery, ProposalStatus, ProposalView,
};

use super::extract::{Json, Path, Query};
use crate::coord::Caller;
use crate::coord::proposals;
use crate::coord::record;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/proposals", post(create))
        .route("/v1/proposals/{id}/votes", post(vote))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/proposals", get(list))
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<CreateProposal>,
) -> Result<(StatusCode, Reply<ProposalView>)> {
    let p = state
        .write(move |t, sh| proposals::create(t, sh, &actor, &req))
        .await?;
    Ok((StatusCode::CREATED, Reply(p)))
}

async fn vote(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Json(req): Json<CastVote>,
) -> Result<Reply<ProposalView>> {
    Ok(Reply(
        state
            .write(move |t, sh| proposals::vote(t, sh, &actor, &id, &req))
            .await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery<ProposalStatus>>,
) -> Result<Reply<Vec<ProposalView>>> {
    let session = state.hub().session();
    Ok(Reply(
        state
            .store
            .read(move |c| record::list::<ProposalView>(c, &Caller::load(c, &actor)?, &session, &q))
            .await?,
    ))
}
