//! Wire types of the coordination features: structured messages, decisions,
//! verifications, proposals, tasks, approvals, active files, the session
//! report. Requests refuse unknown fields; their enum fields are typed, and a
//! wrong value is refused with an error naming the field and the choices.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{ContextSnapshot, GroupRef, Party};
pub use crate::validate::StringList;

pub use crate::enums::StringEnum;
use crate::enums::string_enum;

string_enum!(
    /// Where a task stands.
    TaskStatus {
        /// Created, not started.
        Pending = "pending",
        /// Its assignee started it.
        InProgress = "in_progress",
        /// Its assignee cannot go on without someone (the reason says who or
        /// what); it waits in the operator's "needs you" lane.
        Blocked = "blocked",
        Completed = "completed",
    }
);

string_enum!(
    /// Whether a decision holds.
    DecisionStatus {
        Active = "active",
        Revoked = "revoked",
    }
);

string_enum!(
    /// Where a verification request stands.
    VerificationStatus {
        Pending = "pending",
        Verified = "verified",
        Failed = "failed",
    }
);

string_enum!(
    /// Where a proposal stands.
    ProposalStatus {
        Open = "open",
        Approved = "approved",
        Rejected = "rejected",
    }
);

string_enum!(
    /// A vote on a proposal.
    Vote {
        Approve = "approve",
        Reject = "reject",
    }
);

string_enum!(
    /// A verifier's answer to a verification request.
    Verdict expect "verified or failed" {
        Verified = "verified",
        Failed = "failed",
    }
);

string_enum!(
    /// Which decisions a listing shows.
    DecisionFilter expect "active, revoked or all" {
        Active = "active",
        Revoked = "revoked",
        All = "all",
    }
);

string_enum!(
    /// Where an approval request stands.
    ApprovalStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
);

// ---------------------------------------------------------------- requests

/// `POST /v1/messages/structured`: a typed message to one peer (or `dashboard`/`cli`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructuredRequest {
    /// Peer name or id.
    pub to: String,
    /// question, decision, context_share, review_request or handoff.
    pub msg_type: crate::structured::StructuredType,
    /// The fields of that kind (see `structured`).
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextSnapshot>,
    /// The message this one answers; it joins its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
}

/// `POST /v1/decisions`: record (or update, by key) a decision of the caller's group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostDecision {
    pub key: String,
    pub value: String,
    pub rationale: String,
    /// Default `general`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// `GET /v1/decisions` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// active (default; also when blank), revoked or all.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::validate::blank_as_none"
    )]
    pub status: Option<DecisionFilter>,
    /// Operator only: one group (name or id, or `lobby`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `GET /v1/tasks`, `/v1/verifications`, `/v1/proposals`, `/v1/approvals`
/// query; `S` is the record's status ([`TaskStatus`], [`VerificationStatus`],
/// [`ProposalStatus`], [`ApprovalStatus`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery<S> {
    /// Only records with this status.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub status: Option<S>,
    /// Operator only: one group (name or id, or `lobby`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl<S> Default for ListQuery<S> {
    fn default() -> Self {
        Self {
            status: None,
            group: None,
            limit: None,
        }
    }
}

fn none<S>() -> Option<S> {
    None
}

/// `POST /v1/verifications`: ask a peer of the group to check a claim.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestVerification {
    /// The verifier: peer name or id.
    pub verifier: String,
    pub claim: String,
    #[serde(default)]
    pub evidence_needed: String,
    /// A list of paths, or one path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_to_check: Option<StringList>,
}

/// `POST /v1/verifications/{id}/respond`: the verifier's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondVerification {
    pub status: Verdict,
    pub response: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// `POST /v1/proposals`: put a proposal to the caller's group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProposal {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Approvals needed: a whole number from 1 to 20 (default 2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::validate::votes_field"
    )]
    pub required_votes: Option<u32>,
}

/// `POST /v1/proposals/{id}/votes`: vote (again) on an open proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CastVote {
    pub vote: Vote,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/tasks`: create a task, optionally assigned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Peer name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Operator only, for an unassigned task: the group (name or id, or
    /// `lobby`). A peer's task is always in its own group; an assigned task in
    /// its assignee's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `POST /v1/tasks/{id}/complete`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteTask {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// `POST /v1/tasks/{id}/start`: start (or resume) a task, or, with `blocked`,
/// say it is blocked and why (its assignee only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartTask {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// `POST /v1/approvals`: ask a peer of the group to approve an action.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestApproval {
    /// The approver: peer name or id.
    pub approver: String,
    pub action: String,
}

/// `POST /v1/approvals/{id}/respond`: the approver's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondApproval {
    pub approved: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `PUT /v1/files`: the files the caller is editing now (replaces the previous
/// report; an empty list clears it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetActiveFiles {
    /// A list of paths (relative ones are taken from the caller's directory),
    /// or one path.
    pub files: StringList,
}

/// `GET /v1/session/report` and `/v1/session/export` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// A session id (default: the current session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// `GET /v1/audit` query (operator).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only entries with an id below this (paging back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// Only actions starting with this (e.g. `task.` or `proposal.vote`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only this actor (id or name, `dashboard`, `cli`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Only this group (name or id, or `lobby`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

// ------------------------------------------------------------------- views

/// A task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: TaskStatus,
    pub creator: Party,
    pub assignee: Option<Party>,
    /// `None` = the lobby.
    pub group: Option<GroupRef>,
    /// What the completer reported.
    pub result: String,
    /// Why its assignee is blocked ("" unless `blocked`).
    #[serde(default)]
    pub blocked_reason: String,
    pub completed_by: Option<Party>,
    pub session_id: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
}

/// A decision of a group's board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionView {
    pub id: String,
    pub key: String,
    pub value: String,
    pub rationale: String,
    pub category: String,
    pub status: DecisionStatus,
    /// Who posted the current value.
    pub author: Party,
    pub group: Option<GroupRef>,
    pub revoked_by: Option<Party>,
    pub session_id: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A verification request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationView {
    pub id: String,
    pub requester: Party,
    pub verifier: Party,
    pub claim: String,
    pub evidence_needed: String,
    pub files_to_check: Vec<String>,
    pub status: VerificationStatus,
    pub response: String,
    pub evidence: String,
    pub group: Option<GroupRef>,
    pub session_id: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// One vote on a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteView {
    pub voter: Party,
    pub vote: Vote,
    pub reason: String,
    pub at: String,
}

/// A proposal with its votes (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub author: Party,
    pub required_votes: u32,
    pub status: ProposalStatus,
    pub approvals: u32,
    pub rejections: u32,
    pub votes: Vec<VoteView>,
    pub group: Option<GroupRef>,
    pub session_id: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// An approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: String,
    pub requester: Party,
    pub approver: Party,
    pub action: String,
    pub status: ApprovalStatus,
    pub reason: String,
    pub group: Option<GroupRef>,
    pub session_id: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
}

/// One active file of a peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveFile {
    /// Absolute, normalised.
    pub path: String,
    pub updated_at: String,
    /// Other peers of the same group editing it too.
    pub conflicts_with: Vec<Party>,
}

/// The files one peer is editing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveFilesView {
    pub peer: Party,
    pub group: Option<GroupRef>,
    pub files: Vec<ActiveFile>,
}

/// A file the caller shares with another peer of its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileConflict {
    pub path: String,
    pub peer: Party,
}

/// Answer to `PUT /v1/files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveFilesResult {
    /// The caller's files, normalised.
    pub files: Vec<String>,
    /// Every file the caller shares with another peer of its group (new or not).
    pub conflicts: Vec<FileConflict>,
    /// How long the report lasts without a new one, in milliseconds.
    pub ttl_ms: i64,
}

/// A session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    pub started_at: String,
    pub current: bool,
}
