//! The permission relay's ends that live in one broker's memory: per
//! connected peer stream, the sender that carries an operator's answer to
//! it, and per waiting `PermissionRequest` hook, the one-shot that wakes it.
//!
//! The lane itself (what is pending, merged, answered) is in the database
//! (`domain::permissions`), so every broker lists and answers the same
//! requests. An answer committed on any broker comes here as an [`Answer`]
//! (an effect of its commit, announced to the other brokers like every
//! effect): the broker holding the session's stream sends the decision on
//! it, the broker where the hook waits wakes it.

use std::collections::HashMap;
use std::sync::Mutex;

use claude_peers_proto::permissions::{Behavior, PermissionDecision};
use claude_peers_proto::stream::ServerFrame;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// An answer given to a pending request: where it must go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The asking session (peer id).
    #[serde(rename = "p")]
    pub peer: String,
    /// Claude Code's id for the prompt (what the channel answer carries).
    #[serde(rename = "r")]
    pub request_id: String,
    /// `None`: the request left the lane unanswered (the session's limit
    /// dropped it, or it expired): a hook waiting for it ends at once with no
    /// decision, and nothing is sent on the stream.
    #[serde(rename = "b")]
    pub behavior: Option<Behavior>,
    /// It came over the session's channel: answer on the session's stream,
    /// on whichever broker holds it.
    #[serde(rename = "c")]
    pub channel: bool,
    /// A hook waits for it: (the broker it waits on, its key there).
    #[serde(rename = "h")]
    pub hook: Option<(String, u64)>,
}

/// What a hook holds while it waits: its key and the answer's receiver.
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
    links: HashMap<String, Link>,
    hooks: HashMap<u64, oneshot::Sender<Behavior>>,
    next_key: u64,
}

/// This broker's stream links and waiting hooks.
#[derive(Default)]
pub struct Permits {
    inner: Mutex<Inner>,
}

impl Permits {
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

    /// The stream `conn_id` of `peer` closed; whether it was the current one
    /// (then the session's channel requests held here leave the lane).
    pub fn detach(&self, peer: &str, conn_id: u64) -> bool {
        let mut inner = self.lock();
        if inner.links.get(peer).is_none_or(|l| l.conn_id != conn_id) {
            return false;
        }
        inner.links.remove(peer);
        true
    }

    /// Whether `peer`'s stream is linked here.
    pub fn linked(&self, peer: &str) -> bool {
        self.lock().links.contains_key(peer)
    }

    /// A hook begins to wait: its key and receiver.
    pub fn wait_hook(&self) -> HookTicket {
        let mut inner = self.lock();
        inner.next_key += 1;
        let key = inner.next_key;
        let (tx, rx) = oneshot::channel();
        inner.hooks.insert(key, tx);
        HookTicket { key, rx }
    }

    /// Whether the hook `key` still waits here.
    pub fn hook_waiting(&self, key: u64) -> bool {
        self.lock().hooks.contains_key(&key)
    }

    /// The hook `key` stopped waiting.
    pub fn forget_hook(&self, key: u64) {
        self.lock().hooks.remove(&key);
    }

    /// Pass `answer` on to what this broker holds of it (the session's
    /// stream, the hook waiting here); whether anything took it.
    pub fn deliver(&self, me: &str, answer: &Answer) -> bool {
        let mut inner = self.lock();
        let mut took = false;
        if answer.channel
            && let Some(behavior) = answer.behavior
            && let Some(link) = inner.links.get(&answer.peer)
        {
            took |= link
                .tx
                .send(ServerFrame::PermissionDecision {
                    decision: PermissionDecision {
                        request_id: answer.request_id.clone(),
                        behavior,
                    },
                })
                .is_ok();
        }
        if let Some((broker, key)) = &answer.hook
            && broker == me
            && let Some(tx) = inner.hooks.remove(key)
        {
            took |= match answer.behavior {
                Some(b) => tx.send(b).is_ok(),
                // Dropping the sender ends the wait with no decision.
                None => true,
            };
        }
        took
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(channel: bool, hook: Option<(&str, u64)>) -> Answer {
        Answer {
            peer: "a".into(),
            request_id: "abcde".into(),
            behavior: Some(Behavior::Allow),
            channel,
            hook: hook.map(|(b, k)| (b.to_string(), k)),
        }
    }

    #[test]
    fn answers_reach_the_current_stream_and_the_hook_waiting_here_only() {
        let p = Permits::default();
        assert!(!p.deliver("me", &answer(true, None)), "no stream here");
        let mut old = p.attach("a", 1);
        let mut rx = p.attach("a", 2);
        assert!(!p.detach("a", 1), "an older stream of a");
        assert!(p.deliver("me", &answer(true, None)));
        assert!(matches!(
            rx.try_recv(),
            Ok(ServerFrame::PermissionDecision { decision }) if decision.request_id == "abcde"
        ));
        assert!(old.try_recv().is_err());
        assert!(p.detach("a", 2));
        assert!(!p.linked("a"));

        let mut t = p.wait_hook();
        assert!(
            !p.deliver("me", &answer(false, Some(("other", t.key)))),
            "waits on another broker"
        );
        assert!(p.deliver("me", &answer(false, Some(("me", t.key)))));
        assert_eq!(t.rx.try_recv().unwrap(), Behavior::Allow);
        assert!(!p.hook_waiting(t.key));
        assert!(
            !p.deliver("me", &answer(false, Some(("me", t.key)))),
            "once"
        );
        let t2 = p.wait_hook();
        p.forget_hook(t2.key);
        assert!(!p.deliver("me", &answer(false, Some(("me", t2.key)))));
    }
}
