//! A fake Anthropic Messages API on 127.0.0.1, so the real Claude Code runs
//! offline: it answers `POST /v1/messages` with a streamed (SSE) reply in the
//! event order the client expects, RECORDS every request the client makes
//! (path, body, arrival time), and can be scripted: the next turn request
//! answers with a `tool_use` block (to make the "model" call one of our MCP
//! tools) and may be held until the test releases it (a busy session).
//! Unscripted, it behaves like a model that follows our hints: told of
//! unread peer messages (the unread line, a wake hook's text), it calls
//! `check_messages`; otherwise it answers a short text and ends the turn.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Largest request body accepted (the client's turn requests are ~60 KB; a
/// long session grows them).
const MAX_BODY: usize = 64 << 20;

/// One request the client made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub body: Value,
}

impl Recorded {
    /// A main-loop request: the model is asked for the session's next step
    /// (it offers tools). Side requests (titles, quota probes) offer none.
    pub fn is_turn(&self) -> bool {
        self.path.starts_with("/v1/messages")
            && !self.path.starts_with("/v1/messages/count_tokens")
            && self.body["tools"].as_array().is_some_and(|t| !t.is_empty())
    }

    /// Every text the model is given in `messages` (text blocks and tool
    /// results), joined.
    pub fn messages_text(&self) -> String {
        let mut out = String::new();
        for m in self.body["messages"].as_array().into_iter().flatten() {
            collect_text(&m["content"], &mut out);
        }
        out
    }

    /// The text of the last message only (what is new in this request).
    pub fn last_message_text(&self) -> String {
        let mut out = String::new();
        if let Some(m) = self.body["messages"].as_array().and_then(|a| a.last()) {
            collect_text(&m["content"], &mut out);
        }
        out
    }

    /// Whether the last message carries a tool result.
    pub fn ends_with_tool_result(&self) -> bool {
        self.body["messages"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|m| m["content"].as_array())
            .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
    }
}

fn collect_text(content: &Value, out: &mut String) {
    match content {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(blocks) => {
            for b in blocks {
                if let Some(t) = b["text"].as_str() {
                    out.push_str(t);
                    out.push('\n');
                }
                if b["type"] == "tool_result" {
                    collect_text(&b["content"], out);
                }
            }
        }
        _ => {}
    }
}

/// What the model answers to a turn request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Text, then `end_turn`.
    Text(String),
    /// A short text, then one `tool_use` block, then `tool_use` stop.
    Tool { name: String, input: Value },
}

impl Reply {
    pub fn text(s: &str) -> Self {
        Reply::Text(s.into())
    }

    /// Call one of our MCP tools (the client names them `mcp__SERVER__TOOL`).
    pub fn peers_tool(tool: &str, input: Value) -> Self {
        Reply::Tool {
            name: format!("mcp__claude-peers__{tool}"),
            input,
        }
    }
}

use crate::common::recording::{Describe, Recording};

struct Shared {
    rec: Recording<Reply, Recorded>,
    turn_seq: Mutex<u64>,
    /// Turn requests not answered yet, and whether the last answer ended
    /// its turn.
    turns: Mutex<(u64, bool)>,
}

/// The fake endpoint; stops when dropped.
pub struct FakeModel {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    pub async fn start() -> FakeModel {
        let shared = Arc::new(Shared {
            rec: Recording::default(),
            turn_seq: Mutex::new(0),
            turns: Mutex::new((0, true)),
        });
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeModel { url, shared, task }
    }

    /// Whether every turn request so far is answered and the last answer
    /// ended its turn (no tool call pending, no reply held).
    pub fn turns_ended(&self) -> bool {
        let (pending, ended) = *self.shared.turns.lock().unwrap();
        pending == 0 && ended
    }
}

impl std::ops::Deref for FakeModel {
    type Target = Recording<Reply, Recorded>;

    /// The recording and script: `then`, `then_held`, `requests`, `len`,
    /// `wait_from`, `summary`.
    fn deref(&self) -> &Self::Target {
        &self.shared.rec
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let parsed: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let rec = Recorded {
        at: Instant::now(),
        method: method.to_string(),
        path: path.clone(),
        body: parsed,
    };
    let is_turn = rec.is_turn();
    let last = rec.last_message_text();
    let stream = rec.body["stream"].as_bool().unwrap_or(false);
    let model = rec.body["model"]
        .as_str()
        .unwrap_or("claude-fake")
        .to_string();
    shared.rec.record(rec);
    if method != Method::POST {
        return not_found(&path);
    }
    if path == "/v1/messages/count_tokens" {
        return axum::Json(json!({"input_tokens": 100})).into_response();
    }
    if path != "/v1/messages" {
        return not_found(&path);
    }
    if is_turn {
        let mut t = shared.turns.lock().unwrap();
        t.0 += 1;
        t.1 = false;
    }
    let step = if is_turn {
        shared.rec.next_step()
    } else {
        None
    };
    let reply = match step {
        Some(s) => s.released().await,
        None => autopilot(&last),
    };
    if is_turn {
        let mut t = shared.turns.lock().unwrap();
        t.0 -= 1;
        t.1 = t.0 == 0 && matches!(reply, Reply::Text(_));
    }
    let seq = {
        let mut n = shared.turn_seq.lock().unwrap();
        *n += 1;
        *n
    };
    if stream {
        (
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            sse(&model, &reply, seq),
        )
            .into_response()
    } else {
        axum::Json(whole(&model, &reply, seq)).into_response()
    }
}

/// The unscripted answer to a turn whose last message is `last`: read the
/// mail when told of it, else end the turn.
fn autopilot(last: &str) -> Reply {
    // Our unread line on a tool result, or a Stop hook's wake text.
    let told = (last.contains("[claude-peers]") && last.contains("check_messages"))
        || last.contains("Stop hook");
    if told && !last.contains(CHECKED) {
        Reply::peers_tool("check_messages", json!({}))
    } else {
        Reply::text("ok")
    }
}

/// What `check_messages` answers when the inbox is empty (so the autopilot
/// does not ask again).
const CHECKED: &str = "No new messages.";

fn not_found(path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"type": "error", "error": {"type": "not_found_error", "message": format!("fake model: no {path}")}})),
    )
        .into_response()
}

/// The content blocks of a reply, complete.
fn blocks(reply: &Reply, seq: u64) -> (Vec<Value>, &'static str) {
    match reply {
        Reply::Text(t) => (vec![json!({"type": "text", "text": t})], "end_turn"),
        Reply::Tool { name, input } => (
            vec![
                json!({"type": "text", "text": format!("Calling {name}.")}),
                json!({"type": "tool_use", "id": format!("toolu_fake_{seq}"), "name": name, "input": input}),
            ],
            "tool_use",
        ),
    }
}

fn usage() -> Value {
    json!({"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

/// A non-streamed reply.
fn whole(model: &str, reply: &Reply, seq: u64) -> Value {
    let (content, stop) = blocks(reply, seq);
    json!({"id": format!("msg_fake_{seq}"), "type": "message", "role": "assistant", "model": model,
           "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage()})
}

/// A streamed reply: message_start, ping, per block start/delta/stop,
/// message_delta (stop reason), message_stop.
fn sse(model: &str, reply: &Reply, seq: u64) -> String {
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": format!("msg_fake_{seq}"), "type": "message", "role": "assistant",
               "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage()}}),
        json!({"type": "ping"}),
    ];
    let (content, stop) = blocks(reply, seq);
    for (i, b) in content.iter().enumerate() {
        let (start, delta) = match b["type"].as_str() {
            Some("tool_use") => (
                json!({"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": b["input"].to_string()}),
            ),
            _ => (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": b["text"]}),
            ),
        };
        events.push(json!({"type": "content_block_start", "index": i, "content_block": start}));
        events.push(json!({"type": "content_block_delta", "index": i, "delta": delta}));
        events.push(json!({"type": "content_block_stop", "index": i}));
    }
    events.push(
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                       "usage": {"output_tokens": 10}}),
    );
    events.push(json!({"type": "message_stop"}));
    let mut out = String::new();
    for e in events {
        out.push_str(&format!(
            "event: {}\ndata: {e}\n\n",
            e["type"].as_str().unwrap()
        ));
    }
    out
}

impl Describe for Recorded {
    fn describe(&self) -> String {
        let last: String = self.last_message_text().chars().take(160).collect();
        format!(
            "{} {} turn={} last={last:?}",
            self.method,
            self.path,
            self.is_turn()
        )
    }
}
