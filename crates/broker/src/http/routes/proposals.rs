//! Routes: proposals and votes.

use axum::Router;
use claude_peers_proto::coord::ProposalView;

use super::record;
use crate::coord::proposals;
use crate::http::state::AppState;

/// Routes that store messages for other peers (counted by the send limit).
pub fn sends() -> Router<AppState> {
    Router::new()
        .route("/v1/proposals", record::create(proposals::create))
        .route("/v1/proposals/{id}/votes", record::act(proposals::vote))
}

/// The other routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/proposals", record::list::<ProposalView>())
}
