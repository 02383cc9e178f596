//! The hub: what the broker knows only in memory and what happens after a commit.
//!
//! - which peers hold a stream now (and since when the others are disconnected);
//! - what each connected peer's stream should send: a message committed for
//!   several recipients is built once and handed to each of their streams
//!   (after commit, never before); the store stays the queue, so a stream
//!   that falls behind, reconnects or rewinds reads its unread messages from
//!   the store again, and a crash between commit and push loses nothing;
//! - the fan-out of typed events to operator streams (dashboard, `watch`);
//! - delivery updates for sends that wait for confirmation;
//! - the token → peer cache, and the current session id;
//! - the permission relay's links to streams and waiting hooks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use std::collections::VecDeque;

use claude_peers_proto::api::{DeliveryState, MessageView};
use claude_peers_proto::stream::{Event, ServerFrame};
use tokio::sync::{Notify, broadcast};

use crate::runtime::team::Team;
use crate::runtime::team::wire::Note;

/// Most pushed messages a stream holds before it stops taking them and reads
/// its unread messages from the store instead (a stream that cannot keep up
/// costs the broker at most this many entries of memory).
pub const PUSH_QUEUE: usize = 256;

/// A message just committed with new deliveries: built once, handed to each
/// recipient's stream.
#[derive(Debug)]
pub struct Fanned {
    /// The message, without deliveries: each recipient's stream adds its
    /// own (`queued`, as just stored).
    pub message: MessageView,
    /// The recipients whose delivery was just created: (peer id, name).
    pub recipients: Vec<(String, String)>,
}

/// One message pushed to one stream: the message and which of its
/// recipients the stream belongs to.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub fanned: Arc<Fanned>,
    pub index: usize,
}

impl Pushed {
    /// The recipient this push is for: (peer id, name).
    pub fn recipient(&self) -> (&str, &str) {
        let (id, name) = &self.fanned.recipients[self.index];
        (id, name)
    }
}

/// What the hub handed a stream and it has not sent yet.
#[derive(Debug, Default)]
struct PushQueue {
    items: VecDeque<Pushed>,
    /// Read the store: pushes were dropped (the queue was full), or a
    /// wake-up asked the stream to look again.
    reread: bool,
}

/// Something to do once a transaction has committed.
#[derive(Debug)]
pub enum Effect {
    /// Messages wait for this peer: wake its stream (it reads the store).
    Wake(String),
    /// New deliveries of one message: push it to each recipient's stream.
    Deliver(Arc<Fanned>),
    /// Tell operator streams.
    Event(Box<Event>),
    /// A delivery moved forward (wakes waiting sends).
    Delivery {
        message_id: i64,
        recipient_id: String,
        state: DeliveryState,
    },
    /// A token now belongs to this peer.
    Token { hash: String, peer_id: String },
    /// This token is gone.
    ForgetToken { hash: String },
    /// Close this peer's stream (it left or was removed).
    Kick(String),
    /// Messages from this id up became deliverable out of order (a released
    /// chain): the peer's stream reads again from there.
    Rewind { peer: String, from: i64 },
    /// A new session began.
    Session(String),
    /// This peer's stream opened on broker `broker` (this one), or closed
    /// (`None`): only other brokers act on it (`runtime::team`).
    Stream {
        peer: String,
        broker: Option<String>,
    },
    /// The operator answered a permission request: the broker holding the
    /// session's stream or its waiting hook passes it on.
    PermissionAnswer(Box<crate::runtime::permits::Answer>),
}

impl Effect {
    /// An event for operator streams.
    pub fn event(e: Event) -> Self {
        Effect::Event(Box::new(e))
    }
}

/// Waits, for a short while, until one delivery moves forward (a send that
/// asked for `wait_ms`).
pub struct DeliveryWaiter(broadcast::Receiver<DeliveryUpdate>);

/// What a [`DeliveryWaiter`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The delivery reached this state.
    Reached(DeliveryState),
    /// Nothing happened within the time.
    TimedOut,
    /// Updates were missed (the waiter lagged behind, or the hub closed): the
    /// caller reads the state from the store instead.
    Missed,
}

impl DeliveryWaiter {
    /// Wait up to `wait` for the delivery of `message_id` to `recipient_id`.
    pub async fn wait(
        mut self,
        message_id: i64,
        recipient_id: &str,
        wait: std::time::Duration,
    ) -> Waited {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.0.recv()).await {
                Ok(Ok(u)) if u.message_id == message_id && u.recipient_id == recipient_id => {
                    return Waited::Reached(u.state);
                }
                Ok(Ok(_)) => continue,
                Ok(Err(_)) => return Waited::Missed,
                Err(_) => return Waited::TimedOut,
            }
        }
    }
}

/// A delivery update, as seen by waiting sends.
#[derive(Debug, Clone)]
pub struct DeliveryUpdate {
    pub message_id: i64,
    pub recipient_id: String,
    pub state: DeliveryState,
}

/// One connected stream of a peer.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: u64,
    /// Look for new messages.
    pub wake: Arc<Notify>,
    /// Close: replaced by a newer stream, or the peer left.
    pub kick: Arc<Notify>,
    /// The lowest message id that became deliverable behind the stream's
    /// cursor (`i64::MAX`: none).
    pub rewind: Arc<AtomicI64>,
    /// Messages committed for this peer since the stream last looked.
    pushed: Arc<Mutex<PushQueue>>,
}

impl Connection {
    /// Where the stream should read from next, given its cursor: behind it
    /// if older messages became deliverable since it last looked.
    pub fn take_rewind(&self, cursor: i64) -> i64 {
        let from = self.rewind.swap(i64::MAX, Ordering::AcqRel);
        if from <= cursor { from - 1 } else { cursor }
    }

    /// Hand the stream a message (its `wake` fires). When the stream already
    /// holds [`PUSH_QUEUE`] unsent ones, they are dropped and the stream
    /// reads the store instead.
    fn push(&self, p: Pushed) {
        {
            let mut q = self.pushed.lock().unwrap_or_else(|e| e.into_inner());
            if q.reread || q.items.len() >= PUSH_QUEUE {
                q.items = VecDeque::new();
                q.reread = true;
            } else {
                q.items.push_back(p);
            }
        }
        self.wake.notify_one();
    }

    /// Tell the stream to read its unread messages from the store.
    fn reread(&self) {
        {
            let mut q = self.pushed.lock().unwrap_or_else(|e| e.into_inner());
            q.items = VecDeque::new();
            q.reread = true;
        }
        self.wake.notify_one();
    }

    /// The messages pushed since the last call, in commit order, and whether
    /// the stream must read the store (then pushes may be missing).
    pub fn take_pushed(&self) -> (VecDeque<Pushed>, bool) {
        let mut q = self.pushed.lock().unwrap_or_else(|e| e.into_inner());
        let reread = std::mem::take(&mut q.reread);
        (std::mem::take(&mut q.items), reread)
    }
}

#[derive(Default)]
struct Presence {
    connected: HashMap<String, Connection>,
    disconnected_since: HashMap<String, i64>,
}

pub struct Hub {
    presence: Mutex<Presence>,
    next_conn: AtomicU64,
    events: broadcast::Sender<Arc<str>>,
    deliveries: broadcast::Sender<DeliveryUpdate>,
    tokens: RwLock<HashMap<String, String>>,
    session: RwLock<String>,
    /// Peers seen typing, with the time.
    typing: Mutex<HashMap<String, i64>>,
    /// How each peer can be reached, and its wake-hook waiters.
    pub reach: crate::runtime::reach::Board,
    /// The permission relay's stream links and waiting hooks.
    pub permits: crate::runtime::permits::Permits,
    /// The other brokers of the database, if any.
    pub team: Arc<Team>,
}

impl Hub {
    pub fn new(session: String) -> Self {
        Self {
            presence: Mutex::default(),
            next_conn: AtomicU64::new(1),
            events: broadcast::channel(4096).0,
            deliveries: broadcast::channel(4096).0,
            tokens: RwLock::default(),
            session: RwLock::new(session),
            typing: Mutex::default(),
            reach: crate::runtime::reach::Board::default(),
            permits: Default::default(),
            team: Arc::default(),
        }
    }

    /// Apply what another broker announced, in order (see `runtime::team`
    /// for what crosses and why).
    pub fn apply_remote(&self, from: &str, notes: Vec<Note>) {
        for note in notes {
            match note {
                Note::Wake(peer) => self.apply(vec![Effect::Wake(peer)]),
                Note::Event(json) => {
                    if self.events.receiver_count() > 0 {
                        let _ = self.events.send(Arc::from(json));
                    }
                }
                // Resolved by the listener before it gets here.
                Note::EventRef(_) => {}
                Note::Delivery { m, r, s } => self.apply(vec![Effect::Delivery {
                    message_id: m,
                    recipient_id: r,
                    state: s,
                }]),
                Note::Token { h, p } => self.apply(vec![Effect::Token {
                    hash: h,
                    peer_id: p,
                }]),
                Note::Forget(hash) => self.apply(vec![Effect::ForgetToken { hash }]),
                Note::Kick(peer) => self.apply(vec![Effect::Kick(peer)]),
                Note::Rewind { p, f } => self.apply(vec![Effect::Rewind { peer: p, from: f }]),
                Note::Session(id) => self.apply(vec![Effect::Session(id)]),
                Note::Stream { p, b } => {
                    // The peer's stream moved to another broker: a stream
                    // still open here is a leftover of the old link.
                    if b.as_deref().is_some_and(|b| b != self.team.node.instance) {
                        if let Some(c) = self.lock_presence().connected.get(&p) {
                            c.kick.notify_one();
                        }
                        self.reach.moved_away(&p);
                    }
                    self.team.stream_moved(&p, b.as_deref(), from);
                }
                Note::Reach { p, f } => self.reach.set_remote(&p, *f),
                Note::Answer(a) => self.apply(vec![Effect::PermissionAnswer(a)]),
            }
        }
    }

    /// The listener (re)connected: take who holds which stream from the
    /// database, and have every local stream read the store (notes may
    /// have been missed while it was away).
    pub fn resync(&self, streams: HashMap<String, String>) {
        let me = self.team.node.instance.clone();
        self.team
            .load_remote(streams.into_iter().filter(|(_, b)| *b != me).collect());
        for c in self.lock_presence().connected.values() {
            c.reread();
        }
    }

    /// Publish `event` here and on the other brokers (an event not tied to
    /// a commit: typing, "needs you" nudges).
    pub fn announce(&self, event: Event) {
        if self.team.enabled()
            && let Ok(json) = serde_json::to_string(&ServerFrame::Event {
                event: Box::new(event.clone()),
            })
        {
            self.team.announce(vec![Note::Event(json)]);
        }
        self.publish(event);
    }

    /// Apply one commit's effects, in order.
    pub fn apply(&self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Wake(peer) => {
                    if let Some(c) = self.lock_presence().connected.get(&peer) {
                        c.reread();
                    }
                    self.reach.ring(&peer);
                }
                Effect::Deliver(fanned) => {
                    {
                        let p = self.lock_presence();
                        for (index, (peer, _)) in fanned.recipients.iter().enumerate() {
                            if let Some(c) = p.connected.get(peer) {
                                c.push(Pushed {
                                    fanned: fanned.clone(),
                                    index,
                                });
                            }
                        }
                    }
                    for (peer, _) in &fanned.recipients {
                        self.reach.ring(peer);
                    }
                }
                Effect::Event(event) => self.publish(*event),
                Effect::Delivery {
                    message_id,
                    recipient_id,
                    state,
                } => {
                    let _ = self.deliveries.send(DeliveryUpdate {
                        message_id,
                        recipient_id,
                        state,
                    });
                }
                Effect::Token { hash, peer_id } => {
                    if let Ok(mut t) = self.tokens.write() {
                        t.insert(hash, peer_id);
                    }
                }
                Effect::ForgetToken { hash } => {
                    if let Ok(mut t) = self.tokens.write() {
                        t.remove(&hash);
                    }
                }
                Effect::Kick(peer) => {
                    if let Some(c) = self.lock_presence().connected.get(&peer) {
                        c.kick.notify_one();
                    }
                    self.reach.kick(&peer);
                }
                Effect::Rewind { peer, from } => {
                    if let Some(c) = self.lock_presence().connected.get(&peer) {
                        c.rewind.fetch_min(from, Ordering::AcqRel);
                        c.reread();
                    }
                }
                Effect::Session(id) => {
                    self.set_session(&id);
                    self.publish(Event::Session { session_id: id });
                }
                // Known here already (`connect`/`disconnect`).
                Effect::Stream { .. } => {}
                Effect::PermissionAnswer(a) => {
                    let took = self.permits.deliver(&self.team.node.instance, &a);
                    tracing::debug!(peer = %a.peer, request = %a.request_id, took, "permission answer passed on");
                }
            }
        }
    }

    fn lock_presence(&self) -> std::sync::MutexGuard<'_, Presence> {
        self.presence.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Send an event to every operator stream.
    pub fn publish(&self, event: Event) {
        if self.events.receiver_count() == 0 {
            return;
        }
        let frame = ServerFrame::Event {
            event: Box::new(event),
        };
        match serde_json::to_string(&frame) {
            Ok(json) => {
                let _ = self.events.send(Arc::from(json));
            }
            Err(e) => tracing::error!(error = %e, "cannot serialise an event"),
        }
    }

    /// Whether any operator stream listens (events need not be built
    /// otherwise); with other brokers, one of theirs may.
    pub fn has_subscribers(&self) -> bool {
        self.events.receiver_count() > 0 || self.team.enabled()
    }

    /// Subscribe to operator events (serialised `ServerFrame::Event` JSON).
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    /// Start watching delivery updates: call before the send is stored, so
    /// that its update cannot be missed; then [`DeliveryWaiter::wait`].
    pub fn delivery_waiter(&self) -> DeliveryWaiter {
        DeliveryWaiter(self.deliveries.subscribe())
    }

    /// Register a new stream for `peer`; a previous stream of the same peer is told to close.
    pub fn connect(&self, peer: &str) -> Connection {
        let conn = Connection {
            id: self.next_conn.fetch_add(1, Ordering::Relaxed),
            wake: Arc::new(Notify::new()),
            kick: Arc::new(Notify::new()),
            rewind: Arc::new(AtomicI64::new(i64::MAX)),
            pushed: Arc::default(),
        };
        let mut p = self.lock_presence();
        if let Some(old) = p.connected.insert(peer.to_string(), conn.clone()) {
            old.kick.notify_one();
        }
        p.disconnected_since.remove(peer);
        conn
    }

    /// The stream `conn_id` of `peer` ended. Returns whether it was the current one
    /// (a replaced stream ending does not make the peer disconnected).
    pub fn disconnect(&self, peer: &str, conn_id: u64, now: i64) -> bool {
        let mut p = self.lock_presence();
        if p.connected.get(peer).is_some_and(|c| c.id == conn_id) {
            p.connected.remove(peer);
            p.disconnected_since.insert(peer.to_string(), now);
            true
        } else {
            false
        }
    }

    /// Whether `peer`'s stream is open, on this broker or another live one.
    pub fn is_connected(&self, peer: &str) -> bool {
        self.is_connected_here(peer) || self.team.remote_connected(peer)
    }

    /// Whether `peer`'s stream is open on this broker.
    pub fn is_connected_here(&self, peer: &str) -> bool {
        self.lock_presence().connected.contains_key(peer)
    }

    /// Ids of the peers connected now (on any live broker).
    pub fn connected_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock_presence().connected.keys().cloned().collect();
        ids.extend(self.team.remote_ids());
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn connected_count(&self) -> usize {
        self.connected_ids().len()
    }

    /// Since when `peer` is disconnected (`None` if connected or never seen by
    /// this broker process).
    pub fn disconnected_since(&self, peer: &str) -> Option<i64> {
        self.lock_presence().disconnected_since.get(peer).copied()
    }

    /// Record that `peer` has been disconnected since `at`, unless connected or known.
    pub fn assume_disconnected(&self, peer: &str, at: i64) {
        let mut p = self.lock_presence();
        if !p.connected.contains_key(peer) {
            p.disconnected_since.entry(peer.to_string()).or_insert(at);
        }
    }

    pub fn forget(&self, peer: &str) {
        self.lock_presence().disconnected_since.remove(peer);
    }

    /// Tell every peer stream to close (broker shutdown).
    pub fn kick_all(&self) {
        for c in self.lock_presence().connected.values() {
            c.kick.notify_one();
        }
    }

    /// The peer a token hash belongs to.
    pub fn peer_for_token(&self, hash: &str) -> Option<String> {
        self.tokens.read().ok()?.get(hash).cloned()
    }

    pub fn load_tokens(&self, pairs: impl IntoIterator<Item = (String, String)>) {
        if let Ok(mut t) = self.tokens.write() {
            t.extend(pairs);
        }
    }

    /// The current session id.
    pub fn session(&self) -> String {
        self.session.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Set the current session id.
    pub fn set_session(&self, id: &str) {
        if let Ok(mut s) = self.session.write() {
            *s = id.to_string();
        }
    }

    /// Record that `peer` is typing.
    pub fn typing(&self, peer: &str, now: i64) {
        if let Ok(mut t) = self.typing.lock() {
            t.insert(peer.to_string(), now);
        }
        self.announce(Event::Typing {
            peer_id: peer.to_string(),
        });
    }

    /// Peers that typed within `window_ms`.
    pub fn typing_since(&self, now: i64, window_ms: i64) -> Vec<String> {
        let Ok(mut t) = self.typing.lock() else {
            return Vec::new();
        };
        t.retain(|_, at| now - *at < window_ms);
        t.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_rewind_moves_the_stream_back_once_and_only_backwards() {
        let hub = Hub::new("s".into());
        let conn = hub.connect("p");
        assert_eq!(conn.take_rewind(50), 50, "nothing released: stay");
        hub.apply(vec![
            Effect::Rewind {
                peer: "p".into(),
                from: 30,
            },
            Effect::Rewind {
                peer: "p".into(),
                from: 20,
            },
        ]);
        assert_eq!(conn.take_rewind(50), 19, "back to just before the lowest");
        assert_eq!(conn.take_rewind(50), 50, "taken once");
        hub.apply(vec![Effect::Rewind {
            peer: "p".into(),
            from: 60,
        }]);
        assert_eq!(
            conn.take_rewind(50),
            50,
            "ahead of the cursor: nothing to re-read"
        );
    }

    fn fanned(id: i64, to: &[&str]) -> Effect {
        use claude_peers_proto::api::{Party, PartyKind};
        Effect::Deliver(Arc::new(Fanned {
            message: MessageView {
                id,
                from: Party {
                    kind: PartyKind::Peer,
                    id: "sender".into(),
                    name: "sender".into(),
                },
                to: None,
                scope: None,
                group: None,
                text: format!("message {id}"),
                msg_type: None,
                metadata: None,
                context: None,
                sent_at: String::new(),
                pinned: false,
                thread_id: id,
                reply_to: None,
                chain_depth: 0,
                held: false,
                deliveries: Vec::new(),
                reactions: Vec::new(),
            },
            recipients: to
                .iter()
                .map(|p| (p.to_string(), format!("name-{p}")))
                .collect(),
        }))
    }

    fn ids(pushed: &VecDeque<Pushed>) -> Vec<i64> {
        pushed.iter().map(|p| p.fanned.message.id).collect()
    }

    #[test]
    fn a_message_is_pushed_to_each_connected_recipient_in_commit_order() {
        let hub = Hub::new("s".into());
        let a = hub.connect("a");
        let b = hub.connect("b");
        hub.apply(vec![fanned(1, &["a", "b", "offline"]), fanned(2, &["b"])]);
        let (got, reread) = a.take_pushed();
        assert_eq!((ids(&got), reread), (vec![1], false));
        assert_eq!(got[0].recipient(), ("a", "name-a"));
        let (got, reread) = b.take_pushed();
        assert_eq!((ids(&got), reread), (vec![1, 2], false));
        assert_eq!(got[1].recipient(), ("b", "name-b"));
        assert_eq!(ids(&b.take_pushed().0), Vec::<i64>::new(), "taken once");
    }

    #[test]
    fn a_stream_that_falls_behind_reads_the_store_instead() {
        let hub = Hub::new("s".into());
        let a = hub.connect("a");
        let effects = (1..=PUSH_QUEUE as i64 + 1)
            .map(|id| fanned(id, &["a"]))
            .collect();
        hub.apply(effects);
        let (got, reread) = a.take_pushed();
        assert!(got.is_empty(), "the pushes were dropped");
        assert!(reread, "and the stream is told to read the store");
        hub.apply(vec![fanned(1000, &["a"])]);
        let (got, reread) = a.take_pushed();
        assert_eq!(
            (ids(&got), reread),
            (vec![1000], false),
            "pushes again after reading"
        );
    }

    #[test]
    fn a_wake_or_a_rewind_makes_the_stream_read_the_store() {
        let hub = Hub::new("s".into());
        let a = hub.connect("a");
        hub.apply(vec![fanned(1, &["a"]), Effect::Wake("a".into())]);
        assert!(a.take_pushed().1);
        hub.apply(vec![Effect::Rewind {
            peer: "a".into(),
            from: 1,
        }]);
        assert!(a.take_pushed().1);
        assert!(!a.take_pushed().1, "once");
    }

    fn delivered(message_id: i64, to: &str) -> Effect {
        Effect::Delivery {
            message_id,
            recipient_id: to.into(),
            state: DeliveryState::Delivered,
        }
    }

    #[tokio::test]
    async fn a_waiter_sees_its_own_delivery_and_ignores_others() {
        let hub = Hub::new(String::new());
        let waiter = hub.delivery_waiter();
        hub.apply(vec![
            delivered(1, "other"),
            delivered(2, "b"),
            delivered(1, "b"),
        ]);
        let seen = waiter.wait(1, "b", Duration::from_secs(5)).await;
        assert_eq!(seen, Waited::Reached(DeliveryState::Delivered));
    }

    #[test]
    fn a_peer_is_connected_on_another_broker_only_while_that_broker_is_alive() {
        let hub = Hub::new("s".into());
        let stream = |b: Option<&str>| Note::Stream {
            p: "p".into(),
            b: b.map(str::to_string),
        };
        hub.apply_remote("b1", vec![stream(Some("b1"))]);
        assert!(!hub.is_connected("p"), "b1 never heard from");
        hub.team.set_alive(["b1".to_string()].into());
        assert!(hub.is_connected("p"));
        assert_eq!(hub.connected_ids(), vec!["p".to_string()]);
        // A stale close from another broker does not undo b1's stream.
        hub.apply_remote("b2", vec![stream(None)]);
        assert!(hub.is_connected("p"));
        hub.team.set_alive(Default::default());
        assert!(!hub.is_connected("p"), "b1 is dead");
        hub.team.set_alive(["b1".to_string()].into());
        hub.apply_remote("b1", vec![stream(None)]);
        assert!(!hub.is_connected("p"), "closed on b1");
    }

    #[test]
    fn a_stream_moving_to_another_broker_closes_the_one_left_here() {
        let hub = Hub::new("s".into());
        let here = hub.connect("p");
        hub.apply_remote(
            "b1",
            vec![Note::Stream {
                p: "p".into(),
                b: Some("b1".into()),
            }],
        );
        let kicked = here.kick.notified();
        tokio::pin!(kicked);
        assert!(
            futures_ready(kicked.as_mut()),
            "the leftover stream was told to close"
        );
    }

    /// Whether a future is ready at once.
    fn futures_ready<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        f.poll(&mut cx).is_ready()
    }

    #[tokio::test]
    async fn a_waiter_gives_up_at_its_deadline() {
        let hub = Hub::new(String::new());
        let waiter = hub.delivery_waiter();
        hub.apply(vec![delivered(2, "b")]);
        let seen = waiter.wait(1, "b", Duration::from_millis(20)).await;
        assert_eq!(seen, Waited::TimedOut);
    }
}
