//! Pending permission requests relayed from sessions (the permission relay).
//!
//! Kept in memory only: a request is worth something only while its session's
//! MCP server is connected and Claude Code still shows the prompt. It leaves the
//! lane when the operator answers it, when the session's stream closes, or when
//! the timeout passes (a prompt answered in the terminal is never reported, so
//! the timeout is what clears those). The registry also holds, per connected
//! peer stream, the sender that carries the operator's answer to that stream.
//!
//! A request comes by one or both of two ways: the session's channel (its MCP
//! server's stream) and its `PermissionRequest` hook, which waits on a
//! [`HookTicket`] and withdraws the request when it stops waiting. The two for
//! one prompt (same session and tool within [`PERMISSION_MERGE_WINDOW_MS`])
//! are one lane item, answered both ways.

use std::collections::HashMap;
use std::sync::Mutex;

use claude_peers_proto::api::Party;
use claude_peers_proto::limits::{MAX_PENDING_PERMISSIONS_PER_PEER, PERMISSION_MERGE_WINDOW_MS};
use claude_peers_proto::permissions::{Behavior, PermissionRequest, PermissionView};
use claude_peers_proto::stream::ServerFrame;
use claude_peers_proto::time::rfc3339;
use tokio::sync::{mpsc, oneshot};

use crate::runtime::ids::short_id;

/// Length of a request's broker id.
const ID_LEN: usize = 6;

struct Pending {
    view: PermissionView,
    peer_id: String,
    created_ms: i64,
    expires_ms: i64,
    /// It came over the session's channel (answer on its stream).
    channel: bool,
    /// A `PermissionRequest` hook waits for it.
    hook: Option<HookWaiter>,
}

/// A waiting hook's end of the answer.
struct HookWaiter {
    key: u64,
    tx: oneshot::Sender<Behavior>,
}

/// What a hook holds while it waits: its key (to withdraw) and the answer's receiver.
pub struct HookTicket {
    pub key: u64,
    pub rx: oneshot::Receiver<Behavior>,
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
    next_key: u64,
}

/// A request that was taken from the lane to be answered.
pub struct Taken {
    pub view: PermissionView,
    pub peer_id: String,
    /// Answer on the session's stream too.
    pub channel: bool,
    created_ms: i64,
    expires_ms: i64,
    hook: Option<HookWaiter>,
}

impl Taken {
    /// Give the waiting hook (if any) the answer; whether one took it.
    pub fn answer_hook(&mut self, behavior: Behavior) -> bool {
        self.hook
            .take()
            .is_some_and(|h| h.tx.send(behavior).is_ok())
    }
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
        inner.pending.retain_mut(|p| {
            if p.peer_id != peer {
                return true;
            }
            // A hook still waits on it: it stays, answered to the hook only.
            p.channel = false;
            let keep = p.hook.is_some();
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
            .any(|p| p.peer_id == peer.id && p.channel && p.view.request_id == req.request_id)
        {
            return None;
        }
        // The same prompt, already in the lane by the session's hook.
        if let Some(p) = inner.pending.iter_mut().rev().find(|p| {
            p.peer_id == peer.id
                && !p.channel
                && p.view.tool_name == req.tool_name
                && now - p.created_ms <= PERMISSION_MERGE_WINDOW_MS
        }) {
            p.channel = true;
            p.view.request_id = req.request_id;
            return None;
        }
        Some(Self::add(
            &mut inner, peer, req, now, timeout_ms, true, None,
        ))
    }

    /// A session's `PermissionRequest` hook asks (the request already
    /// validated; its `request_id` is ignored). The hook waits on the ticket
    /// and withdraws with its key. `Submitted` is `None` when the same prompt
    /// is already in the lane by the session's channel (the hook waits on it).
    pub fn submit_hook(
        &self,
        peer: Party,
        req: PermissionRequest,
        now: i64,
        wait_ms: i64,
    ) -> (HookTicket, Option<Submitted>) {
        let mut inner = self.lock();
        inner.next_key += 1;
        let key = inner.next_key;
        let (tx, rx) = oneshot::channel();
        let waiter = HookWaiter { key, tx };
        let ticket = HookTicket { key, rx };
        if let Some(p) = inner.pending.iter_mut().rev().find(|p| {
            p.peer_id == peer.id
                && p.channel
                && p.hook.is_none()
                && p.view.tool_name == req.tool_name
                && now - p.created_ms <= PERMISSION_MERGE_WINDOW_MS
        }) {
            p.hook = Some(waiter);
            return (ticket, None);
        }
        let req = PermissionRequest {
            request_id: format!("hook-{key}"),
            ..req
        };
        let sub = Self::add(&mut inner, peer, req, now, wait_ms, false, Some(waiter));
        (ticket, Some(sub))
    }

    /// The hook `key` stopped waiting: its request leaves the lane (unless the
    /// session's channel still carries the same prompt). The id that left.
    pub fn withdraw_hook(&self, key: u64) -> Option<String> {
        let mut inner = self.lock();
        let pos = inner
            .pending
            .iter()
            .position(|p| p.hook.as_ref().is_some_and(|h| h.key == key))?;
        if inner.pending[pos].channel {
            inner.pending[pos].hook = None;
            return None;
        }
        Some(inner.pending.remove(pos).view.id)
    }

    fn add(
        inner: &mut Inner,
        peer: Party,
        req: PermissionRequest,
        now: i64,
        timeout_ms: i64,
        channel: bool,
        hook: Option<HookWaiter>,
    ) -> Submitted {
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
            channel,
            hook,
        });
        Submitted { view, dropped }
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
            channel: p.channel,
            created_ms: p.created_ms,
            expires_ms: p.expires_ms,
            hook: p.hook,
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
                channel: t.channel,
                hook: t.hook,
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
    fn a_hooks_request_is_answered_to_the_hook_and_withdrawn_when_it_stops() {
        let p = Permissions::default();
        let (mut t, sub) = p.submit_hook(party("a"), req("ignored"), 1_000, 30_000);
        let id = sub.unwrap().view.id;
        assert_eq!(p.list(1_001)[0].request_id, format!("hook-{}", t.key));
        let mut taken = p.take(&id, 1_002).unwrap();
        assert!(!taken.channel);
        assert!(taken.answer_hook(Behavior::Allow));
        assert_eq!(t.rx.try_recv().unwrap(), Behavior::Allow);
        assert_eq!(p.withdraw_hook(t.key), None, "answered: nothing left");
        let (t2, _) = p.submit_hook(party("a"), req("x"), 2_000, 30_000);
        assert_eq!(p.withdraw_hook(t2.key).map(|_| ()), Some(()));
        assert!(p.list(2_001).is_empty());
        // The MCP stream closing does not take a hook's request away.
        let _rx = p.attach("a", 1);
        let (t3, _) = p.submit_hook(party("a"), req("x"), 3_000, 30_000);
        assert!(p.detach("a", 1).is_empty());
        assert_eq!(p.list(3_001).len(), 1);
        assert!(p.withdraw_hook(t3.key).is_some());
    }

    #[test]
    fn the_channel_and_the_hook_for_one_prompt_are_one_item() {
        let p = Permissions::default();
        // Hook first, then the channel's request for the same tool.
        let (mut t, sub) = p.submit_hook(party("a"), req("-"), 1_000, 30_000);
        let id = sub.unwrap().view.id;
        assert!(p.submit(party("a"), req("abcde"), 1_500, 60_000).is_none());
        let listed = p.list(1_600);
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].request_id, "abcde",
            "the channel's id is answered"
        );
        let mut taken = p.take(&id, 1_700).unwrap();
        assert!(taken.channel);
        assert!(taken.answer_hook(Behavior::Deny));
        assert_eq!(t.rx.try_recv().unwrap(), Behavior::Deny);
        // Channel first; the hook joins; the hook leaving keeps the item.
        let s = p.submit(party("a"), req("fghij"), 5_000, 60_000).unwrap();
        let (t2, none) = p.submit_hook(party("a"), req("-"), 5_100, 30_000);
        assert!(none.is_none());
        assert_eq!(p.withdraw_hook(t2.key), None);
        assert_eq!(p.list(5_200)[0].id, s.view.id);
        // Outside the window they are two prompts.
        let (_t3, other) = p.submit_hook(party("a"), req("-"), 5_000 + 60_000, 30_000);
        assert!(other.is_some());
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
