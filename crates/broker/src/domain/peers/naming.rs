//! Peer names within a namespace (a group or the lobby): unique
//! case-insensitively, never another peer's id; default names take the lowest
//! free `claude-N` (found through [`slots`]).

use crate::runtime::store::sql::{Connection, OptionalExtension, params};
use claude_peers_proto::names::PeerName;

use crate::domain::peers::slots;
use crate::error::Result;

/// Whether `name` is free in `group` (another listed peer there has it, or it
/// is some peer's id, makes it taken).
pub fn name_taken(
    conn: &Connection,
    group: Option<&str>,
    name: &PeerName,
    except: Option<&str>,
) -> Result<bool> {
    let in_ns: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM peers WHERE removed_at IS NULL AND group_id IS ?1 AND name_key = ?2
             AND id IS NOT ?3 LIMIT 1",
        )?
        .query_row(params![group, name.key(), except], |r| r.get(0))
        .optional()?;
    if in_ns.is_some() {
        return Ok(true);
    }
    let as_id: Option<String> = conn
        .prepare_cached("SELECT id FROM peers WHERE id = ?1 AND id IS NOT ?2")?
        .query_row(params![name.key(), except], |r| r.get(0))
        .optional()?;
    Ok(as_id.is_some())
}

/// The lowest free default name in `group`, ignoring peer `except` (its own
/// number counts as free).
pub fn default_name(
    conn: &Connection,
    group: Option<&str>,
    except: Option<&str>,
) -> Result<PeerName> {
    let lowest = slots::lowest_free(conn, group)?;
    let own = match except {
        Some(id) => slots::held_in(conn, group, id)?,
        None => None,
    };
    Ok(PeerName::default_for(
        own.map_or(lowest, |own| own.min(lowest)),
    ))
}

/// Pick a name in `group`: `wanted` if given and free, else the lowest free
/// default. Returns the name and whether it is custom.
pub fn choose_name(
    conn: &Connection,
    group: Option<&str>,
    wanted: Option<(&PeerName, bool)>,
    me: Option<&str>,
) -> Result<(PeerName, bool)> {
    if let Some((name, custom)) = wanted
        && !name_taken(conn, group, name, me)?
    {
        return Ok((name.clone(), custom));
    }
    Ok((default_name(conn, group, me)?, false))
}
