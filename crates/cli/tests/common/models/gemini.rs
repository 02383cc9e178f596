//! The Gemini API as Gemini CLI 0.61.0 calls it (`GOOGLE_GEMINI_BASE_URL`):
//! `POST /v1beta/models/MODEL:streamGenerateContent?alt=sse` with `contents`
//! and `tools` (our tools are named `mcp_claude-peers_TOOL`), answered with
//! one SSE `data:` chunk holding the whole candidate (a text part or a
//! `functionCall` part) and `finishReason: STOP`. Side calls
//! (`:generateContent`, e.g. routing) get a text answer.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Reply, sse, texts};

/// How Gemini CLI names a tool of our server (`claude-peers`).
pub fn tool_name(tool: &str) -> String {
    format!("mcp_claude-peers_{tool}")
}

pub fn is_turn(path: &str, body: &Value) -> bool {
    path.ends_with(":streamGenerateContent")
        && body["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|d| d["functionDeclarations"].is_array()))
}

/// The contents after the model's last turn.
pub fn new_text(body: &Value) -> String {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let start = contents
        .iter()
        .rposition(|c| c["role"] == "model")
        .map_or(0, |p| p + 1);
    let mut out = String::new();
    texts(&Value::Array(contents[start..].to_vec()), &mut out);
    out
}

fn candidate(reply: &Reply) -> Value {
    let part = match reply {
        Reply::Text(t) => json!({"text": t}),
        Reply::Tool { tool, args } => {
            json!({"functionCall": {"name": tool_name(tool), "args": args}})
        }
    };
    json!({"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
           "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110}})
}

pub fn answer(path: &str, reply: &Reply) -> Option<Response> {
    if path.ends_with(":streamGenerateContent") {
        Some(sse(&[(None, candidate(reply))]))
    } else if path.ends_with(":generateContent") {
        Some(axum::Json(candidate(reply)).into_response())
    } else {
        None
    }
}
