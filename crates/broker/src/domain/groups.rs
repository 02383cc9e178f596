//! Isolation groups: automatic ones (one per repository and branch) and manual
//! ones the operator creates. Membership changes are announced as events;
//! moving peers between groups is `domain::membership`.

use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, OptionalExtension, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{GroupList, GroupView};
use claude_peers_proto::names::validate_group_name;
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::peers::rows::{self as peers, PeerRow};
use crate::domain::rules::{Actor, Standing};
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::ids;
use crate::runtime::store::Tx;

pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub auto: bool,
    pub created_at: i64,
}

fn row(r: &sql::Row<'_>) -> sql::Result<GroupRow> {
    Ok(GroupRow {
        id: r.get(0)?,
        name: r.get(1)?,
        auto: r.get::<_, Option<String>>(2)?.is_some(),
        created_at: r.get(3)?,
    })
}

pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM groups WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The id of the automatic group with `key`, creating it (named `name`, made
/// unique with a `~N` suffix if needed).
pub fn ensure_auto(t: &mut Tx<'_>, _sh: &Arc<Shared>, key: &str, name: &str) -> Result<String> {
    let found: Option<String> = t
        .conn
        .prepare_cached("SELECT id FROM groups WHERE auto_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let mut unique = name.to_string();
    let mut n = 2;
    while t
        .conn
        .prepare_cached("SELECT 1 FROM groups WHERE name_key = ?1")?
        .query_row([unique.to_lowercase()], |_| Ok(()))
        .optional()?
        .is_some()
    {
        unique = format!("{name}~{n}");
        n += 1;
    }
    let id = ids::short_id(8);
    t.conn.execute(
        "INSERT INTO groups (id, name, name_key, auto_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, unique, unique.to_lowercase(), key, t.now],
    )?;
    Ok(id)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<GroupRow>> {
    Ok(conn
        .prepare_cached("SELECT id, name, auto_key, created_at FROM groups WHERE id = ?1")?
        .query_row([id], row)
        .optional()?)
}

/// Find a group by id or name (case-insensitive).
pub fn find(conn: &Connection, id_or_name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT id FROM groups WHERE id = ?1 OR name_key = lower(?1) LIMIT 1")?
        .query_row([id_or_name.trim()], |r| r.get(0))
        .optional()?)
}

fn view(conn: &Connection, g: GroupRow) -> Result<GroupView> {
    let members = peers::in_namespace(conn, Some(&g.id))?
        .iter()
        .map(PeerRow::party)
        .collect();
    Ok(GroupView {
        id: g.id,
        name: g.name,
        auto: g.auto,
        members,
        created_at: rfc3339(g.created_at),
    })
}

/// Tell operator streams the group's current membership.
pub fn announce(t: &mut Tx<'_>, _sh: &Arc<Shared>, id: &str) -> Result<()> {
    if let Some(g) = get(t.conn, id)? {
        let group = view(t.conn, g)?;
        t.effect(Effect::event(Event::Group { group }));
    }
    Ok(())
}

/// Groups and the lobby as `standing` may see them: the operator sees all, a
/// peer sees only its own namespace.
pub fn list(conn: &Connection, standing: &Standing) -> Result<GroupList> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, auto_key, created_at FROM groups ORDER BY created_at, id",
    )?;
    let rows: Vec<GroupRow> = stmt.query_map([], row)?.collect::<sql::Result<_>>()?;
    let mut groups = Vec::new();
    for g in rows {
        if crate::domain::rules::can_reach(standing, Some(&g.id)) {
            groups.push(view(conn, g)?);
        }
    }
    let lobby = if crate::domain::rules::can_reach(standing, None) {
        peers::in_namespace(conn, None)?
            .iter()
            .map(PeerRow::party)
            .collect()
    } else {
        Vec::new()
    };
    Ok(GroupList { lobby, groups })
}

/// Create a manual group (operator).
pub fn create(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    raw_name: &str,
) -> Result<GroupView> {
    let name = validate_group_name(raw_name)
        .map_err(|e| ApiError::invalid("name", format!("invalid group name: {e}")))?;
    if find(t.conn, &name)?.is_some() {
        return Err(ApiError::conflict(format!("a group named {name:?} already exists")).into());
    }
    let id = ids::short_id(8);
    t.conn.execute(
        "INSERT INTO groups (id, name, name_key, auto_key, created_at) VALUES (?1, ?2, ?3, NULL, ?4)",
        params![id, name, name.to_lowercase(), t.now],
    )?;
    audit::record(t, &sh.hub, &actor.party(), "group.create", &name, Some(&id))?;
    announce(t, sh, &id)?;
    let g = get(t.conn, &id)?.ok_or_else(|| ApiError::internal("group vanished"))?;
    view(t.conn, g)
}
