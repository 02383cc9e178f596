//! Routes: threads (`GET /v1/threads/{id}`), full-text search
//! (`GET /v1/messages/search`), and the loop guard's held chains
//! (`GET /v1/chains/held`, `POST /v1/chains/{id}/release`, operator only).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json as Reply, Router};
use claude_peers_proto::api::{
    HeldChainList, MessageList, PageQuery, ReleaseResult, SearchQuery, SearchResult,
};
use claude_peers_proto::limits::MAX_PAGE;
use claude_peers_proto::validate;

use super::extract::{Path, Query};
use crate::domain::rules::Actor;
use crate::domain::{loops, messages, search, threads};
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/threads/{id}", get(thread))
        .route("/v1/messages/search", get(find))
        .route("/v1/chains/held", get(held))
        .route("/v1/chains/{id}/release", post(release))
}

/// One thread, oldest first, as the caller may see it.
async fn thread(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Reply<MessageList>> {
    let limit = validate::page(q.limit, MAX_PAGE)?;
    let messages = state
        .store
        .read(move |c| threads::messages(c, &actor, id, limit))
        .await?;
    Ok(Reply(MessageList { messages }))
}

async fn find(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<SearchQuery>,
) -> Result<Reply<SearchResult>> {
    // Every message whose send was answered before this search is indexed
    // first (the index trails the sends, see `store/fts.rs`).
    state.store.index_now().await?;
    let hits = state
        .store
        .read(move |c| search::search(c, &actor, &q))
        .await?;
    Ok(Reply(SearchResult { hits }))
}

async fn held(State(state): State<AppState>, _op: Operator) -> Result<Reply<HeldChainList>> {
    let sh = state.shared.clone();
    let chains = state.store.read(move |c| loops::held(c, &sh)).await?;
    Ok(Reply(HeldChainList { chains }))
}

async fn release(
    State(state): State<AppState>,
    Operator(k): Operator,
    Path(id): Path<i64>,
) -> Result<Reply<ReleaseResult>> {
    let sh = state.shared.clone();
    let by = Actor::Operator(k).party();
    Ok(Reply(
        state
            .store
            .write(move |t| messages::release_chain(t, &sh, &by, id))
            .await?,
    ))
}
