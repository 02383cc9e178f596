//! Verification: a peer asks another peer of its group, or the person, to
//! check a claim (with the evidence it needs and the files to look at); the
//! verifier answers `verified` or `failed` with its response and evidence.
//! Who may ask and answer is `coord::addressed`'s, shared with approvals.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::coord::{
    RequestVerification, RespondVerification, Verdict, VerificationStatus, VerificationView,
};
use claude_peers_proto::limits::{MAX_FIELD_BYTES, MAX_LIST_ITEMS, MAX_PATH_BYTES};
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
        "SELECT v.id, v.requester_id, {requester}, v.verifier_kind, v.verifier_id, {verifier},
                v.claim, v.evidence_needed, v.files_to_check, v.status, v.response, v.evidence,
                v.group_id, {group}, v.session_id, v.created_at, v.resolved_at
         FROM verifications v",
        requester = coord::name_sql("'peer'", "v.requester_id", "v.requester_name"),
        verifier = coord::name_sql("v.verifier_kind", "v.verifier_id", "v.verifier_name"),
        group = coord::group_name_sql("v.group_id"),
    )
}

record::record! {
    VerificationView, VerificationStatus, "verification", "v", Verification { verification },
    row {
        id, requester: peer, verifier: party, claim, evidence_needed, files_to_check: json,
        status: status(VerificationStatus::parse, VerificationStatus::Pending), response,
        evidence, group: group, session_id, created_at: time, resolved_at: time_opt,
    }
}

addressed::addressed! {
    VerificationView, VerificationStatus, role: verifier, subject: claim, table: "verifications", prefix: "ver",
    asking: "request a verification",
    not_yourself: "you cannot verify your own claim; ask another peer",
}

/// Ask a peer of the caller's group, or the person, to verify a claim.
pub fn request(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &RequestVerification,
) -> Result<VerificationView> {
    let claim = validate::required_text("claim", &req.claim, MAX_FIELD_BYTES)?;
    let evidence_needed = validate::text("evidence_needed", &req.evidence_needed, MAX_FIELD_BYTES)?;
    let files = validate::lines(
        "files_to_check",
        req.files_to_check.as_ref().map_or(&[][..], |f| &f.0),
        MAX_LIST_ITEMS,
        MAX_PATH_BYTES,
    )?;
    let asked = addressed::ask::<VerificationView>(t, sh, actor, &req.verifier)?;
    let files_json = serde_json::to_string(&files).unwrap_or_else(|_| "[]".into());
    asked.insert::<VerificationView>(
        t,
        &["claim", "evidence_needed", "files_to_check"],
        &[&claim, &evidence_needed, &files_json],
    )?;
    let mut text = format!(
        "**Verification requested** by {}\n**Claim:** {claim}",
        asked.me.name
    );
    if !evidence_needed.is_empty() {
        text.push_str(&format!("\n**Evidence needed:** {evidence_needed}"));
    }
    if !files.is_empty() {
        text.push_str(&format!("\n**Files to check:** {}", files.join(", ")));
    }
    text.push_str(&format!(
        "\n\nVerification ID: `{}`\nUse `respond_verification` with status verified or failed.",
        asked.id
    ));
    let meta = json!({"verification_id": asked.id, "files_to_check": files});
    asked.tell(t, sh, &claim, text, "verification_request", meta)
}

/// The named verifier (for the person: the operator) answers a pending
/// verification.
pub fn respond(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: &str,
    req: &RespondVerification,
) -> Result<VerificationView> {
    let status = match req.status {
        Verdict::Verified => VerificationStatus::Verified,
        Verdict::Failed => VerificationStatus::Failed,
    };
    let response = validate::required_text("response", &req.response, MAX_FIELD_BYTES)?;
    let evidence = validate::text(
        "evidence",
        req.evidence.as_deref().unwrap_or(""),
        MAX_FIELD_BYTES,
    )?;
    let caller = Caller::load(t.conn, actor)?;
    let v = addressed::answerable::<VerificationView>(t, &caller, id)?;
    t.conn
        .prepare_cached(
            "UPDATE verifications SET status = ?2, response = ?3, evidence = ?4, resolved_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![v.id, status.as_str(), response, evidence, t.now])?;
    let icon = if status == VerificationStatus::Verified {
        "✅"
    } else {
        "❌"
    };
    let mut text = format!(
        "{icon} **Verification {}** by {}\n**Claim:** {}\n**Response:** {response}",
        status.as_str(),
        caller.party().name,
        v.claim
    );
    if !evidence.is_empty() {
        text.push_str(&format!("\n**Evidence:** {evidence}"));
    }
    text.push_str(&format!("\nVerification ID: `{}`", v.id));
    let meta = json!({"verification_id": v.id, "status": status.as_str()});
    addressed::answered(
        t,
        sh,
        &caller,
        &v,
        status,
        text,
        "verification_response",
        meta,
    )
}
