//! Approvals: a peer asks another peer of its group, or the person
//! (`dashboard`/`cli`: it waits in the "needs you" lane), to approve an action
//! before taking it. Only the named approver answers, once (for the person:
//! the operator, never a peer token); the requester is told at once.
//! Approvals are advisory: nothing blocks the requester.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::ApiError;
use claude_peers_proto::coord::{ApprovalStatus, ApprovalView, RequestApproval, RespondApproval};
use claude_peers_proto::limits::{MAX_FIELD_BYTES, MAX_REASON_BYTES, TEXT_PREVIEW_CHARS};
use claude_peers_proto::validate;
use serde_json::json;

use crate::coord::record;
use crate::coord::{self, Caller};
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::peers;
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

/// Ask a peer of the caller's group, or the person, to approve an action.
pub fn request(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &RequestApproval,
) -> Result<ApprovalView> {
    let action = validate::required_text("action", &req.action, MAX_FIELD_BYTES)?;
    let caller = Caller::load(t.conn, actor)?;
    let me = caller.peer("request an approval")?.clone();
    let approver = caller.address(t.conn, "approver", &req.approver)?;
    if approver.is_peer(&me) {
        return Err(ApiError::invalid(
            "approver",
            "you cannot approve your own request; ask another peer",
        )
        .into());
    }
    let session = coord::session(t, sh)?;
    let id = coord::new_id(t.conn, "approvals", "appr")?;
    let to = approver.party();
    t.conn
        .prepare_cached(
            "INSERT INTO approvals (id, session_id, group_id, requester_id, requester_name,
               approver_kind, approver_id, approver_name, action, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10)",
        )?
        .execute(params![
            id,
            session,
            me.group_id,
            me.id,
            me.name,
            to.kind.as_str(),
            to.id,
            to.name,
            action,
            t.now
        ])?;
    audit::record(
        t,
        &sh.hub,
        &me.party(),
        "approval.request",
        &format!(
            "{id} → {}: {}",
            to.name,
            coord::preview(&action, TEXT_PREVIEW_CHARS)
        ),
        me.group_id.as_deref(),
    )?;
    coord::notify(
        t,
        sh,
        caller.sender(),
        approver.told(),
        format!(
            "**Approval requested** by {}: {action}\n\nApproval ID: `{id}`\nUse `respond_approval` to approve or reject.",
            me.name
        ),
        "approval_request",
        json!({"approval_id": id}),
    )?;
    record::announce::<ApprovalView>(t, &id)
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
    let id = coord::clean_id(id);
    let a = record::visible::<ApprovalView>(t.conn, &caller, &id)?;
    if !caller.is_party(&a.approver) {
        return Err(coord::not_addressee(
            "approver",
            &a.approver,
            "approval",
            &a.id,
        ));
    }
    if a.status != ApprovalStatus::Pending {
        return Err(ApiError::conflict(format!(
            "approval {} is already {}",
            a.id,
            a.status.as_str()
        ))
        .into());
    }
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
    let me = caller.party();
    audit::record(
        t,
        &sh.hub,
        &me,
        &format!("approval.{}", status.as_str()),
        &format!(
            "{}: {}",
            a.id,
            coord::preview(&a.action, TEXT_PREVIEW_CHARS)
        ),
        record::group_id(&a),
    )?;
    let icon = if req.approved { "✅" } else { "❌" };
    let mut text = format!(
        "{icon} **Approval {}** by {}: {}",
        status.as_str(),
        me.name,
        a.action
    );
    if !reason.is_empty() {
        text.push_str(&format!("\n**Reason:** {reason}"));
    }
    text.push_str(&format!("\nApproval ID: `{}`", a.id));
    if let Some(requester) = peers::get(t.conn, &a.requester.id)? {
        coord::notify(
            t,
            sh,
            caller.sender(),
            std::slice::from_ref(&requester),
            text,
            "approval_response",
            json!({"approval_id": a.id, "status": status.as_str()}),
        )?;
    }
    record::announce::<ApprovalView>(t, &a.id)
}
