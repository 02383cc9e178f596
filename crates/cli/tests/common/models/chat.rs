//! OpenAI chat completions as OpenCode 1.18.33 calls them through its bundled
//! `@ai-sdk/openai-compatible` provider (a `provider` entry with a local
//! `baseURL`): `POST /v1/chat/completions` with `messages` and `tools` (ours
//! named `claude-peers_TOOL`), answered with SSE chunks (a content delta or
//! one `tool_calls` delta, then the finish reason and usage) and `[DONE]`.

use axum::response::Response;
use serde_json::{Value, json};

use super::{Reply, sse_raw, texts};

/// How OpenCode names a tool of our server (`claude-peers`).
pub fn tool_name(tool: &str) -> String {
    format!("claude-peers_{tool}")
}

pub fn is_turn(path: &str, body: &Value) -> bool {
    path == "/v1/chat/completions" && body["tools"].as_array().is_some_and(|t| !t.is_empty())
}

/// The messages after the model's last one.
pub fn new_text(body: &Value) -> String {
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let start = msgs
        .iter()
        .rposition(|m| m["role"] == "assistant")
        .map_or(0, |p| p + 1);
    let mut out = String::new();
    texts(&Value::Array(msgs[start..].to_vec()), &mut out);
    out
}

pub fn answer(path: &str, body: &Value, reply: &Reply, seq: u64) -> Option<Response> {
    if path != "/v1/chat/completions" {
        return None;
    }
    let model = body["model"].as_str().unwrap_or("fake-model");
    let chunk = |delta: Value, finish: Value| {
        json!({"id": format!("chatcmpl-fake-{seq}"), "object": "chat.completion.chunk", "created": 1,
               "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let (delta, finish) = match reply {
        Reply::Text(t) => (json!({"role": "assistant", "content": t}), "stop"),
        Reply::Tool { tool, args } => (
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": format!("call_fake_{seq}"), "type": "function",
                   "function": {"name": tool_name(tool), "arguments": args.to_string()}}]}),
            "tool_calls",
        ),
    };
    let mut last = chunk(json!({}), json!(finish));
    last["usage"] = json!({"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110});
    Some(sse_raw(format!(
        "data: {}\n\ndata: {last}\n\ndata: [DONE]\n\n",
        chunk(delta, Value::Null)
    )))
}
