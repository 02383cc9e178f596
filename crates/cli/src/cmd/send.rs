//! `send` and `broadcast`, as the CLI (the person at the terminal).

use anyhow::Result;
use claude_peers_proto::api::{BroadcastOrigin, BroadcastRequest, Scope, SendRequest};

use crate::ctx::{Ctx, explain};

pub async fn send(ctx: &Ctx, to: &str, text: &str, reply_to: Option<i64>) -> Result<()> {
    ctx.require_broker().await?;
    let r = ctx
        .admin()?
        .send(&SendRequest {
            to: to.to_string(),
            text: text.to_string(),
            context: None,
            wait_ms: Some(500),
            reply_to,
            status: false,
        })
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "Message #{} sent to {} ({}): {}{}.",
            r.message_id,
            r.to.name,
            r.to.id,
            r.state.as_str(),
            if r.recipient_connected {
                ""
            } else {
                ", recipient not connected"
            }
        );
    }
    Ok(())
}

pub async fn broadcast(ctx: &Ctx, scope: Scope, text: &str) -> Result<()> {
    ctx.require_broker().await?;
    let origin = if scope == Scope::Machine {
        None
    } else {
        let cwd = std::env::current_dir()?;
        let common = std::process::Command::new("git")
            .args(["rev-parse", "--path-format=absolute", "--git-common-dir"])
            .current_dir(&cwd)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .map(|c| {
                std::fs::canonicalize(&c)
                    .map(|p| p.display().to_string())
                    .unwrap_or(c)
            });
        Some(BroadcastOrigin {
            cwd: cwd.display().to_string(),
            git_common_dir: common,
        })
    };
    let r = ctx
        .admin()?
        .broadcast(&BroadcastRequest {
            scope,
            text: text.to_string(),
            context: None,
            origin,
            reply_to: None,
            status: false,
        })
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        let names: Vec<&str> = r.recipients.iter().map(|p| p.name.as_str()).collect();
        println!(
            "Broadcast #{} sent to {} peer(s){}{}.",
            r.message_id,
            names.len(),
            if names.is_empty() { "" } else { ": " },
            names.join(", ")
        );
    }
    Ok(())
}
