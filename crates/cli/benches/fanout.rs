//! Fan-out benchmark with the real broker (`cargo bench -p claude-peers --bench fanout`).
//!
//! 1. Ten registered peers: registration, `list_peers` and a durable send,
//!    each timed over HTTP (the figures the 10 000-peer run is compared with).
//! 2. BENCH_STREAMS peers each hold a `/v1/stream` WebSocket from this process
//!    and answer `delivered` (rung `channel`) for every message, as the MCP
//!    server does. The broker's memory per open idle stream is read from its
//!    RSS.
//! 3. One of them broadcasts to the machine scope BENCH_BROADCASTS times: the
//!    time from the broadcast request until each stream has the message
//!    (p50/p99 per broadcast), and the broker's CPU time per recipient until
//!    every `delivered` is stored. Broker RSS after the bursts and after
//!    BENCH_SETTLE_MS of quiet.
//! 4. BENCH_REGISTERED peers registered in all, the streams still open: the
//!    same registration, `list_peers` and send figures as in 1.
//!
//! Knobs (environment): BENCH_STREAMS (default 1000), BENCH_BROADCASTS (5),
//! BENCH_REGISTERED (10000), BENCH_OPS (200 timed calls of each kind),
//! BENCH_SETTLE_MS (5000); BENCH_BROKER_WRAPPER wraps the broker (a profiler).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{
    BroadcastRequest, ListPeersQuery, RegisterRequest, Scope, SendRequest,
};
use claude_peers_proto::reach::Rung;
use claude_peers_proto::stream::{ClientFrame, ServerFrame};
use tokio::sync::{Semaphore, mpsc};

mod support;
use support::{cpu_time, knob, loadavg, ms, pct, rss_kib, start_broker};

/// The working directory of the ten peers of phase 1 (a `directory` listing
/// from one of them always answers the same nine).
const SMALL_CWD: &str = "/bench/small";
/// Streams opened at once.
const CONNECT_AT_ONCE: usize = 32;
/// Registrations in flight at once while filling up to BENCH_REGISTERED.
const REGISTER_AT_ONCE: usize = 16;

async fn register(anon: &BrokerClient, endpoint: &Endpoint, cwd: &str) -> (String, BrokerClient) {
    let r = anon
        .register(
            &RegisterRequest {
                pid: std::process::id(),
                cwd: cwd.into(),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("register");
    (r.peer.id, BrokerClient::new(endpoint, r.token))
}

/// Registration, listing and send timings (sorted) at the current number
/// of registered peers.
struct OpTimes {
    register: Vec<Duration>,
    list_directory: Vec<Duration>,
    list_machine: Vec<Duration>,
    listed_machine: usize,
    send: Vec<Duration>,
}

async fn time_ops(
    anon: &BrokerClient,
    endpoint: &Endpoint,
    lister: &BrokerClient,
    sender: &BrokerClient,
    to: &str,
    ops: usize,
) -> OpTimes {
    let mut register_t = Vec::with_capacity(ops);
    for i in 0..ops {
        let t = Instant::now();
        let (_, c) = register(anon, endpoint, &format!("/bench/probe/{i}")).await;
        register_t.push(t.elapsed());
        // Leave again, so that the number of listed peers stays as it was.
        c.leave(false).await.expect("leave");
    }
    let list = |scope| ListPeersQuery {
        scope: Some(scope),
        ..Default::default()
    };
    let mut list_directory = Vec::with_capacity(ops);
    for _ in 0..ops {
        let t = Instant::now();
        lister.peers(&list(Scope::Directory)).await.expect("list");
        list_directory.push(t.elapsed());
    }
    let mut list_machine = Vec::with_capacity(ops);
    let mut listed_machine = 0;
    for _ in 0..ops {
        let t = Instant::now();
        listed_machine = lister
            .peers(&list(Scope::Machine))
            .await
            .expect("list")
            .len();
        list_machine.push(t.elapsed());
    }
    let mut send = Vec::with_capacity(ops);
    for i in 0..ops {
        let req = SendRequest {
            to: to.into(),
            text: format!("probe {i}"),
            ..Default::default()
        };
        let t = Instant::now();
        sender.send(&req).await.expect("send");
        send.push(t.elapsed());
    }
    for v in [
        &mut register_t,
        &mut list_directory,
        &mut list_machine,
        &mut send,
    ] {
        v.sort();
    }
    OpTimes {
        register: register_t,
        list_directory,
        list_machine,
        listed_machine,
        send,
    }
}

/// Hold one stream: report each message's arrival, answer `delivered`.
async fn hold(
    stream: Stream,
    ready: mpsc::UnboundedSender<()>,
    arrivals: mpsc::UnboundedSender<(i64, Instant)>,
) {
    let (mut reader, mut writer) = stream.split();
    loop {
        match reader.next().await {
            Incoming::Frame(ServerFrame::Hello { .. }) => {
                let _ = ready.send(());
            }
            Incoming::Frame(ServerFrame::Message { message, .. }) => {
                let _ = arrivals.send((message.id, Instant::now()));
                let ack = ClientFrame::Delivered {
                    ids: vec![message.id],
                    rung: Some(Rung::Channel),
                };
                if writer.send(&ack).await.is_err() {
                    return;
                }
            }
            Incoming::Frame(_) | Incoming::Garbled(_) => {}
            Incoming::Closed => return,
        }
    }
}

/// Deliveries of `message` still queued (read from the database).
fn still_queued(db: &Path, message: i64) -> usize {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database");
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.query_row(
        "SELECT count(*) FROM deliveries WHERE message_id = ?1 AND state = 0",
        [message],
        |r| r.get::<_, i64>(0),
    )
    .expect("count queued") as usize
}

/// One broadcast's figures.
struct Burst {
    recipients: u32,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// Until every stream's `delivered` was stored.
    all_delivered: Duration,
    cpu: Duration,
    cpu_per_recipient: Duration,
}

fn row(label: &str, small: &[Duration], big: &[Duration]) {
    println!(
        "| {label}: p50 / p99 | {} / {} | {} / {} | {:.2}× |",
        ms(pct(small, 0.5)),
        ms(pct(small, 0.99)),
        ms(pct(big, 0.5)),
        ms(pct(big, 0.99)),
        pct(big, 0.5).as_secs_f64() / pct(small, 0.5).as_secs_f64().max(1e-9)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let streams = knob("BENCH_STREAMS", 1000).max(2);
    let broadcasts = knob("BENCH_BROADCASTS", 5).max(1);
    let registered = knob("BENCH_REGISTERED", 10_000);
    let ops = knob("BENCH_OPS", 200).max(1);
    let settle = Duration::from_millis(knob("BENCH_SETTLE_MS", 5000) as u64);
    let load_start = loadavg();

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("bench.db");
    let max_streams = (streams + 64).to_string();
    // Peers without a stream stay registered (listed as stale) for the run.
    let (mut broker, endpoint) = start_broker(
        &db,
        home,
        &[
            "--remove-after-ms",
            "86400000",
            "--max-streams",
            &max_streams,
        ],
    )
    .await;
    let anon = BrokerClient::new(&endpoint, None);
    let broker_pid = broker.id().unwrap();
    let rss_idle = rss_kib(broker_pid);

    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (arrive_tx, mut arrive_rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let open = |token: String| {
        let endpoint = endpoint.clone();
        let ready = ready_tx.clone();
        let arrivals = arrive_tx.clone();
        async move {
            let s = Stream::connect(&endpoint, &token).await.expect("stream");
            tokio::spawn(hold(s, ready, arrivals));
        }
    };

    // --- 1. ten registered peers ---
    let mut small = Vec::new();
    for _ in 0..10 {
        small.push(register(&anon, &endpoint, SMALL_CWD).await);
    }
    // The send's recipient holds a stream and confirms, as a session does.
    open(small[1].1.token().unwrap().to_string()).await;
    ready_rx.recv().await;
    let at_ten = time_ops(&anon, &endpoint, &small[0].1, &small[0].1, &small[1].0, ops).await;
    // Let the probe sends' confirmations land before measuring memory.
    while arrive_rx.len() < ops {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while arrive_rx.try_recv().is_ok() {}

    // --- 2. the streams ---
    let mut fan = Vec::with_capacity(streams);
    for i in 0..streams {
        fan.push(register(&anon, &endpoint, &format!("/bench/fan/{i}")).await);
    }
    let rss_before_streams = rss_kib(broker_pid);
    let gate = Arc::new(Semaphore::new(CONNECT_AT_ONCE));
    let mut connecting = Vec::new();
    for (_, c) in &fan {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let opening = open(c.token().unwrap().to_string());
        connecting.push(tokio::spawn(async move {
            opening.await;
            drop(permit);
        }));
    }
    for c in connecting {
        c.await.unwrap();
    }
    for _ in 0..streams {
        ready_rx.recv().await;
    }
    // (`hello` comes after the broker stored the peer as connected.)
    let rss_streams = rss_kib(broker_pid);
    let per_stream_kib = rss_streams.saturating_sub(rss_before_streams) as f64 / streams as f64;

    // --- 3. broadcasts to the machine scope ---
    let holders = streams; // every other stream holder: the fan peers but one, plus small[1]
    let broadcaster = fan[0].1.clone();
    let mut bursts = Vec::new();
    for k in 0..broadcasts {
        let req = BroadcastRequest {
            text: format!("fan-out {k}"),
            scope: Scope::Machine,
            context: None,
            origin: None,
            reply_to: None,
            status: false,
        };
        let cpu0 = cpu_time(broker_pid);
        let t0 = Instant::now();
        let sent = broadcaster.broadcast(&req).await.expect("broadcast");
        let mut lat = Vec::with_capacity(holders);
        while lat.len() < holders {
            let (id, at) = tokio::time::timeout(Duration::from_secs(120), arrive_rx.recv())
                .await
                .expect("every stream gets the broadcast")
                .unwrap();
            if id == sent.message_id {
                lat.push(at.duration_since(t0));
            }
        }
        let without_stream = sent.recipients.len() - holders;
        let deadline = Instant::now() + Duration::from_secs(120);
        while still_queued(&db, sent.message_id) > without_stream {
            assert!(Instant::now() < deadline, "deliveries were not confirmed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let all_delivered = t0.elapsed();
        let cpu = cpu_time(broker_pid).saturating_sub(cpu0);
        lat.sort();
        bursts.push(Burst {
            recipients: sent.recipients.len() as u32,
            p50: pct(&lat, 0.5),
            p99: pct(&lat, 0.99),
            max: *lat.last().unwrap(),
            all_delivered,
            cpu,
            cpu_per_recipient: cpu / sent.recipients.len().max(1) as u32,
        });
    }
    let rss_bursts = rss_kib(broker_pid);
    tokio::time::sleep(settle).await;
    let rss_settled = rss_kib(broker_pid);

    // --- 4. BENCH_REGISTERED peers, the streams still open ---
    let have = 10 + streams;
    let missing = registered.saturating_sub(have);
    let gate = Arc::new(Semaphore::new(REGISTER_AT_ONCE));
    let mut filling = Vec::with_capacity(missing);
    for i in 0..missing {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let anon = anon.clone();
        let endpoint = endpoint.clone();
        filling.push(tokio::spawn(async move {
            register(&anon, &endpoint, &format!("/bench/idle/{i}")).await;
            drop(permit);
        }));
    }
    for f in filling {
        f.await.unwrap();
    }
    let at_big = time_ops(&anon, &endpoint, &small[0].1, &small[0].1, &small[1].0, ops).await;
    let load_end = loadavg();

    println!("## claude-peers fan-out benchmark\n");
    println!(
        "{streams} streams, {broadcasts} broadcasts, {registered} registered; load average {load_start} at the start, {load_end} at the end\n"
    );
    println!(
        "| broadcast | recipients | p50 | p99 | max | all `delivered` stored | broker CPU per recipient |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, b) in bursts.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} µs |",
            i + 1,
            b.recipients,
            ms(b.p50),
            ms(b.p99),
            ms(b.max),
            ms(b.all_delivered),
            b.cpu_per_recipient.as_secs_f64() * 1e6
        );
    }
    let median = |f: &dyn Fn(&Burst) -> Duration| {
        let mut v: Vec<Duration> = bursts.iter().map(f).collect();
        v.sort();
        pct(&v, 0.5)
    };
    println!(
        "| **median** | | {} | {} | {} | {} | {:.1} µs |",
        ms(median(&|b| b.p50)),
        ms(median(&|b| b.p99)),
        ms(median(&|b| b.max)),
        ms(median(&|b| b.all_delivered)),
        median(&|b| b.cpu_per_recipient).as_secs_f64() * 1e6
    );
    // CPU time is counted in clock ticks (10 ms): the sum over all
    // broadcasts is the finer figure.
    let cpu: Duration = bursts.iter().map(|b| b.cpu).sum();
    let recipients: u32 = bursts.iter().map(|b| b.recipients).sum();
    println!(
        "\nbroker CPU per recipient over all {broadcasts} broadcasts: **{:.1} µs** ({} ms for {recipients} deliveries)",
        cpu.as_secs_f64() * 1e6 / recipients.max(1) as f64,
        cpu.as_millis()
    );
    println!();
    println!("| broker memory | value |\n|---|---|");
    println!("| RSS idle | {rss_idle} KiB |");
    println!(
        "| RSS with {} registered, before the streams | {rss_before_streams} KiB |",
        10 + streams
    );
    println!("| RSS with {streams} streams open | {rss_streams} KiB |");
    println!("| per open idle stream | {per_stream_kib:.1} KiB |");
    println!("| RSS after the broadcasts | {rss_bursts} KiB |");
    println!(
        "| RSS after {} ms of quiet | {rss_settled} KiB |",
        settle.as_millis()
    );
    println!();
    println!(
        "| operation | 10 registered | {} registered, {} connected | ratio of p50 |\n|---|---|---|---|",
        have + missing,
        streams + 1
    );
    row("registration", &at_ten.register, &at_big.register);
    row(
        "list_peers, scope directory (9 listed)",
        &at_ten.list_directory,
        &at_big.list_directory,
    );
    row(
        &format!(
            "list_peers, scope machine ({} / {} listed)",
            at_ten.listed_machine, at_big.listed_machine
        ),
        &at_ten.list_machine,
        &at_big.list_machine,
    );
    row(
        "send (durable, recipient connected)",
        &at_ten.send,
        &at_big.send,
    );

    // A clean stop (lets a profiler wrapping the broker write its output).
    unsafe { libc::kill(broker_pid as i32, libc::SIGTERM) };
    if tokio::time::timeout(Duration::from_secs(60), broker.wait())
        .await
        .is_err()
    {
        let _ = broker.kill().await;
    }
}
