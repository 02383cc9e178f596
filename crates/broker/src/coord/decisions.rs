//! The decisions board: key → value records with a rationale and a category,
//! one board per group (the lobby has its own). Posting a key that exists in
//! the group updates it (and makes it active again). A decision is revoked by
//! its author or by the operator. The group is told of every post and
//! revocation. Unlike the session-scoped lists, the board lasts across
//! sessions: a decision holds until it is changed or revoked.

use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, OptionalExtension, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::coord::{
    DecisionFilter, DecisionQuery, DecisionStatus, DecisionView, PostDecision,
};
use claude_peers_proto::limits::{
    MAX_CATEGORY_BYTES, MAX_FIELD_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, TEXT_PREVIEW_CHARS,
};
use claude_peers_proto::validate;
use serde_json::json;

use crate::coord::record::{self, Record};
use crate::coord::{self, Caller, GroupFilter};
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::store::Tx;

/// Category of a decision posted without one.
pub const DEFAULT_CATEGORY: &str = "general";

fn select() -> String {
    format!(
        "SELECT d.id, d.key, d.value, d.rationale, d.category, d.status, d.author_kind, d.author_id,
                {author}, d.group_id, {group}, d.revoked_by_kind, d.revoked_by_id, {revoker},
                d.session_id, d.created_at, d.updated_at
         FROM decisions d",
        author = coord::name_sql("d.author_kind", "d.author_id", "d.author_name"),
        group = coord::group_name_sql("d.group_id"),
        revoker = coord::name_sql("d.revoked_by_kind", "d.revoked_by_id", "d.revoked_by_name"),
    )
}

record::record! {
    DecisionView, DecisionStatus, "decision", "d", Decision { decision },
    row {
        id, key, value, rationale, category,
        status: status(DecisionStatus::parse, DecisionStatus::Active),
        author: party, group: group, revoked_by: party_opt, session_id,
        created_at: time, updated_at: time,
    }
}

/// Post a decision to the caller's group board (insert, or update by key).
/// Returns the decision and whether it replaced an earlier one.
pub fn post(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &PostDecision,
) -> Result<(DecisionView, bool)> {
    let key = validate::required_line("key", &req.key, MAX_KEY_BYTES)?;
    let value = validate::required_text("value", &req.value, MAX_VALUE_BYTES)?;
    let rationale = validate::required_text("rationale", &req.rationale, MAX_FIELD_BYTES)?;
    let category =
        validate::optional_line("category", req.category.as_deref(), MAX_CATEGORY_BYTES)?
            .unwrap_or_else(|| DEFAULT_CATEGORY.to_string());
    let caller = Caller::load(t.conn, actor)?;
    let me = caller.peer("post a decision")?.clone();
    let group = me.group_id.clone();
    let author = me.party();
    let session = coord::session(t, sh)?;
    let existing: Option<String> = t
        .conn
        .prepare_cached("SELECT id FROM decisions WHERE group_id IS ?1 AND key = ?2")?
        .query_row(params![group, key], |r| r.get(0))
        .optional()?;
    let id = match &existing {
        Some(id) => {
            t.conn
                .prepare_cached(
                    "UPDATE decisions SET value = ?2, rationale = ?3, category = ?4, status = 'active',
                       author_kind = 'peer', author_id = ?5, author_name = ?6, revoked_by_kind = NULL,
                       revoked_by_id = NULL, revoked_by_name = NULL, session_id = ?7, updated_at = ?8
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    value,
                    rationale,
                    category,
                    author.id,
                    author.name,
                    session,
                    t.now
                ])?;
            id.clone()
        }
        None => {
            let id = coord::new_id(t.conn, "decisions", "dec")?;
            t.conn
                .prepare_cached(
                    "INSERT INTO decisions (id, group_id, key, value, rationale, category, status,
                       author_kind, author_id, author_name, session_id, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', 'peer', ?7, ?8, ?9, ?10, ?10)",
                )?
                .execute(params![
                    id,
                    group,
                    key,
                    value,
                    rationale,
                    category,
                    author.id,
                    author.name,
                    session,
                    t.now
                ])?;
            id
        }
    };
    audit::record(
        t,
        &sh.hub,
        &author,
        "decision.post",
        &format!(
            "[{category}] {key} = {}",
            coord::preview(&value, TEXT_PREVIEW_CHARS)
        ),
        group.as_deref(),
    )?;
    let others = coord::others_in(t.conn, group.as_deref(), &[&me.id])?;
    let verb = if existing.is_some() {
        "Decision updated"
    } else {
        "Decision posted"
    };
    coord::notify(
        t,
        sh,
        caller.sender(),
        &others,
        format!(
            "**{verb}** [{category}]: **{key}** = {value}\n*Rationale:* {rationale}\nDecision ID: `{id}`"
        ),
        "decision_posted",
        json!({"decision_id": id, "key": key, "category": category}),
    )?;
    Ok((
        record::announce::<DecisionView>(t, &id)?,
        existing.is_some(),
    ))
}

/// Revoke a decision: its author or the operator.
pub fn revoke(t: &mut Tx<'_>, sh: &Arc<Shared>, actor: &Actor, id: &str) -> Result<DecisionView> {
    let caller = Caller::load(t.conn, actor)?;
    let id = coord::clean_id(id);
    let d = record::visible::<DecisionView>(t.conn, &caller, &id)?;
    if !caller.is_operator() && !caller.is(&d.author.id) {
        return Err(ApiError::forbidden(format!(
            "only the author of decision {} ({}) or the operator can revoke it",
            d.key, d.author.name
        ))
        .into());
    }
    if d.status == DecisionStatus::Revoked {
        return Err(ApiError::conflict(format!("decision {} is already revoked", d.key)).into());
    }
    let by = caller.party();
    t.conn
        .prepare_cached(
            "UPDATE decisions SET status = 'revoked', revoked_by_kind = ?2, revoked_by_id = ?3,
               revoked_by_name = ?4, updated_at = ?5 WHERE id = ?1",
        )?
        .execute(params![d.id, by.kind.as_str(), by.id, by.name, t.now])?;
    audit::record(
        t,
        &sh.hub,
        &by,
        "decision.revoke",
        &format!("Revoked: {}", d.key),
        record::group_id(&d),
    )?;
    let except: Vec<&str> = caller.me.iter().map(|m| m.id.as_str()).collect();
    let others = coord::others_in(t.conn, record::group_id(&d), &except)?;
    coord::notify(
        t,
        sh,
        caller.sender(),
        &others,
        format!(
            "**Decision revoked** [{}]: **{}** (was: {}) by {}\nDecision ID: `{}`",
            d.category, d.key, d.value, by.name, d.id
        ),
        "decision_revoked",
        json!({"decision_id": d.id, "key": d.key, "category": d.category}),
    )?;
    record::announce::<DecisionView>(t, &d.id)
}

/// Which decisions a query asks for.
pub struct Filter {
    pub group: GroupFilter,
    pub key: Option<String>,
    pub category: Option<String>,
    /// `None` = any status.
    pub status: Option<DecisionStatus>,
    pub limit: u32,
}

/// Decisions `caller` may see, most recently updated first.
pub fn list(conn: &Connection, caller: &Caller, q: &DecisionQuery) -> Result<Vec<DecisionView>> {
    let status = match q.status {
        None | Some(DecisionFilter::Active) => Some(DecisionStatus::Active),
        Some(DecisionFilter::Revoked) => Some(DecisionStatus::Revoked),
        Some(DecisionFilter::All) => None,
    };
    let filter = Filter {
        group: GroupFilter::for_caller(conn, caller, q.group.as_deref())?,
        key: q
            .key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string),
        category: q
            .category
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string),
        status,
        limit: coord::page(q.limit)?,
    };
    query(conn, &filter)
}

pub fn query(conn: &Connection, f: &Filter) -> Result<Vec<DecisionView>> {
    let (all, group) = f.group.params();
    let mut stmt = conn.prepare_cached(&format!(
        "{} WHERE {} AND (?3 IS NULL OR d.key = ?3)
           AND (?4 IS NULL OR d.category = ?4) AND (?5 IS NULL OR d.status = ?5)
         ORDER BY d.updated_at DESC, d.id LIMIT ?6",
        select(),
        GroupFilter::sql("d.group_id", 1)
    ))?;
    let rows = stmt.query_map(
        params![
            all,
            group,
            f.key,
            f.category,
            f.status.map(DecisionStatus::as_str),
            f.limit
        ],
        <DecisionView as Record>::from_row,
    )?;
    Ok(rows.collect::<sql::Result<_>>()?)
}
