//! `groups`: list isolation groups, or create, delete and assign.

use anyhow::Result;
use clap::Subcommand;

use crate::ctx::{Ctx, explain};
use crate::table;

#[derive(Subcommand, Debug)]
pub enum GroupAction {
    /// Create a group.
    Create { name: String },
    /// Delete a group; its members go to the lobby.
    Delete { group: String },
    /// Move a peer (id) into a group (name or id), or `lobby`.
    Assign { peer: String, group: String },
}

pub async fn run(ctx: &Ctx, action: Option<GroupAction>) -> Result<()> {
    let admin = ctx.admin()?;
    match action {
        Some(GroupAction::Create { name }) => {
            let g = admin
                .create_group(&name)
                .await
                .map_err(|e| explain(e, ctx))?;
            println!("Group {} created (id {}).", g.name, g.id);
            return Ok(());
        }
        Some(GroupAction::Delete { group }) => {
            admin
                .delete_group(&group)
                .await
                .map_err(|e| explain(e, ctx))?;
            println!("Group {group} deleted; its members are in the lobby.");
            return Ok(());
        }
        Some(GroupAction::Assign { peer, group }) => {
            let target = (!group.eq_ignore_ascii_case("lobby")).then_some(group.as_str());
            admin
                .assign_group(&peer, target)
                .await
                .map_err(|e| explain(e, ctx))?;
            println!("Peer {peer} moved to {group}.");
            return Ok(());
        }
        None => {}
    }
    let list = admin.groups().await.map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let names = |ps: &[claude_peers_proto::api::Party]| {
        if ps.is_empty() {
            "none".to_string()
        } else {
            ps.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut rows = vec![vec![
        "lobby".to_string(),
        "-".into(),
        "-".into(),
        list.lobby.len().to_string(),
        names(&list.lobby),
    ]];
    for g in &list.groups {
        rows.push(vec![
            g.name.clone(),
            g.id.clone(),
            if g.auto { "auto" } else { "manual" }.into(),
            g.members.len().to_string(),
            names(&g.members),
        ]);
    }
    println!(
        "{}",
        table::render(&["GROUP", "ID", "KIND", "MEMBERS", "NAMES"], &rows)
    );
    Ok(())
}
