//! Codex CLI runs a hook from `~/.codex/hooks.json` only once the user trusted
//! it: `config.toml` holds `[hooks.state."<key>"] trusted_hash = "<hash>"`, as
//! Codex's own `/hooks` review writes it. This module computes both the way
//! Codex 0.171.0 does (checked against `codex app-server`'s `hooks/list`, which
//! reports each hook's `key`, `currentHash` and `trustStatus`):
//! - key: `<hooks.json path>:<event in snake_case>:<group index>:<handler index>`;
//! - hash: `sha256:` + the hex SHA-256 of the compact JSON, keys sorted, of
//!   `{"event_name", "matcher"?, "hooks": [{"type": "command", "command",
//!   "timeout", "async", "statusMessage"?}]}` for that one handler.
//!
//! Since the key is positional, removing or re-appending our hooks moves the
//! user's hooks behind them: their trust moves with them, so a hook the user
//! trusted stays trusted.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Table, value};

use crate::SetupError;
use crate::hooks_json::is_our_hook;

/// Codex's default hook timeout (seconds) when `timeout` is not set.
const DEFAULT_TIMEOUT_S: u64 = 600;

/// One command handler in `hooks.json`, where Codex finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub event: String,
    pub group: usize,
    pub index: usize,
    pub ours: bool,
    /// The trust hash of this handler.
    pub hash: String,
}

impl Handler {
    /// Its `[hooks.state]` key, for the hooks file at `file`.
    pub fn key(&self, file: &Path) -> String {
        format!(
            "{}:{}:{}:{}",
            file.display(),
            snake_case(&self.event),
            self.group,
            self.index
        )
    }
}

/// `PreToolUse` → `pre_tool_use` (Codex's event label).
pub fn snake_case(event: &str) -> String {
    let mut out = String::new();
    for (i, c) in event.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The trust hash of one command handler of `event` in a group with `matcher`.
pub fn handler_hash(event: &str, matcher: Option<&str>, handler: &Value) -> String {
    let timeout = handler
        .get("timeout")
        .or_else(|| handler.get("timeoutSec"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_TIMEOUT_S)
        .max(1);
    let mut h = Map::new();
    h.insert("type".into(), json!("command"));
    h.insert(
        "command".into(),
        handler.get("command").cloned().unwrap_or(json!("")),
    );
    h.insert("timeout".into(), json!(timeout));
    h.insert(
        "async".into(),
        json!(
            handler
                .get("async")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
    );
    if let Some(m) = handler.get("statusMessage").filter(|m| !m.is_null()) {
        h.insert("statusMessage".into(), m.clone());
    }
    let mut identity = Map::new();
    identity.insert("event_name".into(), json!(snake_case(event)));
    if let Some(m) = matcher {
        identity.insert("matcher".into(), json!(m));
    }
    identity.insert("hooks".into(), json!([Value::Object(h)]));
    let text = canonical(&Value::Object(identity)).to_string();
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `v` with every object's keys in sorted order.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Every command handler in a `hooks.json` text (none when it is missing or
/// not what Codex reads).
pub fn handlers(text: Option<&str>) -> Vec<Handler> {
    let Some(Value::Object(events)) = text
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.get("hooks").cloned())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (event, groups) in &events {
        let Some(groups) = groups.as_array() else {
            continue;
        };
        for (g, group) in groups.iter().enumerate() {
            let matcher = group.get("matcher").and_then(Value::as_str);
            let Some(hooks) = group.get("hooks").and_then(Value::as_array) else {
                continue;
            };
            for (i, h) in hooks.iter().enumerate() {
                if h.get("type").and_then(Value::as_str) != Some("command") {
                    continue;
                }
                out.push(Handler {
                    event: event.clone(),
                    group: g,
                    index: i,
                    ours: is_our_hook(h),
                    hash: handler_hash(event, matcher, h),
                });
            }
        }
    }
    out
}

fn unparsable(file: &str, e: impl std::fmt::Display) -> SetupError {
    SetupError::Unparsable {
        file: file.to_string(),
        reason: e.to_string().trim().replace('\n', " "),
    }
}

/// Bring `[hooks.state]` in `config` (the text of `config.toml`, named `file`)
/// in line with `hooks.json` (at `hooks_file`) going from `before` to `after`:
/// trust our hooks as they are in `after` (none after an uninstall), drop the
/// trust of ours in `before`, and move the user's trust with their hooks.
/// Returns the new text and what changed, in words.
pub fn update_state(
    config: &str,
    file: &str,
    hooks_file: &Path,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(String, Vec<String>), SetupError> {
    let mut doc: DocumentMut = config.parse().map_err(|e| unparsable(file, e))?;
    let (old, new) = (handlers(before), handlers(after));
    let mut summary = Vec::new();

    // The user's trust, moved to where their hooks are now.
    let mut moves: Vec<(String, String)> = Vec::new();
    let mut events: Vec<&str> = old.iter().map(|h| h.event.as_str()).collect();
    events.dedup();
    for event in events {
        let theirs = |hs: &[Handler]| -> Vec<Handler> {
            hs.iter()
                .filter(|h| h.event == event && !h.ours)
                .cloned()
                .collect()
        };
        for (o, n) in theirs(&old).iter().zip(theirs(&new).iter()) {
            let (ok, nk) = (o.key(hooks_file), n.key(hooks_file));
            if ok != nk {
                moves.push((ok, nk));
            }
        }
    }
    let ours_old: Vec<String> = old
        .iter()
        .filter(|h| h.ours)
        .map(|h| h.key(hooks_file))
        .collect();
    let ours_new: Vec<(String, String)> = new
        .iter()
        .filter(|h| h.ours)
        .map(|h| (h.key(hooks_file), h.hash.clone()))
        .collect();

    let state = state_table(&mut doc, file, !ours_new.is_empty())?;
    let Some(state) = state else {
        return Ok((config.to_string(), summary));
    };
    let taken: Vec<(String, Item)> = moves
        .iter()
        .filter_map(|(from, to)| state.remove(from).map(|item| (to.clone(), item)))
        .collect();
    for key in &ours_old {
        if !ours_new.iter().any(|(k, _)| k == key) && state.remove(key).is_some() {
            summary.push("remove hook trust".to_string());
        }
    }
    for (to, item) in taken {
        state.insert(&to, item);
        summary.push("move the trust of a hook of yours".to_string());
    }
    for (key, hash) in &ours_new {
        let current = state
            .get(key)
            .and_then(|t| t.get("trusted_hash"))
            .and_then(|h| h.as_str());
        if current == Some(hash.as_str()) {
            continue;
        }
        let t = state
            .entry(key)
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| SetupError::Shape {
                file: file.to_string(),
                path: format!("hooks.state.\"{key}\""),
                expected: "a table",
            })?;
        t["trusted_hash"] = value(hash.as_str());
        summary.push("trust hook".to_string());
    }
    summary.dedup();
    prune(&mut doc);
    Ok((doc.to_string(), summary))
}

/// `[hooks.state]`, created (implicit) when `create`; `None` when it is not
/// there and not to be created.
fn state_table<'d>(
    doc: &'d mut DocumentMut,
    file: &str,
    create: bool,
) -> Result<Option<&'d mut Table>, SetupError> {
    let shape = |path: &str| SetupError::Shape {
        file: file.to_string(),
        path: path.to_string(),
        expected: "a table",
    };
    if !create && doc.get("hooks").and_then(|h| h.get("state")).is_none() {
        return Ok(None);
    }
    let implicit = || {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    };
    let hooks = doc
        .entry("hooks")
        .or_insert_with(implicit)
        .as_table_mut()
        .ok_or_else(|| shape("hooks"))?;
    let state = hooks
        .entry("state")
        .or_insert_with(implicit)
        .as_table_mut()
        .ok_or_else(|| shape("hooks.state"))?;
    Ok(Some(state))
}

/// Drop an implicit `[hooks.state]` / `[hooks]` left empty.
fn prune(doc: &mut DocumentMut) {
    let empty_implicit = |item: Option<&Item>| {
        item.and_then(Item::as_table)
            .is_some_and(|t| t.is_empty() && t.is_implicit())
    };
    if let Some(hooks) = doc.get_mut("hooks").and_then(Item::as_table_mut)
        && empty_implicit(hooks.get("state"))
    {
        hooks.remove("state");
    }
    if empty_implicit(doc.get("hooks")) {
        doc.remove("hooks");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes `codex app-server` (0.171.0) reported in `hooks/list` for these
    /// handlers of `/tmp/cx/h/.codex/hooks.json`.
    #[test]
    fn hashes_and_keys_are_codexs() {
        let hooks = r#"{"hooks": {
            "SessionStart": [{"hooks": [{"type": "command", "command": "/bin/claude-peers hook --client codex SessionStart", "timeout": 10}]}],
            "PreToolUse": [{"matcher": "apply_patch", "hooks": [{"type": "command", "command": "/bin/claude-peers hook --client codex PreToolUse", "timeout": 10}]}]}}"#;
        let hs = handlers(Some(hooks));
        let file = Path::new("/tmp/cx/h/.codex/hooks.json");
        let by_key: Vec<(String, String)> =
            hs.iter().map(|h| (h.key(file), h.hash.clone())).collect();
        assert!(by_key.contains(&(
            "/tmp/cx/h/.codex/hooks.json:pre_tool_use:0:0".into(),
            "sha256:800f908947a32fe099fe51c951135c919c7c50d1345a77ef356efd1f0b53a558".into()
        )));
        assert!(by_key.contains(&(
            "/tmp/cx/h/.codex/hooks.json:session_start:0:0".into(),
            "sha256:ace238a3803017ad2a048f325b00b426d1927e1df97f455666cb69557a79b5a1".into()
        )));
        assert!(hs.iter().all(|h| h.ours));
    }

    #[test]
    fn trust_is_added_moved_and_removed() {
        let file = Path::new("/h/hooks.json");
        let mine = r#"{"matcher": "Bash", "hooks": [{"type": "command", "command": "/my/guard"}]}"#;
        let ours = r#"{"matcher": "apply_patch", "hooks": [{"type": "command", "command": "/bin/claude-peers hook --client codex PreToolUse", "timeout": 10}]}"#;
        // Ours first, the user's after it (as an older install left it).
        let before = format!(r#"{{"hooks": {{"PreToolUse": [{ours}, {mine}]}}}}"#);
        let config = "# mine\nmodel = \"m\"\n\n[hooks.state.\"/h/hooks.json:pre_tool_use:1:0\"]\ntrusted_hash = \"sha256:user\"\n";
        let (text, summary) = update_state(config, "c", file, None, Some(&before)).unwrap();
        assert_eq!(summary, ["trust hook"]);
        let (again, summary) =
            update_state(&text, "c", file, Some(&before), Some(&before)).unwrap();
        assert!(summary.is_empty(), "{summary:?}");
        assert_eq!(again, text);
        // Uninstall: ours goes, the user's hook moves to index 0 with its trust.
        let after = format!(r#"{{"hooks": {{"PreToolUse": [{mine}]}}}}"#);
        let (text, _) = update_state(&text, "c", file, Some(&before), Some(&after)).unwrap();
        assert_eq!(
            text,
            "# mine\nmodel = \"m\"\n\n[hooks.state.\"/h/hooks.json:pre_tool_use:0:0\"]\ntrusted_hash = \"sha256:user\"\n"
        );
        // Nothing of ours, nothing there: the file stays as it was.
        let (same, summary) = update_state("a = 1\n", "c", file, None, Some(&after)).unwrap();
        assert!(summary.is_empty());
        assert_eq!(same, "a = 1\n");
        assert!(update_state("a = [", "c", file, None, None).is_err());
        assert!(update_state("hooks = 1\n", "c", file, None, Some(&before)).is_err());
    }
}
