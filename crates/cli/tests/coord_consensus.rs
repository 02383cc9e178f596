//! Consensus through the MCP tools: proposals, votes (one per voter,
//! changeable while open, never the author's, only the proposal's group, one
//! for the operator), thresholds and automatic resolution; who is told; no
//! leak to other groups or from the lobby; survival across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::{CastVote, ListQuery, ProposalStatus, Vote};
use common::coord::*;
use common::*;
use serde_json::json;

/// a (the author), b, c, d in "team"; x in "other".
async fn team(env: &Env) -> (Mcp, Mcp, Mcp, Mcp, Mcp) {
    let mut a = Mcp::start(env, &env.subdir("a")).await;
    let mut b = Mcp::start(env, &env.subdir("b")).await;
    let mut c = Mcp::start(env, &env.subdir("c")).await;
    let mut d = Mcp::start(env, &env.subdir("d")).await;
    let mut x = Mcp::start(env, &env.subdir("x")).await;
    group(env, "team", &mut [&mut a, &mut b, &mut c, &mut d]).await;
    group(env, "other", &mut [&mut x]).await;
    (a, b, c, d, x)
}

async fn propose(a: &mut Mcp, title: &str, votes: Option<u32>) -> String {
    let mut args = json!({"title": title, "description": "details"});
    if let Some(v) = votes {
        args["required_votes"] = json!(v);
    }
    let r = a.call("create_proposal", args).await;
    assert!(!r.is_error, "{}", r.text);
    id_in(&r.text, "prop-")
}

async fn vote(m: &mut Mcp, id: &str, vote: &str) -> ToolResult {
    m.call("vote_proposal", json!({"proposal_id": id, "vote": vote}))
        .await
}

#[tokio::test]
async fn approved_at_the_threshold_and_the_right_peers_are_told() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut d, mut x) = team(&env).await;

    let r = a
        .call(
            "create_proposal",
            json!({"title": "Adopt tokio", "description": "async runtime"}),
        )
        .await;
    assert!(
        r.text.contains("needs 2 approval(s)"),
        "the default threshold is 2: {}",
        r.text
    );
    let id = id_in(&r.text, "prop-");
    for m in [&mut b, &mut c, &mut d] {
        let n = expect_channel(m, "proposal").await;
        assert_eq!(meta(&n, "meta_proposal_id"), id);
        assert_eq!(meta(&n, "meta_required_votes"), "2");
        assert!(content(&n).contains("Adopt tokio") && content(&n).contains("vote_proposal"));
    }
    expect_none(&mut a, "proposal", QUIET).await;
    expect_none(&mut x, "proposal", QUIET).await;

    let r = vote(&mut b, &id, "approve").await;
    assert!(
        r.text
            .contains("still open (1 approval(s), 0 rejection(s), 2 needed)"),
        "{}",
        r.text
    );
    let r = c
        .call(
            "vote_proposal",
            json!({"proposal_id": id, "vote": "approve", "reason": "fast"}),
        )
        .await;
    assert!(r.text.contains("approve (fast) — APPROVED"), "{}", r.text);
    // The author and the other voter hear the outcome; the decider saw it in
    // its result; d (no vote) and x hear nothing.
    for m in [&mut a, &mut b] {
        let n = expect_channel(m, "proposal_result").await;
        assert_eq!(meta(&n, "meta_status"), "approved");
        assert!(content(&n).starts_with("✅ **Proposal approved:** Adopt tokio"));
    }
    expect_none(&mut c, "proposal_result", QUIET).await;
    expect_none(&mut d, "proposal_result", QUIET).await;
    expect_none(&mut x, "proposal_result", QUIET).await;

    let r = vote(&mut d, &id, "reject").await;
    refused(&r, "no longer open (it was approved)");
    let p = &env.admin().proposals(&ListQuery::default()).await.unwrap()[0];
    assert_eq!(p.status, ProposalStatus::Approved);
    assert_eq!(p.votes.len(), 2);
    assert_eq!(p.votes[1].reason, "fast");
}

#[tokio::test]
async fn the_author_and_other_groups_cannot_vote() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, _b, _c, _d, mut x) = team(&env).await;
    let id = propose(&mut a, "Use sqlite", None).await;
    let r = vote(&mut a, &id, "approve").await;
    refused(&r, "own proposal");
    let r = vote(&mut x, &id, "approve").await;
    assert!(
        r.is_error && r.text.contains(&format!("no proposal with id \"{id}\"")),
        "a peer of another group learns nothing: {}",
        r.text
    );
    let listed = x.call("session_report", json!({})).await.text;
    assert!(!listed.contains("Use sqlite"), "{listed}");
    let p = &env.admin().proposals(&ListQuery::default()).await.unwrap()[0];
    assert!(p.votes.is_empty());
}

#[tokio::test]
async fn rejected_at_the_threshold_or_when_approval_becomes_impossible() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut d, _x) = team(&env).await;

    // Two rejections reach the threshold of 2.
    let id = propose(&mut a, "Rewrite in Go", Some(2)).await;
    assert!(
        vote(&mut b, &id, "reject")
            .await
            .text
            .contains("still open")
    );
    let r = vote(&mut c, &id, "reject").await;
    assert!(r.text.contains("REJECTED"), "{}", r.text);
    let n = expect_channel(&mut a, "proposal_result").await;
    assert!(content(&n).starts_with("❌ **Proposal rejected:** Rewrite in Go"));

    // Threshold 4: voters are b, c, d and the operator. One rejection leaves
    // at most 3 possible approvals: rejected at once.
    let id = propose(&mut a, "Unanimous", Some(4)).await;
    let r = vote(&mut b, &id, "reject").await;
    assert!(r.text.contains("REJECTED"), "{}", r.text);
    let n = expect_channel(&mut a, "proposal_result").await;
    assert!(content(&n).contains("cannot reach 4"), "{}", content(&n));

    // Threshold 3: b approves, c rejects; d and the operator could still make 3.
    let id = propose(&mut a, "Three of four", Some(3)).await;
    assert!(
        vote(&mut b, &id, "approve")
            .await
            .text
            .contains("still open")
    );
    assert!(
        vote(&mut c, &id, "reject")
            .await
            .text
            .contains("still open")
    );
    // d rejects too: 1 + operator = 2 < 3.
    assert!(vote(&mut d, &id, "reject").await.text.contains("REJECTED"));

    // Listed by status.
    let open = propose(&mut a, "Still open", None).await;
    let list = env
        .admin()
        .proposals(&ListQuery {
            status: Some(ProposalStatus::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, open);
    let rejected = env
        .admin()
        .proposals(&ListQuery {
            status: Some(ProposalStatus::Rejected),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rejected.len(), 3);
    assert!(
        rejected
            .iter()
            .all(|p| p.status == ProposalStatus::Rejected)
    );
}

#[tokio::test]
async fn a_vote_can_change_while_open_and_the_operator_votes_once() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, _d, _x) = team(&env).await;
    let id = propose(&mut a, "Switch CI", Some(2)).await;
    assert!(
        vote(&mut b, &id, "reject")
            .await
            .text
            .contains("0 approval(s), 1 rejection(s)")
    );
    let r = vote(&mut b, &id, "approve").await;
    assert!(
        r.text.contains("1 approval(s), 0 rejection(s)"),
        "the vote was replaced: {}",
        r.text
    );
    let admin = env.admin();
    let p = admin
        .vote(
            &id,
            &CastVote {
                vote: Vote::Reject,
                reason: Some("not now".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!((p.approvals, p.rejections), (1, 1));
    // Again as the operator: replaces its vote, does not add one.
    let p = admin
        .vote(
            &id,
            &CastVote {
                vote: Vote::Approve,
                reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(p.status, ProposalStatus::Approved);
    assert_eq!((p.approvals, p.rejections), (2, 0));
    assert!(p.votes.iter().any(|v| v.voter.id == "cli"));
    // The operator decided, so both the author and b are told.
    expect_channel(&mut a, "proposal_result").await;
    expect_channel(&mut b, "proposal_result").await;
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, _d, _x) = team(&env).await;
    for (votes, got) in [
        (json!(0), "got 0"),
        (json!(21), "got 21"),
        (json!(1.5), "got 1.5"),
        (json!("two"), "got a string"),
    ] {
        let r = a
            .call(
                "create_proposal",
                json!({"title": "t", "description": "d", "required_votes": votes}),
            )
            .await;
        assert!(
            r.is_error
                && r.text
                    .contains("'required_votes' must be a whole number from 1 to 20")
                && r.text.contains(got),
            "{votes}: {}",
            r.text
        );
    }
    let r = a
        .call("create_proposal", json!({"title": " ", "description": "d"}))
        .await;
    refused(&r, "'title' cannot be empty");
    let r = a.call("create_proposal", json!({"title": "t"})).await;
    refused(&r, "description");
    let id = propose(&mut a, "One vote", Some(1)).await;
    let r = b
        .call("vote_proposal", json!({"proposal_id": id, "vote": "maybe"}))
        .await;
    assert!(r.is_error, "{}", r.text);
    let err = env
        .admin()
        .json(
            "POST",
            &format!("/v1/proposals/{id}/votes"),
            &json!({"vote": "maybe"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'vote' must be one of approve, reject"),
        "{err}"
    );
    // Threshold 1: the first approval decides.
    assert!(vote(&mut b, &id, "approve").await.text.contains("APPROVED"));
}

#[tokio::test]
async fn lobby_proposals_reach_lobby_peers_only() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut l1 = Mcp::start(&env, &env.subdir("l1")).await;
    let mut l2 = Mcp::start(&env, &env.subdir("l2")).await;
    let mut g = Mcp::start(&env, &env.subdir("g")).await;
    group(&env, "team", &mut [&mut g]).await;
    let id = propose(&mut l1, "Lobby idea", None).await;
    let n = expect_channel(&mut l2, "proposal").await;
    assert_eq!(meta(&n, "meta_proposal_id"), id);
    expect_none(&mut g, "proposal", QUIET).await;
    let r = vote(&mut g, &id, "approve").await;
    refused(&r, "no proposal");
}

#[tokio::test]
async fn an_open_proposal_survives_a_broker_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, _d, _x) = team(&env).await;
    let id = propose(&mut a, "Survive", Some(2)).await;
    assert!(
        vote(&mut b, &id, "approve")
            .await
            .text
            .contains("still open")
    );
    let _broker = restart(&env, broker, &[]).await;
    let r = vote(&mut c, &id, "approve").await;
    assert!(
        r.text.contains("APPROVED"),
        "the first vote was kept: {}",
        r.text
    );
    expect_channel(&mut a, "proposal_result").await;
}
