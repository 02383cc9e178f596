//! `claude-peers mcp` and its own binary: the server runs as
//! `claude-peers-mcp` when that lies beside `claude-peers` (same process,
//! options passed on as resolved), in-process when it does not, and in-process
//! again when the sibling is of another version.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::json;

const LEAN: &str = env!("CARGO_BIN_EXE_claude-peers-mcp");

/// The executable a running process was started from.
fn exe_of(m: &Mcp) -> PathBuf {
    std::fs::read_link(format!("/proc/{}/exe", m.child.id().unwrap())).unwrap()
}

/// The server offers the `core` tool set.
async fn offers_core(m: &mut Mcp) {
    let tools = m.request("tools/list", json!({})).await;
    assert_eq!(
        tools["result"]["tools"].as_array().unwrap().len(),
        claude_peers_mcp::tools::CORE.len(),
        "{tools}"
    );
}

/// A message from `a` reaches `b` as a channel notification.
async fn message_arrives(a: &mut Mcp, b: &mut Mcp) {
    let r = a
        .call(
            "send_message",
            json!({"to_id": b.name, "message": "over here"}),
        )
        .await;
    assert!(!r.is_error, "{}", r.text);
    let n = b.channel(WAIT).await.expect("no channel notification");
    assert_eq!(n["params"]["content"], "over here", "{n}");
}

#[tokio::test]
async fn the_server_runs_as_its_own_binary_with_the_options_resolved_by_claude_peers() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    assert_eq!(exe_of(&a), Path::new(LEAN).canonicalize().unwrap());

    // Flags given to `claude-peers` win over the environment in the sibling
    // too: a wrong port in the environment, the right one as a flag, and the
    // tool set as a flag only.
    let port = format!("--port={}", env.port());
    let mut cmd = env.command(&[&port, "mcp", "--tools", "core"]);
    cmd.env("CLAUDE_PEERS_PORT", "1");
    let mut b = Mcp::spawn_command(&env, cmd, &env.subdir("b"));
    b.handshake("2025-11-25").await;
    b.identify().await;
    assert_eq!(exe_of(&b), Path::new(LEAN).canonicalize().unwrap());
    offers_core(&mut b).await;
    message_arrives(&mut a, &mut b).await;
}

#[tokio::test]
async fn without_the_sibling_claude_peers_serves_in_process() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    // `claude-peers` alone in a directory.
    let alone = env.subdir("bin").join("claude-peers");
    if std::fs::hard_link(BIN, &alone).is_err() {
        std::fs::copy(BIN, &alone).unwrap();
    }
    let mut a = Mcp::spawn_command(&env, env.command_of(&alone, &["mcp"]), &env.subdir("a"));
    a.handshake("2025-11-25").await;
    a.identify().await;
    assert_eq!(exe_of(&a), alone);
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    message_arrives(&mut b, &mut a).await;
    message_arrives(&mut a, &mut b).await;
}

#[tokio::test]
async fn a_sibling_of_another_version_hands_back_to_claude_peers() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let exe = format!("--exe={BIN}");
    let cmd = env.command_of(
        Path::new(LEAN),
        &[&exe, "--exe-version=0.0.0-other", "--tools=core"],
    );
    let mut a = Mcp::spawn_command(&env, cmd, &env.subdir("a"));
    a.handshake("2025-11-25").await;
    a.identify().await;
    assert_eq!(exe_of(&a), Path::new(BIN).canonicalize().unwrap());
    offers_core(&mut a).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    message_arrives(&mut b, &mut a).await;
    // The process stays one: still the child the client started.
    tokio::time::timeout(Duration::from_millis(1), a.child.wait())
        .await
        .expect_err("the server exited");
}
