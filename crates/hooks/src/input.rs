//! The JSON a client writes on a hook's stdin (field names as Claude Code
//! sends them; Gemini CLI and Codex CLI use the same names): the common fields
//! and each event's own.

use serde::Deserialize;
use serde_json::Value;

/// Codex CLI's file-editing tool (its hook `tool_name`).
pub const APPLY_PATCH: &str = "apply_patch";

/// One hook call's input. Unknown fields are ignored (clients add fields).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HookInput {
    pub session_id: String,
    #[serde(default)]
    pub transcript_path: Option<String>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub permission_mode: Option<String>,
    #[serde(default)]
    pub hook_event_name: Option<String>,
    /// SessionStart: startup, resume, clear, compact.
    #[serde(default)]
    pub source: Option<String>,
    /// SessionEnd: clear, logout, prompt_input_exit, other.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Option<Value>,
    #[serde(default)]
    pub stop_hook_active: Option<bool>,
}

/// Why the input cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("the hook input is not the JSON the client sends: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the hook input has an empty session_id")]
    NoSession,
}

impl HookInput {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let input: HookInput = serde_json::from_str(text)?;
        if input.session_id.trim().is_empty() {
            return Err(InputError::NoSession);
        }
        Ok(input)
    }

    /// The file an editing tool is about to change (`file_path`, or
    /// `notebook_path` for NotebookEdit).
    pub fn edited_file(&self) -> Option<&str> {
        let input = self.tool_input.as_ref()?;
        input
            .get("file_path")
            .or_else(|| input.get("notebook_path"))
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
    }

    /// Every file the tool is about to change: Codex's `apply_patch` names
    /// them in its patch (`tool_input.command`), the other tools name one.
    pub fn edited_files(&self) -> Vec<String> {
        if self.tool_name.as_deref() == Some(APPLY_PATCH) {
            let patch = self
                .tool_input
                .as_ref()
                .and_then(|i| i.get("command"))
                .and_then(Value::as_str)
                .unwrap_or("");
            return crate::patch::files(patch);
        }
        self.edited_file().map(str::to_string).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_clients_fields() {
        let i = HookInput::parse(
            r#"{"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/w","permission_mode":"default",
                "hook_event_name":"PreToolUse","tool_name":"Edit",
                "tool_input":{"file_path":"/w/a.rs","old_string":"x","new_string":"y"},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(i.session_id, "s1");
        assert_eq!(i.edited_file(), Some("/w/a.rs"));
        let n = HookInput::parse(
            r#"{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"NotebookEdit","tool_input":{"notebook_path":"/n.ipynb"}}"#,
        )
        .unwrap();
        assert_eq!(n.edited_file(), Some("/n.ipynb"));
    }

    #[test]
    fn reads_codexs_apply_patch() {
        let i = HookInput::parse(
            r#"{"session_id":"019a-codex","transcript_path":null,"cwd":"/w","hook_event_name":"PreToolUse",
                "model":"gpt-5","permission_mode":"default","turn_id":"t1","tool_name":"apply_patch","tool_use_id":"call-1",
                "tool_input":{"command":"*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n*** Add File: b.rs\n+z\n*** End Patch\n"}}"#,
        )
        .unwrap();
        assert_eq!(i.transcript_path, None);
        assert_eq!(i.edited_files(), ["src/a.rs", "b.rs"]);
    }

    #[test]
    fn refuses_what_is_not_hook_input() {
        assert!(HookInput::parse("").is_err());
        assert!(HookInput::parse("{}").is_err());
        assert!(HookInput::parse(r#"{"session_id":"  "}"#).is_err());
    }
}
