//! `status`, `peers` and `token`.

use anyhow::Result;
use claude_peers_client::autostart::{Probe, probe};
use claude_peers_proto::api::{ListPeersQuery, PeerState, PeerView};

use crate::ctx::{Ctx, explain};
use crate::table;

fn state(p: &PeerView) -> String {
    match (p.state, p.connected) {
        (PeerState::Live, true) => "live".into(),
        (PeerState::Live, false) => "reconnecting".into(),
        (PeerState::Stale, _) => "stale".into(),
        (PeerState::Gone, _) => "gone".into(),
    }
}

fn peer_rows(peers: &[PeerView]) -> Vec<Vec<String>> {
    peers
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.id.clone(),
                p.group
                    .as_ref()
                    .map(|g| g.name.clone())
                    .unwrap_or_else(|| "lobby".into()),
                format!("{} {}", state(p), p.status.as_str()),
                reach(p),
                p.pid.to_string(),
                p.cwd.clone(),
                p.summary.clone(),
            ]
        })
        .collect()
}

/// The rung that reaches the peer, whether it holds peer messages, and its client.
fn reach(p: &PeerView) -> String {
    let mut s = p.reach.as_str().to_string();
    if p.holds_messages {
        s.push_str(" (held)");
    }
    if let Some(c) = &p.client {
        s.push_str(&format!(" · {} {}", c.name, c.version));
    }
    s
}

const HEADER: &[&str] = &[
    "NAME", "ID", "GROUP", "STATE", "REACH", "PID", "CWD", "SUMMARY",
];

pub async fn status(ctx: &Ctx) -> Result<()> {
    let health = match probe(&ctx.endpoint).await {
        Probe::Ours(h) => h,
        Probe::Down => {
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({"running": false, "url": ctx.endpoint.base_url()})
                );
            } else {
                println!("Broker is not running ({}).", ctx.endpoint.base_url());
            }
            return Err(crate::Exit(crate::EXIT_NOT_RUNNING).into());
        }
        Probe::Foreign(why) => anyhow::bail!(
            "port {} answers, but not as a claude-peers broker ({why})",
            ctx.endpoint.port
        ),
    };
    let admin = ctx.admin()?;
    let peers = admin
        .all_peers(&ListPeersQuery::default())
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"running": true, "url": ctx.endpoint.base_url(), "health": health, "peers": peers})
        );
        return Ok(());
    }
    println!(
        "Broker: {} (version {}, up {}s), {} peer(s)\nURL: {}\nDatabase: {}\nPermission relay: {}",
        health.status,
        health.version,
        health.uptime_ms / 1000,
        peers.len(),
        ctx.endpoint.base_url(),
        ctx.endpoint.db.display(),
        if health.permission_relay {
            "on (claude-peers permissions)"
        } else {
            "off"
        }
    );
    if !peers.is_empty() {
        println!("\n{}", table::render(HEADER, &peer_rows(&peers)));
    }
    Ok(())
}

pub async fn peers(ctx: &Ctx) -> Result<()> {
    let peers = ctx
        .admin()?
        .all_peers(&ListPeersQuery::default())
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&peers)?);
    } else if peers.is_empty() {
        println!("No peers registered.");
    } else {
        println!("{}", table::render(HEADER, &peer_rows(&peers)));
    }
    Ok(())
}

pub fn token(ctx: &Ctx) -> Result<()> {
    let t = ctx.admin_token()?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({"token": t, "file": ctx.endpoint.paths().admin_token})
        );
    } else {
        println!("{t}");
    }
    Ok(())
}
