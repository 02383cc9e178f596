//! `watch`: the operator's live stream, printed as it happens.

use anyhow::{Context, Result};
use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_proto::api::MessageView;
use claude_peers_proto::stream::{Event, ServerFrame};

use crate::ctx::{Ctx, explain};

fn clock(ts: &str) -> &str {
    ts.get(11..19).unwrap_or(ts)
}

fn line(m: &MessageView) -> String {
    let to = match (&m.to, m.scope) {
        (Some(t), _) => t.name.clone(),
        (None, Some(s)) => format!("[{}]", s.as_str()),
        (None, None) => "[group]".into(),
    };
    format!(
        "  [{}] #{} {} → {}: {}",
        clock(&m.sent_at),
        m.id,
        m.from.name,
        to,
        m.text
    )
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    let token = ctx.admin_token()?;
    if !ctx.json {
        eprintln!("Connecting to {} ...", ctx.endpoint.base_url());
    }
    let mut stream = Stream::connect(&ctx.endpoint, &token)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("is the broker running? (`claude-peers status`)")?;
    // Subscribed first, so nothing falls between the backlog and the stream.
    let recent = ctx
        .admin()?
        .feed(Some(20), None)
        .await
        .map_err(|e| explain(e, ctx))?;
    let last = recent.messages.first().map(|m| m.id).unwrap_or(0);
    if !ctx.json {
        eprintln!("Connected. Watching in real time; Ctrl+C to stop.\n");
        for m in recent.messages.iter().rev() {
            println!("{}", line(m));
        }
    }
    loop {
        match stream.next().await {
            Incoming::Frame(ServerFrame::Event { event }) => {
                if ctx.json {
                    println!("{}", serde_json::to_string(&event)?);
                    continue;
                }
                match *event {
                    Event::Message { message } if message.id > last => {
                        println!("{}", line(&message))
                    }
                    Event::Delivery {
                        message_id,
                        recipient,
                        state,
                    } => {
                        println!("  #{message_id} {} for {}", state.as_str(), recipient.name)
                    }
                    Event::PeerGone { name, .. } => println!("  {name} left"),
                    Event::Session { session_id } => println!("  new session {session_id}"),
                    Event::Held { chain } => println!(
                        "  HELD (loop guard) {}; release with `claude-peers release {}`",
                        super::conversations::held_line(&chain),
                        chain.chain_id
                    ),
                    Event::Released { chain_id, released } => println!(
                        "  chain {chain_id} released: {} message(s) delivered",
                        released.len()
                    ),
                    _ => {}
                }
            }
            Incoming::Frame(ServerFrame::Shutdown { reason, .. }) => {
                eprintln!("{reason}");
            }
            Incoming::Frame(_) => {}
            Incoming::Garbled(e) => eprintln!("(unreadable event: {e})"),
            Incoming::Closed => {
                eprintln!("Disconnected from the broker.");
                return Ok(());
            }
        }
    }
}
