//! The session's link to the broker.
//!
//! In the background, from the first moment: find or start the broker, register
//! (or resume with the saved token), open the stream, and keep it open —
//! reconnecting with backoff, and starting the broker again if it died. Messages
//! arriving on the stream go to the pusher, which, once the Claude Code session
//! has settled, writes each one as a channel notification and only then tells
//! the broker `delivered`. Every message id shown to the agent (pushed, or read
//! with `check_messages`) is remembered, so one MCP server never shows a message
//! twice.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use claude_peers_client::autostart::{Probe, ensure_broker, probe};
use claude_peers_client::credentials::{self, Credentials};
use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{ContextSnapshot, MessageView, PeerView, RegisterRequest};
use claude_peers_proto::limits::MAX_CONTEXT_FILES;
use claude_peers_proto::stream::{ClientFrame, ServerFrame};
use rmcp::model::{CustomNotification, ServerNotification};
use rmcp::service::{Peer, RoleServer};
use tokio::sync::{mpsc, watch};

use crate::channel;
use crate::git::{self, RepoInfo, Snapshot};

/// How the session is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub endpoint: Endpoint,
    /// The `claude-peers` executable, to start a broker with.
    pub exe: PathBuf,
    /// Wait this long after `initialized` before the first push (Claude Code
    /// registers its channel handler a moment after the handshake).
    pub settle: Duration,
    /// A name to ask for instead of `claude-N`.
    pub name: Option<String>,
    pub cwd: PathBuf,
    /// The broker's join token (`CLAUDE_PEERS_TOKEN`), if it asks for one.
    pub join_token: Option<String>,
}

/// How long a tool waits for the first registration.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Message ids remembered as shown.
const SHOWN_CAP: usize = 100_000;
/// Context snapshots are refreshed when older than this.
const SNAPSHOT_TTL: Duration = Duration::from_secs(15);
/// The first send waits this long at most for the first snapshot.
const FIRST_SNAPSHOT_WAIT: Duration = Duration::from_millis(500);
/// Typing frames are sent at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Inbox {
    /// Received and not read.
    unread: BTreeSet<i64>,
    /// Shown to the agent (pushed or returned by check_messages).
    shown: HashSet<i64>,
    shown_order: VecDeque<i64>,
}

impl Inbox {
    fn mark_shown(&mut self, id: i64) {
        if self.shown.insert(id) {
            self.shown_order.push_back(id);
            if self.shown_order.len() > SHOWN_CAP
                && let Some(old) = self.shown_order.pop_front()
            {
                self.shown.remove(&old);
            }
        }
    }
}

#[derive(Clone)]
struct Registered {
    client: BrokerClient,
    me: PeerView,
}

pub struct Session {
    opts: Options,
    reg: watch::Sender<Option<Registered>>,
    last_error: Mutex<Option<String>>,
    mcp: OnceLock<Peer<RoleServer>>,
    settled: watch::Sender<bool>,
    inbox: Mutex<Inbox>,
    push_tx: mpsc::UnboundedSender<MessageView>,
    push_rx: Mutex<Option<mpsc::UnboundedReceiver<MessageView>>>,
    ack_tx: mpsc::UnboundedSender<i64>,
    ack_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<i64>>>,
    summary: Mutex<String>,
    repo: Mutex<Option<RepoInfo>>,
    snapshot: Mutex<Option<Snapshot>>,
    refreshing: AtomicBool,
    stay_down: AtomicBool,
    /// Raised when a tool call begins: the stream writer sends a `typing` frame.
    typing: Arc<tokio::sync::Notify>,
    last_typing: Mutex<Option<Instant>>,
    /// Our credentials slot (None if the directory is unusable).
    claim: Option<credentials::Claim>,
    parent_pid: u32,
    /// The permission relay (see [`crate::permission`]).
    pub relay: crate::permission::Relay,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    pub fn new(opts: Options) -> Arc<Self> {
        let parent_pid = std::os::unix::process::parent_id();
        let dir = opts.endpoint.paths().sessions;
        let start = claude_peers_proto::process::start_time(parent_pid);
        let claim = credentials::claim(&dir, parent_pid, start)
            .map_err(|e| tracing::warn!(error = %e, dir = %dir.display(), "cannot claim a credentials slot; this session will not resume after a restart"))
            .ok();
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            opts,
            reg: watch::channel(None).0,
            last_error: Mutex::new(None),
            mcp: OnceLock::new(),
            settled: watch::channel(false).0,
            inbox: Mutex::default(),
            push_tx,
            push_rx: Mutex::new(Some(push_rx)),
            ack_tx,
            ack_rx: Arc::new(tokio::sync::Mutex::new(ack_rx)),
            summary: Mutex::new(String::new()),
            repo: Mutex::new(None),
            snapshot: Mutex::new(None),
            refreshing: AtomicBool::new(false),
            stay_down: AtomicBool::new(false),
            typing: Arc::new(tokio::sync::Notify::new()),
            last_typing: Mutex::new(None),
            claim,
            parent_pid,
            relay: Default::default(),
        })
    }

    /// Start the background work (link and pusher).
    pub fn start(self: &Arc<Self>) {
        tokio::spawn(self.clone().link_loop());
        if let Some(rx) = lock(&self.push_rx).take() {
            tokio::spawn(self.clone().pusher(rx));
        }
    }

    /// The Claude Code session finished its handshake: pushes may begin after
    /// the settle delay.
    pub fn initialized(self: &Arc<Self>, peer: Peer<RoleServer>) {
        let _ = self.mcp.set(peer);
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(me.opts.settle).await;
            me.settled.send_replace(true);
        });
    }

    /// The process id of the Claude Code session (our parent at start).
    pub fn parent_pid(&self) -> u32 {
        self.parent_pid
    }

    /// The broker client acting as this peer, once registered.
    pub async fn client(&self) -> Result<BrokerClient, String> {
        let mut rx = self.reg.subscribe();
        let wait = tokio::time::timeout(READY_TIMEOUT, rx.wait_for(|r| r.is_some())).await;
        match wait {
            Ok(Ok(r)) => Ok(r
                .as_ref()
                .map(|r| r.client.clone())
                .ok_or("not registered")?),
            _ => Err(match lock(&self.last_error).clone() {
                Some(e) => format!("not connected to the claude-peers broker: {e}"),
                None => {
                    "not connected to the claude-peers broker yet; try again in a moment".into()
                }
            }),
        }
    }

    /// This peer as the broker last described it.
    pub fn me(&self) -> Option<PeerView> {
        self.reg.borrow().as_ref().map(|r| r.me.clone())
    }

    pub fn set_me(&self, me: PeerView) {
        self.reg.send_modify(|r| {
            if let Some(r) = r {
                r.me = me;
            }
        });
    }

    pub fn remember_summary(&self, s: &str) {
        *lock(&self.summary) = s.to_string();
    }

    /// Unread message ids this MCP server knows of.
    pub fn unread(&self) -> Vec<i64> {
        lock(&self.inbox).unread.iter().copied().collect()
    }

    /// These messages were read (ack or check_messages): stop announcing them and
    /// never push them.
    pub fn mark_read(&self, ids: &[i64]) {
        let mut inbox = lock(&self.inbox);
        for id in ids {
            inbox.unread.remove(id);
            inbox.mark_shown(*id);
        }
    }

    /// The one-line reminder appended to tool results while messages are unread.
    pub fn unread_line(&self) -> Option<String> {
        let ids = self.unread();
        if ids.is_empty() {
            return None;
        }
        let list: Vec<String> = ids.iter().take(10).map(|i| format!("#{i}")).collect();
        let more = if ids.len() > 10 { ", …" } else { "" };
        Some(format!(
            "[claude-peers] {} unread message{} ({}{more}): call check_messages to read them, or ack_message once handled.",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            list.join(", ")
        ))
    }

    /// A context snapshot for an outgoing message, from the cache (refreshed in
    /// the background when old; never waits for git).
    pub fn context(self: &Arc<Self>) -> ContextSnapshot {
        let snap = lock(&self.snapshot).clone();
        let stale = snap
            .as_ref()
            .is_none_or(|s| s.taken.elapsed() > SNAPSHOT_TTL);
        if stale {
            self.refresh_in_background();
        }
        let repo = lock(&self.repo).clone().unwrap_or_default();
        ContextSnapshot {
            branch: snap.as_ref().and_then(|s| s.branch.clone()).or(repo.branch),
            recent_files: snap.map(|s| s.recent_files).unwrap_or_default(),
            summary: lock(&self.summary).clone(),
            cwd: self.opts.cwd.display().to_string(),
        }
    }

    /// Like [`Session::context`], but the very first snapshot (none taken yet)
    /// is waited for, briefly ([`FIRST_SNAPSHOT_WAIT`] at most).
    pub async fn fresh_context(self: &Arc<Self>) -> ContextSnapshot {
        if lock(&self.snapshot).is_none() {
            self.refresh_in_background();
            let deadline = Instant::now() + FIRST_SNAPSHOT_WAIT;
            while lock(&self.snapshot).is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.context()
    }

    /// Take a new snapshot in the background, unless one is being taken.
    fn refresh_in_background(self: &Arc<Self>) {
        if !self.refreshing.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            tokio::spawn(async move {
                me.refresh_snapshot().await;
                me.refreshing.store(false, Ordering::Release);
            });
        }
    }

    /// A tool call began: tell the broker this session is active (the
    /// dashboard's typing indicator), at most once every [`TYPING_EVERY`].
    pub fn typing(&self) {
        let mut last = lock(&self.last_typing);
        if last.is_none_or(|t| t.elapsed() >= TYPING_EVERY) {
            *last = Some(Instant::now());
            self.typing.notify_one();
        }
    }

    async fn refresh_snapshot(&self) {
        let info = git::repo_info(&self.opts.cwd).await;
        let files = if info.root.is_some() {
            git::recent_files(&self.opts.cwd, MAX_CONTEXT_FILES.min(10)).await
        } else {
            Vec::new()
        };
        *lock(&self.snapshot) = Some(Snapshot {
            branch: info.branch.clone(),
            recent_files: files,
            taken: Instant::now(),
        });
    }

    async fn registration(&self) -> RegisterRequest {
        let cached = lock(&self.repo).clone();
        let repo = match cached {
            Some(r) => r,
            None => {
                let r = git::repo_info(&self.opts.cwd).await;
                *lock(&self.repo) = Some(r.clone());
                r
            }
        };
        let pid = std::process::id();
        RegisterRequest {
            pid,
            pid_start: claude_peers_proto::process::start_time(pid),
            cwd: self.opts.cwd.display().to_string(),
            git_root: repo.root,
            git_common_dir: repo.common_dir,
            git_branch: repo.branch,
            tty: git::tty_of(self.parent_pid).await,
            summary: Some(lock(&self.summary).clone()).filter(|s| !s.is_empty()),
            name: self.opts.name.clone(),
        }
    }

    /// Find the broker, register or resume, open the stream.
    async fn connect(&self) -> Result<Stream, String> {
        if self.stay_down.load(Ordering::Relaxed) {
            match probe(&self.opts.endpoint).await {
                Probe::Ours(h) => {
                    self.relay.learned(h.permission_relay);
                    self.stay_down.store(false, Ordering::Relaxed)
                }
                _ => {
                    return Err(
                        "the broker was stopped on purpose; waiting for it to come back".into(),
                    );
                }
            }
        } else {
            let h = ensure_broker(&self.opts.endpoint, &self.opts.exe).await?;
            self.relay.learned(h.permission_relay);
        }
        let req = self.registration().await;
        let saved = self.claim.as_ref().and_then(|c| credentials::load(&c.path));
        let anon = BrokerClient::new(&self.opts.endpoint, None);
        let resp = anon
            .register_with(
                &req,
                saved.as_ref().map(|c| c.token.as_str()),
                self.opts.join_token.as_deref(),
            )
            .await
            .map_err(|e| format!("registration failed: {e}"))?;
        let token = match (&resp.token, &saved) {
            (Some(t), _) => {
                let creds = Credentials {
                    peer_id: resp.peer.id.clone(),
                    token: t.clone(),
                };
                if let Some(c) = &self.claim
                    && let Err(e) = credentials::save(&c.path, &creds)
                {
                    tracing::warn!(error = %e, path = %c.path.display(), "cannot save the peer token");
                }
                t.clone()
            }
            (None, Some(c)) => c.token.clone(),
            (None, None) => return Err("the broker resumed a peer without a token".into()),
        };
        tracing::info!(name = %resp.peer.name, id = %resp.peer.id, resumed = resp.resumed, "registered");
        eprint!("\x1b]0;{}\x07", resp.peer.name);
        let stream = Stream::connect(&self.opts.endpoint, &token).await?;
        self.reg.send_replace(Some(Registered {
            client: BrokerClient::new(&self.opts.endpoint, Some(token)),
            me: resp.peer,
        }));
        *lock(&self.last_error) = None;
        Ok(stream)
    }

    async fn link_loop(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.connect().await {
                Ok(stream) => {
                    backoff = Duration::from_millis(50);
                    if lock(&self.snapshot).is_none() {
                        self.refresh_in_background();
                    }
                    self.run_stream(stream).await;
                    tracing::info!("stream closed; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot connect to the broker");
                    *lock(&self.last_error) = Some(e);
                }
            }
            let jitter = Duration::from_millis(u64::from(std::process::id() % 50));
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn run_stream(&self, stream: Stream) {
        let (mut reader, mut writer) = stream.split();
        let acks = self.ack_rx.clone();
        let typing = self.typing.clone();
        let out = self.relay.out_rx.clone();
        let writer_task = tokio::spawn(async move {
            let mut rx = acks.lock().await;
            let mut out = out.lock().await;
            loop {
                let frame = tokio::select! {
                    first = rx.recv() => {
                        let Some(first) = first else { break };
                        let mut ids = vec![first];
                        while ids.len() < 500 {
                            match rx.try_recv() {
                                Ok(id) => ids.push(id),
                                Err(_) => break,
                            }
                        }
                        ClientFrame::Delivered { ids }
                    }
                    _ = typing.notified() => ClientFrame::Typing,
                    Some(frame) = out.recv() => frame,
                };
                if writer.send(&frame).await.is_err() {
                    break;
                }
            }
            writer.close().await;
        });
        self.relay.resend();
        loop {
            match reader.next().await {
                Incoming::Frame(ServerFrame::Hello { peer: Some(p), .. }) => self.set_me(*p),
                Incoming::Frame(ServerFrame::Message { message }) => self.receive(*message),
                Incoming::Frame(ServerFrame::PermissionDecision { decision }) => {
                    self.write_permission_answer(decision).await
                }
                Incoming::Frame(ServerFrame::Shutdown { stay_down, reason }) => {
                    tracing::info!(%reason, stay_down, "the broker is stopping");
                    self.stay_down.store(stay_down, Ordering::Relaxed);
                }
                Incoming::Frame(_) => {}
                Incoming::Garbled(e) => tracing::warn!(error = %e, "skipping an unreadable frame"),
                Incoming::Closed => break,
            }
        }
        writer_task.abort();
    }

    /// Write the operator's answer to a permission request into the session.
    async fn write_permission_answer(
        &self,
        d: claude_peers_proto::permissions::PermissionDecision,
    ) {
        let (Some(n), Some(peer)) = (self.relay.answer(d), self.mcp.get()) else {
            return;
        };
        if let Err(e) = peer
            .send_notification(ServerNotification::CustomNotification(n))
            .await
        {
            tracing::warn!(error = %e, "cannot write a permission answer to Claude Code");
        }
    }

    fn receive(&self, m: MessageView) {
        let shown = {
            let mut inbox = lock(&self.inbox);
            let shown = inbox.shown.contains(&m.id);
            if !shown {
                inbox.unread.insert(m.id);
            }
            shown
        };
        if shown {
            // Already in the session: just confirm again.
            let _ = self.ack_tx.send(m.id);
        } else {
            let _ = self.push_tx.send(m);
        }
    }

    async fn pusher(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<MessageView>) {
        let mut settled = self.settled.subscribe();
        if settled.wait_for(|s| *s).await.is_err() {
            return;
        }
        let Some(peer) = self.mcp.get().cloned() else {
            return;
        };
        while let Some(m) = rx.recv().await {
            let skip = {
                let inbox = lock(&self.inbox);
                inbox.shown.contains(&m.id) || !inbox.unread.contains(&m.id)
            };
            if skip {
                let _ = self.ack_tx.send(m.id);
                continue;
            }
            let n = CustomNotification::new(channel::METHOD, Some(channel::params(&m)));
            match peer
                .send_notification(ServerNotification::CustomNotification(n))
                .await
            {
                Ok(()) => {
                    lock(&self.inbox).mark_shown(m.id);
                    let _ = self.ack_tx.send(m.id);
                    tracing::debug!(id = m.id, from = %m.from.name, "pushed");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write to Claude Code; stopping pushes");
                    return;
                }
            }
        }
    }

    /// Leave the network (departure notice to the group).
    pub async fn leave(&self) {
        let client = self.reg.borrow().as_ref().map(|r| r.client.clone());
        if let Some(c) = client {
            match tokio::time::timeout(Duration::from_secs(2), c.leave(true)).await {
                Ok(Ok(())) => tracing::info!("left the network"),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot tell the broker we are leaving"),
                Err(_) => tracing::warn!("the broker did not answer our goodbye in time"),
            }
        }
    }

    /// Forget the saved token (the Claude Code session is over).
    pub fn forget_credentials(&self) {
        if let Some(c) = &self.claim {
            let _ = std::fs::remove_file(&c.path);
        }
        credentials::prune(&self.opts.endpoint.paths().sessions);
    }
}
