//! Pending permission requests relayed from sessions (the permission relay).
//!
//! Kept in memory only: a request is worth something only while its session's
//! MCP server is connected and Claude Code still shows the prompt. It leaves the
//! lane when the operator answers it, when the session's stream closes, or when
//! the timeout passes (a prompt answered in the terminal is never reported, so
//! the timeout is what clears those). The registry also holds, per connected
//! peer stream, the sender that carries the operator's answer to that stream.

use std::collections::HashMap;
use std::sync::Mutex;

use claude_peers_proto::api::Party;
use claude_peers_proto::limits::MAX_PENDING_PERMISSIONS_PER_PEER;
use claude_peers_proto::permissions::{PermissionRequest, PermissionView};
use claude_peers_proto::stream::ServerFrame;
use claude_peers_proto::time::rfc3339;
use tokio::sync::mpsc;

use crate::runtime::ids::short_id;

/// Length of a request's broker id.
const ID_LEN: usize = 6;

struct Pending {
    view: PermissionView,
    peer_id: String,
    created_ms: i64,
    expires_ms: i64,
}

struct Link {
    conn_id: u64,
    tx: mpsc::UnboundedSender<ServerFrame>,
}

#[derive(Default)]
struct Inner {
    /// In arrival order (oldest first).
    pending: Vec<Pending>,
    links: HashMap<String, Link>,
}

/// A request that was taken from the lane to be answered.
pub struct Taken {
    pub view: PermissionView,
    pub peer_id: String,
    created_ms: i64,
    expires_ms: i64,
}

/// What [`Permissions::submit`] did.
#[derive(Debug)]
pub struct Submitted {
    pub view: PermissionView,
    /// Older requests of the same session dropped to stay within
    /// [`MAX_PENDING_PERMISSIONS_PER_PEER`].
    pub dropped: Vec<String>,
}

#[derive(Default)]
pub struct Permissions {
    inner: Mutex<Inner>,
}

impl Permissions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A peer stream opened: answers for `peer` go to the returned receiver.
    pub fn attach(&self, peer: &str, conn_id: u64) -> mpsc::UnboundedReceiver<ServerFrame> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock()
            .links
            .insert(peer.to_string(), Link { conn_id, tx });
        rx
    }

    /// The stream `conn_id` of `peer` closed. If it was the current one, the
    /// session's pending requests leave the lane; their ids are returned.
    pub fn detach(&self, peer: &str, conn_id: u64) -> Vec<String> {
        let mut inner = self.lock();
        if inner.links.get(peer).is_none_or(|l| l.conn_id != conn_id) {
            return Vec::new();
        }
        inner.links.remove(peer);
        let mut gone = Vec::new();
        inner.pending.retain(|p| {
            let keep = p.peer_id != peer;
            if !keep {
                gone.push(p.view.id.clone());
            }
            keep
        });
        gone
    }

    /// Add a session's request (already validated). `None` if the same request
    /// (session and request id) is already pending (a reconnecting MCP server
    /// sends its pending requests again).
    pub fn submit(
        &self,
        peer: Party,
        req: PermissionRequest,
        now: i64,
        timeout_ms: i64,
    ) -> Option<Submitted> {
        let mut inner = self.lock();
        if inner
            .pending
            .iter()
            .any(|p| p.peer_id == peer.id && p.view.request_id == req.request_id)
        {
            return None;
        }
        let mut dropped = Vec::new();
        while inner
            .pending
            .iter()
            .filter(|p| p.peer_id == peer.id)
            .count()
            >= MAX_PENDING_PERMISSIONS_PER_PEER
        {
            let Some(pos) = inner.pending.iter().position(|p| p.peer_id == peer.id) else {
                break;
            };
            dropped.push(inner.pending.remove(pos).view.id);
        }
        let id = loop {
            let id = short_id(ID_LEN);
            if !inner.pending.iter().any(|p| p.view.id == id) {
                break id;
            }
        };
        let expires_ms = now + timeout_ms;
        let peer_id = peer.id.clone();
        let view = PermissionView {
            id,
            peer,
            request_id: req.request_id,
            tool_name: req.tool_name,
            description: req.description,
            input_preview: req.input_preview,
            created_at: rfc3339(now),
            expires_at: rfc3339(expires_ms),
        };
        inner.pending.push(Pending {
            view: view.clone(),
            peer_id,
            created_ms: now,
            expires_ms,
        });
        Some(Submitted { view, dropped })
    }

    /// Pending requests, newest first.
    pub fn list(&self, now: i64) -> Vec<PermissionView> {
        let inner = self.lock();
        inner
            .pending
            .iter()
            .rev()
            .filter(|p| p.expires_ms > now)
            .map(|p| p.view.clone())
            .collect()
    }

    /// Pending requests with their arrival time (ms), newest first.
    pub fn list_timed(&self, now: i64) -> Vec<(i64, PermissionView)> {
        let inner = self.lock();
        inner
            .pending
            .iter()
            .rev()
            .filter(|p| p.expires_ms > now)
            .map(|p| (p.created_ms, p.view.clone()))
            .collect()
    }

    /// Take request `id` out of the lane to answer it: only one answer wins.
    pub fn take(&self, id: &str, now: i64) -> Option<Taken> {
        let mut inner = self.lock();
        let pos = inner
            .pending
            .iter()
            .position(|p| p.view.id == id && p.expires_ms > now)?;
        let p = inner.pending.remove(pos);
        Some(Taken {
            view: p.view,
            peer_id: p.peer_id,
            created_ms: p.created_ms,
            expires_ms: p.expires_ms,
        })
    }

    /// Put back a request whose answer could not be recorded.
    pub fn put_back(&self, t: Taken) {
        let mut inner = self.lock();
        let pos = inner
            .pending
            .iter()
            .position(|p| p.created_ms > t.created_ms)
            .unwrap_or(inner.pending.len());
        inner.pending.insert(
            pos,
            Pending {
                view: t.view,
                peer_id: t.peer_id,
                created_ms: t.created_ms,
                expires_ms: t.expires_ms,
            },
        );
    }

    /// Send `frame` to `peer`'s stream; `false` if it has none.
    pub fn send(&self, peer: &str, frame: ServerFrame) -> bool {
        self.lock()
            .links
            .get(peer)
            .is_some_and(|l| l.tx.send(frame).is_ok())
    }

    /// Remove the requests whose time is up; their ids are returned.
    pub fn expire(&self, now: i64) -> Vec<String> {
        let mut inner = self.lock();
        let mut gone = Vec::new();
        inner.pending.retain(|p| {
            let keep = p.expires_ms > now;
            if !keep {
                gone.push(p.view.id.clone());
            }
            keep
        });
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_peers_proto::api::PartyKind;

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

    #[test]
    fn one_answer_wins_and_repeats_are_ignored() {
        let p = Permissions::default();
        let s = p.submit(party("a"), req("r1"), 1_000, 60_000).unwrap();
        assert!(p.submit(party("a"), req("r1"), 1_001, 60_000).is_none());
        assert!(p.submit(party("b"), req("r1"), 1_002, 60_000).is_some());
        assert_eq!(p.list(1_003).len(), 2);
        assert_eq!(p.list(1_003)[0].peer.id, "b", "newest first");
        assert!(p.take(&s.view.id, 1_004).is_some());
        assert!(p.take(&s.view.id, 1_004).is_none(), "second answer");
    }

    #[test]
    fn requests_expire_and_leave_with_their_session() {
        let p = Permissions::default();
        let _rx = p.attach("a", 7);
        p.submit(party("a"), req("r1"), 1_000, 10).unwrap();
        let s2 = p.submit(party("b"), req("r2"), 1_000, 60_000).unwrap();
        assert!(p.take("nope", 1_000).is_none());
        assert_eq!(p.expire(1_010).len(), 1);
        assert_eq!(p.list(1_010).len(), 1);
        let _rx = p.attach("b", 8);
        assert!(p.detach("b", 99).is_empty(), "an older stream of b");
        assert_eq!(p.detach("b", 8), vec![s2.view.id]);
        assert!(p.list(1_010).is_empty());
    }

    #[test]
    fn a_session_holds_a_bounded_number() {
        let p = Permissions::default();
        let mut dropped = 0;
        for i in 0..MAX_PENDING_PERMISSIONS_PER_PEER + 3 {
            dropped += p
                .submit(party("a"), req(&format!("r{i}")), 1_000 + i as i64, 60_000)
                .unwrap()
                .dropped
                .len();
        }
        assert_eq!(dropped, 3);
        assert_eq!(p.list(2_000).len(), MAX_PENDING_PERMISSIONS_PER_PEER);
    }

    #[test]
    fn answers_reach_the_current_stream_only() {
        let p = Permissions::default();
        assert!(!p.send(
            "a",
            ServerFrame::Shutdown {
                reason: String::new(),
                stay_down: false
            }
        ));
        let mut rx = p.attach("a", 1);
        assert!(p.send(
            "a",
            ServerFrame::Shutdown {
                reason: String::new(),
                stay_down: false
            }
        ));
        assert!(rx.try_recv().is_ok());
    }
}
