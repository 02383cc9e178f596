//! How tool results read: short, plain text, with the ids an agent needs to act
//! (message ids for ack/pin/react, peer names and ids for replies).

use claude_peers_client::PeerPage;
use claude_peers_proto::api::{
    CheckResult, DeliveryState, MessageView, PeerState, PeerView, RecipientReach, Scope, SearchHit,
};
use claude_peers_proto::limits::RETENTION_MS;
use claude_peers_proto::reach::Reach;

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
    lines.push(format!("  reach: {}", reach(p)));
    lines.join("\n")
}

/// A page of `list_peers`: the peers, and how to ask for the next page.
pub fn peer_page(page: &PeerPage, scope: Scope) -> String {
    let scope = scope.as_str();
    if page.peers.is_empty() {
        return format!("No other peers found (scope: {scope}).");
    }
    let body: Vec<String> = page.peers.iter().map(peer).collect();
    let mut out = format!(
        "{} peer(s) (scope: {scope}):\n\n{}",
        page.peers.len(),
        body.join("\n\n")
    );
    if let Some(next) = &page.next {
        out.push_str(&format!(
            "\n\nMore peers are listed: call list_peers with cursor \"{next}\" (and the same scope) for the next page."
        ));
    }
    out
}

/// A peer's reach and client, in a few words.
pub fn reach(p: &PeerView) -> String {
    let held = if p.holds_messages {
        " (holds peer messages for its user's review)"
    } else {
        ""
    };
    match &p.client {
        Some(c) => format!(
            "{}{held}, client {} {}",
            p.reach.as_str(),
            c.name,
            c.version
        ),
        None => format!("{}{held}", p.reach.as_str()),
    }
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

/// The answer of `check_messages` / `wait_for_messages` (some messages came).
pub fn checked(r: &CheckResult) -> String {
    let body: Vec<String> = r.messages.iter().map(incoming).collect();
    let more = if r.remaining > 0 {
        format!(
            "\n\n({} more unread: call check_messages again.)",
            r.remaining
        )
    } else {
        String::new()
    };
    format!(
        "{} new message(s):\n\n{}{more}",
        r.messages.len(),
        body.join("\n\n---\n\n")
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

/// What happened to a sent message and what will, honestly: the recipient's
/// rung decides the words, never "delivered" for a push nobody may read.
pub fn send_sentence(
    state: DeliveryState,
    connected: bool,
    reach: Option<RecipientReach>,
    name: &str,
) -> String {
    let Some(r) = reach else {
        return state_sentence(state, connected, name);
    };
    if state == DeliveryState::Read {
        return format!("{name} has already read it");
    }
    let days = RETENTION_MS / 86_400_000;
    match r.reach {
        Reach::Socket if r.holds_messages => format!(
            "{name} holds messages from peers for its user's review: it reaches {name} only if its user lets it through"
        ),
        Reach::Socket if state == DeliveryState::Delivered => {
            format!("queued as a prompt in {name}'s session")
        }
        Reach::Socket => {
            format!("{name}'s session takes peer messages as prompts; it is being queued there")
        }
        Reach::Channel if r.idle && r.wake_hook => format!(
            "pushed to {name}'s session over its channel; {name} is idle: its hook will wake it"
        ),
        Reach::Channel if r.idle => format!(
            "pushed to {name}'s session over its channel; {name} is idle and will see it when its next turn starts"
        ),
        Reach::Channel => format!("pushed to {name}'s session over its channel"),
        Reach::Wake if r.idle => format!("{name} is idle; its hook will wake it"),
        Reach::Wake | Reach::NextTurn => format!(
            "{name} has no push: its hooks add it to {name}'s context at its next turn or tool call"
        ),
        Reach::ToolOnly => format!("{name} has no push: it will see this at its next tool call"),
        Reach::Offline => format!("{name} is offline: kept for {days} days"),
    }
}

/// What a delivery state means, for a send result without reach (the operator).
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
