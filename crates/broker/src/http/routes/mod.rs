//! The HTTP surface: one router per capability, merged here, behind the guard
//! (Host, Origin, Content-Type) and the body-size limit.

pub mod admin;
pub mod approvals;
pub mod conversations;
pub mod decisions;
pub mod extract;
pub mod files;
pub mod group_message;
pub mod groups;
pub mod messages;
pub mod needs_you;
pub mod peers;
pub mod permissions;
pub mod proposals;
pub mod reach;
pub mod record;
pub mod reports;
pub mod structured;
pub mod tasks;
pub mod translate;
pub mod verifications;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use claude_peers_proto::ApiError;
use claude_peers_proto::limits::MAX_BODY_BYTES;

use crate::error::api_response;
use crate::http::state::AppState;

/// The routes that store messages for other peers: each request counts
/// against the send limit, applied here once as a layer
/// ([`crate::http::sendlimit`] says what counts and why).
fn sends(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(messages::sends())
        .merge(structured::sends())
        .merge(decisions::sends())
        .merge(verifications::sends())
        .merge(proposals::sends())
        .merge(tasks::sends())
        .merge(approvals::sends())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::sendlimit::layer,
        ))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(sends(&state))
        .merge(admin::routes())
        .merge(peers::routes())
        .merge(messages::routes())
        .merge(conversations::routes())
        .merge(groups::routes())
        .merge(decisions::routes())
        .merge(verifications::routes())
        .merge(proposals::routes())
        .merge(tasks::routes())
        .merge(approvals::routes())
        .merge(files::routes())
        .merge(reports::routes())
        .merge(group_message::routes())
        .merge(translate::routes())
        .merge(permissions::routes())
        .merge(needs_you::routes())
        .merge(reach::routes())
        .route("/v1/stream", get(crate::http::stream::handler))
        .merge(crate::http::dashboard::routes())
        .fallback(|| async { api_response(ApiError::not_found("no such route; see docs/API.md")) })
        .method_not_allowed_fallback(|| async {
            api_response(ApiError::new(
                claude_peers_proto::ErrorCode::MethodNotAllowed,
                "method not allowed on this route",
            ))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::guard::guard,
        ))
        .with_state(state)
}
