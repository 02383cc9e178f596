//! Routes: verification requests and answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{
    ListQuery, RequestVerification, RespondVerification, VerificationStatus, VerificationView,
};

use super::extract::{Json, Path, Query};
use crate::coord::Caller;
use crate::coord::record;
use crate::coord::verifications;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/verifications", post(request))
        .route("/v1/verifications/{id}/respond", post(respond))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/verifications", get(list))
}

async fn request(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<RequestVerification>,
) -> Result<(StatusCode, Reply<VerificationView>)> {
    let v = state
        .write(move |t, sh| verifications::request(t, sh, &actor, &req))
        .await?;
    Ok((StatusCode::CREATED, Reply(v)))
}

async fn respond(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Json(req): Json<RespondVerification>,
) -> Result<Reply<VerificationView>> {
    Ok(Reply(
        state
            .write(move |t, sh| verifications::respond(t, sh, &actor, &id, &req))
            .await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery<VerificationStatus>>,
) -> Result<Reply<Vec<VerificationView>>> {
    let session = state.hub().session();
    Ok(Reply(
        state
            .store
            .read(move |c| {
                record::list::<VerificationView>(c, &Caller::load(c, &actor)?, &session, &q)
            })
            .await?,
    ))
}
