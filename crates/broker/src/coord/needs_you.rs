//! The "needs you" lane: everything waiting on the person, gathered from the
//! features that own it (permission requests, approvals, verifications,
//! proposals, messages to the operator) plus the one thing only this module
//! knows: **unreachable mail**, a direct message its recipient has not read for
//! longer than the threshold while not connected. Its sender is told once (a
//! message from the broker), so agents stop waiting silently. What the operator
//! has marked read or dismissed is kept in `kv`. Blocked tasks and the chains
//! the loop guard holds are listed too, each by its own function.

use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, Engine, OptionalExtension, params};
use claude_peers_proto::api::{Party, PartyKind};
use claude_peers_proto::coord::{
    ApprovalView, ProposalStatus, ProposalView, TaskStatus, TaskView, VerificationView,
};
use claude_peers_proto::needs_you::{ItemKind, NeedsYouItem};
use claude_peers_proto::time::rfc3339;

use crate::coord::record::Record;
use crate::coord::{GroupFilter, preview, record};
use crate::domain::context::Shared;
use crate::domain::loops;
use crate::domain::messages::{self, Post, Sender, To};
use crate::domain::peers;
use crate::error::Result;
use crate::runtime::store::Tx;

/// `kv` key: the operator has seen messages up to this id.
const READ_UPTO_KEY: &str = "operator_read_upto";
/// `kv` key prefix of unreachable mail: `unreachable:<message id>:<recipient id>`,
/// value `told` (the sender was told) or `dismissed` (the operator took it out).
const UNREACHABLE_PREFIX: &str = "unreachable:";
/// Characters of a detail's preview in titles.
const TITLE_PREVIEW: usize = claude_peers_proto::limits::NEEDS_YOU_PREVIEW_CHARS;

fn kind_from(s: &str) -> PartyKind {
    PartyKind::parse_or_system(s)
}

/// A direct message unread by a recipient that is not connected.
#[derive(Debug, Clone)]
pub struct Unreachable {
    pub message_id: i64,
    pub recipient: Party,
    pub from: Party,
    pub text: String,
    pub sent_at: i64,
    /// `None`: nobody has been told yet.
    pub mark: Option<String>,
}

impl Unreachable {
    fn key(&self) -> String {
        format!(
            "{UNREACHABLE_PREFIX}{}:{}",
            self.message_id, self.recipient.id
        )
    }

    pub fn item(&self) -> NeedsYouItem {
        NeedsYouItem {
            kind: ItemKind::UnreachableMail,
            id: self.message_id.to_string(),
            title: format!(
                "{} has not read {}'s message: {}",
                self.recipient.name,
                self.from.name,
                preview(&self.text, TITLE_PREVIEW)
            ),
            detail: self.text.clone(),
            from: self.from.clone(),
            to: Some(self.recipient.clone()),
            at: rfc3339(self.sent_at),
            resolve: format!(
                "{} is not connected: resume that session, or dismiss (claude-peers inbox dismiss {} {})",
                self.recipient.name, self.message_id, self.recipient.id
            ),
        }
    }
}

/// Unread direct messages older than `after_ms` whose recipient is not in
/// `connected`, newest first (dismissed ones left out).
pub fn unreachable(
    conn: &Connection,
    connected: &[String],
    now: i64,
    after_ms: i64,
    limit: u32,
) -> Result<Vec<Unreachable>> {
    let cutoff = now - after_ms;
    let Some(upto) = newest_sent_by(conn, cutoff)? else {
        return Ok(Vec::new());
    };
    let connected = serde_json::to_string(connected).unwrap_or_else(|_| "[]".into());
    // Per recipient through `deliveries_state` (recipient, state, message):
    // only the unread deliveries of messages old enough are visited, not
    // every delivery in the table (this runs on every maintenance tick).
    // SQLite is told so (CROSS JOIN, INDEXED BY); PostgreSQL's planner finds it.
    let mut stmt = conn.prepare_cached(match conn.engine() {
        Engine::Sqlite => {
            "SELECT d.message_id, d.recipient_id, d.recipient_name, m.from_kind, m.from_id, m.from_name,
                m.text, m.sent_at,
                (SELECT value FROM kv WHERE key = ?4 || d.message_id || ':' || d.recipient_id)
         FROM peers p
         CROSS JOIN deliveries d INDEXED BY deliveries_state
           ON d.recipient_id = p.id AND d.state IN (0, 1) AND d.message_id <= ?5
         JOIN messages m ON m.id = d.message_id
         WHERE p.id NOT IN (SELECT value FROM json_each(?2))
           AND m.sent_at <= ?1 AND m.to_kind = 'peer' AND m.from_kind != 'system'
         ORDER BY d.message_id DESC LIMIT ?3"
        }
        Engine::Postgres => {
            "SELECT d.message_id, d.recipient_id, d.recipient_name, m.from_kind, m.from_id, m.from_name,
                m.text, m.sent_at,
                (SELECT value FROM kv WHERE key = ?4 || d.message_id || ':' || d.recipient_id)
         FROM peers p
         JOIN deliveries d
           ON d.recipient_id = p.id AND d.state IN (0, 1) AND d.message_id <= ?5
         JOIN messages m ON m.id = d.message_id
         WHERE p.id NOT IN (SELECT json_array_elements_text(CAST(?2 AS JSON)))
           AND m.sent_at <= ?1 AND m.to_kind = 'peer' AND m.from_kind != 'system'
         ORDER BY d.message_id DESC LIMIT ?3"
        }
    })?;
    let rows = stmt.query_map(
        params![cutoff, connected, limit, UNREACHABLE_PREFIX, upto],
        |r| {
            Ok(Unreachable {
                message_id: r.get(0)?,
                recipient: Party {
                    kind: PartyKind::Peer,
                    id: r.get(1)?,
                    name: r.get(2)?,
                },
                from: Party {
                    kind: kind_from(&r.get::<_, String>(3)?),
                    id: r.get(4)?,
                    name: r.get(5)?,
                },
                text: r.get(6)?,
                sent_at: r.get(7)?,
                mark: r.get(8)?,
            })
        },
    )?;
    let all: Vec<Unreachable> = rows.collect::<sql::Result<_>>()?;
    Ok(all
        .into_iter()
        .filter(|u| u.mark.as_deref() != Some("dismissed"))
        .collect())
}

/// The id of the newest message sent at or before `cutoff` (`None`: none
/// is that old), by bisection over ids: the writer stamps messages in id
/// order, so `sent_at` grows with the id. Should the clock step back, a
/// message stamped out of order is found once the cutoff passes its
/// neighbours, never lost.
fn newest_sent_by(conn: &Connection, cutoff: i64) -> Result<Option<i64>> {
    let mut at =
        conn.prepare_cached("SELECT id, sent_at FROM messages WHERE id >= ?1 ORDER BY id LIMIT 1")?;
    let mut first = |id: i64| -> sql::Result<Option<(i64, i64)>> {
        at.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    };
    let Some((lo_id, lo_sent)) = first(i64::MIN)? else {
        return Ok(None);
    };
    if lo_sent > cutoff {
        return Ok(None);
    }
    let hi: i64 = conn
        .prepare_cached("SELECT max(id) FROM messages")?
        .query_row([], |r| r.get(0))?;
    // Invariant: the message at `lo` is old enough; nothing above `hi` is
    // (or `hi` is the newest id).
    let (mut lo, mut hi) = (lo_id, hi);
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        match first(mid)? {
            Some((id, sent)) if sent <= cutoff => lo = id,
            _ => hi = mid - 1,
        }
    }
    Ok(Some(lo))
}

/// Tell the sender of each not-yet-told unreachable mail, once. Returns the
/// items that are new in the lane.
pub fn tell_senders(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    found: &[Unreachable],
) -> Result<Vec<NeedsYouItem>> {
    let mut new = Vec::new();
    for u in found.iter().filter(|u| u.mark.is_none()) {
        let inserted = t
            .conn
            .prepare_cached("INSERT OR IGNORE INTO kv (key, value) VALUES (?1, 'told')")?
            .execute([u.key()])?;
        if inserted == 0 {
            continue;
        }
        new.push(u.item());
        if u.from.kind != PartyKind::Peer {
            continue;
        }
        let Some(sender) = peers::get(t.conn, &u.from.id)?.filter(|p| p.removed_at.is_none())
        else {
            continue;
        };
        let minutes = ((t.now - u.sent_at) / 60_000).max(1);
        let text = format!(
            "Your message #{} to {} has not been read for {minutes} minute{} and {} is not connected. \
             It stays queued and is delivered if {} comes back; do not wait for an answer. \
             The person running the sessions has been told.",
            u.message_id,
            u.recipient.name,
            if minutes == 1 { "" } else { "s" },
            u.recipient.name,
            u.recipient.name
        );
        messages::post(
            t,
            sh,
            Post {
                from: Sender::System,
                to: To::Peer(&sender),
                text,
                msg_type: None,
                metadata: None,
                context: None,
            },
        )?;
    }
    Ok(new)
}

/// The operator took an unreachable mail out of the lane.
pub fn dismiss(t: &mut Tx<'_>, message_id: i64, recipient: &str) -> Result<()> {
    t.conn
        .prepare_cached(
            "INSERT INTO kv (key, value) VALUES (?1, 'dismissed')
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute([format!("{UNREACHABLE_PREFIX}{message_id}:{recipient}")])?;
    Ok(())
}

/// The operator has seen messages up to `upto`.
pub fn mark_read(t: &mut Tx<'_>, upto: i64) -> Result<()> {
    t.conn
        .prepare_cached(
            "INSERT INTO kv (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = CAST(
                 max(CAST(kv.value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
        )?
        .execute(params![READ_UPTO_KEY, upto])?;
    Ok(())
}

/// Forget marks of messages that no longer exist (retention).
pub fn forget_marks(t: &mut Tx<'_>) -> Result<usize> {
    Ok(t.conn
        .prepare_cached(
            "DELETE FROM kv WHERE substr(key, 1, 12) = 'unreachable:' AND NOT EXISTS (
               SELECT 1 FROM messages m
               WHERE m.id = CAST(substr(key, 13, instr(substr(key, 13), ':') - 1) AS INTEGER))",
        )?
        .execute([])?)
}

/// Messages to the operator not marked read, newest first.
fn operator_messages(conn: &Connection, limit: u32) -> Result<Vec<NeedsYouItem>> {
    let upto: i64 = conn
        .query_row(
            "SELECT value FROM kv WHERE key = ?1",
            [READ_UPTO_KEY],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut stmt = conn.prepare_cached(
        "SELECT id, from_kind, from_id, from_name, text, sent_at, to_id FROM messages
         WHERE to_kind = 'operator' AND id > ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![upto, limit], |r| {
        let id: i64 = r.get(0)?;
        let from = Party {
            kind: kind_from(&r.get::<_, String>(1)?),
            id: r.get(2)?,
            name: r.get(3)?,
        };
        let text: String = r.get(4)?;
        Ok(NeedsYouItem {
            kind: ItemKind::Message,
            id: id.to_string(),
            title: format!("{} wrote: {}", from.name, preview(&text, TITLE_PREVIEW)),
            detail: text,
            to: None,
            at: rfc3339(r.get(5)?),
            resolve: format!(
                "reply (claude-peers send {} …) and mark read (claude-peers inbox read {id})",
                from.name
            ),
            from,
        })
    })?;
    Ok(rows.collect::<sql::Result<_>>()?)
}

/// Tasks their assignee marked blocked (resolved when the assignee goes on,
/// or the task is completed).
fn blocked_tasks(conn: &Connection, session: &str, limit: u32) -> Result<Vec<NeedsYouItem>> {
    Ok(record::query::<TaskView>(
        conn,
        &GroupFilter::All,
        session,
        Some(TaskStatus::Blocked),
        limit,
    )?
    .into_iter()
    .map(|t| {
        let who = t.assignee.clone().unwrap_or_else(|| t.creator.clone());
        NeedsYouItem {
            kind: ItemKind::BlockedTask,
            title: format!(
                "{} is blocked on {}",
                who.name,
                preview(&t.title, TITLE_PREVIEW)
            ),
            detail: t.blocked_reason.clone(),
            resolve: format!(
                "help {} (claude-peers send {} …), or complete the task in the dashboard",
                who.name, who.name
            ),
            from: who,
            to: None,
            at: t.started_at.clone().unwrap_or_else(|| t.created_at.clone()),
            id: t.id,
        }
    })
    .collect())
}

/// Chains the loop guard holds until a person releases them.
fn held_loops(conn: &Connection, sh: &Shared, limit: u32) -> Result<Vec<NeedsYouItem>> {
    Ok(loops::held(conn, sh)?
        .into_iter()
        .take(limit as usize)
        .map(|c| {
            let names: Vec<&str> = c.peers.iter().map(|p| p.name.as_str()).collect();
            NeedsYouItem {
                kind: ItemKind::HeldLoop,
                id: c.chain_id.to_string(),
                title: format!(
                    "a loop between {} is held ({} message{}, depth {} of {})",
                    names.join(", "),
                    c.held,
                    if c.held == 1 { "" } else { "s" },
                    c.depth,
                    c.limit
                ),
                detail: c.preview.clone(),
                from: c.peers.first().cloned().unwrap_or(Party {
                    kind: PartyKind::System,
                    id: String::new(),
                    name: "loop guard".into(),
                }),
                to: None,
                at: c.since.clone(),
                resolve: format!("claude-peers release {}", c.chain_id),
            }
        })
        .collect())
}

/// The pending records of `session` addressed to the person (the addressee's
/// kind is in column `kind`), newest first: their own query, so that requests
/// between peers never crowd them out of the page.
fn waiting_on_person<R: Record>(
    conn: &Connection,
    session: &str,
    kind: &str,
    limit: u32,
) -> Result<Vec<R>> {
    let a = R::ALIAS;
    let mut stmt = conn.prepare_cached(&format!(
        "{} WHERE {a}.session_id = ?1 AND {a}.{kind} = ?2 AND {a}.status = 'pending'
         ORDER BY {a}.created_at DESC, {a}.id DESC LIMIT ?3",
        R::select()
    ))?;
    let rows = stmt.query_map(
        params![session, PartyKind::Operator.as_str(), limit],
        R::from_row,
    )?;
    Ok(rows.collect::<sql::Result<_>>()?)
}

/// Everything waiting on the operator, newest first. `permissions` are the
/// pending permission requests (kept in memory by the relay).
pub fn collect(
    conn: &Connection,
    sh: &Shared,
    permissions: Vec<claude_peers_proto::permissions::PermissionView>,
    connected: &[String],
    now: i64,
    limit: u32,
) -> Result<Vec<NeedsYouItem>> {
    let session = sh.hub.session();
    let mut items: Vec<NeedsYouItem> = permissions
        .into_iter()
        .map(|p| NeedsYouItem {
            kind: ItemKind::Permission,
            title: format!("{} asks to use {}", p.peer.name, p.tool_name),
            detail: if p.input_preview.is_empty() {
                p.description.clone()
            } else {
                format!("{}\n{}", p.description, p.input_preview)
            },
            from: p.peer.clone(),
            to: None,
            at: p.created_at.clone(),
            resolve: format!("claude-peers permissions allow {} (or deny {})", p.id, p.id),
            id: p.id,
        })
        .collect();
    items.extend(
        waiting_on_person::<ApprovalView>(conn, &session, "approver_kind", limit)?
            .iter()
            .filter_map(NeedsYouItem::approval),
    );
    items.extend(
        waiting_on_person::<VerificationView>(conn, &session, "verifier_kind", limit)?
            .iter()
            .filter_map(NeedsYouItem::verification),
    );
    for p in record::query::<ProposalView>(
        conn,
        &GroupFilter::All,
        &session,
        Some(ProposalStatus::Open),
        limit,
    )?
    .into_iter()
    .filter(|p| !p.votes.iter().any(|v| v.voter.kind == PartyKind::Operator))
    {
        items.push(NeedsYouItem {
            kind: ItemKind::Proposal,
            title: format!(
                "{} proposes: {}",
                p.author.name,
                preview(&p.title, TITLE_PREVIEW)
            ),
            detail: p.description.clone(),
            from: p.author.clone(),
            to: None,
            at: p.created_at.clone(),
            resolve: "vote on it in the dashboard".into(),
            id: p.id,
        });
    }
    items.extend(operator_messages(conn, limit)?);
    items.extend(blocked_tasks(conn, &session, limit)?);
    items.extend(held_loops(conn, sh, limit)?);
    items.extend(
        unreachable(conn, connected, now, sh.config.unreachable_after_ms, limit)?
            .iter()
            .map(Unreachable::item),
    );
    // RFC 3339 times of one format sort as text.
    items.sort_by(|a, b| b.at.cmp(&a.at));
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(sent: &[i64]) -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::runtime::store::schema::migrate(c.as_sqlite_mut().unwrap()).unwrap();
        for at in sent {
            c.execute(
                "INSERT INTO messages (session_id, from_kind, from_id, from_name, text, sent_at)
                 VALUES ('s', 'peer', 'p', 'p', 'x', ?1)",
                [at],
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn requests_to_peers_never_crowd_out_those_to_the_person() {
        let c = db(&[]);
        let approval = |id: &str, kind: &str, status: &str, at: i64| {
            c.execute(
                "INSERT INTO approvals (id, session_id, requester_id, requester_name,
                   approver_kind, approver_id, approver_name, action, status, created_at)
                 VALUES (?1, 's', 'p', 'p', ?2, 'x', 'x', 'do it', ?3, ?4)",
                params![id, kind, status, at],
            )
            .unwrap();
        };
        approval("appr-old", "operator", "pending", 1);
        approval("appr-done", "operator", "approved", 2);
        for (i, at) in (3..10).enumerate() {
            approval(&format!("appr-peer{i}"), "peer", "pending", at);
        }
        approval("appr-new", "operator", "pending", 10);
        approval("appr-other", "operator", "pending", 11);
        c.execute(
            "UPDATE approvals SET session_id = 't' WHERE id = 'appr-other'",
            [],
        )
        .unwrap();
        let ids = |limit| {
            waiting_on_person::<ApprovalView>(&c, "s", "approver_kind", limit)
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(2), ["appr-new", "appr-old"]);
        assert_eq!(ids(1), ["appr-new"]);
        let items: Vec<NeedsYouItem> =
            waiting_on_person::<ApprovalView>(&c, "s", "approver_kind", 5)
                .unwrap()
                .iter()
                .filter_map(NeedsYouItem::approval)
                .collect();
        assert_eq!(items.len(), 2);
        assert!(
            items
                .iter()
                .all(|i| i.kind == ItemKind::Approval && i.from.id == "p")
        );
    }

    #[test]
    fn the_newest_old_enough_message_is_found_by_bisection() {
        assert_eq!(newest_sent_by(&db(&[]), 100).unwrap(), None);
        let c = db(&[10, 20, 20, 30, 40, 50, 60]);
        assert_eq!(newest_sent_by(&c, 5).unwrap(), None);
        assert_eq!(newest_sent_by(&c, 10).unwrap(), Some(1));
        assert_eq!(newest_sent_by(&c, 20).unwrap(), Some(3));
        assert_eq!(newest_sent_by(&c, 45).unwrap(), Some(5));
        assert_eq!(newest_sent_by(&c, 1000).unwrap(), Some(7));
        // Gaps left by purged messages.
        c.execute("DELETE FROM messages WHERE id IN (1, 4, 5)", [])
            .unwrap();
        assert_eq!(newest_sent_by(&c, 45).unwrap(), Some(3));
        assert_eq!(newest_sent_by(&c, 50).unwrap(), Some(6));
        assert_eq!(newest_sent_by(&c, 15).unwrap(), None);
    }
}
