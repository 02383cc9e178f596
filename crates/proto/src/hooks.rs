//! The Claude Code hooks claude-peers installs (`claude-peers install`) and
//! handles (`claude-peers hook EVENT`): one table, used by both.

/// One hook entry in Claude Code's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookSpec {
    pub event: &'static str,
    pub matcher: Option<&'static str>,
    pub async_rewake: bool,
    pub timeout_s: u32,
}

/// Every hook, in the order they are written.
pub const CLAUDE_CODE_HOOKS: &[HookSpec] = &[
    HookSpec {
        event: "SessionStart",
        matcher: None,
        async_rewake: false,
        timeout_s: 10,
    },
    HookSpec {
        event: "SessionEnd",
        matcher: None,
        async_rewake: false,
        timeout_s: 10,
    },
    HookSpec {
        event: "UserPromptSubmit",
        matcher: None,
        async_rewake: false,
        timeout_s: 10,
    },
    HookSpec {
        event: "PostToolUse",
        matcher: None,
        async_rewake: false,
        timeout_s: 10,
    },
    HookSpec {
        event: "PreToolUse",
        matcher: Some("Edit|Write|MultiEdit|NotebookEdit"),
        async_rewake: false,
        timeout_s: 10,
    },
    HookSpec {
        event: "Stop",
        matcher: None,
        async_rewake: true,
        timeout_s: 86400,
    },
];
