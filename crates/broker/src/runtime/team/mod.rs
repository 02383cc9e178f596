//! Team mode: several brokers serving one PostgreSQL database at once.
//!
//! What one broker must tell the others, and how (the rest of the broker
//! does not know there are others):
//!
//! - **Writes** are serialised across brokers by one rule, in the store's
//!   writer (`store::run_batch`): each batch transaction begins with
//!   `pg_advisory_xact_lock(`[`WRITE_LOCK`]`)`, so batches of all brokers run
//!   one after the other, as SQLite's one writer runs them. See
//!   [`WRITE_LOCK`] for why this and not `SERIALIZABLE`.
//! - **What a commit announces** ([`wire::Note`], built from the batch's
//!   effects by [`wire::encode`]) is sent with `pg_notify` inside the same
//!   transaction, on the channel [`CHANNEL`]: PostgreSQL delivers it to the
//!   other brokers only once the transaction commits, so "nothing is
//!   announced before commit" holds across brokers too. Ids, not bodies:
//!   a recipient's stream on another broker is told to read the store
//!   (where the message is), a delivery waiter learns `(message, recipient,
//!   state)`, a dashboard event travels as its JSON when it fits in a
//!   notification and otherwise through the table `team_events`.
//! - **What is announced outside a transaction** (a peer's reach facts, a
//!   peer typing, "needs you" nudges) goes through the keeper's connection
//!   at once ([`Team::announce`]). Permission requests and their answers
//!   are commits like any other (`domain::permissions`).
//! - **Presence**: the broker holding a peer's stream is written in
//!   `peers.stream_broker` (set when a stream opens, cleared when it
//!   closes) and announced; each broker writes a heartbeat in `brokers`
//!   every [`HEARTBEAT_MS`], and a peer whose stream is on a broker not
//!   heard for [`BROKER_TIMEOUT_MS`] counts as disconnected.
//! - **Maintenance** (liveness, retention, expiry) runs on the broker that
//!   holds the session advisory lock [`MAINTENANCE_LOCK`] ([`keeper`]); when
//!   it dies, its connection ends, the server frees the lock and another
//!   broker takes it at its next heartbeat.
//!
//! Receiving: one `LISTEN` connection per broker on a thread of its own
//! ([`listen`]) feeds the local hub; a broker ignores its own
//! notifications (its instance id is in each). When that connection is
//! lost, the thread connects again, reloads who is connected where, and
//! every local stream reads the store again, so nothing is lost.
//!
//! Over SQLite (one broker per database) none of this runs: the team is
//! "disabled", this broker is the maintainer and sees only its own streams.

pub mod keeper;
pub mod listen;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

/// The notification channel of the brokers of one database.
pub const CHANNEL: &str = "claude_peers";

/// The advisory lock every write batch takes for its transaction ("clpeer"
/// and 3; migrations use 1).
///
/// Why one lock and not `SERIALIZABLE` with retries: the domain's rules
/// were written for one writer (a name is free, then taken; a queue has
/// room, then one more; a delivery moves forward only; a loop chain counts
/// up) and read-then-write inside one batch of many jobs. Under
/// `SERIALIZABLE` a conflict aborts the whole batch, and retrying a batch
/// means running every job's closure again (they are `FnOnce`, and some
/// already built their answers); the lock instead costs one statement sent
/// with `BEGIN` (no extra round trip) and keeps each batch exactly as it
/// runs on SQLite. Its price is that brokers' batches do not overlap: the
/// database's write throughput is one writer's, measured in BENCHMARKS.md.
pub const WRITE_LOCK: i64 = 0x636c_7065_6572_0003;

/// The session advisory lock the maintaining broker holds ("clpeer" and 4).
pub const MAINTENANCE_LOCK: i64 = 0x636c_7065_6572_0004;

/// How often each broker writes its heartbeat (and tries to become the
/// maintainer if none is).
pub const HEARTBEAT_MS: u64 = 1_000;

/// A broker not heard for this long is taken for dead: the peers whose
/// stream it held count as disconnected.
pub const BROKER_TIMEOUT_MS: i64 = 5_000;

/// How long a large event waits in `team_events` for the other brokers to
/// read it.
pub const EVENT_KEEP_MS: i64 = 60_000;

/// This broker process among the others: a new id each start, and the host
/// it runs on.
#[derive(Debug, Clone)]
pub struct Node {
    pub instance: String,
    pub host: String,
}

impl Node {
    fn new() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        Self {
            instance: crate::runtime::ids::short_id(12),
            host,
        }
    }
}

/// What this broker knows of the others.
pub struct Team {
    pub node: Node,
    /// Whether other brokers may share the database (PostgreSQL).
    enabled: AtomicBool,
    /// Whether this broker runs the maintenance (always, when alone).
    maintainer: AtomicBool,
    /// Peer id → the other broker that holds its stream.
    remote: Mutex<HashMap<String, String>>,
    /// The other brokers heard within [`BROKER_TIMEOUT_MS`].
    alive: Mutex<HashSet<String>>,
    /// Notes to send at once (not part of a transaction), to the keeper.
    outbox: Mutex<Option<mpsc::Sender<String>>>,
}

impl Default for Team {
    fn default() -> Self {
        Self {
            node: Node::new(),
            enabled: AtomicBool::new(false),
            maintainer: AtomicBool::new(true),
            remote: Mutex::default(),
            alive: Mutex::default(),
            outbox: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Team {
    /// Other brokers may share the database: wait for the keeper before
    /// maintaining, and send announcements through `outbox`.
    pub fn enable(&self, outbox: mpsc::Sender<String>) {
        self.enabled.store(true, Ordering::Release);
        self.maintainer.store(false, Ordering::Release);
        *lock(&self.outbox) = Some(outbox);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Whether this broker runs the maintenance now.
    pub fn is_maintainer(&self) -> bool {
        self.maintainer.load(Ordering::Acquire)
    }

    pub(crate) fn set_maintainer(&self, yes: bool) {
        if self.maintainer.swap(yes, Ordering::AcqRel) != yes {
            tracing::info!(
                maintainer = yes,
                "{}",
                if yes {
                    "this broker now runs the maintenance"
                } else {
                    "this broker no longer runs the maintenance"
                }
            );
        }
    }

    /// Whether `peer`'s stream is open on another broker that is alive.
    pub fn remote_connected(&self, peer: &str) -> bool {
        let Some(broker) = lock(&self.remote).get(peer).cloned() else {
            return false;
        };
        lock(&self.alive).contains(&broker)
    }

    /// Whether `broker` is this one or another heard within
    /// [`BROKER_TIMEOUT_MS`] (over SQLite: only this one).
    pub fn is_alive(&self, broker: &str) -> bool {
        broker == self.node.instance || lock(&self.alive).contains(broker)
    }

    /// Peers whose stream is open on another live broker.
    pub fn remote_ids(&self) -> Vec<String> {
        let alive = lock(&self.alive).clone();
        lock(&self.remote)
            .iter()
            .filter(|(_, b)| alive.contains(*b))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// `peer`'s stream is now on `broker` (`None`: closed on `from`).
    pub(crate) fn stream_moved(&self, peer: &str, broker: Option<&str>, from: &str) {
        let mut remote = lock(&self.remote);
        match broker {
            Some(b) if b != self.node.instance => {
                remote.insert(peer.to_string(), b.to_string());
            }
            Some(_) => {
                remote.remove(peer);
            }
            None => {
                if remote.get(peer).is_some_and(|b| b == from) {
                    remote.remove(peer);
                }
            }
        }
    }

    /// Replace what is known of other brokers' streams (after (re)connecting).
    pub(crate) fn load_remote(&self, streams: HashMap<String, String>) {
        *lock(&self.remote) = streams;
    }

    pub(crate) fn set_alive(&self, brokers: HashSet<String>) {
        *lock(&self.alive) = brokers;
    }

    /// Send `notes` to the other brokers now (not bound to a transaction).
    pub fn announce(&self, notes: Vec<wire::Note>) {
        if !self.enabled() || notes.is_empty() {
            return;
        }
        let Some(tx) = lock(&self.outbox).clone() else {
            return;
        };
        for payload in wire::pack(&self.node.instance, notes) {
            let _ = tx.send(payload);
        }
    }
}
