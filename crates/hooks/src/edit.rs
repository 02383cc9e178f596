//! Before a file-writing tool (Claude Code's `PreToolUse` on
//! Edit/Write/MultiEdit/NotebookEdit, Gemini CLI's `BeforeTool` on
//! write_file/replace, Codex CLI's `PreToolUse` on apply_patch, whose patch
//! may name several files): the files are reported as
//! active for this peer (no tool call needed), and when another live peer of
//! the same group is editing one, the user is asked (`ask`, the default) or the
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

/// What the edit guard found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditCheck {
    /// Not an edit, or nobody else edits the file.
    Clear,
    /// Another peer edits it: the reason to give.
    Conflict(String),
    /// The broker did not answer (fail open with this line).
    Failed(String),
}

pub async fn pre_edit(env: &HookEnv, input: &HookInput) -> Outcome {
    match check(env, input).await {
        EditCheck::Clear => Outcome::quiet(),
        EditCheck::Failed(e) => Outcome::fail_open(e),
        EditCheck::Conflict(reason) => Outcome::decision(env.client, conflict_decision(), &reason),
    }
}

/// Report the edited files as active and look for another peer editing one of them.
pub async fn check(env: &HookEnv, input: &HookInput) -> EditCheck {
    let edited = input.edited_files();
    if edited.is_empty() {
        return EditCheck::Clear;
    }
    let Some((client, creds)) = env.client(&input.session_id) else {
        return EditCheck::Clear;
    };
    let mine: Vec<String> = match client.active_files().await {
        Ok(all) => all
            .into_iter()
            .filter(|v| v.peer.id == creds.peer_id)
            .flat_map(|v| v.files.into_iter().map(|f| f.path))
            .collect(),
        Err(e) => return EditCheck::Failed(format!("the broker did not answer ({e})")),
    };
    let mut files = mine;
    let cwd = input.cwd.as_deref().unwrap_or("");
    let paths: Vec<String> = edited
        .iter()
        .map(|f| claude_peers_proto::paths::normalize(cwd, f).unwrap_or_else(|| f.clone()))
        .collect();
    for path in &paths {
        if !files.contains(path) {
            files.push(path.clone());
        }
    }
    let r = match client
        .set_active_files(&SetActiveFiles {
            files: StringList(files),
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return EditCheck::Failed(format!("cannot report the file ({e})")),
    };
    let others: Vec<_> = r
        .conflicts
        .iter()
        .filter(|c| paths.contains(&c.path))
        .collect();
    let Some(first) = others.first() else {
        return EditCheck::Clear;
    };
    let path = &first.path;
    let peers = client
        .all_peers(&ListPeersQuery::default())
        .await
        .unwrap_or_default();
    let who: Vec<String> = others
        .iter()
        .filter(|c| c.path == *path)
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
    EditCheck::Conflict(format!(
        "claude-peers: {} is also editing {path}. Agree who goes first (send_message {}) before changing it.",
        who.join(" and "),
        first.peer.name
    ))
}
