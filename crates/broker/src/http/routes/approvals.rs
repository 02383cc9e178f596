//! Routes: approval requests and answers.

use axum::Router;
use claude_peers_proto::coord::ApprovalView;

use super::record;
use crate::coord::approvals;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/approvals", record::create(approvals::request))
        .route(
            "/v1/approvals/{id}/respond",
            record::act(approvals::respond),
        )
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/approvals", record::list::<ApprovalView>())
}
