//! The coordination tools as Claude Code lists them: the seed's names and
//! required parameters, short descriptions, and the compact profile without them.

#[macro_use]
mod common;

use common::*;
use serde_json::{Value, json};

/// Tool name → its required parameters (SPEC section 10, plus those added).
const COORDINATION: &[(&str, &[&str])] = &[
    ("create_task", &["title"]),
    ("start_task", &["task_id"]),
    ("complete_task", &["task_id"]),
    ("list_tasks", &[]),
    ("set_active_files", &["files"]),
    ("request_approval", &["approver", "action"]),
    ("respond_approval", &["approval_id", "approved"]),
    ("session_report", &[]),
    ("send_structured", &["to_id", "msg_type"]),
    ("post_decision", &["key", "value", "rationale"]),
    ("query_decisions", &[]),
    ("revoke_decision", &["decision_id"]),
    (
        "request_verification",
        &["to_id", "claim", "evidence_needed"],
    ),
    (
        "respond_verification",
        &["verification_id", "status", "response"],
    ),
    ("create_proposal", &["title", "description"]),
    ("vote_proposal", &["proposal_id", "vote"]),
    ("list_open_items", &[]),
];

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

fn required(t: &Value) -> Vec<String> {
    let mut r: Vec<String> = t["inputSchema"]["required"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    r.sort();
    r
}

#[tokio::test]
async fn the_full_profile_offers_every_coordination_tool_and_core_none() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("a");
    let mut full = Mcp::start(&env, &cwd).await;
    let list = full.request("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap().clone();
    assert_eq!(
        tools.len(),
        claude_peers_mcp::tools::CORE.len() + COORDINATION.len(),
        "{list}"
    );
    for (name, want) in COORDINATION {
        let t = tool(&tools, name);
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(required(t), want, "{name}: {t}");
        let d = t["description"].as_str().unwrap();
        assert!(
            !d.is_empty() && d.len() <= 400,
            "{name}: short, exact description ({} bytes)",
            d.len()
        );
    }
    let s = tool(&tools, "send_structured");
    let props = s["inputSchema"]["properties"].as_object().unwrap();
    for f in [
        "question",
        "expected_format",
        "context",
        "decision",
        "rationale",
        "alternatives_rejected",
        "summary",
        "files_changed",
        "constraints",
        "current_task",
        "file_path",
        "description",
        "acceptance_criteria",
        "work_completed",
        "remaining_work",
        "files_modified",
        "decisions_made",
        "blockers",
    ] {
        assert!(props.contains_key(f), "send_structured lacks {f}: {s}");
    }
    assert_eq!(
        props["msg_type"]["enum"],
        json!([
            "question",
            "decision",
            "context_share",
            "review_request",
            "handoff"
        ])
    );
    let files = &tool(&tools, "set_active_files")["inputSchema"]["properties"]["files"];
    assert!(files.to_string().contains("array"), "{files}");
    let votes = &tool(&tools, "create_proposal")["inputSchema"]["properties"]["required_votes"];
    assert!(votes.to_string().contains("integer"), "{votes}");

    let mut core = Mcp::start_with(&env, &cwd, &[("CLAUDE_PEERS_TOOLS", "core")]).await;
    let list = core.request("tools/list", json!({})).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for (name, _) in COORDINATION {
        assert!(!names.contains(name), "core offers {name}");
    }
    // A coordination tool is unknown in the core profile.
    let r = core
        .request(
            "tools/call",
            json!({"name": "create_task", "arguments": {"title": "t"}}),
        )
        .await;
    assert!(r.get("error").is_some(), "{r}");
}
