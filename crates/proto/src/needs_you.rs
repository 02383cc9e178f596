//! The "needs you" lane: everything waiting on the person, newest first
//! (`GET /v1/needs-you`, the dashboard's lane, `claude-peers inbox`).

use serde::{Deserialize, Serialize};

use crate::api::{Party, PartyKind};
use crate::coord::{ApprovalStatus, ApprovalView, VerificationStatus, VerificationView};
use crate::limits::NEEDS_YOU_PREVIEW_CHARS;
use crate::text::preview;

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

impl NeedsYouItem {
    /// A pending approval addressed to the person, as the lane (and the
    /// webhook) shows it; `None`: answered, or addressed to a peer.
    pub fn approval(a: &ApprovalView) -> Option<Self> {
        if a.approver.kind != PartyKind::Operator || a.status != ApprovalStatus::Pending {
            return None;
        }
        Some(Self {
            kind: ItemKind::Approval,
            id: a.id.clone(),
            title: format!(
                "{} asks your approval: {}",
                a.requester.name,
                preview(&a.action, NEEDS_YOU_PREVIEW_CHARS)
            ),
            detail: a.action.clone(),
            from: a.requester.clone(),
            to: None,
            at: a.created_at.clone(),
            resolve: format!(
                "Approve / Reject (dashboard), claude-peers inbox approve {} (or reject {}) [--reason …]",
                a.id, a.id
            ),
        })
    }

    /// A pending verification request addressed to the person, as the lane
    /// (and the webhook) shows it; `None`: answered, or addressed to a peer.
    pub fn verification(v: &VerificationView) -> Option<Self> {
        if v.verifier.kind != PartyKind::Operator || v.status != VerificationStatus::Pending {
            return None;
        }
        let mut detail = v.claim.clone();
        if !v.evidence_needed.is_empty() {
            detail.push_str(&format!("\nEvidence needed: {}", v.evidence_needed));
        }
        if !v.files_to_check.is_empty() {
            detail.push_str(&format!(
                "\nFiles to check: {}",
                v.files_to_check.join(", ")
            ));
        }
        Some(Self {
            kind: ItemKind::Verification,
            id: v.id.clone(),
            title: format!(
                "{} asks you to verify: {}",
                v.requester.name,
                preview(&v.claim, NEEDS_YOU_PREVIEW_CHARS)
            ),
            detail,
            from: v.requester.clone(),
            to: None,
            at: v.created_at.clone(),
            resolve: format!(
                "Verified / Failed (dashboard), claude-peers inbox verify {} verified|failed [--response …]",
                v.id
            ),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn party(kind: PartyKind, name: &str) -> Party {
        Party {
            kind,
            id: name.into(),
            name: name.into(),
        }
    }

    fn approval(approver: Party, status: ApprovalStatus) -> ApprovalView {
        ApprovalView {
            id: "appr-1".into(),
            requester: party(PartyKind::Peer, "alice"),
            approver,
            action: "x".repeat(100),
            status,
            reason: String::new(),
            group: None,
            session_id: "s".into(),
            created_at: "2026-12-01T06:00:00.000Z".into(),
            resolved_at: None,
        }
    }

    #[test]
    fn only_pending_requests_to_the_person_are_lane_items() {
        let person = party(PartyKind::Operator, "dashboard");
        let item = NeedsYouItem::approval(&approval(person.clone(), ApprovalStatus::Pending))
            .expect("pending, to the person");
        assert_eq!(item.kind, ItemKind::Approval);
        assert_eq!(item.from.name, "alice");
        assert_eq!(
            item.title,
            format!(
                "alice asks your approval: {}…",
                "x".repeat(NEEDS_YOU_PREVIEW_CHARS)
            )
        );
        assert_eq!(item.detail.len(), 100, "the whole action");
        assert!(item.resolve.contains("claude-peers inbox approve appr-1"));
        assert_eq!(
            NeedsYouItem::approval(&approval(person, ApprovalStatus::Approved)),
            None
        );
        assert_eq!(
            NeedsYouItem::approval(&approval(
                party(PartyKind::Peer, "bob"),
                ApprovalStatus::Pending
            )),
            None
        );
        let v = VerificationView {
            id: "ver-1".into(),
            requester: party(PartyKind::Peer, "alice"),
            verifier: party(PartyKind::Operator, "cli"),
            claim: "tests pass".into(),
            evidence_needed: "the run".into(),
            files_to_check: vec!["a.rs".into(), "b.rs".into()],
            status: VerificationStatus::Pending,
            response: String::new(),
            evidence: String::new(),
            group: None,
            session_id: "s".into(),
            created_at: "2026-12-01T06:00:00.000Z".into(),
            resolved_at: None,
        };
        let item = NeedsYouItem::verification(&v).expect("pending, to the person");
        assert_eq!(
            item.detail,
            "tests pass\nEvidence needed: the run\nFiles to check: a.rs, b.rs"
        );
        assert!(
            item.resolve
                .contains("claude-peers inbox verify ver-1 verified|failed")
        );
        let failed = VerificationView {
            status: VerificationStatus::Failed,
            ..v
        };
        assert_eq!(NeedsYouItem::verification(&failed), None);
    }
}
