//! Routes: the session report (markdown), the export of a session's messages
//! (text), and sessions (list, begin a new one).

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json as Reply, Router};
use claude_peers_proto::coord::{SessionQuery, SessionView};
use claude_peers_proto::time::now_ms;

use super::extract::Query;
use crate::coord::Caller;
use crate::coord::report;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/session/report", get(report_md))
        .route("/v1/session/export", get(export))
        .route("/v1/sessions", get(list).post(begin))
}

async fn report_md(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<SessionQuery>,
) -> Result<Response> {
    let sh = state.shared.clone();
    let md = state
        .store
        .read(move |c| {
            let caller = Caller::load(c, &actor)?;
            let session = report::session_id(c, &sh, q.session.as_deref())?;
            report::markdown(c, &sh, &caller, &session, now_ms())
        })
        .await?;
    Ok(([(CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
}

async fn export(
    State(state): State<AppState>,
    _op: Operator,
    Query(q): Query<SessionQuery>,
) -> Result<Response> {
    let sh = state.shared.clone();
    let text = state
        .store
        .read(move |c| {
            let session = report::session_id(c, &sh, q.session.as_deref())?;
            report::export(c, &session, now_ms())
        })
        .await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

async fn list(State(state): State<AppState>, _op: Operator) -> Result<Reply<Vec<SessionView>>> {
    let current = state.hub().session();
    Ok(Reply(
        state
            .store
            .read(move |c| report::sessions(c, &current))
            .await?,
    ))
}

async fn begin(
    State(state): State<AppState>,
    Operator(k): Operator,
) -> Result<(StatusCode, Reply<SessionView>)> {
    let s = state
        .write(move |t, sh| report::begin_session(t, sh, &Actor::Operator(k)))
        .await?;
    Ok((StatusCode::CREATED, Reply(s)))
}
