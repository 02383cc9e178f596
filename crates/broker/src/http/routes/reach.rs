//! Routes of the delivery ladder: what a peer's processes report about its
//! reach, what its session was shown, the next-turn hooks' injection, and the
//! `Stop` hook's waiter (a WebSocket that says when to wake an idle session).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json as Reply, Router};
use claude_peers_proto::api::PeerView;
use claude_peers_proto::limits::{MAX_INJECT_MESSAGES, STREAM_PING_MS};
use claude_peers_proto::reach::{
    InjectRequest, InjectResult, ReachFacts, Rung, TurnPoint, UnreadIds, WakeFrame, WakeQuery,
};
use claude_peers_proto::stream::Event;
use claude_peers_proto::{ApiError, validate};

use super::extract::{Json, Query};
use crate::domain::shown::{self, Purpose};
use crate::domain::{messages, peers};
use crate::error::{Error, Result};
use crate::http::auth::PeerActor;
use crate::http::state::AppState;

/// A waiter is closed after this long and re-arms (it reconnects), so a
/// half-open connection never waits forever.
pub const WAKE_ROUND: Duration = Duration::from_secs(600);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me/reach", put(report))
        .route("/v1/me/unread", get(unread))
        .route("/v1/me/inject", post(inject))
        .route("/v1/wake", get(wake))
}

fn session_id(raw: &str) -> Result<String> {
    Ok(validate::session_id("cc_session", raw)?)
}

/// Publish the peer's changed view (reach, client) to operator streams.
async fn announce(state: &AppState, id: &str) -> Result<PeerView> {
    let pid = id.to_string();
    let row = state.store.read(move |c| peers::require(c, &pid)).await?;
    let view = row.view(&state.shared);
    state.hub().announce(Event::Peer { peer: view.clone() });
    Ok(view)
}

async fn report(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Json(facts): Json<ReachFacts>,
) -> Result<Reply<PeerView>> {
    if let Some(s) = &facts.cc_session {
        session_id(s)?;
    }
    if let Some(c) = &facts.client {
        validate::required_line("client.name", &c.name, 64)?;
        validate::optional_line("client.version", Some(&c.version), 64)?;
    }
    state.hub().reach.report(&id, &facts);
    Ok(Reply(announce(&state, &id).await?))
}

async fn unread(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
) -> Result<Reply<UnreadIds>> {
    let key = state.hub().reach.get(&id).session_key();
    let out = state
        .store
        .read(move |c| {
            let ids: Vec<i64> =
                messages::unread_after(c, &id, 0, claude_peers_proto::limits::MAX_PAGE)?
                    .iter()
                    .map(|m| m.id)
                    .collect();
            let shown = shown::rungs(c, &id, &key, &ids)?;
            let mut shown: Vec<i64> = shown.into_keys().collect();
            shown.sort_unstable();
            Ok(UnreadIds { ids, shown })
        })
        .await?;
    Ok(Reply(out))
}

async fn inject(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Json(req): Json<InjectRequest>,
) -> Result<Reply<InjectResult>> {
    let cc = session_id(&req.cc_session)?;
    if req.seen_in_transcript.len() > claude_peers_proto::limits::MAX_IDS_PER_REQUEST {
        return Err(ApiError::invalid("seen_in_transcript", "too many ids").into());
    }
    let facts = state.hub().reach.update(&id, |f| {
        f.cc_session = Some(cc.clone());
        f.hooks_seen = true;
        if let Some(m) = req.permission_mode.as_ref().filter(|m| !m.is_empty()) {
            f.permission_mode = Some(m.clone());
        }
        if !req.seen_in_transcript.is_empty() {
            f.channel_ok = true;
        }
        f.busy = matches!(req.point, TurnPoint::PromptSubmit | TurnPoint::ToolDone);
    });
    let pid = id.clone();
    let seen = req.seen_in_transcript.clone();
    let take = req.take;
    let (messages, unread) = state
        .store
        .write(move |t| {
            if !seen.is_empty() {
                shown::record(t, &pid, &cc, &seen, Rung::Channel)?;
            }
            let taken = if take {
                shown::inject(t, &pid, &cc, facts.channel_ok, MAX_INJECT_MESSAGES)?
            } else {
                Vec::new()
            };
            Ok((taken, messages::unread_count(t.conn, &pid)?))
        })
        .await?;
    let peer = announce(&state, &id).await?;
    Ok(Reply(InjectResult {
        peer,
        messages,
        unread,
    }))
}

async fn wake(
    State(state): State<AppState>,
    PeerActor(id): PeerActor,
    Query(q): Query<WakeQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    let cc = session_id(&q.cc_session)?;
    let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            claude_peers_proto::ErrorCode::Unavailable,
            "too many open streams",
        )
    })?;
    Ok(ws.on_upgrade(move |socket| async move {
        let _permit = permit;
        state.hub().reach.update(&id, |f| f.waiters += 1);
        let _ = announce(&state, &id).await;
        if let Err(e) = waiter(&state, socket, &id, &cc).await {
            tracing::debug!(error = %e, "waiter ended");
        }
        state
            .hub()
            .reach
            .update(&id, |f| f.waiters = f.waiters.saturating_sub(1));
        let _ = announce(&state, &id).await;
    }))
}

async fn send(socket: &mut WebSocket, frame: &WakeFrame) -> Result<()> {
    let json = serde_json::to_string(frame).map_err(|e| Error::Internal(e.to_string()))?;
    socket
        .send(Message::Text(Utf8Bytes::from(json)))
        .await
        .map_err(|e| Error::Internal(format!("send: {e}")))
}

/// What the waiter would wake the session for now: the unread messages no
/// rung showed or announced, unless the session is busy (its turn will end
/// with a `Stop` that looks again) or its socket takes them (the socket wakes
/// it, or holds them for its user: never go around that).
async fn due(
    state: &AppState,
    id: &str,
    cc: &str,
) -> Result<Vec<claude_peers_proto::api::MessageView>> {
    let facts = state.hub().reach.get(id);
    if facts.busy || (facts.socket_usable() && state.hub().is_connected(id)) {
        return Ok(Vec::new());
    }
    let (pid, key) = (id.to_string(), cc.to_string());
    state
        .store
        .read(move |c| shown::candidates(c, &pid, &key, Purpose::Wake, MAX_INJECT_MESSAGES))
        .await
}

async fn waiter(state: &AppState, mut socket: WebSocket, id: &str, cc: &str) -> Result<()> {
    let bell = state.hub().reach.bell(id);
    send(&mut socket, &WakeFrame::Armed).await?;
    let mut ping = tokio::time::interval(Duration::from_millis(STREAM_PING_MS));
    ping.tick().await;
    let round = tokio::time::sleep(WAKE_ROUND);
    tokio::pin!(round);
    let mut shutdown = state.shutdown_rx();
    loop {
        // Subscribe before looking, so a change between the two is not missed.
        let changed = bell.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let due = due(state, id, cc).await?;
        if !due.is_empty() {
            let ids: Vec<i64> = due.iter().map(|m| m.id).collect();
            let (pid, key) = (id.to_string(), cc.to_string());
            state
                .store
                .write(move |t| shown::record(t, &pid, &key, &ids, Rung::Wake))
                .await?;
            let mut from: Vec<String> = Vec::new();
            for m in &due {
                if !from.contains(&m.from.name) {
                    from.push(m.from.name.clone());
                }
            }
            send(
                &mut socket,
                &WakeFrame::Wake {
                    count: due.len() as u32,
                    from,
                },
            )
            .await?;
            let _ = socket.send(Message::Close(None)).await;
            return Ok(());
        }
        tokio::select! {
            _ = &mut changed => {}
            _ = bell.kicked.notified() => {
                let _ = send(&mut socket, &WakeFrame::Done { reason: "the peer left".into() }).await;
                return Ok(());
            }
            _ = shutdown.changed() => {
                let _ = send(&mut socket, &WakeFrame::Done { reason: "the broker is stopping".into() }).await;
                return Ok(());
            }
            _ = &mut round => {
                let _ = send(&mut socket, &WakeFrame::Done { reason: "re-arm".into() }).await;
                return Ok(());
            }
            _ = ping.tick() => {
                socket.send(Message::Ping(Default::default())).await.map_err(|e| Error::Internal(e.to_string()))?;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                _ => {}
            }
        }
    }
}
