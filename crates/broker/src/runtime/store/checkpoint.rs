//! WAL checkpoints off the writer thread.
//!
//! SQLite's automatic checkpoint runs inside `COMMIT` on the committing
//! connection: every [`CHECKPOINT_PAGES`] pages of WAL the writer stopped to
//! copy them into the database file and `fsync` it, and every send waiting
//! behind that batch waited too (the periodic stall in the latency tail).
//! Here the writer's WAL hook only wakes a checkpoint thread with its own
//! connection, which runs a `PASSIVE` checkpoint while the writer goes on
//! appending (WAL allows one checkpointer beside one writer). Durability is
//! unchanged: a commit is durable in the WAL (`synchronous=NORMAL`) whether
//! or not it has been copied yet.
//!
//! A passive checkpoint cannot restart the WAL while writes keep coming, so
//! under a sustained burst the file could grow; past [`WAL_LIMIT_PAGES`] the
//! writer checkpoints itself, as SQLite would, which bounds it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;

/// New WAL pages after which the checkpoint thread is woken (SQLite's
/// default auto-checkpoint threshold, ≈ 4 MB of 4 KiB pages).
pub const CHECKPOINT_PAGES: i32 = 1000;
/// WAL pages after which the writer checkpoints in line (≈ 16 MB): the
/// thread has copied most of them by then, so this is short.
pub const WAL_LIMIT_PAGES: i32 = 4 * CHECKPOINT_PAGES;
/// When a checkpoint could not copy everything (commits kept coming), the
/// next one runs after this long even if the writer has not woken it.
pub const CATCH_UP_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// How far the checkpoint thread has got.
#[derive(Debug, Default)]
pub struct Progress {
    /// Pages of the current WAL already in the database file.
    copied: AtomicI32,
    /// The WAL is wholly copied and the writer has added nothing for a while.
    caught_up: AtomicBool,
}

impl Progress {
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed)
    }
}

/// Start the checkpoint thread for the database at `path` and hand the
/// writer's checkpoints to it.
pub fn start(path: &Path, writer: &mut Connection) -> crate::error::Result<Arc<Progress>> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    let progress = Arc::new(Progress::default());
    let mine = progress.clone();
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            // The last checkpoint's (WAL pages, pages copied) while the
            // writer may still be adding to the WAL.
            let mut last: Option<(i32, i32)> = None;
            loop {
                // Woken by the writer; or, until two checkpoints in a row
                // find the whole WAL copied and nothing new, again shortly:
                // a WAL copied to its end lets the writer's next commit
                // restart it from the beginning instead of growing it.
                let next = match last {
                    Some(_) => woken.recv_timeout(CATCH_UP_AFTER),
                    None => woken
                        .recv()
                        .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                };
                if next == Err(mpsc::RecvTimeoutError::Disconnected) {
                    break;
                }
                match passive(&conn) {
                    Ok((log, done)) => {
                        let settled = log == done && last == Some((log, done));
                        last = (!settled).then_some((log, done));
                        mine.copied.store(done, Ordering::Relaxed);
                        mine.caught_up.store(settled, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        })
        .map_err(|e| {
            crate::error::Error::Internal(format!("cannot start the checkpoint thread: {e}"))
        })?;
    let seen = progress.clone();
    writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
        let mut done = seen.copied.load(Ordering::Relaxed);
        if pages < done {
            // The WAL restarted from its beginning since that checkpoint.
            done = 0;
            seen.copied.store(0, Ordering::Relaxed);
        }
        match on_commit(pages, done) {
            OnCommit::Nothing => {}
            // Already woken (a checkpoint pending or running): nothing to add.
            OnCommit::Wake => {
                let _ = wake.try_send(());
            }
            // Best effort, like SQLite's own auto-checkpoint: a busy
            // checkpoint never fails the commit that triggered it.
            OnCommit::InLine => match wal.checkpoint() {
                Ok(()) => seen.copied.store(pages, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, pages, "in-line WAL checkpoint failed"),
            },
        }
        Ok(())
    }))?;
    Ok(progress)
}

/// What the writer does after a commit that left `pages` pages in the WAL,
/// `copied` of them already in the database file.
#[derive(Debug, PartialEq, Eq)]
enum OnCommit {
    Nothing,
    Wake,
    InLine,
}

fn on_commit(pages: i32, copied: i32) -> OnCommit {
    if pages >= WAL_LIMIT_PAGES {
        OnCommit::InLine
    } else if pages - copied >= CHECKPOINT_PAGES {
        // Only new pages count: waking the thread when there is nothing to
        // copy would keep a checkpoint running, and a running checkpoint
        // stops the writer from restarting the WAL at its beginning.
        OnCommit::Wake
    } else {
        OnCommit::Nothing
    }
}

/// One passive checkpoint: copies what it can without waiting for anyone.
/// Returns the pages in the WAL and how many of them are now in the
/// database file.
fn passive(conn: &Connection) -> rusqlite::Result<(i32, i32)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_pages(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("t.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
            / 4096
    }

    #[test]
    fn the_checkpoint_thread_copies_the_wal_and_the_writer_restarts_it() {
        let dir =
            std::env::temp_dir().join(format!("cp-ckpt-{}", crate::runtime::ids::short_id(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let mut w = Connection::open(&path).unwrap();
        w.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .unwrap();
        w.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let progress = start(&path, &mut w).unwrap();
        let blob = vec![7u8; 3000];
        let insert = |w: &Connection| w.execute("INSERT INTO t VALUES (?1)", [&blob]).unwrap();
        // Past the wake-up threshold, below the writer's own limit.
        while wal_pages(&dir) < CHECKPOINT_PAGES as u64 + 50 {
            insert(&w);
        }
        // The thread copies the whole WAL into the database file by itself.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !progress.caught_up() {
            assert!(
                std::time::Instant::now() < deadline,
                "the checkpoint thread never copied the WAL"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Once it has caught up, the next commits reuse the WAL from its
        // beginning: its size stops growing.
        let before = wal_pages(&dir);
        for _ in 0..20 {
            insert(&w);
        }
        assert!(
            wal_pages(&dir) <= before,
            "the WAL was not reused ({} pages, was {before})",
            wal_pages(&dir)
        );
        drop(w);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_new_pages_wake_the_thread_and_the_writer_steps_in_at_the_limit() {
        assert_eq!(on_commit(CHECKPOINT_PAGES - 1, 0), OnCommit::Nothing);
        assert_eq!(on_commit(CHECKPOINT_PAGES, 0), OnCommit::Wake);
        assert_eq!(
            on_commit(CHECKPOINT_PAGES + 10, CHECKPOINT_PAGES),
            OnCommit::Nothing
        );
        assert_eq!(
            on_commit(2 * CHECKPOINT_PAGES, CHECKPOINT_PAGES),
            OnCommit::Wake
        );
        assert_eq!(
            on_commit(WAL_LIMIT_PAGES, WAL_LIMIT_PAGES - 1),
            OnCommit::InLine
        );
    }
}
