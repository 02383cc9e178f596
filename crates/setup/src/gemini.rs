//! Gemini CLI: our MCP server in `~/.gemini/settings.json` (user scope) or
//! `./.gemini/settings.json` (project scope), as `gemini mcp add` writes it.
//! Gemini CLI starts MCP servers only in trusted folders; install says so and
//! leaves that decision to the person. Our hooks (SessionStart, SessionEnd,
//! BeforeAgent, AfterTool, BeforeTool on file writes) always go into the
//! user's `~/.gemini/settings.json`: Gemini CLI fingerprints project hooks and
//! warns when they change.

use std::path::{Path, PathBuf};

use claude_peers_proto::hooks::HookClient;
use serde_json::{Value, json};

use crate::client::{
    AgentClient, ClientStatus, Host, ListCommand, Scope, entry_problem, read_line, read_optional,
};
use crate::hooks_json::HookStyle;
use crate::jsondoc::Dialect;
use crate::mcp_json::{self, JsonFormat};
use crate::{FileChange, SERVER_NAME, SetupError};

/// Gemini CLI reads its settings with comments allowed.
const FORMAT: JsonFormat = JsonFormat {
    dialect: Dialect::Jsonc,
    key_order: &[
        "matcher", "hooks", "type", "command", "args", "env", "timeout",
    ],
};

/// How Gemini CLI's hooks are written (`timeout` in milliseconds).
const HOOKS: HookStyle = HookStyle {
    client: HookClient::Gemini,
    format: FORMAT,
    timeout_ms: true,
};

const PATH: [&str; 2] = ["mcpServers", SERVER_NAME];

/// Gemini CLI.
pub struct Gemini;

impl Gemini {
    fn settings(host: &Host, scope: Scope) -> PathBuf {
        match scope {
            Scope::User => host.home.join(".gemini/settings.json"),
            Scope::Project => host.cwd.join(".gemini/settings.json"),
        }
    }

    /// `~/.gemini/trustedFolders.json`.
    pub fn trusted_folders(host: &Host) -> PathBuf {
        host.home.join(".gemini/trustedFolders.json")
    }
}

/// The `mcpServers` entry install writes.
pub fn server_entry(exe: &Path) -> Value {
    json!({"command": exe.display().to_string(), "args": ["mcp"]})
}

/// Whether `dir` is trusted by `trustedFolders.json` (`TRUST_FOLDER` on it, or
/// `TRUST_PARENT` / `TRUST_FOLDER` on a folder above it).
pub fn is_trusted(trusted: Option<&str>, dir: &Path) -> bool {
    let Some(Value::Object(map)) = trusted.and_then(|t| serde_json::from_str(t).ok()) else {
        return false;
    };
    map.iter().any(|(folder, level)| {
        let folder = Path::new(folder);
        match level.as_str() {
            Some("TRUST_FOLDER") => dir.starts_with(folder),
            Some("TRUST_PARENT") => dir.parent().is_some_and(|p| p.starts_with(folder)),
            _ => false,
        }
    })
}

impl AgentClient for Gemini {
    fn id(&self) -> &'static str {
        "gemini"
    }

    fn command(&self) -> &'static str {
        "gemini"
    }

    fn list_command(&self) -> ListCommand {
        // `gemini mcp list` connects and prints `✓ NAME: CMD (stdio) - Connected`.
        ListCommand {
            args: &["mcp", "list"],
            read: |out| {
                read_line(
                    out,
                    |l| l.contains("claude-peers:"),
                    |l| l.ends_with("- Connected"),
                )
            },
        }
    }

    fn detect(&self, host: &Host) -> bool {
        host.home.join(".gemini").is_dir() || host.which(self.command()).is_some()
    }

    fn install(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::settings(host, scope);
        let before = read_optional(&file)?;
        let (text, mut summary) = mcp_json::add(
            FORMAT,
            before.as_deref(),
            &PATH,
            &server_entry(&host.exe),
            &["env"],
            &file.display().to_string(),
        )?;
        let mut changes = Vec::new();
        let user = Self::settings(host, Scope::User);
        if scope == Scope::User {
            let (text, hooks) = HOOKS.add(Some(&text), &host.exe, &file)?;
            summary.extend(hooks);
            changes.push(FileChange::plan(
                file,
                before,
                (text, summary),
                0o644,
                |_| false,
            ));
        } else {
            changes.push(FileChange::plan(
                file,
                before,
                (text, summary),
                0o644,
                |_| false,
            ));
            let before = read_optional(&user)?;
            let after = HOOKS.add(before.as_deref(), &host.exe, &user)?;
            changes.push(FileChange::plan(user, before, after, 0o644, |_| false));
        }
        Ok(changes)
    }

    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let user = Self::settings(host, Scope::User);
        let mut changes = Vec::new();
        let file = Self::settings(host, scope);
        if let Some(before) = read_optional(&file)? {
            let (mut text, mut summary) =
                mcp_json::remove(FORMAT, &before, &PATH, &file.display().to_string())?;
            if scope == Scope::User {
                let (t, hooks) = HOOKS.remove(&text, &file)?;
                text = t;
                summary.extend(hooks);
            }
            changes.push(FileChange::plan(
                file,
                Some(before),
                (text, summary),
                0o644,
                |t| mcp_json::is_empty(FORMAT, t),
            ));
        }
        // The hooks serve every registration: keep them while a user-scope
        // server of ours stays.
        if scope == Scope::Project {
            let before = read_optional(&user)?;
            let user_server_stays = mcp_json::get(
                FORMAT,
                before.as_deref(),
                &PATH,
                &user.display().to_string(),
            )?
            .is_some();
            if !user_server_stays && let Some(before) = before {
                let after = HOOKS.remove(&before, &user)?;
                changes.push(FileChange::plan(user, Some(before), after, 0o644, |t| {
                    mcp_json::is_empty(FORMAT, t)
                }));
            }
        }
        Ok(changes)
    }

    fn status(&self, host: &Host) -> Result<ClientStatus, SetupError> {
        let found = mcp_json::find(
            FORMAT,
            [
                (Self::settings(host, Scope::Project), "project scope"),
                (Self::settings(host, Scope::User), "user scope"),
            ],
            &PATH,
        )?;
        let (server, server_problem) = match found {
            None => (None, None),
            Some((entry, file, words)) => {
                let command = entry.get("command").and_then(Value::as_str).unwrap_or("");
                (
                    Some(format!("{} ({words})", host.show(&file))),
                    entry_problem(command, entry.get("args") == Some(&json!(["mcp"]))),
                )
            }
        };
        let mut notes = Vec::new();
        let trusted = read_optional(&Self::trusted_folders(host))?;
        if !is_trusted(trusted.as_deref(), &host.cwd) {
            notes.push(self.install_notes(host, Scope::User).concat());
        }
        let user = Self::settings(host, Scope::User);
        let hooks_missing = HOOKS.missing(read_optional(&user)?.as_deref(), &host.exe, &user)?;
        Ok(ClientStatus {
            server,
            server_problem,
            has_hooks: true,
            hooks_missing,
            notes,
        })
    }

    fn install_notes(&self, host: &Host, _scope: Scope) -> Vec<String> {
        vec![format!(
            "Gemini CLI starts MCP servers only in trusted folders: trust each project folder when Gemini asks, or add it to {} as \"TRUST_FOLDER\"",
            host.show(&Self::trusted_folders(host))
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsondoc::JsonDoc;

    const SETTINGS: &str = r#"{
  // the user's own note
  "theme": "GitHub",
  "mcpServers": {
    "fs": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/src"]
    }
  }
}
"#;

    #[test]
    fn add_and_remove_keep_the_rest_and_comments() {
        let exe = Path::new("/bin/claude-peers");
        let (text, summary) = mcp_json::add(
            FORMAT,
            Some(SETTINGS),
            &PATH,
            &server_entry(exe),
            &["env"],
            "f",
        )
        .unwrap();
        assert_eq!(summary, vec!["add MCP server claude-peers"]);
        assert_eq!(
            text,
            SETTINGS.replace(
                "\"/src\"]\n    }\n  }",
                "\"/src\"]\n    },\n    \"claude-peers\": {\n      \"command\": \"/bin/claude-peers\",\n      \"args\": [\"mcp\"]\n    }\n  }"
            )
        );
        let (back, _) = mcp_json::remove(FORMAT, &text, &PATH, "f").unwrap();
        assert_eq!(back, SETTINGS);
    }

    const WITH_HOOKS: &str = r#"{
  // mine
  "hooks": {
    "BeforeTool": [
      {
        "matcher": "run_shell_command",
        "hooks": [{"type": "command", "command": "/my/guard.sh", "timeout": 5000}]
      }
    ]
  }
}
"#;

    #[test]
    fn hooks_are_added_once_and_removed_exactly() {
        let exe = Path::new("/opt/my bin/claude-peers");
        let f = Path::new("settings.json");
        let (text, summary) = HOOKS.add(Some(WITH_HOOKS), exe, f).unwrap();
        assert_eq!(summary.len(), GEMINI_HOOKS_LEN, "{summary:?}");
        let v: Value = JsonDoc::parse(&text, Dialect::Jsonc, "f").unwrap().value();
        // The user's BeforeTool group stays first; ours follows with the matcher.
        assert_eq!(
            v["hooks"]["BeforeTool"][0]["hooks"][0]["command"],
            "/my/guard.sh"
        );
        assert_eq!(
            v["hooks"]["BeforeTool"][1],
            json!({"matcher": "write_file|replace", "hooks": [{"type": "command",
                "command": "'/opt/my bin/claude-peers' hook --client gemini BeforeTool",
                "timeout": 10000}]})
        );
        assert_eq!(
            v["hooks"]["SessionStart"],
            json!([{"hooks": [{"type": "command",
                "command": "'/opt/my bin/claude-peers' hook --client gemini SessionStart",
                "timeout": 10000}]}])
        );
        assert!(text.starts_with("{\n  // mine\n"), "{text}");
        assert!(HOOKS.missing(Some(&text), exe, f).unwrap().is_empty());
        let (again, summary) = HOOKS.add(Some(&text), exe, f).unwrap();
        assert!(summary.is_empty(), "{summary:?}");
        assert_eq!(again, text);
        let (back, _) = HOOKS.remove(&text, f).unwrap();
        assert_eq!(back, WITH_HOOKS);
    }

    const GEMINI_HOOKS_LEN: usize = claude_peers_proto::hooks::GEMINI_HOOKS.len();

    #[test]
    fn trust_follows_the_trusted_folders_file() {
        let t = r#"{"/src/app": "TRUST_FOLDER", "/work": "TRUST_PARENT", "/x": "DO_NOT_TRUST"}"#;
        assert!(is_trusted(Some(t), Path::new("/src/app")));
        assert!(is_trusted(Some(t), Path::new("/src/app/sub")));
        assert!(is_trusted(Some(t), Path::new("/work/repo")));
        assert!(!is_trusted(Some(t), Path::new("/x")));
        assert!(!is_trusted(Some(t), Path::new("/src/lib")));
        assert!(!is_trusted(None, Path::new("/src/app")));
    }
}
