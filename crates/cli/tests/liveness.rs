//! Liveness: a peer is live while its MCP server holds its stream; after a grace
//! period it turns stale, later it is removed, and its inbox waits for it.

#[macro_use]
mod common;

use claude_peers_proto::api::{DeliveryState, ListPeersQuery, PeerState, SendRequest};
use common::*;
use serde_json::json;

const FAST: &[&str] = &["--reconnect-grace-ms", "300", "--remove-after-ms", "1500"];

async fn state_of(env: &Env, id: &str) -> Option<(PeerState, bool)> {
    peer_view(env, id).await.map(|p| (p.state, p.connected))
}

#[tokio::test]
async fn a_peer_that_never_connects_turns_stale_then_is_removed_but_its_inbox_waits() {
    let env = Env::new();
    let _b = Broker::start(&env, FAST).await;
    // Registered over HTTP by a live process (this test) but never opens a stream.
    let (p, pc) = env.register("/quiet", |_| {}).await;
    let (_, sender) = env.register("/loud", |_| {}).await;
    assert_eq!(
        state_of(&env, &p.peer.id).await,
        Some((PeerState::Live, false)),
        "live during the grace period"
    );
    until!(
        "stale",
        state_of(&env, &p.peer.id).await == Some((PeerState::Stale, false))
    );
    let r = sender
        .send(&SendRequest {
            to: p.peer.name.clone(),
            text: "wait for me".into(),
            context: None,
            wait_ms: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.state, DeliveryState::Queued);
    assert!(
        !r.recipient_connected,
        "the result says the recipient is not connected"
    );
    until!("removed", state_of(&env, &p.peer.id).await.is_none());
    // Removed peers are not listed, but the id still resolves and the inbox is kept.
    let r2 = sender
        .send(&SendRequest {
            to: p.peer.id.clone(),
            text: "still here?".into(),
            context: None,
            wait_ms: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r2.state, DeliveryState::Queued);
    let inbox = pc.inbox().await.unwrap();
    let texts: Vec<&str> = inbox.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["wait for me", "still here?"]);
}

#[tokio::test]
async fn a_killed_session_goes_stale_at_once_and_gets_its_messages_when_it_returns() {
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &["--reconnect-grace-ms", "60000", "--remove-after-ms", "1000"],
    )
    .await;
    let cwd = env.subdir("b");
    let mut b = Mcp::start(&env, &cwd).await;
    let id = b.id.clone();
    // Registered by the handshake; its stream opens just after.
    until!(
        "live and connected",
        state_of(&env, &id).await == Some((PeerState::Live, true))
    );
    unsafe { libc::kill(b.pid() as i32, libc::SIGKILL) };
    let _ = b.child.wait().await;
    // Its process is gone: stale without waiting for the 60 s grace.
    until!(
        "stale by pid check",
        state_of(&env, &id).await == Some((PeerState::Stale, false))
    );
    let (_, a) = env.register("/a", |_| {}).await;
    let sent = a
        .send(&SendRequest {
            to: id.clone(),
            text: "for later".into(),
            context: None,
            wait_ms: None,
            ..Default::default()
        })
        .await
        .unwrap();
    until!("removed", state_of(&env, &id).await.is_none());
    // The session comes back (same Claude Code process): same id, the message is pushed.
    let mut b2 = Mcp::start(&env, &cwd).await;
    assert_eq!(b2.id, id);
    let n = b2.channel(WAIT).await.expect("the kept message");
    assert_eq!(meta_id(&n), sent.message_id);
    assert_eq!(state_of(&env, &id).await, Some((PeerState::Live, true)));
}

#[tokio::test]
async fn a_live_stream_keeps_a_peer_listed_and_delivery_is_confirmed() {
    let env = Env::new();
    let _b = Broker::start(&env, FAST).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    until!(
        "b's stream is open",
        state_of(&env, &b.id).await == Some((PeerState::Live, true))
    );
    // A peer registered beside it that never connects turns stale after the
    // grace: once it has, the grace has passed for `b` too.
    let (idle, _) = env.register("/idle", |_| {}).await;
    until!(
        "the unconnected peer turns stale",
        state_of(&env, &idle.peer.id)
            .await
            .is_none_or(|(s, _)| s != PeerState::Live)
    );
    assert_eq!(
        state_of(&env, &b.id).await,
        Some((PeerState::Live, true)),
        "connected peers never go stale"
    );
    let (_, a) = env.register("/a", |_| {}).await;
    let r = a
        .send(&SendRequest {
            to: b.name.clone(),
            text: "ping".into(),
            context: None,
            wait_ms: Some(3000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        r.state,
        DeliveryState::Delivered,
        "waited for the MCP server's confirmation"
    );
    assert!(r.recipient_connected);
    b.channel(WAIT).await.unwrap();
    let _ = json!({});
}

#[tokio::test]
async fn the_mcp_server_leaves_when_its_parent_dies() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut watcher = Mcp::start(&env, &env.subdir("w")).await;
    // The MCP server runs under a shell (its "Claude Code"); the shell is killed
    // while the MCP server's stdin stays open.
    let cwd = env.subdir("child");
    let script = format!("exec 3<&0; {} mcp <&3 & wait", BIN);
    let mut sh = tokio::process::Command::new("sh");
    sh.arg("-c")
        .arg(&script)
        .current_dir(&cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in [
        ("CLAUDE_PEERS_PORT", env.port().to_string()),
        ("CLAUDE_PEERS_DB", env.db.display().to_string()),
        ("HOME", env.dir.path().display().to_string()),
    ] {
        sh.env(k, v);
    }
    let mut parent = sh.spawn().unwrap();
    until!(
        "the child registered",
        env.admin()
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .iter()
            .any(|p| p.cwd.ends_with("child"))
    );
    let child_name = env
        .admin()
        .peers(&ListPeersQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.cwd.ends_with("child"))
        .unwrap()
        .name;
    parent.kill().await.unwrap();
    let n = watcher
        .channel(WAIT)
        .await
        .expect("departure notice after the parent died");
    let text = n["params"]["content"].as_str().unwrap();
    assert!(
        text.contains(&child_name) && text.contains("gone offline"),
        "{text}"
    );
    until!(
        "the child left the list",
        !env.admin()
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .iter()
            .any(|p| p.cwd.ends_with("child"))
    );
}
