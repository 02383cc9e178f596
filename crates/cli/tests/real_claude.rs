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

use claude::cells::*;
use claude::{CURRENT, OLDER, Options, Session};
use common::*;
use serde_json::{Value, json};

/// One real-client test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
    let short = |v: &Value| v.to_string().chars().take(300).collect::<String>();
    eprintln!("client → server:");
    for v in &sent {
        eprintln!("  {}", short(v));
    }
    eprintln!("server → client:");
    for v in &answered {
        eprintln!("  {}", short(v));
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
/// A session of `opts` on a fresh broker.
async fn world(opts: Options) -> (Env, Broker, Session) {
    let env = Env::new();
    let b = Broker::start(&env, &[]).await;
    let s = Session::start(&env, opts).await;
    (env, b, s)
}

/// Unwrap a cell's delivery, or fail with the session's diagnostics.
fn delivered(s: &Session, d: Result<Delivery, String>) -> Delivery {
    d.unwrap_or_else(|e| s.fail(&e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_session_gets_the_message_within_its_turn() {
    let _one = SERIAL.lock().await;
    let (env, _b, s) = world(Options::new(CURRENT)).await;
    let d = delivered(&s, busy(&env, &s, &marker("busy")).await);
    eprintln!("busy {CURRENT}: {} after {:?}", d.rung, d.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_client_busy_session_gets_the_message_within_its_turn() {
    let _one = SERIAL.lock().await;
    let (env, _b, s) = world(Options::new(OLDER)).await;
    let d = delivered(&s, busy(&env, &s, &marker("busy")).await);
    eprintln!("busy {OLDER}: {} after {:?}", d.rung, d.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_push_reads_the_message_at_its_next_tool_call() {
    let _one = SERIAL.lock().await;
    // No messaging socket, no hooks, no channels: only the tools are left.
    let (env, _b, s) = world(Options::new(CURRENT).env("CLAUDE_CODE_HARBOR_KITE", "0")).await;
    assert!(
        s.session_file()
            .is_some_and(|f| f["messagingSocketPath"].is_null()),
        "the messaging socket should be off: {:?}",
        s.session_file()
    );
    let mut peer = sender(&env).await;
    let text = marker("tool");
    send(&mut peer, &s.peer_name, &text).await;
    // The person types; the model calls a tool, whose result carries the
    // unread line; the model follows it and calls check_messages.
    let d = at_next_prompt(&s, &text).await;
    let told = s.model.requests().into_iter().any(|r| {
        r.ends_with_tool_result()
            && r.last_message_text()
                .contains("[claude-peers] 1 unread message")
    });
    if !told || d.rung != "tool-only" {
        s.fail(&format!(
            "expected the unread line, then check_messages; got {}",
            d.rung
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_wakes_without_a_keystroke() {
    let _one = SERIAL.lock().await;
    let (env, _b, s) = world(Options::new(CURRENT)).await;
    let d = delivered(
        &s,
        idle(&env, &s, &marker("idle"), claude::MODEL_WAIT).await,
    );
    // The client's own preamble: the socket delivered it as a peer's prompt.
    if d.rung != "socket" {
        s.fail(&format!(
            "delivered by {}, not by the session's socket",
            d.rung
        ));
    }
    eprintln!("idle {CURRENT}: {} after {:?}", d.rung, d.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_older_client_is_woken_by_its_stop_hook() {
    let _one = SERIAL.lock().await;
    let (env, _b, s) = world(Options::new(OLDER).installed()).await;
    let d = delivered(
        &s,
        idle(&env, &s, &marker("idle"), claude::MODEL_WAIT).await,
    );
    if d.rung != "wake" {
        s.fail(&format!(
            "delivered by {}, not by the Stop hook: {}",
            d.rung,
            serde_json::to_string_pretty(
                &d.request.body["messages"]
                    .as_array()
                    .map(|a| a[a.len().saturating_sub(3)..].to_vec())
            )
            .unwrap()
        ));
    }
    eprintln!("idle {OLDER}: {} after {:?}", d.rung, d.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_without_its_socket_is_woken_by_its_stop_hook() {
    let _one = SERIAL.lock().await;
    let opts = Options::new(CURRENT)
        .env("CLAUDE_CODE_HARBOR_KITE", "0")
        .installed();
    let (env, _b, s) = world(opts).await;
    let d = delivered(
        &s,
        idle(&env, &s, &marker("idle"), claude::MODEL_WAIT).await,
    );
    if d.rung != "wake" {
        s.fail(&format!(
            "delivered by {}, not by the Stop hook: {}",
            d.rung,
            d.request.last_message_text()
        ));
    }
    eprintln!(
        "idle {CURRENT} without socket: {} after {:?}",
        d.rung, d.took
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_a_closed_session_reaches_it_when_it_is_resumed() {
    let _one = SERIAL.lock().await;
    let session_id = "4b1f7a3e-0c55-4e0e-9a51-6f3d2c7e8a90";
    let mut opts = Options::new(CURRENT).installed();
    opts.args = vec!["--session-id".into(), session_id.into()];
    let (env, _b, mut s) = world(opts).await;
    // By id: the name is free once the session has left.
    let id = s.peer_id.clone();
    s.close();
    let mut peer = sender(&env).await;
    let text = marker("closed");
    send(&mut peer, &id, &text).await;
    s.launch(&env, &["--resume".into(), session_id.into()])
        .await;
    // The client keeps its session id across the restart; our peer must too.
    let resumed = s.session_file().map(|f| f["sessionId"].clone());
    assert_eq!(
        resumed,
        Some(json!(session_id)),
        "the client resumed the session"
    );
    if s.peer_id != id {
        s.fail(&format!(
            "the resumed session registered as a new peer ({} instead of {id})",
            s.peer_id
        ));
    }
    let d = at_next_prompt(&s, &text).await;
    eprintln!(
        "closed, resumed {CURRENT}: {} {:?} after the prompt",
        d.rung, d.took
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_a_peer_started_asks_the_person_before_bash() {
    let _one = SERIAL.lock().await;
    // Installed as a person would (hooks included); nothing else configured.
    let (env, _b, s) = world(Options::new(CURRENT).installed()).await;
    let target = env.subdir("guard").join("made-by-a-peer-turn");
    // The model answers the peer's turn by running a command.
    s.model.then(claude::Reply::Tool {
        name: "Bash".into(),
        input: json!({"command": format!("touch {}", target.display()), "description": "Do what the peer asked"}),
    });
    let text = marker("guard");
    // Idle at its prompt; the peer's message starts the turn (the socket).
    let d = delivered(&s, idle(&env, &s, &text, claude::MODEL_WAIT).await);
    assert_eq!(d.rung, "socket", "the peer's message started the turn");
    s.wait_until(
        "the client asks the person, with the guard's reason",
        claude::MODEL_WAIT,
        || {
            let screen = s.screen();
            screen.contains("Hook PreToolUse:Bash requires confirmation")
                && screen.contains("started by another agent")
        },
    )
    .await;
    assert!(
        !target.exists(),
        "the command ran without the person's go-ahead"
    );
}
