//! Peers: registration and resumption, names, groups membership, listing,
//! resolution of "name or id", presence, and leaving.
//!
//! Identity is the token: a peer that presents its token again (its MCP server
//! reconnected, restarted under the same Claude Code session, or the broker
//! restarted) is the same peer, with the same id and, when still free, the same
//! name. Names are unique case-insensitively within a namespace (a group or the
//! lobby); default names take the lowest free `claude-N` there.

use std::sync::Arc;

use claude_peers_proto::api::{
    GroupRef, Party, PartyKind, PeerState, PeerView, PresenceStatus, RegisterRequest,
    RegisterResponse, Scope, UpdateMe,
};
use claude_peers_proto::limits::{MAX_BRANCH_BYTES, MAX_PATH_BYTES, MAX_TTY_BYTES};
use claude_peers_proto::names::{PeerName, lowest_free_slot};
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;
use claude_peers_proto::{ApiError, ErrorCode, validate};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::Result;
use crate::hub::Effect;
use crate::rules::{Standing, auto_group, can_reach};
use crate::state::Shared;
use crate::store::Tx;
use crate::{audit, groups, ids, messages, sessions};

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
}

/// The peer columns with the group's name. A scalar subquery, not a LEFT JOIN:
/// SQLite re-prepares a LEFT JOIN statement on every new binding.
const SELECT: &str = "SELECT p.id, p.name, p.custom_name, p.group_id,
    (SELECT g.name FROM groups g WHERE g.id = p.group_id), p.group_manual, p.pid,
    p.pid_start, p.local, p.cwd, p.git_root, p.repo_key, p.git_branch, p.tty, p.summary, p.status,
    p.registered_at, p.last_seen, p.stale, p.removed_at
    FROM peers p";

impl PeerRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
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
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
        .collect::<rusqlite::Result<_>>()?;
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

/// Whether `name` is free in `group` (another listed peer there has it, or it
/// is some peer's id, makes it taken).
fn name_taken(
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

/// The lowest free default name in `group`, ignoring peer `except`.
fn default_name(conn: &Connection, group: Option<&str>, except: Option<&str>) -> Result<PeerName> {
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM peers WHERE removed_at IS NULL AND group_id IS ?1 AND id IS NOT ?2",
    )?;
    let used: Vec<u32> = stmt
        .query_map(params![group, except], |r| r.get::<_, String>(0))?
        .filter_map(|n| {
            n.ok()
                .and_then(|n| claude_peers_proto::names::default_slot(&n))
        })
        .collect();
    Ok(PeerName::default_for(lowest_free_slot(used)))
}

/// Pick a name in `group`: `wanted` if given and free, else the lowest free
/// default. Returns the name and whether it is custom.
fn choose_name(
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

/// Registration fields after validation.
struct Fields {
    pid: u32,
    pid_start: Option<u64>,
    cwd: String,
    git_root: Option<String>,
    repo_key: Option<String>,
    git_branch: Option<String>,
    tty: Option<String>,
    summary: Option<String>,
    name: Option<PeerName>,
}

impl Fields {
    fn validate(req: &RegisterRequest) -> Result<Self, ApiError> {
        if req.pid == 0 {
            return Err(ApiError::invalid(
                "pid",
                "'pid' must be the MCP server's process id (not 0)",
            ));
        }
        let name = match req.name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => Some(
                PeerName::parse(n)
                    .map_err(|e| ApiError::invalid("name", format!("invalid name: {e}")))?,
            ),
        };
        Ok(Self {
            pid: req.pid,
            pid_start: req.pid_start,
            cwd: validate::required_line("cwd", &req.cwd, MAX_PATH_BYTES)?,
            git_root: validate::optional_line("git_root", req.git_root.as_deref(), MAX_PATH_BYTES)?,
            repo_key: validate::optional_line(
                "git_common_dir",
                req.git_common_dir.as_deref().or(req.git_root.as_deref()),
                MAX_PATH_BYTES,
            )?,
            git_branch: validate::optional_line(
                "git_branch",
                req.git_branch.as_deref(),
                MAX_BRANCH_BYTES,
            )?
            .filter(|b| b != "HEAD"),
            tty: validate::optional_line("tty", req.tty.as_deref(), MAX_TTY_BYTES)?,
            summary: req.summary.as_deref().map(validate::summary).transpose()?,
            name,
        })
    }
}

/// Register a new peer, or resume the one whose token hash is `resume`.
pub fn register(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    req: &RegisterRequest,
    resume: Option<&str>,
    local: bool,
) -> Result<RegisterResponse> {
    let f = Fields::validate(req)?;
    let session_id = sessions::on_activity(t, &sh.hub, &sh.activity)?;
    if let Some(hash) = resume
        && let Some(existing) = by_token(t.conn, hash)?
    {
        let peer = resume_peer(t, sh, existing, &f, local)?;
        return Ok(RegisterResponse {
            peer: peer.view(sh),
            token: None,
            resumed: true,
            session_id,
        });
    }

    let group = auto_group_for(t, sh, f.repo_key.as_deref(), f.git_branch.as_deref())?;
    let (name, custom) = choose_name(
        t.conn,
        group.as_deref(),
        f.name.as_ref().map(|n| (n, true)),
        None,
    )?;
    let id = loop {
        let id = ids::short_id(10);
        if get(t.conn, &id)?.is_none() {
            break id;
        }
    };
    let token = ids::new_token();
    let hash = ids::hash_token(&token);
    t.conn
        .prepare_cached(
            "INSERT INTO peers (id, token_hash, name, name_key, custom_name, group_id, pid, pid_start,
               local, cwd, git_root, repo_key, git_branch, tty, summary, registered_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
        )?
        .execute(params![
            id,
            hash,
            name.as_str(),
            name.key(),
            custom,
            group,
            f.pid,
            f.pid_start.map(|v| v as i64),
            local,
            f.cwd,
            f.git_root,
            f.repo_key,
            f.git_branch,
            f.tty,
            f.summary.clone().unwrap_or_default(),
            t.now
        ])?;
    sh.hub.assume_disconnected(&id, t.now);
    let peer = require(t.conn, &id)?;
    audit::record(
        t,
        &sh.hub,
        &peer.party(),
        "peer.register",
        &format!("{} joined from {}", peer.name, peer.cwd),
        group.as_deref(),
    )?;
    t.effect(Effect::Token { hash, peer_id: id });
    t.effect(Effect::event(Event::Peer {
        peer: peer.view(sh),
    }));
    if let Some(g) = &group {
        groups::announce(t, sh, g)?;
    }
    Ok(RegisterResponse {
        peer: peer.view(sh),
        token: Some(token),
        resumed: false,
        session_id,
    })
}

fn by_token(conn: &Connection, hash: &str) -> Result<Option<PeerRow>> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM peers WHERE token_hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => get(conn, &id),
        None => Ok(None),
    }
}

/// The group a registering peer belongs in: its automatic group (created if
/// needed), or the lobby.
fn auto_group_for(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    repo_key: Option<&str>,
    branch: Option<&str>,
) -> Result<Option<String>> {
    match auto_group(sh.config.auto_group, repo_key, branch) {
        None => Ok(None),
        Some((key, name)) => Ok(Some(groups::ensure_auto(t, sh, &key, &name)?)),
    }
}

/// Resume `peer` with fresh registration fields.
fn resume_peer(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    peer: PeerRow,
    f: &Fields,
    local: bool,
) -> Result<PeerRow> {
    let group = if peer.group_manual {
        peer.group_id
            .clone()
            .filter(|g| groups::exists(t.conn, g).unwrap_or(false))
    } else {
        auto_group_for(t, sh, f.repo_key.as_deref(), f.git_branch.as_deref())?
    };
    t.conn
        .prepare_cached(
            "UPDATE peers SET pid = ?2, pid_start = ?3, local = ?4, cwd = ?5, git_root = ?6,
               repo_key = ?7, git_branch = ?8, tty = ?9, summary = coalesce(?10, summary), last_seen = ?11
             WHERE id = ?1",
        )?
        .execute(params![
            peer.id,
            f.pid,
            f.pid_start.map(|v| v as i64),
            local,
            f.cwd,
            f.git_root,
            f.repo_key,
            f.git_branch,
            f.tty,
            f.summary.clone().filter(|s| !s.is_empty()),
            t.now
        ])?;
    let was_removed = peer.removed_at.is_some();
    place(t, sh, &peer, group.as_deref(), peer.group_manual)?;
    let peer = require(t.conn, &peer.id)?;
    if was_removed {
        audit::record(
            t,
            &sh.hub,
            &peer.party(),
            "peer.rejoin",
            &format!("{} is back from {}", peer.name, peer.cwd),
            peer.group_id.as_deref(),
        )?;
    }
    sh.hub.assume_disconnected(&peer.id, t.now);
    t.effect(Effect::event(Event::Peer {
        peer: peer.view(sh),
    }));
    Ok(peer)
}

/// Put `peer` (possibly removed) listed into `group`, keeping its name when it
/// is free there: a custom name is kept if free, a default name is renumbered
/// into the new namespace. Clears removal and staleness.
fn place(
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
    t.conn
        .prepare_cached(
            "UPDATE peers SET group_id = ?2, group_manual = ?3, name = ?4, name_key = ?5, custom_name = ?6,
               removed_at = NULL, stale = 0 WHERE id = ?1",
        )?
        .execute(params![peer.id, group, manual, name.as_str(), name.key(), custom])?;
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

/// Change the caller's name, summary or status.
pub fn update(t: &mut Tx<'_>, sh: &Arc<Shared>, id: &str, change: &UpdateMe) -> Result<PeerView> {
    let peer = require(t.conn, id)?;
    if let Some(raw) = &change.name {
        let name = PeerName::parse(raw)
            .map_err(|e| ApiError::invalid("name", format!("invalid name: {e}")))?;
        if name_taken(t.conn, peer.group_id.as_deref(), &name, Some(id))? {
            return Err(ApiError::conflict(format!(
                "the name {:?} is already taken",
                name.as_str()
            ))
            .into());
        }
        t.conn
            .prepare_cached(
                "UPDATE peers SET name = ?2, name_key = ?3, custom_name = 1 WHERE id = ?1",
            )?
            .execute(params![id, name.as_str(), name.key()])?;
        audit::record(
            t,
            &sh.hub,
            &peer.party(),
            "peer.rename",
            &format!("{} is now {}", peer.name, name),
            peer.group_id.as_deref(),
        )?;
        if let Some(g) = &peer.group_id {
            groups::announce(t, sh, g)?;
        }
    }
    if let Some(raw) = &change.summary {
        let summary = validate::summary(raw)?;
        t.conn
            .prepare_cached("UPDATE peers SET summary = ?2 WHERE id = ?1")?
            .execute(params![id, summary])?;
        if summary != peer.summary {
            audit::record(
                t,
                &sh.hub,
                &peer.party(),
                "peer.summary",
                &summary,
                peer.group_id.as_deref(),
            )?;
        }
    }
    if let Some(status) = change.status {
        t.conn
            .prepare_cached("UPDATE peers SET status = ?2 WHERE id = ?1")?
            .execute(params![id, status.as_str()])?;
        if status != peer.status {
            audit::record(
                t,
                &sh.hub,
                &peer.party(),
                "peer.status",
                &format!("{} → {}", peer.status.as_str(), status.as_str()),
                peer.group_id.as_deref(),
            )?;
        }
    }
    let peer = require(t.conn, id)?;
    t.effect(Effect::event(Event::Peer {
        peer: peer.view(sh),
    }));
    Ok(peer.view(sh))
}

/// The stream of `id` opened (`connected`) or closed: note the time, clear
/// staleness, and bring back a removed peer.
pub fn set_connected(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    id: &str,
    connected: bool,
) -> Result<Option<PeerRow>> {
    let Some(peer) = get(t.conn, id)? else {
        return Ok(None);
    };
    t.conn
        .prepare_cached("UPDATE peers SET last_seen = ?2 WHERE id = ?1")?
        .execute(params![id, t.now])?;
    if connected && (peer.removed_at.is_some() || peer.stale) {
        let group = peer
            .group_id
            .clone()
            .filter(|g| groups::exists(t.conn, g).unwrap_or(false));
        place(t, sh, &peer, group.as_deref(), peer.group_manual)?;
        if peer.removed_at.is_some() {
            audit::record(
                t,
                &sh.hub,
                &peer.party(),
                "peer.rejoin",
                &format!("{} reconnected", peer.name),
                group.as_deref(),
            )?;
        }
    }
    let peer = require(t.conn, id)?;
    if peer.removed_at.is_none() {
        t.effect(Effect::event(Event::Peer {
            peer: peer.view(sh),
        }));
    }
    Ok(Some(peer))
}

/// The peer leaves: removed from the list at once (its name is freed, its inbox
/// kept), and, if `notify`, its namespace is told.
pub fn leave(t: &mut Tx<'_>, sh: &Arc<Shared>, id: &str, notify: bool) -> Result<()> {
    let peer = require(t.conn, id)?;
    if peer.removed_at.is_some() {
        return Ok(());
    }
    remove(t, sh, &peer, "peer.leave", &format!("{} left", peer.name))?;
    if notify {
        let others: Vec<PeerRow> = in_namespace(t.conn, peer.group_id.as_deref())?
            .into_iter()
            .filter(|p| p.id != peer.id)
            .collect();
        if !others.is_empty() {
            messages::post(
                t,
                sh,
                messages::Post {
                    from: messages::Sender::Peer(&peer),
                    to: messages::To::Peers(&others),
                    text: format!("**{}** has gone offline (its session ended).", peer.name),
                    msg_type: None,
                    metadata: None,
                    context: None,
                },
            )?;
        }
    }
    t.effect(Effect::Kick(peer.id.clone()));
    Ok(())
}

/// Take a peer off the list (name freed; identity and inbox kept until retention ends).
pub fn remove(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    peer: &PeerRow,
    action: &str,
    details: &str,
) -> Result<()> {
    t.conn
        .prepare_cached("UPDATE peers SET removed_at = ?2, stale = 1 WHERE id = ?1")?
        .execute(params![peer.id, t.now])?;
    crate::files::clear_peer(t, sh, &peer.id)?;
    audit::record(
        t,
        &sh.hub,
        &peer.party(),
        action,
        details,
        peer.group_id.as_deref(),
    )?;
    t.effect(Effect::event(Event::PeerGone {
        id: peer.id.clone(),
        name: peer.name.clone(),
    }));
    if let Some(g) = &peer.group_id {
        groups::announce(t, sh, g)?;
    }
    Ok(())
}

/// Mark listed peers stale (disconnected past the grace period, or process gone).
pub fn mark_stale(t: &mut Tx<'_>, sh: &Arc<Shared>, ids: &[String]) -> Result<()> {
    for id in ids {
        let changed = t
            .conn
            .prepare_cached(
                "UPDATE peers SET stale = 1 WHERE id = ?1 AND stale = 0 AND removed_at IS NULL",
            )?
            .execute([id])?;
        if changed > 0
            && let Some(peer) = get(t.conn, id)?
        {
            crate::files::clear_peer(t, sh, id)?;
            audit::record(
                t,
                &sh.hub,
                &peer.party(),
                "peer.stale",
                &format!("{} is not connected", peer.name),
                peer.group_id.as_deref(),
            )?;
            t.effect(Effect::event(Event::Peer {
                peer: peer.view(sh),
            }));
        }
    }
    Ok(())
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
    let mut stmt = conn.prepare("SELECT token_hash, id FROM peers")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement that SQLite re-prepares on each binding costs a full parse per
    /// call; the peer lookup is on every request's path.
    #[test]
    fn the_peer_lookup_is_prepared_once() {
        let dir = std::env::temp_dir().join(format!("cp-peers-{}", crate::ids::short_id(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conn = Connection::open(dir.join("x.db")).unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
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
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
        drop(stmt);
        let _ = std::fs::remove_dir_all(dir);
    }
}
