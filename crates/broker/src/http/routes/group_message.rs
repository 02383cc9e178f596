//! Route: the operator writes to one isolation group at once (the dashboard's
//! "group" compose scope). One message, one delivery row per member, shown in
//! the feed as sent to the group.

use axum::extract::State;
use axum::routing::post;
use axum::{Json as Reply, Router};
use claude_peers_proto::api::{BroadcastResult, Party};
use claude_peers_proto::{ApiError, validate};
use serde::Deserialize;

use super::extract::{Json, Path};
use crate::domain::groups;
use crate::domain::messages::{self, Post, Sender, To};
use crate::domain::peers;
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
    let sh = state.shared.clone();
    let out = state
        .store
        .write(move |t| {
            let text = validate::message_text("text", &req.text)?;
            let Some(gid) = groups::find(t.conn, &group)? else {
                return Err(ApiError::not_found(format!("no group {group:?}")).into());
            };
            let members: Vec<_> = peers::in_namespace(t.conn, Some(&gid))?
                .into_iter()
                .filter(|p| messages::check_queue(t.conn, &sh, p).is_ok())
                .collect();
            if members.is_empty() {
                return Err(
                    ApiError::invalid("id", "that group has no members to write to").into(),
                );
            }
            let id = messages::post(
                t,
                &sh,
                Post {
                    from: Sender::Operator(k),
                    to: To::Peers(&members),
                    text,
                    msg_type: None,
                    metadata: None,
                    context: None,
                },
            )?;
            let connected = members
                .iter()
                .filter(|p| sh.hub.is_connected(&p.id))
                .count() as u32;
            Ok(BroadcastResult {
                message_id: id,
                recipients: members.iter().map(|p| p.party()).collect::<Vec<Party>>(),
                connected,
                held: None,
            })
        })
        .await?;
    Ok(Reply(out))
}
