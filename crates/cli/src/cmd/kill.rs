//! `kill-broker`: stop the broker that owns this port *and* this database,
//! verified, and nothing else.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use claude_peers_client::autostart::{Probe, probe};

use crate::ctx::{Ctx, explain};

fn same_file(a: &str, b: &std::path::Path) -> bool {
    let ca = std::fs::canonicalize(a).ok();
    let cb = std::fs::canonicalize(b).ok();
    match (ca, cb) {
        (Some(x), Some(y)) => x == y,
        _ => std::path::Path::new(a) == b,
    }
}

fn lock_owner(ctx: &Ctx) -> Option<u32> {
    let text = std::fs::read_to_string(ctx.endpoint.paths().lock).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Whether `pid` is a `claude-peers broker` process (by its command line).
fn is_broker_process(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.first().is_some_and(|a| a.contains("claude-peers"))
                && args.iter().any(|a| a == "broker")
        })
        .unwrap_or(false)
}

async fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !claude_peers_proto::process::alive(pid, None) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub async fn run(ctx: &Ctx, stay_down: bool) -> Result<()> {
    let db = &ctx.endpoint.db;
    match probe(&ctx.endpoint).await {
        Probe::Ours(_) => {
            let admin = ctx.admin()?;
            let health = admin.health().await.map_err(|e| explain(e, ctx))?;
            let (Some(pid), Some(their_db)) = (health.pid, health.db) else {
                bail!(
                    "the broker on port {} did not accept this database's admin token: it serves another database; not stopping it",
                    ctx.endpoint.port
                );
            };
            if !same_file(&their_db, db) {
                bail!(
                    "the broker on port {} serves {their_db}, not {}; not stopping it",
                    ctx.endpoint.port,
                    db.display()
                );
            }
            let peers = health.peers;
            admin
                .shutdown(stay_down)
                .await
                .map_err(|e| explain(e, ctx))?;
            if wait_gone(pid, Duration::from_secs(10)).await {
                println!("Broker stopped (pid {pid}, {peers} peer(s) were registered).");
                Ok(())
            } else {
                bail!("asked the broker (pid {pid}) to stop, but it is still running after 10 s")
            }
        }
        Probe::Foreign(why) => bail!(
            "port {} is used by another program ({why}); nothing stopped",
            ctx.endpoint.port
        ),
        Probe::Down => {
            // Not answering; a hung broker may still hold the database lock.
            match lock_owner(ctx) {
                Some(pid)
                    if claude_peers_proto::process::alive(pid, None) && is_broker_process(pid) =>
                {
                    // SAFETY: sending SIGTERM to a verified claude-peers broker process.
                    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                    if !wait_gone(pid, Duration::from_secs(5)).await {
                        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                        wait_gone(pid, Duration::from_secs(2)).await;
                    }
                    println!(
                        "The broker (pid {pid}) did not answer HTTP; it was stopped with a signal."
                    );
                    Ok(())
                }
                _ => {
                    println!(
                        "No broker is running for {} on port {}.",
                        db.display(),
                        ctx.endpoint.port
                    );
                    Ok(())
                }
            }
        }
    }
}
