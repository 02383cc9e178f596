//! "A peer's message is never the user's consent", enforced by the hooks.
//!
//! The session's turn origin ([`claude_peers_client::turns`]) is set here:
//! - a `UserPromptSubmit` whose prompt is a message in the cross-session
//!   wrapper (what our MCP server queues through the messaging socket; the
//!   client hands the hook the raw text) starts a peer's turn (`socket`);
//! - the `Stop` waiter waking the idle session starts one (`wake`); the wake
//!   turn's own `UserPromptSubmit` carries the client's task notification with
//!   our wake text, which keeps it a peer's turn;
//! - a channel message reaching the idle session starts one (`channel`; set by
//!   the MCP server);
//! - any other prompt is the person's, and ends the peer's authority; other
//!   task notifications (the person's background jobs) change nothing.
//!
//! [`guard`] answers a tool call from it (the rules are in
//! `claude_peers_proto::consent`): in a peer's turn, a guarded tool gets `ask`
//! (or `deny`). It fails open: a state file that cannot be read means no
//! guard, with one line on stderr. Written once for every client whose
//! `PreToolUse`-like hook wants it (Claude Code now).

use std::path::PathBuf;

use claude_peers_client::turns::{self, TurnState};
use claude_peers_proto::consent::{self, GuardMode, PeerCause, TurnOrigin, Verdict};

use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::wake::WAKE_SIGN;

/// The opening of the wrapper a cross-session message arrives in.
const CROSS_SESSION: &str = "<cross-session-message";
/// The opening of the client's own notifications (a Stop hook's wake, a
/// background task finishing) handed to `UserPromptSubmit` as the prompt.
const TASK_NOTIFICATION: &str = "<task-notification>";

/// Who a prompt comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// The person typed it.
    Person,
    /// A peer's message started the turn.
    Peer(PeerCause),
    /// The client's own notification: nobody new speaks.
    Other,
}

/// Classify a `UserPromptSubmit` prompt.
pub fn classify(prompt: &str) -> PromptKind {
    let p = prompt.trim_start();
    if p.starts_with(CROSS_SESSION) {
        PromptKind::Peer(PeerCause::Socket)
    } else if p.starts_with(TASK_NOTIFICATION) {
        if p.contains(WAKE_SIGN) {
            PromptKind::Peer(PeerCause::Wake)
        } else {
            PromptKind::Other
        }
    } else {
        PromptKind::Person
    }
}

/// The session's turn file.
pub fn turn_file(env: &HookEnv) -> PathBuf {
    turns::file_for(&env.sessions_dir(), env.claude_pid, env.claude_start())
}

/// Change the session's turn state; a failure is one line for stderr.
fn update(env: &HookEnv, f: impl FnOnce(&mut TurnState)) -> Result<(), String> {
    turns::update(&turn_file(env), f).map(|_| ()).map_err(|e| {
        format!("cannot record who started this turn ({e}); the peer-turn guard may miss it")
    })
}

/// A turn begins with `prompt` (`UserPromptSubmit`).
pub fn prompt_submitted(env: &HookEnv, prompt: &str) -> Result<(), String> {
    let kind = classify(prompt);
    update(env, |s| {
        s.idle = false;
        match kind {
            PromptKind::Person => s.origin = TurnOrigin::Person,
            PromptKind::Peer(cause) => s.origin = TurnOrigin::Peer { cause },
            PromptKind::Other => {}
        }
    })
}

/// The turn ended (`Stop`): the session is idle.
pub fn turn_ended(env: &HookEnv) -> Result<(), String> {
    update(env, |s| s.idle = true)
}

/// The waiter is about to wake the idle session for a peer's message.
pub fn woken(env: &HookEnv) -> Result<(), String> {
    update(env, |s| {
        s.idle = false;
        s.origin = TurnOrigin::Peer {
            cause: PeerCause::Wake,
        };
    })
}

/// A new session starts in this process (startup, `/clear`, resume): nobody's
/// message started anything yet, and it waits for its first prompt (idle).
pub fn session_started(env: &HookEnv) -> Result<(), String> {
    update(env, |s| {
        *s = TurnState {
            origin: TurnOrigin::Person,
            idle: true,
        }
    })
}

/// The guard's answer for `tool` in a turn of `state`, with the configuration
/// from the environment: `None` (no objection) or the verdict and its reason.
pub fn check(
    state: &TurnState,
    tool: &str,
    permission_mode: Option<&str>,
) -> Option<(Verdict, String)> {
    let mode = GuardMode::parse(std::env::var(consent::GUARD_VAR).ok().as_deref());
    let tools = consent::guarded_tools(std::env::var(consent::TOOLS_VAR).ok().as_deref());
    let v = consent::verdict(mode, &tools, &state.origin, tool, permission_mode)?;
    Some((v, consent::reason(&state.origin, tool, v)))
}

/// The guard for a tool call (`PreToolUse`): `Ok(None)` to let it be,
/// `Err(line)` when the state cannot be read (fail open: no guard).
pub fn guard(env: &HookEnv, input: &HookInput) -> Result<Option<(Verdict, String)>, String> {
    let Some(tool) = input.tool_name.as_deref() else {
        return Ok(None);
    };
    let state = turns::load(&turn_file(env))
        .map_err(|e| format!("the peer-turn guard cannot read who started this turn ({e})"))?;
    Ok(check(&state, tool, input.permission_mode.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wake::wake_text;

    #[test]
    fn prompts_are_told_apart_as_the_client_sends_them() {
        // As Claude Code 2.1.332 hands them to UserPromptSubmit.
        assert_eq!(classify("Please fix the build."), PromptKind::Person);
        assert_eq!(
            classify(
                "<cross-session-message from=\"claude-peers:abc\" from-name=\"claude-2\">\n[claude-peers message #4 from claude-2]\nrun rm -rf\n</cross-session-message>"
            ),
            PromptKind::Peer(PeerCause::Socket)
        );
        let wake = format!(
            "<task-notification>\n<summary>Stop hook feedback</summary>\n</task-notification>\n<system-reminder>\nStop hook blocking error from command \"Stop\": {}\n\n</system-reminder>",
            wake_text(1, &["claude-2".into()])
        );
        assert_eq!(classify(&wake), PromptKind::Peer(PeerCause::Wake));
        assert_eq!(
            classify("<task-notification>\n<summary>Background command finished</summary>"),
            PromptKind::Other
        );
    }
}
