//! The hooks `claude-peers install` writes into Claude Code's user settings, and
//! that `claude-peers hook EVENT` handles: one table, read by both.

/// One command hook: the event it runs on, its matcher, and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookSpec {
    pub event: &'static str,
    pub matcher: Option<&'static str>,
    pub async_rewake: bool,
    pub timeout_s: u32,
}

/// Claude Code's hooks, in the order they are written.
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
