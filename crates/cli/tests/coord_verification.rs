//! Verification through the MCP tools: request, answer by the named verifier
//! only (not another peer, not another group, not the operator); both sides
//! told; listed with status; validation; survival across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::{ListQuery, RespondVerification, Verdict, VerificationStatus};
use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn verified_and_failed_with_both_sides_told() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;

    let r = a
        .call(
            "request_verification",
            json!({
                "to_id": b.name,
                "claim": "parse_config returns a Config",
                "evidence_needed": "a passing test",
                "files_to_check": ["src/config.rs", "tests/config.rs"]
            }),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert!(
        r.text
            .contains(&format!("Waiting for {} to respond", b.name)),
        "{}",
        r.text
    );
    let id = id_in(&r.text, "ver-");
    let n = expect_channel(&mut b, "verification_request").await;
    assert_eq!(meta(&n, "meta_verification_id"), id);
    assert_eq!(
        meta(&n, "meta_files_to_check"),
        "src/config.rs, tests/config.rs"
    );
    let text = content(&n);
    assert!(
        text.contains("**Claim:** parse_config returns a Config")
            && text.contains("**Evidence needed:** a passing test")
            && text.contains("**Files to check:** src/config.rs, tests/config.rs")
            && text.contains(&id),
        "{text}"
    );

    let r = b
        .call(
            "respond_verification",
            json!({"verification_id": id, "status": "verified", "response": "test_parse passes", "evidence": "cargo test: ok"}),
        )
        .await;
    assert!(
        !r.is_error && r.text.contains("verified") && r.text.contains(&a.name),
        "{}",
        r.text
    );
    let n = expect_channel(&mut a, "verification_response").await;
    assert_eq!(meta(&n, "meta_status"), "verified");
    assert!(
        content(&n).starts_with("✅ **Verification verified**")
            && content(&n).contains("**Evidence:** cargo test: ok"),
        "{}",
        content(&n)
    );

    // A failed one.
    let id2 = id_in(
        &a.call(
            "request_verification",
            json!({"to_id": c.name, "claim": "no unsafe code", "evidence_needed": "grep", "files_to_check": "src/lib.rs"}),
        )
        .await
        .text,
        "ver-",
    );
    let n = expect_channel(&mut c, "verification_request").await;
    assert_eq!(
        meta(&n, "meta_files_to_check"),
        "src/lib.rs",
        "one string = one file"
    );
    c.call(
        "respond_verification",
        json!({"verification_id": id2, "status": "failed", "response": "found 2 unsafe blocks"}),
    )
    .await;
    let n = expect_channel(&mut a, "verification_response").await;
    assert!(content(&n).starts_with("❌ **Verification failed**"));

    // Listed with status (by the group, and by the operator).
    let list = env
        .admin()
        .verifications(&ListQuery::default())
        .await
        .unwrap();
    let status = |id: &str| list.iter().find(|v| v.id == id).unwrap().status;
    assert_eq!(status(&id), VerificationStatus::Verified);
    assert_eq!(status(&id2), VerificationStatus::Failed);
    let failed = env
        .admin()
        .verifications(&ListQuery {
            status: Some(VerificationStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].files_to_check, ["src/lib.rs"]);

    // The other group heard nothing.
    expect_none(&mut x, "verification_request", QUIET).await;
    expect_none(&mut x, "verification_response", QUIET).await;
}

#[tokio::test]
async fn only_the_named_verifier_answers() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;
    let x_id = id_of(&mut x).await;
    let id = id_in(
        &a.call(
            "request_verification",
            json!({"to_id": b.name, "claim": "c", "evidence_needed": "e"}),
        )
        .await
        .text,
        "ver-",
    );
    let answer = json!({"verification_id": id, "status": "verified", "response": "trust me"});
    let r = c.call("respond_verification", answer.clone()).await;
    refused(
        &r,
        &format!("only the verifier named in the request ({})", b.name),
    );
    let r = x.call("respond_verification", answer.clone()).await;
    refused(&r, "no verification with id");
    let r = a.call("respond_verification", answer.clone()).await;
    assert!(
        r.is_error && r.text.contains("only the verifier"),
        "the requester cannot answer: {}",
        r.text
    );
    let err = env
        .admin()
        .respond_verification(
            &id,
            &RespondVerification {
                status: Verdict::Verified,
                response: "operator says so".into(),
                evidence: None,
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("only the verifier"),
        "the operator cannot answer: {err}"
    );

    // Requests only within the group, never to oneself.
    let r = a
        .call(
            "request_verification",
            json!({"to_id": x_id, "claim": "c", "evidence_needed": "e"}),
        )
        .await;
    refused(&r, "different isolation group");
    let r = a
        .call(
            "request_verification",
            json!({"to_id": a.name, "claim": "c", "evidence_needed": "e"}),
        )
        .await;
    refused(&r, "your own claim");

    // Answered once.
    assert!(
        !b.call("respond_verification", answer.clone())
            .await
            .is_error
    );
    let r = b.call("respond_verification", answer).await;
    refused(&r, "already answered");
    // Nothing reached x or c.
    expect_none(&mut x, "verification_request", QUIET).await;
    expect_none(&mut c, "verification_response", QUIET).await;
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, b, _c, _x) = team(&env).await;
    for (args, want) in [
        (
            json!({"to_id": b.name, "claim": " ", "evidence_needed": "e"}),
            "'claim' cannot be empty",
        ),
        (
            json!({"to_id": b.name, "claim": "c", "evidence_needed": "e", "files_to_check": 7}),
            "'files_to_check' must be a list of strings",
        ),
        (
            json!({"to_id": "", "claim": "c", "evidence_needed": "e"}),
            "'verifier' cannot be empty",
        ),
        (json!({"to_id": b.name, "claim": "c"}), "evidence_needed"),
    ] {
        let r = a.call("request_verification", args.clone()).await;
        assert!(r.is_error && r.text.contains(want), "{args}: {}", r.text);
    }
    let id = id_in(
        &a.call(
            "request_verification",
            json!({"to_id": b.name, "claim": "c", "evidence_needed": "e"}),
        )
        .await
        .text,
        "ver-",
    );
    let r = a
        .call(
            "respond_verification",
            json!({"verification_id": id, "status": "maybe", "response": "r"}),
        )
        .await;
    assert!(r.is_error, "{}", r.text);
    // Over HTTP the status is checked with a clear error.
    let (_, peer) = env.register("/p", |_| {}).await;
    let err = peer
        .json(
            "POST",
            &format!("/v1/verifications/{id}/respond"),
            &json!({"status": "maybe", "response": "r"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'status' must be verified or failed"), "{err}");
}

#[tokio::test]
async fn a_pending_verification_survives_a_broker_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, _x) = team(&env).await;
    let id = id_in(
        &a.call(
            "request_verification",
            json!({"to_id": b.name, "claim": "it persists", "evidence_needed": "a restart"}),
        )
        .await
        .text,
        "ver-",
    );
    expect_channel(&mut b, "verification_request").await;
    let _broker = restart(&env, broker, &[]).await;
    let r = b
        .call(
            "respond_verification",
            json!({"verification_id": id, "status": "verified", "response": "still here"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let n = expect_channel(&mut a, "verification_response").await;
    assert!(content(&n).contains("still here"));
}
