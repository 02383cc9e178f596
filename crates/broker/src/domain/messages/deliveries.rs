//! Deliveries: each recipient's row moves only forward, `queued` →
//! `delivered` → `read`; the inbox operations (mark delivered, mark read,
//! `check_messages`, `ack_message`) are the only writers.

use std::collections::HashSet;
use std::sync::Arc;

use crate::runtime::store::sql::{self, OptionalExtension, params};
use claude_peers_proto::api::{DeliveryState, MessageView, Party, PartyKind};
use claude_peers_proto::stream::Event;
use claude_peers_proto::{ApiError, validate};

use crate::domain::messages::views::{Viewer, load, unread_after, unread_count, view};
use crate::error::Result;
use crate::runtime::hub::{Effect, Fanned};
use crate::runtime::store::Tx;

fn advance(t: &mut Tx<'_>, peer: &str, id: i64, to: DeliveryState) -> Result<bool> {
    let row: Option<(i64, String)> = t
        .conn
        .prepare_cached("SELECT state, recipient_name FROM deliveries WHERE recipient_id = ?1 AND message_id = ?2")?
        .query_row(params![peer, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((from, name)) = row else {
        return Ok(false);
    };
    if from >= to.code() {
        return Ok(false);
    }
    t.conn
        .prepare_cached(
            "UPDATE deliveries SET state = ?3, delivered_at = coalesce(delivered_at, ?4),
               read_at = CASE WHEN ?3 = 2 THEN ?4 ELSE read_at END
             WHERE recipient_id = ?1 AND message_id = ?2",
        )?
        .execute(params![peer, id, to.code(), t.now])?;
    if from == DeliveryState::Queued.code() {
        t.conn
            .prepare_cached("UPDATE peers SET queued = queued - 1 WHERE id = ?1 AND queued > 0")?
            .execute([peer])?;
    }
    t.effect(Effect::Delivery {
        message_id: id,
        recipient_id: peer.to_string(),
        state: to,
    });
    t.effect(Effect::event(Event::Delivery {
        message_id: id,
        recipient: Party {
            kind: PartyKind::Peer,
            id: peer.to_string(),
            name,
        },
        state: to,
    }));
    Ok(true)
}

/// The MCP server of `peer` wrote these messages into its session.
pub fn mark_delivered(t: &mut Tx<'_>, peer: &str, ids: &[i64]) -> Result<u32> {
    validate::ids("ids", ids)?;
    let mut n = 0;
    for id in ids {
        n += advance(t, peer, *id, DeliveryState::Delivered)? as u32;
    }
    Ok(n)
}

/// Mark messages read: the given ids, or every unread one. Returns those that changed.
pub fn mark_read(t: &mut Tx<'_>, peer: &str, ids: Option<&[i64]>) -> Result<Vec<i64>> {
    let ids: Vec<i64> = match ids {
        Some(ids) => {
            validate::ids("ids", ids)?;
            ids.to_vec()
        }
        None => t
            .conn
            .prepare_cached("SELECT message_id FROM deliveries WHERE recipient_id = ?1 AND state < 2 ORDER BY message_id")?
            .query_map([peer], |r| r.get(0))?
            .collect::<sql::Result<_>>()?,
    };
    let mut changed = Vec::new();
    for id in ids {
        if advance(t, peer, id, DeliveryState::Read)? {
            changed.push(id);
        }
    }
    Ok(changed)
}

/// `check_messages`: every unread message (oldest first, at most a page), now read.
pub fn check(t: &mut Tx<'_>, peer: &str, limit: u32) -> Result<(Vec<MessageView>, u32)> {
    let unread = unread_after(t.conn, peer, 0, limit)?;
    let ids: Vec<i64> = unread.iter().map(|m| m.id).collect();
    for id in &ids {
        advance(t, peer, *id, DeliveryState::Read)?;
    }
    let left = unread_count(t.conn, peer)?;
    let mut out = unread;
    for m in &mut out {
        for d in &mut m.deliveries {
            if d.recipient.id == peer {
                d.state = DeliveryState::Read;
            }
        }
    }
    Ok((out, left))
}

/// `ack_message`: mark one message read; the caller must be a recipient.
pub fn ack(t: &mut Tx<'_>, peer: &str, id: i64) -> Result<DeliveryState> {
    let state: Option<i64> = t
        .conn
        .prepare_cached("SELECT state FROM deliveries WHERE recipient_id = ?1 AND message_id = ?2")?
        .query_row(params![peer, id], |r| r.get(0))
        .optional()?;
    match state {
        Some(_) => {
            advance(t, peer, id, DeliveryState::Read)?;
            Ok(DeliveryState::Read)
        }
        None if load(t.conn, id)?.is_some() => Err(ApiError::forbidden(format!(
            "you are not a recipient of message {id}, so you cannot acknowledge it"
        ))
        .into()),
        None => Err(ApiError::not_found(format!("no message with id {id}")).into()),
    }
}

/// Create the deliveries of stored message `id` for these recipients (id,
/// name) and, once committed, push the message to their streams: it is read
/// here once for all of them, not by each stream.
///
/// The message is new to them (just stored, or just released by the loop
/// guard), so no answer is awaited: the rows and the queue counters are
/// written deferred (on PostgreSQL they travel with the message's read, one
/// round trip). A recipient named twice gets one delivery; a delivery that
/// existed already would break that rule and fails the job (the key is
/// unique) rather than count the message twice.
///
/// `message` is the message as pushed ([`Viewer::Bare`]) when the caller
/// has just stored it; `None` reads it.
pub fn deliver(
    t: &mut Tx<'_>,
    id: i64,
    recipients: &[(String, String)],
    message: Option<MessageView>,
) -> Result<()> {
    let mut seen = HashSet::with_capacity(recipients.len());
    let created: Vec<(String, String)> = recipients
        .iter()
        .filter(|(rid, _)| seen.insert(rid.as_str()))
        .cloned()
        .collect();
    if created.is_empty() {
        return Ok(());
    }
    {
        let mut insert = t.conn.prepare_cached(
            "INSERT INTO deliveries (recipient_id, message_id, recipient_name, state) VALUES (?1, ?2, ?3, 0)",
        )?;
        let mut count = t
            .conn
            .prepare_cached("UPDATE peers SET queued = queued + 1 WHERE id = ?1")?;
        for (rid, name) in &created {
            insert.execute_deferred(params![rid, id, name])?;
            count.execute_deferred([rid])?;
        }
    }
    let message = match message {
        Some(m) => m,
        None => match view(t.conn, id, Viewer::Bare)? {
            Some(m) => m,
            None => return Ok(()),
        },
    };
    t.effect(Effect::Deliver(Arc::new(Fanned {
        message,
        recipients: created,
    })));
    Ok(())
}
