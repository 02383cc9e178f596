//! JSON bodies of the broker's HTTP API, version 1 (`/v1/...`).
//!
//! Requests refuse unknown fields, so a typo is an error rather than a silently
//! ignored setting. Timestamps are RFC 3339 strings. The routes that carry these
//! bodies are listed in `docs/API.md`.

use serde::{Deserialize, Serialize};

/// Header carrying the join token on registration (`POST /v1/peers`).
pub const JOIN_HEADER: &str = "x-claude-peers-join";

/// Response header of `GET /v1/peers` when more peers are listed than the
/// page held: the `cursor` that asks for the next page.
pub const PEERS_NEXT_HEADER: &str = "x-claude-peers-next";

/// Which peers a listing or broadcast covers. Always within the caller's group.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every peer the caller may see.
    Machine,
    /// Peers whose working directory is the caller's.
    Directory,
    /// Peers in the caller's git repository (worktrees of one repository count as one).
    Repo,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Machine => "machine",
            Scope::Directory => "directory",
            Scope::Repo => "repo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "machine" => Self::Machine,
            "directory" => Self::Directory,
            "repo" => Self::Repo,
            _ => return None,
        })
    }
}

/// What a peer says about its availability.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    #[default]
    Online,
    Away,
    Busy,
    Idle,
}

impl PresenceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Busy => "busy",
            Self::Idle => "idle",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => Self::Online,
            "away" => Self::Away,
            "busy" => Self::Busy,
            "idle" => Self::Idle,
            _ => return None,
        })
    }
}

/// Whether a peer's MCP server is there.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Connected, or disconnected for less than the reconnect grace period.
    Live,
    /// Disconnected for longer than the grace period (or its process is gone);
    /// messages to it are queued until it returns.
    Stale,
    /// Removed from the list; its inbox is kept for a while in case it returns.
    Gone,
}

/// Where one message stands for one recipient. Only moves forward.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Stored; the recipient's MCP server has not confirmed it yet.
    Queued,
    /// The recipient's MCP server wrote it into the session as a channel notification.
    Delivered,
    /// The agent acknowledged it or read it with `check_messages`.
    Read,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Read => "read",
        }
    }

    /// The value stored in SQLite.
    pub fn code(self) -> i64 {
        match self {
            Self::Queued => 0,
            Self::Delivered => 1,
            Self::Read => 2,
        }
    }

    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Queued,
            1 => Self::Delivered,
            _ => Self::Read,
        }
    }
}

/// Who a party to a message is.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A registered Claude Code session.
    Peer,
    /// A person, at the dashboard (`dashboard`) or the CLI (`cli`).
    Operator,
    /// The broker itself (departure notices and the like).
    System,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::Operator => "operator",
            Self::System => "system",
        }
    }

    /// The kind stored as [`PartyKind::as_str`]; anything else is the broker itself.
    pub fn parse_or_system(s: &str) -> Self {
        match s {
            "peer" => Self::Peer,
            "operator" => Self::Operator,
            _ => Self::System,
        }
    }
}

/// A sender or recipient, as shown to people and agents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Party {
    pub kind: PartyKind,
    pub id: String,
    pub name: String,
}

/// An isolation group, by id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// A peer as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerView {
    pub id: String,
    pub name: String,
    /// Whether the name was chosen (`set_name`) rather than assigned (`claude-N`).
    pub custom_name: bool,
    /// `None` = the lobby.
    pub group: Option<GroupRef>,
    pub status: PresenceStatus,
    pub state: PeerState,
    /// Whether its MCP server holds a stream to the broker right now.
    pub connected: bool,
    pub pid: u32,
    pub cwd: String,
    pub git_root: Option<String>,
    pub git_branch: Option<String>,
    pub tty: Option<String>,
    pub summary: String,
    pub registered_at: String,
    pub last_seen: String,
    /// The best rung that reaches it now (see [`crate::reach`]).
    #[serde(default)]
    pub reach: crate::reach::Reach,
    /// Whether its session holds messages from peers for its user's review
    /// (it bypasses permission prompts and messages arrive on its socket).
    #[serde(default)]
    pub holds_messages: bool,
    /// The agent client it runs in, once its MCP server has been introduced.
    #[serde(default)]
    pub client: Option<crate::reach::ClientInfo>,
}

/// `POST /v1/peers`: register a session, or resume one (send its token as
/// `Authorization: Bearer …` to resume).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Process id of the MCP server.
    pub pid: u32,
    /// Start time of that process (clock ticks since boot on Linux), against pid reuse.
    #[serde(default)]
    pub pid_start: Option<u64>,
    pub cwd: String,
    #[serde(default)]
    pub git_root: Option<String>,
    /// The repository's common git directory: worktrees of one repository share it.
    #[serde(default)]
    pub git_common_dir: Option<String>,
    #[serde(default)]
    pub git_branch: Option<String>,
    #[serde(default)]
    pub tty: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    /// A name to take instead of `claude-N` (from `CLAUDE_PEERS_NAME`), if free.
    #[serde(default)]
    pub name: Option<String>,
    /// The Claude Code session id (`CLAUDE_CODE_SESSION_ID`): what this session
    /// was already shown is recorded under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc_session: Option<String>,
}

/// Answer to a registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterResponse {
    pub peer: PeerView,
    /// The secret token for this peer: only in the answer that issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Whether an existing identity was resumed (same id, name kept if free).
    pub resumed: bool,
    pub session_id: String,
}

/// `PATCH /v1/me`: change what others see of the caller.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PresenceStatus>,
}

/// `DELETE /v1/me` query: leave the network.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveQuery {
    /// Tell the group that this peer went offline (default true).
    #[serde(default)]
    pub notify: Option<bool>,
}

/// `GET /v1/peers` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListPeersQuery {
    #[serde(default)]
    pub scope: Option<Scope>,
    /// Include the caller itself (default false).
    #[serde(default)]
    pub include_self: Option<bool>,
    /// Include stale peers (default true).
    #[serde(default)]
    pub include_stale: Option<bool>,
    /// Peers per page, 1..=[`MAX_PAGE`](crate::limits::MAX_PAGE) (default
    /// [`DEFAULT_PEER_PAGE`](crate::limits::DEFAULT_PEER_PAGE)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Where the page starts: the [`PEERS_NEXT_HEADER`] of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Where a page of `GET /v1/peers` resumes: after the peer registered at
/// `registered_at` (ms) with id `id`, in listing order (registration time,
/// then id). Written as `<registered_at>.<id>`; read by
/// [`validate::peer_cursor`](crate::validate::peer_cursor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCursor {
    pub registered_at: i64,
    pub id: String,
}

impl std::fmt::Display for PeerCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.registered_at, self.id)
    }
}

/// What a session was doing when it sent a message. Attached by the sender's
/// MCP server; shown by the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSnapshot {
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub recent_files: Vec<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub cwd: String,
}

/// `POST /v1/messages`: send to one peer (by name or id) or to the operator.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Peer name or id, or `dashboard` / `cli` for the person.
    pub to: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSnapshot>,
    /// Wait up to this many milliseconds for the recipient's MCP server to
    /// confirm delivery before answering (default 0, at most 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
    /// The message this one answers (one the sender sent or received); the
    /// reply joins its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// A status update ("blocked", "waiting", "done"): short, never held by the
    /// loop guard and never counted in a chain.
    #[serde(default, skip_serializing_if = "is_false")]
    pub status: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a send was held by the loop guard instead of being delivered. The
/// message is stored; it is delivered when the operator releases the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldNotice {
    /// The chain the message belongs to (release it with `/v1/chains/{id}/release`).
    pub chain_id: i64,
    /// The message's depth in the chain.
    pub depth: u32,
    /// The broker's limit.
    pub limit: u32,
    /// What happened and what to do, in plain words.
    pub reason: String,
}

/// Answer to a send.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendResult {
    pub message_id: i64,
    pub to: Party,
    /// The state the message reached before the answer was sent.
    pub state: DeliveryState,
    /// Whether the recipient's MCP server was connected.
    pub recipient_connected: bool,
    /// Set when the loop guard held the message (stored, not yet delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldNotice>,
    /// How the recipient can be reached (peers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<RecipientReach>,
}

/// How a message's recipient can be reached, when it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientReach {
    pub reach: crate::reach::Reach,
    /// It holds peer messages for its user's review.
    pub holds_messages: bool,
    /// Its session is idle (its turn ended) as far as its hooks said.
    pub idle: bool,
    /// A `Stop`-hook waiter is armed for it (an idle session will be woken).
    #[serde(default)]
    pub wake_hook: bool,
}

/// `POST /v1/broadcasts`: one message to every peer in a scope of the caller's group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    pub scope: Scope,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSnapshot>,
    /// For the operator only: the place a `directory` or `repo` broadcast is
    /// relative to (a peer's is where it registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<BroadcastOrigin>,
    /// The message this one answers; the broadcast joins its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// A status update: short, never held by the loop guard.
    #[serde(default, skip_serializing_if = "is_false")]
    pub status: bool,
}

/// Where an operator's `directory`/`repo` broadcast is aimed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastOrigin {
    pub cwd: String,
    /// The repository's common git directory, for scope `repo`.
    #[serde(default)]
    pub git_common_dir: Option<String>,
}

/// Answer to a broadcast.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BroadcastResult {
    pub message_id: i64,
    pub recipients: Vec<Party>,
    /// How many of them were connected.
    pub connected: u32,
    /// Set when the loop guard held the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldNotice>,
}

/// One recipient's delivery of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub recipient: Party,
    pub state: DeliveryState,
    pub delivered_at: Option<String>,
    pub read_at: Option<String>,
}

/// Who reacted with one emoji.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionView {
    pub emoji: String,
    pub by: Vec<Party>,
}

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub from: Party,
    /// The recipient of a direct message (`None` for a broadcast).
    pub to: Option<Party>,
    /// The scope of a broadcast (`None` for a direct message).
    pub scope: Option<Scope>,
    /// The sender's group when it sent (`None` = lobby).
    pub group: Option<GroupRef>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSnapshot>,
    pub sent_at: String,
    pub pinned: bool,
    /// The thread: the id of its first message (its own id for a message
    /// that answers none).
    #[serde(default)]
    pub thread_id: i64,
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// Depth in its chain of agent-to-agent messages since a person last
    /// spoke (0 = not counted: a person's message, a status update, a notice).
    #[serde(default)]
    pub chain_depth: u32,
    /// Held by the loop guard: stored, not delivered until the operator releases it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub held: bool,
    /// Per-recipient delivery: all of them for the sender and the operator, the
    /// viewer's own for a recipient.
    pub deliveries: Vec<DeliveryView>,
    pub reactions: Vec<ReactionView>,
}

/// A list of messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageList {
    pub messages: Vec<MessageView>,
}

/// `POST /v1/inbox/read`: mark messages read (all unread when `ids` is absent).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    #[serde(default)]
    pub ids: Option<Vec<i64>>,
}

/// Answer to a read or ack: the messages that changed to `read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadResult {
    pub read: Vec<i64>,
}

/// `GET /v1/messages/sent` and `GET /v1/messages/history` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// With the history route: the other peer (name or id).
    #[serde(default)]
    pub peer: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only messages with an id below this (paging back).
    #[serde(default)]
    pub before: Option<i64>,
    /// With the history route: one thread, oldest first (then `peer` is optional).
    #[serde(default)]
    pub thread: Option<i64>,
}

/// `GET /v1/messages/search`: full-text search over the messages the caller
/// may see (a peer: those it sent or received; the operator: all).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find (all of them, in any order; a trailing word also matches
    /// as a prefix). Quotes group a phrase.
    pub q: String,
    /// Only messages from this party (peer name or id, `dashboard`, `cli`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Only messages of this thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<i64>,
    /// Only messages sent at or after this time (RFC 3339), or this long ago
    /// (`30m`, `2h`, `7d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One search hit: the message, a short snippet around the match (matched
/// words between `[` and `]`), and its rank (lower is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: MessageView,
    pub snippet: String,
    pub rank: f64,
}

/// Answer to a search, best first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    pub hits: Vec<SearchHit>,
}

/// A chain of agent-to-agent messages the loop guard holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldChain {
    pub chain_id: i64,
    /// The peers whose held messages wait (senders and recipients).
    pub peers: Vec<Party>,
    /// Messages held.
    pub held: u32,
    /// The deepest held message's depth.
    pub depth: u32,
    pub limit: u32,
    /// When the first message was held.
    pub since: String,
    /// The newest held message, shortened.
    pub preview: String,
}

/// `GET /v1/chains/held` (operator).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldChainList {
    pub chains: Vec<HeldChain>,
}

/// `POST /v1/chains/{id}/release` (operator): the held messages are delivered
/// and the chain starts again from zero.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseResult {
    pub chain_id: i64,
    /// Ids of the messages now delivered, oldest first.
    pub released: Vec<i64>,
}

/// `POST /v1/messages/{id}/pin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    #[serde(default = "yes")]
    pub pinned: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/messages/{id}/reactions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactRequest {
    pub emoji: String,
    #[serde(default)]
    pub remove: bool,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    /// Always `claude-peers`.
    pub service: String,
    pub status: String,
    pub version: String,
    /// Peers that are live now.
    pub peers: u32,
    pub uptime_ms: u64,
    /// Process id of the broker (only for the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Database path (only for the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// Whether the broker relays sessions' permission prompts to the operator
    /// (`--permission-relay`); MCP servers read it before answering `initialize`.
    #[serde(default)]
    pub permission_relay: bool,
}

/// An isolation group with its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    /// `true` for groups made automatically from a repository and branch.
    pub auto: bool,
    pub members: Vec<Party>,
    pub created_at: String,
}

/// `GET /v1/groups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupList {
    /// Peers in no group.
    pub lobby: Vec<Party>,
    pub groups: Vec<GroupView>,
}

/// `POST /v1/groups` (operator).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
}

/// `PUT /v1/peers/{id}/group` (operator): move a peer (`group` null = lobby).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignGroup {
    pub group: Option<String>,
}

/// `POST /v1/shutdown` (operator).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownRequest {
    /// Ask connected MCP servers not to start a new broker by themselves.
    #[serde(default)]
    pub stay_down: bool,
}

/// Answer to a shutdown request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShutdownResult {
    pub pid: u32,
    pub db: String,
}

/// `GET /v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {
    pub peer: PeerView,
    /// Messages not yet read.
    pub unread: u32,
    pub session_id: String,
}

/// `POST /v1/inbox/check`: the unread messages, now marked read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub messages: Vec<MessageView>,
    /// Unread messages left (more than one page was waiting).
    pub remaining: u32,
}

/// `POST /v1/messages/{id}/ack`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AckResult {
    pub message_id: i64,
    pub state: DeliveryState,
}

/// `POST /v1/session`: sign in to the dashboard.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The admin token (not needed on a loopback-only broker from this machine).
    #[serde(default)]
    pub token: Option<String>,
}

/// `GET /v1/state`: everything the dashboard shows, at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DashboardState {
    pub version: String,
    pub session_id: String,
    pub uptime_ms: u64,
    pub peers: Vec<PeerView>,
    pub groups: GroupList,
    /// The newest messages of the session, newest first.
    pub messages: Vec<MessageView>,
    pub pinned: Vec<MessageView>,
    pub typing: Vec<String>,
    /// The newest audit entries, newest first.
    pub audit: Vec<AuditEntry>,
    /// Tasks of the session, newest first.
    #[serde(default)]
    pub tasks: Vec<crate::coord::TaskView>,
    /// Decisions of every group (active and revoked), most recently updated first.
    #[serde(default)]
    pub decisions: Vec<crate::coord::DecisionView>,
    /// Verification requests of the session, newest first.
    #[serde(default)]
    pub verifications: Vec<crate::coord::VerificationView>,
    /// Proposals of the session with their votes, newest first.
    #[serde(default)]
    pub proposals: Vec<crate::coord::ProposalView>,
    /// Approval requests of the session, newest first.
    #[serde(default)]
    pub approvals: Vec<crate::coord::ApprovalView>,
    /// Files each peer is editing, with conflicts inside each group.
    #[serde(default)]
    pub active_files: Vec<crate::coord::ActiveFilesView>,
}

/// One audit entry (`GET /v1/audit`, the dashboard's activity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: Party,
    pub action: String,
    pub details: String,
    pub group_id: Option<String>,
}
