//! `GET /v1/stream`: the WebSocket that carries pushes.
//!
//! For a peer: `hello`, then every unread message (oldest first), then each new
//! message as soon as it is committed. The store is the queue: a new stream
//! reads the whole unread backlog from it, and keeps a cursor (the highest id
//! sent). After that, a message committed for the peer is handed to the stream
//! by the hub, built once for all its recipients; the stream reads the store
//! again only when it fell behind (the hub dropped pushes) or a released chain
//! made older messages deliverable (a rewind). So a push lost in a crash costs
//! nothing: the next stream reads it from the store.
//!
//! The MCP server answers `delivered`; the answers of all streams are stored
//! together (one write for whatever arrived while the previous one ran).
//! Liveness: a peer is connected while its stream is open; the broker pings,
//! and closes a stream that stops answering.
//!
//! For the operator: `hello`, then typed events as they happen.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use claude_peers_proto::api::{DeliveryState, DeliveryView, Party, PartyKind};
use claude_peers_proto::limits::{MAX_BODY_BYTES, STREAM_PING_MS};
use claude_peers_proto::stream::{ClientFrame, ServerFrame};
use claude_peers_proto::{ApiError, ErrorCode, VERSION};
use tokio::sync::broadcast::error::RecvError;

use crate::domain::peers;
use crate::domain::rules::Actor;
use crate::domain::shown;
use crate::error::{Error, Result};
use crate::http::state::AppState;
use crate::runtime::hub::Pushed;

/// Messages read from the store per round.
const PAGE: u32 = claude_peers_proto::limits::STREAM_PAGE;
/// The buffer a stream reads client frames into, allocated when the stream
/// opens (the WebSocket library's default is 128 KiB per stream; client
/// frames are small, and a larger one grows the buffer as needed).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Frames are written to the socket at once, not gathered first (the
/// library's default gathers up to 128 KiB per stream).
const WRITE_BUFFER_BYTES: usize = 0;

pub async fn handler(
    State(state): State<AppState>,
    actor: Actor,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "too many open streams (limit {})",
                state.config().max_streams
            ),
        )
    })?;
    let ws = ws
        .max_message_size(MAX_BODY_BYTES)
        .max_frame_size(MAX_BODY_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES);
    Ok(ws.on_upgrade(move |socket| async move {
        let _permit = permit;
        let result = match actor {
            Actor::Peer(id) => peer_stream(state, socket, id).await,
            Actor::Operator(_) => operator_stream(state, socket).await,
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "stream ended");
        }
    }))
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> Result<()> {
    let json = serde_json::to_string(frame).map_err(|e| Error::Internal(e.to_string()))?;
    socket
        .send(Message::Text(Utf8Bytes::from(json)))
        .await
        .map_err(|e| Error::Internal(format!("send: {e}")))
}

fn shutdown_frame(state: &AppState) -> ServerFrame {
    ServerFrame::Shutdown {
        reason: "the broker is shutting down".into(),
        stay_down: state.stay_down.load(std::sync::atomic::Ordering::Relaxed),
    }
}

async fn peer_stream(state: AppState, mut socket: WebSocket, id: String) -> Result<()> {
    let conn = state.hub().connect(&id);
    let sh = state.shared.clone();
    let pid = id.clone();
    let peer = state
        .store
        .write(move |t| peers::set_connected(t, &sh, &pid, true))
        .await?;
    let Some(peer) = peer else {
        state
            .hub()
            .disconnect(&id, conn.id, claude_peers_proto::time::now_ms());
        return Ok(());
    };
    tracing::info!(peer = %peer.name, id = %id, "stream open");
    let hello = ServerFrame::Hello {
        peer: Some(Box::new(peer.view(&state.shared))),
        session_id: state.hub().session(),
        version: VERSION.into(),
    };
    let mut answers = state.hub().permits.attach(&id, conn.id);
    let result = pump(&state, &mut socket, &id, &conn, hello, &mut answers).await;
    crate::http::routes::permissions::stream_closed(&state, &id, conn.id).await;

    let now = claude_peers_proto::time::now_ms();
    if state.hub().disconnect(&id, conn.id, now) {
        let sh = state.shared.clone();
        let pid = id.clone();
        let _ = state
            .store
            .write(move |t| peers::set_connected(t, &sh, &pid, false))
            .await;
        tracing::info!(peer = %peer.name, id = %id, "stream closed");
    }
    result
}

async fn pump(
    state: &AppState,
    socket: &mut WebSocket,
    id: &str,
    conn: &crate::runtime::hub::Connection,
    hello: ServerFrame,
    answers: &mut tokio::sync::mpsc::UnboundedReceiver<ServerFrame>,
) -> Result<()> {
    send(socket, &hello).await?;
    let mut cursor = 0i64;
    // The unread backlog is read from the store first.
    let mut reread = true;
    let mut ping = tokio::time::interval(Duration::from_millis(STREAM_PING_MS));
    ping.tick().await;
    let mut missed_pongs = 0u32;
    loop {
        // A released chain made older messages deliverable: read from there.
        let from = conn.take_rewind(cursor);
        if from < cursor {
            cursor = from;
            reread = true;
        }
        let (pushed, look_again) = conn.take_pushed();
        if reread || look_again {
            reread = false;
            cursor = read_unread(state, socket, id, cursor).await?;
        }
        for p in pushed {
            // Already sent if the store was read after it was committed.
            if p.fanned.message.id > cursor {
                cursor = p.fanned.message.id;
                send(socket, &pushed_frame(&p)).await?;
            }
        }
        tokio::select! {
            _ = conn.wake.notified() => {}
            Some(frame) = answers.recv() => send(socket, &frame).await?,
            _ = conn.kick.notified() => {
                if state.stay_down.load(std::sync::atomic::Ordering::Relaxed) || state.shutting_down() {
                    let _ = send(socket, &shutdown_frame(state)).await;
                }
                let _ = socket.send(Message::Close(None)).await;
                return Ok(());
            }
            _ = ping.tick() => {
                if missed_pongs >= 3 {
                    tracing::warn!(peer = %id, "stream stopped answering pings; closing it");
                    return Ok(());
                }
                missed_pongs += 1;
                socket.send(Message::Ping(Default::default())).await.map_err(|e| Error::Internal(e.to_string()))?;
            }
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { return Ok(()) };
                missed_pongs = 0;
                match msg {
                    Message::Text(text) => handle_frame(state, id, text.as_str()).await,
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
        }
    }
}

/// Send every unread message of `id` past `cursor`, read from the store;
/// returns the new cursor.
async fn read_unread(
    state: &AppState,
    socket: &mut WebSocket,
    id: &str,
    mut cursor: i64,
) -> Result<i64> {
    loop {
        let peer = id.to_string();
        let key = state.hub().reach.get(id).session_key();
        let batch = state
            .store
            .read(move |c| shown::unread_for_stream(c, &peer, &key, cursor, PAGE))
            .await?;
        let n = batch.len();
        for (m, shown) in batch {
            cursor = cursor.max(m.id);
            send(
                socket,
                &ServerFrame::Message {
                    message: Box::new(m),
                    shown,
                },
            )
            .await?;
        }
        if n < PAGE as usize {
            return Ok(cursor);
        }
    }
}

/// The frame of a pushed message: the message with the recipient's own
/// delivery, `queued` as just stored, and shown by no rung yet (the delivery
/// is new, so nothing can have shown it).
fn pushed_frame(p: &Pushed) -> ServerFrame {
    let (id, name) = p.recipient();
    let mut message = p.fanned.message.clone();
    message.deliveries = vec![DeliveryView {
        recipient: Party {
            kind: PartyKind::Peer,
            id: id.to_string(),
            name: name.to_string(),
        },
        state: DeliveryState::Queued,
        delivered_at: None,
        read_at: None,
    }];
    ServerFrame::Message {
        message: Box::new(message),
        shown: None,
    }
}

async fn handle_frame(state: &AppState, id: &str, text: &str) {
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(ClientFrame::Delivered { ids, rung }) => {
            if let Err(e) = claude_peers_proto::validate::delivered_ids(&ids) {
                tracing::warn!(peer = %id, error = %e, "ignoring a malformed delivered frame");
                return;
            }
            let ack = crate::http::acks::Ack {
                peer: id.to_string(),
                ids,
                rung,
                facts: state.hub().reach.get(id),
            };
            state.acks.store(ack).await;
        }
        Ok(ClientFrame::Typing) => state.hub().typing(id, claude_peers_proto::time::now_ms()),
        Ok(ClientFrame::PermissionRequest { request }) => {
            crate::http::routes::permissions::relay_request(state, id, request).await
        }
        Err(e) => tracing::warn!(peer = %id, error = %e, "ignoring a malformed stream frame"),
    }
}

async fn operator_stream(state: AppState, mut socket: WebSocket) -> Result<()> {
    let mut events = state.hub().subscribe_events();
    let mut shutdown = state.shutdown_rx();
    send(
        &mut socket,
        &ServerFrame::Hello {
            peer: None,
            session_id: state.hub().session(),
            version: VERSION.into(),
        },
    )
    .await?;
    let mut ping = tokio::time::interval(Duration::from_millis(STREAM_PING_MS));
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(json) => socket
                    .send(Message::Text(Utf8Bytes::from(json.as_ref())))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?,
                Err(RecvError::Lagged(n)) => {
                    // Too slow to keep up: close, so the client reloads the state.
                    tracing::warn!(missed = n, "operator stream lagged; closing it");
                    let _ = socket.send(Message::Close(None)).await;
                    return Ok(());
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = shutdown.changed() => {
                let _ = send(&mut socket, &shutdown_frame(&state)).await;
                let _ = socket.send(Message::Close(None)).await;
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
