//! One server entry in a JSON (or JSONC) configuration file, at a fixed key
//! path (`mcpServers.claude-peers`, `mcp.claude-peers`): add or update it,
//! remove it, read it. Shared by every client whose configuration is JSON.

use serde_json::Value;

use crate::SetupError;
use crate::jsondoc::{Dialect, JsonDoc};

/// How a client's JSON file is written.
#[derive(Debug, Clone, Copy)]
pub struct JsonFormat {
    pub dialect: Dialect,
    /// Order of the keys we write (see [`JsonDoc::with_key_order`]).
    pub key_order: &'static [&'static str],
}

impl JsonFormat {
    /// Parse `text` (a missing file is an empty object).
    pub fn parse(&self, text: Option<&str>, file: &str) -> Result<JsonDoc, SetupError> {
        Ok(JsonDoc::parse(text.unwrap_or("{}\n"), self.dialect, file)?
            .with_key_order(self.key_order))
    }
}

/// Make `path` hold `entry`. Keys of an existing entry that `entry` does not
/// own stay, and so do those named in `keep` (e.g. the `env` a user added to
/// our entry survives a re-install). Returns the new text and what changed, in
/// words (nothing when it already held it).
pub fn add(
    format: JsonFormat,
    text: Option<&str>,
    path: &[&str],
    entry: &Value,
    keep: &[&str],
    file: &str,
) -> Result<(String, Vec<String>), SetupError> {
    let mut doc = format.parse(text, file)?;
    let before = doc.get(path);
    let want = match (&before, entry) {
        (Some(Value::Object(old)), Value::Object(new)) => {
            let mut merged = old.clone();
            for (k, v) in new {
                if !(keep.contains(&k.as_str()) && old.contains_key(k)) {
                    merged.insert(k.clone(), v.clone());
                }
            }
            Value::Object(merged)
        }
        _ => entry.clone(),
    };
    let changed = doc.set(path, &want, file)?;
    let name = path.last().copied().unwrap_or_default();
    let summary = match (changed, before) {
        (false, _) => vec![],
        (true, None) => vec![format!("add MCP server {name}")],
        (true, Some(_)) => vec![format!("update MCP server {name}")],
    };
    Ok((doc.render(), summary))
}

/// Remove the entry at `path`, and its parent object when that leaves it empty.
pub fn remove(
    format: JsonFormat,
    text: &str,
    path: &[&str],
    file: &str,
) -> Result<(String, Vec<String>), SetupError> {
    let mut doc = format.parse(Some(text), file)?;
    let name = path.last().copied().unwrap_or_default();
    let summary = if doc.remove(path, 1) {
        vec![format!("remove MCP server {name}")]
    } else {
        vec![]
    };
    Ok((doc.render(), summary))
}

/// The entry at `path`, if there is one.
pub fn get(
    format: JsonFormat,
    text: Option<&str>,
    path: &[&str],
    file: &str,
) -> Result<Option<Value>, SetupError> {
    Ok(format.parse(text, file)?.get(path))
}

/// The first of `files` (each with its scope in words) whose text holds an
/// entry at `path`: the entry, and the file it is in. How a client's status
/// finds its server across the scopes it reads, nearest first.
pub fn find(
    format: JsonFormat,
    files: impl IntoIterator<Item = (std::path::PathBuf, &'static str)>,
    path: &[&str],
) -> Result<Option<(Value, std::path::PathBuf, &'static str)>, SetupError> {
    for (file, words) in files {
        let text = crate::client::read_optional(&file)?;
        if let Some(entry) = get(format, text.as_deref(), path, &file.display().to_string())? {
            return Ok(Some((entry, file, words)));
        }
    }
    Ok(None)
}

/// Whether `text` is an empty object (a file we may delete after removing ours).
pub fn is_empty(format: JsonFormat, text: &str) -> bool {
    format
        .parse(Some(text), "")
        .map(|d| d.is_empty_object())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const F: JsonFormat = JsonFormat {
        dialect: Dialect::Json,
        key_order: &["command", "args", "env"],
    };

    #[test]
    fn a_reinstall_keeps_what_the_user_added_to_our_entry() {
        let text = r#"{"s": {"x": {"command": "/old", "args": ["mcp"], "env": {"CLAUDE_PEERS_TOOLS": "core"}, "timeout": 5}}}"#;
        let entry = json!({"command": "/new", "args": ["mcp"], "env": {}});
        let (out, summary) = add(F, Some(text), &["s", "x"], &entry, &["env"], "f").unwrap();
        assert_eq!(summary, vec!["update MCP server x"]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["s"]["x"],
            json!({"command": "/new", "args": ["mcp"], "env": {"CLAUDE_PEERS_TOOLS": "core"}, "timeout": 5})
        );
        let (_, summary) = add(F, Some(&out), &["s", "x"], &entry, &["env"], "f").unwrap();
        assert!(summary.is_empty(), "idempotent with the user's additions");
    }
}
