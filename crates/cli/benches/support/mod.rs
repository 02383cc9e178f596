//! What the end-to-end benchmarks share: knobs, a free port, the broker's
//! command line (with `BENCH_BROKER_WRAPPER`), a process's memory and CPU
//! time from `/proc`, percentiles.

#![allow(dead_code)]

pub mod mcp;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::SendRequest;
use tokio::process::{Child, Command};

pub fn bin() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_claude-peers").to_string())
}

/// The broker flags that lift every rate and queue limit (a benchmark
/// measures the path, not the limits).
pub const UNLIMITED: &[&str] = &[
    "--sends-per-minute",
    "0",
    "--pair-sends-per-minute",
    "0",
    "--chain-limit",
    "0",
    "--requests-per-second",
    "0",
    "--registrations-per-minute",
    "0",
    "--queue-depth",
    "10000000",
];

/// A knob from the environment, else `default`.
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The port of the broker started on port 0 with database `db`: its lock file
/// (`<db>.lock`) holds `pid port` once the port is bound.
pub async fn bound_port(db: &Path) -> u16 {
    let lock = db.with_extension("lock");
    let t = Instant::now();
    loop {
        let line = std::fs::read_to_string(&lock).unwrap_or_default();
        if let Some(Ok(port)) = line.split_whitespace().nth(1).map(str::parse::<u16>)
            && port != 0
        {
            return port;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "broker did not bind a port"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `claude-peers ARGS` against the broker at `port` with database `db`.
pub fn cmd(port: u16, db: &Path, home: &Path, args: &[&str]) -> Command {
    // BENCH_BROKER_WRAPPER (e.g. a profiler command line) wraps the broker only.
    let wrapper: Vec<String> = match std::env::var("BENCH_BROKER_WRAPPER") {
        Ok(w) if args.first() == Some(&"broker") => {
            w.split_whitespace().map(str::to_string).collect()
        }
        _ => Vec::new(),
    };
    let mut c = match wrapper.split_first() {
        Some((prog, rest)) => {
            let mut c = Command::new(prog);
            c.args(rest).arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    c.args(args)
        .env("CLAUDE_PEERS_PORT", port.to_string())
        .env("CLAUDE_PEERS_DB", db)
        .env("HOME", home)
        .env("CLAUDE_PEERS_SETTLE_MS", "0")
        .env("LOG_LEVEL", "warn")
        .kill_on_drop(true);
    c
}

/// Resident set size of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU time (user + system) a process has used.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    let ticks = f.iter().sum::<u64>();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_micros(ticks * 1_000_000 / hz.max(1))
}

/// The `p` quantile of sorted durations.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The machine's load average over the last minute.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// Start the broker on port 0 with database `db`, every limit lifted
/// ([`UNLIMITED`]) plus `extra` flags; wait until it answers. Its stderr is
/// shown with `BENCH_BROKER_STDERR`.
pub async fn start_broker(db: &Path, home: &Path, extra: &[&str]) -> (Child, Endpoint) {
    let mut args = vec!["broker"];
    args.extend_from_slice(UNLIMITED);
    args.extend_from_slice(extra);
    let broker = cmd(0, db, home, &args)
        .stdout(std::process::Stdio::null())
        .stderr(if std::env::var("BENCH_BROKER_STDERR").is_ok() {
            std::process::Stdio::inherit()
        } else {
            std::process::Stdio::null()
        })
        .spawn()
        .unwrap();
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port: bound_port(db).await,
        db: db.to_path_buf(),
        tls: false,
    };
    let anon = BrokerClient::new(&endpoint, None);
    let t = Instant::now();
    while anon.health().await.is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "broker did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (broker, endpoint)
}

/// The text of message `j` of sender `i` in a [`burst`].
pub type TextFor = Arc<dyn Fn(usize, usize) -> String + Send + Sync>;

/// `per` durable sends from each client, one in flight per client, to the
/// recipients in turn; how many were accepted and how long the burst took.
pub async fn burst(
    clients: &[BrokerClient],
    recipients: &Arc<Vec<String>>,
    per: usize,
    text: TextFor,
) -> (usize, Duration) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (i, c) in clients.iter().cloned().enumerate() {
        let recipients = recipients.clone();
        let text = text.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            for j in 0..per {
                let req = SendRequest {
                    to: recipients[(i + j) % recipients.len()].clone(),
                    text: text(i, j),
                    ..Default::default()
                };
                if c.send(&req).await.is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    (total, t0.elapsed())
}
