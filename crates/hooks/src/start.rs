//! `SessionStart` (register or resume, tell the model its name and unread
//! count) and `SessionEnd` (leave the network at once).

use std::path::PathBuf;

use claude_peers_client::autostart::{
    Probe, ensure_broker, probe, stopped_on_purpose, unreachable,
};
use claude_peers_proto::reach::{InjectRequest, TurnPoint};

use crate::consent;
use crate::identity::{self, HookEnv};
use crate::input::HookInput;
use crate::output::{Outcome, messages_context};

pub async fn session_start(env: &HookEnv, input: &HookInput, event: &str) -> Outcome {
    // A new session in this process: no peer's turn yet. (Compaction goes on
    // with the same turn.) A failure leaves the old state, at worst a peer's
    // turn: the safe side.
    if input.source.as_deref() != Some("compact") {
        let _ = consent::session_started(env);
    }
    // Only a new session starts a broker that `kill-broker` stopped.
    let fresh = matches!(input.source.as_deref(), None | Some("startup"));
    let ready = if env.autostart && (fresh || !stopped_on_purpose(&env.endpoint)) {
        ensure_broker(&env.endpoint, &env.exe).await.map(|_| ())
    } else {
        match probe(&env.endpoint).await {
            Probe::Ours(_) => Ok(()),
            _ => Err(unreachable(&env.endpoint).await),
        }
    };
    if let Err(e) = ready {
        return Outcome::fail_open(format!("the broker is not available ({e})"));
    }
    let client = match env
        .client(&input.session_id)
        .filter(|_| env.registered_here())
    {
        Some((c, _)) => c,
        None => {
            let cwd = input
                .cwd
                .as_deref()
                .map(PathBuf::from)
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from("/"));
            match identity::register(env, &cwd, &input.session_id).await {
                Ok((c, _)) => c,
                Err(e) => return Outcome::fail_open(format!("cannot register ({e})")),
            }
        }
    };
    let r = match client
        .inject(&InjectRequest {
            cc_session: input.session_id.clone(),
            point: TurnPoint::SessionStart,
            permission_mode: input.permission_mode.clone(),
            seen_in_transcript: Vec::new(),
            take: true,
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Outcome::fail_open(format!("the broker did not answer ({e})")),
    };
    let group = r
        .peer
        .group
        .as_ref()
        .map(|g| g.name.as_str())
        .unwrap_or("the lobby");
    let mut text = format!(
        "claude-peers: you are {} (id {}) in {group}; other agent sessions of your group (Claude Code, Codex, Gemini CLI, OpenCode) can message you and you them (list_peers, send_message). {} unread message{}.",
        r.peer.name,
        r.peer.id,
        r.unread,
        if r.unread == 1 { "" } else { "s" }
    );
    if r.unread > 0 {
        text.push_str(" Call check_messages to read them.");
    }
    if !r.messages.is_empty() {
        text.push_str("\n\n");
        text.push_str(&messages_context(&r.messages, r.unread));
    }
    Outcome::context(event, &text)
}

pub async fn session_end(env: &HookEnv, input: &HookInput) -> Outcome {
    // `/clear` ends the session's context, not the process: the peer stays.
    if input.reason.as_deref() == Some("clear") {
        return Outcome::quiet();
    }
    let Some((client, _)) = env.client(&input.session_id) else {
        return Outcome::quiet();
    };
    match client.leave(true).await {
        Ok(()) => Outcome::quiet(),
        Err(e) => Outcome::fail_open(format!("cannot tell the broker this session ended ({e})")),
    }
}
