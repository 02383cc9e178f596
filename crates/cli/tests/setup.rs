//! `install` and `uninstall` through the real binary, in a temporary HOME with
//! real-looking existing configuration: byte for byte where JSON allows, and
//! the real Claude Code's own `claude mcp list` seeing our server connected.

#[macro_use]
mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// `~/.claude.json` as Claude Code writes it: 2-space JSON, no final newline,
/// much unrelated state, another MCP server.
const CLAUDE_JSON: &str = r#"{
  "numStartups": 41,
  "installMethod": "native",
  "autoUpdates": false,
  "tipsHistory": {
    "new-user-warmup": 7
  },
  "projects": {
    "/home/dev/app": {
      "allowedTools": [],
      "history": [],
      "mcpContextUris": [],
      "mcpServers": {},
      "hasTrustDialogAccepted": true
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
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_example"
      }
    }
  },
  "hasCompletedOnboarding": true,
  "lastOnboardingVersion": "2.1.332"
}"#;

/// The user's settings, indented with 4 spaces, with hooks of their own in the
/// same events as ours.
const SETTINGS: &str = r#"{
    "model": "opus",
    "permissions": {
        "allow": ["Bash(cargo test:*)"]
    },
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [
                    {
                        "type": "command",
                        "command": "/usr/local/bin/check-bash"
                    }
                ]
            }
        ],
        "Stop": [
            {
                "hooks": [
                    {
                        "type": "command",
                        "command": "notify-send 'Claude is done'"
                    }
                ]
            }
        ]
    }
}
"#;

struct Home {
    env: Env,
    work: PathBuf,
}

impl Home {
    fn new() -> Self {
        let env = Env::new();
        let work = env.subdir("work");
        std::fs::create_dir_all(env.dir.path().join(".claude")).unwrap();
        Self { env, work }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.env.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Run the CLI in the work directory, with no agent client on PATH.
    async fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut c = self.env.command(args);
        c.current_dir(&self.work).env("PATH", "/usr/bin:/bin");
        run_output(c, WAIT).await
    }
}

fn bin() -> String {
    std::fs::canonicalize(BIN).unwrap().display().to_string()
}

fn ours(v: &Value, event: &str) -> Vec<Value> {
    v["hooks"][event]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["hooks"][0]["command"]
                .as_str()
                .is_some_and(|c| c.contains(" hook "))
                && g["hooks"][0]["command"]
                    .as_str()
                    .unwrap()
                    .starts_with(&bin())
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn install_and_uninstall_keep_the_users_files_byte_for_byte() {
    let h = Home::new();
    h.write(".claude.json", CLAUDE_JSON);
    h.write(".claude/settings.json", SETTINGS);

    // Dry run: prints the exact change, writes nothing.
    let (code, out, err) = h.run(&["install", "--dry-run"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("would change (dry run"), "{out}");
    assert!(out.contains("+    \"claude-peers\": {"), "{out}");
    assert!(
        out.contains(&format!(
            "+                        \"command\": \"{} hook Stop\",",
            bin()
        )),
        "{out}"
    );
    assert_eq!(h.read(".claude.json"), CLAUDE_JSON);
    assert_eq!(h.read(".claude/settings.json"), SETTINGS);
    assert!(!h.path(".claude.json.claude-peers-backup").exists());

    // Install (detected: ~/.claude exists).
    let (code, out, err) = h.run(&["install"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("claude-code: install changed"), "{out}");
    let expected = CLAUDE_JSON.replace(
        "        \"GITHUB_PERSONAL_ACCESS_TOKEN\": \"ghp_example\"\n      }\n    }\n  },",
        &format!(
            "        \"GITHUB_PERSONAL_ACCESS_TOKEN\": \"ghp_example\"\n      }}\n    }},\n    \"claude-peers\": {{\n      \"type\": \"stdio\",\n      \"command\": \"{}\",\n      \"args\": [\"mcp\"],\n      \"env\": {{}}\n    }}\n  }},",
            bin()
        ),
    );
    assert_ne!(expected, CLAUDE_JSON);
    assert_eq!(h.read(".claude.json"), expected);
    let settings = h.read(".claude/settings.json");
    assert!(
        settings.starts_with(
            "{\n    \"model\": \"opus\",\n    \"permissions\": {\n        \"allow\": [\"Bash(cargo test:*)\"]\n    },\n    \"hooks\": {\n        \"PreToolUse\": [\n            {\n                \"matcher\": \"Bash\","
        ),
        "{settings}"
    );
    let v: Value = serde_json::from_str(&settings).unwrap();
    assert_eq!(
        v["hooks"]["Stop"][0]["hooks"][0]["command"],
        "notify-send 'Claude is done'"
    );
    assert_eq!(
        v["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
        "/usr/local/bin/check-bash"
    );
    for spec in claude_peers_proto::hooks::CLAUDE_CODE_HOOKS {
        let mine = ours(&v, spec.event);
        assert_eq!(mine.len(), 1, "{}: {settings}", spec.event);
        let hook = &mine[0]["hooks"][0];
        assert_eq!(
            hook["command"],
            format!("{} hook {}", bin(), spec.event).as_str()
        );
        assert_eq!(hook["timeout"], spec.timeout_s);
        assert_eq!(
            hook["asyncRewake"].as_bool().unwrap_or(false),
            spec.async_rewake
        );
        assert_eq!(mine[0]["matcher"].as_str(), spec.matcher);
    }
    // Backups hold the files as they were; ~/.claude.json stays private.
    assert_eq!(h.read(".claude.json.claude-peers-backup"), CLAUDE_JSON);
    assert_eq!(
        h.read(".claude/settings.json.claude-peers-backup"),
        SETTINGS
    );

    // Idempotent.
    let (code, out, _) = h.run(&["install"]).await;
    assert_eq!(code, Some(0));
    assert!(
        out.contains("already installed; nothing to change"),
        "{out}"
    );
    assert_eq!(h.read(".claude.json"), expected);
    assert_eq!(h.read(".claude/settings.json"), settings);

    // --json says what happened.
    let (_, out, _) = h.run(&["uninstall", "--dry-run", "--json"]).await;
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["action"], "uninstall");
    assert_eq!(plan["clients"][0]["client"], "claude-code");
    assert_eq!(plan["clients"][0]["files"].as_array().unwrap().len(), 2);

    // Uninstall removes exactly what install added.
    let (code, out, err) = h.run(&["uninstall"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("remove MCP server claude-peers"), "{out}");
    assert_eq!(h.read(".claude.json"), CLAUDE_JSON);
    assert_eq!(h.read(".claude/settings.json"), SETTINGS);
    let (_, out, _) = h.run(&["uninstall"]).await;
    assert!(out.contains("nothing of claude-peers found"), "{out}");
}

#[tokio::test]
async fn project_scope_uses_mcp_json_and_uninstall_leaves_no_trace() {
    let h = Home::new();
    let (code, out, err) = h
        .run(&["install", "--client", "claude-code", "--scope", "project"])
        .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("claude-code: note: Claude Code asks each person to approve"),
        "{out}"
    );
    let mcp: Value =
        serde_json::from_str(&std::fs::read_to_string(h.work.join(".mcp.json")).unwrap()).unwrap();
    assert_eq!(
        mcp,
        serde_json::json!({"mcpServers": {"claude-peers": {"type": "stdio", "command": bin(), "args": ["mcp"], "env": {}}}})
    );
    assert!(
        !h.path(".claude.json").exists(),
        "project scope leaves ~/.claude.json alone"
    );
    assert!(
        h.path(".claude/settings.json").exists(),
        "hooks go to the user's settings"
    );
    let (code, _, err) = h.run(&["uninstall", "--scope", "project"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(!h.work.join(".mcp.json").exists());
    assert!(!h.path(".claude/settings.json").exists());
}

#[tokio::test]
async fn an_unparsable_file_is_refused_and_nothing_is_written() {
    let h = Home::new();
    let broken = "{\n  \"numStartups\": 3,\n  \"mcpServers\": {\n";
    h.write(".claude.json", broken);
    let (code, _, err) = h.run(&["install", "--client", "claude-code"]).await;
    assert_eq!(code, Some(1));
    assert!(
        err.contains(".claude.json is not valid") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(h.read(".claude.json"), broken);
    assert!(!h.path(".claude/settings.json").exists());

    h.write(".claude.json", "{}");
    h.write(".claude/settings.json", "{\"hooks\": [\"not an object\"]}");
    let (code, _, err) = h.run(&["install", "--client", "claude-code"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("`hooks` is not an object"), "{err}");
    assert_eq!(h.read(".claude.json"), "{}", "all or nothing");
}

#[tokio::test]
async fn install_names_what_it_looked_for_when_no_client_is_found() {
    let env = Env::new();
    let mut c = env.command(&["install"]);
    c.env("PATH", "/usr/bin:/bin").current_dir(env.dir.path());
    let out = c.output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("no agent client found") && err.contains("--client claude-code"),
        "{err}"
    );
    let mut c = env.command(&["install", "--client", "vim"]);
    c.current_dir(env.dir.path());
    let out = c.output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown client \"vim\""), "{err}");
}

async fn claude_mcp_list(h: &Home) -> String {
    let mut c = tokio::process::Command::new(real_client("claude-code-2.1.332", "claude"));
    c.args(["mcp", "list"])
        .current_dir(&h.work)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", h.env.dir.path())
        .env("CLAUDE_PEERS_PORT", h.env.port().to_string())
        .env("CLAUDE_PEERS_DB", &h.env.db)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    run_output(c, std::time::Duration::from_secs(60)).await.1
}

#[tokio::test]
async fn the_real_claude_code_lists_our_server_connected() {
    let h = Home::new();
    // The user's other server must not reach the network here.
    h.write(
        ".claude.json",
        &CLAUDE_JSON.replace("\"npx\"", "\"/bin/false\""),
    );
    let (code, _, err) = h.run(&["install", "--client", "claude-code"]).await;
    assert_eq!(code, Some(0), "{err}");
    let out = claude_mcp_list(&h).await;
    let line = out
        .lines()
        .find(|l| l.starts_with("claude-peers: "))
        .unwrap_or_else(|| panic!("no claude-peers line in:\n{out}"));
    assert!(
        line.contains(&format!("{} mcp", bin())) && line.ends_with("✔ Connected"),
        "{out}"
    );
    assert!(
        out.contains("github: "),
        "the user's server is still there: {out}"
    );
    // The server started the broker on the test's port and database.
    assert!(!broker_pids(&h.env.db).is_empty(), "{out}");

    let (code, _, err) = h.run(&["uninstall"]).await;
    assert_eq!(code, Some(0), "{err}");
    let out = claude_mcp_list(&h).await;
    assert!(!out.contains("claude-peers"), "{out}");
    assert!(out.contains("github: "), "{out}");
    // Env's drop stops the auto-started broker.
}
