//! The OpenAI Responses API as Codex CLI 0.171.0 calls it: `POST
//! /v1/responses` with `input` items and `tools` (our MCP server's tools are
//! one `namespace` tool, `mcp__claude_peers`), answered with an SSE stream of
//! `response.created`, one `response.output_item.done` (a message, or a
//! `function_call` of a namespaced tool) and `response.completed`.

use axum::response::Response;
use serde_json::{Value, json};

use super::{Reply, sse, texts};

/// The namespace Codex gives the tools of our server (`claude-peers`).
pub const NAMESPACE: &str = "mcp__claude_peers";

pub fn is_turn(path: &str, body: &Value) -> bool {
    path == "/v1/responses" && body["tools"].as_array().is_some_and(|t| !t.is_empty())
}

/// The input items after the model's last output (its function call or
/// message): tool outputs, hook context, the prompt.
pub fn new_text(body: &Value) -> String {
    let items = body["input"].as_array().cloned().unwrap_or_default();
    let start = items
        .iter()
        .rposition(|i| i["type"] == "function_call" || i["role"] == "assistant")
        .map_or(0, |p| p + 1);
    let mut out = String::new();
    texts(&Value::Array(items[start..].to_vec()), &mut out);
    out
}

pub fn answer(path: &str, reply: &Reply, seq: u64) -> Option<Response> {
    if path != "/v1/responses" {
        return None;
    }
    let item = match reply {
        Reply::Text(t) => {
            json!({"type": "message", "role": "assistant", "id": format!("msg_fake_{seq}"),
                                 "content": [{"type": "output_text", "text": t}]})
        }
        Reply::Tool { tool, args } => {
            json!({"type": "function_call", "id": format!("fc_fake_{seq}"),
                                 "call_id": format!("call_fake_{seq}"), "name": tool,
                                 "namespace": NAMESPACE, "arguments": args.to_string()})
        }
    };
    let id = format!("resp_fake_{seq}");
    let usage = json!({"input_tokens": 100, "input_tokens_details": null, "output_tokens": 10,
                       "output_tokens_details": null, "total_tokens": 110});
    Some(sse(&[
        (
            Some("response.created"),
            json!({"type": "response.created", "response": {"id": id}}),
        ),
        (
            Some("response.output_item.done"),
            json!({"type": "response.output_item.done", "item": item}),
        ),
        (
            Some("response.completed"),
            json!({"type": "response.completed", "response": {"id": id, "usage": usage}}),
        ),
    ]))
}
