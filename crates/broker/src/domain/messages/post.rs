//! Posting: the one place a message and its deliveries are stored and its
//! recipients woken ([`post`], [`post_with`]: in a thread, through the loop
//! guard), the sends built on it (`send_message`, `broadcast_message`), the
//! recipient's queue limit, and retention.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::api::{
    BroadcastRequest, BroadcastResult, ContextSnapshot, DeliveryState, HeldNotice, Party,
    PartyKind, Scope, SendRequest, SendResult,
};
use claude_peers_proto::limits::MAX_PATH_BYTES;
use claude_peers_proto::stream::Event;
use claude_peers_proto::{ApiError, ErrorCode, validate};

use crate::domain::context::Shared;
use crate::domain::groups;
use crate::domain::loops;
use crate::domain::messages::deliveries::deliver;
use crate::domain::messages::views::{MessageRow, Viewer, view};
use crate::domain::peers::resolve::{resolve, unreachable_error};
use crate::domain::peers::rows::{self as peers, PeerRow, standing};
use crate::domain::rules::{Actor, OperatorKind};
use crate::domain::sessions;
use crate::domain::threads::{self, Placement};
use crate::error::Result;
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
            Sender::Operator(k) => k.party(),
            Sender::System => Party {
                kind: PartyKind::System,
                id: "system".into(),
                name: "claude-peers".into(),
            },
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

/// The `msg_type` of a status update (`status: true`).
pub const STATUS_TYPE: &str = "status";

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
            To::Operator(k) => ("operator", Some(k.party()), None, &[]),
            To::Broadcast(scope, rs) => ("broadcast", None, Some(*scope), rs),
            To::Peers(rs) => ("group", None, None, rs),
        };
    let step = match &p.from {
        Sender::Peer(me) if conv.counted && !recipients.is_empty() => {
            Some(loops::step(t.conn, &me.id, sh.config.limits.chain_limit)?)
        }
        _ => None,
    };
    // The message's group: the sender's, else its first recipient's.
    let in_group = match &p.from {
        Sender::Peer(me) if me.group_id.is_some() => Some(*me),
        _ => recipients.first().filter(|r| r.group_id.is_some()),
    };
    let metadata = p.metadata.as_ref().map(|m| m.to_string());
    let context = match &p.context {
        Some(c) => Some(
            serde_json::to_string(c).map_err(|e| crate::error::Error::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let id: i64 = t
        .conn
        .prepare_cached(
            "INSERT INTO messages (session_id, from_kind, from_id, from_name, group_id, to_kind, to_id,
               to_name, scope, text, msg_type, metadata, context, sent_at, thread_id, reply_to,
               chain_id, chain_depth, held)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
             RETURNING id",
        )?
        .query_row(
            params![
            session,
            from.kind.as_str(),
            from.id,
            from.name,
            in_group.and_then(|r| r.group_id.as_deref()),
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
            ],
            |r| r.get(0),
        )?;
    let held = match step {
        Some(s) if s.hold => Some(loops::hold(t, sh, id, s, recipients)?),
        _ => {
            // The chains first: written deferred, they travel with the
            // deliveries and the message's read.
            match (step, &p.from) {
                (Some(s), _) => loops::advance(t, id, s, recipients)?,
                (None, Sender::Operator(_)) => loops::reset(t, recipients)?,
                _ => {}
            }
            let to: Vec<(String, String)> = recipients
                .iter()
                .map(|r| (r.id.clone(), r.name.clone()))
                .collect();
            // The message as its recipients' streams get it, from what was
            // just stored rather than read back.
            let stored = MessageRow {
                id,
                from,
                to: to_party,
                scope: scope.map(|s| s.as_str().to_string()),
                group_id: in_group.and_then(|r| r.group_id.clone()),
                group_name: in_group.and_then(|r| r.group_name.clone()),
                text: p.text.clone(),
                msg_type: p.msg_type.clone(),
                metadata,
                context,
                pinned: false,
                sent_at: t.now,
                thread_id: conv.place.thread_id,
                reply_to: conv.place.reply_to,
                chain_depth: step.map_or(0, |s| s.depth),
                held: false,
                reacted: false,
            };
            deliver(t, id, &to, Some(stored.into_view(Vec::new(), Vec::new())))?;
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

/// The operator a recipient names (`dashboard` or `cli`), if it names one.
pub fn operator_recipient(to: &str) -> Option<OperatorKind> {
    OperatorKind::named(to)
}

/// Check the recipient's queue has room: the count of queued deliveries is
/// kept on the peer row, read with it (in the writer's transaction, so
/// current), and this reads nothing more.
pub fn check_queue(sh: &Shared, to: &PeerRow) -> Result<()> {
    let limit = sh.config.limits.queue_depth;
    let queued = to.queued;
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

/// What a message says: its text and, for structured and coordination
/// messages, its type and fields (metadata), and the sender's context.
pub struct Body {
    pub text: String,
    pub msg_type: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub context: Option<ContextSnapshot>,
    /// Its thread, and whether the loop guard counts it.
    pub conv: Conversation,
}

/// A message stored for one recipient, and who that was.
pub struct Sent {
    pub result: SendResult,
    /// The recipient peer (`None`: the operator).
    pub target: Option<PeerRow>,
    /// The sender's peer row (`None`: the operator).
    pub me: Option<PeerRow>,
}

/// The one send path to a single recipient named by `to` (a peer's name or
/// id, or `dashboard`/`cli`), for plain and structured messages: isolation
/// (resolution among reachable peers), no message to oneself, the
/// recipient's queue limit, then [`post`]. Validation of the body is the
/// caller's.
pub fn send_to(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    to: &str,
    body: Body,
) -> Result<Sent> {
    let (standing, me) = standing(t.conn, actor)?;
    let from = Sender::of(actor, me.as_ref());
    if let Some(kind) = operator_recipient(to) {
        // A message to a person is never counted in a chain.
        let conv = Conversation {
            counted: false,
            ..body.conv
        };
        let id = post_with(t, sh, body.to(from, To::Operator(kind)), conv)?.id;
        let result = SendResult {
            message_id: id,
            to: kind.party(),
            state: DeliveryState::Delivered,
            recipient_connected: true,
            held: None,
            reach: None,
        };
        return Ok(Sent {
            result,
            target: None,
            me,
        });
    }
    let target =
        resolve(t.conn, &standing, to).map_err(|e| unreachable_error(t.conn, &standing, to, e))?;
    if me.as_ref().is_some_and(|m| m.id == target.id) {
        return Err(ApiError::invalid("to", "you cannot send a message to yourself").into());
    }
    check_queue(sh, &target)?;
    if let Some(me) = &me {
        loops::check_pair(sh, me, &target)?;
    }
    let conv = body.conv;
    let posted = post_with(t, sh, body.to(from, To::Peer(&target)), conv)?;
    let connected = sh.hub.is_connected(&target.id);
    let result = SendResult {
        message_id: posted.id,
        to: target.party(),
        state: DeliveryState::Queued,
        recipient_connected: connected,
        reach: Some(sh.hub.reach.get(&target.id).recipient(connected)),
        held: posted.held,
    };
    Ok(Sent {
        result,
        target: Some(target),
        me,
    })
}

impl Body {
    /// A plain message (no type, no fields), in no thread, not counted.
    pub fn plain(text: String, context: Option<ContextSnapshot>) -> Self {
        Self {
            text,
            msg_type: None,
            metadata: None,
            context,
            conv: Conversation::default(),
        }
    }

    /// An agent's message or status update (`status`): typed `status` and
    /// short if it is one; counted by the loop guard if it is not.
    fn said(
        raw: &str,
        status: bool,
        context: Option<ContextSnapshot>,
        place: Placement,
    ) -> Result<Self> {
        let (text, msg_type) = if status {
            (
                validate::status_text("text", raw)?,
                Some(STATUS_TYPE.to_string()),
            )
        } else {
            (validate::message_text("text", raw)?, None)
        };
        Ok(Self {
            text,
            msg_type,
            metadata: None,
            context,
            conv: Conversation {
                place,
                counted: !status,
            },
        })
    }

    fn to<'a>(self, from: Sender<'a>, to: To<'a>) -> Post<'a> {
        Post {
            from,
            to,
            text: self.text,
            msg_type: self.msg_type,
            metadata: self.metadata,
            context: self.context,
        }
    }
}

/// Send one message (`send_message`). Every check (the body, `reply_to`,
/// the recipient, the queue and pair limits) comes before the first change,
/// so it runs without a savepoint of its own
/// ([`Store::write_checked`](crate::runtime::store::Store::write_checked)).
pub fn send(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &SendRequest,
) -> Result<SendResult> {
    let context = req.context.as_ref().map(validate::context).transpose()?;
    let place = threads::reply(t.conn, actor, req.reply_to)?;
    let body = Body::said(&req.text, req.status, context, place)?;
    Ok(send_to(t, sh, actor, &req.to, body)?.result)
}

/// The one send path to several recipients (a broadcast, a group): those
/// whose queue is full are skipped; one message, a delivery row each.
fn fan_out(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    from: Sender<'_>,
    recipients: &[PeerRow],
    scope: Option<Scope>,
    body: Body,
) -> Result<BroadcastResult> {
    let to = match scope {
        Some(scope) => To::Broadcast(scope, recipients),
        None => To::Peers(recipients),
    };
    let conv = body.conv;
    let posted = post_with(t, sh, body.to(from, to), conv)?;
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

/// The peers among `candidates` whose queue has room (the others are skipped
/// with a warning).
fn with_room(sh: &Shared, candidates: Vec<PeerRow>) -> Vec<PeerRow> {
    candidates
        .into_iter()
        .filter(|p| {
            let ok = check_queue(sh, p).is_ok();
            if !ok {
                tracing::warn!(peer = %p.name, "a message to several skips a peer whose queue is full");
            }
            ok
        })
        .collect()
}

/// Send one message to every peer in a scope of the caller's group (`broadcast_message`).
pub fn broadcast(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &BroadcastRequest,
) -> Result<BroadcastResult> {
    let context = req.context.as_ref().map(validate::context).transpose()?;
    let place = threads::reply(t.conn, actor, req.reply_to)?;
    let body = Body::said(&req.text, req.status, context, place)?;
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
    let recipients = with_room(sh, candidates);
    fan_out(t, sh, from, &recipients, Some(req.scope), body)
}

/// The operator writes to one isolation group at once (the dashboard's
/// "group" compose scope): one message, a delivery row per member.
pub fn to_group(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    operator: OperatorKind,
    group: &str,
    text: &str,
) -> Result<BroadcastResult> {
    let text = validate::message_text("text", text)?;
    let Some(gid) = groups::find(t.conn, group)? else {
        return Err(ApiError::not_found(format!("no group {group:?}")).into());
    };
    let members = with_room(sh, peers::in_namespace(t.conn, Some(&gid))?);
    if members.is_empty() {
        return Err(ApiError::invalid("id", "that group has no members to write to").into());
    }
    fan_out(
        t,
        sh,
        Sender::Operator(operator),
        &members,
        None,
        Body::plain(text, None),
    )
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
