//! Messages and their delivery: send, broadcast, the inbox, acknowledgements,
//! history, pins and reactions.
//!
//! A message is one row; each recipient has a delivery row that only moves
//! forward: `queued` (stored) → `delivered` (its MCP server wrote it into the
//! session) → `read` (acked, or read with `check_messages`). The rows are the
//! queue: a peer's stream replays every unread one on connect, so a crash
//! anywhere loses nothing and a message is never dropped because its recipient
//! went away.

use std::sync::Arc;

use claude_peers_proto::api::{
    BroadcastRequest, BroadcastResult, ContextSnapshot, DeliveryState, DeliveryView, HeldNotice,
    MessageView, Party, PartyKind, ReactionView, Scope, SendRequest, SendResult,
};
use claude_peers_proto::emoji::{is_reaction, reaction_list};
use claude_peers_proto::limits::MAX_PATH_BYTES;
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;
use claude_peers_proto::{ApiError, ErrorCode, validate};
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::audit;
use crate::domain::loops;
use crate::domain::peers::{self, PeerRow};
use crate::domain::rules::{Actor, OperatorKind, Standing, can_reach};
use crate::domain::sessions;
use crate::domain::threads::{self, Placement};
use crate::error::Result;
use crate::http::state::{Shared, actor_party, standing};
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;

/// Who a message is from.
pub enum Sender<'a> {
    Peer(&'a PeerRow),
    Operator(OperatorKind),
    /// The broker itself.
    System,
}

impl<'a> Sender<'a> {
    /// The sender for an actor: its peer row if it is a peer, else the person.
    pub fn of(actor: &Actor, me: Option<&'a PeerRow>) -> Self {
        match (me, actor) {
            (Some(p), _) => Sender::Peer(p),
            (None, Actor::Operator(k)) => Sender::Operator(*k),
            (None, Actor::Peer(_)) => Sender::System,
        }
    }

    fn party(&self) -> Party {
        match self {
            Sender::Peer(p) => p.party(),
            Sender::Operator(k) => Party {
                kind: PartyKind::Operator,
                id: k.id().into(),
                name: k.id().into(),
            },
            Sender::System => Party {
                kind: PartyKind::System,
                id: "system".into(),
                name: "claude-peers".into(),
            },
        }
    }

    fn group(&self) -> Option<&str> {
        match self {
            Sender::Peer(p) => p.group_id.as_deref(),
            _ => None,
        }
    }
}

/// Who a message is for.
pub enum To<'a> {
    /// One peer.
    Peer(&'a PeerRow),
    /// The person at the dashboard or CLI (no delivery rows: the feed shows it).
    Operator(OperatorKind),
    /// Everyone in a scope.
    Broadcast(Scope, &'a [PeerRow]),
    /// Several peers at once (notices of coordination features).
    Peers(&'a [PeerRow]),
}

/// A message to store.
pub struct Post<'a> {
    pub from: Sender<'a>,
    pub to: To<'a>,
    pub text: String,
    pub msg_type: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub context: Option<ContextSnapshot>,
}

/// Where a message goes in threads and chains, besides its recipients.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conversation {
    pub place: Placement,
    /// An agent's own message to other agents: counted by the loop guard.
    pub counted: bool,
}

/// What storing a message did.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: i64,
    /// Set when the loop guard held it (stored; no delivery yet).
    pub held: Option<HeldNotice>,
}

/// Store a message and its deliveries, and wake its recipients. Checks nothing:
/// callers have applied isolation, limits and validation.
pub fn post(t: &mut Tx<'_>, sh: &Arc<Shared>, p: Post<'_>) -> Result<i64> {
    Ok(post_with(t, sh, p, Conversation::default())?.id)
}

/// [`post`], in a thread and (if counted) in a chain of the loop guard.
pub fn post_with(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    p: Post<'_>,
    conv: Conversation,
) -> Result<Posted> {
    let session = sessions::on_activity(t, &sh.hub, &sh.activity)?;
    let from = p.from.party();
    let (to_kind, to_party, scope, recipients): (&str, Option<Party>, Option<Scope>, &[PeerRow]) =
        match &p.to {
            To::Peer(r) => ("peer", Some(r.party()), None, std::slice::from_ref(*r)),
            To::Operator(k) => (
                "operator",
                Some(Party {
                    kind: PartyKind::Operator,
                    id: k.id().into(),
                    name: k.id().into(),
                }),
                None,
                &[],
            ),
            To::Broadcast(scope, rs) => ("broadcast", None, Some(*scope), rs),
            To::Peers(rs) => ("group", None, None, rs),
        };
    let step = match &p.from {
        Sender::Peer(me) if conv.counted && !recipients.is_empty() => {
            Some(loops::step(t.conn, &me.id, sh.config.limits.chain_limit)?)
        }
        _ => None,
    };
    let metadata = p.metadata.as_ref().map(|m| m.to_string());
    let context = match &p.context {
        Some(c) => Some(
            serde_json::to_string(c).map_err(|e| crate::error::Error::Internal(e.to_string()))?,
        ),
        None => None,
    };
    t.conn
        .prepare_cached(
            "INSERT INTO messages (session_id, from_kind, from_id, from_name, group_id, to_kind, to_id,
               to_name, scope, text, msg_type, metadata, context, sent_at, thread_id, reply_to,
               chain_id, chain_depth, held)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )?
        .execute(params![
            session,
            audit::kind_str(from.kind),
            from.id,
            from.name,
            p.from.group().or_else(|| recipients.first().and_then(|r| r.group_id.as_deref())),
            to_kind,
            to_party.as_ref().map(|x| x.id.clone()),
            to_party.as_ref().map(|x| x.name.clone()),
            scope.map(Scope::as_str),
            p.text,
            p.msg_type,
            metadata,
            context,
            t.now,
            conv.place.thread_id,
            conv.place.reply_to,
            step.and_then(|s| s.chain_id),
            step.map_or(0, |s| s.depth),
            step.is_some_and(|s| s.hold),
        ])?;
    let id = t.conn.last_insert_rowid();
    let held = match step {
        Some(s) if s.hold => Some(loops::hold(t, sh, id, s, recipients)?),
        _ => {
            let to: Vec<(String, String)> = recipients
                .iter()
                .map(|r| (r.id.clone(), r.name.clone()))
                .collect();
            deliver(t, id, &to)?;
            match (step, &p.from) {
                (Some(s), _) => loops::advance(t, id, s, recipients)?,
                (None, Sender::Operator(_)) => loops::reset(t, recipients)?,
                _ => {}
            }
            None
        }
    };
    if sh.hub.has_subscribers()
        && let Some(view) = view(t.conn, id, Viewer::Full)?
    {
        t.effect(Effect::event(Event::Message { message: view }));
    }
    Ok(Posted { id, held })
}

/// Create the deliveries of stored message `id` for these recipients (id,
/// name) and wake them.
pub(crate) fn deliver(t: &mut Tx<'_>, id: i64, recipients: &[(String, String)]) -> Result<()> {
    {
        let mut stmt = t.conn.prepare_cached(
            "INSERT OR IGNORE INTO deliveries (recipient_id, message_id, recipient_name, state) VALUES (?1, ?2, ?3, 0)",
        )?;
        let mut count = t
            .conn
            .prepare_cached("UPDATE peers SET queued = queued + 1 WHERE id = ?1")?;
        for (rid, name) in recipients {
            if stmt.execute(params![rid, id, name])? > 0 {
                count.execute([rid])?;
            }
        }
    }
    for (rid, _) in recipients {
        t.effect(Effect::Wake(rid.clone()));
    }
    Ok(())
}

pub(crate) fn operator_recipient(to: &str) -> Option<OperatorKind> {
    match to.trim().to_ascii_lowercase().as_str() {
        "dashboard" => Some(OperatorKind::Dashboard),
        "cli" => Some(OperatorKind::Cli),
        _ => None,
    }
}

/// Why `target` cannot be reached: it exists in another group, or not at all.
pub(crate) fn unreachable_error(
    conn: &Connection,
    standing: &Standing,
    target: &str,
    err: crate::error::Error,
) -> crate::error::Error {
    match peers::resolve(conn, &Standing::Operator, target) {
        Ok(other) if !can_reach(standing, other.group_id.as_deref()) => ApiError::new(
            ErrorCode::DifferentGroup,
            format!("{target} is in a different isolation group; peers can only message peers of their own group"),
        )
        .into(),
        _ => err,
    }
}

/// Check the recipient's queue has room (the count of queued deliveries is
/// kept on the peer row, so this is O(1)).
pub(crate) fn check_queue(conn: &Connection, sh: &Shared, to: &PeerRow) -> Result<()> {
    let limit = sh.config.limits.queue_depth;
    let queued: u32 = conn
        .prepare_cached("SELECT queued FROM peers WHERE id = ?1")?
        .query_row([&to.id], |r| r.get(0))?;
    if queued >= limit {
        return Err(ApiError::new(
            ErrorCode::QueueFull,
            format!(
                "{}'s queue is full: {queued} messages are waiting to be delivered (limit {limit}); it is probably not connected",
                to.name
            ),
        )
        .into());
    }
    Ok(())
}

/// The `msg_type` of a status update (`status: true`).
pub const STATUS_TYPE: &str = "status";

/// The text of a send: a status update is short and typed `status`.
fn text_of(raw: &str, status: bool) -> Result<(String, Option<String>)> {
    Ok(if status {
        (
            validate::status_text("text", raw)?,
            Some(STATUS_TYPE.to_string()),
        )
    } else {
        (validate::message_text("text", raw)?, None)
    })
}

/// Send one message (`send_message`).
pub fn send(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &SendRequest,
) -> Result<SendResult> {
    let (text, msg_type) = text_of(&req.text, req.status)?;
    let context = req.context.as_ref().map(validate::context).transpose()?;
    let place = threads::reply(t.conn, actor, req.reply_to)?;
    let (standing, me) = standing(t.conn, actor)?;
    let from = Sender::of(actor, me.as_ref());
    if let Some(kind) = operator_recipient(&req.to) {
        let id = post_with(
            t,
            sh,
            Post {
                from,
                to: To::Operator(kind),
                text,
                msg_type,
                metadata: None,
                context,
            },
            Conversation {
                place,
                counted: false,
            },
        )?
        .id;
        return Ok(SendResult {
            message_id: id,
            to: Party {
                kind: PartyKind::Operator,
                id: kind.id().into(),
                name: kind.id().into(),
            },
            state: DeliveryState::Delivered,
            recipient_connected: true,
            held: None,
        });
    }
    let target = peers::resolve(t.conn, &standing, &req.to)
        .map_err(|e| unreachable_error(t.conn, &standing, &req.to, e))?;
    if me.as_ref().is_some_and(|m| m.id == target.id) {
        return Err(ApiError::invalid("to", "you cannot send a message to yourself").into());
    }
    check_queue(t.conn, sh, &target)?;
    if let Some(me) = &me {
        loops::check_pair(sh, me, &target)?;
    }
    let posted = post_with(
        t,
        sh,
        Post {
            from,
            to: To::Peer(&target),
            text,
            msg_type,
            metadata: None,
            context,
        },
        Conversation {
            place,
            counted: !req.status,
        },
    )?;
    Ok(SendResult {
        message_id: posted.id,
        to: target.party(),
        state: DeliveryState::Queued,
        recipient_connected: sh.hub.is_connected(&target.id),
        held: posted.held,
    })
}

/// Send one message to every peer in a scope of the caller's group (`broadcast_message`).
pub fn broadcast(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &BroadcastRequest,
) -> Result<BroadcastResult> {
    let (text, msg_type) = text_of(&req.text, req.status)?;
    let context = req.context.as_ref().map(validate::context).transpose()?;
    let place = threads::reply(t.conn, actor, req.reply_to)?;
    let (standing, me) = standing(t.conn, actor)?;
    let everyone = peers::visible(t.conn, &standing)?;
    let (from, candidates) = match (&me, actor) {
        (Some(me), _) => {
            if req.origin.is_some() {
                return Err(ApiError::invalid(
                    "origin",
                    "'origin' is for the operator; a peer broadcasts from where it registered",
                )
                .into());
            }
            (
                Sender::Peer(me),
                peers::in_scope(everyone, me, req.scope)
                    .into_iter()
                    .filter(|p| p.id != me.id)
                    .collect::<Vec<_>>(),
            )
        }
        (None, Actor::Operator(k)) => {
            let targets = match (&req.origin, req.scope) {
                (_, Scope::Machine) => everyone,
                (Some(o), scope) => {
                    let cwd = validate::required_line("origin.cwd", &o.cwd, MAX_PATH_BYTES)?;
                    let repo = validate::optional_line(
                        "origin.git_common_dir",
                        o.git_common_dir.as_deref(),
                        MAX_PATH_BYTES,
                    )?;
                    peers::in_scope_of(everyone, &cwd, repo.as_deref(), scope)
                }
                (None, _) => {
                    return Err(ApiError::invalid(
                        "origin",
                        "a 'directory' or 'repo' broadcast by the operator needs 'origin' (the directory it is aimed at)",
                    )
                    .into());
                }
            };
            (Sender::Operator(*k), targets)
        }
        (None, Actor::Peer(_)) => return Err(ApiError::forbidden("unknown sender").into()),
    };
    let mut recipients = Vec::new();
    for p in candidates {
        if check_queue(t.conn, sh, &p).is_ok() {
            recipients.push(p);
        } else {
            tracing::warn!(peer = %p.name, "broadcast skips a peer whose queue is full");
        }
    }
    let posted = post_with(
        t,
        sh,
        Post {
            from,
            to: To::Broadcast(req.scope, &recipients),
            text,
            msg_type,
            metadata: None,
            context,
        },
        Conversation {
            place,
            counted: !req.status,
        },
    )?;
    let connected = recipients
        .iter()
        .filter(|p| sh.hub.is_connected(&p.id))
        .count() as u32;
    Ok(BroadcastResult {
        message_id: posted.id,
        recipients: recipients.iter().map(PeerRow::party).collect(),
        connected,
        held: posted.held,
    })
}

/// Whose view of a message to build.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    /// Sender or operator: every delivery.
    Full,
    /// A recipient: only its own delivery.
    Recipient(&'a str),
    /// A peer that sent or received it: every delivery if it sent it, else its own.
    Party(&'a str),
}

struct MessageRow {
    id: i64,
    from: Party,
    to: Option<Party>,
    scope: Option<String>,
    group_id: Option<String>,
    group_name: Option<String>,
    text: String,
    msg_type: Option<String>,
    metadata: Option<String>,
    context: Option<String>,
    pinned: bool,
    sent_at: i64,
    thread_id: Option<i64>,
    reply_to: Option<i64>,
    chain_depth: u32,
    held: bool,
}

fn load(conn: &Connection, id: i64) -> Result<Option<MessageRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.id, m.from_kind, m.from_id, m.from_name, m.to_kind, m.to_id, m.to_name, m.scope,
                    m.group_id, (SELECT g.name FROM groups g WHERE g.id = m.group_id), m.text, m.msg_type,
                    m.metadata, m.context, m.pinned, m.sent_at, m.thread_id, m.reply_to,
                    m.chain_depth, m.held
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
                from: Party { kind: audit::kind_from(&r.get::<_, String>(1)?), id: r.get(2)?, name: r.get(3)? },
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
            })
        })
        .optional()?)
}

fn scope_from(s: &str) -> Option<Scope> {
    match s {
        "machine" => Some(Scope::Machine),
        "directory" => Some(Scope::Directory),
        "repo" => Some(Scope::Repo),
        _ => None,
    }
}

/// Build the API view of message `id` for `viewer`.
pub fn view(conn: &Connection, id: i64, viewer: Viewer<'_>) -> Result<Option<MessageView>> {
    let Some(m) = load(conn, id)? else {
        return Ok(None);
    };
    let mut deliveries = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT recipient_id, recipient_name, state, delivered_at, read_at FROM deliveries
             WHERE message_id = ?1 AND (?2 IS NULL OR recipient_id = ?2) ORDER BY recipient_name",
        )?;
        let only = match viewer {
            Viewer::Full => None,
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
    {
        let mut stmt = conn.prepare_cached(
            "SELECT emoji, party_kind, party_id, party_name FROM reactions WHERE message_id = ?1 ORDER BY created_at, emoji",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Party {
                    kind: audit::kind_from(&r.get::<_, String>(1)?),
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
    Ok(Some(MessageView {
        id: m.id,
        from: m.from,
        to: m.to,
        scope: m.scope.as_deref().and_then(scope_from),
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
    }))
}

fn views(conn: &Connection, ids: Vec<i64>, viewer: Viewer<'_>) -> Result<Vec<MessageView>> {
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
        .collect::<rusqlite::Result<_>>()?;
    views(conn, ids, Viewer::Recipient(peer))
}

/// How many unread messages `peer` has.
pub fn unread_count(conn: &Connection, peer: &str) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM deliveries WHERE recipient_id = ?1 AND state < 2")?
        .query_row([peer], |r| r.get(0))?)
}

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
            .collect::<rusqlite::Result<_>>()?,
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
        .collect::<rusqlite::Result<_>>()?;
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
        .collect::<rusqlite::Result<_>>()?;
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
        .collect::<rusqlite::Result<_>>()?;
    views(conn, ids, Viewer::Full)
}

/// The session's pinned messages, oldest first.
pub fn pinned(conn: &Connection, session: &str) -> Result<Vec<MessageView>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE session_id = ?1 AND pinned = 1 ORDER BY id LIMIT 200",
        )?
        .query_map([session], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    views(conn, ids, Viewer::Full)
}

/// The message if `actor` may act on it (its sender, a recipient, or the operator).
fn visible_to(conn: &Connection, actor: &Actor, id: i64) -> Result<MessageRow> {
    let m =
        load(conn, id)?.ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    match actor {
        Actor::Operator(_) => Ok(m),
        Actor::Peer(me) => {
            let recipient = conn
                .prepare_cached(
                    "SELECT 1 FROM deliveries WHERE recipient_id = ?1 AND message_id = ?2",
                )?
                .query_row(params![me, id], |_| Ok(()))
                .optional()?
                .is_some();
            if m.from.id == *me || recipient {
                Ok(m)
            } else {
                Err(ApiError::not_found(format!(
                    "no message with id {id} that you sent or received"
                ))
                .into())
            }
        }
    }
}

fn actor_as_party(conn: &Connection, actor: &Actor) -> Result<Party> {
    Ok(match actor {
        Actor::Peer(id) => peers::require(conn, id)?.party(),
        other => actor_party(other),
    })
}

/// Pin or unpin a message.
pub fn pin(t: &mut Tx<'_>, sh: &Arc<Shared>, actor: &Actor, id: i64, pinned: bool) -> Result<()> {
    let m = visible_to(t.conn, actor, id)?;
    t.conn.execute(
        "UPDATE messages SET pinned = ?2 WHERE id = ?1",
        params![id, pinned],
    )?;
    let who = actor_as_party(t.conn, actor)?;
    let preview: String = m.text.chars().take(60).collect();
    audit::record(
        t,
        &sh.hub,
        &who,
        if pinned {
            "message.pin"
        } else {
            "message.unpin"
        },
        &format!("#{id}: {preview}"),
        m.group_id.as_deref(),
    )?;
    t.effect(Effect::event(Event::Pin {
        message_id: id,
        pinned,
    }));
    Ok(())
}

/// Add or remove a reaction.
pub fn react(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: i64,
    emoji: &str,
    remove: bool,
) -> Result<()> {
    if !is_reaction(emoji) {
        return Err(ApiError::invalid(
            "emoji",
            format!("invalid emoji {emoji:?}; use one of {}", reaction_list()),
        )
        .into());
    }
    let m = visible_to(t.conn, actor, id)?;
    let who = actor_as_party(t.conn, actor)?;
    let changed = if remove {
        t.conn.execute(
            "DELETE FROM reactions WHERE message_id = ?1 AND party_id = ?2 AND emoji = ?3",
            params![id, who.id, emoji],
        )?
    } else {
        t.conn.execute(
            "INSERT OR IGNORE INTO reactions (message_id, party_id, party_kind, party_name, emoji, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, who.id, audit::kind_str(who.kind), who.name, emoji, t.now],
        )?
    };
    if changed > 0 {
        audit::record(
            t,
            &sh.hub,
            &who,
            if remove {
                "reaction.remove"
            } else {
                "reaction.add"
            },
            &format!("{emoji} on #{id}"),
            m.group_id.as_deref(),
        )?;
        t.effect(Effect::event(Event::Reaction {
            message_id: id,
            emoji: emoji.to_string(),
            by: who,
            added: !remove,
        }));
    }
    Ok(())
}

/// Delete messages older than `cutoff` with everything that hangs off them.
pub fn expire(t: &mut Tx<'_>, cutoff: i64) -> Result<usize> {
    t.conn.execute(
        "DELETE FROM held WHERE message_id IN (SELECT id FROM messages WHERE sent_at < ?1)",
        [cutoff],
    )?;
    t.conn.execute(
        "DELETE FROM record_threads WHERE message_id IN (SELECT id FROM messages WHERE sent_at < ?1)",
        [cutoff],
    )?;
    t.conn.execute(
        "DELETE FROM deliveries WHERE message_id IN (SELECT id FROM messages WHERE sent_at < ?1)",
        [cutoff],
    )?;
    t.conn.execute(
        "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE sent_at < ?1)",
        [cutoff],
    )?;
    Ok(t.conn
        .execute("DELETE FROM messages WHERE sent_at < ?1", [cutoff])?)
}
