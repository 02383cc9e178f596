//! Fake model endpoints on 127.0.0.1 for the real Codex CLI, Gemini CLI and
//! OpenCode, so each runs a real model turn offline: one server per test that
//! RECORDS every request the client makes (path, body, arrival time) and
//! answers in the client's API shape ([`Api`]: OpenAI Responses, Gemini
//! `streamGenerateContent`, OpenAI chat completions). A turn request (one
//! that offers tools) takes the next scripted [`Reply`], which may be held
//! until the test releases it (a busy session); unscripted, the model follows
//! our hints: told of unread peer mail (our unread line, the OpenCode
//! plugin's wake prompt) it calls `check_messages`, else it answers "ok".
//! Claude Code's Messages API has its own fake in `common/claude/`.
#![allow(dead_code)]

pub mod chat;
pub mod gemini;
pub mod responses;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Largest request body accepted (a turn request is 30–100 KB).
const MAX_BODY: usize = 64 << 20;

/// The API shape a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// OpenAI Responses (`POST /v1/responses`, SSE): Codex CLI.
    Responses,
    /// Gemini (`POST /v1beta/models/M:streamGenerateContent?alt=sse`): Gemini CLI.
    Gemini,
    /// OpenAI chat completions (`POST /v1/chat/completions`, SSE): OpenCode.
    Chat,
}

/// What the model answers to a turn request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Text, then the end of the turn.
    Text(String),
    /// A call of one of OUR MCP tools by its bare name (`whoami`); each shape
    /// names it the way its client exposes our server's tools.
    Tool { tool: String, args: Value },
}

impl Reply {
    pub fn tool(tool: &str) -> Self {
        Reply::Tool {
            tool: tool.into(),
            args: json!({}),
        }
    }
}

/// One request the client made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub path: String,
    pub body: Value,
    /// A main-loop request (it offers tools); side requests (titles,
    /// routing) offer none.
    pub turn: bool,
    /// The text given to the model since its last answer (tool results,
    /// hook context, a new prompt).
    pub new_text: String,
}

impl Recorded {
    /// Whether the model was given `text` anywhere in this request.
    pub fn holds(&self, text: &str) -> bool {
        self.body.to_string().contains(text)
    }
}

/// A reply that is sent only once the test opens its gate.
use crate::common::recording::{Describe, Recording};

struct Shared {
    api: Api,
    rec: Recording<Reply, Recorded>,
    seq: Mutex<u64>,
}

/// The fake endpoint; stops when dropped.
pub struct FakeModel {
    /// `http://127.0.0.1:PORT` (no path).
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    pub async fn start(api: Api) -> FakeModel {
        let shared = Arc::new(Shared {
            api,
            rec: Recording::default(),
            seq: Mutex::new(0),
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

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let (turn, new_text) = match shared.api {
        Api::Responses => (responses::is_turn(&path, &body), responses::new_text(&body)),
        Api::Gemini => (gemini::is_turn(&path, &body), gemini::new_text(&body)),
        Api::Chat => (chat::is_turn(&path, &body), chat::new_text(&body)),
    };
    shared.rec.record(Recorded {
        at: Instant::now(),
        path: path.clone(),
        body: body.clone(),
        turn,
        new_text: new_text.clone(),
    });
    let step = if turn { shared.rec.next_step() } else { None };
    let reply = match step {
        Some(s) => s.released().await,
        None if turn => autopilot(&new_text),
        None => Reply::Text("ok".into()),
    };
    let seq = {
        let mut n = shared.seq.lock().unwrap();
        *n += 1;
        *n
    };
    let answer = match shared.api {
        Api::Responses => responses::answer(&path, &reply, seq),
        Api::Gemini => gemini::answer(&path, &reply),
        Api::Chat => chat::answer(&path, &body, &reply, seq),
    };
    answer.unwrap_or_else(|| {
        let msg = format!("fake model: no {path}");
        (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"message": msg}})),
        )
            .into_response()
    })
}

/// The unscripted answer to a turn that was just given `new`: read the mail
/// when told of it (our unread line on a tool result, or the OpenCode
/// plugin's wake prompt), else end the turn.
fn autopilot(new: &str) -> Reply {
    let unread_line = new.contains("[claude-peers] ") && new.contains("unread message");
    let woken = new.contains("claude-peers: ") && new.contains("new message");
    if unread_line || woken {
        Reply::tool("check_messages")
    } else {
        Reply::Text("ok".into())
    }
}

/// Every `text` string inside `v` (any depth), joined by newlines: the shapes
/// nest text differently, and what matters is what the model reads.
pub fn texts(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "call_id" | "type" | "role" | "name"))
            .for_each(|(_, x)| texts(x, out)),
        _ => {}
    }
}

/// A `text/event-stream` response of `events` (each `(name, data)`; no name
/// = a bare `data:` line).
pub fn sse(events: &[(Option<&str>, Value)]) -> Response {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            out.push_str(&format!("event: {n}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    sse_raw(out)
}

pub fn sse_raw(body: String) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/event-stream"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

impl Describe for Recorded {
    fn describe(&self) -> String {
        let new: String = self.new_text.chars().take(200).collect();
        format!("{} turn={} new={new:?}", self.path, self.turn)
    }
}
