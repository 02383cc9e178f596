//! Routes: verification requests and answers.

use axum::Router;
use claude_peers_proto::coord::VerificationView;

use super::record;
use crate::coord::verifications;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/verifications", record::create(verifications::request))
        .route(
            "/v1/verifications/{id}/respond",
            record::act(verifications::respond),
        )
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/verifications", record::list::<VerificationView>())
}
