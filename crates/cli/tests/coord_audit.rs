//! The audit log: every state-changing coordination action, with actor, time,
//! details and group; queryable by action, actor, group and session (operator
//! only); kept across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::AuditQuery;
use common::coord::*;
use common::*;
use serde_json::{Value, json};

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_action_is_recorded_and_queryable() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let mut x = Mcp::start(&env, &env.subdir("x")).await;
    group(&env, "team", &mut [&mut a, &mut b]).await;
    group(&env, "other", &mut [&mut x]).await;
    let a_id = id_of(&mut a).await;

    let task = id_in(
        &a.call("create_task", json!({"title": "t", "assignee": b.name}))
            .await
            .text,
        "task-",
    );
    b.call("start_task", json!({"task_id": task})).await;
    b.call("complete_task", json!({"task_id": task})).await;
    let dec = id_in(
        &a.call(
            "post_decision",
            json!({"key": "k", "value": "v", "rationale": "r"}),
        )
        .await
        .text,
        "dec-",
    );
    a.call("revoke_decision", json!({"decision_id": dec})).await;
    let ver = id_in(
        &a.call(
            "request_verification",
            json!({"to_id": b.name, "claim": "c", "evidence_needed": "e"}),
        )
        .await
        .text,
        "ver-",
    );
    b.call(
        "respond_verification",
        json!({"verification_id": ver, "status": "failed", "response": "no"}),
    )
    .await;
    let prop = id_in(
        &a.call(
            "create_proposal",
            json!({"title": "p", "description": "d", "required_votes": 1}),
        )
        .await
        .text,
        "prop-",
    );
    b.call(
        "vote_proposal",
        json!({"proposal_id": prop, "vote": "approve"}),
    )
    .await;
    let appr = id_in(
        &a.call(
            "request_approval",
            json!({"approver": b.name, "action": "go"}),
        )
        .await
        .text,
        "appr-",
    );
    b.call(
        "respond_approval",
        json!({"approval_id": appr, "approved": true}),
    )
    .await;
    a.call("set_active_files", json!({"files": ["/w/f.rs"]}))
        .await;
    b.call("set_active_files", json!({"files": ["/w/f.rs"]}))
        .await;
    a.call(
        "send_structured",
        json!({"to_id": b.name, "msg_type": "context_share", "summary": "s"}),
    )
    .await;
    x.call("create_task", json!({"title": "theirs"})).await;

    let admin = env.admin();
    let all = admin
        .audit(&AuditQuery {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap();
    let got = actions(&all);
    for want in [
        "task.create",
        "task.start",
        "task.complete",
        "decision.post",
        "decision.revoke",
        "verification.request",
        "verification.failed",
        "proposal.create",
        "proposal.vote",
        "proposal.approved",
        "approval.request",
        "approval.approved",
        "files.set",
        "files.conflict",
        "message.structured",
        "group.create",
        "group.assign",
    ] {
        assert!(got.iter().any(|a| a == want), "no {want} in {got:?}");
    }
    for e in &all {
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(!e["actor"]["id"].as_str().unwrap().is_empty(), "{e}");
    }
    let create = all
        .iter()
        .find(|e| e["action"] == "task.create" && e["details"].as_str().unwrap().contains(&task))
        .unwrap();
    assert_eq!(create["actor"]["id"], a_id.as_str());
    assert!(create["group_id"].is_string(), "{create}");

    // Filters: action prefix, actor, group.
    let tasks = admin
        .audit(&AuditQuery {
            action: Some("task.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    let by_a = admin
        .audit(&AuditQuery {
            actor: Some(a_id.clone()),
            action: Some("proposal.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(actions(&by_a), ["proposal.create"]);
    let other = admin
        .audit(&AuditQuery {
            group: Some("other".into()),
            action: Some("task.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert!(other[0]["details"].as_str().unwrap().contains("theirs"));
    let paged = admin
        .audit(&AuditQuery {
            limit: Some(2),
            before: Some(all[0]["id"].as_i64().unwrap()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(paged.len(), 2);
    assert_eq!(paged[0]["id"], all[1]["id"]);

    // Only the operator reads the log.
    let (_, peer) = env.register("/p", |_| {}).await;
    let err = peer
        .audit(&AuditQuery::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("only the operator"), "{err}");

    // Kept across a restart.
    let _broker = restart(&env, broker, &[]).await;
    let after = env
        .admin()
        .audit(&AuditQuery {
            action: Some("task.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 4);
}
