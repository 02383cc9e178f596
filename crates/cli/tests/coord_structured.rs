//! Structured messages and context snapshots through the MCP tools: the five
//! kinds with their text (the fields are the content, not repeated in the
//! channel meta); every
//! validation error names its field; isolation; the send limits; the sender's
//! context on every message; survival across a restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::StructuredRequest;
use claude_peers_proto::structured::StructuredType;
use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn the_five_kinds_arrive_with_text_and_typed_meta() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;

    let cases = [
        (
            json!({"msg_type": "question", "question": "Which DB?", "expected_format": "one word", "context": "perf matters"}),
            "**Question:** Which DB?\n**Expected format:** one word\n**Context:** perf matters",
            ("meta_question", "Which DB?"),
        ),
        (
            json!({"msg_type": "decision", "decision": "sqlite", "rationale": "simple", "alternatives_rejected": ["pg", "mysql"]}),
            "**Decision:** sqlite\n**Rationale:** simple\n**Rejected:** pg, mysql",
            ("meta_alternatives_rejected", "pg, mysql"),
        ),
        (
            json!({"msg_type": "context_share", "summary": "auth done", "files_changed": "src/auth.rs", "constraints": ["no unsafe"], "current_task": "tests"}),
            "**Context Update:** auth done\n**Files:** src/auth.rs\n**Constraints:** no unsafe\n**Task:** tests",
            ("meta_files_changed", "src/auth.rs"),
        ),
        (
            json!({"msg_type": "review_request", "file_path": "src/lib.rs", "description": "new parser", "acceptance_criteria": "no panics"}),
            "**Review Request:** `src/lib.rs`\nnew parser\n**Criteria:** no panics",
            ("meta_file_path", "src/lib.rs"),
        ),
        (
            json!({"msg_type": "handoff", "work_completed": "api", "remaining_work": "ui", "files_modified": ["a.rs", "b.rs"], "decisions_made": [], "blockers": "ci is red"}),
            "**Handoff**\n**Completed:** api\n**Remaining:** ui\n**Files:** a.rs, b.rs\n**Decisions:** (none)\n**Blockers:** ci is red",
            ("meta_blockers", "ci is red"),
        ),
    ];
    for (mut args, text, (key, value)) in cases {
        args["to_id"] = json!(b.name);
        let kind = args["msg_type"].as_str().unwrap().to_string();
        let r = a.call("send_structured", args).await;
        assert!(!r.is_error, "{kind}: {}", r.text);
        assert!(
            r.text.starts_with(&format!("Structured {kind} #"))
                && r.text.contains(&format!("sent to {}", b.name)),
            "{}",
            r.text
        );
        let n = expect_channel(&mut b, &kind).await;
        assert_eq!(content(&n), text);
        assert!(content(&n).contains(value), "{n}");
        assert_eq!(meta(&n, "msg_type"), kind);
        assert_eq!(meta(&n, "from"), a.name);
        for (k, v) in n["params"]["meta"].as_object().unwrap() {
            assert!(v.is_string(), "meta {k} is not a string");
            assert!(
                !k.starts_with("meta_"),
                "{key}: field {k} repeated in meta: {n}"
            );
        }
    }
    // The message keeps its type and fields (the dashboard shows them).
    let feed = env.admin().feed(Some(10), None).await.unwrap();
    let q = feed
        .messages
        .iter()
        .find(|m| m.msg_type.as_deref() == Some("question"))
        .unwrap();
    assert_eq!(q.metadata.as_ref().unwrap()["expected_format"], "one word");
    let h = feed
        .messages
        .iter()
        .find(|m| m.msg_type.as_deref() == Some("handoff"))
        .unwrap();
    assert_eq!(
        h.metadata.as_ref().unwrap()["blockers"],
        json!(["ci is red"]),
        "a single string is stored as a list of one"
    );
    let audit = env.admin().audit(&Default::default()).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e["action"] == "message.structured")
            .count(),
        5
    );
}

#[tokio::test]
async fn every_validation_error_names_the_field() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let to = b.name.clone();
    for (args, want, not) in [
        (
            json!({"msg_type": "invalid_type"}),
            "'msg_type' must be one of question, decision, context_share, review_request, handoff",
            "",
        ),
        (
            json!({"msg_type": "question", "question": "q"}),
            "a question message needs 'expected_format'",
            "'question',",
        ),
        (
            json!({"msg_type": "decision", "decision": "d"}),
            "needs 'rationale'",
            "'decision'",
        ),
        (json!({"msg_type": "context_share"}), "needs 'summary'", ""),
        (
            json!({"msg_type": "review_request", "description": "d"}),
            "needs 'file_path'",
            "'description'",
        ),
        (
            json!({"msg_type": "handoff", "work_completed": "w"}),
            "needs 'remaining_work', 'files_modified', 'decisions_made'",
            "'work_completed'",
        ),
        (
            json!({"msg_type": "handoff", "work_completed": "w", "remaining_work": "r", "files_modified": 5, "decisions_made": []}),
            "'files_modified' must be a list of strings (or one string), not a number",
            "",
        ),
        (
            json!({"msg_type": "decision", "decision": "d", "rationale": "r", "alternatives_rejected": [1, 2]}),
            "'alternatives_rejected' must be a list of strings",
            "",
        ),
        (
            json!({"msg_type": "question", "question": 42, "expected_format": "f"}),
            "'question' must be a string, not a number",
            "",
        ),
        (
            json!({"msg_type": "question", "question": "q", "expected_format": "f", "rationale": "r"}),
            "'rationale' is not a field of a question message",
            "",
        ),
        (
            json!({"msg_type": "question", "question": "q".repeat(17_000), "expected_format": "f"}),
            "'question' is 17000 bytes long, the limit is 16384",
            "",
        ),
    ] {
        let mut args = args;
        args["to_id"] = json!(to);
        let r = a.call("send_structured", args.clone()).await;
        assert!(r.is_error && r.text.contains(want), "{args}: {}", r.text);
        if !not.is_empty() {
            assert!(
                !r.text.contains(not),
                "names only what is missing: {}",
                r.text
            );
        }
    }
    let ok = json!({"msg_type": "context_share", "summary": "s"});
    let mut to_nobody = ok.clone();
    to_nobody["to_id"] = json!("nobody");
    let r = a.call("send_structured", to_nobody).await;
    refused(&r, "no peer named");
    let mut to_me = ok.clone();
    to_me["to_id"] = json!(a.name);
    let r = a.call("send_structured", to_me).await;
    refused(&r, "yourself");
    expect_none(&mut b, "context_share", QUIET).await;
}

#[tokio::test]
async fn other_groups_are_out_of_reach() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut x = Mcp::start(&env, &env.subdir("x")).await;
    group(&env, "team", &mut [&mut a]).await;
    let x_id = id_of(&mut x).await;
    let r = a
        .call(
            "send_structured",
            json!({"to_id": x_id, "msg_type": "context_share", "summary": "hi"}),
        )
        .await;
    refused(&r, "different isolation group");
    expect_none(&mut x, "context_share", QUIET).await;
}

#[tokio::test]
async fn structured_sends_count_against_the_send_limit_and_the_queue_depth() {
    let env = Env::new();
    let _broker = Broker::start(&env, &["--sends-per-minute", "3", "--queue-depth", "2"]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let (r, _) = env
        .register(&env.subdir("r").to_string_lossy(), |_| {})
        .await;
    let msg = json!({"to_id": r.peer.id, "msg_type": "context_share", "summary": "s"});
    assert!(!a.call("send_structured", msg.clone()).await.is_error);
    assert!(!a.call("send_structured", msg.clone()).await.is_error);
    let full = a.call("send_structured", msg.clone()).await;
    refused(&full, "queue is full");
    let limited = a.call("send_structured", msg).await;
    refused(&limited, "rate limited");
}

#[tokio::test]
async fn every_message_carries_the_senders_context() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let dir = env.subdir("repo");
    repo(&dir, "main");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/auth.rs"), "fn a() {}").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "auth"]);
    std::fs::write(dir.join("src/auth.rs"), "fn a() { todo!() }").unwrap();
    // Both in the repository on main: one automatic group.
    let mut a = Mcp::start(&env, &dir).await;
    let mut b = Mcp::start(&env, &dir).await;
    a.call("set_summary", json!({"summary": "working on auth"}))
        .await;

    a.call(
        "send_structured",
        json!({"to_id": b.name, "msg_type": "question", "question": "q", "expected_format": "f"}),
    )
    .await;
    let n = expect_channel(&mut b, "question").await;
    // The channel names the sender; its snapshot stays with the message (the
    // dashboard and the feed show it, list_peers shows the peer's).
    assert_eq!(meta(&n, "from"), a.name);
    for k in ["from_branch", "from_summary", "from_cwd", "sent_at"] {
        assert!(n["params"]["meta"].get(k).is_none(), "{k} in {n}");
    }
    a.call("send_message", json!({"to_id": b.name, "message": "plain"}))
        .await;
    b.channel(WAIT).await.unwrap();

    let feed = env.admin().feed(Some(10), None).await.unwrap();
    assert_eq!(feed.messages.len(), 2);
    for m in &feed.messages {
        let ctx = m.context.as_ref().expect("a context snapshot");
        assert_eq!(ctx.branch.as_deref(), Some("main"));
        assert_eq!(ctx.summary, "working on auth");
        assert_eq!(ctx.cwd, dir.to_string_lossy());
        assert_eq!(
            ctx.recent_files.first().map(String::as_str),
            Some("src/auth.rs"),
            "changed files first: {ctx:?}"
        );
    }
}

#[tokio::test]
async fn over_http_and_across_a_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (_, p) = env.register("/p", |_| {}).await;
    let (r, rc) = env.register("/r", |_| {}).await;
    let req = |to: &str| StructuredRequest {
        to: to.into(),
        msg_type: StructuredType::ReviewRequest,
        fields: json!({"file_path": "x.rs", "description": "look"})
            .as_object()
            .unwrap()
            .clone(),
        context: None,
        reply_to: None,
    };
    let sent = p.send_structured(&req(&r.peer.name)).await.unwrap();
    // The operator may send structured messages too.
    env.admin().send_structured(&req(&r.peer.id)).await.unwrap();
    let mut bad = req(&r.peer.id);
    bad.fields.remove("file_path");
    let err = p.send_structured(&bad).await.unwrap_err().to_string();
    assert!(err.contains("needs 'file_path'"), "{err}");

    let _broker = restart(&env, broker, &[]).await;
    let inbox = rc.inbox().await.unwrap();
    assert_eq!(inbox.messages.len(), 2);
    let m = &inbox.messages[0];
    assert_eq!(m.id, sent.message_id);
    assert_eq!(m.msg_type.as_deref(), Some("review_request"));
    assert_eq!(m.metadata.as_ref().unwrap()["file_path"], "x.rs");
    assert_eq!(inbox.messages[1].from.id, "cli");
}
