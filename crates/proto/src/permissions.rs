//! The permission relay's wire types: a session's tool-use permission request
//! (as Claude Code sends it over the channel), the operator's answer, and how
//! the broker shows a pending request.
//!
//! Flow: Claude Code → MCP server (`notifications/claude/channel/permission_request`)
//! → broker (stream frame, with the session's identity) → operator (dashboard,
//! `claude-peers permissions`) → broker → MCP server → Claude Code
//! (`notifications/claude/channel/permission`). Only the operator may list or
//! answer; no peer route, tool or message can.

use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::api::Party;
use crate::limits::{
    DEFAULT_PERMISSION_HOOK_WAIT_MS, MAX_PERMISSION_DESCRIPTION_BYTES, MAX_PERMISSION_HOOK_WAIT_MS,
    MAX_PERMISSION_PREVIEW_BYTES, MAX_PERMISSION_REQUEST_ID_BYTES, MAX_PERMISSION_TOOL_BYTES,
};
use crate::validate;

/// The notification Claude Code sends when a tool needs the person's permission.
pub const REQUEST_METHOD: &str = "notifications/claude/channel/permission_request";
/// The notification that answers it.
pub const ANSWER_METHOD: &str = "notifications/claude/channel/permission";
/// The capability (beside `claude/channel`) that asks Claude Code for requests.
pub const CAPABILITY: &str = "claude/channel/permission";

/// A permission request as Claude Code sends it (the params of [`REQUEST_METHOD`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionRequest {
    /// Claude Code's id for this prompt; the answer must carry it back.
    pub request_id: String,
    pub tool_name: String,
    #[serde(default)]
    pub description: String,
    /// The tool's input, cut by the client (200 characters in 2.1.332).
    #[serde(default)]
    pub input_preview: String,
}

impl PermissionRequest {
    /// Check the sizes and strip control characters (the text is shown to a person).
    pub fn validated(&self) -> Result<Self, ApiError> {
        Ok(Self {
            request_id: validate::required_line(
                "request_id",
                &self.request_id,
                MAX_PERMISSION_REQUEST_ID_BYTES,
            )?,
            tool_name: validate::required_line(
                "tool_name",
                &self.tool_name,
                MAX_PERMISSION_TOOL_BYTES,
            )?,
            description: validate::text(
                "description",
                &self.description,
                MAX_PERMISSION_DESCRIPTION_BYTES,
            )?,
            input_preview: validate::text(
                "input_preview",
                &self.input_preview,
                MAX_PERMISSION_PREVIEW_BYTES,
            )?,
        })
    }
}

/// The person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    Allow,
    Deny,
}

impl Behavior {
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Allow => "allow",
            Behavior::Deny => "deny",
        }
    }
}

/// The params of [`ANSWER_METHOD`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionDecision {
    pub request_id: String,
    pub behavior: Behavior,
}

/// A pending request, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionView {
    /// The broker's id for it (what `claude-peers permissions allow ID` takes).
    pub id: String,
    /// The session that asks.
    pub peer: Party,
    pub request_id: String,
    pub tool_name: String,
    pub description: String,
    pub input_preview: String,
    pub created_at: String,
    /// When it leaves the lane unanswered (the terminal prompt still works).
    pub expires_at: String,
}

/// `GET /v1/permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionList {
    /// Whether the broker relays permission requests at all.
    pub relay: bool,
    /// Pending requests, newest first.
    pub pending: Vec<PermissionView>,
}

/// `POST /v1/permissions/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerPermission {
    pub behavior: Behavior,
}

/// The answer to [`AnswerPermission`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionAnswered {
    pub id: String,
    pub behavior: Behavior,
    pub by: Party,
    /// Whether the session's MCP server was connected to receive the answer.
    pub delivered: bool,
}

/// Why a request left the lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionOutcome {
    Allowed,
    Denied,
    /// Unanswered for longer than the timeout (or answered in the terminal).
    Expired,
    /// The session's MCP server disconnected.
    SessionEnded,
}

/// The environment variable (seconds) that sets how long a `PermissionRequest`
/// hook waits for the operator ([`DEFAULT_PERMISSION_HOOK_WAIT_MS`] by default,
/// at most [`MAX_PERMISSION_HOOK_WAIT_MS`]).
pub const HOOK_WAIT_VAR: &str = "CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S";

/// The hook's wait for a value of [`HOOK_WAIT_VAR`] (unset or unreadable: the
/// default; larger than the maximum: the maximum).
pub fn hook_wait_ms(var: Option<&str>) -> u64 {
    var.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| ((s * 1000.0) as u64).min(MAX_PERMISSION_HOOK_WAIT_MS))
        .unwrap_or(DEFAULT_PERMISSION_HOOK_WAIT_MS)
}

/// `POST /v1/me/permission`: a session's `PermissionRequest` hook asks the
/// operator about one tool use of its own session and waits up to `wait_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookPermissionRequest {
    pub tool_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub input_preview: String,
    /// At most [`MAX_PERMISSION_HOOK_WAIT_MS`].
    pub wait_ms: u64,
}

impl HookPermissionRequest {
    /// The request as the lane holds it (`request_id` is the broker's own).
    pub fn validated(&self, request_id: &str) -> Result<PermissionRequest, ApiError> {
        if self.wait_ms > MAX_PERMISSION_HOOK_WAIT_MS {
            return Err(ApiError::invalid(
                "wait_ms",
                format!("at most {MAX_PERMISSION_HOOK_WAIT_MS}"),
            ));
        }
        PermissionRequest {
            request_id: request_id.to_string(),
            tool_name: self.tool_name.clone(),
            description: self.description.clone(),
            input_preview: self.input_preview.clone(),
        }
        .validated()
    }
}

/// The answer to [`HookPermissionRequest`]: the operator's decision, or none
/// (the relay is off, or nobody answered in time; the terminal prompt decides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookPermissionAnswer {
    /// Whether the broker relays permission requests at all.
    pub relay: bool,
    /// The lane item's id, when the request was put in the lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<Behavior>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_codes_request_parses_and_is_cleaned() {
        let r: PermissionRequest = serde_json::from_str(
            r#"{"request_id":"abcde","tool_name":"Bash","description":"Run ls\u0007","input_preview":"{\"command\":\"ls\"}"}"#,
        )
        .unwrap();
        let v = r.validated().unwrap();
        assert_eq!(v.description, "Run ls");
        assert_eq!(v.request_id, "abcde");
        let mut long = r.clone();
        long.input_preview = "x".repeat(MAX_PERMISSION_PREVIEW_BYTES + 1);
        assert!(long.validated().is_err());
        let mut empty = r;
        empty.tool_name = " ".into();
        assert!(empty.validated().is_err());
    }

    #[test]
    fn the_hooks_wait_is_bounded() {
        assert_eq!(hook_wait_ms(None), DEFAULT_PERMISSION_HOOK_WAIT_MS);
        assert_eq!(hook_wait_ms(Some("x")), DEFAULT_PERMISSION_HOOK_WAIT_MS);
        assert_eq!(hook_wait_ms(Some("-1")), DEFAULT_PERMISSION_HOOK_WAIT_MS);
        assert_eq!(hook_wait_ms(Some(" 2 ")), 2_000);
        assert_eq!(hook_wait_ms(Some("0.5")), 500);
        assert_eq!(hook_wait_ms(Some("99999")), MAX_PERMISSION_HOOK_WAIT_MS);
        let r = HookPermissionRequest {
            tool_name: "Bash".into(),
            description: String::new(),
            input_preview: "ls".into(),
            wait_ms: MAX_PERMISSION_HOOK_WAIT_MS + 1,
        };
        assert!(r.validated("hook-1").is_err());
        let ok = HookPermissionRequest { wait_ms: 1, ..r };
        assert_eq!(ok.validated("hook-1").unwrap().request_id, "hook-1");
    }

    #[test]
    fn answers_are_lowercase_words() {
        let d = PermissionDecision {
            request_id: "abcde".into(),
            behavior: Behavior::Allow,
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"request_id": "abcde", "behavior": "allow"})
        );
        assert!(serde_json::from_str::<AnswerPermission>(r#"{"behavior":"maybe"}"#).is_err());
    }
}
