//! `claude-peers hook EVENT`: the Claude Code hooks of the delivery ladder.
//!
//! - [`input`]: the JSON the client writes on stdin;
//! - [`identity`]: which peer a hook acts for (the session's saved token), and
//!   registration at `SessionStart`;
//! - [`start`]: `SessionStart` / `SessionEnd`;
//! - [`turn`]: `UserPromptSubmit` / `PostToolUse` (the next-turn rung);
//! - [`edit`]: `PreToolUse` on editing tools (active files, conflicts);
//! - [`wake`]: `Stop` with `asyncRewake` (the wake rung);
//! - [`transcript`]: channel messages found in the session's transcript;
//! - [`output`]: what a hook answers.
//!
//! Every hook fails open: when the broker is down or anything else fails, it
//! prints one line on stderr and exits 0, so the user's work goes on.

pub mod edit;
pub mod identity;
pub mod input;
pub mod output;
pub mod start;
pub mod transcript;
pub mod turn;
pub mod wake;

pub use identity::HookEnv;
pub use output::Outcome;

use claude_peers_proto::hooks::CLAUDE_CODE_HOOKS;
use claude_peers_proto::reach::TurnPoint;

use input::HookInput;

/// Run the hook for `event` on the client's stdin text.
pub async fn run(env: &HookEnv, event: &str, stdin: &str) -> Outcome {
    if !CLAUDE_CODE_HOOKS.iter().any(|h| h.event == event) {
        let known: Vec<&str> = CLAUDE_CODE_HOOKS.iter().map(|h| h.event).collect();
        return Outcome::fail_open(format!(
            "unknown hook event {event:?} (known: {})",
            known.join(", ")
        ));
    }
    let input = match HookInput::parse(stdin) {
        Ok(i) => i,
        Err(e) => return Outcome::fail_open(e),
    };
    match event {
        "SessionStart" => start::session_start(env, &input).await,
        "SessionEnd" => start::session_end(env, &input).await,
        "UserPromptSubmit" => turn::next_turn(env, &input, event, TurnPoint::PromptSubmit).await,
        "PostToolUse" => turn::next_turn(env, &input, event, TurnPoint::ToolDone).await,
        "PreToolUse" => edit::pre_edit(env, &input).await,
        "Stop" => wake::stop(env, &input).await,
        _ => Outcome::quiet(),
    }
}
