//! The "needs you" lane: everything waiting on the person, newest first
//! (`GET /v1/needs-you`, the dashboard's lane, `claude-peers inbox`).

use serde::{Deserialize, Serialize};

use crate::api::Party;

/// What kind of thing waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A session's tool-use permission prompt (the permission relay).
    Permission,
    /// An approval request addressed to the operator.
    Approval,
    /// A verification request addressed to the operator.
    Verification,
    /// An open proposal the operator has not voted on.
    Proposal,
    /// A message to the dashboard or CLI the operator has not marked read.
    Message,
    /// A message its recipient has not read for longer than the threshold while
    /// not connected.
    UnreachableMail,
    /// A task its assignee marked blocked (the reason is the detail).
    BlockedTask,
    /// A chain of messages the loop guard holds until a person releases it.
    HeldLoop,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Permission => "permission",
            ItemKind::Approval => "approval",
            ItemKind::Verification => "verification",
            ItemKind::Proposal => "proposal",
            ItemKind::Message => "message",
            ItemKind::UnreachableMail => "unreachable_mail",
            ItemKind::BlockedTask => "blocked_task",
            ItemKind::HeldLoop => "held_loop",
        }
    }
}

/// One item of the lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsYouItem {
    pub kind: ItemKind,
    /// The id of the record it is about (permission, approval, verification,
    /// proposal, task id; message id for messages and unreachable mail; chain
    /// id for a held loop).
    pub id: String,
    /// One line for people.
    pub title: String,
    /// More text (the request, the claim, the message), possibly long.
    pub detail: String,
    /// Who is waiting.
    pub from: Party,
    /// The recipient, for unreachable mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Party>,
    /// When it began waiting.
    pub at: String,
    /// What resolves it, as a command or a dashboard action.
    pub resolve: String,
}

/// `GET /v1/needs-you`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsYou {
    /// Newest first.
    pub items: Vec<NeedsYouItem>,
    /// Whether the permission relay is on.
    pub permission_relay: bool,
    /// Unread mail counts as unreachable after this many milliseconds.
    pub unreachable_after_ms: i64,
}

/// `POST /v1/needs-you/read`: the operator has seen the messages up to `upto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    pub upto: i64,
}

/// `POST /v1/needs-you/dismiss`: take one unreachable mail out of the lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismissMail {
    pub message_id: i64,
    /// Recipient peer id.
    pub recipient: String,
}
