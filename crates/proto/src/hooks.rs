//! The hooks `claude-peers install` writes into each agent client's settings,
//! and that `claude-peers hook [--client C] EVENT` handles: one table per
//! client, read by both. Each entry names the service it runs; the services are
//! the same for every client (one implementation each), only the event names
//! and the stdin/stdout shapes differ.

/// What a hook does (the same for every client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookService {
    /// Register or resume the session; tell the model its name and unread count.
    SessionStart,
    /// Leave the network.
    SessionEnd,
    /// A turn begins: add unread messages to the context.
    PromptSubmit,
    /// A tool call finished: add unread messages to the context.
    ToolDone,
    /// A file-writing tool is about to run: report the file, guard conflicts.
    EditGuard,
    /// Any tool is about to run: the peer-turn guard (a peer's message is never
    /// the user's consent, [`crate::consent`]), then the [`Self::EditGuard`].
    ToolGuard,
    /// A tool needs the person's permission: relay the prompt to the operator
    /// (when the broker's permission relay is on) and pass on their answer.
    PermissionRelay,
    /// The turn ended: wait on the broker and wake the idle session.
    StopWait,
}

/// One command hook: the event it runs on, its matcher, and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookSpec {
    pub event: &'static str,
    pub service: HookService,
    pub matcher: Option<&'static str>,
    pub async_rewake: bool,
    pub timeout_s: u32,
}

/// The agent clients whose hooks claude-peers handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HookClient {
    #[default]
    ClaudeCode,
    Gemini,
    Codex,
}

impl HookClient {
    /// Every client with hooks.
    pub const ALL: [HookClient; 3] = [
        HookClient::ClaudeCode,
        HookClient::Gemini,
        HookClient::Codex,
    ];

    /// The name used on the command line (`--client gemini`), as in `install --client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::Gemini => "gemini",
            Self::Codex => "codex",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The client's hook table, in the order install writes it.
    pub fn hooks(self) -> &'static [HookSpec] {
        match self {
            Self::ClaudeCode => CLAUDE_CODE_HOOKS,
            Self::Gemini => GEMINI_HOOKS,
            Self::Codex => CODEX_HOOKS,
        }
    }

    /// The entry for `event`, if this client's table has it.
    pub fn spec(self, event: &str) -> Option<&'static HookSpec> {
        self.hooks().iter().find(|h| h.event == event)
    }
}

/// The `PermissionRequest` hook's timeout: longer than its longest wait, so
/// the client never kills it while it waits.
pub const PERMISSION_HOOK_TIMEOUT_S: u32 =
    (crate::limits::MAX_PERMISSION_HOOK_WAIT_MS / 1000) as u32 + 10;

const fn hook(event: &'static str, service: HookService, timeout_s: u32) -> HookSpec {
    HookSpec {
        event,
        service,
        matcher: None,
        async_rewake: false,
        timeout_s,
    }
}

/// Claude Code's hooks, in the order they are written.
pub const CLAUDE_CODE_HOOKS: &[HookSpec] = &[
    hook("SessionStart", HookService::SessionStart, 10),
    hook("SessionEnd", HookService::SessionEnd, 10),
    hook("UserPromptSubmit", HookService::PromptSubmit, 10),
    hook("PostToolUse", HookService::ToolDone, 10),
    // Every tool: the guarded list is configurable at run time
    // (`CLAUDE_PEERS_PEER_TURN_TOOLS`); other tools end at once.
    hook("PreToolUse", HookService::ToolGuard, 10),
    hook(
        "PermissionRequest",
        HookService::PermissionRelay,
        PERMISSION_HOOK_TIMEOUT_S,
    ),
    HookSpec {
        async_rewake: true,
        ..hook("Stop", HookService::StopWait, 86400)
    },
];

/// Gemini CLI's hooks (0.61.0), in the order they are written. Its hooks are
/// synchronous (no waiter can wake an idle session), so there is no `StopWait`.
/// The file-writing tools are `write_file` and `replace` (the matcher is a regex).
pub const GEMINI_HOOKS: &[HookSpec] = &[
    hook("SessionStart", HookService::SessionStart, 10),
    hook("SessionEnd", HookService::SessionEnd, 10),
    hook("BeforeAgent", HookService::PromptSubmit, 10),
    hook("AfterTool", HookService::ToolDone, 10),
    HookSpec {
        matcher: Some("write_file|replace"),
        ..hook("BeforeTool", HookService::EditGuard, 10)
    },
];

/// Codex CLI's hooks (0.171.0, `~/.codex/hooks.json`), in the order they are
/// written. Its hooks are synchronous (an `async` hook's output only waits for
/// a later user turn), so there is no `StopWait`. Codex edits files with
/// `apply_patch` (its hook `tool_input.command` is the patch text). Codex
/// cuts a `SessionEnd` hook's timeout to 3 s (its `hooks/list` shows
/// `timeoutSec: 3` for 10), and the trust hash covers the timeout it uses: so
/// that is the one written.
pub const CODEX_HOOKS: &[HookSpec] = &[
    hook("SessionStart", HookService::SessionStart, 10),
    hook("SessionEnd", HookService::SessionEnd, 3),
    hook("UserPromptSubmit", HookService::PromptSubmit, 10),
    hook("PostToolUse", HookService::ToolDone, 10),
    HookSpec {
        matcher: Some("apply_patch"),
        ..hook("PreToolUse", HookService::EditGuard, 10)
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_names_each_event_once() {
        for client in HookClient::ALL {
            assert_eq!(HookClient::parse(client.as_str()), Some(client));
            let hooks = client.hooks();
            for (i, h) in hooks.iter().enumerate() {
                assert!(hooks[..i].iter().all(|o| o.event != h.event), "{h:?}");
            }
        }
        assert_eq!(HookClient::parse("opencode"), None);
        assert!(HookClient::Codex.spec("Stop").is_none());
        assert_eq!(
            HookClient::Gemini.spec("BeforeTool").map(|s| s.service),
            Some(HookService::EditGuard)
        );
        assert!(HookClient::Gemini.spec("Stop").is_none());
    }
}
