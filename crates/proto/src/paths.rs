//! Files that live beside the database: one rule for where each one is, used by
//! the broker (which creates them) and by the CLI and MCP server (which read them).
//!
//! For a database `~/.claude-peers.db`:
//! `~/.claude-peers.lock` (one broker per database), `~/.claude-peers.log` (log of
//! an auto-started broker), `~/.claude-peers.admin-token` (the operator's token,
//! mode 0600), `~/.claude-peers.sessions/` (each MCP server's peer token, 0700) and
//! `~/.claude-peers.stopped` (present while a broker stopped by `kill-broker` should
//! stay down: running sessions do not start a new one; a broker start removes it).

use std::path::{Path, PathBuf};

/// Paths derived from one database path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    pub db: PathBuf,
    pub lock: PathBuf,
    pub spawn_lock: PathBuf,
    pub log: PathBuf,
    pub admin_token: PathBuf,
    pub sessions: PathBuf,
    pub stopped: PathBuf,
}

impl StatePaths {
    pub fn for_db(db: &Path) -> Self {
        let with = |ext: &str| db.with_extension(ext);
        Self {
            db: db.to_path_buf(),
            lock: with("lock"),
            spawn_lock: with("spawn-lock"),
            log: with("log"),
            admin_token: with("admin-token"),
            sessions: with("sessions"),
            stopped: with("stopped"),
        }
    }
}

/// The default database: `$HOME/.claude-peers.db`.
pub fn default_db(home: Option<&Path>) -> PathBuf {
    home.unwrap_or_else(|| Path::new("."))
        .join(".claude-peers.db")
}

/// A file path as the broker compares it: a relative path is taken from `cwd`;
/// `.` and empty parts are dropped and `..` goes up, without touching the file
/// system (the file may not exist, and the broker may not see it). Returns
/// `None` for an empty path, or a relative one without an absolute `cwd`.
pub fn normalize(cwd: &str, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let joined = if raw.starts_with('/') {
        raw.to_string()
    } else if cwd.starts_with('/') {
        format!("{cwd}/{raw}")
    } else {
        return None;
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_of_the_database() {
        let p = StatePaths::for_db(Path::new("/home/u/.claude-peers.db"));
        assert_eq!(p.lock, Path::new("/home/u/.claude-peers.lock"));
        assert_eq!(
            p.admin_token,
            Path::new("/home/u/.claude-peers.admin-token")
        );
        assert_eq!(p.sessions, Path::new("/home/u/.claude-peers.sessions"));
        let q = StatePaths::for_db(Path::new("/tmp/x/peers"));
        assert_eq!(q.log, Path::new("/tmp/x/peers.log"));
    }

    #[test]
    fn paths_are_normalised_against_the_cwd() {
        assert_eq!(
            normalize("/w/app", "src/main.rs").unwrap(),
            "/w/app/src/main.rs"
        );
        assert_eq!(
            normalize("/w/app/", "./src//main.rs").unwrap(),
            "/w/app/src/main.rs"
        );
        assert_eq!(normalize("/w/app", "../lib/x.rs").unwrap(), "/w/lib/x.rs");
        assert_eq!(normalize("/w/app", "/etc/hosts/").unwrap(), "/etc/hosts");
        assert_eq!(normalize("/w/app", "/../../x").unwrap(), "/x");
        assert_eq!(normalize("/w", "  ").as_deref(), None);
        assert_eq!(normalize("relative", "x").as_deref(), None);
        assert_eq!(
            normalize("/w/app", "src/main.rs"),
            normalize("/w", "app/src/../src/main.rs"),
            "two spellings of one file compare equal"
        );
    }
}
