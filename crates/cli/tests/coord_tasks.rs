//! Tasks through the MCP tools (and the operator's HTTP API): create with an
//! assignee, start, complete; who is told and who is not; who may do what;
//! validation; survival across a broker restart.

#[macro_use]
mod common;

use claude_peers_proto::coord::{AuditQuery, CompleteTask, CreateTask, TaskStatus};
use common::coord::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn assigned_started_completed_and_the_right_peers_are_told() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;

    let r = a
        .call(
            "create_task",
            json!({"title": "Write tests", "description": "for tasks", "assignee": b.name}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    assert!(
        r.text.contains(&format!("assigned to {}", b.name)),
        "{}",
        r.text
    );
    let id = id_in(&r.text, "task-");

    let n = expect_channel(&mut b, "task_assigned").await;
    assert_eq!(meta(&n, "meta_task_id"), id);
    assert_eq!(meta(&n, "from"), a.name);
    assert!(
        content(&n).contains("Write tests") && content(&n).contains(&id),
        "the notice names the task and its id: {}",
        content(&n)
    );

    let list = a.call("list_tasks", json!({})).await.text;
    assert!(
        list.contains(&format!("[pending] {id}: Write tests")),
        "{list}"
    );

    let r = b.call("start_task", json!({"task_id": id})).await;
    assert!(!r.is_error && r.text.contains("in progress"), "{}", r.text);
    let n = expect_channel(&mut a, "task_started").await;
    assert_eq!(meta(&n, "meta_task_id"), id);
    let list = a
        .call("list_tasks", json!({"status": "in_progress"}))
        .await
        .text;
    assert!(list.contains(&id), "{list}");

    let r = b
        .call(
            "complete_task",
            json!({"task_id": id, "result": "12 tests pass"}),
        )
        .await;
    assert!(!r.is_error && r.text.contains("completed"), "{}", r.text);
    let n = expect_channel(&mut a, "task_completed").await;
    assert!(content(&n).contains("12 tests pass"), "{}", content(&n));
    let list = a
        .call("list_tasks", json!({"status": "completed"}))
        .await
        .text;
    assert!(
        list.contains(&format!("[done] {id}")) && list.contains("12 tests pass"),
        "{list}"
    );
    assert!(
        a.call("list_tasks", json!({"status": "pending"}))
            .await
            .text
            .contains("No tasks found")
    );

    // Nobody else heard of it, and the other group cannot see it.
    for m in [&mut c, &mut x] {
        for n in m.drain_channel(QUIET).await {
            assert!(
                !meta(&n, "msg_type").starts_with("task_"),
                "{} was told: {n}",
                m.name
            );
        }
    }
    assert!(
        x.call("list_tasks", json!({}))
            .await
            .text
            .contains("No tasks found")
    );
    // b was told only once (assigned), not of its own start or completion.
    expect_none(&mut b, "task_started", QUIET).await;

    let audit = env
        .admin()
        .audit(&AuditQuery {
            action: Some("task.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["task.complete", "task.start", "task.create"],
        "{audit:?}"
    );
}

#[tokio::test]
async fn only_the_assignee_or_creator_acts_and_other_groups_learn_nothing() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, mut x) = team(&env).await;
    let x_id = id_of(&mut x).await;

    let id = id_in(
        &a.call(
            "create_task",
            json!({"title": "Fix login", "assignee": b.name}),
        )
        .await
        .text,
        "task-",
    );
    let r = c.call("complete_task", json!({"task_id": id})).await;
    refused(&r, "only its assignee");
    let r = c.call("start_task", json!({"task_id": id})).await;
    refused(&r, &format!("assigned to {}", b.name));
    for tool in ["complete_task", "start_task"] {
        let r = x.call(tool, json!({"task_id": id})).await;
        assert!(
            r.is_error && r.text.contains("no task with id"),
            "{tool}: {}",
            r.text
        );
    }
    // A peer of another group cannot be an assignee.
    let r = a
        .call("create_task", json!({"title": "t", "assignee": x_id}))
        .await;
    refused(&r, "different isolation group");
    let r = a
        .call("create_task", json!({"title": "t", "assignee": "nobody"}))
        .await;
    refused(&r, "no peer named");

    // Validation.
    let r = a.call("create_task", json!({"title": "   "})).await;
    refused(&r, "'title' cannot be empty");
    let r = a
        .call("create_task", json!({"title": "x".repeat(300)}))
        .await;
    refused(&r, "limit is 256");
    let r = a.call("create_task", json!({})).await;
    refused(&r, "title");
    let r = a.call("start_task", json!({"task_id": " "})).await;
    refused(&r, "cannot be empty");
    let r = a.call("list_tasks", json!({"status": "bogus"})).await;
    assert!(r.is_error, "{}", r.text);
    let err = env
        .admin()
        .json("GET", "/v1/tasks?status=bogus", &serde_json::Value::Null)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'status' must be one of"), "{err}");

    // Completed once only.
    assert!(
        !b.call("complete_task", json!({"task_id": id}))
            .await
            .is_error
    );
    for tool in ["complete_task", "start_task"] {
        let r = b.call(tool, json!({"task_id": id})).await;
        assert!(
            r.is_error && r.text.contains("already completed"),
            "{tool}: {}",
            r.text
        );
    }
    // A peer over HTTP cannot put a task in another group.
    let (_, outsider) = env.register("/outsider", |_| {}).await;
    let err = outsider
        .create_task(&CreateTask {
            title: "t".into(),
            group: Some("team".into()),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'group' is for the operator"), "{err}");
}

#[tokio::test]
async fn an_unassigned_task_is_claimed_and_the_creator_completing_tells_the_assignee() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, mut c, _x) = team(&env).await;
    let r = a.call("create_task", json!({"title": "Triage bugs"})).await;
    assert!(r.text.contains("unassigned"), "{}", r.text);
    let id = id_in(&r.text, "task-");
    expect_none(&mut b, "task_assigned", QUIET).await;

    let r = c.call("start_task", json!({"task_id": id})).await;
    assert!(!r.is_error, "{}", r.text);
    expect_channel(&mut a, "task_started").await;
    let list = b.call("list_tasks", json!({})).await.text;
    assert!(
        list.contains(&format!("assignee: {}", c.name)),
        "claimed: {list}"
    );
    // Starting again is harmless.
    assert!(!c.call("start_task", json!({"task_id": id})).await.is_error);

    let r = a
        .call(
            "complete_task",
            json!({"task_id": id, "result": "done by me"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let n = expect_channel(&mut c, "task_completed").await;
    assert!(
        content(&n).contains("done by me") && content(&n).contains(&a.name),
        "{}",
        content(&n)
    );
    expect_none(&mut a, "task_completed", QUIET).await;
}

#[tokio::test]
async fn the_operator_creates_assigns_and_completes_over_http() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, mut x) = team(&env).await;
    let b_id = id_of(&mut b).await;
    let admin = env.admin();

    let t = admin
        .create_task(&CreateTask {
            title: "Review the plan".into(),
            description: "from the dashboard".into(),
            assignee: Some(b_id.clone()),
            group: None,
        })
        .await
        .unwrap();
    assert_eq!(t.group.as_ref().unwrap().name, "team");
    assert_eq!(t.creator.id, "cli");
    let n = expect_channel(&mut b, "task_assigned").await;
    assert_eq!(meta(&n, "from_kind"), "operator");
    assert_eq!(meta(&n, "meta_task_id"), t.id);

    let err = admin
        .create_task(&CreateTask {
            title: "nowhere".into(),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'assignee' or a 'group'"), "{err}");
    let other = admin
        .create_task(&CreateTask {
            title: "For the other group".into(),
            group: Some("other".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        x.call("list_tasks", json!({}))
            .await
            .text
            .contains(&other.id)
    );
    assert!(
        !a.call("list_tasks", json!({}))
            .await
            .text
            .contains(&other.id)
    );

    let done = admin
        .complete_task(
            &t.id,
            &CompleteTask {
                result: Some("approved".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.completed_by.unwrap().id, "cli");
    let n = expect_channel(&mut b, "task_completed").await;
    assert!(content(&n).contains("approved"));

    // The dashboard state carries tasks.
    let state = admin.state().await.unwrap();
    assert_eq!(state.tasks.len(), 2);
}

#[tokio::test]
async fn tasks_survive_a_broker_restart() {
    let env = Env::new();
    let broker = Broker::start(&env, &[]).await;
    let (mut a, mut b, _c, _x) = team(&env).await;
    let id = id_in(
        &a.call(
            "create_task",
            json!({"title": "Persist me", "assignee": b.name}),
        )
        .await
        .text,
        "task-",
    );
    expect_channel(&mut b, "task_assigned").await;
    let _broker = restart(&env, broker, &[]).await;

    let r = b.call("start_task", json!({"task_id": id})).await;
    assert!(!r.is_error, "{}", r.text);
    let list = a.call("list_tasks", json!({})).await.text;
    assert!(
        list.contains(&format!("[in progress] {id}: Persist me")),
        "{list}"
    );
    expect_channel(&mut a, "task_started").await;
}
