//! Names: `claude-N` slots per namespace with reuse, custom names, collisions.

#[macro_use]
mod common;

use claude_peers_proto::ErrorCode;
use claude_peers_proto::api::UpdateMe;
use common::*;

#[tokio::test]
async fn default_names_take_the_lowest_free_slot_and_reuse_freed_ones() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (p1, _) = env.register("/a", |_| {}).await;
    let (p2, c2) = env.register("/b", |_| {}).await;
    let (p3, _) = env.register("/c", |_| {}).await;
    assert_eq!(
        [
            p1.peer.name.as_str(),
            p2.peer.name.as_str(),
            p3.peer.name.as_str()
        ],
        ["claude-1", "claude-2", "claude-3"]
    );
    c2.leave(false).await.unwrap();
    let (p4, _) = env.register("/d", |_| {}).await;
    assert_eq!(p4.peer.name, "claude-2", "a freed slot is reused");
    let (p5, _) = env.register("/e", |_| {}).await;
    assert_eq!(p5.peer.name, "claude-4");
}

#[tokio::test]
async fn each_group_has_its_own_numbering() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let admin = env.admin();
    let (p1, _) = env.register("/a", |_| {}).await;
    let (p2, _) = env.register("/b", |_| {}).await;
    admin.create_group("team").await.unwrap();
    admin.assign_group(&p2.peer.id, Some("team")).await.unwrap();
    let peers = admin.peers(&Default::default()).await.unwrap();
    let moved = peers.iter().find(|p| p.id == p2.peer.id).unwrap();
    assert_eq!(moved.name, "claude-1", "renumbered into the new group");
    assert_eq!(moved.group.as_ref().unwrap().name, "team");
    assert_eq!(
        peers.iter().find(|p| p.id == p1.peer.id).unwrap().name,
        "claude-1",
        "claude-1 exists in both namespaces"
    );
    let (p3, _) = env.register("/c", |_| {}).await;
    assert_eq!(p3.peer.name, "claude-2", "lobby slot 2 is free again");
}

#[tokio::test]
async fn custom_names_are_validated_and_unique_case_insensitively_per_group() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let admin = env.admin();
    let (_, a) = env.register("/a", |_| {}).await;
    let (b, bc) = env.register("/b", |_| {}).await;
    let set = |name: &str| UpdateMe {
        name: Some(name.into()),
        ..Default::default()
    };

    assert_eq!(a.update_me(&set("Alice")).await.unwrap().name, "Alice");
    let err = bc.update_me(&set("alice")).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Conflict), "{err}");
    assert!(err.to_string().contains("already taken"), "{err}");

    for (bad, why) in [
        ("has spaces!", "only contain"),
        ("", "cannot be empty"),
        (&"x".repeat(33), "at most 32"),
        ("dashboard", "reserved"),
    ] {
        let err = bc.update_me(&set(bad)).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(ErrorCode::InvalidRequest),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains(why), "{bad:?}: {err}");
    }
    // A peer id cannot be taken as a name (it would shadow the id).
    let err = bc
        .update_me(&set(&a.me().await.unwrap().peer.id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Conflict));

    // In another group the same name is free; a custom name moves with its peer.
    admin.create_group("other").await.unwrap();
    admin.assign_group(&b.peer.id, Some("other")).await.unwrap();
    assert_eq!(bc.update_me(&set("alice")).await.unwrap().name, "alice");
    admin
        .assign_group(&b.peer.id, Some("lobby"))
        .await
        .unwrap_err();
    let peers = admin.peers(&Default::default()).await.unwrap();
    assert_eq!(
        peers.iter().find(|p| p.id == b.peer.id).unwrap().name,
        "alice",
        "kept after a refused move"
    );
}

#[tokio::test]
async fn a_requested_name_is_taken_when_free() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (p, _) = env
        .register("/a", |r| r.name = Some("api-worker".into()))
        .await;
    assert_eq!(p.peer.name, "api-worker");
    assert!(p.peer.custom_name);
    let (q, _) = env
        .register("/b", |r| r.name = Some("API-worker".into()))
        .await;
    assert_eq!(
        q.peer.name, "claude-1",
        "taken: falls back to a default name"
    );
}

#[tokio::test]
async fn names_and_ids_survive_a_reconnect_and_a_broker_restart() {
    let env = Env::new();
    let mut broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("a");
    let mut a = Mcp::start(&env, &cwd).await;
    a.call("set_name", serde_json::json!({"name": "keeper"}))
        .await;
    let before = a.call("whoami", serde_json::json!({})).await.text;
    broker.sigkill();
    broker.wait_exit().await;
    let _broker2 = Broker::start(&env, &[]).await;
    until!(
        "reconnected",
        a.call("whoami", serde_json::json!({}))
            .await
            .text
            .contains("connected")
    );
    let after = a.call("whoami", serde_json::json!({})).await.text;
    assert_eq!(
        before.lines().next(),
        after.lines().next(),
        "same name and id"
    );
    assert!(after.contains("You are keeper"));
}
