//! `search`, `held` and `release`: find what was said, and see or release
//! the chains the loop guard holds.

use anyhow::Result;
use claude_peers_proto::api::{HeldChain, SearchQuery};

use crate::ctx::{Ctx, explain};

/// What `search` was asked.
pub struct Search {
    pub query: String,
    pub from: Option<String>,
    pub thread: Option<i64>,
    pub since: Option<String>,
    pub limit: Option<u32>,
}

pub async fn search(ctx: &Ctx, s: Search) -> Result<()> {
    ctx.require_broker().await?;
    let r = ctx
        .admin()?
        .search(&SearchQuery {
            q: s.query.clone(),
            from: s.from,
            thread: s.thread,
            since: s.since,
            limit: s.limit,
        })
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    if r.hits.is_empty() {
        println!("No messages match {:?}.", s.query);
    }
    for h in &r.hits {
        let m = &h.message;
        let thread = if m.thread_id != m.id {
            format!(" (thread #{})", m.thread_id)
        } else {
            String::new()
        };
        println!(
            "#{}{thread} {} {}: {}",
            m.id,
            m.sent_at.get(..19).unwrap_or(&m.sent_at),
            m.from.name,
            h.snippet.replace('\n', " ")
        );
    }
    Ok(())
}

/// One held chain, as a line for people.
pub fn held_line(c: &HeldChain) -> String {
    let names: Vec<&str> = c.peers.iter().map(|p| p.name.as_str()).collect();
    format!(
        "chain {}: {} message(s) held between {} (depth {}, limit {}), since {}; last: {}",
        c.chain_id,
        c.held,
        names.join(", "),
        c.depth,
        c.limit,
        c.since,
        c.preview
    )
}

pub async fn held(ctx: &Ctx) -> Result<()> {
    ctx.require_broker().await?;
    let r = ctx
        .admin()?
        .held_chains()
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    if r.chains.is_empty() {
        println!("No chain is held.");
    }
    for c in &r.chains {
        println!("{}", held_line(c));
    }
    if !r.chains.is_empty() {
        println!("Release one with `claude-peers release CHAIN`.");
    }
    Ok(())
}

pub async fn release(ctx: &Ctx, chain: i64) -> Result<()> {
    ctx.require_broker().await?;
    let r = ctx
        .admin()?
        .release_chain(chain)
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        let ids: Vec<String> = r.released.iter().map(|i| format!("#{i}")).collect();
        println!(
            "Chain {} released: {} message(s) delivered ({}); the chain starts again from zero.",
            r.chain_id,
            r.released.len(),
            ids.join(", ")
        );
    }
    Ok(())
}
