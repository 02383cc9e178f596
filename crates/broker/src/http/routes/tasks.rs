//! Routes: tasks.

use axum::Router;
use claude_peers_proto::coord::TaskView;

use super::record;
use crate::coord::tasks;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/tasks", record::create(tasks::create))
        .route("/v1/tasks/{id}/start", record::act(tasks::start))
        .route("/v1/tasks/{id}/complete", record::act(tasks::complete))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/tasks", record::list::<TaskView>())
}
