//! Resolution of "name or id" among the peers an actor may reach, and the
//! answer when the target is in another group.

use crate::runtime::store::sql::{self, Connection};
use claude_peers_proto::{ApiError, ErrorCode};

use crate::domain::peers::rows::{PeerRow, SELECT, get, visible};
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
    let (name, group) = match target.split_once('@') {
        Some((n, g)) => (n, Some(g)),
        None => (target, None),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE p.removed_at IS NULL AND p.name_key = ?1"
    ))?;
    let named: Vec<PeerRow> = stmt
        .query_map([name.to_ascii_lowercase()], PeerRow::from_row)?
        .collect::<sql::Result<_>>()?;
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
