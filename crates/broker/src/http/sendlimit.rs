//! The send limit (`--sends-per-minute`, per peer), applied structurally: the
//! routes each capability registers in its `sends()` router are wrapped in
//! [`layer`] (once, where the routers are merged), so a
//! route registered there cannot forget it and a handler never calls it.
//!
//! What counts, deliberately: every peer request whose purpose is to store a
//! message for other peers, one token per request however many recipients
//! it has. That is a plain send, a broadcast, a structured message, and the
//! coordination actions that notify the parties concerned: recording or
//! revoking a decision, requesting or answering a verification, creating or
//! voting on a proposal, creating, starting or completing a task, requesting
//! or answering an approval.
//!
//! What does not count: pins and reactions (nothing is stored for anyone;
//! they are events), the active-files report (`PUT /v1/files`, sent by hooks
//! on every edit; a conflict notice it may cause is one per new conflict),
//! and everything the operator does (the limit is per peer). All of these
//! still count against the per-request limit.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use claude_peers_proto::ApiError;

use crate::domain::rules::Actor;
use crate::error::Error;
use crate::http::state::AppState;

/// Identify the caller, take one send from a peer's budget, and hand the
/// caller on to the handler (its `Actor` extractor reads it back, so the
/// token is checked once per request).
pub async fn layer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    let (mut parts, body) = req.into_parts();
    let actor = Actor::from_request_parts(&mut parts, &state).await?;
    take_send(&state, &actor)?;
    parts.extensions.insert(actor);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

/// Take one send from the budget of `actor` if it is a peer.
fn take_send(state: &AppState, actor: &Actor) -> Result<(), Error> {
    if let Actor::Peer(id) = actor
        && let Err(ms) = state.rates.sends.take(id)
    {
        let per_min = state.rates.sends.capacity();
        return Err(ApiError::rate_limited(
            format!(
                "rate limited: at most {per_min} messages per minute; retry in {:.1} s",
                ms as f64 / 1000.0
            ),
            ms,
        )
        .into());
    }
    Ok(())
}
