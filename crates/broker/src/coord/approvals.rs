//! Approvals: a peer asks another peer of its group, or the person, to
//! approve an action before taking it; the approver approves or rejects it,
//! with a reason. Who may ask and answer is `coord::addressed`'s, shared
//! with verifications. Approvals are advisory: nothing blocks the requester.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::coord::{ApprovalStatus, ApprovalView, RequestApproval, RespondApproval};
use claude_peers_proto::limits::{MAX_FIELD_BYTES, MAX_REASON_BYTES};
use claude_peers_proto::validate;
use serde_json::json;

use crate::coord::addressed;
use crate::coord::{self, Caller, record};
use crate::domain::context::Shared;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::store::Tx;

fn select() -> String {
    format!(
        "SELECT a.id, a.requester_id, {requester}, a.approver_kind, a.approver_id, {approver},
                a.action, a.status, a.reason, a.group_id, {group}, a.session_id, a.created_at,
                a.resolved_at
         FROM approvals a",
        requester = coord::name_sql("'peer'", "a.requester_id", "a.requester_name"),
        approver = coord::name_sql("a.approver_kind", "a.approver_id", "a.approver_name"),
        group = coord::group_name_sql("a.group_id"),
    )
}

record::record! {
    ApprovalView, ApprovalStatus, "approval", "a", Approval { approval },
    row {
        id, requester: peer, approver: party, action,
        status: status(ApprovalStatus::parse, ApprovalStatus::Pending), reason, group: group,
        session_id, created_at: time, resolved_at: time_opt,
    }
}

addressed::addressed! {
    ApprovalView, ApprovalStatus, role: approver, subject: action, table: "approvals", prefix: "appr",
    asking: "request an approval",
    not_yourself: "you cannot approve your own request; ask another peer",
}

/// Ask a peer of the caller's group, or the person, to approve an action.
pub fn request(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &RequestApproval,
) -> Result<ApprovalView> {
    let action = validate::required_text("action", &req.action, MAX_FIELD_BYTES)?;
    let asked = addressed::ask::<ApprovalView>(t, sh, actor, &req.approver)?;
    asked.insert::<ApprovalView>(t, &["action"], &[&action])?;
    let text = format!(
        "**Approval requested** by {}: {action}\n\nApproval ID: `{}`\nUse `respond_approval` to approve or reject.",
        asked.me.name, asked.id
    );
    let meta = json!({"approval_id": asked.id});
    asked.tell(t, sh, &action, text, "approval_request", meta)
}

/// The named approver (for the person: the operator) answers a pending
/// request.
pub fn respond(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: &str,
    req: &RespondApproval,
) -> Result<ApprovalView> {
    let reason = validate::text(
        "reason",
        req.reason.as_deref().unwrap_or(""),
        MAX_REASON_BYTES,
    )?;
    let caller = Caller::load(t.conn, actor)?;
    let a = addressed::answerable::<ApprovalView>(t, &caller, id)?;
    let status = if req.approved {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Rejected
    };
    t.conn
        .prepare_cached(
            "UPDATE approvals SET status = ?2, reason = ?3, resolved_at = ?4 WHERE id = ?1",
        )?
        .execute(params![a.id, status.as_str(), reason, t.now])?;
    let icon = if req.approved { "✅" } else { "❌" };
    let mut text = format!(
        "{icon} **Approval {}** by {}: {}",
        status.as_str(),
        caller.party().name,
        a.action
    );
    if !reason.is_empty() {
        text.push_str(&format!("\n**Reason:** {reason}"));
    }
    text.push_str(&format!("\nApproval ID: `{}`", a.id));
    let meta = json!({"approval_id": a.id, "status": status.as_str()});
    addressed::answered(t, sh, &caller, &a, status, text, "approval_response", meta)
}
