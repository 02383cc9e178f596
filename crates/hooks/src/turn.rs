//! A turn begins or a tool call finished (Claude Code's `UserPromptSubmit` and
//! `PostToolUse`, Gemini CLI's `BeforeAgent` and `AfterTool`): the next-turn rung. Unread messages
//! the session was not shown by a higher rung are added as context (and become
//! read); the session counts as busy until its `Stop`. A new turn's prompt also
//! tells the peer-turn guard who started it ([`consent`]).

use claude_peers_proto::reach::{InjectRequest, TurnPoint};

use crate::HookClient;
use crate::consent;
use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::output::{Outcome, messages_context};
use crate::transcript;

pub async fn next_turn(env: &HookEnv, input: &HookInput, event: &str, point: TurnPoint) -> Outcome {
    // Who starts this turn (the person, or a peer's message), for the guard.
    let note = match (point, input.prompt.as_deref()) {
        (TurnPoint::PromptSubmit, Some(prompt)) => consent::prompt_submitted(env, prompt).err(),
        _ => None,
    };
    let mut out = inject(env, input, event, point).await;
    if let Some(n) = note {
        out.stderr.push_str(&Outcome::fail_open(n).stderr);
    }
    out
}

async fn inject(env: &HookEnv, input: &HookInput, event: &str, point: TurnPoint) -> Outcome {
    let Some((client, _)) = env.client(&input.session_id) else {
        return Outcome::quiet();
    };
    // Only Claude Code has channels (whose messages its transcript shows).
    let seen = match (env.client, input.transcript_path.as_deref()) {
        (HookClient::ClaudeCode, Some(path)) => transcript::channel_ids(path),
        _ => Vec::new(),
    };
    let r = match client
        .inject(&InjectRequest {
            cc_session: input.session_id.clone(),
            point,
            permission_mode: input.permission_mode.clone(),
            seen_in_transcript: seen,
            take: true,
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Outcome::fail_open(format!("the broker did not answer ({e})")),
    };
    if r.messages.is_empty() {
        return Outcome::quiet();
    }
    Outcome::context(event, &messages_context(&r.messages, r.unread))
}
