//! Gemini CLI: our MCP server in `~/.gemini/settings.json` (user scope) or
//! `./.gemini/settings.json` (project scope), as `gemini mcp add` writes it.
//! Gemini CLI starts MCP servers only in trusted folders; install says so and
//! leaves that decision to the person. Its hooks are not installed yet.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::client::{
    AgentClient, ClientStatus, Host, ListCommand, Scope, entry_problem, read_line, read_optional,
};
use crate::jsondoc::Dialect;
use crate::mcp_json::{self, JsonFormat};
use crate::{FileChange, SERVER_NAME, SetupError};

/// Gemini CLI reads its settings with comments allowed.
const FORMAT: JsonFormat = JsonFormat {
    dialect: Dialect::Jsonc,
    key_order: &["command", "args", "env"],
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
        let after = mcp_json::add(
            FORMAT,
            before.as_deref(),
            &PATH,
            &server_entry(&host.exe),
            &["env"],
            &file.display().to_string(),
        )?;
        Ok(vec![FileChange::plan(file, before, after, 0o644, |_| {
            false
        })])
    }

    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::settings(host, scope);
        let Some(before) = read_optional(&file)? else {
            return Ok(vec![]);
        };
        let after = mcp_json::remove(FORMAT, &before, &PATH, &file.display().to_string())?;
        Ok(vec![FileChange::plan(
            file,
            Some(before),
            after,
            0o644,
            |t| mcp_json::is_empty(FORMAT, t),
        )])
    }

    fn status(&self, host: &Host) -> Result<ClientStatus, SetupError> {
        let mut server = None;
        let mut server_problem = None;
        for (scope, words) in [
            (Scope::Project, "project scope"),
            (Scope::User, "user scope"),
        ] {
            let file = Self::settings(host, scope);
            let text = read_optional(&file)?;
            if let Some(entry) =
                mcp_json::get(FORMAT, text.as_deref(), &PATH, &file.display().to_string())?
            {
                let command = entry.get("command").and_then(Value::as_str).unwrap_or("");
                server = Some(format!("{} ({words})", host.show(&file)));
                server_problem = entry_problem(command, entry.get("args") == Some(&json!(["mcp"])));
                break;
            }
        }
        let mut notes = Vec::new();
        let trusted = read_optional(&Self::trusted_folders(host))?;
        if !is_trusted(trusted.as_deref(), &host.cwd) {
            notes.push(self.install_notes(host, Scope::User).concat());
        }
        Ok(ClientStatus {
            server,
            server_problem,
            has_hooks: false,
            hooks_missing: Vec::new(),
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
