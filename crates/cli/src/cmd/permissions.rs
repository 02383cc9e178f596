//! `permissions`: list the sessions' pending permission requests, or allow or
//! deny one (the operator, with the admin token).

use anyhow::Result;
use clap::Subcommand;
use claude_peers_proto::permissions::Behavior;

use crate::ctx::{Ctx, explain};
use crate::table;

#[derive(Subcommand, Debug)]
pub enum PermissionAction {
    /// List pending requests, newest first (the default).
    List,
    /// Let the session use the tool this once.
    Allow { id: String },
    /// Refuse it.
    Deny { id: String },
}

pub async fn run(ctx: &Ctx, action: Option<PermissionAction>) -> Result<()> {
    let admin = ctx.admin()?;
    let (id, behavior) = match action {
        None | Some(PermissionAction::List) => return list(ctx, &admin).await,
        Some(PermissionAction::Allow { id }) => (id, Behavior::Allow),
        Some(PermissionAction::Deny { id }) => (id, Behavior::Deny),
    };
    let r = admin
        .answer_permission(&id, behavior)
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let verb = match r.behavior {
            Behavior::Allow => "Allowed",
            Behavior::Deny => "Denied",
        };
        if r.delivered {
            println!("{verb} {}.", r.id);
        } else {
            println!(
                "{verb} {}, but its session is not connected now; the terminal prompt decides.",
                r.id
            );
        }
    }
    Ok(())
}

async fn list(ctx: &Ctx, admin: &claude_peers_client::BrokerClient) -> Result<()> {
    let l = admin.permissions().await.map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
        return Ok(());
    }
    if !l.relay {
        println!(
            "The permission relay is off: start the broker with --permission-relay (or CLAUDE_PEERS_PERMISSION_RELAY=1), then restart the sessions."
        );
        return Ok(());
    }
    if l.pending.is_empty() {
        println!("No permission requests are waiting.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = l
        .pending
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.peer.name.clone(),
                p.tool_name.clone(),
                p.created_at.clone(),
                one_line(&if p.input_preview.is_empty() {
                    p.description.clone()
                } else {
                    format!("{} — {}", p.description, p.input_preview)
                }),
            ]
        })
        .collect();
    println!(
        "{}",
        table::render(&["ID", "SESSION", "TOOL", "ASKED", "WHAT"], &rows)
    );
    println!("Answer with `claude-peers permissions allow ID` or `deny ID`.");
    Ok(())
}

/// The first 100 characters of `s`, on one line.
fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = flat.chars().take(100).collect();
    if flat.chars().count() > 100 {
        out.push('…');
    }
    out
}
