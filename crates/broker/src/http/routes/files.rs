//! Routes: active files.

use axum::extract::State;
use axum::routing::put;
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{ActiveFilesResult, ActiveFilesView, SetActiveFiles};
use claude_peers_proto::time::now_ms;

use super::extract::Json;
use crate::coord::files;
use crate::domain::peers::standing;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::auth::PeerActor;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/files", put(set).get(list))
}

async fn set(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Json(req): Json<SetActiveFiles>,
) -> Result<Reply<ActiveFilesResult>> {
    Ok(Reply(
        state
            .write(move |t, sh| files::set(t, sh, &id, &req))
            .await?,
    ))
}

async fn list(State(state): State<AppState>, actor: Actor) -> Result<Reply<Vec<ActiveFilesView>>> {
    let ttl = state.config().limits.active_files_ttl_ms;
    Ok(Reply(
        state
            .store
            .read(move |c| {
                let (standing, _) = standing(c, &actor)?;
                files::list(c, &standing, now_ms(), ttl)
            })
            .await?,
    ))
}
