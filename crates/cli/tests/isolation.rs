//! Isolation: the lobby, groups and automatic groups, and the one rule that
//! every path obeys.

#[macro_use]
mod common;

use claude_peers_proto::ErrorCode;
use claude_peers_proto::api::{BroadcastRequest, ListPeersQuery, Scope};
use common::*;
use serde_json::json;

#[tokio::test]
async fn groups_cannot_see_or_message_each_other_or_the_lobby() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let admin = env.admin();
    let (l1, lc1) = env.register("/l1", |_| {}).await;
    let (l2, lc2) = env.register("/l2", |_| {}).await;
    let (g1, gc1) = env.register("/g1", |_| {}).await;
    let (g2, _gc2) = env.register("/g2", |_| {}).await;
    let (h1, hc1) = env.register("/h1", |_| {}).await;
    admin.create_group("red").await.unwrap();
    admin.create_group("blue").await.unwrap();
    admin.assign_group(&g1.peer.id, Some("red")).await.unwrap();
    admin.assign_group(&g2.peer.id, Some("red")).await.unwrap();
    admin.assign_group(&h1.peer.id, Some("blue")).await.unwrap();

    let ids =
        |v: Vec<claude_peers_proto::api::PeerView>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(lc1.peers(&ListPeersQuery::default()).await.unwrap()),
        vec![l2.peer.id.clone()],
        "lobby sees only the lobby"
    );
    assert_eq!(
        ids(gc1.peers(&ListPeersQuery::default()).await.unwrap()),
        vec![g2.peer.id.clone()],
        "red sees only red"
    );
    assert!(
        hc1.peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .is_empty(),
        "blue alone"
    );

    // Same group or lobby-to-lobby: allowed. Across: refused with a clear error, by id or name.
    lc1.send(&send_req(&l2.peer.id, "hi")).await.unwrap();
    gc1.send(&send_req(&g2.peer.id, "hi")).await.unwrap();
    for (from, to) in [
        (&lc1, &g1.peer.id),
        (&gc1, &l1.peer.id),
        (&gc1, &h1.peer.id),
        (&hc1, &g2.peer.id),
    ] {
        let err = from.send(&send_req(to, "leak?")).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::DifferentGroup), "{err}");
        assert!(
            err.to_string().contains("different isolation group"),
            "{err}"
        );
    }
    // History across groups is refused too; groups listing shows only one's own.
    assert!(gc1.history(&h1.peer.id, None).await.is_err());
    let seen = gc1.groups().await.unwrap();
    assert_eq!(seen.groups.len(), 1);
    assert_eq!(seen.groups[0].name, "red");
    assert!(
        seen.lobby.is_empty(),
        "a group member does not see the lobby"
    );
    // Broadcasts stay in the group.
    let r = gc1
        .broadcast(&BroadcastRequest {
            scope: Scope::Machine,
            text: "all".into(),
            context: None,
            origin: None,
            reply_to: None,
            status: false,
        })
        .await
        .unwrap();
    assert_eq!(
        r.recipients
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>(),
        vec![g2.peer.id.clone()]
    );
    let inbox = lc2.inbox().await.unwrap();
    assert!(inbox.messages.iter().all(|m| m.text != "all"));
    // The operator sees everyone.
    assert_eq!(
        admin.peers(&ListPeersQuery::default()).await.unwrap().len(),
        5
    );
}

#[tokio::test]
async fn deleting_a_group_returns_its_members_to_the_lobby() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let admin = env.admin();
    let (p, pc) = env.register("/p", |_| {}).await;
    let (_q, qc) = env.register("/q", |_| {}).await;
    admin.create_group("tmp").await.unwrap();
    admin.assign_group(&p.peer.id, Some("tmp")).await.unwrap();
    assert!(
        pc.peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let err = admin.create_group("TMP").await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    admin.delete_group("tmp").await.unwrap();
    assert_eq!(
        qc.peers(&ListPeersQuery::default()).await.unwrap().len(),
        1,
        "back in the lobby"
    );
    assert!(admin.groups().await.unwrap().groups.is_empty());
}

#[tokio::test]
async fn automatic_groups_are_keyed_by_repository_and_branch() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let reg = |repo: &'static str, branch: &'static str| {
        move |r: &mut claude_peers_proto::api::RegisterRequest| {
            r.git_root = Some(repo.into());
            r.git_common_dir = Some(format!("{repo}/.git"));
            r.git_branch = Some(branch.into());
        }
    };
    let (a1, ac1) = env.register("/src/app", reg("/src/app", "main")).await;
    let (a2, _) = env.register("/src/app/sub", reg("/src/app", "main")).await;
    let (b1, _) = env.register("/src/lib", reg("/src/lib", "main")).await;
    let (c1, _) = env.register("/src/app", reg("/src/app", "feature")).await;
    let (d, _) = env
        .register("/tmp/x", |r| {
            r.git_root = Some("/tmp/x".into());
            r.git_common_dir = Some("/tmp/x/.git".into());
            r.git_branch = Some("HEAD".into());
        })
        .await;
    let g = |p: &claude_peers_proto::api::RegisterResponse| {
        p.peer.group.as_ref().map(|g| g.name.clone())
    };
    assert_eq!(g(&a1).as_deref(), Some("app/main"));
    assert_eq!(g(&a1), g(&a2));
    assert_eq!(
        g(&b1).as_deref(),
        Some("lib/main"),
        "another repository on main is another group"
    );
    assert_eq!(g(&c1).as_deref(), Some("app/feature"));
    assert_eq!(g(&d), None, "detached HEAD stays in the lobby");
    assert_eq!(a1.peer.name, "claude-1");
    assert_eq!(b1.peer.name, "claude-1", "numbering per group");
    let visible = ac1.peers(&ListPeersQuery::default()).await.unwrap();
    assert_eq!(
        visible.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![a2.peer.id.clone()]
    );
}

#[tokio::test]
async fn a_repository_without_commits_has_its_branch_group() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let dir = env.dir.path().join("fresh");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "trunk"]);
    let mut a = Mcp::start(&env, &dir).await;
    let who = a.call("whoami", json!({})).await.text;
    assert!(who.contains("group: fresh/trunk"), "{who}");
}

#[tokio::test]
async fn worktrees_of_one_repository_share_a_group_in_repo_mode() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--auto-group", "repo"]).await;
    let main = env.dir.path().join("app");
    repo(&main, "main");
    let wt = env.dir.path().join("app-feature");
    git(
        &main,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            wt.to_str().unwrap(),
        ],
    );
    let mut a = Mcp::start(&env, &main).await;
    let mut b = Mcp::start(&env, &wt).await;
    let who = a.call("whoami", json!({})).await.text;
    assert!(who.contains("group: app"), "{who}");
    let r = a.call("list_peers", json!({"scope": "repo"})).await;
    assert!(
        r.text.starts_with("1 peer(s)") && r.text.contains(&b.name),
        "{}",
        r.text
    );
    let r = b
        .call(
            "send_message",
            json!({"to_id": a.name, "message": "same repo"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
}

#[tokio::test]
async fn branch_mode_separates_worktrees_on_different_branches() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let main = env.dir.path().join("app");
    repo(&main, "main");
    let wt = env.dir.path().join("app-feature");
    git(
        &main,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            wt.to_str().unwrap(),
        ],
    );
    let sub = main.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let mut a = Mcp::start(&env, &main).await;
    let mut a2 = Mcp::start(&env, &sub).await;
    let mut b = Mcp::start(&env, &wt).await;
    assert!(
        a.call("whoami", json!({}))
            .await
            .text
            .contains("group: app/main")
    );
    assert!(
        b.call("whoami", json!({}))
            .await
            .text
            .contains("group: app/feature")
    );
    let r = a.call("list_peers", json!({})).await;
    assert!(
        r.text.contains(&a2.name) && r.text.starts_with("1 peer(s)"),
        "{}",
        r.text
    );
    let r = a.call("list_peers", json!({"scope": "directory"})).await;
    assert!(r.text.contains("No other peers"), "{}", r.text);
    let r = a2
        .call("send_message", json!({"to_id": b.id, "message": "x"}))
        .await;
    refused(&r, "different isolation group");
    // By name, claude-1 means the one in a2's own group.
    assert_eq!(a.name, b.name);
    let r = a2
        .call("send_message", json!({"to_id": b.name, "message": "x"}))
        .await;
    assert!(r.text.contains(&a.id), "{}", r.text);
}

#[tokio::test]
async fn an_operator_move_sticks_across_reconnects() {
    let env = Env::new();
    let mut broker = Broker::start(&env, &[]).await;
    let main = env.dir.path().join("app");
    repo(&main, "main");
    let mut a = Mcp::start(&env, &main).await;
    let id = env.admin().peers(&ListPeersQuery::default()).await.unwrap()[0]
        .id
        .clone();
    env.admin().assign_group(&id, Some("lobby")).await.unwrap();
    broker.sigkill();
    broker.wait_exit().await;
    let _b2 = Broker::start(&env, &[]).await;
    until!(
        "reconnected",
        a.call("whoami", json!({})).await.text.contains("connected")
    );
    assert!(
        a.call("whoami", json!({}))
            .await
            .text
            .contains("group: lobby"),
        "not pushed back into its branch group"
    );
}
