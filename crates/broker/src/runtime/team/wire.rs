//! What brokers of one database tell each other: [`Note`]s, packed into
//! `pg_notify` payloads of at most [`MAX_PAYLOAD`] bytes (PostgreSQL's limit
//! is 8000), each stamped with the sending broker's instance id.
//!
//! This is the brokers' own format (never seen by a client, so not in
//! `proto`); every broker of a database runs the same version, since they
//! share its schema.

use serde::{Deserialize, Serialize};

use claude_peers_proto::api::DeliveryState;

use crate::runtime::reach::Facts;

/// The largest payload sent (PostgreSQL refuses 8000 bytes and more).
pub const MAX_PAYLOAD: usize = 7_900;

/// The largest event carried inside a payload; a larger one is stored in
/// `team_events` and its id sent instead.
pub const MAX_INLINE_EVENT: usize = 6_000;

/// One thing another broker must know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// Messages wait for this peer: its stream reads the store, its wake
    /// hooks look again.
    Wake(String),
    /// An operator event: the `ServerFrame::Event` JSON.
    Event(String),
    /// An operator event too large for a payload: its row in `team_events`.
    EventRef(i64),
    /// A delivery moved forward (a send waiting for it may answer).
    Delivery { m: i64, r: String, s: DeliveryState },
    /// A token now belongs to this peer.
    Token { h: String, p: String },
    /// This token is gone.
    Forget(String),
    /// Close this peer's stream (it left or was removed).
    Kick(String),
    /// This peer's stream reads again from message `f`.
    Rewind { p: String, f: i64 },
    /// A new session began.
    Session(String),
    /// This peer's stream is now on broker `b` (`None`: it closed).
    Stream { p: String, b: Option<String> },
    /// What this peer's processes reported about how it can be reached.
    Reach { p: String, f: Box<Facts> },
    /// The operator answered a permission request (its holder passes it on).
    Answer(Box<crate::runtime::permits::Answer>),
}

/// One notification: who sent it, and what.
#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub b: String,
    pub n: Vec<Note>,
}

/// `notes` as payloads of at most [`MAX_PAYLOAD`] bytes, in order. A note
/// that cannot fit alone (a `Reach` with huge facts) is dropped with a log
/// line: the other brokers then see a little less about that peer.
pub fn pack(instance: &str, notes: Vec<Note>) -> Vec<String> {
    let head = Payload {
        b: instance.to_string(),
        n: Vec::new(),
    };
    let base = serde_json::to_string(&head).map(|s| s.len()).unwrap_or(32);
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = base;
    for note in notes {
        let Ok(json) = serde_json::to_string(&note) else {
            continue;
        };
        if base + json.len() + 1 > MAX_PAYLOAD {
            tracing::warn!(
                bytes = json.len(),
                "a note too large for a notification was not sent"
            );
            continue;
        }
        if size + json.len() + 1 > MAX_PAYLOAD {
            out.push(join(instance, &current));
            current.clear();
            size = base;
        }
        size += json.len() + 1;
        current.push(json);
    }
    if !current.is_empty() {
        out.push(join(instance, &current));
    }
    out
}

fn join(instance: &str, notes: &[String]) -> String {
    let b = serde_json::to_string(instance).unwrap_or_else(|_| "\"\"".into());
    format!("{{\"b\":{b},\"n\":[{}]}}", notes.join(","))
}

/// The statements that send `payloads` (simple-protocol text: each payload
/// is a string literal, its quotes doubled; JSON holds no NUL).
pub fn notify_sql(payloads: &[String]) -> String {
    let mut sql = String::new();
    for p in payloads {
        sql.push_str("SELECT pg_notify('");
        sql.push_str(super::CHANNEL);
        sql.push_str("', '");
        sql.push_str(&p.replace('\'', "''"));
        sql.push_str("');");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_packed_into_payloads_under_the_limit_in_order() {
        let notes: Vec<Note> = (0..2_000)
            .map(|i| Note::Wake(format!("peer-{i}")))
            .collect();
        let payloads = pack("me", notes.clone());
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() <= MAX_PAYLOAD, "{}", p.len());
            let parsed: Payload = serde_json::from_str(p).unwrap();
            assert_eq!(parsed.b, "me");
            back.extend(parsed.n);
        }
        assert_eq!(back, notes);
    }

    #[test]
    fn a_note_too_large_is_left_out_and_quotes_are_doubled() {
        let big = Note::Event("x".repeat(MAX_PAYLOAD));
        let payloads = pack("me", vec![big, Note::Kick("it's".into())]);
        assert_eq!(payloads.len(), 1);
        let parsed: Payload = serde_json::from_str(&payloads[0]).unwrap();
        assert_eq!(parsed.n, vec![Note::Kick("it's".into())]);
        assert!(notify_sql(&payloads).contains("it''s"));
    }
}
