//! What waits on an agent, through `list_open_items`: open proposals,
//! verification requests to and from it, approvals waiting on it; and a
//! proposal whose threshold can no longer be reached resolves when that
//! becomes true (at creation, or when a voter leaves), not at its next vote.

#[macro_use]
mod common;

use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_items_list_what_waits_on_me_and_for_me() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b", "c"]).await;
    let (a, b) = (ps[0].name.clone(), ps[1].name.clone());
    let r = ps[0].call("list_open_items", json!({})).await;
    assert!(r.text.starts_with("Nothing open"), "{}", r.text);

    let r = ps[1]
        .call(
            "create_proposal",
            json!({"title": "Adopt tokio", "description": "runtime"}),
        )
        .await;
    let prop = id_in(&r.text, "prop-");
    let r = ps[1]
        .call(
            "request_verification",
            json!({"to_id": a, "claim": "tests pass", "evidence_needed": "the output"}),
        )
        .await;
    let ver_to_me = id_in(&r.text, "ver-");
    let r = ps[0]
        .call(
            "request_verification",
            json!({"to_id": b, "claim": "docs build", "evidence_needed": "log"}),
        )
        .await;
    let ver_from_me = id_in(&r.text, "ver-");
    let r = ps[2]
        .call(
            "request_approval",
            json!({"approver": a, "action": "force-push main"}),
        )
        .await;
    let appr = id_in(&r.text, "appr-");

    let r = ps[0].call("list_open_items", json!({})).await;
    assert!(!r.is_error, "{}", r.text);
    let t = &r.text;
    assert!(t.contains("Open proposals (1)") && t.contains(&prop), "{t}");
    assert!(t.contains("you have not voted"), "{t}");
    assert!(
        t.contains("Verifications you are asked to do (1)") && t.contains(&ver_to_me),
        "{t}"
    );
    assert!(
        t.contains("Verifications you asked for (1)") && t.contains(&ver_from_me),
        "{t}"
    );
    assert!(
        t.contains("Approvals waiting on you (1)") && t.contains(&appr),
        "{t}"
    );
    // C sees its own request, not A's verifications.
    let r = ps[2].call("list_open_items", json!({})).await;
    assert!(r.text.contains("Your approval requests (1)"), "{}", r.text);
    assert!(!r.text.contains(&ver_to_me), "{}", r.text);

    // Answered items leave the list; a vote is shown.
    ps[0]
        .call(
            "respond_approval",
            json!({"approval_id": appr, "approved": true}),
        )
        .await;
    ps[0]
        .call(
            "vote_proposal",
            json!({"proposal_id": prop, "vote": "approve"}),
        )
        .await;
    let r = ps[0].call("list_open_items", json!({})).await;
    assert!(!r.text.contains(&appr), "{}", r.text);
    assert!(r.text.contains("you voted approve"), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_threshold_resolves_at_creation_and_when_voters_leave() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut ps = peers(&env, &["a", "b", "c"]).await;
    // Possible votes: b, c and the operator = 3. Asking for 4 cannot pass.
    let r = ps[0]
        .call(
            "create_proposal",
            json!({"title": "Too many", "description": "d", "required_votes": 4}),
        )
        .await;
    let prop = id_in(&r.text, "prop-");
    let p = &env.admin().proposals(&Default::default()).await.unwrap()[0];
    assert_eq!(p.id, prop);
    assert_eq!(p.status.as_str(), "rejected", "decided at creation");

    // Needs 3 of b, c, operator: open until c leaves.
    let r = ps[0]
        .call(
            "create_proposal",
            json!({"title": "All of us", "description": "d", "required_votes": 3}),
        )
        .await;
    let prop = id_in(&r.text, "prop-");
    let status = |env: &Env, id: String| {
        let admin = env.admin();
        async move {
            admin
                .proposals(&Default::default())
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.id == id)
                .unwrap()
                .status
                .as_str()
                .to_string()
        }
    };
    assert_eq!(status(&env, prop.clone()).await, "open");
    let c = ps.pop().unwrap();
    c.close_stdin_and_wait().await;
    eventually("the proposal resolves when a voter leaves", || {
        let f = status(&env, prop.clone());
        async move { f.await == "rejected" }
    })
    .await;
    // The author is told of both, the second naming why.
    let first = expect_channel(&mut ps[0], "proposal_result").await;
    assert!(
        content(&first).contains("cannot reach 4"),
        "{}",
        content(&first)
    );
    let second = expect_channel(&mut ps[0], "proposal_result").await;
    assert!(content(&second).contains(&prop), "{}", content(&second));
    assert!(
        content(&second).contains("cannot reach 3"),
        "{}",
        content(&second)
    );
}
