//! Peer rows: the one SELECT, lookups, listings by isolation and scope, and
//! where an actor stands.

use crate::runtime::store::sql::{self, Connection, OptionalExtension, Row, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{
    GroupRef, Party, PartyKind, PeerState, PeerView, PresenceStatus, Scope,
};
use claude_peers_proto::time::rfc3339;

use crate::domain::context::Shared;
use crate::domain::rules::{Actor, Standing, can_reach};
use crate::error::Result;
use crate::runtime::store::Tx;

/// A peer row joined with its group's name.
#[derive(Debug, Clone)]
pub struct PeerRow {
    pub id: String,
    pub name: String,
    pub custom_name: bool,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub group_manual: bool,
    pub pid: u32,
    pub pid_start: Option<u64>,
    pub local: bool,
    pub cwd: String,
    pub git_root: Option<String>,
    pub repo_key: Option<String>,
    pub git_branch: Option<String>,
    pub tty: Option<String>,
    pub summary: String,
    pub status: PresenceStatus,
    pub registered_at: i64,
    pub last_seen: i64,
    pub stale: bool,
    pub removed_at: Option<i64>,
    /// Its deliveries still queued (kept by the writer with each delivery;
    /// current in the transaction that read the row).
    pub queued: u32,
    /// The host of the broker it registered with (`None` before team mode).
    pub host: Option<String>,
}

/// The peer columns (of `peers p`) with the group's name, in the order
/// [`PeerRow::from_row`] reads them. A scalar subquery, not a LEFT JOIN:
/// SQLite re-prepares a LEFT JOIN statement on every new binding.
macro_rules! peer_columns {
    () => {
        "p.id, p.name, p.custom_name, p.group_id,
    (SELECT g.name FROM groups g WHERE g.id = p.group_id), p.group_manual, p.pid,
    p.pid_start, p.local, p.cwd, p.git_root, p.repo_key, p.git_branch, p.tty, p.summary, p.status,
    p.registered_at, p.last_seen, p.stale, p.removed_at, p.queued, p.host"
    };
}
pub(crate) use peer_columns;

/// How many columns [`peer_columns`] has.
pub const PEER_COLUMNS: usize = 22;

/// The peer rows' SELECT.
pub const SELECT: &str = concat!("SELECT ", peer_columns!(), "\n    FROM peers p");

impl PeerRow {
    pub fn from_row(r: &Row<'_>) -> sql::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            name: r.get(1)?,
            custom_name: r.get(2)?,
            group_id: r.get(3)?,
            group_name: r.get(4)?,
            group_manual: r.get(5)?,
            pid: r.get(6)?,
            pid_start: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
            local: r.get(8)?,
            cwd: r.get(9)?,
            git_root: r.get(10)?,
            repo_key: r.get(11)?,
            git_branch: r.get(12)?,
            tty: r.get(13)?,
            summary: r.get(14)?,
            status: PresenceStatus::parse(&r.get::<_, String>(15)?).unwrap_or_default(),
            registered_at: r.get(16)?,
            last_seen: r.get(17)?,
            stale: r.get(18)?,
            removed_at: r.get(19)?,
            queued: r.get(20)?,
            host: r.get(21)?,
        })
    }

    /// Where this peer stands for isolation.
    pub fn standing(&self) -> Standing {
        Standing::Member(self.group_id.clone())
    }

    pub fn party(&self) -> Party {
        Party {
            kind: PartyKind::Peer,
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }

    pub fn group_ref(&self) -> Option<GroupRef> {
        match (&self.group_id, &self.group_name) {
            (Some(id), Some(name)) => Some(GroupRef {
                id: id.clone(),
                name: name.clone(),
            }),
            _ => None,
        }
    }

    pub fn state(&self) -> PeerState {
        if self.removed_at.is_some() {
            PeerState::Gone
        } else if self.stale {
            PeerState::Stale
        } else {
            PeerState::Live
        }
    }

    pub fn view(&self, sh: &Shared) -> PeerView {
        let connected = sh.hub.is_connected(&self.id);
        let reach = sh.hub.reach.get(&self.id);
        let recipient = reach.recipient(connected && self.removed_at.is_none());
        PeerView {
            id: self.id.clone(),
            name: self.name.clone(),
            custom_name: self.custom_name,
            group: self.group_ref(),
            status: self.status,
            state: self.state(),
            connected,
            pid: self.pid,
            cwd: self.cwd.clone(),
            git_root: self.git_root.clone(),
            git_branch: self.git_branch.clone(),
            tty: self.tty.clone(),
            summary: self.summary.clone(),
            registered_at: rfc3339(self.registered_at),
            last_seen: rfc3339(self.last_seen),
            reach: recipient.reach,
            holds_messages: recipient.holds_messages,
            client: reach.client,
        }
    }
}

/// The peer with this id, whatever its state.
pub fn get(conn: &Connection, id: &str) -> Result<Option<PeerRow>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE p.id = ?1"))?;
    Ok(stmt.query_row([id], PeerRow::from_row).optional()?)
}

/// The peer with this id, or a `not_found` error.
pub fn require(conn: &Connection, id: &str) -> Result<PeerRow> {
    get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("no peer with id {id:?}")).into())
}

/// Every listed peer (not removed), in registration order.
pub fn all(conn: &Connection) -> Result<Vec<PeerRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE p.removed_at IS NULL ORDER BY p.registered_at, p.id"
    ))?;
    let rows = stmt.query_map([], PeerRow::from_row)?;
    Ok(rows.collect::<sql::Result<_>>()?)
}

/// Listed peers that an actor standing at `standing` may see.
pub fn visible(conn: &Connection, standing: &Standing) -> Result<Vec<PeerRow>> {
    Ok(all(conn)?
        .into_iter()
        .filter(|p| can_reach(standing, p.group_id.as_deref()))
        .collect())
}

/// Listed peers in one namespace (`None` = the lobby).
pub fn in_namespace(conn: &Connection, group: Option<&str>) -> Result<Vec<PeerRow>> {
    visible(conn, &Standing::Member(group.map(str::to_string)))
}

/// Narrow `peers` to a scope around `me`. Directory: same working directory;
/// repo: same repository (common git dir), or same directory for a peer outside git.
pub fn in_scope(peers: Vec<PeerRow>, me: &PeerRow, scope: Scope) -> Vec<PeerRow> {
    in_scope_of(peers, &me.cwd, me.repo_key.as_deref(), scope)
}

/// Narrow `peers` to a scope around a directory and repository.
pub fn in_scope_of(
    peers: Vec<PeerRow>,
    cwd: &str,
    repo: Option<&str>,
    scope: Scope,
) -> Vec<PeerRow> {
    peers
        .into_iter()
        .filter(|p| match scope {
            Scope::Machine => true,
            Scope::Directory => p.cwd == cwd,
            Scope::Repo => match repo {
                Some(repo) => p.repo_key.as_deref() == Some(repo),
                None => p.cwd == cwd,
            },
        })
        .collect()
}

/// The peer whose token hashes to `hash`.
pub fn by_token(conn: &Connection, hash: &str) -> Result<Option<PeerRow>> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM peers WHERE token_hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => get(conn, &id),
        None => Ok(None),
    }
}

/// Note that connected peers are still there.
pub fn touch(t: &mut Tx<'_>, ids: &[String]) -> Result<()> {
    let mut stmt = t
        .conn
        .prepare_cached("UPDATE peers SET last_seen = ?2 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, t.now])?;
    }
    Ok(())
}

/// Token hash → peer id for every peer that can still come back.
pub fn token_pairs(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT token_hash, id FROM peers")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<sql::Result<_>>()?)
}

/// Where an actor stands, and its peer row if it is a peer.
pub fn standing(conn: &Connection, actor: &Actor) -> Result<(Standing, Option<PeerRow>)> {
    let me = match actor {
        Actor::Operator(_) => None,
        Actor::Peer(id) => get(conn, id)?,
    };
    standing_of(actor, me)
}

/// [`standing`] with the actor's row read already (`me`: `None` if it
/// was not found).
pub fn standing_of(actor: &Actor, me: Option<PeerRow>) -> Result<(Standing, Option<PeerRow>)> {
    match (actor, me) {
        (Actor::Operator(_), _) => Ok((Standing::Operator, None)),
        (Actor::Peer(_), Some(me)) => Ok((me.standing(), Some(me))),
        (Actor::Peer(_), None) => Err(ApiError::new(
            claude_peers_proto::ErrorCode::Unauthorized,
            "this peer no longer exists; register again",
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement that SQLite re-prepares on each binding costs a full parse per
    /// call; the peer lookup is on every request's path.
    #[test]
    fn the_peer_lookup_is_prepared_once() {
        let dir =
            std::env::temp_dir().join(format!("cp-peers-{}", crate::runtime::ids::short_id(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conn = Connection::open(dir.join("x.db")).unwrap();
        crate::runtime::store::schema::migrate(conn.as_sqlite_mut().unwrap()).unwrap();
        conn.execute(
            "INSERT INTO peers (id, token_hash, name, name_key, pid, cwd, registered_at, last_seen)
             VALUES ('a', 'h', 'n', 'n', 1, '/', 0, 0)",
            [],
        )
        .unwrap();
        for id in ["a", "b", "a", "c"] {
            get(&conn, id).unwrap();
        }
        let stmt = conn
            .prepare_cached(&format!("{SELECT} WHERE p.id = ?1"))
            .unwrap();
        assert_eq!(
            stmt.as_sqlite()
                .unwrap()
                .get_status(rusqlite::StatementStatus::RePrepare),
            0
        );
        drop(stmt);
        let _ = std::fs::remove_dir_all(dir);
    }
}
