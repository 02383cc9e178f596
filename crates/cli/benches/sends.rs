//! Durable direct sends over 16 connections, alone (`cargo bench -p
//! claude-peers --bench sends`): the throughput figure without the
//! rest of `e2e`, and where the broker's CPU goes, thread by thread.
//!
//! Each of BENCH_CONNECTIONS (16) registered peers sends BENCH_SENDS (4000)
//! messages to 8 recipients in turn, one request in flight per connection,
//! after a warm-up of 200 each; every send is committed to SQLite before it
//! is answered. Printed: sends/s, the broker's CPU per send, the client's,
//! and the broker's CPU per send by thread (grouped by thread name, e.g.
//! `store-writer`, `tokio-runtime-w`), read from `/proc`. BENCH_ROUNDS (1)
//! repeats the measured burst on the same broker. BENCH_BIN picks the
//! binary (to compare two builds), BENCH_BROKER_WRAPPER wraps it (a profiler).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use claude_peers_client::BrokerClient;
use claude_peers_proto::api::RegisterRequest;

mod support;
use support::{TextFor, burst, cpu_time, knob, loadavg, start_broker};

/// Recipients the senders take turns at.
const RECIPIENTS: usize = 8;
/// Sends per connection before the measured burst.
const WARM_UP: usize = 200;

/// CPU time used so far by each thread of `pid`, summed by thread name.
fn thread_cpu(pid: u32) -> BTreeMap<String, Duration> {
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let ticks: u64 = stat[close + 1..]
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse::<u64>().ok())
            .sum();
        *out.entry(name).or_default() += Duration::from_micros(ticks * 1_000_000 / hz.max(1));
    }
    out
}

/// A dozen words of ordinary text.
fn plain() -> TextFor {
    Arc::new(|i, j| format!("message {j} of sender {i}: a dozen words of ordinary text"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let connections = knob("BENCH_CONNECTIONS", 16);
    let sends = knob("BENCH_SENDS", 4000);
    let rounds = knob("BENCH_ROUNDS", 1);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let (mut broker, endpoint) = start_broker(&db, dir.path(), &[]).await;
    let pid = broker.id().unwrap();
    let anon = BrokerClient::new(&endpoint, None);
    let register = |cwd: String| {
        let anon = anon.clone();
        async move {
            anon.register(
                &RegisterRequest {
                    pid: std::process::id(),
                    cwd,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap()
        }
    };
    let mut recipients = Vec::new();
    for i in 0..RECIPIENTS {
        recipients.push(register(format!("/r{i}")).await.peer.id);
    }
    let mut clients = Vec::new();
    for i in 0..connections {
        let token = register(format!("/s{i}")).await.token;
        clients.push(BrokerClient::new(&endpoint, token));
    }
    let recipients = Arc::new(recipients);
    burst(&clients, &recipients, WARM_UP, plain()).await;

    println!(
        "## durable direct sends, {connections} connections (load before: {})\n",
        loadavg()
    );
    for round in 1..=rounds {
        let threads0 = thread_cpu(pid);
        let (cpu0, client0) = (cpu_time(pid), cpu_time(std::process::id()));
        let (total, elapsed) = burst(&clients, &recipients, sends, plain()).await;
        let broker_cpu = cpu_time(pid).saturating_sub(cpu0);
        let client_cpu = cpu_time(std::process::id()).saturating_sub(client0);
        let threads1 = thread_cpu(pid);
        let per = |d: Duration| d.as_secs_f64() * 1e6 / total.max(1) as f64;
        println!(
            "round {round}: {:.0} sends/s ({total} in {:.2} s); broker CPU {:.1} µs/send, client {:.1} µs/send",
            total as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64(),
            per(broker_cpu),
            per(client_cpu),
        );
        for (name, t1) in &threads1 {
            let used = t1.saturating_sub(threads0.get(name).copied().unwrap_or_default());
            if !used.is_zero() {
                println!(
                    "  thread {name}: {:.1} µs/send ({:.0} % of a core)",
                    per(used),
                    100.0 * used.as_secs_f64() / elapsed.as_secs_f64()
                );
            }
        }
    }

    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    if tokio::time::timeout(Duration::from_secs(60), broker.wait())
        .await
        .is_err()
    {
        let _ = broker.kill().await;
    }
}
