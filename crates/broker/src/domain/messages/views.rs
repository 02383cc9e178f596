//! Read models of messages: the API view of one message (with its
//! deliveries and reactions) and the listings built from it: unread, sent,
//! history between two peers, the session feed, pins.

use crate::runtime::store::sql::{self, Connection, OptionalExtension, params};
use claude_peers_proto::api::{
    DeliveryState, DeliveryView, MessageView, Party, PartyKind, ReactionView, Scope,
};
use claude_peers_proto::limits::MAX_PINNED;
use claude_peers_proto::time::rfc3339;

use crate::domain::rules::Actor;
use crate::error::Result;

/// Whose view of a message to build.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// Sender or operator: every delivery.
    Full,
    /// A recipient: only its own delivery.
    Recipient(&'a str),
    /// A peer that sent or received it: every delivery if it sent it, else its own.
    Party(&'a str),
    /// No deliveries: the message as pushed to its recipients' streams, each
    /// of which adds its own delivery.
    Bare,
}

/// A message row as stored.
pub struct MessageRow {
    pub id: i64,
    pub from: Party,
    pub to: Option<Party>,
    pub scope: Option<String>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub text: String,
    pub msg_type: Option<String>,
    pub metadata: Option<String>,
    pub context: Option<String>,
    pub pinned: bool,
    pub sent_at: i64,
    pub thread_id: Option<i64>,
    pub reply_to: Option<i64>,
    pub chain_depth: u32,
    pub held: bool,
    /// Someone reacted to it (its reactions are read only then).
    pub reacted: bool,
}

pub fn load(conn: &Connection, id: i64) -> Result<Option<MessageRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.id, m.from_kind, m.from_id, m.from_name, m.to_kind, m.to_id, m.to_name, m.scope,
                    m.group_id, (SELECT g.name FROM groups g WHERE g.id = m.group_id), m.text, m.msg_type,
                    m.metadata, m.context, m.pinned, m.sent_at, m.thread_id, m.reply_to,
                    m.chain_depth, m.held,
                    EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id)
             FROM messages m WHERE m.id = ?1",
        )?
        .query_row([id], |r| {
            let to_kind: Option<String> = r.get(4)?;
            let to = match (to_kind.as_deref(), r.get::<_, Option<String>>(5)?) {
                (Some("peer"), Some(id)) => Some(Party { kind: PartyKind::Peer, id, name: r.get::<_, Option<String>>(6)?.unwrap_or_default() }),
                (Some("operator"), Some(id)) => Some(Party { kind: PartyKind::Operator, id, name: r.get::<_, Option<String>>(6)?.unwrap_or_default() }),
                _ => None,
            };
            Ok(MessageRow {
                id: r.get(0)?,
                from: Party { kind: PartyKind::parse_or_system(&r.get::<_, String>(1)?), id: r.get(2)?, name: r.get(3)? },
                to,
                scope: r.get(7)?,
                group_id: r.get(8)?,
                group_name: r.get(9)?,
                text: r.get(10)?,
                msg_type: r.get(11)?,
                metadata: r.get(12)?,
                context: r.get(13)?,
                pinned: r.get(14)?,
                sent_at: r.get(15)?,
                thread_id: r.get(16)?,
                reply_to: r.get(17)?,
                chain_depth: r.get(18)?,
                held: r.get(19)?,
                reacted: r.get(20)?,
            })
        })
        .optional()?)
}

/// Build the API view of message `id` for `viewer`.
pub fn view(conn: &Connection, id: i64, viewer: Viewer<'_>) -> Result<Option<MessageView>> {
    let Some(m) = load(conn, id)? else {
        return Ok(None);
    };
    let mut deliveries = Vec::new();
    if !matches!(viewer, Viewer::Bare) {
        let mut stmt = conn.prepare_cached(
            "SELECT recipient_id, recipient_name, state, delivered_at, read_at FROM deliveries
             WHERE message_id = ?1 AND (?2 IS NULL OR recipient_id = ?2) ORDER BY recipient_name",
        )?;
        let only = match viewer {
            Viewer::Full | Viewer::Bare => None,
            Viewer::Recipient(r) => Some(r),
            Viewer::Party(p) if p == m.from.id => None,
            Viewer::Party(p) => Some(p),
        };
        let rows = stmt.query_map(params![id, only], |r| {
            Ok(DeliveryView {
                recipient: Party {
                    kind: PartyKind::Peer,
                    id: r.get(0)?,
                    name: r.get(1)?,
                },
                state: DeliveryState::from_code(r.get(2)?),
                delivered_at: r.get::<_, Option<i64>>(3)?.map(rfc3339),
                read_at: r.get::<_, Option<i64>>(4)?.map(rfc3339),
            })
        })?;
        for d in rows {
            deliveries.push(d?);
        }
    }
    let mut reactions: Vec<ReactionView> = Vec::new();
    if m.reacted {
        let mut stmt = conn.prepare_cached(
            "SELECT emoji, party_kind, party_id, party_name FROM reactions WHERE message_id = ?1 ORDER BY created_at, emoji",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Party {
                    kind: PartyKind::parse_or_system(&r.get::<_, String>(1)?),
                    id: r.get(2)?,
                    name: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (emoji, by) = row?;
            match reactions.iter_mut().find(|x| x.emoji == emoji) {
                Some(x) => x.by.push(by),
                None => reactions.push(ReactionView {
                    emoji,
                    by: vec![by],
                }),
            }
        }
    }
    Ok(Some(m.into_view(deliveries, reactions)))
}

impl MessageRow {
    /// The API view of this row with these deliveries and reactions (the
    /// one place a stored message becomes a [`MessageView`]).
    pub fn into_view(
        self,
        deliveries: Vec<DeliveryView>,
        reactions: Vec<ReactionView>,
    ) -> MessageView {
        let m = self;
        MessageView {
            id: m.id,
            from: m.from,
            to: m.to,
            scope: m.scope.as_deref().and_then(Scope::parse),
            group: match (m.group_id, m.group_name) {
                (Some(id), Some(name)) => Some(claude_peers_proto::api::GroupRef { id, name }),
                _ => None,
            },
            text: m.text,
            msg_type: m.msg_type,
            metadata: m.metadata.and_then(|s| serde_json::from_str(&s).ok()),
            context: m.context.and_then(|s| serde_json::from_str(&s).ok()),
            sent_at: rfc3339(m.sent_at),
            pinned: m.pinned,
            thread_id: m.thread_id.unwrap_or(m.id),
            reply_to: m.reply_to,
            chain_depth: m.chain_depth,
            held: m.held,
            deliveries,
            reactions,
        }
    }
}

pub fn views(conn: &Connection, ids: Vec<i64>, viewer: Viewer<'_>) -> Result<Vec<MessageView>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = view(conn, id, viewer)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// The views of these messages for `actor` (a peer sees its own delivery of
/// what it received, every delivery of what it sent; the operator sees all).
pub fn views_for(conn: &Connection, ids: Vec<i64>, actor: &Actor) -> Result<Vec<MessageView>> {
    match actor {
        Actor::Peer(id) => views(conn, ids, Viewer::Party(id)),
        Actor::Operator(_) => views(conn, ids, Viewer::Full),
    }
}

/// Unread messages for `peer` with an id above `after`, oldest first.
pub fn unread_after(
    conn: &Connection,
    peer: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT message_id FROM deliveries WHERE recipient_id = ?1 AND state < 2 AND message_id > ?2
             ORDER BY message_id LIMIT ?3",
        )?
        .query_map(params![peer, after, limit], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    views(conn, ids, Viewer::Recipient(peer))
}

/// How many unread messages `peer` has.
pub fn unread_count(conn: &Connection, peer: &str) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM deliveries WHERE recipient_id = ?1 AND state < 2")?
        .query_row([peer], |r| r.get(0))?)
}

/// Messages sent by `peer`, newest first, with every recipient's state (`check_acks`).
pub fn sent(
    conn: &Connection,
    peer: &str,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE from_id = ?1 AND from_kind = 'peer' AND (?2 IS NULL OR id < ?2)
             ORDER BY id DESC LIMIT ?3",
        )?
        .query_map(params![peer, before, limit], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    views(conn, ids, Viewer::Full)
}

/// Messages between `me` and `other` in the current session, newest first.
pub fn history(
    conn: &Connection,
    session: &str,
    me: &str,
    other: &str,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT m.id FROM messages m WHERE m.session_id = ?1 AND (?5 IS NULL OR m.id < ?5) AND (
               (m.from_id = ?2 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.recipient_id = ?3))
               OR (m.from_id = ?3 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.recipient_id = ?2)))
             ORDER BY m.id DESC LIMIT ?4",
        )?
        .query_map(params![session, me, other, limit, before], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    views(conn, ids, Viewer::Full)
}

/// The session's messages, newest first (the dashboard feed), paging back with `before`.
pub fn feed(
    conn: &Connection,
    session: &str,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE session_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
        )?
        .query_map(params![session, before, limit], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    views(conn, ids, Viewer::Full)
}

/// The session's pinned messages, oldest first.
pub fn pinned(conn: &Connection, session: &str) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE session_id = ?1 AND pinned = 1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![session, MAX_PINNED], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    views(conn, ids, Viewer::Full)
}
