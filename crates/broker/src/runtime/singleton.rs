//! One broker per database: an exclusive lock on `<db>.lock`, held for the life
//! of the process (the OS releases it if the broker dies, even by SIGKILL). The
//! file records the owner's pid and port for the message a second broker prints
//! and for `kill-broker`. A standby broker (`--standby`) waits for the lock
//! instead ([`BrokerLock::wait`]) and takes over when its holder is gone.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;

use claude_peers_proto::paths::StatePaths;

use crate::error::Error;

/// Held while the broker runs.
#[derive(Debug)]
pub struct BrokerLock {
    file: File,
}

/// What the lock file says about its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub port: u16,
}

/// Parse the lock file's `pid port` line.
pub fn parse_owner(text: &str) -> Option<Owner> {
    let mut it = text.split_whitespace();
    Some(Owner {
        pid: it.next()?.parse().ok()?,
        port: it.next()?.parse().ok()?,
    })
}

impl BrokerLock {
    /// Take the lock for the database in `paths`, or explain who has it.
    pub fn acquire(paths: &StatePaths) -> Result<Self, Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&paths.lock)
            .map_err(|e| Error::Internal(format!("cannot open {}: {e}", paths.lock.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { file }),
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let who = match parse_owner(&text) {
                    Some(o) => format!("pid {}, port {}", o.pid, o.port),
                    None => "starting up".to_string(),
                };
                Err(Error::Internal(format!(
                    "another broker ({who}) already uses the database {}; \
                     stop it with `claude-peers kill-broker` or set CLAUDE_PEERS_DB",
                    paths.db.display()
                )))
            }
            Err(TryLockError::Error(e)) => Err(Error::Internal(format!(
                "cannot lock {}: {e}",
                paths.lock.display()
            ))),
        }
    }

    /// Wait until the lock is free, then take it (a standby broker: it
    /// blocks until the broker holding the database stops or dies).
    pub fn wait(paths: &StatePaths) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&paths.lock)
            .map_err(|e| Error::Internal(format!("cannot open {}: {e}", paths.lock.display())))?;
        file.lock()
            .map_err(|e| Error::Internal(format!("cannot lock {}: {e}", paths.lock.display())))?;
        Ok(Self { file })
    }

    /// Record the owner (after the port is bound).
    pub fn record(&mut self, port: u16) -> Result<(), Error> {
        let line = format!("{} {port}\n", std::process::id());
        self.file
            .set_len(0)
            .and_then(|_| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(line.as_bytes()))
            .and_then(|_| self.file.sync_all())
            .map_err(|e| Error::Internal(format!("cannot write the lock file: {e}")))
    }
}
