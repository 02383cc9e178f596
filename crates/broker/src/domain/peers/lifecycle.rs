//! A peer's life: registration and resumption, changes to its name, summary
//! and status, its stream connecting, going stale, leaving and removal.
//!
//! Identity is the token: a peer that presents its token again (its MCP server
//! reconnected, restarted under the same Claude Code session, or the broker
//! restarted) is the same peer, with the same id and, when still free, the same
//! name.
//!
//! A peer that leaves, is removed or goes stale is returned as [`Departed`]:
//! what hangs off it in the layers above (its active files) is cleared by the
//! caller, so this module never calls up.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::api::{PeerView, RegisterRequest, RegisterResponse, UpdateMe};
use claude_peers_proto::limits::{MAX_BRANCH_BYTES, MAX_PATH_BYTES, MAX_TTY_BYTES};
use claude_peers_proto::names::PeerName;
use claude_peers_proto::stream::Event;
use claude_peers_proto::{ApiError, validate};

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::groups;
use crate::domain::membership::place;
use crate::domain::messages::post::{self, Post, Sender, To};
use crate::domain::peers::naming::{choose_name, name_taken};
use crate::domain::peers::rows::{PeerRow, by_token, get, in_namespace, require};
use crate::domain::peers::slots;
use crate::domain::rules::auto_group;
use crate::domain::sessions;
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::ids;
use crate::runtime::store::Tx;

/// Peers that just left the list (left, removed or gone stale). The layer
/// above clears what it keeps for them (`coord::files::clear_departed`).
#[must_use = "a departed peer's active files must be cleared: pass this to coord::files::clear_departed"]
#[derive(Debug, Default)]
pub struct Departed(pub Vec<String>);

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
               local, cwd, git_root, repo_key, git_branch, tty, summary, registered_at, last_seen,
               host)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17)",
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
            t.now,
            sh.hub.team.node.host.as_str()
        ])?;
    slots::occupy(t.conn, &id)?;
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
        slots::vacate(t.conn, id)?;
        t.conn
            .prepare_cached(
                "UPDATE peers SET name = ?2, name_key = ?3, custom_name = 1 WHERE id = ?1",
            )?
            .execute(params![id, name.as_str(), name.key()])?;
        slots::occupy(t.conn, id)?;
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
    // Which broker holds the stream, for the others (`runtime::team`).
    let me = sh.hub.team.node.instance.as_str();
    let moved = if connected {
        t.conn
            .prepare_cached("UPDATE peers SET stream_broker = ?2 WHERE id = ?1")?
            .execute(params![id, me])?
    } else {
        t.conn
            .prepare_cached(
                "UPDATE peers SET stream_broker = NULL WHERE id = ?1 AND stream_broker = ?2",
            )?
            .execute(params![id, me])?
    };
    if moved > 0 {
        t.effect(Effect::Stream {
            peer: id.to_string(),
            broker: connected.then(|| me.to_string()),
        });
    }
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
pub fn leave(t: &mut Tx<'_>, sh: &Arc<Shared>, id: &str, notify: bool) -> Result<Departed> {
    let peer = require(t.conn, id)?;
    if peer.removed_at.is_some() {
        return Ok(Departed::default());
    }
    let departed = remove(t, sh, &peer, "peer.leave", &format!("{} left", peer.name))?;
    if notify {
        let others: Vec<PeerRow> = in_namespace(t.conn, peer.group_id.as_deref())?
            .into_iter()
            .filter(|p| p.id != peer.id)
            .collect();
        if !others.is_empty() {
            post::post(
                t,
                sh,
                Post {
                    from: Sender::Peer(&peer),
                    to: To::Peers(&others),
                    text: format!("**{}** has gone offline (its session ended).", peer.name),
                    msg_type: None,
                    metadata: None,
                    context: None,
                },
            )?;
        }
    }
    t.effect(Effect::Kick(peer.id.clone()));
    Ok(departed)
}

/// Take a peer off the list (name freed; identity and inbox kept until retention ends).
pub fn remove(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    peer: &PeerRow,
    action: &str,
    details: &str,
) -> Result<Departed> {
    slots::vacate(t.conn, &peer.id)?;
    t.conn
        .prepare_cached("UPDATE peers SET removed_at = ?2, stale = 1 WHERE id = ?1")?
        .execute(params![peer.id, t.now])?;
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
    Ok(Departed(vec![peer.id.clone()]))
}

/// Mark listed peers stale (disconnected past the grace period, or process gone).
pub fn mark_stale(t: &mut Tx<'_>, sh: &Arc<Shared>, ids: &[String]) -> Result<Departed> {
    let mut departed = Departed::default();
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
            departed.0.push(id.clone());
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
    Ok(departed)
}
