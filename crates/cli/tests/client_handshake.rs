//! The MCP server as each agent client meets it: the `clientInfo` names the
//! real clients send (Claude Code `claude-code`, Codex `codex-mcp-client`,
//! Gemini CLI `gemini-cli-mcp-client`, OpenCode `opencode`, read from the
//! pinned clients in `tests/clients/`) at the revision each negotiates. Only
//! Claude Code has channels: every other client is told about the tools, and
//! neither the instructions nor a tool description speak of channels to it.
//! The client's name is recorded and shown (`whoami`, `list_peers`).

#[macro_use]
mod common;

use common::*;
use serde_json::{Value, json};

/// (clientInfo name, protocol revision it asks for).
const CLIENTS: &[(&str, &str)] = &[
    ("claude-code", "2025-11-25"),
    ("codex-mcp-client", "2025-06-18"),
    ("gemini-cli-mcp-client", "2025-06-18"),
    ("opencode", "2025-11-25"),
];

async fn meet(env: &Env, name: &str, version: &str) -> (Mcp, Value) {
    let cwd = env.subdir(name);
    let mut m = Mcp::spawn(env, &cwd, &[]).await;
    let init = m
        .request(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {},
                   "clientInfo": {"name": name, "version": "1.2.3"}}),
        )
        .await;
    m.notify("notifications/initialized", json!({})).await;
    (m, init)
}

#[tokio::test]
async fn only_claude_code_is_told_about_channels_and_each_client_is_shown() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut servers = Vec::new();
    for (name, version) in CLIENTS {
        let (mut m, init) = meet(&env, name, version).await;
        let result = &init["result"];
        assert_eq!(result["protocolVersion"], *version, "{init}");
        let instructions = result["instructions"].as_str().unwrap().to_lowercase();
        let tools = m.request("tools/list", json!({})).await;
        let descriptions: Vec<String> = tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["description"].as_str().unwrap_or("").to_lowercase())
            .collect();
        if *name == "claude-code" {
            assert!(instructions.contains("<channel"), "{instructions}");
        } else {
            assert!(!instructions.contains("channel"), "{name}: {instructions}");
            assert!(instructions.contains("check_messages"), "{instructions}");
            assert!(instructions.contains("wait_for_messages"), "{instructions}");
            // Tool and parameter descriptions alike.
            let all = tools["result"]["tools"].to_string().to_lowercase();
            assert!(!all.contains("channel"), "{name}: {all}");
        }
        for d in &descriptions {
            assert!(!d.contains("other claude code sessions"), "{name}: {d}");
        }
        shown(&mut m, "whoami", &[name]).await;
        servers.push(m);
    }
    let others: Vec<&str> = CLIENTS[1..].iter().map(|(n, _)| *n).collect();
    shown(&mut servers[0], "list_peers", &others).await;
}

/// Wait until `tool`'s answer names each client (the server reports its
/// client to the broker once registered).
async fn shown(m: &mut Mcp, tool: &str, names: &[&str]) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = m.call(tool, json!({})).await.text;
        if names
            .iter()
            .all(|n| text.contains(&format!("client {n} 1.2.3")))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{tool} never named {names:?}: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// A Claude Code peer and a Codex peer talk through the tools, each MCP server
/// met with its client's handshake (Claude Code 2.1.332 probes
/// `server/discover` at 2026-07-28, is refused with -32022 and falls back to
/// `initialize` at 2025-11-25; Codex 0.171.0 sends `initialize` at 2025-06-18
/// as `codex-mcp-client`). Neither client runs a model here: the tool calls
/// are the ones each model would make.
#[tokio::test]
async fn a_claude_code_peer_and_a_codex_peer_message_each_other_through_the_tools() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let mut claude = Mcp::spawn(&env, &env.subdir("cc"), &[]).await;
    let probe = claude
        .request(
            "server/discover",
            json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                   "io.modelcontextprotocol/clientCapabilities": {},
                   "io.modelcontextprotocol/clientInfo": {"name": "claude-code", "version": "2.1.332"}}}),
        )
        .await;
    assert_eq!(probe["error"]["code"], -32022, "{probe}");
    claude
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {"roots": {}, "elicitation": {}},
                   "clientInfo": {"name": "claude-code", "version": "2.1.332"}}),
        )
        .await;
    claude.notify("notifications/initialized", json!({})).await;
    let (mut codex, _) = meet(&env, "codex-mcp-client", "2025-06-18").await;
    let name = |text: &str| text.split_whitespace().nth(2).unwrap().to_string();
    let claude_name = name(&claude.call("whoami", json!({})).await.text);
    let codex_name = name(&codex.call("whoami", json!({})).await.text);

    let sent = claude
        .call(
            "send_message",
            json!({"to_id": codex_name, "message": "please review src/a.rs"}),
        )
        .await;
    assert!(!sent.is_error, "{}", sent.text);
    // Codex's next claude-peers tool result says mail waits; check_messages reads it.
    let other = codex.call("list_peers", json!({})).await;
    assert!(other.text.contains("check_messages"), "{}", other.text);
    let inbox = codex.call("check_messages", json!({})).await;
    assert!(
        inbox.text.contains("please review src/a.rs") && inbox.text.contains(&claude_name),
        "{}",
        inbox.text
    );
    let reply = codex
        .call(
            "send_message",
            json!({"to_id": claude_name, "message": "reviewed: looks good"}),
        )
        .await;
    assert!(!reply.is_error, "{}", reply.text);
    let back = claude.call("check_messages", json!({})).await;
    assert!(
        back.text.contains("reviewed: looks good") && back.text.contains(&codex_name),
        "{}",
        back.text
    );
}
