//! Presence: `set_status` (online, away, busy, idle) seen by the group and the
//! dashboard, audited; the typing indicator (a tool call makes the peer
//! "active" for 5 s) pushed to the operator's stream and kept in the state.

#[macro_use]
mod common;

use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_proto::api::PresenceStatus;
use claude_peers_proto::coord::AuditQuery;
use claude_peers_proto::stream::{Event, ServerFrame};
use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn status_is_seen_by_the_group_and_audited() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    for status in ["away", "busy", "idle", "online", "busy"] {
        let r = a.call("set_status", json!({"status": status})).await;
        assert!(
            !r.is_error && r.text.contains(&format!("Status set to {status}")),
            "{}",
            r.text
        );
        let seen = b.call("list_peers", json!({})).await.text;
        assert!(
            seen.contains(&format!("status: {status}")),
            "{status}: {seen}"
        );
    }
    let r = a.call("set_status", json!({"status": "sleeping"})).await;
    assert!(r.is_error, "{}", r.text);

    let a_id = id_of(&mut a).await;
    let audit = env
        .admin()
        .audit(&AuditQuery {
            action: Some("peer.status".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 5, "{audit:?}");
    assert_eq!(audit[0]["details"], "online → busy");
    assert_eq!(audit[0]["actor"]["id"], a_id.as_str());

    // The status survives a restart.
    let _broker = restart(&env, broker, &[]).await;
    let state = env.admin().state().await.unwrap();
    let me = state.peers.iter().find(|p| p.id == a_id).unwrap();
    assert_eq!(me.status, PresenceStatus::Busy);
}

#[tokio::test]
async fn a_tool_call_shows_the_peer_as_typing() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut stream = Stream::connect(&env.endpoint(), &env.admin_token())
        .await
        .unwrap();
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let a_id = id_of(&mut a).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("no typing event");
        if let Incoming::Frame(ServerFrame::Event { event }) = frame
            && let Event::Typing { peer_id } = *event
            && peer_id == a_id
        {
            break;
        }
    }
    let state = env.admin().state().await.unwrap();
    assert!(state.typing.contains(&a_id), "{:?}", state.typing);
}
