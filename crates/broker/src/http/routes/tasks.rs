//! Routes: tasks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{
    CompleteTask, CreateTask, ListQuery, StartTask, TaskStatus, TaskView,
};

use super::extract::{Json, Path, Query};
use crate::coord::Caller;
use crate::coord::record;
use crate::coord::tasks;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/tasks", post(create))
        .route("/v1/tasks/{id}/start", post(start))
        .route("/v1/tasks/{id}/complete", post(complete))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/tasks", get(list))
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    Json(req): Json<CreateTask>,
) -> Result<(StatusCode, Reply<TaskView>)> {
    let task = state
        .write(move |t, sh| tasks::create(t, sh, &actor, &req))
        .await?;
    Ok((StatusCode::CREATED, Reply(task)))
}

async fn start(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Json(req): Json<StartTask>,
) -> Result<Reply<TaskView>> {
    Ok(Reply(
        state
            .write(move |t, sh| tasks::start(t, sh, &actor, &id, &req))
            .await?,
    ))
}

async fn complete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Json(req): Json<CompleteTask>,
) -> Result<Reply<TaskView>> {
    Ok(Reply(
        state
            .write(move |t, sh| tasks::complete(t, sh, &actor, &id, &req))
            .await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ListQuery<TaskStatus>>,
) -> Result<Reply<Vec<TaskView>>> {
    let session = state.hub().session();
    Ok(Reply(
        state
            .store
            .read(move |c| record::list::<TaskView>(c, &Caller::load(c, &actor)?, &session, &q))
            .await?,
    ))
}
