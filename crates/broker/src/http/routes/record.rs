//! The route shapes every coordination record shares (verifications,
//! proposals, tasks, approvals): create one (`201` with the record), act on
//! one by id (`200` with the record), and list the current session's records
//! with a [`ListQuery`]. A feature's router names its paths and its `coord`
//! functions; the handlers are written once, here.

use std::sync::Arc;

use axum::Json as Reply;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use claude_peers_proto::coord::ListQuery;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::extract::{Json, Path, Query};
use crate::coord::Caller;
use crate::coord::record::{self, Record};
use crate::domain::context::Shared;
use crate::domain::rules::Actor;
use crate::error::{Error, Result};
use crate::http::state::AppState;
use crate::runtime::store::Tx;

/// A write that creates a record from a request body.
pub type Create<B, V> = fn(&mut Tx<'_>, &Arc<Shared>, &Actor, &B) -> Result<V>;

/// A write on the record with an id, with a request body.
pub type Act<B, V> = fn(&mut Tx<'_>, &Arc<Shared>, &Actor, &str, &B) -> Result<V>;

/// `POST` that runs `f` on the JSON body and answers `201 Created` with the
/// record.
pub fn create<B, V>(f: Create<B, V>) -> MethodRouter<AppState>
where
    B: DeserializeOwned + Send + 'static,
    V: Serialize + Send + 'static,
{
    post(
        move |State(state): State<AppState>, actor: Actor, Json(req): Json<B>| async move {
            let v = state.write(move |t, sh| f(t, sh, &actor, &req)).await?;
            Ok::<_, Error>((StatusCode::CREATED, Reply(v)))
        },
    )
}

/// `POST …/{id}/…` that runs `f` on the record `id` with the JSON body and
/// answers `200 OK` with the record.
pub fn act<B, V>(f: Act<B, V>) -> MethodRouter<AppState>
where
    B: DeserializeOwned + Send + 'static,
    V: Serialize + Send + 'static,
{
    post(
        move |State(state): State<AppState>,
              actor: Actor,
              Path(id): Path<String>,
              Json(req): Json<B>| async move {
            let v = state
                .write(move |t, sh| f(t, sh, &actor, &id, &req))
                .await?;
            Ok::<_, Error>(Reply(v))
        },
    )
}

/// `GET` of the current session's records of `R` that the caller may see
/// ([`record::list`]).
pub fn list<R>() -> MethodRouter<AppState>
where
    R: Record + Serialize + Send + 'static,
    R::Status: DeserializeOwned + Send,
{
    get(
        |State(state): State<AppState>, actor: Actor, Query(q): Query<ListQuery<R::Status>>| async move {
            let session = state.hub().session();
            let rows = state
                .store
                .read(move |c| record::list::<R>(c, &Caller::load(c, &actor)?, &session, &q))
                .await?;
            Ok::<_, Error>(Reply(rows))
        },
    )
}
