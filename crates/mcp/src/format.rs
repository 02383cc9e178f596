//! How tool results read: short, plain text, with the ids an agent needs to act
//! (message ids for ack/pin/react, peer names and ids for replies).

use claude_peers_proto::api::{DeliveryState, MessageView, PeerState, PeerView, SearchHit};

/// One peer, as a few lines.
pub fn peer(p: &PeerView) -> String {
    let mut lines = vec![format!("{} (id {})", p.name, p.id)];
    let presence = match (p.state, p.connected) {
        (PeerState::Live, true) => "connected",
        (PeerState::Live, false) => "reconnecting",
        (PeerState::Stale, _) => "stale (not connected; messages wait for it)",
        (PeerState::Gone, _) => "gone",
    };
    lines.push(format!("  status: {}, {presence}", p.status.as_str()));
    lines.push(format!(
        "  group: {}",
        p.group.as_ref().map(|g| g.name.as_str()).unwrap_or("lobby")
    ));
    lines.push(format!("  cwd: {}", p.cwd));
    if let Some(b) = &p.git_branch {
        lines.push(format!("  branch: {b}"));
    }
    if !p.summary.is_empty() {
        lines.push(format!("  summary: {}", p.summary));
    }
    lines.join("\n")
}

fn target(m: &MessageView) -> String {
    match (&m.to, m.scope) {
        (Some(to), _) => to.name.clone(),
        (None, Some(s)) => format!("everyone ({})", s.as_str()),
        (None, None) => "the group".into(),
    }
}

/// A received message, in full.
pub fn incoming(m: &MessageView) -> String {
    let kind = m
        .msg_type
        .as_deref()
        .map(|t| format!(" [{t}]"))
        .unwrap_or_default();
    format!(
        "#{} from {} (id {}) to {}{kind}, {}:\n{}",
        m.id,
        m.from.name,
        m.from.id,
        target(m),
        m.sent_at,
        m.text
    )
}

/// Where a message sits in its thread: `↩#N` for a reply, `(thread #N)`
/// if the thread began elsewhere, nothing for a message that starts one.
fn thread_mark(m: &MessageView) -> String {
    match m.reply_to {
        Some(r) if m.thread_id != r => format!(" ↩#{r} (thread #{})", m.thread_id),
        Some(r) => format!(" ↩#{r}"),
        None => String::new(),
    }
}

/// A message in a history listing.
pub fn line(m: &MessageView) -> String {
    let held = if m.held { " [held]" } else { "" };
    format!(
        "[{}] #{}{} {} → {}{held}: {}",
        m.sent_at,
        m.id,
        thread_mark(m),
        m.from.name,
        target(m),
        m.text
    )
}

/// A search hit: where and when, and the snippet around the match.
pub fn hit(h: &SearchHit) -> String {
    let m = &h.message;
    format!(
        "#{}{} {} → {} ({}): {}",
        m.id,
        thread_mark(m),
        m.from.name,
        target(m),
        m.sent_at,
        h.snippet.replace('\n', " ")
    )
}

/// A sent message with each recipient's delivery state.
pub fn sent(m: &MessageView) -> String {
    let preview: String = m.text.chars().take(60).collect();
    let states: Vec<String> = m
        .deliveries
        .iter()
        .map(|d| format!("{}: {}", d.recipient.name, d.state.as_str()))
        .collect();
    let states = if states.is_empty() {
        "no recipients".to_string()
    } else {
        states.join(", ")
    };
    format!(
        "#{} to {} ({}) — {states}\n  {preview}",
        m.id,
        target(m),
        m.sent_at
    )
}

/// What a delivery state means, for a send result.
pub fn state_sentence(state: DeliveryState, connected: bool, name: &str) -> String {
    match (state, connected) {
        (DeliveryState::Read, _) => format!("{name} has already read it"),
        (DeliveryState::Delivered, _) => format!("delivered into {name}'s session"),
        (DeliveryState::Queued, true) => {
            format!("queued; {name} is connected and will get it in a moment")
        }
        (DeliveryState::Queued, false) => {
            format!("queued; {name} is not connected now and will get it when it reconnects")
        }
    }
}
