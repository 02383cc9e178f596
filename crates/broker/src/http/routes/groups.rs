//! Routes: isolation groups (listing for everyone; changes for the operator).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json as Reply, Router};
use claude_peers_proto::api::{AssignGroup, CreateGroup, GroupList, GroupView};

use super::extract::{Json, Path};
use crate::coord::proposals;
use crate::domain::peers::standing;
use crate::domain::rules::{Actor, OperatorKind};
use crate::domain::{groups, membership};
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/groups", get(list).post(create))
        .route("/v1/groups/{id}", delete(remove))
        .route("/v1/peers/{id}/group", put(assign))
}

async fn list(State(state): State<AppState>, actor: Actor) -> Result<Reply<GroupList>> {
    Ok(Reply(
        state
            .store
            .read(move |c| {
                let (standing, _) = standing(c, &actor)?;
                groups::list(c, &standing)
            })
            .await?,
    ))
}

fn op(kind: OperatorKind) -> Actor {
    Actor::Operator(kind)
}

async fn create(
    State(state): State<AppState>,
    Operator(k): Operator,
    Json(req): Json<CreateGroup>,
) -> Result<(StatusCode, Reply<GroupView>)> {
    let g = state
        .write(move |t, sh| groups::create(t, sh, &op(k), &req.name))
        .await?;
    Ok((StatusCode::CREATED, Reply(g)))
}

async fn remove(
    State(state): State<AppState>,
    Operator(k): Operator,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let sh = state.shared.clone();
    state
        .store
        .write(move |t| membership::delete_group(t, &sh, &op(k), &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn assign(
    State(state): State<AppState>,
    Operator(k): Operator,
    Path(peer): Path<String>,
    Json(req): Json<AssignGroup>,
) -> Result<StatusCode> {
    let sh = state.shared.clone();
    state
        .store
        .write(move |t| {
            membership::assign(t, &sh, &op(k), &peer, req.group.as_deref())?;
            proposals::recheck_open(t, &sh)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
