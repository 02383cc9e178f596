//! `install --client codex|gemini|opencode` through the real binary, checked
//! with each real client's own listing command (pinned in `tests/clients/`) in
//! a temporary HOME with the user's existing configuration, and `uninstall`
//! giving the files back byte for byte.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How long a client's listing command may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(90);

struct Home {
    env: Env,
    work: PathBuf,
}

impl Home {
    fn new() -> Self {
        let env = Env::new();
        let work = env.subdir("work");
        Self { env, work }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.env.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    async fn cli(&self, args: &[&str]) -> String {
        let mut c = self.env.command(args);
        c.current_dir(&self.work).env("PATH", "/usr/bin:/bin");
        let (code, out, err) = run_output(c, WAIT).await;
        assert_eq!(code, Some(0), "{args:?}: {out}{err}");
        out
    }

    /// Run a real client's command in the work directory, HOME = the temp dir,
    /// the broker on the test's port and database.
    async fn client(&self, bin: &Path, args: &[&str]) -> String {
        let mut c = tokio::process::Command::new(bin);
        c.args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.env.dir.path())
            .env("CLAUDE_PEERS_PORT", self.env.port().to_string())
            .env("CLAUDE_PEERS_DB", &self.env.db)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let (_, out, err) = run_output(c, LIST_TIMEOUT).await;
        format!("{out}{err}")
    }
}

fn bin() -> String {
    std::fs::canonicalize(BIN).unwrap().display().to_string()
}

/// Start `command args` and do the MCP handshake with it: the server answers
/// `initialize` as claude-peers.
async fn handshake(h: &Home, command: &str, args: &[String]) -> Value {
    let mut child = tokio::process::Command::new(command)
        .args(args)
        .current_dir(&h.work)
        .env("HOME", h.env.dir.path())
        .env("CLAUDE_PEERS_PORT", h.env.port().to_string())
        .env("CLAUDE_PEERS_DB", &h.env.db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "codex-mcp-client", "version": "0.171.0"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("no answer to initialize")
        .unwrap()
        .unwrap();
    let _ = child.kill().await;
    serde_json::from_str(&line).unwrap()
}

const CODEX: &str = r#"# Codex configuration
model = "gpt-5-codex"   # the default model
approval_policy = "on-request"

# Servers I use every day
[mcp_servers.docs]
command = "/bin/false"
args = ["--stdio"]

[profiles.fast]
model = "gpt-5-mini"
"#;

/// The user's own hook in `~/.codex/hooks.json`, trusted in `config.toml`.
const CODEX_HOOKS: &str = r#"{
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [{"type": "command", "command": "/my/guard.sh", "timeout": 5}]
      }
    ]
  }
}
"#;

/// Ask the real `codex app-server` (JSON-RPC on stdio, offline) for the hooks
/// it would run in the work directory: `hooks/list` → each hook's `command`,
/// `key`, `currentHash` and `trustStatus`.
async fn codex_hooks_list(h: &Home, codex: &Path) -> Vec<Value> {
    let mut child = tokio::process::Command::new(codex)
        .arg("app-server")
        .current_dir(&h.work)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", h.env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"clientInfo": {"name": "claude-peers-test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "hooks/list",
               "params": {"cwds": [h.work.display().to_string()]}}),
    ];
    for r in requests {
        stdin.write_all(format!("{r}\n").as_bytes()).await.unwrap();
    }
    let answer = tokio::time::timeout(LIST_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["id"] == 2 {
                return v;
            }
        }
        panic!("codex app-server closed without answering hooks/list")
    })
    .await
    .expect("codex app-server did not answer hooks/list");
    let _ = child.kill().await;
    let data = &answer["result"]["data"][0];
    assert_eq!(data["errors"], json!([]), "{answer}");
    data["hooks"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn codex_lists_our_server_and_runs_our_hooks_trusted() {
    let h = Home::new();
    h.write(".codex/config.toml", CODEX);
    h.write(".codex/hooks.json", CODEX_HOOKS);
    let codex = real_client("codex-0.171.0", "codex");
    // The user trusts their own hook the way Codex's review does.
    let theirs = codex_hooks_list(&h, &codex).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["trustStatus"], "untrusted");
    let config = format!(
        "{CODEX}\n[hooks.state.\"{}\"]\ntrusted_hash = \"{}\"\n",
        theirs[0]["key"].as_str().unwrap(),
        theirs[0]["currentHash"].as_str().unwrap()
    );
    h.write(".codex/config.toml", &config);

    let out = h.cli(&["install"]).await;
    assert!(out.contains("codex: install changed"), "{out}");
    let expected = config.replace(
        "args = [\"--stdio\"]\n",
        &format!(
            "args = [\"--stdio\"]\n\n[mcp_servers.claude-peers]\ncommand = \"{}\"\nargs = [\"mcp\"]\nenv_vars = [{}]\n",
            bin(),
            claude_peers_proto::env::VARS
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let installed = h.read(".codex/config.toml");
    assert!(installed.starts_with(&expected), "{installed}");

    // Codex itself lists every hook of ours, trusted, and the user's still trusted.
    let listed = codex_hooks_list(&h, &codex).await;
    let ours: Vec<(String, String)> = listed
        .iter()
        .filter(|x| x["command"].as_str().unwrap_or("").starts_with(&bin()))
        .map(|x| {
            assert_eq!(x["trustStatus"], "trusted", "{x}");
            (
                x["eventName"].as_str().unwrap().to_string(),
                x["command"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let events: Vec<&str> = claude_peers_proto::hooks::CODEX_HOOKS
        .iter()
        .map(|s| s.event)
        .collect();
    assert_eq!(ours.len(), events.len(), "{listed:?}");
    for event in events {
        let command = format!("{} hook --client codex {event}", bin());
        assert!(
            ours.iter().any(|(_, c)| *c == command),
            "{command}: {ours:?}"
        );
    }
    let guard = listed
        .iter()
        .find(|x| x["command"] == "/my/guard.sh")
        .unwrap();
    assert_eq!(guard["trustStatus"], "trusted", "{guard}");
    let apply_patch = listed
        .iter()
        .find(|x| x["eventName"] == "preToolUse" && x["matcher"] == "apply_patch")
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert!(
        apply_patch["command"]
            .as_str()
            .unwrap()
            .ends_with(" PreToolUse")
    );

    let listed = h.client(&codex, &["mcp", "list", "--json"]).await;
    let json_start = listed.find('[').unwrap_or_else(|| panic!("{listed}"));
    let servers: Vec<Value> = serde_json::from_str(
        listed[json_start..]
            .lines()
            .take_while(|l| !l.starts_with("WARNING"))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap_or_else(|e| panic!("{e}: {listed}"));
    let ours = servers
        .iter()
        .find(|s| s["name"] == "claude-peers")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(ours["enabled"], true);
    let command = ours["transport"]["command"].as_str().unwrap();
    assert_eq!(command, bin());
    let args: Vec<String> = serde_json::from_value(ours["transport"]["args"].clone()).unwrap();
    assert_eq!(args, vec!["mcp"]);
    // `codex mcp list` does not start servers: do the handshake ourselves.
    let answer = handshake(&h, command, &args).await;
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "claude-peers",
        "{answer}"
    );

    let out = h.cli(&["uninstall", "--client", "codex"]).await;
    assert!(out.contains("remove MCP server claude-peers"), "{out}");
    assert_eq!(h.read(".codex/config.toml"), config);
    assert_eq!(h.read(".codex/hooks.json"), CODEX_HOOKS);
    let listed = h.client(&codex, &["mcp", "list", "--json"]).await;
    assert!(!listed.contains("claude-peers"), "{listed}");
    let left = codex_hooks_list(&h, &codex).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["trustStatus"], "trusted");
}

const GEMINI: &str = r#"{
  "ui": {
    "theme": "GitHub"
  },
  "mcpServers": {
    "broken": {
      "command": "/bin/false",
      "args": []
    }
  }
}
"#;

#[tokio::test]
async fn gemini_lists_our_server_connected_in_a_trusted_folder() {
    let h = Home::new();
    h.write(".gemini/settings.json", GEMINI);
    let trusted = json!({h.work.display().to_string(): "TRUST_FOLDER"}).to_string();
    h.write(".gemini/trustedFolders.json", &trusted);
    let out = h.cli(&["install", "--client", "gemini"]).await;
    assert!(
        out.contains("gemini: note: Gemini CLI starts MCP servers only in trusted folders"),
        "{out}"
    );
    let hooks: Vec<String> = [
        ("SessionStart", None),
        ("SessionEnd", None),
        ("BeforeAgent", None),
        ("AfterTool", None),
        ("BeforeTool", Some("write_file|replace")),
    ]
    .iter()
    .map(|(event, matcher)| {
        let matcher = matcher
            .map(|m| format!("        \"matcher\": \"{m}\",\n"))
            .unwrap_or_default();
        format!(
            "    \"{event}\": [\n      {{\n{matcher}        \"hooks\": [\n          {{\n            \"type\": \"command\",\n            \"command\": \"{} hook --client gemini {event}\",\n            \"timeout\": 10000\n          }}\n        ]\n      }}\n    ]",
            bin()
        )
    })
    .collect();
    let expected = GEMINI.replace(
        "      \"args\": []\n    }\n  }\n",
        &format!(
            "      \"args\": []\n    }},\n    \"claude-peers\": {{\n      \"command\": \"{}\",\n      \"args\": [\"mcp\"]\n    }}\n  }},\n  \"hooks\": {{\n{}\n  }}\n",
            bin(),
            hooks.join(",\n")
        ),
    );
    assert_eq!(h.read(".gemini/settings.json"), expected);

    let gemini = real_client("gemini-cli-0.61.0", "gemini");
    let listed = h.client(&gemini, &["mcp", "list"]).await;
    let line = listed
        .lines()
        .find(|l| l.contains("claude-peers:"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        line.contains(&format!("{} mcp", bin())) && line.ends_with("- Connected"),
        "{listed}"
    );

    h.cli(&["uninstall", "--client", "gemini"]).await;
    assert_eq!(h.read(".gemini/settings.json"), GEMINI);
    assert_eq!(h.read(".gemini/trustedFolders.json"), trusted);
}

const OPENCODE: &str = r#"{
  "$schema": "https://opencode.ai/config.json",
  // my models
  "model": "anthropic/claude-sonnet-4",
  "mcp": {
    "broken": {
      "type": "local",
      "command": ["/bin/false"],
      "enabled": false,
    },
  },
}
"#;

#[tokio::test]
async fn opencode_lists_our_server_connected() {
    let h = Home::new();
    h.write(".config/opencode/opencode.jsonc", OPENCODE);
    let out = h.cli(&["install"]).await;
    assert!(out.contains("opencode: install changed"), "{out}");
    let text = h.read(".config/opencode/opencode.jsonc");
    assert!(
        text.starts_with(
            "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  // my models\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "    \"claude-peers\": {{\n      \"type\": \"local\",\n      \"command\": [\"{}\", \"mcp\"],\n    }},\n",
            bin()
        )),
        "{text}"
    );

    let opencode = real_client("opencode-1.18.33", "opencode");
    let listed = h.client(&opencode, &["mcp", "list"]).await;
    let line = listed
        .lines()
        .find(|l| l.contains("claude-peers"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains('✓') && line.contains("connected"), "{listed}");

    h.cli(&["uninstall"]).await;
    assert_eq!(h.read(".config/opencode/opencode.jsonc"), OPENCODE);
}
