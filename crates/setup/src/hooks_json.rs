//! Our command hooks in a client's JSON settings (`"hooks": {EVENT: [{"matcher"?,
//! "hooks": [{"type": "command", "command", …}]}]}`, the shape Claude Code and
//! Gemini CLI share): add them as the client's table says, remove exactly ours,
//! and list those missing. Other hooks, in the same events too, stay untouched.

use std::path::Path;

use claude_peers_proto::hooks::{HookClient, HookSpec};
use serde_json::{Value, json};

use crate::jsondoc::JsonDoc;
use crate::mcp_json::JsonFormat;
use crate::{SetupError, shell};

/// The name of our binary, by which our hook commands are recognised.
const BIN_NAME: &str = "claude-peers";

/// How one client writes our hooks.
#[derive(Debug, Clone, Copy)]
pub struct HookStyle {
    pub client: HookClient,
    pub format: JsonFormat,
    /// `timeout` in milliseconds (Gemini CLI) rather than seconds (Claude Code).
    pub timeout_ms: bool,
}

impl HookStyle {
    /// The hook command for `event` (`--client` named for every client but
    /// Claude Code, the default).
    pub fn command(&self, exe: &Path, event: &str) -> String {
        let exe = shell::quote(&exe.display().to_string());
        match self.client {
            HookClient::ClaudeCode => format!("{exe} hook {event}"),
            c => format!("{exe} hook --client {} {event}", c.as_str()),
        }
    }

    /// The matcher group install writes for one hook.
    pub fn group(&self, exe: &Path, spec: &HookSpec) -> Value {
        let mut hook = serde_json::Map::new();
        hook.insert("type".into(), json!("command"));
        hook.insert("command".into(), json!(self.command(exe, spec.event)));
        if spec.async_rewake {
            hook.insert("asyncRewake".into(), json!(true));
        }
        let timeout = if self.timeout_ms {
            u64::from(spec.timeout_s) * 1000
        } else {
            u64::from(spec.timeout_s)
        };
        hook.insert("timeout".into(), json!(timeout));
        let mut group = serde_json::Map::new();
        if let Some(m) = spec.matcher {
            group.insert("matcher".into(), json!(m));
        }
        group.insert("hooks".into(), json!([Value::Object(hook)]));
        Value::Object(group)
    }

    fn parse(&self, text: Option<&str>, file: &Path) -> Result<JsonDoc, SetupError> {
        self.format.parse(text, &file.display().to_string())
    }

    /// Install our hooks: for each event of the table exactly one group of
    /// ours, as the table says; other hooks untouched.
    pub fn add(
        &self,
        text: Option<&str>,
        exe: &Path,
        file: &Path,
    ) -> Result<(String, Vec<String>), SetupError> {
        let name = file.display().to_string();
        let mut doc = self.parse(text, file)?;
        if let Some(h) = doc.get(&["hooks"])
            && !h.is_object()
        {
            return Err(SetupError::Shape {
                file: name,
                path: "hooks".into(),
                expected: "an object",
            });
        }
        let table = self.client.hooks();
        let mut summary = Vec::new();
        for spec in table {
            let path = ["hooks", spec.event];
            let want = self.group(exe, spec);
            let groups = match doc.get(&path) {
                None => vec![],
                Some(Value::Array(a)) => a,
                Some(_) => {
                    return Err(SetupError::Shape {
                        file: name,
                        path: format!("hooks.{}", spec.event),
                        expected: "an array",
                    });
                }
            };
            let ours: Vec<&Value> = groups.iter().filter(|g| has_our_hook(g)).collect();
            if ours.len() == 1 && *ours[0] == want {
                continue;
            }
            let had = !ours.is_empty();
            doc.rewrite_array(&path, without_ours);
            doc.append(&path, &want, &name)?;
            summary.push(format!(
                "{} hook {}",
                if had { "update" } else { "add" },
                spec.event
            ));
        }
        // Ours in events the table no longer has (an older install).
        for event in events(&doc) {
            if table.iter().any(|s| s.event == event) {
                continue;
            }
            if doc.rewrite_array(&["hooks", &event], without_ours) {
                doc.prune(&["hooks", &event], 1);
                summary.push(format!("remove old hook {event}"));
            }
        }
        Ok((doc.render(), summary))
    }

    /// Remove every hook of ours, leave the others; drop the event arrays and
    /// the `hooks` object that this leaves empty.
    pub fn remove(&self, text: &str, file: &Path) -> Result<(String, Vec<String>), SetupError> {
        let mut doc = self.parse(Some(text), file)?;
        let mut summary = Vec::new();
        for event in events(&doc) {
            if doc.rewrite_array(&["hooks", &event], without_ours) {
                doc.prune(&["hooks", &event], 2);
                summary.push(format!("remove hook {event}"));
            }
        }
        Ok((doc.render(), summary))
    }

    /// The events whose hook is missing or not as install writes it.
    pub fn missing(
        &self,
        text: Option<&str>,
        exe: &Path,
        file: &Path,
    ) -> Result<Vec<String>, SetupError> {
        let doc = self.parse(text, file)?;
        Ok(self
            .client
            .hooks()
            .iter()
            .filter(|spec| {
                !doc.array(&["hooks", spec.event])
                    .contains(&self.group(exe, spec))
            })
            .map(|spec| spec.event.to_string())
            .collect())
    }
}

/// Whether a hook entry is one of ours: a command hook running a binary called
/// `claude-peers` with `hook` (from whatever path it was installed).
pub fn is_our_hook(hook: &Value) -> bool {
    let Some(cmd) = hook.get("command").and_then(Value::as_str) else {
        return false;
    };
    let Some(words) = shell::split(cmd) else {
        return false;
    };
    hook.get("type").and_then(Value::as_str) == Some("command")
        && words.len() >= 2
        && Path::new(&words[0]).file_name().and_then(|n| n.to_str()) == Some(BIN_NAME)
        && words[1] == "hook"
}

pub fn has_our_hook(group: &Value) -> bool {
    group
        .get("hooks")
        .and_then(Value::as_array)
        .is_some_and(|hs| hs.iter().any(is_our_hook))
}

/// A group without our hooks: `None` when nothing of ours is in it, `Some(None)`
/// when only ours were (drop the group), `Some(Some(g))` otherwise.
fn without_ours(group: &Value) -> Option<Option<Value>> {
    if !has_our_hook(group) {
        return None;
    }
    let mut g = group.clone();
    let hooks = g.get_mut("hooks").and_then(Value::as_array_mut)?;
    hooks.retain(|h| !is_our_hook(h));
    Some((!hooks.is_empty()).then_some(g))
}

fn events(doc: &JsonDoc) -> Vec<String> {
    match doc.get(&["hooks"]) {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}
