//! OpenCode: our MCP server under `mcp` in `~/.config/opencode/opencode.json[c]`
//! (user scope; `opencode.jsonc` is what `opencode mcp add` creates) or the
//! project's `opencode.json[c]` (project scope), as a `local` server. JSON with
//! comments. OpenCode has no command hooks: its extensions are plugins, and
//! install writes ours (`plugins/claude-peers.js` in the user's configuration
//! folder, [`plugin_text`]) to wake an idle session when mail arrives.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::client::{
    AgentClient, ClientStatus, Host, ListCommand, Scope, entry_problem, read_line, read_optional,
};
use crate::jsondoc::Dialect;
use crate::mcp_json::{self, JsonFormat};
use crate::{FileChange, SERVER_NAME, SetupError};

const FORMAT: JsonFormat = JsonFormat {
    dialect: Dialect::Jsonc,
    key_order: &["type", "command", "environment", "enabled"],
};

const PATH: [&str; 2] = ["mcp", SERVER_NAME];

/// The plugin's source; `__CLAUDE_PEERS_EXE__` becomes our binary's path.
const PLUGIN: &str = include_str!("assets/opencode-plugin.js");
/// The first line of our plugin, by which uninstall knows the file is ours.
const PLUGIN_MARK: &str = "// claude-peers for OpenCode:";

/// OpenCode.
pub struct OpenCode;

impl OpenCode {
    fn config_dir(host: &Host) -> PathBuf {
        host.xdg_config_home
            .clone()
            .unwrap_or_else(|| host.home.join(".config"))
            .join("opencode")
    }

    /// Our plugin, `plugins/claude-peers.js` in the user's configuration
    /// folder (OpenCode loads `{plugin,plugins}/*.{ts,js}` there).
    pub fn plugin(host: &Host) -> PathBuf {
        Self::config_dir(host).join("plugins/claude-peers.js")
    }

    /// The file to edit: an existing `opencode.json`, else `opencode.jsonc`
    /// (existing or new; for a project, a new file is `opencode.json`).
    fn config(host: &Host, scope: Scope) -> PathBuf {
        let (dir, new) = match scope {
            Scope::User => (Self::config_dir(host), "opencode.jsonc"),
            Scope::Project => (host.cwd.clone(), "opencode.json"),
        };
        ["opencode.json", "opencode.jsonc"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.exists())
            .unwrap_or_else(|| dir.join(new))
    }
}

/// Our plugin, calling `exe`.
pub fn plugin_text(exe: &Path) -> String {
    let exe = serde_json::Value::String(exe.display().to_string()).to_string();
    PLUGIN.replace("__CLAUDE_PEERS_EXE__", &exe)
}

/// Write our plugin (or bring it up to date); a file there that is not ours
/// is left alone, with an error.
fn add_plugin(host: &Host) -> Result<FileChange, SetupError> {
    let file = OpenCode::plugin(host);
    let before = read_optional(&file)?;
    let want = plugin_text(&host.exe);
    let summary = match &before {
        Some(t) if *t == want => vec![],
        Some(t) if !t.starts_with(PLUGIN_MARK) => {
            return Err(SetupError::Unsupported(format!(
                "opencode: {} exists and is not claude-peers' plugin; move it, then install again",
                host.show(&file)
            )));
        }
        Some(_) => vec!["update plugin claude-peers.js".to_string()],
        None => vec!["add plugin claude-peers.js (wakes an idle session)".to_string()],
    };
    Ok(FileChange::plan(
        file,
        before,
        (want, summary),
        0o644,
        |_| false,
    ))
}

/// Remove our plugin (only a file that is ours).
fn remove_plugin(host: &Host) -> Result<Option<FileChange>, SetupError> {
    let file = OpenCode::plugin(host);
    match read_optional(&file)? {
        Some(t) if t.starts_with(PLUGIN_MARK) => Ok(Some(FileChange::plan(
            file,
            Some(t),
            (
                String::new(),
                vec!["remove plugin claude-peers.js".to_string()],
            ),
            0o644,
            |_| true,
        ))),
        _ => Ok(None),
    }
}

/// The `mcp` entry install writes.
pub fn server_entry(exe: &Path) -> Value {
    json!({"type": "local", "command": [exe.display().to_string(), "mcp"]})
}

impl AgentClient for OpenCode {
    fn id(&self) -> &'static str {
        "opencode"
    }

    fn command(&self) -> &'static str {
        "opencode"
    }

    fn list_command(&self) -> ListCommand {
        // `opencode mcp list` connects and marks each server `✓` (connected) or `✗`.
        ListCommand {
            args: &["mcp", "list"],
            read: |out| read_line(out, |l| l.contains("claude-peers"), |l| l.contains('✓')),
        }
    }

    fn detect(&self, host: &Host) -> bool {
        Self::config_dir(host).is_dir() || host.which(self.command()).is_some()
    }

    fn install(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::config(host, scope);
        let before = read_optional(&file)?;
        let after = mcp_json::add(
            FORMAT,
            before.as_deref(),
            &PATH,
            &server_entry(&host.exe),
            &["environment", "enabled"],
            &file.display().to_string(),
        )?;
        Ok(vec![
            FileChange::plan(file, before, after, 0o644, |_| false),
            add_plugin(host)?,
        ])
    }

    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::config(host, scope);
        let mut changes = Vec::new();
        if let Some(before) = read_optional(&file)? {
            let after = mcp_json::remove(FORMAT, &before, &PATH, &file.display().to_string())?;
            changes.push(FileChange::plan(file, Some(before), after, 0o644, |t| {
                mcp_json::is_empty(FORMAT, t)
            }));
        }
        // The plugin serves every registration: keep it while another stays.
        let other = match scope {
            Scope::User => Scope::Project,
            Scope::Project => Scope::User,
        };
        let other_file = Self::config(host, other);
        let other_stays = mcp_json::get(
            FORMAT,
            read_optional(&other_file)?.as_deref(),
            &PATH,
            &other_file.display().to_string(),
        )?
        .is_some();
        if !other_stays && let Some(c) = remove_plugin(host)? {
            changes.push(c);
        }
        Ok(changes)
    }

    fn status(&self, host: &Host) -> Result<ClientStatus, SetupError> {
        let found = mcp_json::find(
            FORMAT,
            [
                (Self::config(host, Scope::Project), "project scope"),
                (Self::config(host, Scope::User), "user scope"),
            ],
            &PATH,
        )?;
        let (server, server_problem) = match found {
            None => (None, None),
            Some((entry, file, words)) => {
                let command: Vec<&str> = entry
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let program = command.first().copied().unwrap_or("");
                (
                    Some(format!("{} ({words})", host.show(&file))),
                    entry_problem(program, command.get(1..) == Some(&["mcp"][..])),
                )
            }
        };
        let plugin = Self::plugin(host);
        let hooks_missing = if read_optional(&plugin)?.as_deref() == Some(&plugin_text(&host.exe)) {
            Vec::new()
        } else {
            vec![format!("the plugin {}", host.show(&plugin))]
        };
        Ok(ClientStatus {
            server,
            server_problem,
            has_hooks: true,
            hooks_missing,
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_names_our_binary_as_a_js_string() {
        let t = plugin_text(Path::new("/opt/my \"bin\"/claude-peers"));
        assert!(t.starts_with(PLUGIN_MARK));
        assert!(
            t.contains(r#"const EXE = "/opt/my \"bin\"/claude-peers";"#),
            "{t}"
        );
        assert!(!t.contains("__CLAUDE_PEERS_EXE__"));
    }

    const CONFIG: &str = r#"{
  "$schema": "https://opencode.ai/config.json",
  // models I use
  "model": "anthropic/claude-sonnet-4",
  "mcp": {
    "other": {
      "type": "local",
      "command": ["other-server"],
    },
  },
}
"#;

    #[test]
    fn add_and_remove_keep_comments_and_trailing_commas() {
        let exe = Path::new("/bin/claude-peers");
        let (text, summary) = mcp_json::add(
            FORMAT,
            Some(CONFIG),
            &PATH,
            &server_entry(exe),
            &["environment", "enabled"],
            "f",
        )
        .unwrap();
        assert_eq!(summary, vec!["add MCP server claude-peers"]);
        assert!(text.contains("// models I use"), "{text}");
        assert!(
            text.contains("\"claude-peers\": {\n      \"type\": \"local\",\n      \"command\": [\"/bin/claude-peers\", \"mcp\"],"),
            "{text}"
        );
        let (again, summary) = mcp_json::add(
            FORMAT,
            Some(&text),
            &PATH,
            &server_entry(exe),
            &["environment", "enabled"],
            "f",
        )
        .unwrap();
        assert!(summary.is_empty());
        assert_eq!(again, text);
        let (back, _) = mcp_json::remove(FORMAT, &text, &PATH, "f").unwrap();
        assert_eq!(back, CONFIG);
    }
}
