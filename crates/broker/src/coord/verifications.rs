//! Verification: a peer asks another peer of its group, or the person
//! (`dashboard`/`cli`: it waits in the "needs you" lane), to check a claim
//! (with the evidence it needs and the files to look at); only that verifier
//! (for the person: the operator) answers, once, `verified` or `failed` with
//! its response and evidence. A peer verifier is told of the request, the
//! requester of the answer.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::ApiError;
use claude_peers_proto::coord::{
    RequestVerification, RespondVerification, Verdict, VerificationStatus, VerificationView,
};
use claude_peers_proto::limits::{
    MAX_FIELD_BYTES, MAX_LIST_ITEMS, MAX_PATH_BYTES, TEXT_PREVIEW_CHARS,
};
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
    let caller = Caller::load(t.conn, actor)?;
    let me = caller.peer("request a verification")?.clone();
    let verifier = caller.address(t.conn, "verifier", &req.verifier)?;
    if verifier.is_peer(&me) {
        return Err(ApiError::invalid(
            "verifier",
            "you cannot verify your own claim; ask another peer",
        )
        .into());
    }
    let session = coord::session(t, sh)?;
    let id = coord::new_id(t.conn, "verifications", "ver")?;
    let to = verifier.party();
    t.conn
        .prepare_cached(
            "INSERT INTO verifications (id, session_id, group_id, requester_id, requester_name,
               verifier_kind, verifier_id, verifier_name, claim, evidence_needed, files_to_check,
               status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12)",
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
            claim,
            evidence_needed,
            serde_json::to_string(&files).unwrap_or_else(|_| "[]".into()),
            t.now
        ])?;
    audit::record(
        t,
        &sh.hub,
        &me.party(),
        "verification.request",
        &format!(
            "{id} → {}: {}",
            to.name,
            coord::preview(&claim, TEXT_PREVIEW_CHARS)
        ),
        me.group_id.as_deref(),
    )?;
    let mut text = format!(
        "**Verification requested** by {}\n**Claim:** {claim}",
        me.name
    );
    if !evidence_needed.is_empty() {
        text.push_str(&format!("\n**Evidence needed:** {evidence_needed}"));
    }
    if !files.is_empty() {
        text.push_str(&format!("\n**Files to check:** {}", files.join(", ")));
    }
    text.push_str(&format!(
        "\n\nVerification ID: `{id}`\nUse `respond_verification` with status verified or failed."
    ));
    coord::notify(
        t,
        sh,
        caller.sender(),
        verifier.told(),
        text,
        "verification_request",
        json!({"verification_id": id, "files_to_check": files}),
    )?;
    record::announce::<VerificationView>(t, &id)
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
    let id = coord::clean_id(id);
    let v = record::visible::<VerificationView>(t.conn, &caller, &id)?;
    if !caller.is_party(&v.verifier) {
        return Err(coord::not_addressee(
            "verifier",
            &v.verifier,
            "verification",
            &v.id,
        ));
    }
    if v.status != VerificationStatus::Pending {
        return Err(ApiError::conflict(format!(
            "verification {} is already answered ({})",
            v.id,
            v.status.as_str()
        ))
        .into());
    }
    t.conn
        .prepare_cached(
            "UPDATE verifications SET status = ?2, response = ?3, evidence = ?4, resolved_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![v.id, status.as_str(), response, evidence, t.now])?;
    let me = caller.party();
    audit::record(
        t,
        &sh.hub,
        &me,
        &format!("verification.{}", status.as_str()),
        &format!("{}: {}", v.id, coord::preview(&v.claim, TEXT_PREVIEW_CHARS)),
        record::group_id(&v),
    )?;
    let icon = if status == VerificationStatus::Verified {
        "✅"
    } else {
        "❌"
    };
    let mut text = format!(
        "{icon} **Verification {}** by {}\n**Claim:** {}\n**Response:** {response}",
        status.as_str(),
        me.name,
        v.claim
    );
    if !evidence.is_empty() {
        text.push_str(&format!("\n**Evidence:** {evidence}"));
    }
    text.push_str(&format!("\nVerification ID: `{}`", v.id));
    if let Some(requester) = peers::get(t.conn, &v.requester.id)? {
        coord::notify(
            t,
            sh,
            caller.sender(),
            std::slice::from_ref(&requester),
            text,
            "verification_response",
            json!({"verification_id": v.id, "status": status.as_str()}),
        )?;
    }
    record::announce::<VerificationView>(t, &v.id)
}
