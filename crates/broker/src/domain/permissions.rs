//! The permission relay's lane: sessions' pending tool-permission requests,
//! in the table `permission_requests`, so that every broker of a database
//! lists the same requests and any of them can answer one.
//!
//! A request comes by one or both of two ways: the session's channel (its
//! MCP server's stream, on the broker holding that stream) and its
//! `PermissionRequest` hook (waiting on the broker it called). A row names
//! the broker holding each way (`channel_broker`, `hook_broker` with the
//! hook's key there); the two for one prompt (same session and tool within
//! [`PERMISSION_MERGE_WINDOW_MS`]) are one row, answered both ways. What
//! cannot leave a process stays there (`runtime::permits`: the stream's
//! sender, the hook's one-shot).
//!
//! Why the database and not the holder's memory (as before team mode):
//! the lane must read the same on every broker, also after a reload, and
//! exactly one of two people answering at once on two brokers may win.
//! Writes are already serialised on both stores (SQLite's one writer;
//! PostgreSQL's write lock, `runtime::team::WRITE_LOCK`), so the rule is
//! one statement, `UPDATE … SET answer = … WHERE id = … AND answer IS
//! NULL`; the loser reads the winner's answer back ("already answered").
//! The winner's commit carries an [`Answer`] effect; like every effect it
//! is applied here after commit and announced to the other brokers with
//! the commit (`store::announce`), so the broker holding the stream or the
//! hook passes it on at once, and nothing is sent for an answer that did
//! not commit. The cost is a write per request and per answer: requests
//! are a person's prompts, a handful a minute.
//!
//! A request leaves the lane when it is answered, when its session's
//! stream closes (a hook's request stays while the hook waits), when its
//! hook stops waiting, when its time is up, and when no live broker holds
//! any of its ways (its broker died: hidden at once, deleted by the
//! maintenance). Answered rows are kept [`ANSWER_KEEP_MS`] to tell a late
//! second answer who won.

use claude_peers_proto::ApiError;
use claude_peers_proto::api::{Party, PartyKind};
use claude_peers_proto::limits::{MAX_PENDING_PERMISSIONS_PER_PEER, PERMISSION_MERGE_WINDOW_MS};
use claude_peers_proto::permissions::{
    Behavior, PermissionOutcome, PermissionRequest, PermissionView,
};
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::rules::OperatorKind;
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::ids::short_id;
use crate::runtime::permits::Answer;
use crate::runtime::store::Tx;
use crate::runtime::store::sql::{self, Connection, OptionalExtension, params};
use crate::runtime::team::{BROKER_TIMEOUT_MS, Team};

/// Length of a request's broker id.
const ID_LEN: usize = 6;

/// How long an answered request is kept, to tell a second answer that the
/// first won (and which it was).
pub const ANSWER_KEEP_MS: i64 = 10 * 60_000;

const COLS: &str = "id, peer_id, peer_name, request_id, tool_name, description, input_preview,
     created_at, expires_at, channel_broker, hook_broker, hook_key, answer, answered_by";

/// One row of `permission_requests`.
struct Row {
    id: String,
    peer_id: String,
    peer_name: String,
    request_id: String,
    tool_name: String,
    description: String,
    input_preview: String,
    created_at: i64,
    expires_at: i64,
    channel_broker: Option<String>,
    hook_broker: Option<String>,
    hook_key: Option<i64>,
    answer: Option<String>,
    answered_by: Option<String>,
}

fn row(r: &sql::Row<'_>) -> sql::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        peer_id: r.get(1)?,
        peer_name: r.get(2)?,
        request_id: r.get(3)?,
        tool_name: r.get(4)?,
        description: r.get(5)?,
        input_preview: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        channel_broker: r.get(9)?,
        hook_broker: r.get(10)?,
        hook_key: r.get(11)?,
        answer: r.get(12)?,
        answered_by: r.get(13)?,
    })
}

impl Row {
    fn view(&self) -> PermissionView {
        PermissionView {
            id: self.id.clone(),
            peer: Party {
                kind: PartyKind::Peer,
                id: self.peer_id.clone(),
                name: self.peer_name.clone(),
            },
            request_id: self.request_id.clone(),
            tool_name: self.tool_name.clone(),
            description: self.description.clone(),
            input_preview: self.input_preview.clone(),
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
        }
    }

    /// Whether a live broker holds one of its ways back to the session.
    fn held(&self, team: &Team) -> bool {
        [&self.channel_broker, &self.hook_broker]
            .into_iter()
            .flatten()
            .any(|b| team.is_alive(b))
    }
}

fn get(c: &Connection, id: &str) -> Result<Option<Row>> {
    Ok(c.query_row(
        &format!("SELECT {COLS} FROM permission_requests WHERE id = ?1"),
        [id],
        row,
    )
    .optional()?)
}

fn gone(t: &mut Tx<'_>, id: String, outcome: PermissionOutcome) {
    t.effect(Effect::event(Event::PermissionGone { id, outcome }));
}

/// Take a request out of the lane unanswered. A hook still waiting for it
/// (on whichever broker) ends at once with no decision: nothing can answer
/// it any more.
fn delete(t: &mut Tx<'_>, id: String, outcome: PermissionOutcome) -> Result<()> {
    let hook: Option<(String, String, String, i64)> = t
        .conn
        .query_row(
            "DELETE FROM permission_requests WHERE id = ?1
             RETURNING peer_id, request_id, hook_broker, hook_key",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .and_then(
            |(peer, request, broker, key): (String, String, Option<String>, Option<i64>)| {
                Some((peer, request, broker?, key?))
            },
        );
    if let Some((peer, request_id, broker, key)) = hook {
        t.effect(Effect::PermissionAnswer(Box::new(Answer {
            peer,
            request_id,
            behavior: None,
            channel: false,
            hook: Some((broker, key as u64)),
        })));
    }
    gone(t, id, outcome);
    Ok(())
}

/// The open request of `peer` that the other way of the same prompt joins:
/// asked within the merge window, by the same tool, not yet held by the
/// joining way (`by_channel`: the channel joins a hook's request).
fn mergeable(t: &Tx<'_>, peer: &str, tool: &str, by_channel: bool) -> Result<Option<String>> {
    let sql = if by_channel {
        "SELECT id FROM permission_requests
         WHERE peer_id = ?1 AND tool_name = ?2 AND answer IS NULL AND expires_at > ?3
           AND created_at >= ?4 AND channel_broker IS NULL AND hook_broker IS NOT NULL
         ORDER BY created_at DESC, id DESC LIMIT 1"
    } else {
        "SELECT id FROM permission_requests
         WHERE peer_id = ?1 AND tool_name = ?2 AND answer IS NULL AND expires_at > ?3
           AND created_at >= ?4 AND hook_broker IS NULL AND channel_broker IS NOT NULL
         ORDER BY created_at DESC, id DESC LIMIT 1"
    };
    Ok(t.conn
        .query_row(
            sql,
            params![peer, tool, t.now, t.now - PERMISSION_MERGE_WINDOW_MS],
            |r| r.get(0),
        )
        .optional()?)
}

/// A session's MCP server relayed a request (already validated) over its
/// stream, held by this broker. The new lane item, if it is one: `None`
/// when the same request is pending (a reconnecting MCP server sends its
/// pending requests again: this broker holds its channel now, wherever it
/// was) or when it joins the same prompt's hook request.
pub fn relay(
    t: &mut Tx<'_>,
    sh: &Shared,
    peer: &Party,
    req: PermissionRequest,
    timeout_ms: i64,
) -> Result<Option<PermissionView>> {
    let me = sh.hub.team.node.instance.clone();
    let same: Option<Row> = t
        .conn
        .query_row(
            &format!(
                "SELECT {COLS} FROM permission_requests
                 WHERE peer_id = ?1 AND request_id = ?2 AND answer IS NULL AND expires_at > ?3"
            ),
            params![peer.id, req.request_id, t.now],
            row,
        )
        .optional()?;
    if let Some(same) = same {
        if same.channel_broker.as_deref() != Some(me.as_str()) {
            t.conn
                .prepare_cached("UPDATE permission_requests SET channel_broker = ?1 WHERE id = ?2")?
                .execute(params![me, same.id])?;
            if !same.held(&sh.hub.team) {
                // Shown again where its old broker's death had hidden it.
                t.effect(Effect::event(Event::Permission {
                    permission: Box::new(same.view()),
                }));
            }
        }
        return Ok(None);
    }
    if let Some(id) = mergeable(t, &peer.id, &req.tool_name, true)? {
        t.conn
            .prepare_cached(
                "UPDATE permission_requests SET channel_broker = ?1, request_id = ?2 WHERE id = ?3",
            )?
            .execute(params![me, req.request_id, id])?;
        return Ok(None);
    }
    add(t, sh, peer, req, timeout_ms, Some(&me), None).map(Some)
}

/// A session's `PermissionRequest` hook asks (the request already
/// validated; its `request_id` is ignored) and waits on this broker with
/// `key`. The new lane item, or `None` when the same prompt is in the lane
/// by the session's channel (the hook then waits on that one).
pub fn hook_ask(
    t: &mut Tx<'_>,
    sh: &Shared,
    peer: &Party,
    req: PermissionRequest,
    key: u64,
    wait_ms: i64,
) -> Result<Option<PermissionView>> {
    let me = sh.hub.team.node.instance.clone();
    if let Some(id) = mergeable(t, &peer.id, &req.tool_name, false)? {
        t.conn
            .prepare_cached(
                "UPDATE permission_requests SET hook_broker = ?1, hook_key = ?2 WHERE id = ?3",
            )?
            .execute(params![me, key as i64, id])?;
        return Ok(None);
    }
    let req = PermissionRequest {
        request_id: format!("hook-{key}"),
        ..req
    };
    add(t, sh, peer, req, wait_ms, None, Some((&me, key))).map(Some)
}

/// Put a new request in the lane (dropping the session's oldest beyond
/// [`MAX_PENDING_PERMISSIONS_PER_PEER`]), record it, tell the operator's
/// streams.
fn add(
    t: &mut Tx<'_>,
    sh: &Shared,
    peer: &Party,
    req: PermissionRequest,
    timeout_ms: i64,
    channel: Option<&str>,
    hook: Option<(&str, u64)>,
) -> Result<PermissionView> {
    let open: Vec<String> = t
        .conn
        .prepare_cached(
            "SELECT id FROM permission_requests WHERE peer_id = ?1 AND answer IS NULL
             ORDER BY created_at, id",
        )?
        .query_map([&peer.id], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    let excess = (open.len() + 1).saturating_sub(MAX_PENDING_PERMISSIONS_PER_PEER);
    for id in open.into_iter().take(excess) {
        delete(t, id, PermissionOutcome::Expired)?;
    }
    let id = loop {
        let id = short_id(ID_LEN);
        if get(t.conn, &id)?.is_none() {
            break id;
        }
    };
    let r = Row {
        id,
        peer_id: peer.id.clone(),
        peer_name: peer.name.clone(),
        request_id: req.request_id,
        tool_name: req.tool_name,
        description: req.description,
        input_preview: req.input_preview,
        created_at: t.now,
        expires_at: t.now + timeout_ms,
        channel_broker: channel.map(str::to_string),
        hook_broker: hook.map(|(b, _)| b.to_string()),
        hook_key: hook.map(|(_, k)| k as i64),
        answer: None,
        answered_by: None,
    };
    t.conn
        .prepare_cached(
            "INSERT INTO permission_requests (id, peer_id, peer_name, request_id, tool_name,
                 description, input_preview, created_at, expires_at, channel_broker, hook_broker,
                 hook_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            r.id,
            r.peer_id,
            r.peer_name,
            r.request_id,
            r.tool_name,
            r.description,
            r.input_preview,
            r.created_at,
            r.expires_at,
            r.channel_broker,
            r.hook_broker,
            r.hook_key
        ])?;
    let view = r.view();
    let details = format!(
        "{} asks to use {} (request {}, permission {})",
        peer.name, view.tool_name, view.request_id, view.id
    );
    audit::record(t, &sh.hub, peer, "permission.request", &details, None)?;
    t.effect(Effect::event(Event::Permission {
        permission: Box::new(view.clone()),
    }));
    Ok(view)
}

/// The hook `key` waiting on this broker stopped waiting: its request
/// leaves the lane, unless the session's channel carries the same prompt
/// (then only the hook's part goes).
pub fn withdraw_hook(t: &mut Tx<'_>, sh: &Shared, key: u64) -> Result<()> {
    let me = &sh.hub.team.node.instance;
    let found: Option<(String, Option<String>)> = t
        .conn
        .query_row(
            "SELECT id, channel_broker FROM permission_requests
             WHERE hook_broker = ?1 AND hook_key = ?2 AND answer IS NULL",
            params![me, key as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        None => Ok(()),
        Some((id, Some(_))) => {
            t.conn
                .prepare_cached(
                    "UPDATE permission_requests SET hook_broker = NULL, hook_key = NULL
                     WHERE id = ?1",
                )?
                .execute([&id])?;
            Ok(())
        }
        Some((id, None)) => delete(t, id, PermissionOutcome::Expired),
    }
}

/// `peer`'s stream on this broker closed: its requests that only the
/// channel carried leave the lane; those a hook waits for stay (answered
/// to the hook only).
pub fn stream_closed(t: &mut Tx<'_>, sh: &Shared, peer: &str) -> Result<()> {
    let me = &sh.hub.team.node.instance;
    let leaving: Vec<String> = t
        .conn
        .prepare_cached(
            "SELECT id FROM permission_requests
             WHERE peer_id = ?1 AND channel_broker = ?2 AND hook_broker IS NULL
               AND answer IS NULL",
        )?
        .query_map(params![peer, me], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    for id in leaving {
        delete(t, id, PermissionOutcome::SessionEnded)?;
    }
    t.conn
        .prepare_cached(
            "UPDATE permission_requests SET channel_broker = NULL
             WHERE peer_id = ?1 AND channel_broker = ?2 AND answer IS NULL",
        )?
        .execute(params![peer, me])?;
    Ok(())
}

/// Pending requests, newest first: unanswered, in time, held by a live
/// broker.
pub fn list(c: &Connection, team: &Team, now: i64) -> Result<Vec<PermissionView>> {
    let rows: Vec<Row> = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM permission_requests WHERE answer IS NULL AND expires_at > ?1
             ORDER BY created_at DESC, id DESC"
        ))?
        .query_map([now], row)?
        .collect::<sql::Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter(|r| r.held(team))
        .map(|r| r.view())
        .collect())
}

/// What [`answer`] did.
#[derive(Debug)]
pub struct Answered {
    pub view: PermissionView,
    /// Whether the session could take it: its stream is connected (here or
    /// on another live broker) or its hook still waits.
    pub delivered: bool,
}

/// The operator `by` answers request `id`: the first answer wins (one
/// statement, under the store's one writer); the answer goes, after
/// commit, to the session's stream and its waiting hook, wherever they are.
pub fn answer(
    t: &mut Tx<'_>,
    sh: &Shared,
    id: &str,
    behavior: Behavior,
    by: OperatorKind,
) -> Result<Answered> {
    let team = &sh.hub.team;
    let Some(r) = get(t.conn, id)? else {
        return Err(ApiError::not_found(format!(
            "no pending permission request {id:?}: it expired, its session ended, or the broker \
             holding its session stopped (`claude-peers permissions` lists the pending ones)"
        ))
        .into());
    };
    if let Some(given) = &r.answer {
        return Err(already(id, given, r.answered_by.as_deref()).into());
    }
    if r.expires_at <= t.now {
        return Err(ApiError::not_found(format!(
            "permission request {id:?} expired unanswered (the terminal prompt decides)"
        ))
        .into());
    }
    if !r.held(team) {
        return Err(ApiError::not_found(format!(
            "permission request {id:?} is gone: the broker holding its session stopped \
             (the session asks again once it reconnects; the terminal prompt decides)"
        ))
        .into());
    }
    let changed = t
        .conn
        .prepare_cached(
            "UPDATE permission_requests SET answer = ?1, answered_by = ?2, answered_at = ?3
             WHERE id = ?4 AND answer IS NULL",
        )?
        .execute(params![behavior.as_str(), by.id(), t.now, id])?;
    if changed == 0 {
        let given = get(t.conn, id)?.and_then(|r| r.answer).unwrap_or_default();
        return Err(already(id, &given, None).into());
    }
    let view = r.view();
    let details = format!(
        "{} {} for {} (request {}, permission {}) from the {}",
        behavior.as_str(),
        view.tool_name,
        view.peer.name,
        view.request_id,
        view.id,
        by.id()
    );
    let action = match behavior {
        Behavior::Allow => "permission.allow",
        Behavior::Deny => "permission.deny",
    };
    audit::record(t, &sh.hub, &by.party(), action, &details, None)?;
    let me = &team.node.instance;
    let hook = r.hook_broker.clone().zip(r.hook_key.map(|k| k as u64));
    let delivered = (r.channel_broker.is_some()
        && (sh.hub.permits.linked(&r.peer_id) || team.remote_connected(&r.peer_id)))
        || hook.as_ref().is_some_and(|(b, k)| {
            if b == me {
                sh.hub.permits.hook_waiting(*k)
            } else {
                team.is_alive(b)
            }
        });
    t.effect(Effect::PermissionAnswer(Box::new(Answer {
        peer: r.peer_id.clone(),
        request_id: r.request_id.clone(),
        behavior: Some(behavior),
        channel: r.channel_broker.is_some(),
        hook,
    })));
    gone(
        t,
        id.to_string(),
        match behavior {
            Behavior::Allow => PermissionOutcome::Allowed,
            Behavior::Deny => PermissionOutcome::Denied,
        },
    );
    Ok(Answered { view, delivered })
}

fn already(id: &str, given: &str, by: Option<&str>) -> ApiError {
    let from = by.map(|b| format!(" from the {b}")).unwrap_or_default();
    ApiError::conflict(format!(
        "permission request {id:?} was already answered ({given}){from}; nothing was sent again"
    ))
}

/// Whether the table holds any request, answered or not (the maintenance
/// writes only then).
pub fn any(c: &Connection) -> Result<bool> {
    Ok(
        c.query_row("SELECT 1 FROM permission_requests LIMIT 1", [], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

/// The maintenance's part (one broker at a time): requests whose time is
/// up, and those no live broker holds (their broker died; a request this
/// young may be a broker's that others have not heard yet), leave the
/// lane; answered requests are forgotten after [`ANSWER_KEEP_MS`].
pub fn expire(t: &mut Tx<'_>, sh: &Shared) -> Result<()> {
    let rows: Vec<Row> = t
        .conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM permission_requests WHERE answer IS NULL ORDER BY created_at"
        ))?
        .query_map([], row)?
        .collect::<sql::Result<_>>()?;
    for r in rows {
        if r.expires_at <= t.now {
            delete(t, r.id, PermissionOutcome::Expired)?;
        } else if !r.held(&sh.hub.team) && t.now - r.created_at > BROKER_TIMEOUT_MS {
            delete(t, r.id, PermissionOutcome::SessionEnded)?;
        }
    }
    t.conn
        .prepare_cached(
            "DELETE FROM permission_requests WHERE answer IS NOT NULL AND answered_at < ?1",
        )?
        .execute([t.now - ANSWER_KEEP_MS])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use claude_peers_proto::ErrorCode;
    use claude_peers_proto::stream::ServerFrame;
    use tokio::sync::oneshot::error::TryRecvError;

    use super::*;
    use crate::error::Error;
    use crate::runtime::store::Store;

    /// A store on a temp file whose commits' effects reach a hub, as in the
    /// broker.
    struct World {
        _dir: tempfile::TempDir,
        store: Store,
        sh: Arc<Shared>,
    }

    impl World {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("t.db");
            let sh = Arc::new(Shared {
                hub: crate::runtime::hub::Hub::new("s".into()),
                config: crate::config::Config::new(0, db.clone()),
                activity: crate::domain::sessions::Activity::new(0),
                pairs: crate::runtime::ratelimit::RateLimiter::new(
                    0,
                    std::time::Duration::from_secs(60),
                ),
            });
            let sink = {
                let sh = sh.clone();
                Arc::new(move |fx| sh.hub.apply(fx))
            };
            let store = Store::open(&db, sink).unwrap();
            Self {
                _dir: dir,
                store,
                sh,
            }
        }

        async fn relay(&self, peer: &str, rid: &str) -> Option<PermissionView> {
            let (sh, p, r) = (self.sh.clone(), party(peer), req(rid));
            self.store
                .write(move |t| relay(t, &sh, &p, r, 60_000))
                .await
                .unwrap()
        }

        async fn hook(&self, peer: &str) -> (crate::runtime::permits::HookTicket, Option<String>) {
            let ticket = self.sh.hub.permits.wait_hook();
            let (sh, p, key) = (self.sh.clone(), party(peer), ticket.key);
            let v = self
                .store
                .write(move |t| hook_ask(t, &sh, &p, req("-"), key, 30_000))
                .await
                .unwrap();
            (ticket, v.map(|v| v.id))
        }

        async fn withdraw(&self, key: u64) {
            let sh = self.sh.clone();
            self.store
                .write(move |t| withdraw_hook(t, &sh, key))
                .await
                .unwrap();
        }

        async fn answer(&self, id: &str, b: Behavior) -> Result<Answered> {
            let (sh, id) = (self.sh.clone(), id.to_string());
            self.store
                .write(move |t| answer(t, &sh, &id, b, OperatorKind::Cli))
                .await
        }

        async fn list(&self) -> Vec<PermissionView> {
            let team = self.sh.hub.team.clone();
            self.store
                .read(move |c| list(c, &team, claude_peers_proto::time::now_ms()))
                .await
                .unwrap()
        }

        async fn sql(&self, sql: &'static str) {
            self.store
                .write(move |t| Ok(t.conn.execute_batch(sql)?))
                .await
                .unwrap();
        }

        async fn expire(&self) {
            let sh = self.sh.clone();
            self.store.write(move |t| expire(t, &sh)).await.unwrap();
        }
    }

    fn party(id: &str) -> Party {
        Party {
            kind: PartyKind::Peer,
            id: id.into(),
            name: format!("name-{id}"),
        }
    }

    fn req(rid: &str) -> PermissionRequest {
        PermissionRequest {
            request_id: rid.into(),
            tool_name: "Bash".into(),
            description: "run".into(),
            input_preview: "ls".into(),
        }
    }

    fn code(r: Result<Answered>) -> (ErrorCode, String) {
        match r {
            Err(Error::Api(e)) => (e.code, e.message),
            other => panic!("not an API error: {other:?}"),
        }
    }

    #[tokio::test]
    async fn one_answer_wins_reaches_the_stream_once_and_repeats_are_ignored() {
        let w = World::new();
        let mut rx = w.sh.hub.permits.attach("a", 1);
        let first = w.relay("a", "r1").await.unwrap();
        assert!(w.relay("a", "r1").await.is_none(), "sent again");
        assert!(w.relay("b", "r1").await.is_some());
        w.sql("UPDATE permission_requests SET created_at = created_at + 10 WHERE peer_id = 'b'")
            .await;
        let listed = w.list().await;
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].peer.id, "b", "newest first");
        let done = w.answer(&first.id, Behavior::Allow).await.unwrap();
        assert!(done.delivered);
        match rx.try_recv() {
            Ok(ServerFrame::PermissionDecision { decision }) => {
                assert_eq!(decision.request_id, "r1");
                assert_eq!(decision.behavior, Behavior::Allow);
            }
            other => panic!("no decision on the stream: {other:?}"),
        }
        let (c, m) = code(w.answer(&first.id, Behavior::Deny).await);
        assert_eq!(c, ErrorCode::Conflict);
        assert!(m.contains("already answered (allow) from the cli"), "{m}");
        assert!(rx.try_recv().is_err(), "nothing sent twice");
        assert_eq!(w.list().await.len(), 1);
        let (c, _) = code(w.answer("nosuch", Behavior::Deny).await);
        assert_eq!(c, ErrorCode::NotFound);
        // An answer is remembered for ANSWER_KEEP_MS, then forgotten.
        w.expire().await;
        let (c, _) = code(w.answer(&first.id, Behavior::Deny).await);
        assert_eq!(c, ErrorCode::Conflict, "kept");
        w.sql("UPDATE permission_requests SET answered_at = answered_at - 600001")
            .await;
        assert_eq!(ANSWER_KEEP_MS, 600_000);
        w.expire().await;
        let (c, _) = code(w.answer(&first.id, Behavior::Deny).await);
        assert_eq!(c, ErrorCode::NotFound, "forgotten");
    }

    #[tokio::test]
    async fn requests_expire_and_leave_with_their_stream() {
        let w = World::new();
        let s1 = w.relay("a", "r1").await.unwrap();
        w.relay("b", "r2").await.unwrap();
        w.sql("UPDATE permission_requests SET expires_at = 1 WHERE peer_id = 'a'")
            .await;
        assert_eq!(w.list().await.len(), 1, "out of time: not listed");
        let (c, m) = code(w.answer(&s1.id, Behavior::Allow).await);
        assert_eq!((c, m.contains("expired")), (ErrorCode::NotFound, true));
        w.expire().await;
        let (_, m) = code(w.answer(&s1.id, Behavior::Allow).await);
        assert!(m.contains("no pending permission request"), "{m}");
        let sh = w.sh.clone();
        w.store
            .write(move |t| stream_closed(t, &sh, "b"))
            .await
            .unwrap();
        assert!(w.list().await.is_empty());
    }

    #[tokio::test]
    async fn a_hooks_request_is_answered_to_the_hook_and_withdrawn_when_it_stops() {
        let w = World::new();
        let (mut t, id) = w.hook("a").await;
        let id = id.unwrap();
        assert_eq!(w.list().await[0].request_id, format!("hook-{}", t.key));
        let done = w.answer(&id, Behavior::Allow).await.unwrap();
        assert!(done.delivered);
        assert_eq!(t.rx.try_recv().unwrap(), Behavior::Allow);
        w.withdraw(t.key).await;
        let (c, _) = code(w.answer(&id, Behavior::Deny).await);
        assert_eq!(c, ErrorCode::Conflict, "answered stays answered");
        let (t2, _) = w.hook("a").await;
        w.withdraw(t2.key).await;
        assert!(w.list().await.is_empty());
        // The MCP stream closing does not take a hook's request away.
        let (t3, _) = w.hook("a").await;
        let sh = w.sh.clone();
        w.store
            .write(move |t| stream_closed(t, &sh, "a"))
            .await
            .unwrap();
        assert_eq!(w.list().await.len(), 1);
        w.withdraw(t3.key).await;
        assert!(w.list().await.is_empty());
    }

    #[tokio::test]
    async fn the_channel_and_the_hook_for_one_prompt_are_one_item() {
        let w = World::new();
        let mut rx = w.sh.hub.permits.attach("a", 1);
        // Hook first, then the channel's request for the same tool.
        let (mut t, id) = w.hook("a").await;
        let id = id.unwrap();
        assert!(w.relay("a", "abcde").await.is_none());
        let listed = w.list().await;
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].request_id, "abcde",
            "the channel's id is answered"
        );
        w.answer(&id, Behavior::Deny).await.unwrap();
        assert_eq!(t.rx.try_recv().unwrap(), Behavior::Deny);
        assert!(matches!(
            rx.try_recv(),
            Ok(ServerFrame::PermissionDecision { decision }) if decision.request_id == "abcde"
        ));
        // The stream closes while a hook waits, and the reconnecting MCP
        // server sends the request again, after the merge window: the same item.
        let (_t4, _) = w.hook("a").await;
        assert!(w.relay("a", "klmno").await.is_none());
        let sh = w.sh.clone();
        w.store
            .write(move |t| stream_closed(t, &sh, "a"))
            .await
            .unwrap();
        w.sql("UPDATE permission_requests SET created_at = created_at - 6000")
            .await;
        assert!(w.relay("a", "klmno").await.is_none());
        let listed = w.list().await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        w.answer(&listed[0].id, Behavior::Allow).await.unwrap();
        assert!(
            matches!(
                rx.try_recv(),
                Ok(ServerFrame::PermissionDecision { decision }) if decision.request_id == "klmno"
            ),
            "answered on the channel again"
        );
        // Channel first; the hook joins; the hook leaving keeps the item.
        let s = w.relay("a", "fghij").await.unwrap();
        let (t2, none) = w.hook("a").await;
        assert!(none.is_none());
        w.withdraw(t2.key).await;
        assert_eq!(w.list().await[0].id, s.id);
        // Outside the window they are two prompts.
        w.sql("UPDATE permission_requests SET created_at = created_at - 6000")
            .await;
        let (_t3, other) = w.hook("a").await;
        assert!(other.is_some());
        assert_eq!(w.list().await.len(), 2);
    }

    #[tokio::test]
    async fn a_session_holds_a_bounded_number() {
        let w = World::new();
        for i in 0..MAX_PENDING_PERMISSIONS_PER_PEER + 3 {
            w.relay("a", &format!("r{i}")).await.unwrap();
            // Each one older than the next, whatever the clock's resolution.
            w.sql("UPDATE permission_requests SET created_at = created_at - 1000")
                .await;
        }
        let listed = w.list().await;
        assert_eq!(listed.len(), MAX_PENDING_PERMISSIONS_PER_PEER);
        for old in ["r0", "r1", "r2"] {
            assert!(listed.iter().all(|p| p.request_id != old), "{old} dropped");
        }
    }

    /// A hook whose request the limit drops ends at once, with no decision
    /// (it would otherwise wait out its own timeout for an answer that can
    /// no longer come).
    #[tokio::test]
    async fn a_hook_whose_request_is_dropped_ends_at_once() {
        let w = World::new();
        let (mut t, _) = w.hook("a").await;
        // Older than the merge window: the channel's requests do not join it.
        w.sql("UPDATE permission_requests SET created_at = created_at - 100000")
            .await;
        assert!(t.rx.try_recv().is_err_and(|e| e == TryRecvError::Empty));
        for i in 0..MAX_PENDING_PERMISSIONS_PER_PEER {
            w.relay("a", &format!("r{i}")).await.unwrap();
        }
        assert!(
            w.list()
                .await
                .iter()
                .all(|p| !p.request_id.starts_with("hook-")),
            "the hook's request is the one dropped"
        );
        assert_eq!(t.rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[tokio::test]
    async fn a_request_whose_broker_died_is_gone_from_the_list_and_cannot_be_answered() {
        let w = World::new();
        let s = w.relay("a", "r1").await.unwrap();
        w.sql("UPDATE permission_requests SET channel_broker = 'dead-broker'")
            .await;
        assert!(w.list().await.is_empty());
        let (c, m) = code(w.answer(&s.id, Behavior::Allow).await);
        assert_eq!(c, ErrorCode::NotFound);
        assert!(m.contains("the broker holding its session stopped"), "{m}");
        // Young: perhaps a broker not heard yet; kept until it is older.
        w.expire().await;
        let (_, m) = code(w.answer(&s.id, Behavior::Allow).await);
        assert!(m.contains("stopped"), "{m}");
        w.sql("UPDATE permission_requests SET created_at = created_at - 60000")
            .await;
        w.expire().await;
        let (_, m) = code(w.answer(&s.id, Behavior::Allow).await);
        assert!(m.contains("no pending permission request"), "{m}");
        // Its session reconnects here and sends it again: listed again.
        w.relay("a", "r1").await.unwrap();
        assert_eq!(w.list().await.len(), 1);
    }

    #[tokio::test]
    async fn a_session_moving_here_takes_its_pending_request_along() {
        let w = World::new();
        let s = w.relay("a", "r1").await.unwrap();
        w.sql("UPDATE permission_requests SET channel_broker = 'dead-broker'")
            .await;
        assert!(w.relay("a", "r1").await.is_none(), "the same request");
        let listed = w.list().await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, s.id, "kept its id");
    }
}
