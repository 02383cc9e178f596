//! Sessions: a stretch of collaboration that message history, the dashboard feed
//! and the session report are scoped to.
//!
//! The seed's continuity rule, applied at start-up *and* while running: a session
//! goes on across a quiet spell shorter than five minutes; after a longer spell
//! with nobody connected, the next registration or message begins a new one. The
//! operator can also begin one at any time.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::runtime::store::sql::{self, OptionalExtension, params};
use claude_peers_proto::limits::SESSION_IDLE_MS;

use crate::error::Result;
use crate::runtime::hub::{Effect, Hub};
use crate::runtime::store::Tx;

/// Last time anything happened (ms), kept in memory and saved on each maintenance tick.
pub struct Activity(AtomicI64);

impl Activity {
    pub fn new(at: i64) -> Self {
        Self(AtomicI64::new(at))
    }
    pub fn touch(&self, now: i64) {
        self.0.fetch_max(now, Ordering::Relaxed);
    }
    pub fn last(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether a quiet spell since `last_activity` ends the session.
pub fn is_over(last_activity: i64, now: i64, anyone_connected: bool) -> bool {
    !anyone_connected && now - last_activity >= SESSION_IDLE_MS
}

/// Decide the session at start-up: keep the stored one if there was activity in
/// the last five minutes, else begin a new one. Returns (session id, last activity).
pub fn at_startup(conn: &sql::Connection, now: i64) -> Result<(String, i64, bool)> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM kv WHERE key = 'session_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let last_kv: Option<i64> = conn
        .query_row(
            "SELECT value FROM kv WHERE key = 'last_activity'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok());
    let last_msg: Option<i64> =
        conn.query_row("SELECT max(sent_at) FROM messages", [], |r| r.get(0))?;
    let last = last_kv.into_iter().chain(last_msg).max();
    match (stored, last) {
        (Some(id), Some(last)) if !is_over(last, now, false) => Ok((id, last, false)),
        _ => Ok((crate::runtime::ids::short_id(12), now, true)),
    }
}

/// Store a new session id and tell everyone.
pub fn begin(t: &mut Tx<'_>, id: &str) -> Result<()> {
    t.conn.execute(
        "INSERT INTO sessions (id, started_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        params![id, t.now],
    )?;
    t.conn.execute(
        "INSERT INTO kv (key, value) VALUES ('session_id', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![id],
    )?;
    t.effect(Effect::Session(id.to_string()));
    Ok(())
}

/// Called on registrations and sends: begin a new session if the last one is
/// over, and note the activity. Returns the current session id.
pub fn on_activity(t: &mut Tx<'_>, hub: &Hub, activity: &Activity) -> Result<String> {
    let mut session = hub.session();
    if is_over(activity.last(), t.now, hub.connected_count() > 0) {
        session = crate::runtime::ids::short_id(12);
        begin(t, &session)?;
        // The hub learns the new id after commit; later jobs in this batch must
        // already use it, so set it now as well.
        hub.set_session(&session);
    }
    activity.touch(t.now);
    Ok(session)
}

/// Save the last activity time.
pub fn save_activity(t: &mut Tx<'_>, at: i64) -> Result<()> {
    t.conn.execute(
        "INSERT INTO kv (key, value) VALUES ('last_activity', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![at.to_string()],
    )?;
    Ok(())
}

/// When the session `id` started.
pub fn started_at(conn: &sql::Connection, id: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT started_at FROM sessions WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuity_rule() {
        assert!(!is_over(0, SESSION_IDLE_MS - 1, false), "short quiet spell");
        assert!(
            is_over(0, SESSION_IDLE_MS, false),
            "five minutes of nothing"
        );
        assert!(
            !is_over(0, SESSION_IDLE_MS * 10, true),
            "someone is connected"
        );
    }
}
