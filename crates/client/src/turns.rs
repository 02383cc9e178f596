//! Who started a Claude Code session's current turn (the person, or a peer's
//! message), kept for the peer-turn guard (`claude_peers_proto::consent`).
//!
//! One small file per Claude Code process in the sessions directory (mode
//! 0600, beside the saved credentials, named `<pid>-<start>.turn`), written
//! atomically by the session's own processes only: its `UserPromptSubmit` hook
//! (the person's prompt, or a prompt we queued), its `Stop` hook (the turn
//! ended; the waiter woke it for a peer), and its MCP server (a channel message
//! reached the idle session). It lives on the session's machine, not in the
//! broker, so the guard needs no broker round trip and still holds when the
//! broker is down or restarts. Removed with the credentials when the process is
//! gone (`credentials::prune`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use claude_peers_proto::consent::TurnOrigin;
use serde::{Deserialize, Serialize};

/// The state of one session's turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TurnState {
    /// Who started the current (or last) turn.
    #[serde(flatten)]
    pub origin: TurnOrigin,
    /// The last turn ended (`Stop`) and no new one began.
    #[serde(default)]
    pub idle: bool,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// The file of the Claude Code process `(pid, start)`.
pub fn file_for(dir: &Path, pid: u32, start: Option<u64>) -> PathBuf {
    dir.join(format!("{pid}-{}.turn", start.unwrap_or(0)))
}

/// The saved state; none saved yet is the default (the person's turn).
pub fn load(path: &Path) -> Result<TurnState, TurnError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TurnState::default()),
        Err(e) => {
            return Err(TurnError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    serde_json::from_str(&text).map_err(|e| TurnError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Save the state (directory 0700, file 0600, written atomically).
pub fn save(path: &Path, state: &TurnState) -> Result<(), TurnError> {
    let err = |e: std::io::Error| TurnError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let tmp = path.with_extension(format!("turn-tmp{}", std::process::id()));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        let text = serde_json::to_string(state).map_err(|e| err(std::io::Error::other(e)))?;
        f.write_all(text.as_bytes()).map_err(err)?;
    }
    fs::rename(&tmp, path).map_err(err)
}

/// Change the saved state with `f`; the new state. An unreadable file counts
/// as the default (it is replaced).
pub fn update(path: &Path, f: impl FnOnce(&mut TurnState)) -> Result<TurnState, TurnError> {
    let mut state = load(path).unwrap_or_default();
    f(&mut state);
    save(path, &state)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_peers_proto::consent::PeerCause;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saved_privately_and_read_back() {
        let dir = std::env::temp_dir().join(format!("cp-turns-{}", std::process::id()));
        let path = file_for(&dir, 42, Some(7));
        assert_eq!(load(&path).unwrap(), TurnState::default());
        let s = update(&path, |s| {
            s.origin = TurnOrigin::Peer {
                cause: PeerCause::Wake,
            };
        })
        .unwrap();
        assert_eq!(load(&path).unwrap(), s);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(&path, "not json").unwrap();
        assert!(load(&path).is_err());
        assert_eq!(
            update(&path, |s| s.idle = true).unwrap().origin,
            TurnOrigin::Person
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
