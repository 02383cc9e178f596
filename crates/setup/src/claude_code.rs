//! Claude Code: our MCP server in `~/.claude.json` (user scope) or `./.mcp.json`
//! (project scope), and our hooks in the user's `~/.claude/settings.json`
//! (always the user's: some modes force project hooks to run without
//! `asyncRewake`). The transforms here are pure: text in, text out.

use std::path::{Path, PathBuf};

use claude_peers_proto::hooks::HookClient;
use serde_json::{Value, json};

use crate::client::{
    AgentClient, ClientStatus, Host, ListCommand, Scope, entry_problem, read_line, read_optional,
};
use crate::hooks_json::HookStyle;
pub use crate::hooks_json::is_our_hook;
use crate::jsondoc::{Dialect, JsonDoc};
use crate::mcp_json::{self, JsonFormat};
use crate::{FileChange, SERVER_NAME, SetupError};

/// The oldest Claude Code verified with the channels and hooks claude-peers uses
/// (`claude/channel`, command hooks with `asyncRewake`): 2.1.197.
pub const MIN_VERSION: (u32, u32, u32) = (2, 1, 197);

/// Claude Code.
pub struct ClaudeCode;

impl ClaudeCode {
    fn config_dir(host: &Host) -> PathBuf {
        host.claude_config_dir
            .clone()
            .unwrap_or_else(|| host.home.join(".claude"))
    }

    /// `~/.claude.json` (or `$CLAUDE_CONFIG_DIR/.claude.json`).
    pub fn user_config(host: &Host) -> PathBuf {
        match &host.claude_config_dir {
            Some(d) => d.join(".claude.json"),
            None => host.home.join(".claude.json"),
        }
    }

    /// The user's settings file, where hooks go.
    pub fn user_settings(host: &Host) -> PathBuf {
        Self::config_dir(host).join("settings.json")
    }

    /// The project's `.mcp.json`.
    pub fn project_config(host: &Host) -> PathBuf {
        host.cwd.join(".mcp.json")
    }

    fn server_file(host: &Host, scope: Scope) -> PathBuf {
        match scope {
            Scope::User => Self::user_config(host),
            Scope::Project => Self::project_config(host),
        }
    }
}

/// The `mcpServers` entry install writes.
pub fn server_entry(exe: &Path) -> Value {
    json!({"type": "stdio", "command": exe.display().to_string(), "args": ["mcp"], "env": {}})
}

/// How Claude Code writes our hooks.
const HOOKS: HookStyle = HookStyle {
    client: HookClient::ClaudeCode,
    format: FORMAT,
    timeout_ms: false,
};

/// The order in which Claude Code writes the keys we add.
const KEY_ORDER: &[&str] = &[
    "matcher",
    "hooks",
    "type",
    "command",
    "args",
    "env",
    "asyncRewake",
    "timeout",
];

fn parse(text: Option<&str>, file: &Path) -> Result<JsonDoc, SetupError> {
    FORMAT.parse(text, &file.display().to_string())
}

/// How Claude Code writes its JSON files.
const FORMAT: JsonFormat = JsonFormat {
    dialect: Dialect::Json,
    key_order: KEY_ORDER,
};

/// Register our server in a file with a top-level `mcpServers`.
pub fn add_server(
    text: Option<&str>,
    exe: &Path,
    file: &Path,
) -> Result<(String, Vec<String>), SetupError> {
    mcp_json::add(
        FORMAT,
        text,
        &["mcpServers", SERVER_NAME],
        &server_entry(exe),
        &["env"],
        &file.display().to_string(),
    )
}

/// Remove our server (and `mcpServers` when that leaves it empty).
pub fn remove_server(text: &str, file: &Path) -> Result<(String, Vec<String>), SetupError> {
    mcp_json::remove(
        FORMAT,
        text,
        &["mcpServers", SERVER_NAME],
        &file.display().to_string(),
    )
}

/// Install our hooks: for each event of the table exactly one group of ours, as
/// the table says; other hooks (in the same events too) untouched.
pub fn add_hooks(
    text: Option<&str>,
    exe: &Path,
    file: &Path,
) -> Result<(String, Vec<String>), SetupError> {
    HOOKS.add(text, exe, file)
}

/// Remove every hook of ours, leave the others; drop the event arrays and the
/// `hooks` object that this leaves empty.
pub fn remove_hooks(text: &str, file: &Path) -> Result<(String, Vec<String>), SetupError> {
    HOOKS.remove(text, file)
}

/// The events whose hook is missing or not as install writes it.
pub fn missing_hooks(
    text: Option<&str>,
    exe: &Path,
    file: &Path,
) -> Result<Vec<String>, SetupError> {
    HOOKS.missing(text, exe, file)
}

/// Parse `claude --version` output ("2.1.332 (Claude Code)").
pub fn parse_version(out: &str) -> Option<(u32, u32, u32)> {
    let word = out.split_whitespace().next()?;
    let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

fn change(
    path: PathBuf,
    before: Option<String>,
    after: (String, Vec<String>),
    new_mode: u32,
    delete_if_empty: bool,
) -> Result<FileChange, SetupError> {
    Ok(FileChange::plan(path, before, after, new_mode, |t| {
        delete_if_empty && mcp_json::is_empty(FORMAT, t)
    }))
}

impl AgentClient for ClaudeCode {
    fn id(&self) -> &'static str {
        "claude-code"
    }

    fn command(&self) -> &'static str {
        "claude"
    }

    fn list_command(&self) -> ListCommand {
        // `claude mcp list` starts each server and prints `NAME: CMD - ✔ Connected`.
        ListCommand {
            args: &["mcp", "list"],
            read: |out| {
                read_line(
                    out,
                    |l| l.starts_with("claude-peers: "),
                    |l| l.ends_with("✔ Connected"),
                )
            },
        }
    }

    fn detect(&self, host: &Host) -> bool {
        Self::user_config(host).exists()
            || Self::config_dir(host).is_dir()
            || host.which(self.command()).is_some()
    }

    fn install(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let server_file = Self::server_file(host, scope);
        let before = read_optional(&server_file)?;
        let mode = match scope {
            Scope::User => 0o600,
            Scope::Project => 0o644,
        };
        let server = change(
            server_file.clone(),
            before.clone(),
            add_server(before.as_deref(), &host.exe, &server_file)?,
            mode,
            false,
        )?;
        let settings = Self::user_settings(host);
        let before = read_optional(&settings)?;
        let hooks = change(
            settings.clone(),
            before.clone(),
            add_hooks(before.as_deref(), &host.exe, &settings)?,
            0o644,
            false,
        )?;
        Ok(vec![server, hooks])
    }

    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let mut changes = Vec::new();
        let server_file = Self::server_file(host, scope);
        if let Some(before) = read_optional(&server_file)? {
            let after = remove_server(&before, &server_file)?;
            changes.push(change(
                server_file,
                Some(before),
                after,
                0o600,
                scope == Scope::Project,
            )?);
        }
        // The hooks serve every registration: keep them while a user-scope
        // server of ours stays.
        let user_server_stays = scope == Scope::Project
            && read_optional(&Self::user_config(host))?
                .and_then(|t| JsonDoc::parse(&t, Dialect::Json, "").ok())
                .and_then(|d| d.get(&["mcpServers", SERVER_NAME]))
                .is_some();
        let settings = Self::user_settings(host);
        if !user_server_stays && let Some(before) = read_optional(&settings)? {
            let after = remove_hooks(&before, &settings)?;
            changes.push(change(settings, Some(before), after, 0o644, true)?);
        }
        Ok(changes)
    }

    fn install_notes(&self, host: &Host, scope: Scope) -> Vec<String> {
        match scope {
            Scope::User => Vec::new(),
            Scope::Project => vec![format!(
                "Claude Code asks each person to approve the servers of {} the first time it starts there",
                host.show(&Self::project_config(host))
            )],
        }
    }

    fn status(&self, host: &Host) -> Result<ClientStatus, SetupError> {
        let user = Self::user_config(host);
        let user_doc = read_optional(&user)?
            .map(|t| parse(Some(&t), &user))
            .transpose()?;
        let project = Self::project_config(host);
        let project_doc = read_optional(&project)?
            .map(|t| parse(Some(&t), &project))
            .transpose()?;
        let found = [
            user_doc
                .as_ref()
                .and_then(|d| d.get(&["mcpServers", SERVER_NAME]))
                .map(|e| (e, format!("{} (user scope)", host.show(&user)))),
            // Local scope: under the project's key (its git root or a folder
            // above the current directory).
            user_doc
                .as_ref()
                .and_then(|d| match d.get(&["projects"]) {
                    Some(Value::Object(projects)) => projects
                        .into_iter()
                        .filter(|(dir, _)| host.cwd.starts_with(dir))
                        .find_map(|(dir, p)| {
                            let entry = p.get("mcpServers")?.get(SERVER_NAME)?.clone();
                            Some((entry, dir))
                        }),
                    _ => None,
                })
                .map(|(e, dir)| (e, format!("{} (local scope, {dir})", host.show(&user)))),
            project_doc
                .as_ref()
                .and_then(|d| d.get(&["mcpServers", SERVER_NAME]))
                .map(|e| (e, format!("{} (project scope)", host.show(&project)))),
        ]
        .into_iter()
        .flatten()
        .next();
        let (server, server_problem) = match found {
            None => (None, None),
            Some((entry, place)) => {
                let command = entry.get("command").and_then(Value::as_str).unwrap_or("");
                let problem = entry_problem(command, entry.get("args") == Some(&json!(["mcp"])));
                (Some(place), problem)
            }
        };
        let settings = Self::user_settings(host);
        let hooks_missing =
            missing_hooks(read_optional(&settings)?.as_deref(), &host.exe, &settings)?;
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
    use crate::hooks_json::has_our_hook;
    use claude_peers_proto::hooks::CLAUDE_CODE_HOOKS;

    const EXE: &str = "/opt/peers/bin/claude-peers";

    /// A `~/.claude.json` as Claude Code writes it (2-space JSON), with another
    /// server and unrelated state.
    const CLAUDE_JSON: &str = r#"{
  "numStartups": 12,
  "installMethod": "native",
  "projects": {
    "/home/u/app": {
      "allowedTools": [],
      "mcpServers": {}
    }
  },
  "mcpServers": {
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-github"
      ],
      "env": {
        "GITHUB_TOKEN": "x"
      }
    }
  },
  "userID": "abc"
}"#;

    const SETTINGS: &str = r#"{
  "model": "opus",
  "hooks": {
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ],
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/guard"
          }
        ]
      }
    ]
  }
}
"#;

    fn exe() -> &'static Path {
        Path::new(EXE)
    }

    #[test]
    fn the_server_is_added_after_the_others_and_removed_exactly() {
        let f = Path::new("/h/.claude.json");
        let (text, summary) = add_server(Some(CLAUDE_JSON), exe(), f).unwrap();
        assert_eq!(summary, vec!["add MCP server claude-peers"]);
        let expected = CLAUDE_JSON.replace(
            "        \"GITHUB_TOKEN\": \"x\"\n      }\n    }\n  },",
            "        \"GITHUB_TOKEN\": \"x\"\n      }\n    },\n    \"claude-peers\": {\n      \"type\": \"stdio\",\n      \"command\": \"/opt/peers/bin/claude-peers\",\n      \"args\": [\"mcp\"],\n      \"env\": {}\n    }\n  },",
        );
        assert_eq!(text, expected);
        let (again, summary) = add_server(Some(&text), exe(), f).unwrap();
        assert!(summary.is_empty());
        assert_eq!(again, text);
        let (back, summary) = remove_server(&text, f).unwrap();
        assert_eq!(summary, vec!["remove MCP server claude-peers"]);
        assert_eq!(back, CLAUDE_JSON);
    }

    #[test]
    fn a_moved_binary_updates_the_entry() {
        let f = Path::new("/h/.claude.json");
        let (text, _) = add_server(Some(CLAUDE_JSON), Path::new("/old/claude-peers"), f).unwrap();
        let (text, summary) = add_server(Some(&text), exe(), f).unwrap();
        assert_eq!(summary, vec!["update MCP server claude-peers"]);
        assert!(text.contains(EXE) && !text.contains("/old/"));
    }

    #[test]
    fn hooks_are_added_beside_the_users_and_removed_exactly() {
        let f = Path::new("/h/.claude/settings.json");
        let (text, summary) = add_hooks(Some(SETTINGS), exe(), f).unwrap();
        assert_eq!(summary.len(), CLAUDE_CODE_HOOKS.len(), "{summary:?}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["model"], "opus");
        let stop = v["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 2);
        assert_eq!(stop[0]["hooks"][0]["command"], "notify-send done");
        assert_eq!(
            stop[1],
            json!({"hooks": [{"type": "command", "command": "/opt/peers/bin/claude-peers hook Stop", "asyncRewake": true, "timeout": 86400}]})
        );
        // Every tool (the peer-turn guard's list is read at run time).
        assert_eq!(
            v["hooks"]["PreToolUse"][1],
            json!({"hooks": [{"type": "command", "command": "/opt/peers/bin/claude-peers hook PreToolUse", "timeout": 10}]})
        );
        assert_eq!(
            v["hooks"]["PermissionRequest"][0],
            json!({"hooks": [{"type": "command", "command": "/opt/peers/bin/claude-peers hook PermissionRequest", "timeout": 130}]})
        );
        for spec in CLAUDE_CODE_HOOKS {
            let ours: Vec<_> = v["hooks"][spec.event]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| has_our_hook(g))
                .collect();
            assert_eq!(ours.len(), 1, "{}", spec.event);
        }
        assert!(missing_hooks(Some(&text), exe(), f).unwrap().is_empty());
        // The untouched part keeps its bytes.
        assert!(text.starts_with(
            "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"notify-send done\"\n          }\n        ]\n      },"
        ), "{text}");
        let (again, summary) = add_hooks(Some(&text), exe(), f).unwrap();
        assert!(summary.is_empty(), "{summary:?}");
        assert_eq!(again, text);
        let (back, _) = remove_hooks(&text, f).unwrap();
        assert_eq!(back, SETTINGS);
    }

    #[test]
    fn hooks_from_an_old_path_are_replaced_not_doubled() {
        let f = Path::new("/h/settings.json");
        let (text, _) = add_hooks(None, Path::new("/old dir/claude-peers"), f).unwrap();
        assert!(text.contains("'/old dir/claude-peers' hook Stop"), "{text}");
        assert_eq!(
            missing_hooks(Some(&text), exe(), f).unwrap().len(),
            CLAUDE_CODE_HOOKS.len()
        );
        let (text, summary) = add_hooks(Some(&text), exe(), f).unwrap();
        assert!(
            summary.iter().all(|s| s.starts_with("update")),
            "{summary:?}"
        );
        assert!(!text.contains("/old dir/"));
        assert!(missing_hooks(Some(&text), exe(), f).unwrap().is_empty());
    }

    #[test]
    fn our_hook_inside_a_users_group_is_removed_alone() {
        let text = r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "a"}, {"type": "command", "command": "/x/claude-peers hook Stop"}]}], "Old": [{"hooks": [{"type": "command", "command": "claude-peers hook Old"}]}]}}"#;
        let (out, summary) = remove_hooks(text, Path::new("f")).unwrap();
        assert_eq!(summary.len(), 2);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v,
            json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "a"}]}]}})
        );
    }

    #[test]
    fn other_commands_are_not_ours() {
        for cmd in [
            "claude-peers-wrapper hook Stop",
            "/bin/echo claude-peers hook",
            "claude-peers status",
        ] {
            assert!(
                !is_our_hook(&json!({"type": "command", "command": cmd})),
                "{cmd}"
            );
        }
        assert!(is_our_hook(
            &json!({"type": "command", "command": "'/a b/claude-peers' hook Stop"})
        ));
    }

    #[test]
    fn unreadable_and_misshapen_files_are_refused() {
        let f = Path::new("/h/.claude.json");
        let e = add_server(Some("{\"a\": "), exe(), f).unwrap_err();
        assert!(
            e.to_string().contains("/h/.claude.json is not valid"),
            "{e}"
        );
        let e = add_hooks(Some("{\"hooks\": []}"), exe(), f).unwrap_err();
        assert!(e.to_string().contains("`hooks` is not an object"), "{e}");
        let e = add_hooks(Some("{\"hooks\": {\"Stop\": {}}}"), exe(), f).unwrap_err();
        assert!(e.to_string().contains("hooks.Stop"), "{e}");
    }

    #[test]
    fn status_finds_a_local_scope_registration_above_the_cwd() {
        let home = tempfile::tempdir().unwrap();
        let text = json!({"projects": {"/src/repo": {"mcpServers": {"claude-peers": {"type": "stdio", "command": "/bin/sh", "args": ["mcp"], "env": {}}}}}});
        std::fs::write(home.path().join(".claude.json"), text.to_string()).unwrap();
        let host = Host {
            home: home.path().to_path_buf(),
            cwd: "/src/repo/crates/cli".into(),
            exe: "/bin/sh".into(),
            path: None,
            claude_config_dir: None,
            codex_home: None,
            xdg_config_home: None,
        };
        let st = ClaudeCode.status(&host).unwrap();
        assert_eq!(
            st.server.as_deref(),
            Some("~/.claude.json (local scope, /src/repo)")
        );
        assert_eq!(st.server_problem, None);
        assert_eq!(st.hooks_missing.len(), CLAUDE_CODE_HOOKS.len());
        let elsewhere = Host {
            cwd: "/src/other".into(),
            ..host
        };
        assert_eq!(ClaudeCode.status(&elsewhere).unwrap().server, None);
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("2.1.332 (Claude Code)\n"), Some((2, 1, 332)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("2.1.197 (Claude Code)").unwrap() >= MIN_VERSION);
    }
}
