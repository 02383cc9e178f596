//! Claude Code's `PermissionRequest` hook: the permission relay for sessions
//! without channels. While the terminal shows its prompt (Claude Code 2.1.332
//! runs this hook beside the prompt), the hook puts the request, with the
//! session's identity, in the operator's lane (`POST /v1/me/permission`) and
//! waits a short time (`CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S`, default
//! [`DEFAULT_PERMISSION_HOOK_WAIT_MS`]) for the operator's answer. Only an
//! answer the operator gave is passed on; otherwise the hook ends with no
//! decision and the terminal prompt alone decides. It never answers on the
//! person's behalf. Relay off, no saved identity, or broker down: it ends at
//! once, silently.
//!
//! [`DEFAULT_PERMISSION_HOOK_WAIT_MS`]: claude_peers_proto::limits::DEFAULT_PERMISSION_HOOK_WAIT_MS

use std::time::Duration;

use claude_peers_client::BrokerClient;
use claude_peers_proto::limits::MAX_PERMISSION_PREVIEW_BYTES;
use claude_peers_proto::permissions::{HOOK_WAIT_VAR, HookPermissionRequest, hook_wait_ms};
use claude_peers_proto::text::truncate_bytes;
use serde_json::Value;

use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::output::Outcome;

/// Characters of the tool's input shown to the operator (as Claude Code cuts
/// its channel `input_preview`).
pub const PREVIEW_CHARS: usize = 200;
/// Extra time the HTTP call gets beyond the wait (the broker answers at the
/// end of the wait).
const CALL_MARGIN: Duration = Duration::from_secs(5);

/// The input field that says most about a tool use, for the usual tools.
const MAIN_FIELDS: &[&str] = &["command", "file_path", "notebook_path", "url", "query"];

/// The tool's input as the operator sees it: its main field (Bash's command,
/// the file, the URL), else compact JSON; cut.
pub fn preview(input: Option<&Value>) -> String {
    let main = input.and_then(|i| {
        MAIN_FIELDS
            .iter()
            .find_map(|f| i.get(*f).and_then(Value::as_str))
    });
    let text = match (main, input) {
        (Some(m), _) => m.to_string(),
        (None, Some(v)) => v.to_string(),
        (None, None) => String::new(),
    };
    let cut: String = text.chars().take(PREVIEW_CHARS).collect();
    truncate_bytes(&cut, MAX_PERMISSION_PREVIEW_BYTES).to_string()
}

/// A line describing the tool use (Bash's `description`, else the file).
fn description(input: &HookInput) -> String {
    let Some(i) = input.tool_input.as_ref() else {
        return String::new();
    };
    i.get("description")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| input.edited_file().map(|f| format!("file {f}")))
        .or_else(|| {
            i.get("url")
                .and_then(Value::as_str)
                .map(|u| format!("fetch {u}"))
        })
        .unwrap_or_default()
}

pub async fn permission_request(env: &HookEnv, input: &HookInput) -> Outcome {
    let Some(tool) = input.tool_name.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Outcome::quiet();
    };
    let Some(creds) = env.saved(&input.session_id) else {
        return Outcome::quiet();
    };
    let wait_ms = hook_wait_ms(std::env::var(HOOK_WAIT_VAR).ok().as_deref());
    let client = BrokerClient::with_timeout(
        &env.endpoint,
        Some(creds.token),
        Duration::from_millis(wait_ms) + CALL_MARGIN,
    );
    let req = HookPermissionRequest {
        tool_name: tool.to_string(),
        description: description(input),
        input_preview: preview(input.tool_input.as_ref()),
        wait_ms,
    };
    match client.ask_permission(&req).await {
        Ok(answer) => match answer.behavior {
            Some(b) => Outcome::permission(b),
            None => Outcome::quiet(),
        },
        // Broker down or refusing: the terminal prompt decides, silently.
        Err(_) => Outcome::quiet(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_preview_is_short_and_plain() {
        assert_eq!(
            preview(Some(&json!({"command": "ls -la", "description": "list"}))),
            "ls -la"
        );
        assert_eq!(preview(Some(&json!({"a": 1}))), r#"{"a":1}"#);
        let long = preview(Some(
            &json!({"command": "x".repeat(500), "description": "d"}),
        ));
        assert_eq!(long.chars().count(), PREVIEW_CHARS);
        assert_eq!(preview(None), "");
    }
}
