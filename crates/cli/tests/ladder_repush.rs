//! Issue 15: a restarted MCP server under the same Claude Code session does not
//! push again what that session was already shown; it says how many unread
//! messages wait, and `check_messages` returns them. A message whose push was
//! never confirmed is pushed again (at least once). A bounded soak with MCP
//! server and broker SIGKILLs shows no repeat.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use claude_peers_client::BrokerClient;
use claude_peers_proto::api::{DeliveryState, ListPeersQuery};
use common::*;
use serde_json::json;

const SESSION: (&str, &str) = ("CLAUDE_CODE_SESSION_ID", "cc-session-1");

/// Wait until the broker has recorded every one of `ids` as delivered to `to`.
async fn until_delivered(from: &BrokerClient, to: &str, ids: &[i64]) {
    until!("the pushes are confirmed to the broker", {
        let sent = from.sent(Some(500)).await.unwrap();
        ids.iter().all(|id| {
            sent.messages.iter().any(|m| {
                m.id == *id
                    && m.deliveries
                        .iter()
                        .any(|d| d.recipient.id == to && d.state >= DeliveryState::Delivered)
            })
        })
    });
}

/// The channel pushes up to and including `sentinel` (the stream replays oldest
/// first, so everything pushed before it has been seen by then).
async fn pushes_until(m: &mut Mcp, sentinel: i64) -> Vec<i64> {
    let mut got = Vec::new();
    loop {
        let n = m
            .channel(WAIT)
            .await
            .unwrap_or_else(|| panic!("no push of the sentinel #{sentinel}; got {got:?}"));
        let id = meta_id(&n);
        got.push(id);
        if id == sentinel {
            return got;
        }
    }
}

fn kill(m: &Mcp) {
    unsafe { libc::kill(m.pid() as i32, libc::SIGKILL) };
}

#[tokio::test]
async fn a_restarted_mcp_server_does_not_push_again_what_its_session_was_shown() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("b");
    let mut b = Mcp::start_with(&env, &cwd, &[SESSION]).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(send_text(&a, &b.name, &format!("shown {i}")).await);
    }
    for id in &ids {
        assert_eq!(meta_id(&b.channel(WAIT).await.unwrap()), *id);
    }
    until_delivered(&a, &b.id, &ids).await;

    // The MCP server dies before the agent acknowledged anything; Claude Code
    // starts it again under the same session (same parent, same session id).
    kill(&b);
    let _ = b.child.wait().await;
    let mut b2 = Mcp::start_with(&env, &cwd, &[SESSION]).await;
    assert_eq!(b2.id, b.id, "same identity");
    let sentinel = send_text(&a, &b2.name, "sentinel").await;
    assert_eq!(
        pushes_until(&mut b2, sentinel).await,
        vec![sentinel],
        "nothing the session was shown is pushed again"
    );
    // It says how many wait, and check_messages returns them all.
    let who = b2.call("whoami", json!({})).await;
    assert!(who.text.contains("4 unread messages"), "{}", who.text);
    let check = b2.call("check_messages", json!({})).await.text;
    for id in ids.iter().chain([&sentinel]) {
        assert!(check.contains(&format!("#{id} from")), "{check}");
    }
}

#[tokio::test]
async fn a_message_never_confirmed_is_pushed_again_after_a_restart() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("b");
    // No handshake: the session never settles, so nothing is pushed or confirmed.
    let b = Mcp::spawn(&env, &cwd, &[SESSION]).await;
    let admin = env.admin();
    until!(
        "b registered",
        admin
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .iter()
            .any(|p| p.cwd.ends_with("/b") && p.connected)
    );
    let peer = admin
        .peers(&ListPeersQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.cwd.ends_with("/b"))
        .unwrap();
    let (_, a) = env.register("/a", |_| {}).await;
    let id = send_text(&a, &peer.name, "never confirmed").await;
    kill(&b);
    let mut b = b;
    let _ = b.child.wait().await;
    let mut b2 = Mcp::start_with(&env, &cwd, &[SESSION]).await;
    assert_eq!(b2.id, peer.id);
    assert_eq!(meta_id(&b2.channel(WAIT).await.expect("pushed again")), id);
}

/// A bounded soak: rounds of sends, each followed by a SIGKILL of the
/// recipient's MCP server (and, every other round, of the broker), then a
/// restart. Every message is pushed once in all, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_with_restarts_shows_no_message_twice() {
    const ROUNDS: usize = 4;
    const PER_ROUND: usize = 8;
    let env = Env::new();
    let mut broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("b");
    let mut b = Mcp::start_with(&env, &cwd, &[SESSION]).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let mut pushed: Vec<i64> = Vec::new();
    let mut sent: Vec<i64> = Vec::new();
    for round in 0..ROUNDS {
        let mut ids = Vec::new();
        for i in 0..PER_ROUND {
            ids.push(send_text(&a, &b.name, &format!("round {round} message {i}")).await);
        }
        sent.extend(&ids);
        let last = *ids.last().unwrap();
        pushed.extend(pushes_until(&mut b, last).await);
        until_delivered(&a, &b.id, &ids).await;
        kill(&b);
        let _ = b.child.wait().await;
        if round % 2 == 1 {
            broker.sigkill();
            broker.wait_exit().await;
            broker = Broker::start(&env, &[]).await;
        }
        b = Mcp::start_with(&env, &cwd, &[SESSION]).await;
    }
    let sentinel = send_text(&a, &b.name, "the end").await;
    pushed.extend(pushes_until(&mut b, sentinel).await);
    sent.push(sentinel);
    let unique: BTreeSet<i64> = pushed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        pushed.len(),
        "a message was pushed twice: {pushed:?}"
    );
    assert_eq!(
        unique,
        sent.iter().copied().collect(),
        "every message pushed once"
    );
}

/// A Claude Code process standing in for the session: a shell whose child is
/// the MCP server (so the MCP server's parent is this shell, not the test).
fn claude_process(env: &Env, cwd: &std::path::Path, session: &str) -> tokio::process::Child {
    let mut sh = tokio::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("exec 3<&0; {BIN} mcp <&3 & wait"))
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .env("CLAUDE_PEERS_PORT", env.port().to_string())
        .env("CLAUDE_PEERS_DB", &env.db)
        .env("HOME", env.dir.path())
        .env("CLAUDE_CODE_SESSION_ID", session)
        .kill_on_drop(true);
    sh.spawn().unwrap()
}

#[tokio::test]
async fn a_session_resumed_in_a_new_claude_process_is_the_same_peer() {
    let env = Env::new();
    let _broker = Broker::start(&env, &[]).await;
    let cwd = env.subdir("b");
    let admin = env.admin();
    let listed = || async {
        admin
            .peers(&ListPeersQuery::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.cwd.ends_with("/b") && p.connected)
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    let mut first = claude_process(&env, &cwd, "resumed-session-1");
    until!("the first process registered", listed().await.len() == 1);
    let id = listed().await[0].clone();
    // The session is closed (its process ends), then resumed in a new process.
    first.kill().await.unwrap();
    until!("the first process left", listed().await.is_empty());
    let _second = claude_process(&env, &cwd, "resumed-session-1");
    until!("the resumed session registered", !listed().await.is_empty());
    assert_eq!(listed().await, vec![id], "the same peer");
    // Another session in a new process is another peer.
    let _other = claude_process(&env, &env.subdir("b"), "another-session");
    until!("two peers", listed().await.len() == 2);
}
