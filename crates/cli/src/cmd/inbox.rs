//! `inbox`: the "needs you" lane in the terminal: everything waiting on the
//! person, newest first, with what resolves each item; and the actions that
//! resolve the items only the person can answer (approvals and verification
//! requests addressed to them; the admin token).

use anyhow::Result;
use clap::Subcommand;
use claude_peers_client::BrokerClient;
use claude_peers_proto::coord::{RespondApproval, RespondVerification, Verdict};

use crate::ctx::{Ctx, explain};
use crate::table;

#[derive(Subcommand, Debug)]
pub enum InboxAction {
    /// Mark the messages to you up to this message id as read.
    Read { upto: i64 },
    /// Take an unreachable mail out of the lane (message id, recipient peer id).
    Dismiss { message_id: i64, recipient: String },
    /// Approve an approval request addressed to you; the requester is told.
    Approve {
        id: String,
        /// Why (the requester reads it).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject an approval request addressed to you; the requester is told.
    Reject {
        id: String,
        /// Why (the requester reads it).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Answer a verification request addressed to you: verified or failed.
    Verify {
        id: String,
        #[arg(value_parser = verdict)]
        status: Verdict,
        /// What you found (default: a line saying you checked it).
        #[arg(long)]
        response: Option<String>,
        /// The evidence (commands run, output, files read).
        #[arg(long)]
        evidence: Option<String>,
    },
}

fn verdict(s: &str) -> Result<Verdict, String> {
    Verdict::parse(s).ok_or_else(|| format!("must be {} (got {s:?})", Verdict::expected()))
}

pub async fn run(ctx: &Ctx, action: Option<InboxAction>) -> Result<()> {
    let admin = ctx.admin()?;
    match action {
        Some(InboxAction::Approve { id, reason }) => {
            return approve(ctx, &admin, &id, true, reason).await;
        }
        Some(InboxAction::Reject { id, reason }) => {
            return approve(ctx, &admin, &id, false, reason).await;
        }
        Some(InboxAction::Verify {
            id,
            status,
            response,
            evidence,
        }) => return verify(ctx, &admin, &id, status, response, evidence).await,
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

/// Approve or reject an approval request addressed to the person.
async fn approve(
    ctx: &Ctx,
    admin: &BrokerClient,
    id: &str,
    approved: bool,
    reason: Option<String>,
) -> Result<()> {
    let a = admin
        .respond_approval(id, &RespondApproval { approved, reason })
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
    } else {
        println!(
            "Approval {} {}; {} was told.",
            a.id,
            a.status.as_str(),
            a.requester.name
        );
    }
    Ok(())
}

/// Answer a verification request addressed to the person.
async fn verify(
    ctx: &Ctx,
    admin: &BrokerClient,
    id: &str,
    status: Verdict,
    response: Option<String>,
    evidence: Option<String>,
) -> Result<()> {
    let response = response
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| match status {
            Verdict::Verified => "verified by the operator".into(),
            Verdict::Failed => "failed the operator's check".into(),
        });
    let v = admin
        .respond_verification(
            id,
            &RespondVerification {
                status,
                response,
                evidence,
            },
        )
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "Verification {} {}; {} was told.",
            v.id,
            v.status.as_str(),
            v.requester.name
        );
    }
    Ok(())
}
