//! The maintenance loop: liveness (stale, then removed), retention, and saving
//! the last activity time. Runs every few seconds.
//!
//! With several brokers on one PostgreSQL database, the team's part (the
//! store's liveness, retention and expiry) runs only on the broker that
//! holds the maintenance lock (`runtime::team::keeper`), and moves with it
//! when that broker dies; what is this broker's own (its permission
//! requests waiting in memory, its rate-limit buckets) runs on each. A
//! peer's process is looked for (pid) only by a broker on the host the
//! peer registered from.

use std::time::Duration;

use crate::runtime::store::sql::{self, params};
use claude_peers_proto::limits::{MAINTENANCE_INTERVAL_MS, RETENTION_MS};
use claude_peers_proto::process;
use claude_peers_proto::time::now_ms;

use crate::error::Result;

use crate::coord::{files, proposals};
use crate::domain::messages;
use crate::domain::peers;
use crate::domain::sessions;
use crate::http::state::AppState;
use crate::runtime::hub::Effect;

pub async fn run(state: AppState) {
    let mut shutdown = state.shutdown_rx();
    let mut tick = tokio::time::interval(interval(&state.config().limits));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = once(&state).await {
                    tracing::warn!(error = %e, "maintenance failed");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// How often to run: a quarter of the shortest liveness period, between 100 ms
/// and [`MAINTENANCE_INTERVAL_MS`].
pub fn interval(l: &crate::config::Limits) -> Duration {
    let shortest = l.reconnect_grace_ms.min(l.remove_after_ms).max(0) as u64;
    Duration::from_millis((shortest / 4).clamp(100, MAINTENANCE_INTERVAL_MS))
}

/// Which listed peers should turn stale and which should be removed, now.
pub fn judge(state: &AppState, listed: &[peers::PeerRow], now: i64) -> (Vec<String>, Vec<String>) {
    let limits = &state.config().limits;
    let hub = state.hub();
    let mut stale = Vec::new();
    let mut remove = Vec::new();
    for p in listed {
        if hub.is_connected(&p.id) {
            continue;
        }
        if p.stale {
            if now - p.last_seen >= limits.remove_after_ms {
                remove.push(p.id.clone());
            }
            continue;
        }
        // Not before it was last seen: with other brokers, a peer may have
        // been connected to one of them long after this broker noted it as
        // disconnected (at its start).
        let since = hub
            .disconnected_since(&p.id)
            .unwrap_or(p.last_seen)
            .max(p.last_seen);
        let grace_over = now - since >= limits.reconnect_grace_ms;
        let on_this_host = p.host.as_deref().is_none_or(|h| h == hub.team.node.host);
        let process_gone = p.local
            && on_this_host
            && !state.config().skip_pid_check
            && !process::alive(p.pid, p.pid_start);
        if grace_over || process_gone {
            stale.push(p.id.clone());
        }
    }
    (stale, remove)
}

/// The permission lane's expiry (`domain::permissions::expire`): a write
/// only when the table holds anything (it is empty unless the relay is
/// used).
async fn expire_permissions(state: &AppState) -> Result<()> {
    if state.store.read(crate::domain::permissions::any).await? {
        state
            .write(|t, sh| crate::domain::permissions::expire(t, sh))
            .await?;
    }
    Ok(())
}

/// One round of maintenance.
pub async fn once(state: &AppState) -> Result<()> {
    let now = now_ms();
    state.rates.prune();
    state.shared.pairs.prune(std::time::Instant::now());
    if !state.hub().team.is_maintainer() {
        return Ok(());
    }
    if let Err(e) = expire_permissions(state).await {
        tracing::warn!(error = %e, "cannot expire permission requests");
    }
    if let Err(e) = crate::http::routes::needs_you::escalate_unreachable(state).await {
        tracing::warn!(error = %e, "cannot look for unreachable mail");
    }
    let listed = state.store.read(peers::all).await?;
    let (stale, remove) = judge(state, &listed, now);
    let connected = state.hub().connected_ids();
    let sh = state.shared.clone();
    let last_activity = {
        if !connected.is_empty() {
            sh.activity.touch(now);
        }
        sh.activity.last()
    };
    state
        .store
        .write(move |t| {
            peers::touch(t, &connected)?;
            let gone = peers::mark_stale(t, &sh, &stale)?;
            files::clear_departed(t, &sh, gone)?;
            for id in &remove {
                if let Some(p) = peers::get(t.conn, id)? {
                    let gone = peers::remove(t, &sh, &p, "peer.removed", &format!("{} removed after being disconnected", p.name))?;
                    files::clear_departed(t, &sh, gone)?;
                }
            }
            if !remove.is_empty() {
                proposals::recheck_open(t, &sh)?;
            }
            files::expire(t, &sh)?;
            let cutoff = t.now - RETENTION_MS;
            crate::domain::shown::expire(t, cutoff)?;
            messages::expire(t, cutoff)?;
            let forgotten: Vec<(String, String)> = t
                .conn
                .prepare_cached("SELECT id, token_hash FROM peers WHERE removed_at IS NOT NULL AND removed_at < ?1")?
                .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<sql::Result<_>>()?;
            for (id, hash) in forgotten {
                t.conn.execute("DELETE FROM deliveries WHERE recipient_id = ?1", params![id])?;
                t.conn.execute("DELETE FROM peers WHERE id = ?1", params![id])?;
                sh.hub.forget(&id);
                t.effect(Effect::ForgetToken { hash });
            }
            t.conn.execute("DELETE FROM audit WHERE at < ?1", [cutoff])?;
            sessions::save_activity(t, last_activity)?;
            Ok(())
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_follows_the_liveness_periods() {
        let mut l = crate::config::Limits::default();
        assert_eq!(interval(&l), Duration::from_millis(MAINTENANCE_INTERVAL_MS));
        l.reconnect_grace_ms = 400;
        assert_eq!(interval(&l), Duration::from_millis(100));
        l.reconnect_grace_ms = 2_000;
        assert_eq!(interval(&l), Duration::from_millis(500));
    }
}
