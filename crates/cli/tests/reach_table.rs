//! The reach table, measured with the real Claude Code (a measurement, not a
//! pass/fail test): for each kind of session, which rung brings a peer's
//! message to the model and how long from `send_message` until the message is
//! in a request the model receives. Several runs per cell; medians.
//!
//! ```text
//! cargo test -p claude-peers --test reach_table -- --ignored --nocapture
//! REACH_RUNS=5 cargo test -p claude-peers --test reach_table -- --ignored --nocapture
//! ```
//!
//! Sessions are set up with `claude-peers install` when this build has the
//! hook handlers (`claude-peers hook`), else with the MCP server only.

#[macro_use]
mod common;
#[path = "common/claude/mod.rs"]
mod claude;

use std::time::Duration;

use claude::cells::{self, Delivery, marker};
use claude::{CURRENT, OLDER, Options, Session};
use common::*;

/// Runs per cell unless `REACH_RUNS` says otherwise.
const DEFAULT_RUNS: usize = 3;
/// How long an idle session is given to take a message with nobody typing.
const IDLE_WAIT: Duration = Duration::from_secs(10);
/// The session id of the closed-and-resumed cell.
const RESUMED_ID: &str = "7d3c2b1a-5e4f-4a6b-8c7d-9e0f1a2b3c4d";

#[derive(Clone, Copy)]
enum State {
    Busy,
    Idle,
    /// Closed when the message is sent, then resumed (`--resume`) and typed
    /// into: the time is from the client's start.
    Closed,
}

struct Cell {
    label: &'static str,
    version: &'static str,
    /// The client's messaging socket left on.
    socket: bool,
    state: State,
}

const CELLS: &[Cell] = &[
    Cell {
        label: "busy",
        version: CURRENT,
        socket: true,
        state: State::Busy,
    },
    Cell {
        label: "idle",
        version: CURRENT,
        socket: true,
        state: State::Idle,
    },
    Cell {
        label: "busy, socket off",
        version: CURRENT,
        socket: false,
        state: State::Busy,
    },
    Cell {
        label: "idle, socket off",
        version: CURRENT,
        socket: false,
        state: State::Idle,
    },
    Cell {
        label: "busy",
        version: OLDER,
        socket: false,
        state: State::Busy,
    },
    Cell {
        label: "idle",
        version: OLDER,
        socket: false,
        state: State::Idle,
    },
    Cell {
        label: "closed, then resumed",
        version: CURRENT,
        socket: true,
        state: State::Closed,
    },
];

/// One run's result: the rung, the time (None when only a keystroke brought
/// it), or why it did not arrive.
enum Run {
    Pushed(Delivery),
    AfterKeystroke(Delivery),
    Lost(String),
}

/// Whether this build has the hook handlers, so install's hooks can run.
fn has_hooks() -> bool {
    std::process::Command::new(BIN)
        .args(["hook", "--help"])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn run(cell: &Cell, install: bool) -> Run {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut opts = Options::new(cell.version);
    if !cell.socket {
        opts = opts.env("CLAUDE_CODE_HARBOR_KITE", "0");
    }
    if install {
        opts = opts.installed();
    }
    if let State::Closed = cell.state {
        opts.args = vec!["--session-id".into(), RESUMED_ID.into()];
    }
    let mut s = Session::start(&env, opts).await;
    let text = marker("reach");
    match cell.state {
        State::Busy => match cells::busy(&env, &s, &text).await {
            Ok(d) => Run::Pushed(d),
            Err(e) => Run::Lost(e),
        },
        State::Idle => match cells::idle(&env, &s, &text, IDLE_WAIT).await {
            Ok(d) => Run::Pushed(d),
            Err(_) => Run::AfterKeystroke(cells::at_next_prompt(&s, &text).await),
        },
        State::Closed => closed(&env, &mut s, &text).await,
    }
}

async fn closed(env: &Env, s: &mut Session, text: &str) -> Run {
    // By id: the name is free once the session has left, and the sender may
    // be given it.
    let id = s.peer_id.clone();
    s.close();
    let mut peer = cells::sender(env).await;
    let r = peer
        .call(
            "send_message",
            serde_json::json!({"to_id": id, "message": text}),
        )
        .await;
    if r.is_error {
        return Run::Lost(format!("send_message: {}", r.text));
    }
    let from = s.model.len();
    let t0 = std::time::Instant::now();
    s.launch(env, &["--resume".into(), RESUMED_ID.into()]).await;
    if s.peer_id != id {
        return Run::Lost(format!(
            "the resumed session is a new peer ({} instead of {id})",
            s.peer_id
        ));
    }
    // Starting includes a first prompt ("Hello."): is the message in it (or
    // in the turn it starts)? Timed from the client's start.
    if let Ok(d) = cells::arrives(s, from, t0, text, Duration::from_secs(2)).await {
        return Run::AfterKeystroke(d);
    }
    Run::AfterKeystroke(cells::at_next_prompt(s, text).await)
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn reach_table() {
    let runs: usize = std::env::var("REACH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    let install = has_hooks();
    let mut rows = Vec::new();
    for cell in CELLS {
        let mut rungs = Vec::new();
        let mut pushed = Vec::new();
        let mut after_key = Vec::new();
        let mut lost = Vec::new();
        for _ in 0..runs {
            match run(cell, install).await {
                Run::Pushed(d) => {
                    rungs.push(d.rung);
                    pushed.push(d.took);
                }
                Run::AfterKeystroke(d) => {
                    rungs.push(d.rung);
                    after_key.push(d.took);
                }
                Run::Lost(why) => lost.push(why),
            }
        }
        rungs.sort();
        rungs.dedup();
        let how = if !pushed.is_empty() {
            format!(
                "{} ms after send_message, nobody typing",
                median(pushed.clone()).unwrap().as_millis()
            )
        } else if !after_key.is_empty() {
            format!(
                "waits for a keystroke; then {} ms after it",
                median(after_key.clone()).unwrap().as_millis()
            )
        } else {
            format!(
                "not delivered: {}",
                lost.first().cloned().unwrap_or_default()
            )
        };
        let row = format!(
            "| Claude Code {} | {} | {} | {} | {}/{} |",
            cell.version,
            cell.label,
            if rungs.is_empty() {
                "-".to_string()
            } else {
                rungs.join(", ")
            },
            how,
            pushed.len() + after_key.len(),
            runs
        );
        eprintln!("{row}");
        rows.push(row);
    }
    println!(
        "\nsetup: {} · runs per cell: {runs}\n",
        if install {
            "claude-peers install (MCP server + hooks)"
        } else {
            "MCP server only (this build has no `claude-peers hook`)"
        }
    );
    println!("| client | session | rung | time to the model (median) | reached |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
