//! The reach-table cells, shared by the pass/fail tests (`real_claude.rs`)
//! and the measurement (`reach_table.rs`): a peer sends one message to a real
//! session in a given state, and the cell waits until the message is in a
//! request the model receives, then says which rung carried it and how long
//! it took from `send_message`.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Recorded, Reply, Session};
use crate::common::{Env, Mcp};

/// A message text no other request could contain.
pub fn marker(what: &str) -> String {
    format!(
        "peer-note-{what}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A peer that sends: our MCP server in its own directory, over stdio.
pub async fn sender(env: &Env) -> Mcp {
    Mcp::start(env, &env.subdir("sender")).await
}

/// `send_message` from `from` to the peer named `to`; the tool's answer.
pub async fn send(from: &mut Mcp, to: &str, text: &str) -> String {
    let r = from
        .call("send_message", json!({"to_id": to, "message": text}))
        .await;
    assert!(!r.is_error, "send_message failed: {}", r.text);
    r.text
}

/// A turn request whose messages hold `text`.
pub fn has(text: &str) -> impl Fn(&Recorded) -> bool + '_ {
    move |r: &Recorded| r.is_turn() && r.messages_text().contains(text)
}

/// A message that reached the model.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// From `send_message` (or, for [`at_next_prompt`], from the keystroke)
    /// until the request that holds it.
    pub took: Duration,
    /// Which rung carried it (see [`rung`]).
    pub rung: &'static str,
    pub request: Recorded,
}

/// The client's preamble for a message that came through its messaging socket.
pub const SOCKET_PREAMBLE: &str = "Another Claude session sent a message";

/// How the client hands the model what an `asyncRewake` Stop hook wrote when
/// it exits 2.
pub const STOP_HOOK_WAKE: &str = "Stop hook blocking error";

/// Which rung put `text` into `got`, judged by what the model was given in the
/// requests from index `from` on: the client's socket preamble (`socket`), a
/// channel block (`channel`), a Stop hook's wake text that is new since the
/// send (`wake`: the hook started the turn, whatever then carried the text),
/// a tool result (`tool-only`: the model read it with a tool), other context
/// added to the turn (`next-turn`).
pub fn rung(s: &Session, from: usize, got: &Recorded, text: &str) -> &'static str {
    let last = got.body["messages"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    let blocks = last["content"].as_array().cloned().unwrap_or_default();
    let block = blocks
        .iter()
        .find(|b| b.to_string().contains(text))
        .cloned()
        .unwrap_or_default();
    // A Stop hook's wake text the conversation did not hold before the send.
    let wakes = |r: &Recorded| r.messages_text().matches(STOP_HOOK_WAKE).count();
    let before = s
        .model
        .requests()
        .iter()
        .take(from)
        .filter(|r| r.is_turn())
        .map(wakes)
        .max()
        .unwrap_or(0);
    let woken = wakes(got) > before;
    let inner = block.to_string();
    if inner.contains(SOCKET_PREAMBLE) {
        "socket"
    } else if inner.contains("<channel source=") {
        "channel"
    } else if woken {
        "wake"
    } else if block["type"] == "tool_result" {
        "tool-only"
    } else {
        "next-turn"
    }
}

/// Busy: the session is in a turn (its model reply held) when the message is
/// sent; the turn goes on at once (the model calls `whoami`, then follows
/// whatever it is told) and nobody types.
pub async fn busy(env: &Env, s: &Session, text: &str) -> Result<Delivery, String> {
    let mut peer = sender(env).await;
    let held = s.model.then_held(Reply::peers_tool("whoami", json!({})));
    let from = s.model.len();
    s.type_line("Please look at the build.");
    s.model_request(from, "the typed prompt", has("Please look at the build."))
        .await;
    let from = s.model.len();
    let t0 = Instant::now();
    send(&mut peer, &s.peer_name, text).await;
    held.release();
    let got = s
        .model
        .wait_from(from, super::MODEL_WAIT, "the peer's message", has(text))
        .await?;
    s.wait_idle().await;
    Ok(Delivery {
        took: got.at - t0,
        rung: rung(s, from, &got, text),
        request: got,
    })
}

/// Idle: the session waits at its prompt when the message is sent; nobody
/// types. `Err` when it is not in a request within `wait`.
pub async fn idle(env: &Env, s: &Session, text: &str, wait: Duration) -> Result<Delivery, String> {
    let mut peer = sender(env).await;
    let from = s.model.len();
    let t0 = Instant::now();
    send(&mut peer, &s.peer_name, text).await;
    arrives(s, from, t0, text, wait).await
}

/// The first request from index `from` on holding `text`, within `wait`,
/// timed from `t0`.
pub async fn arrives(
    s: &Session,
    from: usize,
    t0: Instant,
    text: &str,
    wait: Duration,
) -> Result<Delivery, String> {
    let got = s
        .model
        .wait_from(
            from,
            wait,
            "the peer's message, with nobody typing",
            has(text),
        )
        .await?;
    Ok(Delivery {
        took: got.at - t0,
        rung: rung(s, from, &got, text),
        request: got,
    })
}

/// The person types a prompt: the first request holding `text` from then on
/// (the model follows what it is told, e.g. the unread line after a tool).
pub async fn at_next_prompt(s: &Session, text: &str) -> Delivery {
    s.model.then(Reply::peers_tool("whoami", json!({})));
    let from = s.model.len();
    let t0 = Instant::now();
    s.type_line("What is new?");
    let got = s.model_request(from, "the peer's message", has(text)).await;
    Delivery {
        took: got.at - t0,
        rung: rung(s, from, &got, text),
        request: got,
    }
}
