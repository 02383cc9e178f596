//! Issue 12: a message for many recipients is pushed to each of their
//! streams once, built by the broker once (not read again by every stream),
//! and the streams' `delivered` answers, stored together, all count. A stream
//! that reconnects still gets everything unread, oldest first.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use claude_peers_client::BrokerClient;
use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_proto::api::{BroadcastRequest, DeliveryState, MessageView, Scope};
use claude_peers_proto::reach::Rung;
use claude_peers_proto::stream::{ClientFrame, ServerFrame};
use common::*;
use tokio::sync::mpsc;

/// Streams in the broadcast test.
const STREAMS: usize = 24;

fn broadcast(text: &str) -> BroadcastRequest {
    BroadcastRequest {
        scope: Scope::Machine,
        text: text.into(),
        context: None,
        origin: None,
        reply_to: None,
        status: false,
    }
}

/// The next message frame on `s` (other frames are skipped), or `None` if
/// none comes within `wait`.
async fn next_message(s: &mut Stream, wait: Duration) -> Option<(MessageView, Option<Rung>)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.next()).await {
            Ok(Incoming::Frame(ServerFrame::Message { message, shown })) => {
                return Some((*message, shown));
            }
            Ok(Incoming::Frame(_)) | Ok(Incoming::Garbled(_)) => {}
            Ok(Incoming::Closed) | Err(_) => return None,
        }
    }
}

/// Hold a stream: report each message, answer `delivered` by the channel rung.
async fn hold(
    env: &Env,
    peer: String,
    token: &str,
    seen: mpsc::UnboundedSender<(String, MessageView, Option<Rung>)>,
) {
    let mut s = Stream::connect(&env.endpoint(), token).await.unwrap();
    // The stream is open once `hello` came.
    loop {
        if let Incoming::Frame(ServerFrame::Hello { .. }) = s.next().await {
            break;
        }
    }
    tokio::spawn(async move {
        while let Some((m, shown)) = next_message(&mut s, Duration::from_secs(3600)).await {
            let id = m.id;
            let _ = seen.send((peer.clone(), m, shown));
            let ack = ClientFrame::Delivered {
                ids: vec![id],
                rung: Some(Rung::Channel),
            };
            if s.send(&ack).await.is_err() {
                return;
            }
        }
    });
}

#[tokio::test]
async fn a_broadcast_reaches_every_stream_once_and_every_answer_is_stored() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--requests-per-second", "0"]).await;
    let (_, sender) = env.register("/fan/sender", |_| {}).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut peers = Vec::new();
    for i in 0..STREAMS {
        let (r, _) = env.register(&format!("/fan/{i}"), |_| {}).await;
        hold(
            &env,
            r.peer.id.clone(),
            r.token.as_deref().unwrap(),
            tx.clone(),
        )
        .await;
        peers.push(r.peer.id);
    }

    let mut sent = Vec::new();
    for k in 0..3 {
        sent.push(
            sender
                .broadcast(&broadcast(&format!("to all {k}")))
                .await
                .unwrap(),
        );
    }
    // Each stream gets each broadcast exactly once, in order, as a fresh
    // delivery of its own that no rung has shown.
    let mut got: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    while got.values().map(Vec::len).sum::<usize>() < STREAMS * sent.len() {
        let (peer, m, shown) = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("every stream gets every broadcast")
            .unwrap();
        assert_eq!(shown, None);
        assert_eq!(m.deliveries.len(), 1, "only the recipient's own delivery");
        assert_eq!(m.deliveries[0].recipient.id, peer);
        assert_eq!(m.deliveries[0].state, DeliveryState::Queued);
        let k = sent
            .iter()
            .position(|r| r.message_id == m.id)
            .expect("a broadcast");
        assert_eq!(m.text, format!("to all {k}"));
        got.entry(peer).or_default().push(m.id);
    }
    let want: Vec<i64> = sent.iter().map(|r| r.message_id).collect();
    for p in &peers {
        assert_eq!(
            got.get(p),
            Some(&want),
            "{p} got each broadcast once, in order"
        );
    }
    // Nothing more comes (no second push of the same message).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );

    // Every answer was stored: each delivery of each broadcast is `delivered`.
    until!("every delivery is confirmed", {
        let mine = sender.sent(Some(10)).await.unwrap();
        want.iter().all(|id| {
            mine.messages.iter().any(|m| {
                m.id == *id
                    && m.deliveries.len() == STREAMS
                    && m.deliveries
                        .iter()
                        .all(|d| d.state == DeliveryState::Delivered)
            })
        })
    });
}

#[tokio::test]
async fn a_stream_that_reconnects_gets_everything_unread_oldest_first() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--requests-per-second", "0"]).await;
    let (_, sender) = env.register("/re/sender", |_| {}).await;
    let (r, _) = env.register("/re/b", |_| {}).await;
    let token = r.token.clone().unwrap();
    let name = r.peer.name.clone();

    let mut s = Stream::connect(&env.endpoint(), &token).await.unwrap();
    let first = send_text(&sender, &name, "pushed, never confirmed").await;
    let (m, _) = next_message(&mut s, WAIT).await.expect("the push");
    assert_eq!(m.id, first);
    drop(s);
    until!(
        "the stream is closed",
        !is_connected(&sender, &r.peer.id).await
    );

    let second = send_text(&sender, &name, "sent while away").await;
    let mut s = Stream::connect(&env.endpoint(), &token).await.unwrap();
    let third = send_text(&sender, &name, "sent after the reconnect").await;
    let mut ids = Vec::new();
    while ids.len() < 3 {
        let (m, _) = next_message(&mut s, WAIT).await.expect("unread messages");
        ids.push(m.id);
    }
    assert_eq!(ids, vec![first, second, third]);
    assert!(
        next_message(&mut s, Duration::from_millis(300))
            .await
            .is_none(),
        "each once"
    );
}

async fn is_connected(c: &BrokerClient, peer: &str) -> bool {
    c.peers(&Default::default())
        .await
        .unwrap()
        .iter()
        .any(|p| p.id == peer && p.connected)
}
