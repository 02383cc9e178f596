//! Which rung showed which message to which Claude Code session of a
//! recipient. The rungs are different processes (the MCP server, each hook),
//! so this record, kept by the broker, is what makes "shown once" hold across
//! them and across restarts of any of them.
//!
//! Rules (one home for each):
//! - a restarted MCP server replays unread messages, flagged with the rung
//!   that already showed them; it pushes only the unflagged ones;
//! - the next-turn hooks add only unread messages that no push rung showed
//!   (a channel push counts once the session's channel is seen working);
//! - the `Stop` waiter wakes only for messages no rung has shown or announced;
//! - a message written to a socket that holds peer messages (`socket-held`)
//!   is pushed by no other rung.

use std::collections::HashMap;

use crate::runtime::store::sql::{self, Connection, params};
use claude_peers_proto::api::{DeliveryState, MessageView};
use claude_peers_proto::reach::Rung;

use crate::domain::messages::{self, Viewer};
use crate::error::Result;
use crate::runtime::store::Tx;

/// Record that `rung` showed `ids` to session `cc_session` of `peer` (ids it
/// is not a recipient of are ignored).
pub fn record(t: &mut Tx<'_>, peer: &str, cc_session: &str, ids: &[i64], rung: Rung) -> Result<()> {
    let mut stmt = t.conn.prepare_cached(
        "INSERT OR IGNORE INTO shown (recipient_id, cc_session, message_id, rung, at)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS
           (SELECT 1 FROM deliveries WHERE recipient_id = ?1 AND message_id = ?3)",
    )?;
    for id in ids {
        stmt.execute(params![peer, cc_session, id, rung.as_str(), t.now])?;
    }
    Ok(())
}

/// The rung to record for a push by `rung`: a socket write to a session that
/// holds peer messages is `socket-held`.
pub fn effective(rung: Rung, facts: &crate::runtime::reach::Facts) -> Rung {
    match rung {
        Rung::Socket if facts.holds() => Rung::SocketHeld,
        r => r,
    }
}

/// The rungs that showed each of `ids` to the session (one per message: the
/// first recorded).
pub fn rungs(
    conn: &Connection,
    peer: &str,
    cc_session: &str,
    ids: &[i64],
) -> Result<HashMap<i64, Rung>> {
    let mut stmt = conn.prepare_cached(
        "SELECT rung FROM shown WHERE recipient_id = ?1 AND cc_session = ?2 AND message_id = ?3
         ORDER BY at LIMIT 1",
    )?;
    let mut out = HashMap::new();
    for id in ids {
        let rung: Option<String> = stmt
            .query_map(params![peer, cc_session, id], |r| r.get(0))?
            .next()
            .transpose()?;
        if let Some(r) = rung.as_deref().and_then(Rung::parse) {
            out.insert(*id, r);
        }
    }
    Ok(out)
}

/// Unread messages after `cursor` for a peer's stream, each with the rung that
/// already showed it to the session, if one did.
pub fn unread_for_stream(
    conn: &Connection,
    peer: &str,
    cc_session: &str,
    cursor: i64,
    page: u32,
) -> Result<Vec<(MessageView, Option<Rung>)>> {
    let batch = messages::unread_after(conn, peer, cursor, page)?;
    let ids: Vec<i64> = batch.iter().map(|m| m.id).collect();
    let shown = rungs(conn, peer, cc_session, &ids)?;
    Ok(batch
        .into_iter()
        .map(|m| {
            let r = shown.get(&m.id).copied();
            (m, r)
        })
        .collect())
}

/// What a candidate search leaves out.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// Next-turn injection: skip what a push showed (channel only when verified).
    Inject { channel_ok: bool },
    /// The waiter: skip what was shown or already announced.
    Wake,
}

impl Purpose {
    fn excluded(self) -> &'static str {
        match self {
            Purpose::Inject { channel_ok: true } => {
                "'socket','socket-held','channel','next-turn','tool'"
            }
            Purpose::Inject { channel_ok: false } => "'socket','socket-held','next-turn','tool'",
            Purpose::Wake => "'socket','socket-held','wake','next-turn','tool'",
        }
    }
}

/// Unread messages of `peer` that session `cc_session` was not shown, oldest
/// first, at most `limit`.
pub fn candidates(
    conn: &Connection,
    peer: &str,
    cc_session: &str,
    purpose: Purpose,
    limit: u32,
) -> Result<Vec<MessageView>> {
    let sql = format!(
        "SELECT d.message_id FROM deliveries d WHERE d.recipient_id = ?1 AND d.state < 2
           AND NOT EXISTS (SELECT 1 FROM shown s WHERE s.recipient_id = ?1 AND s.cc_session = ?2
                           AND s.message_id = d.message_id AND s.rung IN ({}))
         ORDER BY d.message_id LIMIT ?3",
        purpose.excluded()
    );
    let ids: Vec<i64> = conn
        .prepare_cached(&sql)?
        .query_map(params![peer, cc_session, limit], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = messages::view(conn, id, Viewer::Recipient(peer))? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Take the messages a hook adds to the context: recorded as shown by
/// `next-turn` and marked read.
pub fn inject(
    t: &mut Tx<'_>,
    peer: &str,
    cc_session: &str,
    channel_ok: bool,
    limit: u32,
) -> Result<Vec<MessageView>> {
    let mut taken = candidates(
        t.conn,
        peer,
        cc_session,
        Purpose::Inject { channel_ok },
        limit,
    )?;
    let ids: Vec<i64> = taken.iter().map(|m| m.id).collect();
    if ids.is_empty() {
        return Ok(taken);
    }
    record(t, peer, cc_session, &ids, Rung::NextTurn)?;
    messages::mark_read(t, peer, Some(&ids))?;
    for m in &mut taken {
        for d in &mut m.deliveries {
            if d.recipient.id == peer {
                d.state = DeliveryState::Read;
            }
        }
    }
    Ok(taken)
}

/// Forget records of messages older than `cutoff` (retention).
pub fn expire(t: &mut Tx<'_>, cutoff: i64) -> Result<usize> {
    Ok(t.conn.execute(
        "DELETE FROM shown WHERE message_id IN (SELECT id FROM messages WHERE sent_at < ?1)",
        [cutoff],
    )?)
}
