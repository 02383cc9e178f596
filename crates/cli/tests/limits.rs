//! Limits: message size, send rate, queue depth, body size, request rate,
//! registrations — each with a clear error, harming nothing else.

mod common;

use claude_peers_proto::ErrorCode;
use claude_peers_proto::api::{BroadcastRequest, Scope};
use claude_peers_proto::limits::MAX_MESSAGE_BYTES;
use common::*;
use serde_json::json;

#[tokio::test]
async fn messages_up_to_64_kib_pass_and_larger_ones_are_refused() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (to, _) = env.register("/to", |_| {}).await;
    let (_, from) = env.register("/from", |_| {}).await;
    from.send(&send_req(&to.peer.id, "a".repeat(MAX_MESSAGE_BYTES)))
        .await
        .unwrap();
    let err = from
        .send(&send_req(&to.peer.id, "a".repeat(MAX_MESSAGE_BYTES + 1)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TooLarge));
    assert!(
        err.to_string()
            .contains("message too large: 65537 bytes, the limit is 65536 bytes"),
        "{err}"
    );
    // Multi-byte text is counted in bytes.
    let err = from
        .send(&send_req(
            &to.peer.id,
            "é".repeat(MAX_MESSAGE_BYTES / 2 + 1),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TooLarge));

    // Through the MCP tool, the agent reads the same sentence.
    let mut m = Mcp::start(&env, &env.subdir("m")).await;
    let r = m
        .call(
            "send_message",
            json!({"to_id": to.peer.id, "message": "x".repeat(MAX_MESSAGE_BYTES + 10)}),
        )
        .await;
    refused(&r, "message too large");
}

#[tokio::test]
async fn the_send_rate_is_limited_per_peer() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--sends-per-minute", "5"]).await;
    let (to, _) = env.register("/to", |_| {}).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let (_, b) = env.register("/b", |_| {}).await;
    for i in 0..5 {
        a.send(&send_req(&to.peer.id, format!("m{i}")))
            .await
            .unwrap();
    }
    let err = a
        .send(&send_req(&to.peer.id, "one too many"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited));
    assert!(
        err.to_string().contains("at most 5 messages per minute"),
        "{err}"
    );
    let err = a
        .broadcast(&BroadcastRequest {
            scope: Scope::Machine,
            text: "b".into(),
            context: None,
            origin: None,
            reply_to: None,
            status: false,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::RateLimited),
        "broadcasts count too"
    );
    b.send(&send_req(&to.peer.id, "independent"))
        .await
        .expect("another sender is not affected");
    // The refused sends were not stored.
    let (n, _) = (
        env.admin()
            .feed(Some(50), None)
            .await
            .unwrap()
            .messages
            .len(),
        (),
    );
    assert_eq!(n, 6);
    // Retry-After is sent.
    let resp = reqwest::Client::new()
        .post(env.url("/v1/messages"))
        .bearer_auth(a.token().unwrap())
        .json(&json!({"to": to.peer.id, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn a_full_queue_refuses_direct_messages_and_broadcasts_skip_it() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--queue-depth", "3"]).await;
    let (full, full_client) = env.register("/full", |_| {}).await;
    let (other, _) = env.register("/other", |_| {}).await;
    let (_, a) = env.register("/a", |_| {}).await;
    for i in 0..3 {
        a.send(&send_req(&full.peer.id, format!("m{i}")))
            .await
            .unwrap();
    }
    let err = a
        .send(&send_req(&full.peer.id, "overflow"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::QueueFull));
    assert!(
        err.to_string()
            .contains("queue is full: 3 messages are waiting")
            && err.to_string().contains("limit 3"),
        "{err}"
    );
    let r = a
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
        vec![other.peer.id.clone()]
    );
    // Once the recipient has its messages, the queue has room again.
    full_client.read(None).await.unwrap();
    a.send(&send_req(&full.peer.id, "room again"))
        .await
        .unwrap();
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let body = format!("{{\"to\":\"x\",\"text\":\"{}\"}}", "a".repeat(600 * 1024));
    let resp = reqwest::Client::new()
        .post(env.url("/v1/messages"))
        .bearer_auth(a.token().unwrap())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_large");
}

#[tokio::test]
async fn request_and_registration_rates_are_limited() {
    let env = Env::new();
    let _b = Broker::start(
        &env,
        &[
            "--requests-per-second",
            "5",
            "--registrations-per-minute",
            "3",
        ],
    )
    .await;
    let (_, a) = env.register("/a", |_| {}).await;
    let mut limited = 0;
    for _ in 0..20 {
        if let Err(e) = a.me().await {
            assert_eq!(e.code(), Some(ErrorCode::RateLimited), "{e}");
            assert!(e.to_string().contains("at most 5 per second"), "{e}");
            limited += 1;
        }
    }
    assert!(
        limited >= 10,
        "most of 20 quick requests are refused ({limited})"
    );
    env.register("/b", |_| {}).await;
    env.register("/c", |_| {}).await;
    let err = env
        .anon()
        .register(
            &claude_peers_proto::api::RegisterRequest {
                pid: 1,
                cwd: "/d".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited));
    assert!(err.to_string().contains("too many registrations"), "{err}");
}

/// The send limit is a layer on the routes that store messages for other
/// peers: votes and answers count like sends; pins and reactions store
/// nothing for anyone and do not count.
#[tokio::test]
async fn votes_and_answers_count_as_sends_pins_and_reactions_do_not() {
    use claude_peers_proto::coord::{CastVote, RespondApproval};
    use claude_peers_proto::emoji::REACTIONS;
    let env = Env::new();
    let _b = Broker::start(&env, &["--sends-per-minute", "2"]).await;
    let (to, _) = env.register("/to", |_| {}).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let id = a
        .send(&send_req(&to.peer.id, "m1"))
        .await
        .unwrap()
        .message_id;
    a.send(&send_req(&to.peer.id, "m2")).await.unwrap();
    // The budget is spent: a vote and an answer are refused before anything else.
    let vote = CastVote {
        vote: claude_peers_proto::coord::Vote::Approve,
        reason: None,
    };
    let err = a.vote("prop-none00", &vote).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
    let answer = RespondApproval {
        approved: true,
        reason: None,
    };
    let err = a
        .respond_approval("appr-none00", &answer)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err}");
    a.pin(id, true).await.expect("a pin is not a send");
    a.react(id, REACTIONS[0], false)
        .await
        .expect("a reaction is not a send");
}
