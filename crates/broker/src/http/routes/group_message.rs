//! Route: the operator writes to one isolation group at once (the dashboard's
//! "group" compose scope). One message, one delivery row per member, shown in
//! the feed as sent to the group.

use axum::extract::State;
use axum::routing::post;
use axum::{Json as Reply, Router};
use claude_peers_proto::api::BroadcastResult;
use serde::Deserialize;

use super::extract::{Json, Path};
use crate::domain::messages;
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/groups/{id}/messages", post(send_to_group))
}

/// `POST /v1/groups/{id}/messages` (operator).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMessage {
    pub text: String,
}

async fn send_to_group(
    State(state): State<AppState>,
    Operator(k): Operator,
    Path(group): Path<String>,
    Json(req): Json<GroupMessage>,
) -> Result<Reply<BroadcastResult>> {
    let out = state
        .write(move |t, sh| messages::to_group(t, sh, k, &group, &req.text))
        .await?;
    Ok(Reply(out))
}
