//! Where an MCP server keeps its peer token, so that a restart of the MCP server
//! under the same Claude Code session resumes the same peer.
//!
//! One file per Claude Code session in `<db>.sessions/` (mode 0700), named after
//! the session process's pid and start time (so a reused pid is another file),
//! holding `{"peer_id","token"}` with mode 0600. A running MCP server holds a lock
//! on its slot, so two MCP servers under one parent (a test harness, another MCP
//! host) never share an identity: the second takes the next slot.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A saved identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub peer_id: String,
    pub token: String,
}

/// How long a process waits for another one registering the same Claude Code
/// session (the `SessionStart` hook and the MCP server start together).
pub const REGISTER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The lock held while one process of the Claude Code session `(pid, start)`
/// registers, so the hook and the MCP server end up as one peer. Waits up to
/// [`REGISTER_LOCK_WAIT`]; `None` if it could not be had (go on without it).
pub async fn register_lock(dir: &Path, pid: u32, start: Option<u64>) -> Option<File> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .ok()?;
    let path = dir.join(format!("{pid}-{}.register-lock", start.unwrap_or(0)));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .ok()?;
    let deadline = std::time::Instant::now() + REGISTER_LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Some(file),
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(_) => return None,
        }
    }
}

/// The saved credentials of the Claude Code session `(pid, start)`: its first
/// slot that holds any.
pub fn find(dir: &Path, pid: u32, start: Option<u64>) -> Option<(PathBuf, Credentials)> {
    (1..=64).find_map(|n| {
        let path = file_for(dir, pid, start, n);
        load(&path).map(|c| (path, c))
    })
}

/// The file for the Claude Code session `(pid, start)`, slot `n` (1 = first).
pub fn file_for(dir: &Path, pid: u32, start: Option<u64>, n: u32) -> PathBuf {
    match n {
        1 => dir.join(format!("{pid}-{}.json", start.unwrap_or(0))),
        n => dir.join(format!("{pid}-{}-{n}.json", start.unwrap_or(0))),
    }
}

/// A slot held by this process: the credentials file to use, and the lock that
/// keeps other MCP servers off it.
#[derive(Debug)]
pub struct Claim {
    pub path: PathBuf,
    _lock: File,
}

/// Take the first free slot for the Claude Code session `(pid, start)`.
pub fn claim(dir: &Path, pid: u32, start: Option<u64>) -> std::io::Result<Claim> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    for n in 1..=64 {
        let path = file_for(dir, pid, start, n);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path.with_extension("lock"))?;
        match lock.try_lock() {
            Ok(()) => return Ok(Claim { path, _lock: lock }),
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "64 MCP servers already run under this process",
    ))
}

/// Read saved credentials, if there are any readable ones.
pub fn load(path: &Path) -> Option<Credentials> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

/// Save credentials (directory 0700, file 0600, written atomically).
pub fn save(path: &Path, creds: &Credentials) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string(creds)?.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// The identity of a Claude Code session by its session id, kept after the
/// process ends, so that the session resumed in a new process
/// (`claude --resume ID`) is the same peer. It names the process that last
/// used it: another live process never takes it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCredentials {
    pub peer_id: String,
    pub token: String,
    pub pid: u32,
    pub start: Option<u64>,
}

/// How long a session's identity file is kept after its last use (the
/// broker keeps a departed peer's identity as long).
pub const SESSION_FILE_TTL: std::time::Duration =
    std::time::Duration::from_millis(claude_peers_proto::limits::RETENTION_MS as u64);

/// Longest Claude Code session id used in a file name.
const MAX_SESSION_ID: usize = claude_peers_proto::limits::MAX_SESSION_ID_BYTES;

/// The file of Claude Code session `cc_session` (`None` for an id that is
/// not a plain token of letters, digits, `-` and `_`).
pub fn session_file(dir: &Path, cc_session: &str) -> Option<PathBuf> {
    let ok = !cc_session.is_empty()
        && cc_session.len() <= MAX_SESSION_ID
        && cc_session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| dir.join(format!("cc-{cc_session}.json")))
}

/// The saved identity of session `cc_session`, for the Claude Code process
/// `(pid, start)`: only if that file's last process is this one or is gone.
pub fn load_session(
    dir: &Path,
    cc_session: &str,
    pid: u32,
    start: Option<u64>,
) -> Option<Credentials> {
    let path = session_file(dir, cc_session)?;
    let s: SessionCredentials = serde_json::from_str(&fs::read_to_string(path).ok()?).ok()?;
    let mine = s.pid == pid && s.start == start;
    (mine || !claude_peers_proto::process::alive(s.pid, s.start)).then_some(Credentials {
        peer_id: s.peer_id,
        token: s.token,
    })
}

/// Save the identity of session `cc_session`, used by process `(pid, start)`.
pub fn save_session(
    dir: &Path,
    cc_session: &str,
    creds: &Credentials,
    pid: u32,
    start: Option<u64>,
) -> std::io::Result<()> {
    let Some(path) = session_file(dir, cc_session) else {
        return Ok(());
    };
    let s = SessionCredentials {
        peer_id: creds.peer_id.clone(),
        token: creds.token.clone(),
        pid,
        start,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(serde_json::to_string(&s)?.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Delete credentials files whose session process is gone, and session
/// identity files unused for [`SESSION_FILE_TTL`].
pub fn prune(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("cc-") {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > SESSION_FILE_TTL);
            if old {
                let _ = fs::remove_file(e.path());
            }
            continue;
        }
        let Some(stem) = name
            .strip_suffix(".json")
            .or_else(|| name.strip_suffix(".lock"))
            .or_else(|| name.strip_suffix(".register-lock"))
            .or_else(|| name.strip_suffix(".waiter-lock"))
            .or_else(|| name.strip_suffix(".turn"))
        else {
            continue;
        };
        let mut parts = stem.split('-');
        let (Some(pid), Some(start)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
            continue;
        };
        let start = (start != 0).then_some(start);
        if !claude_peers_proto::process::alive(pid, start) {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_privately_and_read_back() {
        let dir = std::env::temp_dir().join(format!("cp-creds-{}", std::process::id()));
        let path = file_for(&dir.join("sessions"), 42, Some(7), 1);
        let c = Credentials {
            peer_id: "abc".into(),
            token: "cpt_x".into(),
        };
        save(&path, &c).unwrap();
        assert_eq!(load(&path), Some(c));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_session_file_is_not_taken_over_by_another_live_process() {
        let dir = std::env::temp_dir().join(format!("cp-sess-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let c = Credentials {
            peer_id: "p".into(),
            token: "t".into(),
        };
        let me = std::process::id();
        let start = claude_peers_proto::process::start_time(me);
        save_session(&dir, "abc-1", &c, me, start).unwrap();
        assert_eq!(load_session(&dir, "abc-1", me, start), Some(c.clone()));
        // Another process asks while this one (the last user) lives: refused.
        assert_eq!(load_session(&dir, "abc-1", me + 1, None), None);
        // A process that is gone leaves it free.
        save_session(&dir, "abc-2", &c, u32::MAX - 7, Some(1)).unwrap();
        assert_eq!(load_session(&dir, "abc-2", me, start), Some(c));
        assert!(session_file(&dir, "../x").is_none());
        assert!(session_file(&dir, "").is_none());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn two_claims_under_one_parent_get_two_slots() {
        let dir = std::env::temp_dir().join(format!("cp-claim-{}", std::process::id()));
        let a = claim(&dir, 42, Some(7)).unwrap();
        let b = claim(&dir, 42, Some(7)).unwrap();
        assert_ne!(a.path, b.path);
        let a_path = a.path.clone();
        drop(a);
        let c = claim(&dir, 42, Some(7)).unwrap();
        assert_eq!(c.path, a_path, "a released slot is taken again");
        drop((b, c));
        let _ = fs::remove_dir_all(dir);
    }
}
