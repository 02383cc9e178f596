//! The session: this MCP server's side of one Claude Code session.
//!
//! - [`link`]: find or start the broker, register (or resume with the saved
//!   token), hold the stream, reconnect; report how the session can be reached;
//! - [`pusher`]: the push rungs of the ladder — the session's own messaging
//!   socket when it has one, else a channel notification — each message once;
//! - [`inbox`]: unread and shown ids, and the unread line;
//! - [`context`]: the snapshot attached to outgoing messages;
//! - [`typing`]: the typing indicator.
//!
//! Every message id shown to the session (pushed by this process, by another
//! rung as the broker's replay says, or read with a tool) is remembered, so one
//! MCP server never shows a message twice; the broker's record of what the
//! Claude Code session was shown carries that across restarts.

mod context;
mod inbox;
mod link;
mod pusher;
mod typing;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use claude_peers_client::credentials;
use claude_peers_client::{BrokerClient, BrokerList};
use claude_peers_proto::api::{MessageView, PeerView};
use claude_peers_proto::reach::{ClientInfo, Rung};
use rmcp::service::{Peer, RoleServer};
use tokio::sync::{Notify, mpsc, watch};

use crate::git::{RepoInfo, Snapshot};
use crate::host::Host;

/// How the session is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The brokers, in order of preference (`CLAUDE_PEERS_BROKERS`); the link
    /// uses the first that answers and fails over to the next.
    pub brokers: BrokerList,
    /// The `claude-peers` executable, to start a broker with.
    pub exe: PathBuf,
    /// Wait this long after `initialized` before the first channel push (Claude
    /// Code registers its channel handler a moment after the handshake).
    pub settle: Duration,
    /// A name to ask for instead of `claude-N`.
    pub name: Option<String>,
    pub cwd: PathBuf,
    /// The broker's join token (`CLAUDE_PEERS_TOKEN`), if it asks for one.
    pub join_token: Option<String>,
}

/// How long a tool waits for the first registration.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the unread line waits for the broker's list before using its own.
const UNREAD_ASK_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone)]
struct Registered {
    client: BrokerClient,
    me: PeerView,
}

/// A confirmation for the broker: these ids reached the session by this rung.
type Ack = (i64, Option<Rung>);

pub struct Session {
    opts: Options,
    host: Host,
    reg: watch::Sender<Option<Registered>>,
    last_error: Mutex<Option<String>>,
    mcp: OnceLock<Peer<RoleServer>>,
    client_info: OnceLock<ClientInfo>,
    settled: watch::Sender<bool>,
    inbox: Mutex<inbox::Inbox>,
    /// Raised when a message arrives (`wait_for_messages`).
    arrived: Notify,
    push_tx: mpsc::UnboundedSender<MessageView>,
    push_rx: Mutex<Option<mpsc::UnboundedReceiver<MessageView>>>,
    ack_tx: mpsc::UnboundedSender<Ack>,
    ack_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Ack>>>,
    summary: Mutex<String>,
    repo: Mutex<Option<RepoInfo>>,
    snapshot: Mutex<Option<Snapshot>>,
    refreshing: AtomicBool,
    stay_down: AtomicBool,
    /// The session is over: the link does not reconnect (a reconnect would
    /// register the peer again right after it left).
    leaving: AtomicBool,
    /// The messaging socket refused a write: use the next rung.
    socket_broken: AtomicBool,
    /// Raised when a tool call begins: the stream writer sends a `typing` frame.
    typing: Arc<Notify>,
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
        let dir = opts.brokers.first().paths().sessions;
        let start = claude_peers_proto::process::start_time(parent_pid);
        let claim = credentials::claim(&dir, parent_pid, start)
            .map_err(|e| tracing::warn!(error = %e, dir = %dir.display(), "cannot claim a credentials slot; this session will not resume after a restart"))
            .ok();
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let host = Host::detect(parent_pid);
        tracing::info!(
            cc_session = ?host.cc_session,
            socket = ?host.socket.as_ref().map(|s| s.path.display().to_string()),
            permission_mode = ?host.permission_mode,
            inbound = ?host.inbound,
            "host session"
        );
        Arc::new(Self {
            opts,
            host,
            reg: watch::channel(None).0,
            last_error: Mutex::new(None),
            mcp: OnceLock::new(),
            client_info: OnceLock::new(),
            settled: watch::channel(false).0,
            inbox: Mutex::default(),
            arrived: Notify::new(),
            push_tx,
            push_rx: Mutex::new(Some(push_rx)),
            ack_tx,
            ack_rx: Arc::new(tokio::sync::Mutex::new(ack_rx)),
            summary: Mutex::new(String::new()),
            repo: Mutex::new(None),
            snapshot: Mutex::new(None),
            refreshing: AtomicBool::new(false),
            stay_down: AtomicBool::new(false),
            leaving: AtomicBool::new(false),
            socket_broken: AtomicBool::new(false),
            typing: Arc::new(Notify::new()),
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

    /// The Claude Code session finished its handshake: channel pushes may
    /// begin after the settle delay; the client's name and version are reported.
    pub fn initialized(self: &Arc<Self>, peer: Peer<RoleServer>) {
        if let Some(info) = peer.peer_info() {
            let _ = self.client_info.set(ClientInfo {
                name: info.client_info.name.clone(),
                version: info.client_info.version.clone(),
            });
        }
        let _ = self.mcp.set(peer);
        let me = self.clone();
        tokio::spawn(async move {
            me.report_reach().await;
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

    /// These messages were read with a tool: stop announcing them, never push
    /// them, and record that the tool showed them.
    pub fn mark_read(&self, ids: &[i64]) {
        lock(&self.inbox).mark_read(ids);
        for id in ids {
            let _ = self.ack_tx.send((*id, Some(Rung::Tool)));
        }
    }

    /// The one-line reminder appended to tool results while messages are
    /// unread: the broker's list (hooks may have read some), else our own.
    pub async fn unread_line(&self) -> Option<String> {
        let client = self.reg.borrow().as_ref().map(|r| r.client.clone());
        let asked = match client {
            Some(c) => tokio::time::timeout(UNREAD_ASK_TIMEOUT, c.unread_ids())
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        let ids = match asked {
            Some(u) => {
                let mut inbox = lock(&self.inbox);
                let read: Vec<i64> = inbox
                    .unread
                    .iter()
                    .filter(|id| !u.ids.contains(id))
                    .copied()
                    .collect();
                inbox.mark_read(&read);
                u.ids
            }
            None => lock(&self.inbox).unread.iter().copied().collect(),
        };
        inbox::unread_line(&ids)
    }

    /// A future that completes when the next message arrives (armed at once).
    pub fn arrival(&self) -> std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>> {
        let mut n = Box::pin(self.arrived.notified());
        n.as_mut().enable();
        n
    }

    /// Leave the network (departure notice to the group).
    pub async fn leave(&self) {
        self.leaving.store(true, Ordering::SeqCst);
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
        credentials::prune(&self.opts.brokers.first().paths().sessions);
    }
}
