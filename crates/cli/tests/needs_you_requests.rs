//! Approvals and verification requests addressed to the person: an agent
//! names `dashboard` (or `cli`) as approver or verifier with the ordinary
//! tools; the request waits in `GET /v1/needs-you` and `claude-peers inbox`
//! (newest first) and no peer is told of it; only the operator answers it
//! (`claude-peers inbox approve|reject|verify`), never a peer token, not even
//! the requester's own; the requester is told the answer as it is told a
//! peer's; every step is in the audit log; a pending one survives a restart.

#[macro_use]
mod common;

use claude_peers_client::credentials;
use claude_peers_proto::api::PartyKind;
use claude_peers_proto::coord::{AuditQuery, RespondApproval};
use claude_peers_proto::needs_you::{ItemKind, NeedsYouItem};
use common::coord::*;
use common::*;
use serde_json::json;

/// The lane's approval and verification items, newest first.
async fn requests(env: &Env) -> Vec<NeedsYouItem> {
    lane(env)
        .await
        .into_iter()
        .filter(|i| matches!(i.kind, ItemKind::Approval | ItemKind::Verification))
        .collect()
}

/// The token an MCP server saved for its peer (as its session would).
fn token_of(env: &Env, peer_id: &str) -> String {
    let dir = env.endpoint().paths().sessions;
    std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| credentials::load(&e.ok()?.path()))
        .find(|c| c.peer_id == peer_id)
        .unwrap_or_else(|| panic!("no saved token for {peer_id} in {}", dir.display()))
        .token
}

/// POST `body` to `path` with a peer's token: the HTTP status.
async fn post_as(env: &Env, token: &str, path: &str, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(env.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_the_person_wait_in_the_lane_and_only_the_operator_answers() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;
    let a_id = id_of(&mut a).await;
    let b_id = id_of(&mut b).await;

    let r = a
        .call(
            "request_approval",
            json!({"approver": "dashboard", "action": "run the migration on production"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert!(r.text.contains("Waiting for the person"), "{}", r.text);
    let appr = id_in(&r.text, "appr-");
    // Newer by the clock than the approval (the lane orders by time).
    let asked = claude_peers_proto::time::now_ms();
    until!(
        "the clock moved on",
        claude_peers_proto::time::now_ms() > asked
    );
    let r = a
        .call(
            "request_verification",
            json!({"to_id": "CLI", "claim": "the fix passes CI", "evidence_needed": "the CI run",
                   "files_to_check": ["src/lib.rs"]}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let ver = id_in(&r.text, "ver-");

    // In the lane, newest first, from the requester, with the CLI command.
    let lane = requests(&env).await;
    let seen: Vec<(ItemKind, &str)> = lane.iter().map(|i| (i.kind, i.id.as_str())).collect();
    assert_eq!(
        seen,
        [
            (ItemKind::Verification, ver.as_str()),
            (ItemKind::Approval, appr.as_str())
        ]
    );
    assert_eq!(lane[1].from.id, a_id);
    assert_eq!(lane[1].detail, "run the migration on production");
    assert!(
        lane[1]
            .resolve
            .contains(&format!("claude-peers inbox approve {appr}")),
        "{}",
        lane[1].resolve
    );
    assert!(
        lane[0].detail.contains("Evidence needed: the CI run")
            && lane[0].detail.contains("src/lib.rs"),
        "{}",
        lane[0].detail
    );
    let (ok, out, err) = env.cli(&["inbox"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("claude-peers inbox approve {appr}"))
            && out.contains(&format!("claude-peers inbox verify {ver}"))
            && out.contains("asks your approval: run the migration"),
        "{out}"
    );
    assert!(
        out.find(&ver).unwrap() < out.find(&appr).unwrap(),
        "newest first: {out}"
    );
    // The record says whom it waits on.
    let view = env
        .admin()
        .approvals(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.id == appr)
        .unwrap();
    assert_eq!(view.approver.kind, PartyKind::Operator);
    assert_eq!(view.approver.name, "dashboard");
    // No peer is told of a request to the person.
    expect_none(&mut b, "approval_request", QUIET).await;
    expect_none(&mut c, "verification_request", QUIET).await;

    // A peer token never answers, not even the requester's own: 403.
    for token in [token_of(&env, &a_id), token_of(&env, &b_id)] {
        assert_eq!(
            post_as(
                &env,
                &token,
                &format!("/v1/approvals/{appr}/respond"),
                json!({"approved": true})
            )
            .await,
            403
        );
        assert_eq!(
            post_as(
                &env,
                &token,
                &format!("/v1/verifications/{ver}/respond"),
                json!({"status": "verified", "response": "looks fine"})
            )
            .await,
            403
        );
    }
    let r = b
        .call(
            "respond_approval",
            json!({"approval_id": appr, "approved": true}),
        )
        .await;
    refused(&r, "only the person (dashboard login or admin token)");
    let r = a
        .call(
            "respond_verification",
            json!({"verification_id": ver, "status": "verified", "response": "mine is fine"}),
        )
        .await;
    refused(&r, "only the person");
    // A peer of another group does not even see it.
    let r = x
        .call(
            "respond_approval",
            json!({"approval_id": appr, "approved": true}),
        )
        .await;
    refused(&r, "no approval with id");
    assert_eq!(requests(&env).await.len(), 2, "still waiting");

    // The operator answers from the CLI; the requester is told at once.
    let (ok, out, err) = env
        .cli(&["inbox", "approve", &appr, "--reason", "the backup is taken"])
        .await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("Approval {appr} approved; {} was told", a.name)),
        "{out}"
    );
    let n = expect_channel(&mut a, "approval_response").await;
    assert_eq!(meta(&n, "meta_approval_id"), appr);
    assert_eq!(meta(&n, "meta_status"), "approved");
    assert!(
        content(&n).starts_with("✅ **Approval approved** by cli")
            && content(&n).contains("**Reason:** the backup is taken"),
        "{}",
        content(&n)
    );
    let (ok, _, err) = env
        .cli(&[
            "inbox",
            "verify",
            &ver,
            "failed",
            "--response",
            "CI is red on main",
        ])
        .await;
    assert!(ok, "{err}");
    let n = expect_channel(&mut a, "verification_response").await;
    assert_eq!(meta(&n, "meta_status"), "failed");
    assert!(
        content(&n).contains("**Response:** CI is red on main"),
        "{}",
        content(&n)
    );
    assert!(requests(&env).await.is_empty(), "answered: out of the lane");

    // Once only; a wrong verdict is refused before anything is sent.
    let (ok, _, err) = env.cli(&["inbox", "reject", &appr]).await;
    assert!(!ok && err.contains("already answered (approved)"), "{err}");
    let (ok, _, err) = env.cli(&["inbox", "verify", &ver, "maybe"]).await;
    assert!(!ok && err.contains("verified or failed"), "{err}");

    // The audit log has the request and the answer, with who acted.
    let audit = env.admin().audit(&AuditQuery::default()).await.unwrap();
    let entry = |action: &str| {
        audit
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {audit:?}"))
            .clone()
    };
    assert_eq!(entry("approval.request")["actor"]["id"], a_id.as_str());
    assert!(
        entry("approval.request")["details"]
            .as_str()
            .unwrap()
            .contains(&format!("{appr} → dashboard")),
    );
    assert_eq!(entry("approval.approved")["actor"]["id"], "cli");
    assert_eq!(entry("verification.failed")["actor"]["id"], "cli");
}

/// The operator answers for either name; the person never answers a
/// request addressed to a peer; a pending request to the person survives a
/// broker restart (its addressee is stored).
#[tokio::test]
async fn the_person_answers_only_their_own_requests_and_they_survive_a_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, _x) = team(&env).await;
    let to_peer = id_in(
        &a.call(
            "request_approval",
            json!({"approver": b.name, "action": "rename the crate"}),
        )
        .await
        .text,
        "appr-",
    );
    expect_channel(&mut b, "approval_request").await;
    let (ok, _, err) = env.cli(&["inbox", "approve", &to_peer]).await;
    assert!(
        !ok && err.contains(&format!(
            "only the approver named in the request ({})",
            b.name
        )),
        "{err}"
    );
    // Addressed as `cli`, answered from the dashboard's side (any operator).
    let to_person = id_in(
        &a.call(
            "request_approval",
            json!({"approver": " cli ", "action": "delete the old branch"}),
        )
        .await
        .text,
        "appr-",
    );
    let _broker = restart(&env, broker, &[]).await;
    let lane = requests(&env).await;
    assert_eq!(lane.len(), 1, "{lane:?}");
    assert_eq!(lane[0].id, to_person);
    let answered = env
        .admin()
        .respond_approval(
            &to_person,
            &RespondApproval {
                approved: false,
                reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(answered.approver.name, "cli");
    let n = expect_channel(&mut a, "approval_response").await;
    assert_eq!(meta(&n, "meta_status"), "rejected");
    assert!(requests(&env).await.is_empty());
}
