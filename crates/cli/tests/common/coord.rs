//! Helpers for the coordination tests: teams of MCP servers in groups, channel
//! notifications by `msg_type`, and a broker restart.

use std::time::Duration;

use serde_json::Value;

use super::*;

/// How long a test listens to be sure that no notification comes.
pub const QUIET: Duration = Duration::from_millis(300);

/// a, b, c in group "team"; x in group "other".
pub async fn team(env: &Env) -> (Mcp, Mcp, Mcp, Mcp) {
    let mut a = Mcp::start(env, &env.subdir("a")).await;
    let mut b = Mcp::start(env, &env.subdir("b")).await;
    let mut c = Mcp::start(env, &env.subdir("c")).await;
    let mut x = Mcp::start(env, &env.subdir("x")).await;
    group(env, "team", &mut [&mut a, &mut b, &mut c]).await;
    group(env, "other", &mut [&mut x]).await;
    (a, b, c, x)
}

/// A channel notification's meta value (empty if absent).
pub fn meta<'a>(n: &'a Value, key: &str) -> &'a str {
    n["params"]["meta"][key].as_str().unwrap_or("")
}

/// A channel notification's content.
pub fn content(n: &Value) -> &str {
    n["params"]["content"].as_str().unwrap_or("")
}

/// The next channel notification with this `msg_type` (others are skipped).
pub async fn expect_channel(m: &mut Mcp, msg_type: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match m.channel(left).await {
            Some(n) if meta(&n, "msg_type") == msg_type => return n,
            Some(_) => continue,
            None => panic!("{} got no {msg_type} notification", m.name),
        }
    }
}

/// Assert that no notification of this `msg_type` arrives within `window`.
pub async fn expect_none(m: &mut Mcp, msg_type: &str, window: Duration) {
    for n in m.drain_channel(window).await {
        assert_ne!(
            meta(&n, "msg_type"),
            msg_type,
            "{} got an unexpected {msg_type}: {n}",
            m.name
        );
    }
}

/// Start `n` MCP servers (each in its own directory, so all in the lobby).
pub async fn peers(env: &Env, names: &[&str]) -> Vec<Mcp> {
    let mut out = Vec::new();
    for n in names {
        out.push(Mcp::start(env, &env.subdir(n)).await);
    }
    out
}

/// The peer id of an MCP server.
pub async fn id_of(m: &mut Mcp) -> String {
    let who = m.call("whoami", serde_json::json!({})).await.text;
    who.split("(id ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("whoami names the id")
        .to_string()
}

/// Create group `name` and move these MCP servers into it.
pub async fn group(env: &Env, name: &str, members: &mut [&mut Mcp]) {
    let admin = env.admin();
    admin.create_group(name).await.expect("create group");
    for m in members.iter_mut() {
        let id = id_of(m).await;
        admin.assign_group(&id, Some(name)).await.expect("assign");
        // The name may change with the namespace.
        let who = m.call("whoami", serde_json::json!({})).await.text;
        m.name = who
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string();
    }
}

/// Kill the broker with SIGKILL and start it again on the same database.
pub async fn restart(env: &Env, mut broker: Broker, extra: &[&str]) -> Broker {
    broker.sigkill();
    broker.wait_exit().await;
    Broker::start(env, extra).await
}

/// The first id in `text` with this prefix (`task-`, `dec-`, …).
pub fn id_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} id in {text:?}"));
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}
