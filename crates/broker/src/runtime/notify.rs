//! The webhook notifier (`--notify-url`): one small JSON POST for each burst of
//! new "needs you" items, in a shape ntfy (with its `tpl=1&m={{.text}}`
//! templating), Slack (`text`) and Discord (`content`) accept.
//!
//! It listens to the operator event stream, so nothing else in the broker
//! knows it exists and nothing ever waits for it: events go through a bounded
//! queue (full = dropped, with a warning), the POSTs run on their own task with
//! a timeout and retries with back-off. Items arriving within the coalescing
//! window share one notification ("3 things need you").

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use claude_peers_proto::api::PartyKind;
use claude_peers_proto::limits::{
    NOTIFY_ATTEMPTS, NOTIFY_MAX_ITEMS, NOTIFY_QUEUE, NOTIFY_RETRY_BASE_MS,
};
use claude_peers_proto::needs_you::NeedsYouItem;
use claude_peers_proto::stream::{Event, ServerFrame};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

pub use crate::config::NotifyConfig;

/// Longest `text` of one notification, in bytes.
const NOTIFY_MAX_TEXT_BYTES: usize = claude_peers_proto::limits::NOTIFY_MAX_TEXT_BYTES;
/// Keys of items already announced, remembered to announce each once.
const SEEN_CAP: usize = 10_000;

/// One new item, as the webhook names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// permission, message, proposal, approval, verification, unreachable_mail.
    pub kind: String,
    pub title: String,
}

/// The JSON body of one POST.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    /// The whole notification as one text (Slack, ntfy templating).
    pub text: String,
    /// The same, for Discord.
    pub content: String,
    /// A short title (ntfy `t={{.title}}`).
    pub title: String,
    /// Items in this notification.
    pub count: usize,
    /// The first [`NOTIFY_MAX_ITEMS`] of them.
    pub items: Vec<Item>,
}

/// The new "needs you" item an event announces, if any, with a key that
/// identifies it (an update of the same record is not announced again).
pub fn item_of(event: &Event) -> Option<(String, Item)> {
    let item = |kind: &str, title: String| Item {
        kind: kind.into(),
        title,
    };
    match event {
        Event::Permission { permission: p } => Some((
            format!("permission:{}", p.id),
            item(
                "permission",
                format!("{} asks to use {}", p.peer.name, p.tool_name),
            ),
        )),
        Event::NeedsYou { item: Some(i) } => Some((
            format!(
                "{}:{}:{}",
                i.kind.as_str(),
                i.id,
                i.to.as_ref().map(|t| t.id.as_str()).unwrap_or("")
            ),
            item(i.kind.as_str(), i.title.clone()),
        )),
        Event::Message { message: m }
            if m.to.as_ref().is_some_and(|t| t.kind == PartyKind::Operator)
                && m.from.kind != PartyKind::Operator =>
        {
            Some((
                format!("message:{}", m.id),
                item(
                    "message",
                    format!("{} wrote: {}", m.from.name, short(&m.text)),
                ),
            ))
        }
        Event::Proposal { proposal: p }
            if p.status == claude_peers_proto::coord::ProposalStatus::Open =>
        {
            Some((
                format!("proposal:{}", p.id),
                item(
                    "proposal",
                    format!("{} proposes: {}", p.author.name, short(&p.title)),
                ),
            ))
        }
        Event::Approval { approval: a } => {
            NeedsYouItem::approval(a).map(|i| (format!("approval:{}", i.id), lane(i)))
        }
        Event::Verification { verification: v } => {
            NeedsYouItem::verification(v).map(|i| (format!("verification:{}", i.id), lane(i)))
        }
        _ => None,
    }
}

/// A lane item, as the webhook names it.
fn lane(i: NeedsYouItem) -> Item {
    Item {
        kind: i.kind.as_str().into(),
        title: i.title,
    }
}

fn short(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// The body for a burst of items.
pub fn payload(items: &[Item]) -> Payload {
    let title = match items.len() {
        1 => "claude-peers: something needs you".to_string(),
        n => format!("claude-peers: {n} things need you"),
    };
    let text = match items {
        [one] => one.title.clone(),
        _ => {
            let mut t = format!("{} things need you:", items.len());
            for i in items.iter().take(NOTIFY_MAX_ITEMS) {
                t.push_str("\n- ");
                t.push_str(&i.title);
            }
            if items.len() > NOTIFY_MAX_ITEMS {
                t.push_str(&format!("\n… and {} more", items.len() - NOTIFY_MAX_ITEMS));
            }
            t
        }
    };
    let text = claude_peers_proto::text::truncate_bytes(&text, NOTIFY_MAX_TEXT_BYTES).to_string();
    Payload {
        content: text.clone(),
        text,
        title,
        count: items.len(),
        items: items.iter().take(NOTIFY_MAX_ITEMS).cloned().collect(),
    }
}

/// Start the notifier on the operator event stream `events`.
pub fn spawn(config: NotifyConfig, events: broadcast::Receiver<Arc<str>>) {
    let (tx, rx) = mpsc::channel(NOTIFY_QUEUE);
    tokio::spawn(listen(events, tx));
    tokio::spawn(deliver(config, rx));
}

/// Turn events into new items, each once; never wait (a full queue drops).
async fn listen(mut events: broadcast::Receiver<Arc<str>>, tx: mpsc::Sender<Item>) {
    let mut seen = HashSet::new();
    let mut order = VecDeque::new();
    loop {
        let json = match events.recv().await {
            Ok(j) => j,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "the notifier fell behind the event stream");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Ok(ServerFrame::Event { event }) = serde_json::from_str::<ServerFrame>(&json) else {
            continue;
        };
        let Some((key, item)) = item_of(&event) else {
            continue;
        };
        if !seen.insert(key.clone()) {
            continue;
        }
        order.push_back(key);
        if order.len() > SEEN_CAP
            && let Some(old) = order.pop_front()
        {
            seen.remove(&old);
        }
        if tx.try_send(item).is_err() {
            tracing::warn!("the webhook queue is full; a notification was dropped");
        }
    }
}

/// Gather a burst, POST it (with retries), repeat.
async fn deliver(config: NotifyConfig, mut rx: mpsc::Receiver<Item>) {
    let builder = match claude_peers_client::tls::reqwest_builder(
        config.url.starts_with("https://"),
    ) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up TLS for the webhook; notifications are off");
            return;
        }
    };
    let client = match builder
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; notifications are off");
            return;
        }
    };
    while let Some(first) = rx.recv().await {
        let mut items = vec![first];
        let window = tokio::time::sleep(config.coalesce);
        tokio::pin!(window);
        loop {
            tokio::select! {
                _ = &mut window => break,
                next = rx.recv() => match next {
                    Some(i) => items.push(i),
                    None => break,
                },
            }
        }
        post(&client, &config.url, &payload(&items)).await;
    }
}

/// POST with up to [`NOTIFY_ATTEMPTS`] attempts; a 4xx other than 408/429 is not retried.
async fn post(client: &reqwest::Client, url: &str, body: &Payload) {
    let mut wait = Duration::from_millis(NOTIFY_RETRY_BASE_MS);
    for attempt in 1..=NOTIFY_ATTEMPTS {
        let why = match client.post(url).json(body).send().await {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(attempt, count = body.count, "webhook notified");
                return;
            }
            Ok(r) => {
                let s = r.status();
                if s.is_client_error() && s.as_u16() != 408 && s.as_u16() != 429 {
                    tracing::warn!(status = %s, "the webhook refused the notification; not retrying");
                    return;
                }
                format!("HTTP {s}")
            }
            Err(e) => claude_peers_client::tls::explain(&e).unwrap_or_else(|| e.to_string()),
        };
        tracing::warn!(attempt, error = %why, "webhook notification failed");
        if attempt < NOTIFY_ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    tracing::warn!("giving up on a webhook notification after {NOTIFY_ATTEMPTS} attempts");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it(t: &str) -> Item {
        Item {
            kind: "permission".into(),
            title: t.into(),
        }
    }

    #[test]
    fn one_item_is_its_own_text_and_a_burst_is_counted() {
        let p = payload(&[it("claude-1 asks to use Bash")]);
        assert_eq!(p.text, "claude-1 asks to use Bash");
        assert_eq!(p.content, p.text);
        let many: Vec<Item> = (0..12).map(|i| it(&format!("x{i}"))).collect();
        let p = payload(&many);
        assert_eq!(p.count, 12);
        assert_eq!(p.items.len(), NOTIFY_MAX_ITEMS);
        assert!(p.text.starts_with("12 things need you"));
        assert!(p.text.ends_with("… and 2 more"));
        assert_eq!(p.title, "claude-peers: 12 things need you");
    }
}
