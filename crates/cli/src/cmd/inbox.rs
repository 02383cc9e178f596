//! `inbox`: the "needs you" lane in the terminal: everything waiting on the
//! person, newest first, with what resolves each item.

use anyhow::Result;
use clap::Subcommand;

use crate::ctx::{Ctx, explain};
use crate::table;

#[derive(Subcommand, Debug)]
pub enum InboxAction {
    /// Mark the messages to you up to this message id as read.
    Read { upto: i64 },
    /// Take an unreachable mail out of the lane (message id, recipient peer id).
    Dismiss { message_id: i64, recipient: String },
}

pub async fn run(ctx: &Ctx, action: Option<InboxAction>) -> Result<()> {
    let admin = ctx.admin()?;
    match action {
        Some(InboxAction::Read { upto }) => {
            admin
                .mark_operator_read(upto)
                .await
                .map_err(|e| explain(e, ctx))?;
            println!("Messages up to #{upto} marked read.");
            return Ok(());
        }
        Some(InboxAction::Dismiss {
            message_id,
            recipient,
        }) => {
            admin
                .dismiss_mail(message_id, &recipient)
                .await
                .map_err(|e| explain(e, ctx))?;
            println!("Unreachable mail #{message_id} dismissed.");
            return Ok(());
        }
        None => {}
    }
    let lane = admin.needs_you().await.map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&lane)?);
        return Ok(());
    }
    if lane.items.is_empty() {
        println!("Nothing needs you.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = lane
        .items
        .iter()
        .map(|i| {
            vec![
                i.kind.as_str().replace('_', " "),
                i.id.clone(),
                i.at.get(..19).unwrap_or(&i.at).replace('T', " "),
                i.title.clone(),
            ]
        })
        .collect();
    println!("{}", table::render(&["WHAT", "ID", "SINCE", "ITEM"], &rows));
    println!();
    for i in &lane.items {
        println!(
            "{} {}: {}",
            i.kind.as_str().replace('_', " "),
            i.id,
            i.resolve
        );
    }
    Ok(())
}
