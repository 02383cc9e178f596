//! Find the broker, or start one.
//!
//! The first session that needs a broker starts `claude-peers broker` in the
//! background, detached from its terminal, logging to `<db>.log`. When several
//! sessions start at the same moment, a file lock (`<db>.spawn-lock`) lets one
//! of them start it while the others wait and find it running; the broker's own
//! database lock is the last word, so there is never more than one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use claude_peers_proto::SERVICE;
use claude_peers_proto::api::Health;

use crate::Endpoint;
use crate::http::{BrokerClient, ClientError};

/// How long to wait for a started broker to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What answers on the broker's port.
#[derive(Debug)]
pub enum Probe {
    /// A claude-peers broker.
    Ours(Health),
    /// Nothing.
    Down,
    /// Something else.
    Foreign(String),
}

/// Ask `/health` who is there.
pub async fn probe(endpoint: &Endpoint) -> Probe {
    let client = BrokerClient::with_timeout(endpoint, None, Duration::from_secs(2));
    match client.health().await {
        Ok(h) if h.service == SERVICE => Probe::Ours(h),
        Ok(h) => Probe::Foreign(format!("it says it is {:?}", h.service)),
        Err(ClientError::Unreachable { .. }) => Probe::Down,
        Err(e) => Probe::Foreign(e.to_string()),
    }
}

/// Whether the local broker of `endpoint` was stopped by `kill-broker` and
/// has not run since: a session that was already connected then waits for a
/// person to start it instead of starting it itself.
pub fn stopped_on_purpose(endpoint: &Endpoint) -> bool {
    endpoint.is_local() && endpoint.paths().stopped.exists()
}

/// Why the broker at `endpoint` cannot be reached, for people.
pub async fn unreachable(endpoint: &Endpoint) -> String {
    let client = BrokerClient::with_timeout(endpoint, None, Duration::from_secs(2));
    match client.health().await {
        Err(e) => e.to_string(),
        Ok(_) => format!("the broker at {} answers again", endpoint.base_url()),
    }
}

/// Make sure a broker answers at `endpoint`, starting `exe broker` if needed.
pub async fn ensure_broker(endpoint: &Endpoint, exe: &Path) -> Result<Health, String> {
    match probe(endpoint).await {
        Probe::Ours(h) => return Ok(h),
        Probe::Foreign(why) => {
            return Err(format!(
                "port {} answers, but not as a claude-peers broker ({why}); set CLAUDE_PEERS_PORT to a free port",
                endpoint.port
            ));
        }
        Probe::Down => {}
    }
    if !endpoint.is_local() {
        return Err(unreachable(endpoint).await);
    }
    let paths = endpoint.paths();
    if let Some(dir) = paths.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let lock_path = paths.spawn_lock.clone();
    let guard = tokio::task::spawn_blocking(move || take_lock(&lock_path, START_TIMEOUT))
        .await
        .map_err(|e| format!("spawn lock task failed: {e}"))??;
    // Someone may have started it while we waited for the lock.
    if let Probe::Ours(h) = probe(endpoint).await {
        drop(guard);
        return Ok(h);
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&paths.log)
        .map_err(|e| format!("cannot open the broker log {}: {e}", paths.log.display()))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let mut cmd = Command::new(exe);
    cmd.arg("broker")
        .arg("--port")
        .arg(endpoint.port.to_string())
        .arg("--db")
        .arg(&paths.db)
        .arg("--spawned")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    // SAFETY: setsid is async-signal-safe; it detaches the broker from the
    // session's terminal so closing that terminal does not stop it.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {} broker: {e}", exe.display()))?;
    tracing::info!(pid = child.id(), log = %paths.log.display(), "started a broker");

    let deadline = Instant::now() + START_TIMEOUT;
    let result = loop {
        if let Probe::Ours(h) = probe(endpoint).await {
            break Ok(h);
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It exited: maybe another broker won the race; look once more.
            if let Probe::Ours(h) = probe(endpoint).await {
                break Ok(h);
            }
            break Err(format!(
                "the broker exited ({status}) before answering; its log says:\n{}",
                log_tail(&paths.log, log_start)
            ));
        }
        if Instant::now() > deadline {
            break Err(format!(
                "the broker did not answer within {} s; see {}",
                START_TIMEOUT.as_secs(),
                paths.log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    drop(guard);
    // Reap the child if it ever exits while we run.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    result
}

/// Take an exclusive lock on `path`, waiting up to `timeout`.
fn take_lock(path: &Path, timeout: Duration) -> Result<File, String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(TryLockError::WouldBlock) => {
                return Err(format!("timed out waiting for {}", path.display()));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
    }
}

fn log_tail(path: &Path, from: u64) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
