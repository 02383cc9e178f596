//! Before a file-writing tool (Claude Code's `PreToolUse` on
//! Edit/Write/MultiEdit/NotebookEdit, Gemini CLI's `BeforeTool` on
//! write_file/replace): the file is reported as
//! active for this peer (no tool call needed), and when another live peer of
//! the same group is editing it, the user is asked (`ask`, the default) or the
//! edit is refused (`deny`, with `CLAUDE_PEERS_FILE_CONFLICT=deny`), naming the
//! other peer and what it is doing.

use claude_peers_proto::api::ListPeersQuery;
use claude_peers_proto::coord::{SetActiveFiles, StringList};

use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::output::Outcome;

/// The environment variable choosing the answer to a conflict.
pub const CONFLICT_VAR: &str = "CLAUDE_PEERS_FILE_CONFLICT";

/// `ask` (default) or `deny`.
pub fn conflict_decision() -> &'static str {
    match std::env::var(CONFLICT_VAR).ok().as_deref().map(str::trim) {
        Some("deny") => "deny",
        _ => "ask",
    }
}

pub async fn pre_edit(env: &HookEnv, input: &HookInput) -> Outcome {
    let Some(file) = input.edited_file() else {
        return Outcome::quiet();
    };
    let Some((client, creds)) = env.client(&input.session_id) else {
        return Outcome::quiet();
    };
    let mine: Vec<String> = match client.active_files().await {
        Ok(all) => all
            .into_iter()
            .filter(|v| v.peer.id == creds.peer_id)
            .flat_map(|v| v.files.into_iter().map(|f| f.path))
            .collect(),
        Err(e) => return Outcome::fail_open(format!("the broker did not answer ({e})")),
    };
    let mut files = mine;
    let path = match claude_peers_proto::paths::normalize(input.cwd.as_deref().unwrap_or(""), file)
    {
        Some(p) => p,
        None => file.to_string(),
    };
    if !files.contains(&path) {
        files.push(path.clone());
    }
    let r = match client
        .set_active_files(&SetActiveFiles {
            files: StringList(files),
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Outcome::fail_open(format!("cannot report the file ({e})")),
    };
    let others: Vec<_> = r.conflicts.iter().filter(|c| c.path == path).collect();
    if others.is_empty() {
        return Outcome::quiet();
    }
    let peers = client
        .peers(&ListPeersQuery::default())
        .await
        .unwrap_or_default();
    let who: Vec<String> = others
        .iter()
        .map(|c| {
            let doing = peers
                .iter()
                .find(|p| p.id == c.peer.id)
                .map(|p| p.summary.trim())
                .filter(|s| !s.is_empty())
                .map(|s| format!(" (working on: {s})"))
                .unwrap_or_default();
            format!("{}{doing}", c.peer.name)
        })
        .collect();
    let reason = format!(
        "claude-peers: {} is also editing {path}. Agree who goes first (send_message {}) before changing it.",
        who.join(" and "),
        others[0].peer.name
    );
    Outcome::decision(env.client, conflict_decision(), &reason)
}
