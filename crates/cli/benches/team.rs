//! Team mode on PostgreSQL (`cargo bench -p claude-peers --bench team`):
//! two brokers on one database; a `send_message` tool call written to an
//! MCP server of broker A → the channel notification read from an MCP
//! server of broker B (committed by A, announced with `pg_notify`, heard by
//! B's listener, read from the store by B's stream, pushed). Beside it, the
//! same path with both MCP servers on A. Then durable sends/s with 16
//! connections over HTTP, all on A, then split 8 and 8 over A and B (the
//! brokers' write batches take turns: see `runtime/team`, `WRITE_LOCK`).
//!
//! Needs `CLAUDE_PEERS_STORE=postgres://…/DB` naming an empty database
//! (without it the bench says so and stops). Knobs: BENCH_MESSAGES
//! (default 1000), BENCH_SENDS_PER_SENDER (300), BENCH_BIN.

use std::path::Path;
use std::time::{Duration, Instant};

use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{RegisterRequest, SendRequest};
use serde_json::json;

mod support;
use support::mcp::Mcp;
use support::{knob, loadavg, ms, pct, start_broker};

/// The name an MCP server registered as.
async fn name_of(m: &mut Mcp) -> String {
    let who = m
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    who["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string()
}

/// Latencies of `n` sends from `a` to `b` (after a warm-up), sorted.
async fn latencies(a: &mut Mcp, b: &mut Mcp, n: usize) -> Vec<Duration> {
    let to = name_of(b).await;
    name_of(a).await;
    let send =
        |i: String| json!({"name": "send_message", "arguments": {"to_id": to, "message": i}});
    for i in 0..50 {
        a.request("tools/call", send(format!("warm {i}"))).await;
        b.next_channel().await;
    }
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        a.send_request("tools/call", send(format!("m{i}"))).await;
        b.next_channel().await;
        lat.push(t0.elapsed());
        // A's tool result before the next send.
        loop {
            let line = a.lines.next_line().await.unwrap().unwrap();
            if line.contains("\"result\"") {
                break;
            }
        }
    }
    lat.sort();
    lat
}

/// Durable sends/s of 16 connections, connection `i` on `brokers[i % len]`,
/// each sending `per` messages to one of four recipients.
async fn throughput(brokers: &[&Endpoint], per: usize, round: usize) -> f64 {
    let anon = BrokerClient::new(brokers[0], None);
    let mut recipients = Vec::new();
    for i in 0..4 {
        let r = anon
            .register(
                &RegisterRequest {
                    pid: std::process::id(),
                    cwd: format!("/bench/r{round}-{i}"),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        recipients.push(r.peer.name);
    }
    let mut senders = Vec::new();
    for i in 0..16 {
        let ep = brokers[i % brokers.len()];
        let r = BrokerClient::new(ep, None)
            .register(
                &RegisterRequest {
                    pid: std::process::id(),
                    cwd: format!("/bench/s{round}-{i}"),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        senders.push((BrokerClient::new(ep, r.token), recipients[i % 4].clone()));
    }
    let t0 = Instant::now();
    let mut joins = tokio::task::JoinSet::new();
    for (c, to) in senders {
        joins.spawn(async move {
            for k in 0..per {
                c.send(&SendRequest {
                    to: to.clone(),
                    text: format!("t{k}"),
                    ..Default::default()
                })
                .await
                .unwrap();
            }
        });
    }
    while joins.join_next().await.is_some() {}
    (16 * per) as f64 / t0.elapsed().as_secs_f64()
}

async fn mcp(port: u16, db: &Path, home: &Path, name: &str) -> Mcp {
    let cwd = home.join(name);
    std::fs::create_dir_all(&cwd).unwrap();
    Mcp::spawn(port, db, home, &cwd).await.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !std::env::var("CLAUDE_PEERS_STORE").is_ok_and(|s| s.starts_with("postgres")) {
        eprintln!(
            "CLAUDE_PEERS_STORE must name an empty PostgreSQL database: the team bench did not run"
        );
        return;
    }
    let messages = knob("BENCH_MESSAGES", 1000);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db_a, db_b) = (dir_a.path().join("a.db"), dir_b.path().join("b.db"));
    let (_broker_a, ep_a) = start_broker(&db_a, dir_a.path(), &[]).await;
    let (_broker_b, ep_b) = start_broker(&db_b, dir_b.path(), &[]).await;

    let mut a = mcp(ep_a.port, &db_a, dir_a.path(), "a").await;
    let mut b = mcp(ep_b.port, &db_b, dir_b.path(), "b").await;
    let across = latencies(&mut a, &mut b, messages).await;
    let mut a2 = mcp(ep_a.port, &db_a, dir_a.path(), "a2").await;
    let same = latencies(&mut a, &mut a2, messages).await;

    let per = knob("BENCH_SENDS_PER_SENDER", 300);
    let one = throughput(&[&ep_a], per, 1).await;
    let two = throughput(&[&ep_a, &ep_b], per, 2).await;

    println!(
        "| team bench, PostgreSQL, {messages} messages, load {} | p50 | p99 |",
        loadavg()
    );
    println!("|---|---|---|");
    println!(
        "| send on broker A → channel notification on broker B | {} | {} |",
        ms(pct(&across, 0.50)),
        ms(pct(&across, 0.99))
    );
    println!(
        "| send on broker A → channel notification on broker A | {} | {} |",
        ms(pct(&same, 0.50)),
        ms(pct(&same, 0.99))
    );
    println!(
        "| durable sends/s, 16 connections: all on broker A / 8 on A and 8 on B | {one:.0} | {two:.0} |"
    );
}
