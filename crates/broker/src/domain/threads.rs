//! Threads: a message may answer another (`reply_to`) and then belongs to that
//! message's thread, named by the thread's first message. A message that
//! answers none starts a thread of its own (its `thread_id` column stays
//! NULL; views show its own id). The notifications of one coordination record
//! (a task, a decision, …) form one thread under the first of them.
//!
//! Who may see a thread's messages is the rule of [`SEES_SQL`]: one's own
//! sends and receipts (the operator sees all), exactly as for history.

use crate::runtime::store::sql::{self, Connection, OptionalExtension, named_params, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::MessageView;

use crate::domain::messages::views;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::store::Tx;

/// SQL that holds when message `m` may be seen by `:who` (NULL = the
/// operator, who sees everything): its sender, or one of its recipients.
pub const SEES_SQL: &str = "(:who IS NULL OR m.from_id = :who OR EXISTS (
    SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.recipient_id = :who))";

/// Where a new message goes in the threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Placement {
    /// The message answered.
    pub reply_to: Option<i64>,
    /// The root of the thread (`None`: the new message starts one).
    pub thread_id: Option<i64>,
}

/// The placement of a reply to `reply_to` by `actor`: the message must be one
/// the actor may see (sent or received; the operator sees all).
pub fn reply(conn: &Connection, actor: &Actor, reply_to: Option<i64>) -> Result<Placement> {
    let Some(parent) = reply_to else {
        return Ok(Placement::default());
    };
    let who = match actor {
        Actor::Peer(id) => Some(id.as_str()),
        Actor::Operator(_) => None,
    };
    let root: Option<Option<i64>> = conn
        .prepare_cached(&format!(
            "SELECT m.thread_id FROM messages m WHERE m.id = :id AND {SEES_SQL}"
        ))?
        .query_row(named_params! {":id": parent, ":who": who}, |r| r.get(0))
        .optional()?;
    match root {
        Some(root) => Ok(Placement {
            reply_to: Some(parent),
            thread_id: Some(root.unwrap_or(parent)),
        }),
        None => Err(ApiError::invalid(
            "reply_to",
            format!(
                "no message #{parent} that you sent or received; reply_to must name one of them"
            ),
        )
        .into()),
    }
}

/// The thread a notification about `record` joins: under the first
/// notification of that record, if it is still kept.
pub fn of_record(conn: &Connection, record: &str) -> Result<Placement> {
    let first: Option<(i64, Option<i64>)> = conn
        .prepare_cached(
            "SELECT r.message_id, m.thread_id FROM record_threads r
             JOIN messages m ON m.id = r.message_id WHERE r.record_id = ?1",
        )?
        .query_row([record], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match first {
        Some((id, root)) => Placement {
            reply_to: Some(id),
            thread_id: Some(root.unwrap_or(id)),
        },
        None => Placement::default(),
    })
}

/// Remember message `id` as the first notification of `record` (if it is).
pub fn remember_record(t: &mut Tx<'_>, record: &str, id: i64) -> Result<()> {
    t.conn
        .prepare_cached(
            "INSERT INTO record_threads (record_id, message_id) VALUES (?1, ?2)
             ON CONFLICT (record_id) DO UPDATE SET message_id = excluded.message_id
             WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = record_threads.message_id)",
        )?
        .execute(params![record, id])?;
    Ok(())
}

/// The record a notification belongs to: the value of the `…_id` field of its
/// metadata (`task_id`, `decision_id`, …), the convention every coordination
/// notice follows.
pub fn record_of(metadata: &serde_json::Value) -> Option<String> {
    metadata.as_object()?.iter().find_map(|(k, v)| {
        (k.ends_with("_id"))
            .then(|| v.as_str().map(str::to_string))
            .flatten()
    })
}

/// Thread `thread` as `actor` may see it, oldest first, at most `limit` messages.
pub fn messages(
    conn: &Connection,
    actor: &Actor,
    thread: i64,
    limit: u32,
) -> Result<Vec<MessageView>> {
    let who = match actor {
        Actor::Peer(id) => Some(id.clone()),
        Actor::Operator(_) => None,
    };
    let ids: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT m.id FROM messages m WHERE (m.id = :thread OR m.thread_id = :thread) AND {SEES_SQL}
             ORDER BY m.id LIMIT :limit"
        ))?
        .query_map(
            named_params! {":thread": thread, ":who": who, ":limit": limit},
            |r| r.get(0),
        )?
        .collect::<sql::Result<_>>()?;
    views::views_for(conn, ids, actor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_is_named_by_its_id_field() {
        assert_eq!(
            record_of(&json!({"title": "x", "task_id": "task-abc"})).as_deref(),
            Some("task-abc")
        );
        assert_eq!(record_of(&json!({"files": ["a"]})), None);
        assert_eq!(record_of(&json!("x")), None);
    }
}
