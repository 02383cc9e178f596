//! File awareness: each peer reports the files it is editing (a full list that
//! replaces the previous one). Paths are compared absolute and normalised
//! (relative ones are taken from the peer's directory). When a path a peer
//! reports is also in the list of another peer of its group, and was not in its
//! own list before, both peers are told at once. A report lasts
//! `active_files_ttl_ms` without a new one; it is cleared at once when the peer
//! leaves, is removed or goes stale.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::Party;
use claude_peers_proto::coord::{
    ActiveFile, ActiveFilesResult, ActiveFilesView, FileConflict, SetActiveFiles,
};
use claude_peers_proto::limits::{MAX_ACTIVE_FILES, MAX_PATH_BYTES};
use claude_peers_proto::paths::normalize;
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;
use claude_peers_proto::validate;
use serde_json::json;

use crate::coord;
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::messages::Sender;
use crate::domain::peers::{self, Departed, PeerRow};
use crate::domain::rules::{Standing, can_reach};
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;

/// One live entry: a path of a listed, non-stale peer, reported within the TTL.
struct Entry {
    peer: PeerRow,
    path: String,
    updated_at: i64,
}

fn live(conn: &Connection, now: i64, ttl: i64) -> Result<Vec<Entry>> {
    let rows: Vec<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT f.peer_id, f.path, f.updated_at FROM active_files f JOIN peers p ON p.id = f.peer_id
             WHERE p.removed_at IS NULL AND p.stale = 0 AND f.updated_at > ?1
             ORDER BY p.registered_at, p.id, f.path",
        )?
        .query_map([now - ttl], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<sql::Result<_>>()?;
    let mut peers_by_id: BTreeMap<String, PeerRow> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (peer_id, path, updated_at) in rows {
        if !peers_by_id.contains_key(&peer_id) {
            match peers::get(conn, &peer_id)? {
                Some(p) => {
                    peers_by_id.insert(peer_id.clone(), p);
                }
                None => continue,
            }
        }
        out.push(Entry {
            peer: peers_by_id[&peer_id].clone(),
            path,
            updated_at,
        });
    }
    Ok(out)
}

/// Every peer's active files that `standing` may see, with conflicts inside
/// each group.
pub fn list(
    conn: &Connection,
    standing: &Standing,
    now: i64,
    ttl: i64,
) -> Result<Vec<ActiveFilesView>> {
    let entries = live(conn, now, ttl)?;
    let mut views: Vec<ActiveFilesView> = Vec::new();
    for e in entries
        .iter()
        .filter(|e| can_reach(standing, e.peer.group_id.as_deref()))
    {
        let conflicts_with: Vec<Party> = entries
            .iter()
            .filter(|o| {
                o.path == e.path
                    && o.peer.id != e.peer.id
                    && can_reach(&e.peer.standing(), o.peer.group_id.as_deref())
            })
            .map(|o| o.peer.party())
            .collect();
        let file = ActiveFile {
            path: e.path.clone(),
            updated_at: rfc3339(e.updated_at),
            conflicts_with,
        };
        match views.iter_mut().find(|v| v.peer.id == e.peer.id) {
            Some(v) => v.files.push(file),
            None => views.push(ActiveFilesView {
                peer: e.peer.party(),
                group: e.peer.group_ref(),
                files: vec![file],
            }),
        }
    }
    Ok(views)
}

fn announce(t: &mut Tx<'_>, sh: &Shared) -> Result<()> {
    let active_files = list(
        t.conn,
        &Standing::Operator,
        t.now,
        sh.config.limits.active_files_ttl_ms,
    )?;
    t.effect(Effect::event(Event::ActiveFiles { active_files }));
    Ok(())
}

/// Replace the files `peer_id` is editing; tell both sides of every new conflict.
pub fn set(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    peer_id: &str,
    req: &SetActiveFiles,
) -> Result<ActiveFilesResult> {
    let raw = validate::lines("files", &req.files.0, MAX_ACTIVE_FILES, MAX_PATH_BYTES)?;
    let me = peers::require(t.conn, peer_id)?;
    let mut files: Vec<String> = Vec::with_capacity(raw.len());
    for r in &raw {
        let path = normalize(&me.cwd, r).ok_or_else(|| {
            ApiError::invalid(
                "files",
                format!(
                    "{r:?} is relative, and your directory ({}) is not absolute: give an absolute path",
                    me.cwd
                ),
            )
        })?;
        if path.len() > MAX_PATH_BYTES {
            return Err(ApiError::too_large(
                "files",
                format!(
                    "a path is {} bytes long, the limit is {MAX_PATH_BYTES}",
                    path.len()
                ),
            )
            .into());
        }
        if !files.contains(&path) {
            files.push(path);
        }
    }
    let ttl = sh.config.limits.active_files_ttl_ms;
    let before: Vec<String> = t
        .conn
        .prepare_cached("SELECT path FROM active_files WHERE peer_id = ?1 AND updated_at > ?2")?
        .query_map(params![me.id, t.now - ttl], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    t.conn
        .prepare_cached("DELETE FROM active_files WHERE peer_id = ?1")?
        .execute([&me.id])?;
    {
        let mut ins = t.conn.prepare_cached(
            "INSERT INTO active_files (peer_id, path, updated_at) VALUES (?1, ?2, ?3)",
        )?;
        for f in &files {
            ins.execute(params![me.id, f, t.now])?;
        }
    }
    // Every path I share with another peer of my namespace.
    let others: Vec<Entry> = live(t.conn, t.now, ttl)?
        .into_iter()
        .filter(|e| e.peer.id != me.id && can_reach(&me.standing(), e.peer.group_id.as_deref()))
        .filter(|e| files.contains(&e.path))
        .collect();
    let conflicts: Vec<FileConflict> = others
        .iter()
        .map(|e| FileConflict {
            path: e.path.clone(),
            peer: e.peer.party(),
        })
        .collect();
    audit::record(
        t,
        &sh.hub,
        &me.party(),
        "files.set",
        &format!("{} file(s)", files.len()),
        me.group_id.as_deref(),
    )?;
    // New conflicts (paths I did not have before), one notice per other peer.
    let mut fresh: BTreeMap<String, (PeerRow, Vec<String>)> = BTreeMap::new();
    for e in others.iter().filter(|e| !before.contains(&e.path)) {
        fresh
            .entry(e.peer.id.clone())
            .or_insert_with(|| (e.peer.clone(), Vec::new()))
            .1
            .push(e.path.clone());
    }
    for (_, (other, paths)) in fresh {
        let list = paths
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        audit::record(
            t,
            &sh.hub,
            &me.party(),
            "files.conflict",
            &format!("{} and {}: {}", me.name, other.name, paths.join(", ")),
            me.group_id.as_deref(),
        )?;
        coord::notify(
            t,
            sh,
            Sender::System,
            &[me.clone(), other.clone()],
            format!(
                "⚠️ **File conflict:** {} and {} are both editing {list}. Agree who goes first before changing it.",
                me.name, other.name
            ),
            "file_conflict",
            json!({"files": paths, "peers": [me.name, other.name]}),
        )?;
    }
    announce(t, sh)?;
    Ok(ActiveFilesResult {
        files,
        conflicts,
        ttl_ms: ttl,
    })
}

/// Forget the files of peers that left, were removed or went stale (the
/// domain's peer lifecycle hands them up as [`Departed`]).
pub fn clear_departed(t: &mut Tx<'_>, sh: &Shared, departed: Departed) -> Result<()> {
    let mut n = 0;
    for peer_id in &departed.0 {
        n += t
            .conn
            .prepare_cached("DELETE FROM active_files WHERE peer_id = ?1")?
            .execute([peer_id])?;
    }
    if n > 0 {
        announce(t, sh)?;
    }
    Ok(())
}

/// Drop reports older than the TTL.
pub fn expire(t: &mut Tx<'_>, sh: &Shared) -> Result<()> {
    let n = t
        .conn
        .prepare_cached("DELETE FROM active_files WHERE updated_at <= ?1")?
        .execute([t.now - sh.config.limits.active_files_ttl_ms])?;
    if n > 0 {
        announce(t, sh)?;
    }
    Ok(())
}
