//! `doctor` through the real binary, in a temporary HOME: every gate passes on
//! a good install, and each gate, broken once, fails with the command that
//! fixes it (and running that command makes it pass where it can here).

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// The real Claude Code's directory, put on PATH for the version gate.
fn claude_dir() -> PathBuf {
    real_client("claude-code-2.1.332", "claude")
        .parent()
        .unwrap()
        .to_path_buf()
}

struct Doc {
    env: Env,
    path: String,
}

impl Doc {
    /// A temp HOME where Claude Code is present (its directory and binary).
    fn new() -> Self {
        let env = Env::new();
        std::fs::create_dir_all(env.dir.path().join(".claude")).unwrap();
        let path = format!("{}:/usr/bin:/bin", claude_dir().display());
        Self { env, path }
    }

    async fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut c = self.env.command(args);
        c.current_dir(self.env.dir.path()).env("PATH", &self.path);
        run_output(c, WAIT * 2).await
    }

    /// `doctor --json`: exit code and the gates by name.
    async fn doctor(&self) -> (Option<i32>, Value) {
        let (code, out, err) = self.run(&["doctor", "--json"]).await;
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, v)
    }

    async fn install(&self) {
        let (code, out, err) = self.run(&["install", "--client", "claude-code"]).await;
        assert_eq!(code, Some(0), "{out}{err}");
    }

    /// Run a fix exactly as doctor printed it, through a shell.
    async fn run_fix(&self, fix: &str) {
        let out = tokio::process::Command::new("sh")
            .args(["-c", &format!("PATH=$(dirname {BIN}):$PATH; {fix}")])
            .current_dir(self.env.dir.path())
            .env("HOME", self.env.dir.path())
            .env("CLAUDE_PEERS_PORT", self.env.port().to_string())
            .env("CLAUDE_PEERS_DB", &self.env.db)
            .env("PATH", &self.path)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{fix}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn gate<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == name)
        .unwrap_or_else(|| panic!("no gate {name} in {v:#}"))
}

fn failed(v: &Value) -> Vec<String> {
    v["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["outcome"] == "fail")
        .map(|g| g["gate"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_gate_passes_after_install() {
    let d = Doc::new();
    d.install().await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["ok"], true);
    for name in [
        "database",
        "broker",
        "port",
        "version",
        "round-trip",
        "permissions",
        "mcp binary",
        "claude-code: server",
        "claude-code: listed",
        "claude-code: hooks",
        "claude-code: version",
    ] {
        assert_eq!(gate(&v, name)["outcome"], "pass", "{name}: {v:#}");
    }
    assert!(
        gate(&v, "broker")["detail"]
            .as_str()
            .unwrap()
            .contains("started it"),
        "{v:#}"
    );
    // Text output: one line per gate.
    let (code, out, _) = d.run(&["doctor"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("ok   round-trip"), "{out}");
}

#[tokio::test]
async fn not_registered_then_fixed_by_the_printed_command() {
    let d = Doc::new();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(
        failed(&v),
        vec!["claude-code: server", "claude-code: hooks"]
    );
    let fix = gate(&v, "claude-code: server")["fix"].as_str().unwrap();
    assert_eq!(fix, "claude-peers install --client claude-code");
    d.run_fix(fix).await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
}

#[tokio::test]
async fn the_clients_own_list_must_show_it_connected() {
    let d = Doc::new();
    d.install().await;
    // The user gave our entry an environment that makes the server fail.
    let file = d.env.dir.path().join(".claude.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["mcpServers"]["claude-peers"]["env"] = serde_json::json!({"CLAUDE_PEERS_TOOLS": "bogus"});
    std::fs::write(&file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["claude-code: listed"], "{v:#}");
    let g = gate(&v, "claude-code: listed");
    assert!(
        g["detail"].as_str().unwrap().contains("cannot connect"),
        "{g}"
    );
}

#[tokio::test]
async fn a_missing_hook_is_named() {
    let d = Doc::new();
    d.install().await;
    let settings = d.env.dir.path().join(".claude/settings.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    s["hooks"].as_object_mut().unwrap().remove("Stop");
    std::fs::write(&settings, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["claude-code: hooks"]);
    let g = gate(&v, "claude-code: hooks");
    assert!(g["detail"].as_str().unwrap().ends_with(": Stop"), "{g}");
}

#[tokio::test]
async fn an_old_claude_code_is_refused() {
    let mut d = Doc::new();
    d.install().await;
    // A `claude` that reports an old version, first on PATH.
    let bin = d.env.subdir("oldbin");
    let fake = bin.join("claude");
    // Everything but `--version` goes to the real client.
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '2.0.14 (Claude Code)'; else exec {} \"$@\"; fi\n",
            claude_dir().join("claude").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    d.path = format!("{}:{}", bin.display(), d.path);
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["claude-code: version"]);
    let g = gate(&v, "claude-code: version");
    assert!(g["detail"].as_str().unwrap().contains("2.0.14"), "{g}");
    assert_eq!(g["fix"], "claude update");
}

#[tokio::test]
async fn loose_token_permissions_are_found_and_fixed() {
    let d = Doc::new();
    d.install().await;
    let (code, _) = d.doctor().await;
    assert_eq!(code, Some(0));
    let token = d.env.db.with_extension("admin-token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["permissions"]);
    let fix = gate(&v, "permissions")["fix"].as_str().unwrap().to_string();
    assert_eq!(fix, format!("chmod 600 {}", token.display()));
    d.run_fix(&fix).await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
}

#[tokio::test]
async fn a_damaged_database_is_found() {
    let d = Doc::new();
    d.install().await;
    std::fs::write(&d.env.db, vec![0x5a_u8; 8192]).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["database"]);
    let g = gate(&v, "database");
    assert!(g["fix"].as_str().unwrap().contains("mv "), "{g}");
    assert_eq!(gate(&v, "broker")["outcome"], "skip");
    assert!(
        broker_pids(&d.env.db).is_empty(),
        "not started on a damaged database"
    );
}

#[tokio::test]
async fn a_broker_that_does_not_start_is_reported() {
    let mut d = Doc::new();
    d.install().await;
    // A database path whose directory cannot be created.
    let blocker = d.env.dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    d.env.db = blocker.join("peers.db");
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1), "{v:#}");
    assert!(failed(&v).contains(&"broker".to_string()), "{v:#}");
    let g = gate(&v, "broker");
    assert!(
        g["fix"].as_str().unwrap().contains("claude-peers broker"),
        "{g}"
    );
}

#[tokio::test]
async fn a_foreign_program_on_the_port_is_named() {
    let d = Doc::new();
    d.install().await;
    let listener = std::net::TcpListener::bind(("127.0.0.1", d.env.port())).unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            );
        }
    });
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["port"]);
    let g = gate(&v, "port");
    assert!(
        g["detail"]
            .as_str()
            .unwrap()
            .contains("not as a claude-peers broker")
            && g["fix"].as_str().unwrap().contains("CLAUDE_PEERS_PORT"),
        "{g}"
    );
}

#[tokio::test]
async fn a_broker_of_another_database_fails_the_port_and_round_trip() {
    let d = Doc::new();
    d.install().await;
    let (code, _) = d.doctor().await;
    assert_eq!(code, Some(0));
    // The token file no longer matches the running broker (another database's).
    std::fs::write(d.env.db.with_extension("admin-token"), "not-the-token\n").unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["port", "round-trip"], "{v:#}");
}

#[tokio::test]
async fn a_broker_left_from_before_an_upgrade_is_named_and_restarted() {
    let d = Doc::new();
    d.install().await;
    // A broker started from a binary that has since been replaced.
    let old = d.env.subdir("old").join("claude-peers");
    std::fs::copy(BIN, &old).unwrap();
    let mut cmd = tokio::process::Command::new(&old);
    cmd.arg("broker")
        .env("CLAUDE_PEERS_PORT", d.env.port().to_string())
        .env("CLAUDE_PEERS_DB", &d.env.db)
        .env("HOME", d.env.dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut broker = cmd.spawn().unwrap();
    wait_healthy(&d.env).await;
    std::fs::remove_file(&old).unwrap();

    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["version"], "{v:#}");
    let g = gate(&v, "version");
    assert!(
        g["detail"]
            .as_str()
            .unwrap()
            .contains("replaced or deleted"),
        "{g}"
    );
    let fix = g["fix"].as_str().unwrap();
    assert_eq!(fix, "claude-peers kill-broker --allow-restart");
    d.run_fix(fix).await;
    let _ = broker.wait().await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
}

#[tokio::test]
async fn every_client_found_is_checked() {
    let d = Doc::new();
    d.install().await;
    // Codex is present too (its directory), but claude-peers is not registered there.
    std::fs::create_dir_all(d.env.dir.path().join(".codex")).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["codex: server", "codex: hooks"]);
    let fix = gate(&v, "codex: server")["fix"].as_str().unwrap();
    assert_eq!(fix, "claude-peers install --client codex");
    assert_eq!(gate(&v, "codex: hooks")["fix"], fix);
    d.run_fix(fix).await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(gate(&v, "codex: server")["outcome"], "pass");
    assert_eq!(gate(&v, "codex: hooks")["outcome"], "pass");
}

/// Codex runs our hooks only while `config.toml` trusts them: a trust entry
/// removed by hand is a failed hooks gate, and install puts it back.
#[tokio::test]
async fn codex_hooks_gate_checks_their_trust() {
    let d = Doc::new();
    d.install().await;
    let (code, out, err) = d.run(&["install", "--client", "codex"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
    let config = d.env.dir.path().join(".codex/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text
        .find(":pre_tool_use:0:0\"]")
        .and_then(|i| text[..i].rfind("[hooks.state."))
        .unwrap_or_else(|| panic!("{text}"));
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |e| start + e + 2);
    std::fs::write(&config, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["codex: hooks"], "{v:#}");
    let g = gate(&v, "codex: hooks");
    assert!(
        g["detail"]
            .as_str()
            .unwrap()
            .contains("PreToolUse (not trusted)"),
        "{g}"
    );
    d.run_fix(g["fix"].as_str().unwrap()).await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
}

/// Gemini CLI: registered, hooks present, and `gemini mcp list` (the real
/// client, in a trusted folder) agrees; a hook removed by hand fails the hooks
/// gate until install puts it back.
#[tokio::test]
async fn gemini_is_registered_hooked_and_listed() {
    let mut d = Doc::new();
    let gemini = real_client("gemini-cli-0.61.0", "gemini");
    d.path = format!("{}:{}", gemini.parent().unwrap().display(), d.path);
    d.install().await;
    let trusted = serde_json::json!({d.env.dir.path().display().to_string(): "TRUST_FOLDER"});
    std::fs::create_dir_all(d.env.dir.path().join(".gemini")).unwrap();
    std::fs::write(
        d.env.dir.path().join(".gemini/trustedFolders.json"),
        trusted.to_string(),
    )
    .unwrap();
    let (code, out, err) = d.run(&["install", "--client", "gemini"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
    for name in ["gemini: server", "gemini: hooks", "gemini: listed"] {
        assert_eq!(gate(&v, name)["outcome"], "pass", "{name}: {v:#}");
    }
    assert!(
        gate(&v, "gemini: listed")["detail"]
            .as_str()
            .unwrap()
            .contains("Connected"),
        "{v:#}"
    );

    let settings = d.env.dir.path().join(".gemini/settings.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    s["hooks"].as_object_mut().unwrap().remove("BeforeTool");
    std::fs::write(&settings, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(1));
    assert_eq!(failed(&v), vec!["gemini: hooks"], "{v:#}");
    let g = gate(&v, "gemini: hooks");
    assert!(g["detail"].as_str().unwrap().contains("BeforeTool"), "{g}");
    d.run_fix(g["fix"].as_str().unwrap()).await;
    let (code, v) = d.doctor().await;
    assert_eq!(code, Some(0), "{v:#}");
}

/// The `mcp binary` gate from a `claude-peers` alone in a directory (a hard
/// link or copy of the binary), with `sibling` as `claude-peers-mcp` beside it.
async fn mcp_binary_gate(sibling: Option<&str>) -> Value {
    let d = Doc::new();
    let dir = d.env.subdir("bin");
    let alone = dir.join("claude-peers");
    if std::fs::hard_link(BIN, &alone).is_err() {
        std::fs::copy(BIN, &alone).unwrap();
    }
    if let Some(script) = sibling {
        let lean = dir.join("claude-peers-mcp");
        std::fs::write(&lean, script).unwrap();
        std::fs::set_permissions(&lean, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut c = d.env.command_of(&alone, &["doctor", "--json"]);
    c.current_dir(d.env.dir.path()).env("PATH", &d.path);
    let (_, out, err) = run_output(c, WAIT * 2).await;
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    gate(&v, "mcp binary").clone()
}

#[tokio::test]
async fn a_stale_mcp_binary_beside_claude_peers_fails_and_an_absent_one_passes() {
    let g = mcp_binary_gate(Some("#!/bin/sh\necho claude-peers-mcp 0.0.1\n")).await;
    assert_eq!(g["outcome"], "fail", "{g:#}");
    assert!(
        g["detail"].as_str().unwrap().contains("version 0.0.1"),
        "{g:#}"
    );
    assert!(
        g["fix"].as_str().unwrap().contains("cargo install"),
        "{g:#}"
    );

    let g = mcp_binary_gate(None).await;
    assert_eq!(g["outcome"], "pass", "{g:#}");
    assert!(
        g["detail"].as_str().unwrap().contains("in-process"),
        "{g:#}"
    );
}
