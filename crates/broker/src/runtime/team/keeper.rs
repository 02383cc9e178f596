//! The keeper: a thread with a connection of its own that, every
//! [`HEARTBEAT_MS`](super::HEARTBEAT_MS),
//! - writes this broker's heartbeat in `brokers` and reads which other
//!   brokers are alive (by the database's clock, so the hosts' clocks need
//!   not agree);
//! - tries to take the maintenance lock ([`super::MAINTENANCE_LOCK`], a
//!   session advisory lock) unless it holds it: the holder keeps it for the
//!   life of this connection, so when its broker dies the server frees it
//!   and the next broker's keeper takes it within a heartbeat;
//! - as the maintainer, deletes old rows of `brokers` and `team_events`;
//!
//! and in between sends at once the notes announced outside transactions
//! ([`super::Team::announce`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use claude_peers_proto::time::now_ms;

use super::{BROKER_TIMEOUT_MS, EVENT_KEEP_MS, HEARTBEAT_MS, MAINTENANCE_LOCK, Team};
use crate::error::{Error, Result};

/// A broker's row in `brokers` is deleted this long after its last heartbeat.
const FORGET_BROKER_MS: i64 = 24 * 3_600_000;

/// The database's clock, in ms since the epoch.
const DB_NOW: &str = "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)";

/// Start the keeper on `url` for `team`; returns after its first round (so
/// the broker knows which brokers are alive before it serves).
pub async fn start(url: &str, team: Arc<Team>) -> Result<()> {
    let (tx, rx) = mpsc::channel::<String>();
    team.enable(tx);
    let (ready, started) = tokio::sync::oneshot::channel::<Result<()>>();
    let url = url.to_string();
    std::thread::Builder::new()
        .name("team-keeper".into())
        .spawn(move || run(&url, &team, &rx, Some(ready)))
        .map_err(|e| Error::Internal(format!("cannot start the keeper thread: {e}")))?;
    started
        .await
        .map_err(|_| Error::Internal("the keeper thread stopped".into()))?
}

fn run(
    url: &str,
    team: &Team,
    outbox: &mpsc::Receiver<String>,
    mut ready: Option<tokio::sync::oneshot::Sender<Result<()>>>,
) {
    let mut client: Option<postgres::Client> = None;
    let period = Duration::from_millis(HEARTBEAT_MS);
    loop {
        let round_started = Instant::now();
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            team.set_maintainer(false);
            client = match postgres::Client::connect(url, postgres::NoTls) {
                Ok(c) => Some(c),
                Err(e) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Err(Error::Internal(format!(
                            "cannot connect to PostgreSQL for the heartbeat: {e}"
                        ))));
                        return;
                    }
                    tracing::warn!(error = %e, "the keeper cannot reach PostgreSQL; retrying");
                    None
                }
            };
        }
        if let Some(c) = client.as_mut() {
            match round(c, team) {
                Ok(()) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Ok(()));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the heartbeat failed");
                    if let Some(r) = ready.take() {
                        let _ = r.send(Err(Error::Internal(format!(
                            "the first heartbeat failed: {e}"
                        ))));
                        return;
                    }
                    // Lost or broken: connect afresh (the lock goes with it).
                    client = None;
                    team.set_maintainer(false);
                }
            }
        }
        // Send announcements as they come until the next round.
        while let Some(left) = period.checked_sub(round_started.elapsed()) {
            match outbox.recv_timeout(left) {
                Ok(first) => {
                    let mut payloads = vec![first];
                    payloads.extend(outbox.try_iter().take(255));
                    if let Some(c) = client.as_mut()
                        && let Err(e) = c.batch_execute(&super::wire::notify_sql(&payloads))
                    {
                        tracing::warn!(error = %e, "cannot announce to the other brokers");
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// One heartbeat: write ours, read the others', take the maintenance if free.
fn round(c: &mut postgres::Client, team: &Team) -> std::result::Result<(), postgres::Error> {
    let me = &team.node.instance;
    c.execute(
        &format!(
            "INSERT INTO brokers (id, host, started_at, seen_at) VALUES ($1, $2, {DB_NOW}, {DB_NOW})
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at"
        ),
        &[me, &team.node.host],
    )?;
    let alive: HashSet<String> = c
        .query(
            &format!("SELECT id FROM brokers WHERE seen_at > {DB_NOW} - $1 AND id <> $2"),
            &[&BROKER_TIMEOUT_MS, me],
        )?
        .into_iter()
        .filter_map(|r| r.try_get(0).ok())
        .collect();
    team.set_alive(alive);
    if !team.is_maintainer() {
        let took: bool = c
            .query_one(
                &format!("SELECT pg_try_advisory_lock({MAINTENANCE_LOCK})"),
                &[],
            )?
            .try_get(0)?;
        team.set_maintainer(took);
    }
    if team.is_maintainer() {
        c.execute(
            &format!("DELETE FROM brokers WHERE seen_at < {DB_NOW} - $1"),
            &[&FORGET_BROKER_MS],
        )?;
        c.execute(
            "DELETE FROM team_events WHERE at < $1",
            &[&(now_ms() - EVENT_KEEP_MS)],
        )?;
    }
    Ok(())
}
