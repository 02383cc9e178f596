//! `doctor`: check every gate between "installed" and "a message arrives", and
//! for each failed one print the exact command that fixes it. Exit code 1 when
//! any gate fails.
//!
//! Gates, in order: the database's integrity; the broker answers (started the
//! way a session starts it when it is down); the port is owned by our broker
//! for this database; broker and binary are the same version (a broker left
//! from before an upgrade is named); a message round-trips through the broker
//! (pushed on a stream, as sessions receive them);
//! token and credential files are private; `claude-peers-mcp` beside this
//! binary is of the same version (else sessions serve in-process); and for each agent client found,
//! our MCP server is registered, the client's own listing command agrees, our
//! hooks are installed (where the client has them) and the client's version
//! supports what we use.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use claude_peers_client::autostart::{Probe, ensure_broker, probe, unreachable};
use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{Health, RegisterRequest, SendRequest};
use claude_peers_proto::stream::{ClientFrame, ServerFrame};
use claude_peers_setup::claude_code::{self, ClaudeCode};
use claude_peers_setup::{AgentClient, Host, Listed, all_clients};
use serde::Serialize;

use crate::cmd::setup::host;
use crate::ctx::Ctx;

/// How long the client's `--version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client's own listing command may take (it may start every server).
const LIST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the round trip may take.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Pass,
    Fail,
    /// Could not be checked here (says why); does not fail the run.
    Skip,
}

#[derive(Debug, Serialize)]
struct Gate {
    gate: String,
    outcome: Outcome,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Default)]
struct Gates(Vec<Gate>);

impl Gates {
    fn pass(&mut self, gate: &str, detail: impl Into<String>) {
        self.push(gate, Outcome::Pass, detail.into(), None);
    }
    fn fail(&mut self, gate: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(gate, Outcome::Fail, detail.into(), Some(fix.into()));
    }
    fn skip(&mut self, gate: &str, detail: impl Into<String>) {
        self.push(gate, Outcome::Skip, detail.into(), None);
    }
    fn push(&mut self, gate: &str, outcome: Outcome, detail: String, fix: Option<String>) {
        self.0.push(Gate {
            gate: gate.to_string(),
            outcome,
            detail,
            fix,
        });
    }
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    let mut gates = Gates::default();
    let host = host()?;
    broker_gates(ctx, &mut gates).await;
    permission_gates(ctx, &mut gates);
    mcp_binary_gate(&mut gates).await;
    client_gates(&host, &mut gates).await;

    let failed = gates
        .0
        .iter()
        .filter(|g| g.outcome == Outcome::Fail)
        .count();
    if ctx.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": failed == 0,
                "version": claude_peers_proto::VERSION,
                "gates": gates.0,
            }))?
        );
    } else {
        let width = gates.0.iter().map(|g| g.gate.len()).max().unwrap_or(0);
        for g in &gates.0 {
            let mark = match g.outcome {
                Outcome::Pass => "ok  ",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "skip",
            };
            println!("{mark} {:width$}  {}", g.gate, g.detail);
            if let Some(fix) = &g.fix {
                println!("     {:width$}  fix: {fix}", "");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} checks failed", gates.0.len());
    }
    Ok(())
}

fn shell_env(ctx: &Ctx) -> String {
    format!(
        "CLAUDE_PEERS_PORT={} CLAUDE_PEERS_DB={}",
        ctx.endpoint.port,
        claude_peers_setup::shell::quote(&ctx.endpoint.db.display().to_string())
    )
}

async fn broker_gates(ctx: &Ctx, gates: &mut Gates) {
    let paths = ctx.endpoint.paths();
    let db_ok = database_gate(&ctx.endpoint, gates);
    let port = ctx.endpoint.port;

    // The broker answers (started as a session would start it).
    let started;
    let health = match probe(&ctx.endpoint).await {
        Probe::Foreign(why) => {
            gates.fail(
                "port",
                format!("port {port} answers, but not as a claude-peers broker ({why})"),
                format!(
                    "stop the program on port {port} (`ss -ltnp 'sport = :{port}'` names it), or use another port everywhere: `export CLAUDE_PEERS_PORT=<free port>` in the shell that starts your agents"
                ),
            );
            gates.skip(
                "broker",
                "not checked: the port is taken by another program",
            );
            return;
        }
        Probe::Ours(h) => {
            started = false;
            h
        }
        Probe::Down if !db_ok => {
            gates.skip(
                "broker",
                "not started: the database failed its check (see above)",
            );
            return;
        }
        Probe::Down if !ctx.autostart => {
            gates.fail(
                "broker",
                format!("no broker answers: {}", unreachable(&ctx.endpoint).await),
                "start the brokers of CLAUDE_PEERS_BROKERS, or check the URLs and CLAUDE_PEERS_CA_FILE (docs/TEAM.md)",
            );
            return;
        }
        Probe::Down => match std::env::current_exe() {
            Ok(exe) => match ensure_broker(&ctx.endpoint, &exe).await {
                Ok(h) => {
                    started = true;
                    h
                }
                Err(e) => {
                    gates.fail(
                        "broker",
                        format!("the broker does not start: {e}"),
                        format!(
                            "run `{} claude-peers broker` in a terminal to see why (log: {})",
                            shell_env(ctx),
                            paths.log.display()
                        ),
                    );
                    return;
                }
            },
            Err(e) => {
                gates.fail(
                    "broker",
                    format!("cannot find this executable to start the broker: {e}"),
                    "reinstall claude-peers",
                );
                return;
            }
        },
    };
    let admin = ctx.admin().ok();
    let full: Option<Health> = match &admin {
        Some(a) => a.health().await.ok(),
        None => None,
    };
    gates.pass(
        "broker",
        format!(
            "answers at {}{}",
            ctx.endpoint.base_url(),
            if started {
                " (it was not running; started it as a session would)"
            } else {
                ""
            }
        ),
    );

    // Whether the broker relays permission prompts (informational: off is the default).
    gates.pass(
        "permission relay",
        if health.permission_relay {
            "on: sessions started from now on send their permission prompts to the dashboard and `claude-peers permissions`".to_string()
        } else {
            "off (the default): to answer permission prompts from the dashboard, start the broker with --permission-relay (CLAUDE_PEERS_PERMISSION_RELAY=1)".to_string()
        },
    );

    // The port is owned by our broker, serving this database.
    let theirs = full.as_ref().and_then(|h| h.db.clone());
    match (&full, theirs) {
        (Some(h), Some(db)) if same_file(&db, &ctx.endpoint.db) => gates.pass(
            "port",
            format!(
                "port {port} is served by our broker (pid {}) for {}",
                h.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                ctx.endpoint.db.display()
            ),
        ),
        (_, Some(db)) => gates.fail(
            "port",
            format!(
                "port {port} is served by a claude-peers broker of another database ({db})"
            ),
            format!(
                "use the same database as that broker (`export CLAUDE_PEERS_DB={db}`), or another port for this one (`export CLAUDE_PEERS_PORT=<free port>`)"
            ),
        ),
        (_, None) => gates.fail(
            "port",
            format!(
                "port {port} is served by a claude-peers broker that does not accept this database's admin token ({}): it serves another database",
                paths.admin_token.display()
            ),
            "point CLAUDE_PEERS_DB at that broker's database, or use another port for this one (`export CLAUDE_PEERS_PORT=<free port>`)".to_string(),
        ),
    }

    // Versions match, and the broker runs the installed binary.
    version_gate(&health, full.as_ref(), gates);

    // A message round-trips.
    match round_trip(&ctx.endpoint, admin.as_ref()).await {
        Ok(ms) => gates.pass(
            "round-trip",
            format!(
                "a message sent through the broker was pushed back on a session's stream in {ms} ms"
            ),
        ),
        Err(e) => gates.fail(
            "round-trip",
            format!("a message sent through the broker did not come back: {e}"),
            format!(
                "restart the broker: `claude-peers kill-broker --allow-restart`; if it persists, read {}",
                paths.log.display()
            ),
        ),
    }
}

fn version_gate(health: &Health, full: Option<&Health>, gates: &mut Gates) {
    let mine = claude_peers_proto::VERSION;
    let pid = full.and_then(|h| h.pid);
    let exe = pid.and_then(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok());
    let replaced = exe
        .as_ref()
        .is_some_and(|e| e.to_string_lossy().ends_with(" (deleted)"));
    // Running sessions start the new broker by themselves.
    let fix = "claude-peers kill-broker --allow-restart";
    let who = match pid {
        Some(p) => format!("the broker (pid {p})"),
        None => "the broker".to_string(),
    };
    if health.version != mine {
        gates.fail(
            "version",
            format!(
                "{who} runs version {}, this claude-peers is {mine}: a broker left from before an upgrade (stop it; sessions start the new one)",
                health.version
            ),
            fix,
        );
    } else if replaced {
        gates.fail(
            "version",
            format!(
                "{who} runs a binary that has since been replaced or deleted ({}): a broker left from before an upgrade (stop it; sessions start the new one)",
                exe.map(|e| e.display().to_string()).unwrap_or_default()
            ),
            fix,
        );
    } else {
        gates.pass(
            "version",
            format!("broker and this binary are both version {mine}"),
        );
    }
}

/// Open the database read-only and run SQLite's integrity check. Returns false
/// when it fails (a missing database passes: the broker creates it).
fn database_gate(endpoint: &Endpoint, gates: &mut Gates) -> bool {
    let db = &endpoint.db;
    if !db.exists() {
        gates.pass(
            "database",
            format!(
                "{} does not exist yet (the broker creates it)",
                db.display()
            ),
        );
        return true;
    }
    let fix = format!(
        "stop the broker (`claude-peers kill-broker`), move the damaged file aside (`mv {0} {0}.damaged`), and start again: a new database is created",
        claude_peers_setup::shell::quote(&db.display().to_string())
    );
    let result = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|c| {
        c.busy_timeout(Duration::from_secs(5))?;
        c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
    });
    match result {
        Ok(s) if s == "ok" => {
            gates.pass(
                "database",
                format!("{} passes the integrity check", db.display()),
            );
            true
        }
        Ok(s) => {
            gates.fail(
                "database",
                format!("{} fails the integrity check: {s}", db.display()),
                fix,
            );
            false
        }
        Err(e) => {
            gates.fail(
                "database",
                format!("{} cannot be read as a database: {e}", db.display()),
                fix,
            );
            false
        }
    }
}

/// Register a short-lived peer, open its stream as a session's MCP server
/// does, send it a message as the operator, wait for the broker to push it,
/// confirm it, and leave. Returns the milliseconds it took.
async fn round_trip(endpoint: &Endpoint, admin: Option<&BrokerClient>) -> Result<u128> {
    let Some(admin) = admin else {
        bail!("no admin token for this database");
    };
    let started = Instant::now();
    let anon = BrokerClient::new(endpoint, None);
    let reg = anon
        .register(
            &RegisterRequest {
                pid: std::process::id(),
                cwd: std::env::temp_dir().display().to_string(),
                summary: Some("claude-peers doctor: checking that messages round-trip".into()),
                ..Default::default()
            },
            None,
        )
        .await?;
    let me = BrokerClient::new(endpoint, reg.token.clone());
    let text = format!("doctor round-trip {}", std::process::id());
    let result = tokio::time::timeout(ROUND_TRIP_TIMEOUT, async {
        let token = reg.token.as_deref().unwrap_or_default();
        let mut stream = Stream::connect(endpoint, token)
            .await
            .map_err(anyhow::Error::msg)?;
        admin
            .send(&SendRequest {
                to: reg.peer.id.clone(),
                text: text.clone(),
                context: None,
                wait_ms: None,
                ..Default::default()
            })
            .await?;
        loop {
            match stream.next().await {
                Incoming::Frame(ServerFrame::Message { message, .. }) if message.text == text => {
                    stream
                        .send(&ClientFrame::Delivered {
                            ids: vec![message.id],
                            rung: None,
                        })
                        .await
                        .map_err(anyhow::Error::msg)?;
                    return Ok(started.elapsed().as_millis());
                }
                Incoming::Closed => bail!("the broker closed the stream"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "not pushed within {} s",
            ROUND_TRIP_TIMEOUT.as_secs()
        ))
    });
    let _ = me.leave(false).await;
    result
}

fn permission_gates(ctx: &Ctx, gates: &mut Gates) {
    let paths = ctx.endpoint.paths();
    let mut loose: Vec<(String, String)> = Vec::new();
    let mut check = |path: &Path, want: u32| {
        if let Ok(m) = std::fs::symlink_metadata(path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                loose.push((
                    format!("{} is mode {mode:o}", path.display()),
                    format!(
                        "chmod {want:o} {}",
                        claude_peers_setup::shell::quote(&path.display().to_string())
                    ),
                ));
            }
        }
    };
    check(&paths.admin_token, 0o600);
    check(&paths.sessions, 0o700);
    if let Ok(entries) = std::fs::read_dir(&paths.sessions) {
        for e in entries.flatten() {
            check(&e.path(), 0o600);
        }
    }
    if loose.is_empty() {
        gates.pass(
            "permissions",
            format!(
                "the admin token and session credentials ({}, {}) are private",
                paths.admin_token.display(),
                paths.sessions.display()
            ),
        );
    } else {
        let (what, fix): (Vec<_>, Vec<_>) = loose.into_iter().unzip();
        gates.fail(
            "permissions",
            format!("readable by others: {}", what.join("; ")),
            fix.join(" && "),
        );
    }
}

/// Which binary sessions' MCP servers run: `claude-peers-mcp` beside this one
/// when it is there and of the same version (see `claude_peers::mcp`). Absent
/// is fine (in-process); another version is a leftover of an upgrade.
async fn mcp_binary_gate(gates: &mut Gates) {
    use claude_peers::mcp::{LEAN_BINARY, VERSION};
    let gate = "mcp binary";
    let Ok(exe) = std::env::current_exe() else {
        gates.skip(gate, "cannot find this executable");
        return;
    };
    let lean = exe.with_file_name(LEAN_BINARY);
    if !lean.exists() {
        gates.pass(
            gate,
            format!(
                "{LEAN_BINARY} is not beside {}: sessions' MCP servers run in-process (≈ 3 MB more memory each)",
                exe.display()
            ),
        );
        return;
    }
    match version_output(&lean).await.split_whitespace().nth(1) {
        Some(v) if v == VERSION => gates.pass(
            gate,
            format!("sessions' MCP servers run {} ({v})", lean.display()),
        ),
        other => gates.fail(
            gate,
            format!(
                "{} is {}, this claude-peers is {VERSION}: sessions' MCP servers run in-process",
                lean.display(),
                other.map_or("not answering --version".to_string(), |v| format!(
                    "version {v}"
                ))
            ),
            format!(
                "cargo install --path crates/cli (installs both binaries), or remove {}",
                lean.display()
            ),
        ),
    }
}

async fn client_gates(host: &Host, gates: &mut Gates) {
    let found: Vec<&dyn AgentClient> = all_clients()
        .iter()
        .copied()
        .filter(|c| c.detect(host))
        .collect();
    if found.is_empty() {
        gates.fail(
            "clients",
            format!(
                "no agent client found on this machine (looked for: {})",
                all_clients()
                    .iter()
                    .map(|c| c.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "install Claude Code, then `claude-peers install`",
        );
        return;
    }
    for client in found {
        let id = client.id();
        let fix = format!("claude-peers install --client {id}");
        let status = match client.status(host) {
            Ok(s) => s,
            Err(e) => {
                gates.fail(&format!("{id}: config"), e.to_string(), "fix the file by hand (it is not valid JSON), then run the fix of the other gates");
                continue;
            }
        };
        match (&status.server, &status.server_problem) {
            (None, _) => gates.fail(
                &format!("{id}: server"),
                "the claude-peers MCP server is not registered",
                fix.clone(),
            ),
            (Some(place), Some(problem)) => gates.fail(
                &format!("{id}: server"),
                format!("registered in {place}, but {problem}"),
                fix.clone(),
            ),
            (Some(place), None) => {
                gates.pass(&format!("{id}: server"), format!("registered in {place}"))
            }
        }
        if status.has_hooks {
            if status.hooks_missing.is_empty() {
                gates.pass(&format!("{id}: hooks"), "all claude-peers hooks installed");
            } else {
                gates.fail(
                    &format!("{id}: hooks"),
                    format!(
                        "missing or not as install writes them: {}",
                        status.hooks_missing.join(", ")
                    ),
                    fix.clone(),
                );
            }
        }
        if status.server.is_some() {
            listed_gate(host, client, gates).await;
        }
        for note in &status.notes {
            gates.skip(&format!("{id}: note"), note.clone());
        }
        if id == "claude-code" {
            claude_version_gate(host, gates).await;
        }
    }
}

/// The client's own listing command agrees: our server is listed (and, where
/// the client connects when listing, connected).
async fn listed_gate(host: &Host, client: &dyn AgentClient, gates: &mut Gates) {
    let id = client.id();
    let gate = format!("{id}: listed");
    let Some(bin) = host.which(client.command()) else {
        gates.skip(
            &gate,
            format!(
                "`{}` is not on PATH; its own list was not checked",
                client.command()
            ),
        );
        return;
    };
    let list = client.list_command();
    let shown = format!("{} {}", client.command(), list.args.join(" "));
    let out = tokio::time::timeout(
        LIST_TIMEOUT,
        tokio::process::Command::new(&bin)
            .args(list.args)
            .current_dir(&host.cwd)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await;
    let text = match out {
        Ok(Ok(o)) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Ok(Err(e)) => {
            gates.fail(
                &gate,
                format!("`{shown}` did not run: {e}"),
                format!("run `{shown}` by hand"),
            );
            return;
        }
        Err(_) => {
            gates.fail(
                &gate,
                format!(
                    "`{shown}` did not finish within {} s",
                    LIST_TIMEOUT.as_secs()
                ),
                format!("run `{shown}` by hand"),
            );
            return;
        }
    };
    match (list.read)(&text) {
        Listed::Connected(line) => gates.pass(&gate, format!("`{shown}`: {line}")),
        Listed::Failed(line) => gates.fail(
            &gate,
            format!("`{shown}` lists claude-peers but cannot connect: {line}"),
            "run `claude-peers mcp` by hand (with the env of the entry) to see why it exits; `claude-peers doctor` in the project directory",
        ),
        Listed::Missing => gates.fail(
            &gate,
            format!("`{shown}` does not list claude-peers here"),
            format!("claude-peers install --client {id}"),
        ),
    }
}

/// What `bin --version` prints on stdout (empty when it fails or takes longer
/// than [`VERSION_TIMEOUT`]).
async fn version_output(bin: &Path) -> String {
    let out = tokio::time::timeout(
        VERSION_TIMEOUT,
        tokio::process::Command::new(bin)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await;
    match out {
        Ok(Ok(o)) => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => String::new(),
    }
}

async fn claude_version_gate(host: &Host, gates: &mut Gates) {
    let gate = "claude-code: version";
    let Some(bin) = host.which(ClaudeCode.command()) else {
        gates.skip(gate, "`claude` is not on PATH; its version was not checked");
        return;
    };
    let text = version_output(&bin).await;
    let (a, b, c) = claude_code::MIN_VERSION;
    match claude_code::parse_version(&text) {
        Some(v) if v >= claude_code::MIN_VERSION => gates.pass(
            gate,
            format!(
                "Claude Code {}.{}.{} ({}) supports the channels and hooks claude-peers uses",
                v.0,
                v.1,
                v.2,
                bin.display()
            ),
        ),
        Some(v) => gates.fail(
            gate,
            format!(
                "Claude Code {}.{}.{} ({}) is older than {a}.{b}.{c}, the oldest verified with claude-peers' channels and hooks",
                v.0,
                v.1,
                v.2,
                bin.display()
            ),
            "claude update",
        ),
        None => gates.fail(
            gate,
            format!(
                "`{} --version` did not print a version ({:?})",
                bin.display(),
                text.trim()
            ),
            "reinstall Claude Code, then `claude update`",
        ),
    }
}

fn same_file(a: &str, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => Path::new(a) == b,
    }
}
