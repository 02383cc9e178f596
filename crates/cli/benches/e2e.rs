//! End-to-end benchmark with real processes (`cargo bench -p claude-peers --bench e2e`).
//!
//! 1. Latency: a `send_message` tool call written to one MCP server's stdin →
//!    the channel notification read from another MCP server's stdout.
//! 2. Throughput: many concurrent senders over HTTP (BENCH_SENDERS, and 16
//!    connections with the same total), each send committed to SQLite before
//!    it is answered.
//! 3. Memory: resident set size of the broker and of one MCP server.
//! 4. Start-up: spawning `claude-peers mcp` → its `initialize` answer.
//! 5. Search latency over BENCH_SEARCH_MESSAGES messages in the full-text
//!    index (operator and one peer, over HTTP).
//!
//! Knobs (environment): BENCH_MESSAGES (default 2000), BENCH_SENDERS (64),
//! BENCH_SENDS_PER_SENDER (500), BENCH_STARTS (30), BENCH_SEARCH_MESSAGES
//! (100000), BENCH_SEARCHES (50 per query), BENCH_BIN (the binary to run).
//! With `CLAUDE_PEERS_STORE=postgres://…` the broker runs on that database
//! (an empty one) and the search runs over the messages the bench sent; the
//! table's first row names the store and, for PostgreSQL, TCP or a Unix socket
//! (`postgres://user@%2Fsocket%2Fdir:PORT/db`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_peers_client::BrokerClient;
use claude_peers_proto::api::{RegisterRequest, SearchQuery};
use serde_json::json;

mod support;
use support::mcp::Mcp;
use support::{TextFor, burst, cpu_time, knob, ms, pct, rss_kib, start_broker};

/// Words messages are made of (each message takes 12, so a word is in about
/// one message in six), plus a rare word in one message in a thousand.
const VOCAB: &[&str] = &[
    "session",
    "api",
    "broker",
    "cookie",
    "token",
    "deploy",
    "review",
    "test",
    "build",
    "merge",
    "branch",
    "release",
    "schema",
    "migration",
    "index",
    "query",
    "latency",
    "thread",
    "reply",
    "search",
    "loop",
    "guard",
    "chain",
    "status",
    "blocked",
    "waiting",
    "done",
    "task",
    "proposal",
    "vote",
    "decision",
    "verify",
    "claim",
    "evidence",
    "file",
    "conflict",
    "group",
    "lobby",
    "peer",
    "dashboard",
    "stream",
    "socket",
    "delivery",
    "queue",
    "retry",
    "limit",
    "rate",
    "benchmark",
    "memory",
    "startup",
    "handshake",
    "channel",
    "notification",
    "meta",
    "snippet",
    "rank",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "kappa",
    "sigma",
    "omega",
];

/// The text of message `j` of sender `i`: 12 words of [`VOCAB`] picked by a
/// small linear congruential generator (the same texts every run).
fn text_for(i: usize, j: usize) -> String {
    let mut x = (i as u64 * 1_000_003 + j as u64).wrapping_mul(6364136223846793005) | 1;
    let mut words = Vec::with_capacity(13);
    for _ in 0..12 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        words.push(VOCAB[(x >> 33) as usize % VOCAB.len()]);
    }
    if j % 1000 == 7 {
        words.push("zebra");
    }
    words.join(" ")
}

/// The texts of round `round` of [`burst`] (each round its own).
fn texts(round: usize) -> TextFor {
    Arc::new(move |i, j| text_for(i + round * 1000, j))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let messages = knob("BENCH_MESSAGES", 2000);
    let senders = knob("BENCH_SENDERS", 64);
    let per_sender = knob("BENCH_SENDS_PER_SENDER", 500);
    let starts = knob("BENCH_STARTS", 30);

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("bench.db");
    let (mut broker, endpoint) = start_broker(&db, home, &[]).await;
    let port = endpoint.port;
    let anon = BrokerClient::new(&endpoint, None);
    let broker_pid = broker.id().unwrap();
    let rss_broker_idle = rss_kib(broker_pid);

    // --- 4. start-up of the MCP server (handshake only) ---
    let cwd_s = home.join("s");
    std::fs::create_dir_all(&cwd_s).unwrap();
    let mut startup = Vec::new();
    for _ in 0..starts {
        let (mut m, d) = Mcp::spawn(port, &db, home, &cwd_s).await;
        startup.push(d);
        drop(m.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(5), m.child.wait()).await;
    }
    startup.sort();

    // --- 1. latency ---
    let (cwd_a, cwd_b) = (home.join("a"), home.join("b"));
    std::fs::create_dir_all(&cwd_a).unwrap();
    std::fs::create_dir_all(&cwd_b).unwrap();
    let (mut a, _) = Mcp::spawn(port, &db, home, &cwd_a).await;
    let (mut b, _) = Mcp::spawn(port, &db, home, &cwd_b).await;
    let who = b
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    let b_name = who["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    a.request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    // Warm-up.
    for i in 0..50 {
        a.request("tools/call", json!({"name": "send_message", "arguments": {"to_id": b_name, "message": format!("warm {i}")}})).await;
        b.next_channel().await;
    }
    let mut lat = Vec::with_capacity(messages);
    for i in 0..messages {
        let t0 = Instant::now();
        a.send_request("tools/call", json!({"name": "send_message", "arguments": {"to_id": b_name, "message": format!("m{i}")}})).await;
        let n = b.next_channel().await;
        lat.push(t0.elapsed());
        debug_assert_eq!(n["params"]["content"], format!("m{i}"));
        // Read A's tool result before the next send.
        loop {
            let line = a.lines.next_line().await.unwrap().unwrap();
            if line.contains("\"result\"") {
                break;
            }
        }
    }
    lat.sort();
    let rss_mcp = rss_kib(b.child.id().unwrap());

    // --- 2. throughput ---
    let mut recipients = Vec::new();
    for i in 0..8 {
        let r = anon
            .register(
                &RegisterRequest {
                    pid: std::process::id(),
                    cwd: format!("/r{i}"),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        recipients.push(r.peer.id);
    }
    let mut clients = Vec::new();
    for i in 0..senders {
        let r = anon
            .register(
                &RegisterRequest {
                    pid: std::process::id(),
                    cwd: format!("/s{i}"),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        clients.push(BrokerClient::new(&endpoint, r.token));
    }
    let recipients = Arc::new(recipients);
    let cpu0 = cpu_time(broker_pid);
    let client0 = cpu_time(std::process::id());
    let (total, elapsed) = burst(&clients, &recipients, per_sender, texts(0)).await;
    let rate = total as f64 / elapsed.as_secs_f64();
    let broker_cpu = cpu_time(broker_pid).saturating_sub(cpu0);
    let client_cpu = cpu_time(std::process::id()).saturating_sub(client0);
    let rss_broker_loaded = rss_kib(broker_pid);

    // The same total over 16 connections (the figure).
    let sixteen = &clients[..clients.len().min(16)];
    let per16 = (senders * per_sender).div_ceil(sixteen.len());
    let cpu16 = cpu_time(broker_pid);
    let (total16, elapsed16) = burst(sixteen, &recipients, per16, texts(1)).await;
    let rate16 = total16 as f64 / elapsed16.as_secs_f64();
    let broker_cpu16 = cpu_time(broker_pid).saturating_sub(cpu16);

    // --- 5. search ---
    // Search over BENCH_SEARCH_MESSAGES messages.
    let want = knob("BENCH_SEARCH_MESSAGES", 100_000);
    let searches = knob("BENCH_SEARCHES", 50);
    let count = |db: &Path| -> usize {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    };
    // On PostgreSQL (CLAUDE_PEERS_STORE=postgres://…) there is no file to
    // count rows in: the search runs over the messages sent so far.
    let on_postgres = std::env::var("CLAUDE_PEERS_STORE").is_ok_and(|s| s.starts_with("postgres"));
    let mut round = 10;
    while !on_postgres && count(&db) < want {
        let missing = want - count(&db);
        let per = missing.div_ceil(clients.len()).min(per_sender);
        burst(&clients, &recipients, per, texts(round)).await;
        round += 1;
    }
    let indexed = if on_postgres {
        messages + total + total16
    } else {
        count(&db)
    };
    let token = std::fs::read_to_string(db.with_extension("admin-token")).unwrap();
    let admin = BrokerClient::new(&endpoint, Some(token.trim().to_string()));
    let peer = clients[0].clone();
    let queries: [(&str, &BrokerClient, &str); 5] = [
        ("operator, a common word", &admin, "session"),
        ("operator, two words", &admin, "session api"),
        ("operator, a rare word", &admin, "zebra"),
        ("operator, a prefix", &admin, "deplo"),
        ("a peer (its own sends), a common word", &peer, "session"),
    ];
    let mut search_rows = Vec::new();
    for (label, client, q) in queries {
        let mut times = Vec::with_capacity(searches);
        let mut hits = 0;
        for _ in 0..searches {
            let t = Instant::now();
            let r = client
                .search(&SearchQuery {
                    q: q.into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            times.push(t.elapsed());
            hits = r.hits.len();
        }
        times.sort();
        search_rows.push((label, q, hits, pct(&times, 0.5), pct(&times, 0.99)));
    }

    println!("## claude-peers end-to-end benchmark\n");
    println!("| measure | value |\n|---|---|");
    println!("| store | {} |", store_kind());
    println!(
        "| latency send_message → channel notification, {messages} messages: p50 | {} |",
        ms(pct(&lat, 0.50))
    );
    println!("| … p90 | {} |", ms(pct(&lat, 0.90)));
    println!("| … p99 | {} |", ms(pct(&lat, 0.99)));
    println!("| … max | {} |", ms(*lat.last().unwrap()));
    println!(
        "| throughput: {senders} senders × {per_sender} durable sends | {rate:.0} sends/s ({total} in {:.2} s) |",
        elapsed.as_secs_f64()
    );
    println!(
        "| broker CPU per send | {:.1} µs |",
        broker_cpu.as_secs_f64() * 1e6 / total.max(1) as f64
    );
    println!(
        "| sending client (same machine) CPU per send | {:.1} µs |",
        client_cpu.as_secs_f64() * 1e6 / total.max(1) as f64
    );
    println!(
        "| broker RSS idle / after load | {} KiB / {} KiB |",
        rss_broker_idle, rss_broker_loaded
    );
    println!("| MCP server RSS (after the latency run) | {rss_mcp} KiB |");
    println!(
        "| throughput: {} connections × {per16} durable sends | {rate16:.0} sends/s ({total16} in {:.2} s) |",
        sixteen.len(),
        elapsed16.as_secs_f64()
    );
    println!(
        "| … broker CPU per send | {:.1} µs |",
        broker_cpu16.as_secs_f64() * 1e6 / total16.max(1) as f64
    );
    for (label, q, hits, p50, p99) in &search_rows {
        println!(
            "| search over {indexed} messages, {label} ({q:?}, {hits} hits shown): p50 / p99 | {} / {} |",
            ms(*p50),
            ms(*p99)
        );
    }
    println!(
        "| MCP server start-up to `initialize` answer, {starts} starts: median | {} |",
        ms(pct(&startup, 0.5))
    );
    println!(
        "| … p90 / max | {} / {} |",
        ms(pct(&startup, 0.9)),
        ms(*startup.last().unwrap())
    );

    drop(a.stdin);
    drop(b.stdin);
    // A clean stop (lets a profiler wrapping the broker write its output).
    unsafe { libc::kill(broker_pid as i32, libc::SIGTERM) };
    if tokio::time::timeout(Duration::from_secs(60), broker.wait())
        .await
        .is_err()
    {
        let _ = broker.kill().await;
    }
}

/// Which store the broker ran on, and how it reached PostgreSQL (a Unix
/// socket when the URL's host is a directory: `%2F…` or `host=/…`).
fn store_kind() -> &'static str {
    match std::env::var("CLAUDE_PEERS_STORE") {
        Ok(url) if url.starts_with("postgres") => {
            if url.contains("@%2F") || url.contains("host=/") || url.contains("host=%2F") {
                "PostgreSQL over a Unix socket"
            } else {
                "PostgreSQL over TCP"
            }
        }
        _ => "SQLite (a file in a temporary directory)",
    }
}
