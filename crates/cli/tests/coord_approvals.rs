//! Approvals through the MCP tools: request, answer by the named approver only
//! (not another peer, another group or the operator); the requester is told at
//! once; validation; survival across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::{ApprovalStatus, ListQuery, RespondApproval};
use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn approve_and_reject_tell_the_requester_at_once() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;

    let r = a
        .call(
            "request_approval",
            json!({"approver": b.name, "action": "drop the users table"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert!(
        r.text
            .contains(&format!("Waiting for {} to respond", b.name)),
        "{}",
        r.text
    );
    let id = id_in(&r.text, "appr-");
    let n = expect_channel(&mut b, "approval_request").await;
    assert_eq!(meta(&n, "meta_approval_id"), id);
    assert!(
        content(&n).contains("drop the users table") && content(&n).contains(&id),
        "{}",
        content(&n)
    );

    let r = b
        .call(
            "respond_approval",
            json!({"approval_id": id, "approved": true, "reason": "backup exists"}),
        )
        .await;
    assert!(
        !r.is_error && r.text.contains("granted: backup exists"),
        "{}",
        r.text
    );
    let n = expect_channel(&mut a, "approval_response").await;
    assert_eq!(meta(&n, "meta_status"), "approved");
    assert!(
        content(&n).starts_with("✅ **Approval approved**")
            && content(&n).contains("**Reason:** backup exists"),
        "{}",
        content(&n)
    );

    let id2 = id_in(
        &a.call(
            "request_approval",
            json!({"approver": c.name, "action": "force-push main"}),
        )
        .await
        .text,
        "appr-",
    );
    expect_channel(&mut c, "approval_request").await;
    let r = c
        .call(
            "respond_approval",
            json!({"approval_id": id2, "approved": false}),
        )
        .await;
    assert!(r.text.contains("rejected"), "{}", r.text);
    let n = expect_channel(&mut a, "approval_response").await;
    assert!(content(&n).starts_with("❌ **Approval rejected**"));

    let list = env.admin().approvals(&ListQuery::default()).await.unwrap();
    let status = |id: &str| list.iter().find(|v| v.id == id).unwrap().status;
    assert_eq!(status(&id), ApprovalStatus::Approved);
    assert_eq!(status(&id2), ApprovalStatus::Rejected);
    expect_none(&mut x, "approval_request", QUIET).await;
    expect_none(&mut b, "approval_response", QUIET).await;
}

#[tokio::test]
async fn only_the_named_approver_answers_and_only_within_the_group() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;
    let x_id = id_of(&mut x).await;
    let id = id_in(
        &a.call(
            "request_approval",
            json!({"approver": b.name, "action": "deploy"}),
        )
        .await
        .text,
        "appr-",
    );
    let yes = json!({"approval_id": id, "approved": true});
    let r = c.call("respond_approval", yes.clone()).await;
    refused(
        &r,
        &format!("only the approver named in the request ({})", b.name),
    );
    let r = a.call("respond_approval", yes.clone()).await;
    refused(&r, "only the approver");
    let r = x.call("respond_approval", yes.clone()).await;
    refused(&r, "no approval with id");
    let err = env
        .admin()
        .respond_approval(
            &id,
            &RespondApproval {
                approved: true,
                reason: None,
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("only the approver"), "{err}");

    let r = a
        .call("request_approval", json!({"approver": x_id, "action": "x"}))
        .await;
    refused(&r, "different isolation group");
    let r = a
        .call(
            "request_approval",
            json!({"approver": a.name, "action": "x"}),
        )
        .await;
    refused(&r, "your own request");
    let r = a
        .call(
            "request_approval",
            json!({"approver": b.name, "action": "  "}),
        )
        .await;
    refused(&r, "'action' cannot be empty");
    let r = a
        .call("request_approval", json!({"approver": b.name}))
        .await;
    refused(&r, "action");
    let r = b
        .call(
            "respond_approval",
            json!({"approval_id": id, "approved": true, "reason": "r".repeat(2001)}),
        )
        .await;
    refused(&r, "limit is 2000");

    assert!(!b.call("respond_approval", yes.clone()).await.is_error);
    let r = b.call("respond_approval", yes).await;
    refused(&r, "already answered (approved)");
    expect_none(&mut c, "approval_request", QUIET).await;
}

#[tokio::test]
async fn a_pending_approval_survives_a_broker_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, _x) = team(&env).await;
    let id = id_in(
        &a.call(
            "request_approval",
            json!({"approver": b.name, "action": "migrate the db"}),
        )
        .await
        .text,
        "appr-",
    );
    expect_channel(&mut b, "approval_request").await;
    let _broker = restart(&env, broker, &[]).await;
    let r = b
        .call(
            "respond_approval",
            json!({"approval_id": id, "approved": true}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    expect_channel(&mut a, "approval_response").await;
}
