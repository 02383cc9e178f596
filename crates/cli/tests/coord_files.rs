//! File awareness through the MCP tools: paths normalised against each peer's
//! directory; a conflict inside a group pushed to both peers as soon as it
//! arises (once); other groups never conflict; reports expire, and are cleared
//! when a peer leaves; survival across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::{SetActiveFiles, StringList};
use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_conflict_is_pushed_to_both_peers_once() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let mut c = Mcp::start(&env, &env.subdir("c")).await;
    let mut x = Mcp::start(&env, &env.subdir("x")).await;
    group(&env, "team", &mut [&mut a, &mut b, &mut c]).await;
    group(&env, "other", &mut [&mut x]).await;
    let shared = env.dir.path().join("shared/lib.rs");
    let shared = shared.to_string_lossy().to_string();

    let r = a
        .call(
            "set_active_files",
            json!({"files": [shared, "src/a.rs", "./src/a.rs"]}),
        )
        .await;
    assert!(
        !r.is_error && r.text.contains("Active files updated (2 files)"),
        "duplicates after normalisation count once: {}",
        r.text
    );
    // b names the same file relative to its own directory.
    let r = b
        .call("set_active_files", json!({"files": "../shared/lib.rs"}))
        .await;
    assert!(
        r.text.contains("CONFLICTS detected")
            && r.text
                .contains(&format!("{shared} (also edited by {})", a.name)),
        "{}",
        r.text
    );
    let (a_name, b_name) = (a.name.clone(), b.name.clone());
    for m in [&mut a, &mut b] {
        let n = expect_channel(m, "file_conflict").await;
        assert_eq!(meta(&n, "meta_files"), shared);
        assert_eq!(meta(&n, "from_kind"), "system");
        assert!(
            content(&n).contains(&a_name) && content(&n).contains(&b_name),
            "{}",
            content(&n)
        );
    }
    // c edits something else; x (another group) edits the same path: no conflict.
    let r = c
        .call("set_active_files", json!({"files": ["src/c.rs"]}))
        .await;
    assert!(!r.text.contains("CONFLICT"), "{}", r.text);
    let r = x.call("set_active_files", json!({"files": [shared]})).await;
    assert!(!r.text.contains("CONFLICT"), "another group: {}", r.text);
    expect_none(&mut c, "file_conflict", QUIET).await;
    expect_none(&mut x, "file_conflict", QUIET).await;

    // Reporting the same list again: still a conflict, but nobody is told again.
    let r = b
        .call("set_active_files", json!({"files": ["../shared/lib.rs"]}))
        .await;
    assert!(r.text.contains("CONFLICTS detected"), "{}", r.text);
    expect_none(&mut a, "file_conflict", QUIET).await;
    expect_none(&mut b, "file_conflict", QUIET).await;

    // The operator sees every list, with conflicts inside groups only.
    let all = env.admin().active_files().await.unwrap();
    let of = |name: &str, group: &str| {
        all.iter()
            .find(|v| v.peer.name == name && v.group.as_ref().unwrap().name == group)
            .unwrap()
            .clone()
    };
    let av = of(&a.name, "team");
    let f = av.files.iter().find(|f| f.path == shared).unwrap();
    assert_eq!(f.conflicts_with.len(), 1);
    assert_eq!(f.conflicts_with[0].name, b.name);
    let xv = of(&x.name, "other");
    assert!(xv.files[0].conflicts_with.is_empty());
    assert_eq!(env.admin().state().await.unwrap().active_files.len(), 4);

    // An empty list clears.
    let r = b.call("set_active_files", json!({"files": []})).await;
    assert!(r.text.contains("(0 files)"), "{}", r.text);
    let all = env.admin().active_files().await.unwrap();
    assert!(
        all.iter()
            .all(|v| v.peer.name != b.name || v.group.as_ref().unwrap().name != "team")
    );
}

#[tokio::test]
async fn over_http_like_the_seed_and_validation() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (_, p1) = env.register("/test/project", |_| {}).await;
    let (_, p2) = env.register("/test/project", |_| {}).await;
    let set = |files: serde_json::Value| SetActiveFiles {
        files: serde_json::from_value(files).unwrap(),
    };

    p1.set_active_files(&set(json!(["broker.ts", "server.ts"])))
        .await
        .unwrap();
    let r = p2
        .set_active_files(&set(json!(["broker.ts", "dashboard.js"])))
        .await
        .unwrap();
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].path, "/test/project/broker.ts");
    let r = p2
        .set_active_files(&set(json!(["file-b.ts"])))
        .await
        .unwrap();
    assert!(r.conflicts.is_empty());
    assert_eq!(r.files, ["/test/project/file-b.ts"]);

    // A peer sees the lists of its own namespace.
    let (_, grouped) = env.register("/elsewhere", |_| {}).await;
    let gid = grouped.me().await.unwrap().peer.id;
    env.admin().create_group("g").await.unwrap();
    env.admin().assign_group(&gid, Some("g")).await.unwrap();
    grouped
        .set_active_files(&set(json!(["/test/project/server.ts"])))
        .await
        .unwrap();
    let seen = p1.active_files().await.unwrap();
    assert_eq!(seen.len(), 2, "p1 and p2, not the grouped peer: {seen:?}");
    assert!(
        seen.iter()
            .flat_map(|v| &v.files)
            .all(|f| f.conflicts_with.is_empty()),
        "server.ts in another group is no conflict"
    );

    for (files, want) in [
        (json!(5), "'files' must be a list of strings"),
        (json!(["a", 1]), "must be a list of strings"),
        (
            json!((0..101).map(|i| format!("f{i}")).collect::<Vec<_>>()),
            "the limit is 100",
        ),
        (json!(["x".repeat(5000)]), "limit is 4096"),
    ] {
        let err = p1
            .json("PUT", "/v1/files", &json!({ "files": files }))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}");
    }
    // Only a peer reports files.
    let err = env
        .admin()
        .set_active_files(&set(json!([])))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("acts for a peer"), "{err}");
}

#[tokio::test]
async fn reports_expire_and_are_cleared_when_a_peer_leaves() {
    let env = Env::new().with("CLAUDE_PEERS_ACTIVE_FILES_TTL_MS", "1500");
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let r = a
        .call("set_active_files", json!({"files": ["main.rs"]}))
        .await;
    assert!(r.text.contains("within 1 s"), "{}", r.text);
    b.call("set_active_files", json!({"files": ["other.rs"]}))
        .await;
    let admin = env.admin();
    assert_eq!(admin.active_files().await.unwrap().len(), 2);

    // b leaves: its report goes at once.
    let b_name = b.name.clone();
    b.close_stdin_and_wait().await;
    let left = admin.active_files().await.unwrap();
    assert!(left.iter().all(|v| v.peer.name != b_name), "{left:?}");
    assert_eq!(left.len(), 1);

    // a stops reporting: its report expires.
    until!(
        "a's report to expire",
        admin.active_files().await.unwrap().is_empty()
    );
    let r = a
        .call("set_active_files", json!({"files": ["main.rs"]}))
        .await;
    assert!(!r.is_error);
    assert_eq!(admin.active_files().await.unwrap().len(), 1);
}

#[tokio::test]
async fn reports_survive_a_broker_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    a.call("set_active_files", json!({"files": ["/w/x.rs"]}))
        .await;
    b.call("set_active_files", json!({"files": ["/w/x.rs"]}))
        .await;
    expect_channel(&mut a, "file_conflict").await;
    expect_channel(&mut b, "file_conflict").await;
    let _broker = restart(&env, broker, &[]).await;
    let all = env.admin().active_files().await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    // The conflict is not news after the restart.
    let r = b
        .call("set_active_files", json!({"files": ["/w/x.rs"]}))
        .await;
    assert!(r.text.contains("CONFLICTS detected"), "{}", r.text);
    expect_none(&mut a, "file_conflict", QUIET).await;
}

#[tokio::test]
async fn a_stale_peer_loses_its_report() {
    let env = Env::new().with("CLAUDE_PEERS_RECONNECT_GRACE_MS", "300");
    let _broker = Broker::start(&env, &[]).await;
    // Registered over HTTP, never connected: stale once the grace is over.
    let (_, p) = env.register("/w", |_| {}).await;
    let r = p
        .set_active_files(&SetActiveFiles {
            files: StringList(vec!["a.rs".into()]),
        })
        .await
        .unwrap();
    assert_eq!(r.files, ["/w/a.rs"]);
    let admin = env.admin();
    until!(
        "the stale peer's report to be cleared",
        admin.active_files().await.unwrap().is_empty()
    );
    let audit = admin.audit(&Default::default()).await.unwrap();
    assert!(
        audit.iter().any(|e| e["action"] == "peer.stale"),
        "{audit:?}"
    );
}
