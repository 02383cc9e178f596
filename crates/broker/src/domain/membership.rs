//! Group membership: placing a peer into a namespace (keeping or
//! renumbering its name), and the operator's moves: assigning a peer to a
//! group, deleting a group (its members go to the lobby).

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::ApiError;
use claude_peers_proto::names::PeerName;
use claude_peers_proto::stream::Event;

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::groups;
use crate::domain::peers::naming::{choose_name, name_taken};
use crate::domain::peers::rows::{PeerRow, in_namespace, require};
use crate::domain::peers::slots;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;

/// Put `peer` (possibly removed) listed into `group`, keeping its name when it
/// is free there: a custom name is kept if free, a default name is renumbered
/// into the new namespace. Clears removal and staleness.
pub fn place(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    peer: &PeerRow,
    group: Option<&str>,
    manual: bool,
) -> Result<()> {
    let current = PeerName::parse(&peer.name).ok();
    let ns_changed = peer.group_id.as_deref() != group;
    let (name, custom) = match current {
        Some(n) if !ns_changed && peer.removed_at.is_none() => (n, peer.custom_name),
        current => {
            // A custom name goes along if it is free there; a default name keeps
            // its number only when the namespace is unchanged (a returning peer),
            // and is renumbered into a new namespace.
            let wanted = current
                .as_ref()
                .filter(|_| peer.custom_name || !ns_changed)
                .map(|n| (n, peer.custom_name));
            choose_name(t.conn, group, wanted, Some(&peer.id))?
        }
    };
    let old_group = peer.group_id.clone();
    slots::vacate(t.conn, &peer.id)?;
    t.conn
        .prepare_cached(
            "UPDATE peers SET group_id = ?2, group_manual = ?3, name = ?4, name_key = ?5, custom_name = ?6,
               removed_at = NULL, stale = 0 WHERE id = ?1",
        )?
        .execute(params![peer.id, group, manual, name.as_str(), name.key(), custom])?;
    slots::occupy(t.conn, &peer.id)?;
    if old_group.as_deref() != group {
        for g in [old_group.as_deref(), group].into_iter().flatten() {
            groups::announce(t, sh, g)?;
        }
    }
    Ok(())
}

/// Move a listed peer to `group` (`None` = lobby) as the operator asked.
/// A custom name that is taken in the destination is an error; a default name
/// is renumbered there.
/// With `strict` false (a group being deleted), a taken custom name falls back
/// to a default name instead.
pub fn move_to(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    peer: &PeerRow,
    group: Option<&str>,
    manual: bool,
    strict: bool,
) -> Result<PeerRow> {
    if strict
        && peer.custom_name
        && peer.group_id.as_deref() != group
        && let Ok(name) = PeerName::parse(&peer.name)
        && name_taken(t.conn, group, &name, Some(&peer.id))?
    {
        return Err(ApiError::conflict(format!(
            "cannot move {}: the name is already used in the destination group; rename one of them first",
            peer.name
        ))
        .into());
    }
    place(t, sh, peer, group, manual)?;
    let moved = require(t.conn, &peer.id)?;
    t.effect(Effect::event(Event::Peer {
        peer: moved.view(sh),
    }));
    Ok(moved)
}

/// Move a peer into a group (or the lobby) (operator).
pub fn assign(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    peer_id: &str,
    group: Option<&str>,
) -> Result<()> {
    let peer = require(t.conn, peer_id)?;
    if peer.removed_at.is_some() {
        return Err(ApiError::conflict(format!("{} is not listed any more", peer.name)).into());
    }
    let target = match group {
        None => None,
        Some(g) if g.eq_ignore_ascii_case("lobby") => None,
        Some(g) => Some(
            groups::find(t.conn, g)?
                .ok_or_else(|| ApiError::not_found(format!("no group {g:?}")))?,
        ),
    };
    let moved = move_to(t, sh, &peer, target.as_deref(), true, true)?;
    let dest = moved.group_name.clone().unwrap_or_else(|| "lobby".into());
    audit::record(
        t,
        &sh.hub,
        &actor.party(),
        "group.assign",
        &format!("{} → {dest}", moved.name),
        target.as_deref(),
    )?;
    Ok(())
}

/// Delete a group; its members go to the lobby (operator).
pub fn delete_group(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id_or_name: &str,
) -> Result<()> {
    let id = groups::find(t.conn, id_or_name)?
        .ok_or_else(|| ApiError::not_found(format!("no group {id_or_name:?}")))?;
    let g = groups::get(t.conn, &id)?.ok_or_else(|| ApiError::not_found("no such group"))?;
    for member in in_namespace(t.conn, Some(&id))? {
        move_to(t, sh, &member, None, true, false)?;
    }
    // Removed peers that pointed at the group go back to the lobby too.
    t.conn.execute(
        "UPDATE peers SET group_id = NULL WHERE group_id = ?1",
        [&id],
    )?;
    t.conn.execute("DELETE FROM groups WHERE id = ?1", [&id])?;
    audit::record(
        t,
        &sh.hub,
        &actor.party(),
        "group.delete",
        &g.name,
        Some(&id),
    )?;
    t.effect(Effect::event(Event::GroupDeleted { id }));
    Ok(())
}
