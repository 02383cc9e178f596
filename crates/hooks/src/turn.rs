//! `UserPromptSubmit` and `PostToolUse`: the next-turn rung. Unread messages
//! the session was not shown by a higher rung are added as context (and become
//! read); the session counts as busy until its `Stop`.

use claude_peers_proto::reach::{InjectRequest, TurnPoint};

use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::output::{Outcome, messages_context};
use crate::transcript;

pub async fn next_turn(env: &HookEnv, input: &HookInput, event: &str, point: TurnPoint) -> Outcome {
    let Some((client, _)) = env.client(&input.session_id) else {
        return Outcome::quiet();
    };
    let seen = input
        .transcript_path
        .as_deref()
        .map(transcript::channel_ids)
        .unwrap_or_default();
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
