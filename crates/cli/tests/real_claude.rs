//! End to end with the real Claude Code (pinned in `tests/clients/`), offline
//! against a fake model endpoint that records every request: a peer's message
//! is proved delivered when it is in a request the model receives.
//!
//! The sessions are heavy (a native client, its MCP servers, a broker), so the
//! tests run one at a time ([`SERIAL`]) to stay fast and stable on a small
//! machine.

#[macro_use]
mod common;
#[path = "common/claude/mod.rs"]
mod claude;

use std::time::{Duration, Instant};

use claude::{CURRENT, OLDER, Options, Recorded, Reply, Session};
use common::*;
use serde_json::{Value, json};

/// One real-client test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A message text no other request could contain.
fn marker(what: &str) -> String {
    format!(
        "peer-note-{what}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A peer that sends: our MCP server in its own directory, over stdio.
async fn sender(env: &Env) -> Mcp {
    Mcp::start(env, &env.subdir("sender")).await
}

/// `send_message` from `from` to the session; the tool's answer.
async fn send(from: &mut Mcp, to: &Session, text: &str) -> String {
    let r = from
        .call(
            "send_message",
            json!({"to_id": to.peer_name, "message": text}),
        )
        .await;
    assert!(!r.is_error, "send_message failed: {}", r.text);
    r.text
}

fn has(text: &str) -> impl Fn(&Recorded) -> bool + '_ {
    move |r: &Recorded| r.is_turn() && r.messages_text().contains(text)
}

/// JSON-RPC lines of a file written by `tee`.
fn jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_client_lands_on_2025_11_25_with_the_channel_capability() {
    let _one = SERIAL.lock().await;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    // Our server behind two `tee`s: the exact lines each side wrote.
    let wire = env.subdir("wire");
    let (sent, answered) = (wire.join("client.jsonl"), wire.join("server.jsonl"));
    let script = format!(
        "tee -a '{}' | '{}' mcp | tee -a '{}'",
        sent.display(),
        BIN,
        answered.display()
    );
    let mut opts = Options::new(CURRENT);
    opts.mcp_server =
        Some(json!({"type": "stdio", "command": "/bin/sh", "args": ["-c", script], "env": {}}));
    let s = Session::start(&env, opts).await;
    // Ready means the client's side of the handshake is done.
    let established = claude::CONNECTED;

    let sent = jsonl(&sent);
    let answered = jsonl(&answered);
    eprintln!("client → server:");
    for v in &sent {
        eprintln!("  {v}");
    }
    eprintln!("server → client:");
    for v in &answered {
        eprintln!("  {v}");
    }
    let answer_to = |id: &Value| {
        answered
            .iter()
            .find(|v| &v["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // The client first probes the stateless revision; we refuse it.
    let discover = sent
        .iter()
        .find(|v| v["method"] == "server/discover")
        .unwrap_or_else(|| s.fail("the client sent no server/discover"));
    assert_eq!(answer_to(&discover["id"])["error"]["code"], -32022);
    // Then the classic handshake, which lands on 2025-11-25 with the channel.
    let init = sent
        .iter()
        .find(|v| v["method"] == "initialize")
        .unwrap_or_else(|| s.fail("the client sent no initialize"));
    assert_eq!(init["params"]["clientInfo"]["name"], "claude-code");
    assert_eq!(init["params"]["clientInfo"]["version"], CURRENT);
    let result = answer_to(&init["id"])["result"].clone();
    assert_eq!(result["protocolVersion"], "2025-11-25", "{result}");
    assert_eq!(
        result["capabilities"]["experimental"]["claude/channel"],
        json!({}),
        "{result}"
    );
    assert!(
        sent.iter()
            .any(|v| v["method"] == "notifications/initialized"),
        "no notifications/initialized"
    );
    // And the client agrees: a legacy-era connection, so a channel is possible.
    let log = s.debug_log();
    let line = log
        .lines()
        .find(|l| l.contains(established))
        .unwrap_or_else(|| s.fail("no connection line for claude-peers in the debug log"));
    eprintln!("client: {line}");
    assert!(
        line.contains("\"protocolEra\":\"legacy\"")
            && line.contains("\"negotiatedProtocolVersion\":\"2025-11-25\""),
        "{line}"
    );
}

/// A session in a turn (its model reply held) receives a message; the turn
/// goes on (the model calls our tools) and the message is in a later request
/// of the same turn, without anyone typing.
async fn busy_session_cell(version: &'static str) -> Duration {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let s = Session::start(&env, Options::new(version)).await;
    let mut peer = sender(&env).await;
    let text = marker("busy");

    let held = s.model.then_held(Reply::peers_tool("whoami", json!({})));
    s.model.then(Reply::peers_tool("check_messages", json!({})));
    let from = s.model.len();
    s.type_line("Please look at the build.");
    s.model_request(from, "the typed prompt", has("Please look at the build."))
        .await;
    let from = s.model.len();
    let t0 = Instant::now();
    send(&mut peer, &s, &text).await;
    held.release();
    let got = s
        .model_request(from, "the peer's message", has(&text))
        .await;
    got.at - t0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_session_gets_the_message_within_its_turn() {
    let _one = SERIAL.lock().await;
    let took = busy_session_cell(CURRENT).await;
    eprintln!("busy {CURRENT}: in the model's request after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_client_busy_session_gets_the_message_within_its_turn() {
    let _one = SERIAL.lock().await;
    let took = busy_session_cell(OLDER).await;
    eprintln!("busy {OLDER}: in the model's request after {took:?}");
}

/// Start a session, let it run one turn, and wait until it is idle at its
/// prompt.
async fn idle_session(env: &Env, opts: Options) -> Session {
    let s = Session::start(env, opts).await;
    let from = s.model.len();
    s.type_line("Hello.");
    s.model_request(from, "the typed prompt", has("Hello."))
        .await;
    s.wait_idle().await;
    s
}

/// An idle session receives a message; it reaches the model with nobody
/// typing. Returns the time from `send_message` to the request holding it
/// and that request.
async fn idle_wake_cell(env: &Env, s: &Session) -> (Duration, Recorded) {
    let mut peer = sender(env).await;
    let text = marker("idle");
    let from = s.model.len();
    let t0 = Instant::now();
    send(&mut peer, s, &text).await;
    // No keystroke from here on: only a push can start the turn.
    let got = s
        .model_request(from, "the peer's message, with nobody typing", has(&text))
        .await;
    (got.at - t0, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_push_reads_the_message_at_its_next_tool_call() {
    let _one = SERIAL.lock().await;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    // No messaging socket, no hooks, no channels: only the tools are left.
    let s = idle_session(
        &env,
        Options::new(CURRENT).env("CLAUDE_CODE_HARBOR_KITE", "0"),
    )
    .await;
    assert!(
        s.session_file()
            .is_some_and(|f| f["messagingSocketPath"].is_null()),
        "the messaging socket should be off: {:?}",
        s.session_file()
    );
    let mut peer = sender(&env).await;
    let text = marker("tool");
    send(&mut peer, &s, &text).await;
    // The person types; the model calls a tool, whose result carries the
    // unread line; the model follows it and calls check_messages.
    s.model.then(Reply::peers_tool("whoami", json!({})));
    let from = s.model.len();
    s.type_line("What is new?");
    let told = s
        .model_request(from, "a tool result with the unread line", |r| {
            r.is_turn() && r.ends_with_tool_result() && r.last_message_text().contains("unread")
        })
        .await;
    assert!(
        told.last_message_text()
            .contains("[claude-peers] 1 unread message"),
        "{}",
        told.last_message_text()
    );
    let got = s
        .model_request(from, "the peer's message", has(&text))
        .await;
    assert!(got.ends_with_tool_result(), "read by check_messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the messaging-socket rung in the MCP server (ladder helper)"]
async fn an_idle_session_wakes_without_a_keystroke() {
    let _one = SERIAL.lock().await;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let s = idle_session(&env, Options::new(CURRENT)).await;
    let (took, got) = idle_wake_cell(&env, &s).await;
    // The client's own preamble: the socket delivered it as a peer's prompt.
    assert!(
        got.last_message_text()
            .contains("Another Claude session sent a message"),
        "{}",
        got.last_message_text()
    );
    eprintln!("idle {CURRENT} (socket): in the model's request after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `claude-peers install` (setup helper) and the Stop-hook waiter `claude-peers hook Stop` (ladder helper)"]
async fn an_idle_older_client_is_woken_by_its_stop_hook() {
    let _one = SERIAL.lock().await;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let s = idle_session(&env, Options::new(OLDER).installed()).await;
    let (took, got) = idle_wake_cell(&env, &s).await;
    assert_woken_by_hook(&s, &got);
    eprintln!("idle {OLDER} (wake hook): in the model's request after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `claude-peers install` (setup helper) and the Stop-hook waiter `claude-peers hook Stop` (ladder helper)"]
async fn an_idle_session_without_its_socket_is_woken_by_its_stop_hook() {
    let _one = SERIAL.lock().await;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let opts = Options::new(CURRENT)
        .env("CLAUDE_CODE_HARBOR_KITE", "0")
        .installed();
    let s = idle_session(&env, opts).await;
    let (took, got) = idle_wake_cell(&env, &s).await;
    assert_woken_by_hook(&s, &got);
    eprintln!("idle {CURRENT} without socket (wake hook): in the model's request after {took:?}");
}

/// The turn that read the message was started by our Stop hook: some request
/// before it carries the hook's wake text.
fn assert_woken_by_hook(s: &Session, got: &Recorded) {
    let woke = s
        .model
        .requests()
        .into_iter()
        .filter(|r| r.is_turn() && r.at <= got.at)
        .any(|r| r.last_message_text().contains("Stop hook"));
    if !woke {
        s.fail("no request carried the Stop hook's wake text");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs `claude-peers install` (setup helper) and next-turn injection by `claude-peers hook UserPromptSubmit` (ladder helper)"]
async fn a_message_to_a_closed_session_reaches_it_when_it_is_resumed() {
    let _one = SERIAL.lock().await;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let session_id = "4b1f7a3e-0c55-4e0e-9a51-6f3d2c7e8a90";
    let mut opts = Options::new(CURRENT).installed();
    opts.args = vec!["--session-id".into(), session_id.into()];
    let mut s = idle_session(&env, opts).await;
    let name = s.peer_name.clone();
    s.close();
    let mut peer = sender(&env).await;
    let text = marker("closed");
    let r = peer
        .call("send_message", json!({"to_id": name, "message": text}))
        .await;
    assert!(!r.is_error, "send_message failed: {}", r.text);
    s.launch(&env, &["--resume".into(), session_id.into()])
        .await;
    assert_eq!(s.peer_name, name, "the resumed session is the same peer");
    let from = s.model.len();
    s.type_line("Where were we?");
    s.model_request(from, "the message kept for the closed session", has(&text))
        .await;
}
