//! End to end with the real Codex CLI, Gemini CLI and OpenCode (pinned in
//! `tests/clients/`), each set up by `claude-peers install` and run offline
//! against a fake model endpoint of its API shape that records every request:
//! a peer's message is proved delivered when it is in a request the model
//! receives. A client that is not installed is skipped with the reason
//! printed. One test at a time ([`SERIAL`]): each runs a real client.
//!
//! The ignored `reach_table_other_clients` measures each cell several times
//! (medians; `REACH_RUNS`, default 3) for the README's reach table:
//!
//! ```text
//! cargo test -p claude-peers --test real_agents -- --ignored --nocapture
//! ```

#[macro_use]
mod common;
#[path = "common/agents/mod.rs"]
mod agents;
#[path = "common/models/mod.rs"]
mod models;

use std::time::Duration;

use agents::{Agent, Client, Delivery, busy, idle_wake, marker};
use common::*;

/// One real-client test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs per cell of the measurement unless `REACH_RUNS` says otherwise.
const DEFAULT_RUNS: usize = 3;

#[derive(Clone, Copy)]
enum Cell {
    Busy,
    IdleWake,
}

/// Run `cell` once with `client` on a fresh broker; `None` when the client is
/// not installed.
async fn run(client: Client, cell: Cell) -> Option<Result<Delivery, String>> {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let agent = Agent::new(&env, client).await?;
    let text = marker("reach");
    let d = match cell {
        Cell::Busy => busy(&env, &agent, &text).await,
        Cell::IdleWake => idle_wake(&env, &agent, &text).await,
    };
    if let Err(e) = &d {
        agent.fail(e);
    }
    Some(d)
}

/// Run `cell` and check which rung brought the message.
async fn proves(client: Client, cell: Cell, want: &str) {
    let _one = SERIAL.lock().await;
    let Some(d) = run(client, cell).await else {
        return;
    };
    let d = d.unwrap();
    eprintln!("{}: {} after {:?}", client.label(), d.rung, d.took);
    assert_eq!(d.rung, want, "{:?}", d.request.new_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_codex_session_gets_the_message_from_its_post_tool_use_hook() {
    proves(Client::Codex, Cell::Busy, "next-turn").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_gemini_session_gets_the_message_from_its_after_tool_hook() {
    proves(Client::Gemini, Cell::Busy, "next-turn").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_opencode_session_reads_the_message_after_the_unread_line() {
    proves(Client::OpenCode, Cell::Busy, "tool-only").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_opencode_session_is_woken_by_the_plugin() {
    proves(Client::OpenCode, Cell::IdleWake, "wake").await;
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn reach_table_other_clients() {
    let _one = SERIAL.lock().await;
    let runs: usize = std::env::var("REACH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    let cells = [
        (Client::Codex, Cell::Busy, "busy"),
        (Client::Gemini, Cell::Busy, "busy"),
        (Client::OpenCode, Cell::Busy, "busy"),
        (Client::OpenCode, Cell::IdleWake, "idle"),
    ];
    let mut rows = Vec::new();
    for (client, cell, label) in cells {
        let mut took = Vec::new();
        let mut rungs = Vec::new();
        for _ in 0..runs {
            match run(client, cell).await {
                None => break,
                Some(Ok(d)) => {
                    rungs.push(d.rung);
                    took.push(d.took);
                }
                Some(Err(e)) => eprintln!("{} {label}: {e}", client.label()),
            }
        }
        rungs.sort();
        rungs.dedup();
        let row = match median(took.clone()) {
            Some(m) => format!(
                "| {} | {label} | {} | {} ms after send_message, nobody typing | {}/{runs} |",
                client.label(),
                rungs.join(", "),
                m.as_millis(),
                took.len()
            ),
            None => format!(
                "| {} | {label} | - | not measured | 0/{runs} |",
                client.label()
            ),
        };
        eprintln!("{row}");
        rows.push(row);
    }
    println!("\nruns per cell: {runs}\n");
    println!("| client | session | rung | time to the model (median) | reached |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
