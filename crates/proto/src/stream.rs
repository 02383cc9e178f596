//! Frames of the WebSocket stream `GET /v1/stream`.
//!
//! A peer's MCP server holds one stream: the broker sends it `hello`, then every
//! unread message addressed to it (oldest first), then each new one the moment it
//! is stored. The MCP server answers `delivered` once it has written a message
//! into its session. The operator's stream (dashboard, `claude-peers watch`) gets a
//! `snapshot`-free sequence of typed `event`s instead.

use serde::{Deserialize, Serialize};

use crate::api::{DeliveryState, GroupView, HeldChain, MessageView, Party, PeerView};
use crate::coord::{
    ActiveFilesView, ApprovalView, DecisionView, ProposalView, TaskView, VerificationView,
};
use crate::needs_you::NeedsYouItem;
use crate::permissions::{
    PermissionDecision, PermissionOutcome, PermissionRequest, PermissionView,
};

/// Broker → client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame: who the broker thinks the client is.
    Hello {
        /// The peer, for a peer's stream; `None` for the operator.
        peer: Option<Box<PeerView>>,
        session_id: String,
        version: String,
    },
    /// A message for this peer (peer streams only). May repeat after a
    /// reconnect until it is confirmed; the client dedupes by id.
    Message {
        message: Box<MessageView>,
        /// Set when the recipient's Claude Code session was already shown this
        /// message (by this rung): count it as unread, do not push it again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shown: Option<crate::reach::Rung>,
    },
    /// Something changed (operator streams only).
    Event { event: Box<Event> },
    /// The broker is stopping. `stay_down`: do not start a new one by yourself.
    Shutdown { reason: String, stay_down: bool },
    /// The operator answered one of this session's permission requests (peer
    /// streams only): write it to Claude Code as `notifications/claude/channel/permission`.
    PermissionDecision { decision: PermissionDecision },
}

/// Client → broker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// These messages were written into the session (channel notification sent).
    Delivered {
        ids: Vec<i64>,
        /// The rung that showed them (recorded for the Claude Code session).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rung: Option<crate::reach::Rung>,
    },
    /// The peer is composing (shown as a typing indicator on the dashboard).
    Typing,
    /// Claude Code asked this session's person for permission to use a tool;
    /// relay it to the operator (ignored unless the broker's relay is on).
    PermissionRequest { request: PermissionRequest },
}

/// A change, as pushed to the dashboard and `claude-peers watch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A peer joined or changed (name, group, status, summary, connection).
    Peer { peer: PeerView },
    /// A peer left the list (departed or removed after going stale).
    PeerGone { id: String, name: String },
    /// A new message.
    Message { message: MessageView },
    /// A recipient's delivery state moved forward.
    Delivery {
        message_id: i64,
        recipient: Party,
        state: DeliveryState,
    },
    /// A message was pinned or unpinned.
    Pin { message_id: i64, pinned: bool },
    /// A reaction was added or removed.
    Reaction {
        message_id: i64,
        emoji: String,
        by: Party,
        added: bool,
    },
    /// A group was created or its membership changed.
    Group { group: GroupView },
    /// A group was deleted (its members are in the lobby now).
    GroupDeleted { id: String },
    /// A peer is typing.
    Typing { peer_id: String },
    /// A new session began.
    Session { session_id: String },
    /// A task was created or changed.
    Task { task: Box<TaskView> },
    /// A decision was posted, updated or revoked.
    Decision { decision: Box<DecisionView> },
    /// A verification was requested or answered.
    Verification { verification: Box<VerificationView> },
    /// A proposal was created, voted on or resolved.
    Proposal { proposal: Box<ProposalView> },
    /// An approval was requested or answered.
    Approval { approval: Box<ApprovalView> },
    /// Active files changed: every peer's current list (replaces the previous one).
    ActiveFiles { active_files: Vec<ActiveFilesView> },
    /// A session asks the operator for permission to use a tool.
    Permission { permission: Box<PermissionView> },
    /// Something new waits on the person that no other event announces
    /// (unreachable mail), or the lane changed (messages marked read, mail dismissed).
    NeedsYou { item: Option<Box<NeedsYouItem>> },
    /// A permission request left the lane (answered, expired, session ended).
    PermissionGone {
        id: String,
        outcome: PermissionOutcome,
    },
    /// The loop guard held a message: the chain as it stands now.
    Held { chain: HeldChain },
    /// The operator released a held chain; its messages were delivered.
    Released { chain_id: i64, released: Vec<i64> },
}
