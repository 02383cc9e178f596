//! OpenCode's wake: `install --client opencode` writes our plugin into
//! `~/.config/opencode/plugins/`, and the plugin, loaded the way OpenCode
//! 1.18.33 loads it (an ES module whose exported function gets the server's SDK
//! client and its events), wakes an idle session when mail arrives: on
//! `session.idle` it runs the waiter (`claude-peers hook --client opencode
//! session.idle`) and prompts the session (`client.session.promptAsync`) with
//! its text; the next idle re-arms it. The host here is
//! `tests/opencode/plugin-host.mjs` under node, standing in for OpenCode's
//! server so the SDK call itself is recorded (the real `opencode serve` waking
//! a real session is `real_agents.rs`). `uninstall` removes exactly the plugin.

#[macro_use]
mod common;

use std::process::Stdio;
use std::time::Instant;

use claude_peers_proto::api::ListPeersQuery;
use claude_peers_proto::reach::Reach;
use common::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const SID: &str = "ses_4f1c2a9d7ffeOpenCodeTest";

fn host_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/opencode/plugin-host.mjs")
}

/// The next line of the host that starts with `prefix` (its rest).
async fn next_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    prefix: &str,
) -> String {
    let deadline = WAIT;
    tokio::time::timeout(deadline, async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(rest) = l.strip_prefix(prefix) {
                return rest.to_string();
            }
        }
        panic!("the plugin host ended before {prefix}")
    })
    .await
    .unwrap_or_else(|_| panic!("no {prefix} line within {deadline:?}"))
}

#[tokio::test]
async fn the_plugin_wakes_an_idle_session_and_rearms() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let work = env.subdir("work");
    let (code, out, err) = run_output(
        {
            let mut c = env.command(&["install", "--client", "opencode"]);
            c.current_dir(&work);
            c
        },
        WAIT,
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("add plugin claude-peers.js"), "{out}");
    let plugin = env
        .dir
        .path()
        .join(".config/opencode/plugins/claude-peers.js");
    assert!(plugin.is_file());

    let mut host = tokio::process::Command::new("node")
        .arg("--experimental-default-type=module")
        .arg(host_script())
        .arg(&plugin)
        .arg(std::fs::canonicalize(BIN).unwrap())
        .arg(SID)
        .arg(&work)
        .current_dir(&work)
        .env("HOME", env.dir.path())
        .env("CLAUDE_PEERS_PORT", env.port().to_string())
        .env("CLAUDE_PEERS_DB", &env.db)
        .env("NODE_NO_WARNINGS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is required for the OpenCode plugin test");
    let mut lines = BufReader::new(host.stdout.take().unwrap()).lines();
    let who = next_line(&mut lines, "READY ").await;
    let name = who.split_whitespace().nth(2).unwrap().to_string();
    let admin = env.admin();
    // The waiter is armed once the peer's reach says so.
    let armed = || async {
        admin
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .into_iter()
            .any(|p| p.name == name && p.reach == Reach::Wake)
    };
    eventually("the waiter armed", armed).await;

    let (a_reg, a) = env.register("/a", |_| {}).await;
    for round in 1..=2 {
        let sent = Instant::now();
        send_text(&a, &name, &format!("round {round}")).await;
        let prompt: Value = serde_json::from_str(&next_line(&mut lines, "PROMPT ").await).unwrap();
        eprintln!("opencode plugin wake, round {round}: {:?}", sent.elapsed());
        assert_eq!(prompt["path"]["id"], SID, "{prompt}");
        let text = prompt["body"]["parts"][0]["text"].as_str().unwrap();
        assert_eq!(prompt["body"]["parts"][0]["type"], "text");
        assert!(
            text.contains(&format!("1 new message from {}", a_reg.peer.name))
                && text.contains("check_messages"),
            "{text}"
        );
        // The host's next idle (the woken turn's end) re-arms the waiter.
        eventually("the waiter armed again", armed).await;
    }
    drop(host.stdin.take());
    let _ = tokio::time::timeout(WAIT, host.wait()).await;

    let (code, out, err) = run_output(
        {
            let mut c = env.command(&["uninstall", "--client", "opencode"]);
            c.current_dir(&work);
            c
        },
        WAIT,
    )
    .await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!plugin.exists(), "uninstall removes the plugin: {out}");
}
