//! The CLI as a person uses it: status, peers, send, broadcast, groups, watch,
//! kill-broker — tables for people, `--json` for scripts.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Run the CLI and return its exit code with stdout and stderr.
async fn cli_code(env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    run_output(env.command(args), WAIT).await
}

#[tokio::test]
async fn status_when_nothing_runs() {
    autostarted(|env| async move {
        // Scripts (and doctor) need to tell "not running" from "running": exit code 3.
        let (code, out, _) = cli_code(&env, &["status"]).await;
        assert_eq!(code, Some(3), "{out}");
        assert!(out.contains("Broker is not running"), "{out}");
        let (code, out, _) = cli_code(&env, &["status", "--json"]).await;
        assert_eq!(code, Some(3), "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["running"], false);
        let (_, help, _) = cli_code(&env, &["--help"]).await;
        assert!(
            help.contains("Exit codes") && help.contains("3 `status`"),
            "{help}"
        );
        let (ok, out, _) = env.cli(&["kill-broker"]).await;
        assert!(ok, "{out}");
        assert!(out.contains("No broker is running"), "{out}");
    })
    .await;
}

#[tokio::test]
async fn send_without_a_broker_says_so_and_how_to_start_it() {
    autostarted(|env| async move {
        for args in [
            &["send", "claude-1", "hello"][..],
            &["broadcast", "machine", "hello"][..],
        ] {
            let (code, out, err) = cli_code(&env, args).await;
            assert_eq!(code, Some(1), "{out}{err}");
            assert!(
                err.contains("the broker is not running") && err.contains("`claude-peers broker`"),
                "{err}"
            );
            assert!(!err.contains("admin token"), "{err}");
        }
        assert!(
            broker_pids(&env.db).is_empty(),
            "a one-shot send does not start a broker"
        );
    })
    .await;
}

#[tokio::test]
async fn status_peers_send_broadcast_groups() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut m = Mcp::start(&env, &env.subdir("work")).await;
    m.call("set_summary", json!({"summary": "writing docs"}))
        .await;

    let (ok, out, err) = env.cli(&["status"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("Broker: ok")
            && out.contains("1 peer(s)")
            && out.contains(&m.name)
            && out.contains("writing docs"),
        "{out}"
    );
    let (_, out, _) = env.cli(&["peers", "--json"]).await;
    let peers: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(peers[0]["name"], m.name.as_str());
    let (_, out, _) = env.cli(&["peers"]).await;
    assert!(out.starts_with("NAME") && out.contains("lobby"), "{out}");

    let (ok, out, err) = env
        .cli(&["send", &m.name, "hello", "from", "the", "terminal"])
        .await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("sent to {}", m.name)), "{out}");
    let n = m.channel(WAIT).await.unwrap();
    assert_eq!(n["params"]["content"], "hello from the terminal");
    assert_eq!(n["params"]["meta"]["from"], "cli");
    assert_eq!(n["params"]["meta"]["from_kind"], "operator");
    // The agent can reply to the person.
    let r = m
        .call("send_message", json!({"to_id": "cli", "message": "got it"}))
        .await;
    assert!(!r.is_error, "{}", r.text);

    let (ok, out, _) = env.cli(&["broadcast", "machine", "everyone", "stop"]).await;
    assert!(ok && out.contains("sent to 1 peer(s)"), "{out}");
    assert_eq!(
        m.channel(WAIT).await.unwrap()["params"]["content"],
        "everyone stop"
    );
    let (ok, _, err) = env.cli(&["send", "nobody", "x"]).await;
    assert!(!ok && err.contains("no peer named"), "{err}");

    let (ok, _, err) = env.cli(&["groups", "create", "docs-team"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = env.cli(&["groups", "assign", &m.id, "docs-team"]).await;
    assert!(ok, "{err}");
    let (_, out, _) = env.cli(&["groups"]).await;
    assert!(
        out.contains("docs-team") && out.contains("manual") && out.contains("claude-1"),
        "{out}"
    );
    let (ok, _, err) = env.cli(&["groups", "delete", "docs-team"]).await;
    assert!(ok, "{err}");
    let (_, out, _) = env.cli(&["groups", "--json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 0);
    assert_eq!(v["lobby"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn watch_streams_messages_as_they_happen() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut m = Mcp::start(&env, &env.subdir("w")).await;
    let (mut watch, mut lines) = watch(&env);
    // The watcher may not be subscribed yet: send again until it shows one.
    let line = tokio::time::timeout(WAIT, async {
        loop {
            env.cli(&["send", &m.name, "watch this"]).await;
            let next = tokio::time::timeout(Duration::from_millis(500), async {
                loop {
                    let l = lines.next_line().await.unwrap().unwrap();
                    if l.contains("watch this") {
                        return l;
                    }
                }
            });
            if let Ok(l) = next.await {
                return l;
            }
        }
    })
    .await
    .expect("watch printed the message");
    assert!(line.contains(&format!("cli → {}", m.name)), "{line}");
    m.channel(WAIT).await.unwrap();
    watch.kill().await.unwrap();
}

#[tokio::test]
async fn kill_broker_stops_this_broker_and_nothing_else() {
    let env = Env::new();
    let other = Env::new();
    let mut mine = Broker::start(&env, &[]).await;
    let _theirs = Broker::start(&other, &[]).await;
    // Pointing at the other broker's port with this database is refused.
    let port = other.port().to_string();
    let (ok, _, err) = env.cli(&["kill-broker", "--port", &port]).await;
    assert!(!ok, "must not stop a broker of another database");
    assert!(
        err.contains("another database") || err.contains("serves"),
        "{err}"
    );
    assert!(other.anon().health().await.is_ok());

    let (ok, out, err) = env.cli(&["kill-broker"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("Broker stopped"), "{out}");
    let status = mine.wait_exit().await;
    assert!(status.success(), "clean exit: {status:?}");
    assert!(env.anon().health().await.is_err());
    assert!(
        other.anon().health().await.is_ok(),
        "the other broker still runs"
    );
}

#[tokio::test]
async fn kill_broker_asks_sessions_not_to_restart_it() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut m = Mcp::start(&env, &env.subdir("s")).await;
    let (ok, _, err) = env.cli(&["kill-broker"]).await;
    assert!(ok, "{err}");
    // First the broker is gone and the session knows it (conditions, so a
    // slow exit under load is not mistaken for a restart) ...
    until!("the broker has exited", broker_pids(&env.db).is_empty());
    until!("the session sees the broker gone", {
        let r = m.call("whoami", json!({})).await;
        r.is_error || r.text.contains("reconnecting") || r.text.contains("not connected")
    });
    // ... then, given the time a reconnect attempt takes, no new broker runs.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        broker_pids(&env.db).is_empty(),
        "the session did not start a new broker"
    );
    // Starting a broker by hand brings the session back.
    let _b2 = Broker::start(&env, &[]).await;
    until!(
        "session back",
        m.call("whoami", json!({})).await.text.contains("connected")
    );
}

/// A session that missed the shutdown frame (reconnecting, or between its
/// registration and its stream) reads the marker `kill-broker` leaves: a
/// resumed or compacted session does not start the broker again, a new one
/// does, and a running broker removes the marker.
#[tokio::test]
async fn kill_broker_keeps_it_down_for_running_sessions_not_new_ones() {
    use common::hooks::{hook, input};
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let marker = env.db.with_extension("stopped");
    assert!(!marker.exists());
    let (ok, _, err) = env.cli(&["kill-broker"]).await;
    assert!(ok, "{err}");
    until!("the broker has exited", broker_pids(&env.db).is_empty());
    assert!(marker.exists(), "kill-broker leaves the marker");
    let cwd = env.subdir("w");
    let start = |source: &str| {
        input(
            "SessionStart",
            "cc-kill",
            &cwd,
            "default",
            json!({"source": source}),
        )
    };
    for source in ["resume", "compact", "clear"] {
        let out = hook(&env, "SessionStart", &start(source), &[]).await;
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, ""),
            "{source}: {out:?}"
        );
        assert!(out.stderr.contains("continuing without it"), "{out:?}");
        assert!(
            broker_pids(&env.db).is_empty(),
            "{source}: a running session started the broker"
        );
    }
    let out = hook(&env, "SessionStart", &start("startup"), &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.context().contains("you are claude-"), "{out:?}");
    assert!(!broker_pids(&env.db).is_empty(), "a new session starts it");
    assert!(!marker.exists(), "the started broker removed the marker");
}

/// An automatic group's name contains `/` (`app/main`): the CLI's `groups
/// delete` must reach that group, not another route.
#[tokio::test]
async fn an_automatic_group_with_a_slash_can_be_deleted_by_name() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let dir = env.subdir("app");
    repo(&dir, "main");
    let _m = Mcp::start(&env, &dir).await;
    let (_, out, _) = env.cli(&["groups", "--json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"][0]["name"], "app/main", "{v}");
    let (ok, out, err) = env.cli(&["groups", "delete", "app/main"]).await;
    assert!(ok, "{out} {err}");
    let (_, out, _) = env.cli(&["groups", "--json"]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["lobby"].as_array().unwrap().len(), 1, "{v}");
}
