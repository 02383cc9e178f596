//! The full-text index of message text, written once per committed batch.
//!
//! `messages_fts` is an external-content FTS5 table over `messages`. It is
//! not kept by an insert trigger: FTS5 writes its pending terms to disk at
//! every savepoint, and the writer runs each job of a batch in its own
//! savepoint, so a trigger wrote one small index segment per message (a
//! sixth of the broker's work per send, see BENCHMARKS.md). Instead the
//! writer calls [`Indexer::catch_up`] after the batch's jobs and before its
//! `COMMIT`: one `INSERT … SELECT` indexes every message stored since the
//! last batch, in the same transaction, so a message and its index entry
//! still commit (or vanish) together.
//!
//! `kv[`[`INDEXED_UPTO_KEY`]`]` holds the highest message id in the index.
//! Message ids only grow (`AUTOINCREMENT`), so "not yet indexed" is exactly
//! "id above the mark". The delete trigger (migration 5) removes index
//! entries only for ids at or below the mark, so a message stored and purged
//! within one batch never touches the index.

use rusqlite::{Connection, OptionalExtension};

/// `kv` key: the highest message id whose text is in `messages_fts`.
pub const INDEXED_UPTO_KEY: &str = "fts_indexed_upto";

/// The writer's view of the index mark.
#[derive(Debug)]
pub struct Indexer {
    /// Highest message id indexed by a committed transaction.
    upto: i64,
    /// The mark written by the current batch, not yet committed.
    pending: Option<i64>,
}

impl Indexer {
    /// Read the mark. A database without one (it cannot happen after
    /// migration 5, but the index must never hold a row twice) gets its
    /// index rebuilt from the messages and the mark set to the newest id.
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
        Ok(Self {
            upto,
            pending: None,
        })
    }

    /// Index every message stored since the last committed mark and move the
    /// mark, inside the caller's open transaction (outside any savepoint).
    pub fn catch_up(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.pending = None;
        let max = newest(conn)?;
        if max <= self.upto {
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
        ix.catch_up(&c).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
        assert_eq!(hits(&c, "session"), vec![a]);
        // The next batch indexes only what is new.
        c.execute_batch("BEGIN").unwrap();
        let b = store_message(&c, "another session");
        ix.catch_up(&c).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
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
        ix.catch_up(&c).unwrap();
        c.execute_batch("ROLLBACK").unwrap();
        ix.rolled_back();
        assert!(hits(&c, "lost").is_empty());
        c.execute_batch("BEGIN").unwrap();
        let kept = store_message(&c, "kept words");
        ix.catch_up(&c).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
        assert_eq!(hits(&c, "words"), vec![kept]);
        integrity(&c);
    }

    #[test]
    fn deleting_indexed_and_unindexed_messages_keeps_the_index_whole() {
        let c = db();
        let mut ix = Indexer::load(&c).unwrap();
        c.execute_batch("BEGIN").unwrap();
        let old = store_message(&c, "old words");
        ix.catch_up(&c).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
        // One batch: a new message, then both purged before the catch-up.
        c.execute_batch("BEGIN").unwrap();
        let fresh = store_message(&c, "fresh words");
        c.execute("DELETE FROM messages WHERE id IN (?1, ?2)", [old, fresh])
            .unwrap();
        ix.catch_up(&c).unwrap();
        c.execute_batch("COMMIT").unwrap();
        ix.committed();
        assert!(hits(&c, "words").is_empty());
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
