//! Route: structured messages.

use axum::extract::State;
use axum::routing::post;
use axum::{Json as Reply, Router};
use claude_peers_proto::api::SendResult;
use claude_peers_proto::coord::StructuredRequest;

use super::extract::Json;
use crate::coord::structured;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new().route("/v1/messages/structured", post(send))
}

async fn send(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<StructuredRequest>,
) -> Result<Reply<SendResult>> {
    Ok(Reply(
        state
            .write(move |t, sh| structured::send(t, sh, &actor, &req))
            .await?,
    ))
}
