//! The session report (MCP `session_report` and HTTP), scoped to the caller's
//! group; the export of a session's messages; beginning a new session while the
//! broker runs; the session surviving a quick restart.

#[macro_use]
mod common;

use common::coord::*;
use common::*;
use serde_json::json;

/// alice and bob in "team", xavier in "other", with some of everything.
async fn busy_session(env: &Env) -> (Mcp, Mcp, Mcp) {
    let mut a = Mcp::start(env, &env.subdir("a")).await;
    let mut b = Mcp::start(env, &env.subdir("b")).await;
    let mut x = Mcp::start(env, &env.subdir("x")).await;
    group(env, "team", &mut [&mut a, &mut b]).await;
    group(env, "other", &mut [&mut x]).await;
    for (m, name) in [(&mut a, "alice"), (&mut b, "bob"), (&mut x, "xavier")] {
        assert!(!m.call("set_name", json!({"name": name})).await.is_error);
        m.name = name.into();
    }
    a.call("set_summary", json!({"summary": "building the report"}))
        .await;
    let task = id_in(
        &a.call(
            "create_task",
            json!({"title": "Write the parser", "assignee": "bob"}),
        )
        .await
        .text,
        "task-",
    );
    b.call(
        "complete_task",
        json!({"task_id": task, "result": "parser merged"}),
    )
    .await;
    a.call("create_task", json!({"title": "Write docs"})).await;
    a.call(
        "post_decision",
        json!({"key": "db", "value": "sqlite", "rationale": "simple", "category": "architecture"}),
    )
    .await;
    a.call(
        "request_verification",
        json!({"to_id": "bob", "claim": "tests pass", "evidence_needed": "ci"}),
    )
    .await;
    a.call(
        "create_proposal",
        json!({"title": "Adopt rustfmt", "description": "d", "required_votes": 1}),
    )
    .await;
    a.call(
        "request_approval",
        json!({"approver": "bob", "action": "delete old branches"}),
    )
    .await;
    a.call("set_active_files", json!({"files": ["/w/parser.rs"]}))
        .await;
    a.call(
        "send_message",
        json!({"to_id": "bob", "message": "hello bob"}),
    )
    .await;
    x.call("create_task", json!({"title": "Secret x task"}))
        .await;
    x.call(
        "post_decision",
        json!({"key": "hidden", "value": "x", "rationale": "r"}),
    )
    .await;
    (a, b, x)
}

#[tokio::test]
async fn the_report_covers_the_callers_group_only() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, _b, _x) = busy_session(&env).await;

    let r = a.call("session_report", json!({})).await;
    assert!(!r.is_error, "{}", r.text);
    let md = &r.text;
    for want in [
        "# Session Report",
        "**Session ID:**",
        "**Scope:** group team",
        "## Participants",
        "**alice**",
        "*building the report*",
        "**bob**",
        "## Groups",
        "## Tasks (1/2 completed)",
        "[x] **Write the parser** (bob, completed)",
        "parser merged",
        "[ ] **Write docs** (unassigned, pending)",
        "## Approvals",
        "⏳ delete old branches (alice → bob)",
        "## Decisions",
        "[architecture] **db** = sqlite — by alice",
        "## Verifications",
        "⏳ tests pass (alice → bob)",
        "## Proposals",
        "🗳️ **Adopt rustfmt** by alice — open, 0 approval(s) / 0 rejection(s) of 1 needed",
        "## Files In Progress",
        "**alice**: /w/parser.rs",
        "## Message Stats",
        "- **Total messages:**",
        "## Recent Activity",
        "**task.create** — alice",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
    for hidden in ["xavier", "Secret x task", "hidden", "other"] {
        assert!(!md.contains(hidden), "{hidden:?} leaked into:\n{md}");
    }

    // The operator's report covers everything.
    let all = env.admin().session_report(None).await.unwrap();
    for want in [
        "**Scope:** every group and the lobby",
        "xavier",
        "Secret x task",
        "**hidden** = x",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
}

#[tokio::test]
async fn export_and_a_new_session() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (mut a, _b, _x) = busy_session(&env).await;
    let admin = env.admin();

    let text = admin.session_export(None).await.unwrap();
    assert!(text.starts_with("# claude-peers session "), "{text}");
    assert!(text.contains("] alice → bob: hello bob"), "{text}");
    assert!(
        text.contains("] alice → bob [task_assigned]: **Task assigned to you:** Write the parser"),
        "{text}"
    );
    let (_, peer) = env.register("/p", |_| {}).await;
    let err = peer.session_export(None).await.unwrap_err().to_string();
    assert!(err.contains("only the operator"), "{err}");

    // A quick restart keeps the session.
    let before = admin.sessions().await.unwrap();
    let _broker = restart(&env, broker, &[]).await;
    let after = admin.sessions().await.unwrap();
    assert_eq!(
        before, after,
        "the session continues across a quick restart"
    );
    let old = after[0].id.clone();
    assert!(after[0].current);

    // A new session, while the broker runs.
    let new = admin.begin_session().await.unwrap();
    assert_ne!(new.id, old);
    let sessions = admin.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().any(|s| s.id == new.id && s.current));
    assert!(
        a.call("list_tasks", json!({}))
            .await
            .text
            .contains("No tasks found"),
        "session-scoped lists start empty"
    );
    let md = a.call("session_report", json!({})).await.text;
    assert!(
        md.contains(&format!("`{}` (current)", new.id)) && !md.contains("## Tasks"),
        "{md}"
    );
    // Decisions last across sessions; the old session's report is still there.
    assert!(
        a.call("query_decisions", json!({}))
            .await
            .text
            .contains("**db** = sqlite")
    );
    let old_md = admin.session_report(Some(&old)).await.unwrap();
    assert!(old_md.contains("Write the parser"), "{old_md}");
    let err = admin
        .session_report(Some("nope"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no session"), "{err}");
    let audit = admin.audit(&Default::default()).await.unwrap();
    assert!(audit.iter().any(|e| e["action"] == "session.begin"));

    // The same from the CLI.
    let (ok, out, err) = env.cli(&["report", "--session", &old]).await;
    assert!(ok && out.contains("Write the parser"), "{out}{err}");
    let (ok, out, err) = env.cli(&["report", "--export", "--session", &old]).await;
    assert!(ok && out.contains("alice → bob: hello bob"), "{out}{err}");
    let (ok, out, err) = env.cli(&["new-session"]).await;
    assert!(ok && out.starts_with("New session "), "{out}{err}");
    assert_eq!(admin.sessions().await.unwrap().len(), 3);
}
