//! Consensus: a peer puts a proposal to its group with a threshold of
//! approvals (1-20, default 2). The other peers of that group vote approve or
//! reject (one vote each, changeable while open); the person at the dashboard or
//! CLI has one vote too; the author has none. After each vote the proposal
//! resolves by [`outcome`]. The group is told of a new proposal; the author and
//! the voters of its outcome.

use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{Party, PartyKind};
use claude_peers_proto::coord::{
    CastVote, CreateProposal, ProposalStatus, ProposalView, Vote, VoteView,
};
use claude_peers_proto::limits::{
    DEFAULT_VOTES_REQUIRED, MAX_FIELD_BYTES, MAX_REASON_BYTES, MAX_TITLE_BYTES, TITLE_PREVIEW_CHARS,
};
use claude_peers_proto::time::rfc3339;
use claude_peers_proto::validate;
use serde_json::json;

use crate::coord::record;
use crate::coord::{self, Caller};
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::messages::Sender;
use crate::domain::peers;
use crate::domain::peers::PeerRow;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::store::Tx;

/// The voter id under which the operator's one vote is kept (whether cast at
/// the dashboard or the CLI).
pub const OPERATOR_VOTER: &str = "operator";

/// Where a proposal stands after a vote.
///
/// - approved once approvals reach the threshold;
/// - rejected once rejections reach it, or once approval has become impossible:
///   the approvals so far plus every vote still possible (`undecided`: voters
///   who may vote and have not) fall short of the threshold;
/// - open otherwise.
pub fn outcome(required: u32, approvals: u32, rejections: u32, undecided: u32) -> ProposalStatus {
    if approvals >= required {
        ProposalStatus::Approved
    } else if rejections >= required || approvals + undecided < required {
        ProposalStatus::Rejected
    } else {
        ProposalStatus::Open
    }
}

fn select() -> String {
    format!(
        "SELECT p.id, p.title, p.description, p.author_id, {author}, p.required_votes, p.status,
                p.group_id, {group}, p.session_id, p.created_at, p.resolved_at
         FROM proposals p",
        author = coord::name_sql("'peer'", "p.author_id", "p.author_name"),
        group = coord::group_name_sql("p.group_id"),
    )
}

record::record! {
    ProposalView, ProposalStatus, "proposal", "p", Proposal { proposal },
    row {
        id, title, description, author: peer, required_votes,
        status: status(ProposalStatus::parse, ProposalStatus::Open),
        approvals: later, rejections: later, votes: later,
        group: group, session_id, created_at: time, resolved_at: time_opt,
    },
    complete = with_votes
}

fn with_votes(conn: &Connection, mut p: ProposalView) -> Result<ProposalView> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT v.voter_kind, v.voter_id, {name}, v.vote, v.reason, v.updated_at
         FROM proposal_votes v WHERE v.proposal_id = ?1 ORDER BY v.created_at, v.voter_id",
        name = coord::name_sql("v.voter_kind", "v.voter_id", "v.voter_name")
    ))?;
    let rows = stmt.query_map([&p.id], |r| {
        let kind: String = r.get(0)?;
        let id: String = r.get(1)?;
        let name: String = r.get(2)?;
        // The operator's vote shows who cast it (dashboard or cli).
        let voter = if kind == "operator" {
            coord::party(&kind, name.clone(), name)
        } else {
            coord::party(&kind, id, name)
        };
        Ok(VoteView {
            voter,
            vote: Vote::parse(&r.get::<_, String>(3)?).unwrap_or(Vote::Reject),
            reason: r.get(4)?,
            at: rfc3339(r.get(5)?),
        })
    })?;
    p.votes = rows.collect::<sql::Result<_>>()?;
    p.approvals = p.votes.iter().filter(|v| v.vote == Vote::Approve).count() as u32;
    p.rejections = p.votes.iter().filter(|v| v.vote == Vote::Reject).count() as u32;
    Ok(p)
}

/// Put a proposal to the caller's group.
pub fn create(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &CreateProposal,
) -> Result<ProposalView> {
    let title = validate::required_line("title", &req.title, MAX_TITLE_BYTES)?;
    let description = validate::text("description", &req.description, MAX_FIELD_BYTES)?;
    let required = req.required_votes.unwrap_or(DEFAULT_VOTES_REQUIRED);
    let caller = Caller::load(t.conn, actor)?;
    let me = caller.peer("create a proposal")?.clone();
    let session = coord::session(t, sh)?;
    let id = coord::new_id(t.conn, "proposals", "prop")?;
    t.conn
        .prepare_cached(
            "INSERT INTO proposals (id, session_id, group_id, author_id, author_name, title,
               description, required_votes, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9)",
        )?
        .execute(params![
            id,
            session,
            me.group_id,
            me.id,
            me.name,
            title,
            description,
            required,
            t.now
        ])?;
    audit::record(
        t,
        &sh.hub,
        &me.party(),
        "proposal.create",
        &format!(
            "{id}: {} (needs {required})",
            coord::preview(&title, TITLE_PREVIEW_CHARS)
        ),
        me.group_id.as_deref(),
    )?;
    let others = coord::others_in(t.conn, me.group_id.as_deref(), &[&me.id])?;
    let mut text = format!("**Proposal** by {}: {title}", me.name);
    if !description.is_empty() {
        text.push_str(&format!("\n{description}"));
    }
    text.push_str(&format!(
        "\n\nApprovals needed: {required}\nProposal ID: `{id}`\nUse `vote_proposal` to approve or reject."
    ));
    coord::notify(
        t,
        sh,
        caller.sender(),
        &others,
        text,
        "proposal",
        json!({"proposal_id": id, "required_votes": required}),
    )?;
    // Fewer possible voters than the threshold: decided at once.
    if let Some(p) = record::get::<ProposalView>(t.conn, &id)? {
        settle(t, sh, None, &p)?;
    }
    record::announce::<ProposalView>(t, &id)
}

/// Cast (or change) a vote, then resolve the proposal if the vote decides it.
pub fn vote(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: &str,
    req: &CastVote,
) -> Result<ProposalView> {
    let vote = req.vote;
    let reason = validate::text(
        "reason",
        req.reason.as_deref().unwrap_or(""),
        MAX_REASON_BYTES,
    )?;
    let caller = Caller::load(t.conn, actor)?;
    let id = coord::clean_id(id);
    let p = record::visible::<ProposalView>(t.conn, &caller, &id)?;
    if p.status != ProposalStatus::Open {
        return Err(ApiError::conflict(format!(
            "proposal {} is no longer open (it was {})",
            p.id,
            p.status.as_str()
        ))
        .into());
    }
    if caller.is(&p.author.id) {
        return Err(ApiError::forbidden("you cannot vote on your own proposal").into());
    }
    let voter = caller.party();
    let voter_id = match voter.kind {
        PartyKind::Operator => OPERATOR_VOTER.to_string(),
        _ => voter.id.clone(),
    };
    t.conn
        .prepare_cached(
            "INSERT INTO proposal_votes (proposal_id, voter_id, voter_kind, voter_name, vote, reason,
               created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (proposal_id, voter_id) DO UPDATE SET voter_name = excluded.voter_name,
               vote = excluded.vote, reason = excluded.reason, updated_at = excluded.updated_at",
        )?
        .execute(params![
            p.id,
            voter_id,
            voter.kind.as_str(),
            voter.name,
            vote.as_str(),
            reason,
            t.now
        ])?;
    audit::record(
        t,
        &sh.hub,
        &voter,
        "proposal.vote",
        &format!(
            "{} on {} \"{}\"",
            vote.as_str(),
            p.id,
            coord::preview(&p.title, TITLE_PREVIEW_CHARS)
        ),
        record::group_id(&p),
    )?;
    let p = record::get::<ProposalView>(t.conn, &p.id)?
        .ok_or_else(|| ApiError::internal("proposal vanished"))?;
    settle(t, sh, Some(&caller), &p)?;
    record::announce::<ProposalView>(t, &p.id)
}

/// Votes still possible on `p`: listed members of its namespace other than
/// its author who have not voted, and the operator if it has not.
fn undecided(conn: &Connection, p: &ProposalView) -> Result<u32> {
    let voted: Vec<&str> = p
        .votes
        .iter()
        .map(|v| {
            if v.voter.kind == PartyKind::Operator {
                OPERATOR_VOTER
            } else {
                v.voter.id.as_str()
            }
        })
        .collect();
    let members = peers::in_namespace(conn, record::group_id(p))?;
    let undecided_peers = members
        .iter()
        .filter(|m| m.id != p.author.id && !voted.contains(&m.id.as_str()))
        .count() as u32;
    Ok(undecided_peers + u32::from(!voted.contains(&OPERATOR_VOTER)))
}

/// Resolve `p` if its outcome is decided (by a vote of `by`, or by the
/// broker when `by` is `None`). Returns whether it was.
fn settle(t: &mut Tx<'_>, sh: &Arc<Shared>, by: Option<&Caller>, p: &ProposalView) -> Result<bool> {
    let undecided = undecided(t.conn, p)?;
    let status = outcome(p.required_votes, p.approvals, p.rejections, undecided);
    if status == ProposalStatus::Open {
        return Ok(false);
    }
    resolve(t, sh, by, p, status, undecided)?;
    Ok(true)
}

/// Resolve every open proposal whose threshold can no longer be reached
/// (a voter left, was removed, or moved to another group). Called where
/// membership shrinks; cheap, as open proposals are few.
pub fn recheck_open(t: &mut Tx<'_>, sh: &Arc<Shared>) -> Result<()> {
    let ids: Vec<String> = t
        .conn
        .prepare_cached("SELECT id FROM proposals WHERE status = 'open' ORDER BY created_at")?
        .query_map([], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    for id in ids {
        if let Some(p) = record::get::<ProposalView>(t.conn, &id)?
            && settle(t, sh, None, &p)?
        {
            record::announce::<ProposalView>(t, &p.id)?;
        }
    }
    Ok(())
}

fn resolve(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    by: Option<&Caller>,
    p: &ProposalView,
    status: ProposalStatus,
    undecided: u32,
) -> Result<()> {
    let broker = Party {
        kind: PartyKind::System,
        id: "system".into(),
        name: "claude-peers".into(),
    };
    t.conn
        .prepare_cached("UPDATE proposals SET status = ?2, resolved_at = ?3 WHERE id = ?1")?
        .execute(params![p.id, status.as_str(), t.now])?;
    let why = if status == ProposalStatus::Approved {
        format!("{} of {} approvals reached", p.approvals, p.required_votes)
    } else if p.rejections >= p.required_votes {
        format!(
            "{} rejections reached the threshold of {}",
            p.rejections, p.required_votes
        )
    } else {
        format!(
            "{} approvals with {undecided} possible vote(s) left cannot reach {}",
            p.approvals, p.required_votes
        )
    };
    audit::record(
        t,
        &sh.hub,
        &by.map_or(broker, Caller::party),
        &format!("proposal.{}", status.as_str()),
        &format!(
            "{}: {} ({why})",
            p.id,
            coord::preview(&p.title, TITLE_PREVIEW_CHARS)
        ),
        record::group_id(p),
    )?;
    // The author and every peer that voted, except whoever cast the deciding vote.
    let mut told: Vec<PeerRow> = Vec::new();
    let ids = std::iter::once(p.author.id.as_str()).chain(
        p.votes
            .iter()
            .filter(|v| v.voter.kind == PartyKind::Peer)
            .map(|v| v.voter.id.as_str()),
    );
    for id in ids {
        if !by.is_some_and(|c| c.is(id))
            && !told.iter().any(|x| x.id == id)
            && let Some(row) = peers::get(t.conn, id)?
            && row.removed_at.is_none()
        {
            told.push(row);
        }
    }
    let icon = if status == ProposalStatus::Approved {
        "✅"
    } else {
        "❌"
    };
    coord::notify(
        t,
        sh,
        by.map_or(Sender::System, Caller::sender),
        &told,
        format!(
            "{icon} **Proposal {}:** {}\n{} approval(s), {} rejection(s) ({why})\nProposal ID: `{}`",
            status.as_str(),
            p.title,
            p.approvals,
            p.rejections,
            p.id
        ),
        "proposal_result",
        json!({"proposal_id": p.id, "status": status.as_str()}),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_threshold() {
        assert_eq!(outcome(2, 1, 0, 3), ProposalStatus::Open);
        assert_eq!(outcome(2, 2, 0, 3), ProposalStatus::Approved);
        assert_eq!(outcome(1, 1, 0, 0), ProposalStatus::Approved);
        // Approvals are checked first: a 2-2 split with threshold 2 passes.
        assert_eq!(outcome(2, 2, 2, 0), ProposalStatus::Approved);
    }

    #[test]
    fn rejection_threshold() {
        assert_eq!(outcome(2, 0, 1, 3), ProposalStatus::Open);
        assert_eq!(outcome(2, 0, 2, 3), ProposalStatus::Rejected);
    }

    #[test]
    fn rejected_when_approval_becomes_impossible() {
        // Threshold 3: one approval, one rejection, one voter left → at most 2.
        assert_eq!(outcome(3, 1, 1, 1), ProposalStatus::Rejected);
        // …with two voters left it can still pass.
        assert_eq!(outcome(3, 1, 1, 2), ProposalStatus::Open);
        // Nobody left to vote and not enough approvals.
        assert_eq!(outcome(2, 1, 0, 0), ProposalStatus::Rejected);
        // Exactly enough possible votes left keeps it open.
        assert_eq!(outcome(20, 0, 0, 20), ProposalStatus::Open);
        assert_eq!(outcome(20, 0, 0, 19), ProposalStatus::Rejected);
    }
}
