//! OpenCode: our MCP server under `mcp` in `~/.config/opencode/opencode.json[c]`
//! (user scope; `opencode.jsonc` is what `opencode mcp add` creates) or the
//! project's `opencode.json[c]` (project scope), as a `local` server. JSON with
//! comments. OpenCode has no command hooks (its extensions are plugins).

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

/// OpenCode.
pub struct OpenCode;

impl OpenCode {
    fn config_dir(host: &Host) -> PathBuf {
        host.xdg_config_home
            .clone()
            .unwrap_or_else(|| host.home.join(".config"))
            .join("opencode")
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
        Ok(vec![FileChange::plan(file, before, after, 0o644, |_| {
            false
        })])
    }

    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::config(host, scope);
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
            let file = Self::config(host, scope);
            let text = read_optional(&file)?;
            if let Some(entry) =
                mcp_json::get(FORMAT, text.as_deref(), &PATH, &file.display().to_string())?
            {
                let command: Vec<&str> = entry
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let program = command.first().copied().unwrap_or("");
                server = Some(format!("{} ({words})", host.show(&file)));
                server_problem = entry_problem(program, command.get(1..) == Some(&["mcp"][..]));
                break;
            }
        }
        Ok(ClientStatus {
            server,
            server_problem,
            has_hooks: false,
            hooks_missing: Vec::new(),
            notes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
