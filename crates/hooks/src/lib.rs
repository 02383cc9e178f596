//! `claude-peers hook [--client C] EVENT`: the agent clients' hooks of the
//! delivery ladder. Each client's table (`claude_peers_proto::hooks`) maps its
//! event names to one service each; the services below are written once, and
//! only the stdin/stdout shapes differ per client ([`input`], [`output`]).
//!
//! - [`input`]: the JSON the client writes on stdin;
//! - [`identity`]: which peer a hook acts for (the session's saved token), and
//!   registration at `SessionStart`;
//! - [`start`]: `SessionStart` / `SessionEnd`;
//! - [`turn`]: `UserPromptSubmit` / `PostToolUse` (the next-turn rung);
//! - [`consent`]: who started the turn, and the peer-turn guard (a peer's
//!   message is never the user's consent);
//! - [`guard`]: `PreToolUse`: the peer-turn guard, then the edit guard;
//! - [`edit`]: editing tools (active files, conflicts);
//! - [`permission`]: `PermissionRequest` (the permission relay without channels);
//! - [`patch`]: the files a Codex `apply_patch` changes;
//! - [`wake`]: `Stop` with `asyncRewake` (the wake rung);
//! - [`transcript`]: channel messages found in the session's transcript;
//! - [`output`]: what a hook answers.
//!
//! Every hook fails open: when the broker is down or anything else fails, it
//! prints one line on stderr and exits 0, so the user's work goes on.

pub mod consent;
pub mod edit;
pub mod guard;
pub mod identity;
pub mod input;
pub mod output;
pub mod patch;
pub mod permission;
pub mod start;
pub mod transcript;
pub mod turn;
pub mod wake;

pub use identity::HookEnv;
pub use output::Outcome;

pub use claude_peers_proto::hooks::HookClient;

use claude_peers_proto::hooks::HookService;
use claude_peers_proto::reach::TurnPoint;

use input::HookInput;

/// Run `env.client`'s hook for `event` on the client's stdin text.
pub async fn run(env: &HookEnv, event: &str, stdin: &str) -> Outcome {
    let Some(spec) = env.client.spec(event) else {
        let known: Vec<&str> = env.client.hooks().iter().map(|h| h.event).collect();
        return Outcome::fail_open(format!(
            "unknown {} hook event {event:?} (known: {})",
            env.client.as_str(),
            known.join(", ")
        ));
    };
    let input = match HookInput::parse(stdin) {
        Ok(i) => i,
        Err(e) => return Outcome::fail_open(e),
    };
    match spec.service {
        HookService::SessionStart => start::session_start(env, &input, event).await,
        HookService::SessionEnd => start::session_end(env, &input).await,
        HookService::PromptSubmit => {
            turn::next_turn(env, &input, event, TurnPoint::PromptSubmit).await
        }
        HookService::ToolDone => turn::next_turn(env, &input, event, TurnPoint::ToolDone).await,
        HookService::EditGuard => edit::pre_edit(env, &input).await,
        HookService::ToolGuard => guard::pre_tool(env, &input).await,
        HookService::PermissionRelay => permission::permission_request(env, &input).await,
        HookService::StopWait => wake::stop(env, &input).await,
    }
}
