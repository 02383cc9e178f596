//! What the broker knows, in memory, about how each peer can be reached: the
//! facts its MCP server and hooks report (Claude Code session id, client,
//! messaging socket, inbound setting, permission mode, hooks seen, idle or
//! busy), the `Stop`-hook waiters armed for it, and the [`Reach`] computed from
//! them. The processes report again on every reconnect, so nothing here needs
//! to survive a broker restart; what a session was *shown* does, and lives in
//! the store (`shown.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use claude_peers_proto::api::RecipientReach;
use claude_peers_proto::reach::{BYPASS_MODE, ClientInfo, Inbound, Reach, ReachFacts};
use tokio::sync::Notify;

/// The facts about one peer.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    pub cc_session: Option<String>,
    pub client: Option<ClientInfo>,
    pub socket: bool,
    pub inbound: Option<Inbound>,
    pub permission_mode: Option<String>,
    /// A claude-peers channel message was seen in the session's transcript.
    pub channel_ok: bool,
    /// A hook of the session has called the broker (this broker run).
    pub hooks_seen: bool,
    /// The session's turn ended (`Stop`) and no new one began. Unknown = idle.
    pub busy: bool,
    /// `Stop`-hook waiters connected now.
    pub waiters: u32,
}

impl Facts {
    /// Whether messages written to the socket are held for the user's review.
    pub fn holds(&self) -> bool {
        match self.inbound {
            Some(Inbound::Accept) => false,
            Some(Inbound::Hold) => true,
            Some(Inbound::Refuse) | None => self.permission_mode.as_deref() == Some(BYPASS_MODE),
        }
    }

    /// Whether the MCP server writes this session's messages to its socket.
    pub fn socket_usable(&self) -> bool {
        self.socket && self.inbound != Some(Inbound::Refuse)
    }

    /// The key under which what the session was shown is recorded.
    pub fn session_key(&self) -> String {
        self.cc_session.clone().unwrap_or_default()
    }

    /// The best rung, given whether the MCP server's stream is open.
    pub fn reach(&self, connected: bool) -> Reach {
        if connected && self.socket_usable() {
            Reach::Socket
        } else if connected && self.channel_ok {
            Reach::Channel
        } else if self.waiters > 0 {
            Reach::Wake
        } else if self.hooks_seen && connected {
            Reach::NextTurn
        } else if connected {
            Reach::ToolOnly
        } else {
            Reach::Offline
        }
    }

    /// The reach as a send result shows it.
    pub fn recipient(&self, connected: bool) -> RecipientReach {
        let reach = self.reach(connected);
        RecipientReach {
            reach,
            holds_messages: reach == Reach::Socket && self.holds(),
            idle: !self.busy,
            wake_hook: self.waiters > 0,
        }
    }
}

/// Called with a peer's facts each time they change here.
type Changed = Box<dyn Fn(&str, &Facts) + Send + Sync>;

/// Every peer's facts, and a wake-up per peer for its waiters.
#[derive(Default)]
pub struct Board {
    facts: Mutex<HashMap<String, Facts>>,
    /// The facts other brokers reported for the peers whose processes
    /// talk to them (team mode); those reported here come first.
    remote: Mutex<HashMap<String, Facts>>,
    bells: Mutex<HashMap<String, Bell>>,
    changed: std::sync::OnceLock<Changed>,
}

/// Rung by waiters of one peer: something changed (look again), or stop.
#[derive(Clone, Default)]
pub struct Bell {
    pub changed: Arc<Notify>,
    pub kicked: Arc<Notify>,
}

impl Board {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Facts>> {
        self.facts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the facts about `peer` (reported here, else to another
    /// broker).
    pub fn get(&self, peer: &str) -> Facts {
        if let Some(f) = self.lock().get(peer) {
            return f.clone();
        }
        let remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        remote.get(peer).cloned().unwrap_or_default()
    }

    /// Change the facts about `peer`; waiters look again, and the other
    /// brokers are told (see [`Board::on_change`]).
    pub fn update(&self, peer: &str, f: impl FnOnce(&mut Facts)) -> Facts {
        let (out, changed) = {
            let mut all = self.lock();
            let facts = all.entry(peer.to_string()).or_default();
            let before = facts.clone();
            f(facts);
            (facts.clone(), *facts != before)
        };
        if changed && let Some(tell) = self.changed.get() {
            tell(peer, &out);
        }
        self.ring(peer);
        out
    }

    /// Call `tell` with a peer's facts each time they change here (once,
    /// at start, in team mode).
    pub fn on_change(&self, tell: impl Fn(&str, &Facts) + Send + Sync + 'static) {
        let _ = self.changed.set(Box::new(tell));
    }

    /// `peer`'s processes now report to another broker: forget what they
    /// reported here (its waiters here, if any, stay counted).
    pub fn moved_away(&self, peer: &str) {
        let mut all = self.lock();
        if all.get(peer).is_some_and(|f| f.waiters == 0) {
            all.remove(peer);
        }
    }

    /// Facts another broker reported about `peer`; its waiters look again.
    pub fn set_remote(&self, peer: &str, facts: Facts) {
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(peer.to_string(), facts);
        self.ring(peer);
    }

    /// Apply what a process reported.
    pub fn report(&self, peer: &str, r: &ReachFacts) -> Facts {
        self.update(peer, |f| {
            if let Some(s) = r.cc_session.as_ref().filter(|s| !s.is_empty()) {
                f.cc_session = Some(s.clone());
            }
            if let Some(c) = &r.client {
                f.client = Some(c.clone());
            }
            if let Some(s) = r.socket {
                f.socket = s;
            }
            if let Some(i) = r.inbound {
                f.inbound = Some(i);
            }
            if let Some(m) = r.permission_mode.as_ref().filter(|m| !m.is_empty()) {
                f.permission_mode = Some(m.clone());
            }
        })
    }

    /// The session id an MCP server registered with, unless one is known
    /// (a hook's is newer: `/clear` starts a new session in the same process).
    pub fn registered(&self, peer: &str, cc_session: Option<&str>) {
        if let Some(s) = cc_session.filter(|s| !s.is_empty()) {
            self.update(peer, |f| {
                if f.cc_session.is_none() {
                    f.cc_session = Some(s.to_string());
                }
            });
        }
    }

    /// The bell of `peer`'s waiters.
    pub fn bell(&self, peer: &str) -> Bell {
        self.bells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(peer.to_string())
            .or_default()
            .clone()
    }

    /// Something changed for `peer` (a message arrived, it went idle).
    pub fn ring(&self, peer: &str) {
        let bells = self.bells.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = bells.get(peer) {
            b.changed.notify_waiters();
        }
    }

    /// `peer` left: its waiters end.
    pub fn kick(&self, peer: &str) {
        let bells = self.bells.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = bells.get(peer) {
            b.kicked.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_follows_the_ladder() {
        let mut f = Facts::default();
        assert_eq!(f.reach(false), Reach::Offline);
        assert_eq!(f.reach(true), Reach::ToolOnly);
        f.hooks_seen = true;
        assert_eq!(f.reach(true), Reach::NextTurn);
        f.waiters = 1;
        assert_eq!(f.reach(true), Reach::Wake);
        assert_eq!(f.reach(false), Reach::Wake, "a waiter alone still wakes it");
        f.channel_ok = true;
        assert_eq!(f.reach(true), Reach::Channel);
        f.socket = true;
        assert_eq!(f.reach(true), Reach::Socket);
        f.inbound = Some(Inbound::Refuse);
        assert_eq!(f.reach(true), Reach::Channel, "a refused socket is no rung");
    }

    #[test]
    fn bypassing_sessions_hold_unless_they_accept() {
        let mut f = Facts {
            socket: true,
            ..Default::default()
        };
        assert!(!f.recipient(true).holds_messages);
        f.permission_mode = Some(BYPASS_MODE.into());
        assert!(f.recipient(true).holds_messages);
        f.inbound = Some(Inbound::Accept);
        assert!(!f.recipient(true).holds_messages);
        f.inbound = Some(Inbound::Hold);
        f.permission_mode = Some("default".into());
        assert!(f.recipient(true).holds_messages);
    }
}
