//! The decisions board through the MCP tools: post, upsert by key within a
//! group, query, revoke (author or operator only); the group is told, other
//! groups are not and keep their own boards; survival across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::{DecisionFilter, DecisionQuery, DecisionStatus, PostDecision};
use common::coord::*;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn post_query_and_upsert_within_the_group() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let mut x = Mcp::start(&env, &env.subdir("x")).await;
    let mut lobby = Mcp::start(&env, &env.subdir("l")).await;
    group(&env, "team", &mut [&mut a, &mut b]).await;
    group(&env, "other", &mut [&mut x]).await;

    let r = a
        .call(
            "post_decision",
            json!({"key": "db_orm", "value": "sqlx", "rationale": "async", "category": "tooling"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert!(
        r.text.contains("Decision posted: [tooling] db_orm = sqlx"),
        "{}",
        r.text
    );
    let id = id_in(&r.text, "dec-");
    let n = expect_channel(&mut b, "decision_posted").await;
    assert_eq!(meta(&n, "meta_decision_id"), id);
    assert_eq!(meta(&n, "meta_key"), "db_orm");
    assert!(
        content(&n).contains("*Rationale:* async"),
        "{}",
        content(&n)
    );

    let q = b
        .call("query_decisions", json!({"category": "tooling"}))
        .await
        .text;
    assert!(
        q.contains("[tooling] **db_orm** = sqlx") && q.contains("Rationale: async"),
        "{q}"
    );

    // Same key again: an update, not a second decision.
    let r = b
        .call(
            "post_decision",
            json!({"key": "db_orm", "value": "diesel", "rationale": "sync is fine"}),
        )
        .await;
    assert!(
        r.text
            .contains("Decision updated: [general] db_orm = diesel"),
        "{}",
        r.text
    );
    assert_eq!(id_in(&r.text, "dec-"), id, "same record");
    let n = expect_channel(&mut a, "decision_posted").await;
    assert!(content(&n).contains("Decision updated"), "{}", content(&n));
    let q = a
        .call("query_decisions", json!({"key": "db_orm"}))
        .await
        .text;
    assert!(
        q.starts_with("Decisions (1)") && q.contains("diesel"),
        "{q}"
    );

    // Another group has its own board, with the same key.
    let r = x
        .call(
            "post_decision",
            json!({"key": "db_orm", "value": "sea-orm", "rationale": "theirs"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert!(
        a.call("query_decisions", json!({"key": "db_orm"}))
            .await
            .text
            .contains("diesel")
    );
    let xq = x.call("query_decisions", json!({})).await.text;
    assert!(
        xq.contains("sea-orm") && !xq.contains("diesel"),
        "the other group sees only its board: {xq}"
    );
    // The lobby is its own namespace too.
    assert!(
        lobby
            .call("query_decisions", json!({}))
            .await
            .text
            .contains("No decisions recorded yet")
    );
    assert!(
        lobby
            .call("query_decisions", json!({"key": "db_orm"}))
            .await
            .text
            .contains("No active decision for key \"db_orm\"")
    );

    // Nobody outside the group was told.
    expect_none(&mut x, "decision_posted", QUIET).await;
    expect_none(&mut lobby, "decision_posted", QUIET).await;
    // And x's post reached nobody in team.
    expect_none(&mut a, "decision_posted", QUIET).await;

    // The operator sees every board.
    let all = env
        .admin()
        .decisions(&DecisionQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let team_only = env
        .admin()
        .decisions(&DecisionQuery {
            group: Some("team".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(team_only.len(), 1);
    assert_eq!(team_only[0].value, "diesel");
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    for (args, want) in [
        (
            json!({"key": " ", "value": "v", "rationale": "r"}),
            "'key' cannot be empty",
        ),
        (
            json!({"key": "k", "value": "", "rationale": "r"}),
            "'value' cannot be empty",
        ),
        (
            json!({"key": "k", "value": "v", "rationale": " "}),
            "'rationale' cannot be empty",
        ),
        (
            json!({"key": "k".repeat(101), "value": "v", "rationale": "r"}),
            "'key' is 101 bytes long, the limit is 100",
        ),
        (
            json!({"key": "k", "value": "v".repeat(2001), "rationale": "r"}),
            "'value' is 2001 bytes long, the limit is 2000",
        ),
        (json!({"key": "k", "value": "v"}), "rationale"),
    ] {
        let r = a.call("post_decision", args.clone()).await;
        assert!(r.is_error && r.text.contains(want), "{args}: {}", r.text);
    }
    // The operator cannot post (it has no group): only revoke.
    let err = env
        .admin()
        .post_decision(&PostDecision {
            key: "k".into(),
            value: "v".into(),
            rationale: "r".into(),
            category: None,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("only a peer can post a decision"), "{err}");
    let err = env
        .admin()
        .json("GET", "/v1/decisions?status=maybe", &Value::Null)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'status' must be active, revoked or all"),
        "{err}"
    );
}

#[tokio::test]
async fn only_the_author_or_the_operator_revokes() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let mut x = Mcp::start(&env, &env.subdir("x")).await;
    group(&env, "team", &mut [&mut a, &mut b]).await;
    group(&env, "other", &mut [&mut x]).await;

    let id = id_in(
        &a.call(
            "post_decision",
            json!({"key": "api_format", "value": "json", "rationale": "simple"}),
        )
        .await
        .text,
        "dec-",
    );
    expect_channel(&mut b, "decision_posted").await;

    let r = b.call("revoke_decision", json!({"decision_id": id})).await;
    refused(&r, "only the author");
    let r = x.call("revoke_decision", json!({"decision_id": id})).await;
    refused(&r, "no decision with id");
    let r = a
        .call("revoke_decision", json!({"decision_id": format!("`{id}`")}))
        .await;
    assert!(
        !r.is_error && r.text.contains("api_format") && r.text.contains("revoked"),
        "{}",
        r.text
    );
    let n = expect_channel(&mut b, "decision_revoked").await;
    assert_eq!(meta(&n, "meta_decision_id"), id);
    expect_none(&mut x, "decision_revoked", QUIET).await;

    assert!(
        b.call("query_decisions", json!({"key": "api_format"}))
            .await
            .text
            .contains("No active decision")
    );
    let r = a.call("revoke_decision", json!({"decision_id": id})).await;
    refused(&r, "already revoked");
    let revoked = env
        .admin()
        .decisions(&DecisionQuery {
            key: Some("api_format".into()),
            status: Some(DecisionFilter::Revoked),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].status, DecisionStatus::Revoked);
    assert_eq!(revoked[0].revoked_by.as_ref().unwrap().name, a.name);

    // Posting the key again brings it back; the operator may revoke anyone's.
    a.call(
        "post_decision",
        json!({"key": "api_format", "value": "msgpack", "rationale": "size"}),
    )
    .await;
    let d = env.admin().revoke_decision(&id).await.unwrap();
    assert_eq!(d.status, DecisionStatus::Revoked);
    assert_eq!(d.revoked_by.unwrap().id, "cli");
    let n = expect_channel(&mut a, "decision_revoked").await;
    assert_eq!(meta(&n, "from"), "cli");

    let audit = env.admin().audit(&Default::default()).await.unwrap();
    let revokes = audit
        .iter()
        .filter(|e| e["action"] == "decision.revoke")
        .count();
    assert_eq!(revokes, 2, "{audit:?}");
}

#[tokio::test]
async fn decisions_survive_a_broker_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    a.call(
        "post_decision",
        json!({"key": "style", "value": "rustfmt", "rationale": "default", "category": "conventions"}),
    )
    .await;
    let _broker = restart(&env, broker, &[]).await;
    let q = a
        .call("query_decisions", json!({"category": "conventions"}))
        .await
        .text;
    assert!(q.contains("**style** = rustfmt"), "{q}");
}
