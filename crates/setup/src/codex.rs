//! Codex CLI: our MCP server as `[mcp_servers.claude-peers]` in
//! `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`), as `codex mcp add`
//! writes it, edited with `toml_edit` so the user's comments, order and
//! formatting stay. User scope only. Our hooks go into `hooks.json` beside it
//! (Claude Code's shape), and their trust into `config.toml`'s
//! `[hooks.state]` ([`crate::codex_trust`]): Codex skips an untrusted hook.

use std::path::{Path, PathBuf};

use claude_peers_proto::hooks::HookClient;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::client::{
    AgentClient, ClientStatus, Host, ListCommand, Listed, Scope, entry_problem, read_optional,
};
use crate::codex_trust;
use crate::hooks_json::HookStyle;
use crate::jsondoc::Dialect;
use crate::mcp_json::JsonFormat;
use crate::{FileChange, SERVER_NAME, SetupError};

/// How Codex CLI's hooks are written: strict JSON, `timeout` in seconds.
const HOOKS: HookStyle = HookStyle {
    client: HookClient::Codex,
    format: JsonFormat {
        dialect: Dialect::Json,
        key_order: &["matcher", "hooks", "type", "command", "timeout"],
    },
    timeout_ms: false,
};

const TABLE: &str = "mcp_servers";

/// Codex CLI.
pub struct Codex;

impl Codex {
    /// `config.toml` in `$CODEX_HOME` or `~/.codex`.
    pub fn config(host: &Host) -> PathBuf {
        host.codex_home
            .clone()
            .unwrap_or_else(|| host.home.join(".codex"))
            .join("config.toml")
    }

    /// `hooks.json` beside `config.toml`.
    pub fn hooks_file(host: &Host) -> PathBuf {
        Self::config(host).with_file_name("hooks.json")
    }
}

/// The changes to `config.toml` (from `config_before` to `config_after`, with
/// the trust of the hooks as `hooks.json` goes from `hooks_before` to
/// `hooks_after`) and to `hooks.json`.
fn plan(
    host: &Host,
    config_before: Option<String>,
    (config_after, mut summary): (String, Vec<String>),
    hooks_before: Option<String>,
    hooks_after: (String, Vec<String>),
) -> Result<Vec<FileChange>, SetupError> {
    let (config, hooks) = (Codex::config(host), Codex::hooks_file(host));
    let hooks_text = (!hooks_after.1.is_empty()).then_some(hooks_after.0.as_str());
    let (config_after, trust) = codex_trust::update_state(
        &config_after,
        &config.display().to_string(),
        &hooks,
        hooks_before.as_deref(),
        hooks_text.or(hooks_before.as_deref()),
    )?;
    summary.extend(trust);
    let is_empty = |t: &str| {
        serde_json::from_str::<serde_json::Value>(t)
            .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
    };
    Ok(vec![
        FileChange::plan(
            config,
            config_before,
            (config_after, summary),
            0o600,
            |_| false,
        ),
        FileChange::plan(hooks, hooks_before, hooks_after, 0o600, is_empty),
    ])
}

fn parse(text: Option<&str>, file: &str) -> Result<DocumentMut, SetupError> {
    text.unwrap_or("")
        .parse::<DocumentMut>()
        .map_err(|e| SetupError::Unparsable {
            file: file.to_string(),
            reason: e.to_string().trim().replace('\n', " "),
        })
}

fn shape(file: &str, path: &str, expected: &'static str) -> SetupError {
    SetupError::Shape {
        file: file.to_string(),
        path: path.to_string(),
        expected,
    }
}

/// Our entry's command and args, if it is there.
fn entry(doc: &DocumentMut) -> Option<(String, Vec<String>)> {
    let server = doc
        .get(TABLE)?
        .as_table_like()?
        .get(SERVER_NAME)?
        .as_table_like()?;
    let command = server.get("command")?.as_str()?.to_string();
    let args = server
        .get("args")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some((command, args))
}

/// The variables Codex is told to pass on to our server: every one we read.
fn env_vars() -> Array {
    claude_peers_proto::env::VARS.iter().copied().collect()
}

/// Whether our entry passes on every variable we read.
fn forwards_env(doc: &DocumentMut) -> bool {
    let listed = doc
        .get(TABLE)
        .and_then(|t| t.get(SERVER_NAME))
        .and_then(|s| s.get("env_vars"))
        .and_then(|v| v.as_array());
    listed.is_some_and(|a| {
        claude_peers_proto::env::VARS
            .iter()
            .all(|name| a.iter().any(|v| v.as_str() == Some(name)))
    })
}

/// Register our server: add the table, or set `command` and `args` in ours
/// (keeping any other keys the user put there).
pub fn add_server(
    text: Option<&str>,
    exe: &Path,
    file: &str,
) -> Result<(String, Vec<String>), SetupError> {
    let mut doc = parse(text, file)?;
    let command = exe.display().to_string();
    let before = entry(&doc);
    if before.as_ref() == Some(&(command.clone(), vec!["mcp".to_string()])) && forwards_env(&doc) {
        return Ok((doc.to_string(), vec![]));
    }
    let servers = doc
        .entry(TABLE)
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| shape(file, TABLE, "a table"))?;
    let ours = servers
        .entry(SERVER_NAME)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| shape(file, &format!("{TABLE}.{SERVER_NAME}"), "a table"))?;
    ours["command"] = value(command);
    let mut args = Array::new();
    args.push("mcp");
    ours["args"] = value(args);
    // Codex starts an MCP server with a few variables of its environment
    // only; ours (and a broker it starts) must see the same settings as the
    // hooks, which get all of it.
    ours["env_vars"] = value(env_vars());
    let summary = if before.is_some() {
        "update MCP server claude-peers"
    } else {
        "add MCP server claude-peers"
    };
    Ok((doc.to_string(), vec![summary.to_string()]))
}

/// Remove our table (and an implicit `mcp_servers` that this leaves empty).
pub fn remove_server(text: &str, file: &str) -> Result<(String, Vec<String>), SetupError> {
    let mut doc = parse(Some(text), file)?;
    let Some(servers) = doc.get_mut(TABLE).and_then(|t| t.as_table_like_mut()) else {
        return Ok((text.to_string(), vec![]));
    };
    if servers.remove(SERVER_NAME).is_none() {
        return Ok((text.to_string(), vec![]));
    }
    let prune = doc
        .get(TABLE)
        .and_then(|t| t.as_table())
        .is_some_and(|t| t.is_empty() && t.is_implicit());
    if prune {
        doc.remove(TABLE);
    }
    Ok((
        doc.to_string(),
        vec!["remove MCP server claude-peers".into()],
    ))
}

impl AgentClient for Codex {
    fn id(&self) -> &'static str {
        "codex"
    }

    fn command(&self) -> &'static str {
        "codex"
    }

    fn list_command(&self) -> ListCommand {
        // `codex mcp list --json` prints the configuration only (it never starts a server).
        ListCommand {
            args: &["mcp", "list", "--json"],
            read: |out| {
                if out.contains("\"name\": \"claude-peers\"") {
                    Listed::Connected("listed (Codex does not connect when listing)".into())
                } else {
                    Listed::Missing
                }
            },
        }
    }

    fn has_project_scope(&self) -> bool {
        false
    }

    fn detect(&self, host: &Host) -> bool {
        Self::config(host).parent().is_some_and(Path::is_dir)
            || host.which(self.command()).is_some()
    }

    fn install(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::config(host);
        if scope == Scope::Project {
            return Err(SetupError::Unsupported(format!(
                "codex: Codex CLI reads MCP servers from {} only; install it with --scope user",
                host.show(&file)
            )));
        }
        let before = read_optional(&file)?;
        let after = add_server(before.as_deref(), &host.exe, &file.display().to_string())?;
        let hooks = Self::hooks_file(host);
        let hooks_before = read_optional(&hooks)?;
        let hooks_after = HOOKS.add(hooks_before.as_deref(), &host.exe, &hooks)?;
        plan(host, before, after, hooks_before, hooks_after)
    }

    fn uninstall(&self, host: &Host, scope: Scope) -> Result<Vec<FileChange>, SetupError> {
        let file = Self::config(host);
        if scope == Scope::Project {
            return Ok(vec![]);
        }
        let before = read_optional(&file)?;
        let after = match &before {
            Some(text) => remove_server(text, &file.display().to_string())?,
            None => (String::new(), vec![]),
        };
        let hooks = Self::hooks_file(host);
        let hooks_before = read_optional(&hooks)?;
        let hooks_after = match &hooks_before {
            Some(text) => HOOKS.remove(text, &hooks)?,
            None => (String::new(), vec![]),
        };
        let mut changes = plan(host, before, after, hooks_before, hooks_after)?;
        changes.retain(|c| !c.is_noop());
        Ok(changes)
    }

    fn status(&self, host: &Host) -> Result<ClientStatus, SetupError> {
        let file = Self::config(host);
        let doc = parse(
            read_optional(&file)?.as_deref(),
            &file.display().to_string(),
        )?;
        let (server, server_problem) = match entry(&doc) {
            None => (None, None),
            Some((command, args)) => (
                Some(format!("{} (user scope)", host.show(&file))),
                entry_problem(&command, args == ["mcp"]),
            ),
        };
        let hooks = Self::hooks_file(host);
        let hooks_text = read_optional(&hooks)?;
        let mut hooks_missing = HOOKS.missing(hooks_text.as_deref(), &host.exe, &hooks)?;
        // Present but untrusted is as good as missing: Codex skips it.
        for h in codex_trust::handlers(hooks_text.as_deref()) {
            let trusted = doc
                .get("hooks")
                .and_then(|t| t.get("state"))
                .and_then(|t| t.get(h.key(&hooks)))
                .and_then(|t| t.get("trusted_hash"))
                .and_then(|t| t.as_str());
            if h.ours && trusted != Some(h.hash.as_str()) && !hooks_missing.contains(&h.event) {
                hooks_missing.push(format!("{} (not trusted)", h.event));
            }
        }
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

    const CONFIG: &str = r#"# Codex configuration
model = "gpt-5-codex"   # the default model
approval_policy = "on-request"

# Servers I use every day
[mcp_servers.docs]
command = "docs-server"
args = ["--stdio"]

[mcp_servers.docs.env]
DOCS_TOKEN = "x"

[profiles.fast]
model = "gpt-5-mini"
"#;

    #[test]
    fn add_and_remove_keep_comments_and_order() {
        let exe = Path::new("/bin/claude-peers");
        let (text, summary) = add_server(Some(CONFIG), exe, "f").unwrap();
        assert_eq!(summary, vec!["add MCP server claude-peers"]);
        // Beside the other servers, everything else as it was.
        assert_eq!(
            text,
            CONFIG.replace(
                "DOCS_TOKEN = \"x\"\n",
                &format!("DOCS_TOKEN = \"x\"\n\n[mcp_servers.claude-peers]\ncommand = \"/bin/claude-peers\"\nargs = [\"mcp\"]\n{}", env_line())
            )
        );
        let (again, summary) = add_server(Some(&text), exe, "f").unwrap();
        assert!(summary.is_empty());
        assert_eq!(again, text);
        let (back, summary) = remove_server(&text, "f").unwrap();
        assert_eq!(summary, vec!["remove MCP server claude-peers"]);
        assert_eq!(back, CONFIG);
    }

    #[test]
    fn a_new_file_and_back() {
        let exe = Path::new("/bin/claude-peers");
        let (text, _) = add_server(None, exe, "f").unwrap();
        assert_eq!(
            text,
            format!(
                "[mcp_servers.claude-peers]\ncommand = \"/bin/claude-peers\"\nargs = [\"mcp\"]\n{}",
                env_line()
            )
        );
        let (back, _) = remove_server(&text, "f").unwrap();
        assert_eq!(back, "");
    }

    #[test]
    fn the_users_keys_in_our_table_stay_on_update() {
        let text = "[mcp_servers.claude-peers]\ncommand = \"/old/claude-peers\"\nargs = [\"mcp\"]\nstartup_timeout_sec = 30\n";
        let (out, summary) = add_server(Some(text), Path::new("/new/claude-peers"), "f").unwrap();
        assert_eq!(summary, vec!["update MCP server claude-peers"]);
        assert_eq!(
            out,
            format!(
                "[mcp_servers.claude-peers]\ncommand = \"/new/claude-peers\"\nargs = [\"mcp\"]\nstartup_timeout_sec = 30\n{}",
                env_line()
            )
        );
    }

    /// The `env_vars` line install writes: every variable we read.
    fn env_line() -> String {
        let names: Vec<String> = claude_peers_proto::env::VARS
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect();
        format!("env_vars = [{}]\n", names.join(", "))
    }

    #[test]
    fn an_entry_from_before_env_vars_is_updated() {
        let exe = Path::new("/bin/claude-peers");
        let old = "[mcp_servers.claude-peers]\ncommand = \"/bin/claude-peers\"\nargs = [\"mcp\"]\n";
        let (out, summary) = add_server(Some(old), exe, "f").unwrap();
        assert_eq!(summary, vec!["update MCP server claude-peers"]);
        assert!(out.contains("\"CLAUDE_PEERS_PORT\""), "{out}");
        assert!(out.contains("\"CLAUDE_PEERS_DB\""), "{out}");
    }

    #[test]
    fn bad_files_are_refused() {
        let e = add_server(Some("model = \n"), Path::new("/x"), "config.toml").unwrap_err();
        assert!(e.to_string().contains("config.toml is not valid"), "{e}");
        let e = add_server(Some("mcp_servers = 3\n"), Path::new("/x"), "config.toml").unwrap_err();
        assert!(
            e.to_string().contains("`mcp_servers` is not a table"),
            "{e}"
        );
    }
}
