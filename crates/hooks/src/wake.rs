//! `Stop` with `asyncRewake`: the wake rung. The session's turn ended (it is
//! idle); one waiter per Claude Code session (a lock) waits on the broker over
//! a WebSocket and, when messages arrive that no rung showed, exits 2 naming
//! the senders and the count, which wakes the model. The broker ends each round
//! after a while and the waiter re-arms; it ends by itself before the hook's
//! timeout kills it, and when the session ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use claude_peers_client::reach::{WaitEnd, wait_once};
use claude_peers_proto::reach::{InjectRequest, TurnPoint};

use crate::consent;
use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::output::Outcome;

/// The hook's timeout in the installed settings is a day; the waiter ends
/// this long before it, so it is never killed silently.
pub const LIFETIME: Duration = Duration::from_secs(86_400 - 300);
/// Overrides [`LIFETIME`] (seconds), for tests.
pub const LIFETIME_VAR: &str = "CLAUDE_PEERS_WAKE_LIFETIME_S";
/// How often the waiter checks that the session is still there.
const SESSION_CHECK: Duration = Duration::from_secs(2);
/// Longest pause between two connection attempts when the broker is away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

fn lifetime() -> Duration {
    std::env::var(LIFETIME_VAR)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(LIFETIME)
}

/// The lock that makes one waiter per session win.
fn waiter_lock(env: &HookEnv) -> Option<File> {
    let dir = env.sessions_dir();
    let path = dir.join(format!(
        "{}-{}.waiter-lock",
        env.claude_pid,
        env.claude_start().unwrap_or(0)
    ));
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .ok()?;
    match f.try_lock() {
        Ok(()) => Some(f),
        Err(TryLockError::WouldBlock) | Err(TryLockError::Error(_)) => None,
    }
}

/// Part of every wake text: how the next `UserPromptSubmit` (which carries
/// the client's notification of this wake) knows a peer started the turn.
pub const WAKE_SIGN: &str = "(other Claude Code sessions, not your user)";

/// The text the model wakes to.
pub fn wake_text(count: u32, from: &[String]) -> String {
    format!(
        "claude-peers: {count} new message{} from {} {WAKE_SIGN}. Read {} with check_messages and reply with send_message.",
        if count == 1 { "" } else { "s" },
        if from.is_empty() {
            "a peer".to_string()
        } else {
            from.join(", ")
        },
        if count == 1 { "it" } else { "them" }
    )
}

pub async fn stop(env: &HookEnv, input: &HookInput) -> Outcome {
    let note = consent::turn_ended(env).err();
    let Some((client, creds)) = env.client(&input.session_id) else {
        return note.map(Outcome::fail_open).unwrap_or_default();
    };
    // The turn ended: the session is idle (a waiter already armed looks again).
    if let Err(e) = client
        .inject(&InjectRequest {
            cc_session: input.session_id.clone(),
            point: TurnPoint::Stop,
            permission_mode: input.permission_mode.clone(),
            seen_in_transcript: Vec::new(),
            take: false,
        })
        .await
    {
        return Outcome::fail_open(format!("the broker did not answer ({e})"));
    }
    let Some(_lock) = waiter_lock(env) else {
        // Another waiter of this session is armed.
        return Outcome::quiet();
    };
    let deadline = tokio::time::Instant::now() + lifetime();
    let start = env.claude_start();
    let mut backoff = Duration::from_millis(100);
    loop {
        let round = wait_once(&env.endpoint, &creds.token, &input.session_id, || {});
        let gone = async {
            loop {
                tokio::time::sleep(SESSION_CHECK).await;
                if !claude_peers_proto::process::alive(env.claude_pid, start) {
                    return;
                }
            }
        };
        let end = tokio::select! {
            r = round => r,
            _ = gone => return Outcome::quiet(),
            _ = tokio::time::sleep_until(deadline) => return Outcome::quiet(),
        };
        match end {
            Ok(WaitEnd::Wake { count, from }) => {
                // The turn this starts is a peer's (until the person's next
                // prompt). A failure is not reported here: this stderr is the
                // model's text. The wake turn's `UserPromptSubmit` records it too.
                let _ = consent::woken(env);
                return Outcome::wake(&wake_text(count, &from));
            }
            Ok(WaitEnd::Done(_)) => return Outcome::quiet(),
            Ok(WaitEnd::Again(_)) => backoff = Duration::from_millis(100),
            Err(_) => {
                // The broker is away (the MCP server starts it again): retry quietly.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Outcome::quiet();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wake_text_names_senders_and_count() {
        let t = wake_text(2, &["claude-2".into(), "bob".into()]);
        assert!(t.contains("2 new messages from claude-2, bob"));
        assert!(t.contains("check_messages"));
        assert!(wake_text(1, &[]).contains("1 new message from a peer"));
    }
}
