//! Resolution of "name or id" among the peers an actor may reach, and the
//! answer when the target is in another group.

use crate::runtime::store::sql::{self, Connection, params};
use claude_peers_proto::{ApiError, ErrorCode};

use crate::domain::loops;
use crate::domain::peers::rows::{PEER_COLUMNS, PeerRow, SELECT, get, peer_columns, visible};
use crate::domain::rules::{Standing, can_reach};
use crate::error::{Error, Result};

/// Resolve "name or id" among the peers an actor may reach.
///
/// An exact id wins; then a name (case-insensitive). `name@group` picks one of
/// several same-named peers across groups (for the operator, who sees them all).
/// An id of a removed peer still resolves, so messages to it are kept for its return.
pub fn resolve(conn: &Connection, standing: &Standing, target: &str) -> Result<PeerRow> {
    let target = target.trim();
    if target.is_empty() {
        return Err(ApiError::invalid("to", "the recipient cannot be empty").into());
    }
    // An exact id (listed or removed) wins, if it may be reached.
    if let Some(p) = get(conn, target)?
        && can_reach(standing, p.group_id.as_deref())
    {
        return Ok(p);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE p.removed_at IS NULL AND p.name_key = ?1"
    ))?;
    let named: Vec<PeerRow> = stmt
        .query_map([name_key(target)], PeerRow::from_row)?
        .collect::<sql::Result<_>>()?;
    pick(conn, standing, target, named)
}

/// The name part of a target (`name` or `name@group`), as peers' names are
/// keyed.
fn name_key(target: &str) -> String {
    let name = target.split_once('@').map_or(target, |(n, _)| n);
    name.to_ascii_lowercase()
}

/// What a send reads before it stores anything, in one statement (one
/// round trip on PostgreSQL): the sender's row and its place in the loop
/// guard's chains, and the rows [`resolve`] would read for the target.
pub struct Lookup {
    /// The sender's row (`None`: not a peer, or no longer registered).
    pub me: Option<PeerRow>,
    /// The sender's place in the chains.
    pub chain: loops::At,
    by_id: Option<PeerRow>,
    named: Vec<PeerRow>,
}

/// Read a send's [`Lookup`]: sender `me` (a peer's id), recipient `target`
/// (name or id; trimmed, not empty: the caller checked).
pub fn lookup(conn: &Connection, me: Option<&str>, target: &str) -> Result<Lookup> {
    const SQL: &str = concat!(
        "SELECT ",
        peer_columns!(),
        ", p.removed_at IS NULL AND p.name_key = ?3,
           (SELECT c.chain_id FROM chains c WHERE c.peer_id = p.id),
           (SELECT c.depth FROM chains c WHERE c.peer_id = p.id)
         FROM peers p
         WHERE p.id = ?1 OR p.id = ?2 OR (p.removed_at IS NULL AND p.name_key = ?3)"
    );
    let mut out = Lookup {
        me: None,
        chain: None,
        by_id: None,
        named: Vec::new(),
    };
    let rows = conn
        .prepare_cached(SQL)?
        .query_map(params![me, target, name_key(target)], |r| {
            let chain: Option<i64> = r.get(PEER_COLUMNS + 1)?;
            let depth: Option<u32> = r.get(PEER_COLUMNS + 2)?;
            Ok((
                PeerRow::from_row(r)?,
                r.get::<_, bool>(PEER_COLUMNS)?,
                chain.zip(depth),
            ))
        })?
        .collect::<sql::Result<Vec<_>>>()?;
    for (row, named, chain) in rows {
        if Some(row.id.as_str()) == me {
            out.me = Some(row.clone());
            out.chain = chain;
        }
        if row.id == target {
            out.by_id = Some(row.clone());
        }
        if named {
            out.named.push(row);
        }
    }
    // In the order `resolve` reads them (by registration: the ambiguity
    // message lists them so).
    out.named
        .sort_by(|a, b| (a.registered_at, &a.id).cmp(&(b.registered_at, &b.id)));
    Ok(out)
}

/// [`resolve`] over what [`lookup`] read.
pub fn resolve_in(
    conn: &Connection,
    standing: &Standing,
    target: &str,
    found: Lookup,
) -> Result<PeerRow> {
    let target = target.trim();
    if let Some(p) = found.by_id
        && can_reach(standing, p.group_id.as_deref())
    {
        return Ok(p);
    }
    pick(conn, standing, target, found.named)
}

/// The one peer among `named` (those whose name `target` names) that the
/// actor may reach, or why there is none or more than one.
fn pick(
    conn: &Connection,
    standing: &Standing,
    target: &str,
    named: Vec<PeerRow>,
) -> Result<PeerRow> {
    let group = target.split_once('@').map(|(_, g)| g);
    let matches: Vec<&PeerRow> = named
        .iter()
        .filter(|p| can_reach(standing, p.group_id.as_deref()))
        .filter(|p| match group {
            None => true,
            Some(g) if g.eq_ignore_ascii_case("lobby") => p.group_id.is_none(),
            Some(g) => {
                p.group_id.as_deref() == Some(g)
                    || p.group_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(g))
            }
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let candidates = visible(conn, standing)?;
            let names: Vec<&str> = candidates.iter().map(|p| p.name.as_str()).collect();
            let known = if names.is_empty() {
                "there are no peers you can reach".to_string()
            } else {
                format!("peers you can reach: {}", names.join(", "))
            };
            Err(
                ApiError::not_found(format!("no peer named or with id {target:?} ({known})"))
                    .into(),
            )
        }
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|p| {
                    format!(
                        "{}@{} (id {})",
                        p.name,
                        p.group_name.as_deref().unwrap_or("lobby"),
                        p.id
                    )
                })
                .collect();
            Err(ApiError::new(
                ErrorCode::Ambiguous,
                format!(
                    "{target:?} names several peers: {}; use the id or name@group",
                    list.join(", ")
                ),
            )
            .into())
        }
    }
}

/// Why `target` cannot be reached: it exists in another group, or not at all.
pub fn unreachable_error(
    conn: &Connection,
    standing: &Standing,
    target: &str,
    err: Error,
) -> Error {
    match resolve(conn, &Standing::Operator, target) {
        Ok(other) if !can_reach(standing, other.group_id.as_deref()) => ApiError::new(
            ErrorCode::DifferentGroup,
            format!("{target} is in a different isolation group; peers can only message peers of their own group"),
        )
        .into(),
        _ => err,
    }
}
