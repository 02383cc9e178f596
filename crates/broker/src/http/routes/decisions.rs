//! Routes: the decisions board.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{DecisionQuery, DecisionView, PostDecision};

use super::extract::{Json, Path, Query};
use crate::coord::Caller;
use crate::coord::decisions;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/decisions", post(post_decision))
        .route("/v1/decisions/{id}/revoke", post(revoke))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/decisions", get(list))
}

async fn post_decision(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<PostDecision>,
) -> Result<(StatusCode, Reply<DecisionView>)> {
    let sh = state.shared.clone();
    let (d, updated) = state
        .store
        .write(move |t| decisions::post(t, &sh, &actor, &req))
        .await?;
    let status = if updated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Reply(d)))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<DecisionQuery>,
) -> Result<Reply<Vec<DecisionView>>> {
    Ok(Reply(
        state
            .store
            .read(move |c| decisions::list(c, &Caller::load(c, &actor)?, &q))
            .await?,
    ))
}

async fn revoke(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Reply<DecisionView>> {
    Ok(Reply(
        state
            .write(move |t, sh| decisions::revoke(t, sh, &actor, &id))
            .await?,
    ))
}
