//! The full-text index of message text, kept behind the messages by at
//! most [`TAIL_LIMIT`] of them and brought up to date before every search.
//!
//! `messages_fts` is an external-content FTS5 table over `messages`. FTS5
//! writes a new index segment (and its structure record, averages and
//! page index) at every commit that touched it: about 25 µs of the writer's
//! time per commit plus a few per message, a sixth of a send (BENCHMARKS.md,
//! "The full-text index off the send path"). So a send does not index its
//! message. The writer indexes every message stored since the last mark
//! with one `INSERT … SELECT`, in the transaction of a batch, when:
//!
//! - the batch holds a search's [`Store::index_now`](super::Store::index_now)
//!   request: the search then reads an index that holds every message whose
//!   send was answered before the search began (the writer runs jobs in
//!   order), so search still sees a message as soon as its send is answered;
//! - the unindexed messages reach [`TAIL_LIMIT`] (bounds what a search may
//!   have to index first);
//! - the writer has had nothing to do for [`IDLE_AFTER`] (the usual case:
//!   the index is complete between bursts);
//! - the store opens (what a crash left unindexed).
//!
//! `kv[`[`INDEXED_UPTO_KEY`]`]` holds the highest message id in the index,
//! written in the same transaction as the index rows, so the index always
//! holds exactly the messages up to the mark, also after a crash. Message
//! ids only grow (`AUTOINCREMENT`), so "not yet indexed" is exactly "id
//! above the mark". The delete trigger (migration 5) removes index entries
//! only for ids at or below the mark, so purging an unindexed message never
//! touches the index.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

/// `kv` key: the highest message id whose text is in `messages_fts`.
pub const INDEXED_UPTO_KEY: &str = "fts_indexed_upto";

/// Unindexed messages after which the writer indexes them with the batch
/// that stored the last of them (≈ 2–4 ms of work: what a search may have
/// to wait for at most, besides the jobs queued before it).
pub const TAIL_LIMIT: i64 = 1024;

/// How long the writer waits for a job before it indexes what is left.
pub const IDLE_AFTER: Duration = Duration::from_millis(200);

/// The writer's view of the index mark.
#[derive(Debug)]
pub struct Indexer {
    /// Highest message id indexed by a committed transaction.
    upto: i64,
    /// The mark written by the current batch, not yet committed.
    pending: Option<i64>,
    /// The newest message id the last batch saw (committed or not): a hint
    /// that there is something to index when the writer is idle.
    newest: i64,
}

impl Indexer {
    /// Read the mark and index what is above it. A database without a mark
    /// (it cannot happen after migration 5, but the index must never hold a
    /// row twice) gets its index rebuilt from the messages.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let upto: Option<i64> = conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM kv WHERE key = ?1",
                [INDEXED_UPTO_KEY],
                |r| r.get(0),
            )
            .optional()?;
        let upto = match upto {
            Some(v) => v,
            None => {
                tracing::warn!("the full-text index has no mark; rebuilding it");
                let tx = conn.unchecked_transaction()?;
                tx.execute_batch("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")?;
                let max = newest(&tx)?;
                set_mark(&tx, max)?;
                tx.commit()?;
                max
            }
        };
        let mut ix = Self {
            upto,
            pending: None,
            newest: upto,
        };
        let tx = conn.unchecked_transaction()?;
        ix.catch_up(&tx, true)?;
        tx.commit()?;
        ix.committed();
        Ok(ix)
    }

    /// Inside the caller's open transaction (outside any savepoint): index
    /// every message stored since the committed mark and move the mark, if
    /// `now` (a search waits, or the writer is idle) or if they reach
    /// [`TAIL_LIMIT`].
    pub fn catch_up(&mut self, conn: &Connection, now: bool) -> rusqlite::Result<()> {
        self.pending = None;
        let max = newest(conn)?;
        self.newest = max;
        if max <= self.upto || (!now && max - self.upto < TAIL_LIMIT) {
            return Ok(());
        }
        conn.prepare_cached(
            "INSERT INTO messages_fts (rowid, text)
             SELECT id, text FROM messages WHERE id > ?1 AND id <= ?2 ORDER BY id",
        )?
        .execute([self.upto, max])?;
        set_mark(conn, max)?;
        self.pending = Some(max);
        Ok(())
    }

    /// Messages may be waiting to be indexed (the writer indexes them when
    /// it has been idle for [`IDLE_AFTER`]).
    pub fn behind(&self) -> bool {
        self.newest > self.upto
    }

    /// The batch committed: its mark is now the index's.
    pub fn committed(&mut self) {
        if let Some(m) = self.pending.take() {
            self.upto = m;
        }
    }

    /// The batch was rolled back: the committed mark stands.
    pub fn rolled_back(&mut self) {
        self.pending = None;
    }
}

fn newest(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(id), 0) FROM messages")?
        .query_row([], |r| r.get(0))
}

fn set_mark(conn: &Connection, upto: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)")?
        .execute(rusqlite::params![INDEXED_UPTO_KEY, upto.to_string()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::store::schema;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        schema::migrate(&mut c).unwrap();
        c
    }

    fn store_message(c: &Connection, text: &str) -> i64 {
        c.execute(
            "INSERT INTO messages (session_id, from_kind, from_id, from_name, text, sent_at)
             VALUES ('s', 'peer', 'p', 'p', ?1, 0)",
            [text],
        )
        .unwrap();
        c.last_insert_rowid()
    }

    fn hits(c: &Connection, word: &str) -> Vec<i64> {
        c.prepare("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([word], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// One committed batch as the writer runs it: `jobs`, then the catch-up
    /// (`now`: asked for, or idle), then `COMMIT`.
    fn batch<T>(c: &Connection, ix: &mut Indexer, now: bool, jobs: impl FnOnce() -> T) -> T {
        c.execute_batch("BEGIN").unwrap();
        let out = jobs();
        ix.catch_up(c, now).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
        out
    }

    fn integrity(c: &Connection) {
        c.execute_batch(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
        )
        .unwrap();
    }

    #[test]
    fn a_message_is_found_once_its_batch_caught_up() {
        let c = db();
        let mut ix = Indexer::load(&c).unwrap();
        c.execute_batch("BEGIN").unwrap();
        let a = store_message(&c, "the session api");
        assert!(
            hits(&c, "session").is_empty(),
            "not indexed before catch-up"
        );
        ix.catch_up(&c, true).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
        assert_eq!(hits(&c, "session"), vec![a]);
        // The next batch indexes only what is new.
        let b = batch(&c, &mut ix, true, || store_message(&c, "another session"));
        assert_eq!(hits(&c, "session"), vec![a, b]);
        integrity(&c);
        assert_eq!(Indexer::load(&c).unwrap().upto, b, "the mark is stored");
    }

    #[test]
    fn a_rolled_back_batch_leaves_the_mark_and_the_index() {
        let c = db();
        let mut ix = Indexer::load(&c).unwrap();
        c.execute_batch("BEGIN").unwrap();
        store_message(&c, "lost words");
        ix.catch_up(&c, true).unwrap();
        c.execute_batch("ROLLBACK").unwrap();
        ix.rolled_back();
        assert!(hits(&c, "lost").is_empty());
        let kept = batch(&c, &mut ix, true, || store_message(&c, "kept words"));
        assert_eq!(hits(&c, "words"), vec![kept]);
        integrity(&c);
    }

    #[test]
    fn deleting_indexed_and_unindexed_messages_keeps_the_index_whole() {
        let c = db();
        let mut ix = Indexer::load(&c).unwrap();
        let old = batch(&c, &mut ix, true, || store_message(&c, "old words"));
        // One batch: a new message, then both purged before the catch-up.
        batch(&c, &mut ix, true, || {
            let fresh = store_message(&c, "fresh words");
            c.execute("DELETE FROM messages WHERE id IN (?1, ?2)", [old, fresh])
                .unwrap();
        });
        assert!(hits(&c, "words").is_empty());
        integrity(&c);
    }

    #[test]
    fn a_batch_indexes_only_when_asked_or_at_the_tail_limit() {
        let c = db();
        let mut ix = Indexer::load(&c).unwrap();
        let first = batch(&c, &mut ix, false, || store_message(&c, "tail words"));
        assert!(hits(&c, "tail").is_empty(), "a send alone does not index");
        assert!(ix.behind(), "the idle writer knows there is work");
        // Up to the limit: the batch that reaches it indexes the whole tail.
        batch(&c, &mut ix, false, || {
            for _ in 1..TAIL_LIMIT - 1 {
                store_message(&c, "tail words");
            }
        });
        assert!(hits(&c, "tail").is_empty(), "one short of the limit");
        let last = batch(&c, &mut ix, false, || store_message(&c, "tail words"));
        let found = hits(&c, "tail");
        assert_eq!(found.len() as i64, TAIL_LIMIT);
        assert_eq!((found[0], *found.last().unwrap()), (first, last));
        assert!(!ix.behind());
        integrity(&c);
    }

    #[test]
    fn opening_indexes_what_a_crash_left_behind() {
        let c = db();
        let mut ix = Indexer::load(&c).unwrap();
        let a = batch(&c, &mut ix, false, || store_message(&c, "left behind"));
        assert!(hits(&c, "behind").is_empty());
        let ix = Indexer::load(&c).unwrap();
        assert_eq!(ix.upto, a);
        assert!(!ix.behind());
        assert_eq!(hits(&c, "behind"), vec![a]);
        integrity(&c);
    }

    #[test]
    fn a_missing_mark_rebuilds_the_index() {
        let c = db();
        let a = store_message(&c, "words before");
        c.execute("DELETE FROM kv WHERE key = ?1", [INDEXED_UPTO_KEY])
            .unwrap();
        let ix = Indexer::load(&c).unwrap();
        assert_eq!(ix.upto, a);
        assert_eq!(hits(&c, "before"), vec![a]);
        integrity(&c);
    }
}
