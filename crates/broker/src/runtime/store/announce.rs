//! What a commit announces to the other brokers of a PostgreSQL database:
//! its effects as [`Note`]s, in order (see `runtime::team` for what crosses
//! and why). Run by the writer inside the transaction, just before
//! `COMMIT`.

use claude_peers_proto::stream::ServerFrame;

use super::sql::{self, Connection, params};
use crate::runtime::hub::Effect;
use crate::runtime::team::wire::{MAX_INLINE_EVENT, Note};

/// An operator event as a note: the frame's JSON, inline when small.
fn frame_json(event: &claude_peers_proto::stream::Event) -> Option<String> {
    let frame = ServerFrame::Event {
        event: Box::new(event.clone()),
    };
    match serde_json::to_string(&frame) {
        Ok(j) => Some(j),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise an event for the other brokers");
            None
        }
    }
}

/// The notes of one commit's effects, in order. A large event is stored in
/// `team_events` (inside the transaction, by `conn`) and referred to.
pub fn notes_of(conn: &Connection, now: i64, effects: &[Effect]) -> sql::Result<Vec<Note>> {
    let mut notes = Vec::new();
    for effect in effects {
        match effect {
            Effect::Wake(p) => notes.push(Note::Wake(p.clone())),
            Effect::Deliver(f) => {
                notes.extend(f.recipients.iter().map(|(p, _)| Note::Wake(p.clone())))
            }
            Effect::Event(e) => {
                let Some(json) = frame_json(e) else { continue };
                if json.len() <= MAX_INLINE_EVENT {
                    notes.push(Note::Event(json));
                } else {
                    let id: i64 = conn.query_row(
                        "INSERT INTO team_events (at, frame) VALUES (?1, ?2) RETURNING id",
                        params![now, json],
                        |r| r.get(0),
                    )?;
                    notes.push(Note::EventRef(id));
                }
            }
            Effect::Delivery {
                message_id,
                recipient_id,
                state,
            } => notes.push(Note::Delivery {
                m: *message_id,
                r: recipient_id.clone(),
                s: *state,
            }),
            Effect::Token { hash, peer_id } => notes.push(Note::Token {
                h: hash.clone(),
                p: peer_id.clone(),
            }),
            Effect::ForgetToken { hash } => notes.push(Note::Forget(hash.clone())),
            Effect::Kick(p) => notes.push(Note::Kick(p.clone())),
            Effect::Rewind { peer, from } => notes.push(Note::Rewind {
                p: peer.clone(),
                f: *from,
            }),
            Effect::Session(id) => notes.push(Note::Session(id.clone())),
            Effect::Stream { peer, broker } => notes.push(Note::Stream {
                p: peer.clone(),
                b: broker.clone(),
            }),
            Effect::PermissionAnswer(a) => notes.push(Note::Answer(a.clone())),
        }
    }
    Ok(notes)
}
