//! The store: one writer thread, a small pool of readers, over SQLite (the
//! embedded default) or PostgreSQL (several brokers on one database). The
//! domain code is the same for both: it runs SQL through [`sql`].
//!
//! Every change goes through [`Store::write`]: the closure runs on the writer
//! thread inside a transaction. Closures that arrive together share one commit
//! (group commit), each inside its own savepoint so one failure does not undo the
//! others (on PostgreSQL the savepoints and the statements whose answer nobody
//! waits for travel with the next answered statement: [`pg`]). A closure that
//! makes every check before its first change ([`Store::write_checked`], a
//! send) runs without a savepoint on SQLite, where one costs a copy of each
//! page the job touches: if it fails after all having changed something,
//! the whole batch is undone and every job in it answered with an error. Nobody hears of a change before it is committed: the caller's answer
//! and the change's [`Effect`]s (pushes to streams, dashboard events) are released
//! only after `COMMIT` returns. WAL with `synchronous=NORMAL` makes a committed
//! change survive a crash of the broker process.
//!
//! Two things the writer does besides the jobs, both to keep a batch short:
//! the full-text index is brought up to date in bulk, before a search reads
//! it, when it falls [`fts::TAIL_LIMIT`] messages behind, or when the writer
//! is idle ([`fts`]), and WAL checkpoints run on their own thread
//! ([`checkpoint`]). The writer writes each WAL frame with one system call
//! ([`walvfs`]).

pub mod announce;
pub mod checkpoint;
pub mod dialect;
pub mod fts;
pub mod pg;
pub mod schema;
pub mod sql;
pub mod walvfs;

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::OpenFlags;

pub use sql::Connection;
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::runtime::hub::Effect;

/// Most closures committed together.
const MAX_BATCH: usize = 512;
/// Read connections kept open (a read beyond them opens a connection and
/// closes it afterwards, losing its prepared statements).
const READERS: usize = 8;
/// Prepared statements kept per connection: more than the broker has, so
/// none is ever parsed twice.
const STATEMENT_CACHE: usize = 512;

/// The pool of read connections. The last [`Store`] may be dropped on an
/// async worker (at shutdown), where a PostgreSQL connection cannot be
/// closed (it runs a runtime of its own): the connections are closed on a
/// thread of their own.
#[derive(Default)]
struct Readers(Mutex<Vec<Connection>>);

impl Drop for Readers {
    fn drop(&mut self) {
        let conns = std::mem::take(self.0.get_mut().unwrap_or_else(|e| e.into_inner()));
        if conns.is_empty() {
            return;
        }
        if let Ok(closer) = std::thread::Builder::new()
            .name("store-readers-close".into())
            .spawn(move || drop(conns))
        {
            let _ = closer.join();
        }
    }
}

/// What a write closure sees: the connection inside the transaction, the time of
/// the batch, and where to put the effects to release after commit.
pub struct Tx<'a> {
    pub conn: &'a Connection,
    pub now: i64,
    effects: &'a mut Vec<Effect>,
}

impl Tx<'_> {
    /// Release `effect` once this transaction has committed.
    pub fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }
}

/// How a job's batch ended, for its answer.
enum Outcome<'a> {
    /// The batch committed (a job that failed answers with its own error).
    Committed,
    /// The commit failed with this message: nothing of the batch stays.
    CommitFailed(&'a str),
    /// A deferred statement of the job failed after it had returned (in a
    /// later job's pipeline, on PostgreSQL): the job alone was undone.
    Undone(sql::Error),
}

type Reply = Box<dyn FnOnce(Outcome<'_>) + Send>;
type Sink = Arc<dyn Fn(Vec<Effect>) + Send + Sync>;

/// One closure waiting for the writer.
trait Job: Send {
    /// Run inside the batch; say whether it succeeded and how to answer once the
    /// batch's fate is known.
    fn run(self: Box<Self>, t: &mut Tx<'_>) -> (bool, Reply);
    /// The batch could not even start: answer with this error.
    fn fail(self: Box<Self>, msg: &str);
    /// The batch must bring the full-text index up to date before it commits.
    fn wants_index(&self) -> bool {
        false
    }
    /// How a failure of this job is undone.
    fn undo(&self) -> Undo {
        Undo::Savepoint
    }
}

/// How a failed job's changes are undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// Its own savepoint, rolled back: the rest of the batch commits.
    Savepoint,
    /// The job checks everything before its first change
    /// ([`Store::write_checked`]): on SQLite no savepoint; a failure that
    /// changed nothing leaves the batch alone, one after a change undoes the
    /// whole batch. On PostgreSQL a savepoint costs no round trip and is
    /// kept.
    Batch,
}

struct WriteJob<F, T> {
    f: F,
    reply: oneshot::Sender<Result<T>>,
    undo: Undo,
    /// Its batch brings the full-text index up to date before it commits
    /// (a search's request: [`Store::index_now`]).
    index: bool,
}

impl<F, T> Job for WriteJob<F, T>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
{
    fn run(self: Box<Self>, t: &mut Tx<'_>) -> (bool, Reply) {
        let WriteJob { f, reply, .. } = *self;
        // Its deferred statements may still be waiting: they travel with
        // the next job's (`run_batch`), which tells if one failed.
        let out = f(t);
        let ok = out.is_ok();
        let answer: Reply = Box::new(move |outcome: Outcome<'_>| {
            let out = match outcome {
                Outcome::CommitFailed(e) if ok => {
                    Err(Error::Internal(format!("commit failed: {e}")))
                }
                Outcome::Undone(e) => Err(e.into()),
                _ => out,
            };
            let _ = reply.send(out);
        });
        (ok, answer)
    }

    fn fail(self: Box<Self>, msg: &str) {
        let _ = self.reply.send(Err(Error::Internal(format!(
            "cannot begin a transaction: {msg}"
        ))));
    }

    fn undo(&self) -> Undo {
        self.undo
    }

    fn wants_index(&self) -> bool {
        self.index
    }
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::SyncSender<Box<dyn Job>>,
    readers: Arc<Readers>,
    source: Arc<Source>,
}

/// Where a reader connects.
enum Source {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Source {
    fn open_reader(&self) -> Result<Connection> {
        match self {
            Source::Sqlite(path) => {
                let c = rusqlite::Connection::open_with_flags(
                    path.as_path(),
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c)?;
                Ok(Connection::sqlite(c))
            }
            Source::Postgres(url) => Ok(Connection::postgres(url)?),
        }
    }
}

fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every statement is prepared once and kept (the default cache of 16 is
    // smaller than the broker's set of statements, and parsing SQL again on
    // each call costs more than running it).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    Ok(())
}

impl Store {
    /// Open (creating and migrating if needed) the database at `path` and start
    /// the writer thread. `sink` receives each commit's effects, in commit order.
    pub fn open(path: &Path, sink: Sink) -> Result<Self> {
        let mut conn = match walvfs::register() {
            Ok(()) => rusqlite::Connection::open_with_flags_and_vfs(
                path,
                OpenFlags::default(),
                walvfs::NAME,
            )?,
            Err(rc) => {
                tracing::warn!(
                    code = rc,
                    "cannot register the WAL VFS; writing with SQLite's own"
                );
                rusqlite::Connection::open(path)?
            }
        };
        configure(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Internal(format!(
                "could not put {} in WAL mode (got {mode})",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Each job's savepoint keeps the pages it changes in a sub-journal;
        // past 64 KiB SQLite moves that to a temporary file (an open, writes
        // and a close inside the batch). In memory it stays in memory.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        schema::migrate(&mut conn)?;
        let indexer = fts::Indexer::load(&conn)?;
        checkpoint::start(path, &mut conn)?;

        let (jobs, rx) = mpsc::sync_channel::<Box<dyn Job>>(8192);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(Connection::sqlite(conn), Some(indexer), rx, sink, None))
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            jobs,
            readers: Arc::new(Readers::default()),
            source: Arc::new(Source::Sqlite(path.to_path_buf())),
        })
    }

    /// Connect to the PostgreSQL database at `url`, migrate it (under an
    /// advisory lock, so brokers starting together migrate once) and start
    /// the writer thread. `sink` receives each commit's effects, in commit
    /// order.
    ///
    /// `team` names this broker to the others: each batch is serialised
    /// with theirs and announces its effects to them (see [`run_batch`]).
    pub async fn open_postgres(
        url: &str,
        sink: Sink,
        team: Arc<crate::runtime::team::Team>,
    ) -> Result<Self> {
        let (ready, started) = oneshot::channel::<Result<()>>();
        let (jobs, rx) = mpsc::sync_channel::<Box<dyn Job>>(8192);
        let target = url.to_string();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let opened = Connection::postgres(&target)
                    .map_err(Error::from)
                    .and_then(|mut c| schema::migrate_store(&mut c).map(|_| c));
                match opened {
                    Ok(conn) => {
                        let _ = ready.send(Ok(()));
                        writer_loop(conn, None, rx, sink, Some(team));
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        started
            .await
            .map_err(|_| Error::Internal("the store writer stopped".into()))??;
        Ok(Self {
            jobs,
            readers: Arc::new(Readers::default()),
            source: Arc::new(Source::Postgres(url.to_string())),
        })
    }

    /// Run `f` on the writer thread in a transaction; its result is returned once
    /// the transaction has committed. If `f` fails, its changes (and effects) are
    /// undone and the error is returned.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.write_undone(f, Undo::Savepoint).await
    }

    /// [`Store::write`] for a closure that makes every check (and so every
    /// failure it expects) before its first change, like a send: on SQLite
    /// it runs without a savepoint of its own. If it fails all the same
    /// after changing something (an I/O error, a broken constraint), the
    /// whole batch it ran in is undone, and every job in it answered with an
    /// error: nothing of it commits, nothing is announced.
    pub async fn write_checked<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        self.write_undone(f, Undo::Batch).await
    }

    async fn write_undone<T, F>(&self, f: F, undo: Undo) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel::<Result<T>>();
        let job = WriteJob {
            f,
            reply,
            undo,
            index: false,
        };
        self.submit(Box::new(job), rx).await
    }

    /// Queue `job` for the writer and wait for its answer on `rx`.
    async fn submit<T>(&self, job: Box<dyn Job>, rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => Error::Api(claude_peers_proto::ApiError::new(
                claude_peers_proto::ErrorCode::Unavailable,
                "the broker is overloaded (write queue full); retry shortly",
            )),
            mpsc::TrySendError::Disconnected(_) => Error::Internal("the store is closed".into()),
        })?;
        rx.await
            .map_err(|_| Error::Internal("the store writer stopped".into()))?
    }

    /// Bring the full-text index up to date with every message committed
    /// so far; a search calls this first, so it finds every message whose
    /// send was answered before it (see [`fts`]). On PostgreSQL, which keeps
    /// its index itself, there is nothing to wait for.
    pub async fn index_now(&self) -> Result<()> {
        if matches!(*self.source, Source::Postgres(_)) {
            return Ok(());
        }
        let (reply, rx) = oneshot::channel::<Result<()>>();
        let job = WriteJob {
            f: |_: &mut Tx<'_>| Ok(()),
            reply,
            undo: Undo::Savepoint,
            index: true,
        };
        self.submit(Box::new(job), rx).await.map_err(|e| match e {
            Error::Internal(m) => {
                Error::Internal(format!("cannot bring the search index up to date: {m}"))
            }
            other => other,
        })
    }

    /// Run `f` on a read-only connection (on a blocking thread). Sees every
    /// change committed before it starts.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let source = self.source.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.0.lock().ok().and_then(|mut v| v.pop());
            let conn = match conn {
                Some(c) => c,
                None => source.open_reader()?,
            };
            let out = f(&conn);
            if !conn.is_closed()
                && let Ok(mut v) = readers.0.lock()
                && v.len() < READERS
            {
                v.push(conn);
            }
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("reader task failed: {e}")))?
    }
}

/// Run a transaction-control statement, prepared once.
fn run(conn: &Connection, sql: &str) -> sql::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The same, sent with the next statement that is answered (PostgreSQL;
/// SQLite runs it at once): see [`Connection::execute_deferred`].
fn run_deferred(conn: &Connection, sql: &str) -> sql::Result<()> {
    conn.execute_deferred(sql, [])
}

fn writer_loop(
    mut conn: Connection,
    mut indexer: Option<fts::Indexer>,
    rx: mpsc::Receiver<Box<dyn Job>>,
    sink: Sink,
    team: Option<Arc<crate::runtime::team::Team>>,
) {
    loop {
        // With messages waiting to be indexed, wait for a job only so long,
        // then index them in a transaction of their own.
        let behind = indexer.as_ref().is_some_and(fts::Indexer::behind);
        let first = if behind {
            match rx.recv_timeout(fts::IDLE_AFTER) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    run_batch(&mut conn, &mut indexer, Vec::new(), &sink, team.as_deref());
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.is_closed() {
            // PostgreSQL restarted or the network broke: connect again (the
            // batch fails with the reason if that fails too).
            match conn.reconnect() {
                Ok(()) => tracing::warn!("the store's connection was lost; connected again"),
                Err(e) => tracing::error!(error = %e, "the store's connection is lost"),
            }
        }
        run_batch(&mut conn, &mut indexer, batch, &sink, team.as_deref());
    }
    tracing::debug!("store writer stopped");
}

/// Run one batch in one transaction.
///
/// On PostgreSQL (`team`: other brokers may share the database) the two
/// cross-broker rules live here and nowhere else: the transaction takes
/// [`WRITE_LOCK`](crate::runtime::team::WRITE_LOCK) as it begins (sent with
/// `BEGIN` and the first job's first statement, one round trip), so
/// brokers' batches run one at a time like SQLite's; and its effects are
/// announced to the other brokers with `pg_notify`, sent with `COMMIT`, so
/// they hear of them only if and when it commits. A send costs 2 round
/// trips in a batch of several (its reads, its `INSERT`), a batch 2 more
/// (the last job's deferred statements, `COMMIT`): `store batch` at debug
/// level logs each batch's count.
fn run_batch(
    conn: &mut Connection,
    indexer: &mut Option<fts::Indexer>,
    batch: Vec<Box<dyn Job>>,
    sink: &Sink,
    team: Option<&crate::runtime::team::Team>,
) {
    let now = claude_peers_proto::time::now_ms();
    let trips = conn.round_trips();
    let jobs = batch.len();
    // An empty batch is the idle writer's: it only indexes.
    let index_now = batch.is_empty() || batch.iter().any(|j| j.wants_index());
    let mut replies = Vec::with_capacity(batch.len());
    // On PostgreSQL `BEGIN` and the lock travel with the first job's first
    // statement: if either fails, so does that statement, and the batch
    // with it (see `spoiled`).
    conn.set_owner(0);
    let begin = match (conn.engine(), team) {
        (sql::Engine::Sqlite, _) => run(conn, "BEGIN IMMEDIATE"),
        (sql::Engine::Postgres, Some(_)) => run_deferred(conn, "BEGIN").and_then(|()| {
            conn.execute_deferred(
                "SELECT pg_advisory_xact_lock(?1)",
                [crate::runtime::team::WRITE_LOCK],
            )
        }),
        (sql::Engine::Postgres, None) => run_deferred(conn, "BEGIN"),
    };
    if let Err(e) = begin {
        let msg = e.to_string();
        tracing::error!(error = %msg, "cannot begin a transaction");
        for job in batch {
            job.fail(&msg);
        }
        return;
    }
    // A job whose changes could not be undone alone spoils the batch:
    // nothing of it commits.
    let mut spoiled: Option<sql::Error> = None;
    // Each job's effects, apart: a job undone after it ended loses its own.
    let mut effects: Vec<Vec<Effect>> = Vec::with_capacity(batch.len());
    let mut undone: Vec<Option<sql::Error>> = Vec::with_capacity(batch.len());
    for (i, job) in batch.into_iter().enumerate() {
        effects.push(Vec::new());
        undone.push(None);
        if let (Undo::Batch, Some(c)) = (job.undo(), conn.as_sqlite()) {
            // No savepoint (see `Undo::Batch`): what the job changed is
            // counted by SQLite, and a failure that changed something, or
            // that ended the transaction, undoes the batch.
            let before = c.total_changes();
            let mut t = Tx {
                conn,
                now,
                effects: &mut effects[i],
            };
            let (ok, reply) = job.run(&mut t);
            if !ok {
                effects[i].clear();
                if c.total_changes() != before || c.is_autocommit() {
                    spoiled.get_or_insert(sql::Error::Undone(
                        "a job without a savepoint failed after changing the database, so its whole batch was undone",
                    ));
                }
            }
            replies.push(reply);
            continue;
        }
        // On PostgreSQL the savepoint goes with the job's first statement,
        // and its release with the next job's (or with the end of the
        // batch): no round trip of their own. So do the job's deferred
        // statements; if one of them fails there, the connection undoes
        // that job alone and says so (`take_failed`, below).
        conn.set_owner(i as u64 + 1);
        let sp = run_deferred(conn, "SAVEPOINT job");
        let mut t = Tx {
            conn,
            now,
            effects: &mut effects[i],
        };
        let (ok, reply) = job.run(&mut t);
        match sp {
            Ok(()) if ok => {
                if let Err(e) = run_deferred(conn, "RELEASE job") {
                    spoiled.get_or_insert(e);
                }
            }
            Ok(()) => {
                effects[i].clear();
                // What the failed job left waiting is undone with it.
                let _ = conn.flush();
                if let Err(e) = run(conn, "ROLLBACK TO job").and_then(|()| run(conn, "RELEASE job"))
                {
                    spoiled.get_or_insert(e);
                }
            }
            Err(e) => {
                spoiled.get_or_insert(e);
            }
        }
        replies.push(reply);
        undo_failed(conn, &mut effects, &mut undone);
    }
    // The last job's deferred statements, before its effects are announced.
    conn.set_owner(u64::MAX);
    if let Err(e) = conn.flush() {
        spoiled.get_or_insert(e);
    }
    undo_failed(conn, &mut effects, &mut undone);
    let effects: Vec<Effect> = effects.into_iter().flatten().collect();
    // The index, when due (see `fts`), outside the jobs' savepoints (FTS5
    // writes its pending terms at each one), in the same transaction as the
    // mark: if it fails, nothing commits.
    let indexed = match (spoiled, conn.as_sqlite(), indexer.as_mut()) {
        (Some(e), _, _) => Err(e),
        (None, Some(c), Some(ix)) => ix.catch_up(c, index_now).map_err(sql::Error::from),
        _ => Ok(()),
    };
    let commit = indexed.and_then(|()| match team {
        Some(team) if !effects.is_empty() => {
            let notes = announce::notes_of(conn, now, &effects)?;
            // Sent with `COMMIT`, in one round trip.
            for payload in crate::runtime::team::wire::pack(&team.node.instance, notes) {
                conn.execute_deferred(
                    "SELECT pg_notify(?1, ?2)",
                    [crate::runtime::team::CHANNEL, payload.as_str()],
                )?;
            }
            run(conn, "COMMIT")
        }
        _ => run(conn, "COMMIT"),
    });
    if conn.engine() == sql::Engine::Postgres {
        tracing::debug!(
            jobs,
            round_trips = conn.round_trips() - trips,
            "store batch"
        );
    }
    match commit {
        Ok(()) => {
            if let Some(ix) = indexer {
                ix.committed();
            }
            if !effects.is_empty() {
                sink(effects);
            }
            for (reply, undone) in replies.into_iter().zip(undone) {
                reply(match undone {
                    Some(e) => Outcome::Undone(e),
                    None => Outcome::Committed,
                });
            }
        }
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(error = %msg, "commit failed");
            let _ = conn.flush();
            let _ = run(conn, "ROLLBACK");
            if let Some(ix) = indexer {
                ix.rolled_back();
            }
            for (reply, undone) in replies.into_iter().zip(undone) {
                reply(match undone {
                    Some(e) => Outcome::Undone(e),
                    None => Outcome::CommitFailed(&msg),
                });
            }
        }
    }
}

/// Record the jobs the connection undid since the last call (numbered
/// from 1: `set_owner`): they lose their effects and answer with the error.
fn undo_failed(conn: &Connection, effects: &mut [Vec<Effect>], undone: &mut [Option<sql::Error>]) {
    for (owner, e) in conn.take_failed() {
        let Some(k) = (owner as usize).checked_sub(1) else {
            continue;
        };
        if let (Some(fx), Some(slot)) = (effects.get_mut(k), undone.get_mut(k)) {
            fx.clear();
            slot.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_message(t: &mut Tx<'_>, text: &str) -> Result<i64> {
        t.conn.execute(
            "INSERT INTO messages (session_id, from_kind, from_id, from_name, text, sent_at)
             VALUES ('s', 'peer', 'p', 'p', ?1, 0)",
            [text],
        )?;
        Ok(t.conn
            .query_row("SELECT max(id) FROM messages", [], |r| r.get(0))?)
    }

    fn found(c: &Connection, word: &str) -> Result<Vec<i64>> {
        Ok(c.prepare_cached(
            "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid",
        )?
        .query_map([word], |r| r.get(0))?
        .collect::<sql::Result<_>>()?)
    }

    /// What a search does: `index_now`, then a read, finds every message
    /// committed before it, though the sends did not index them.
    #[tokio::test]
    async fn a_search_sees_every_message_answered_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Arc::new(|_| {})).unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                store
                    .write(move |t| store_message(t, &format!("zebra number {i}")))
                    .await
                    .unwrap(),
            );
        }
        store.index_now().await.unwrap();
        let hits = store.read(|c| found(c, "zebra")).await.unwrap();
        assert_eq!(hits, ids);
        // And the next ones too.
        let more = store
            .write(|t| store_message(t, "zebra again"))
            .await
            .unwrap();
        store.index_now().await.unwrap();
        let hits = store.read(|c| found(c, "again")).await.unwrap();
        assert_eq!(hits, vec![more]);
    }

    /// `fut` polled once: a write is in the writer's queue after its first
    /// poll; await the returned future for its answer.
    fn queued<F: std::future::Future>(fut: F) -> std::pin::Pin<Box<F>> {
        let mut fut = Box::pin(fut);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        fut
    }

    /// Hold the writer in a job of its own until the returned sender sends
    /// (or is dropped): the jobs queued meanwhile form the next batch.
    fn hold_writer(store: &Store) -> std::sync::mpsc::Sender<()> {
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let held = queued(store.write(move |_| {
            let _ = started.send(());
            let _ = gate.recv();
            Ok(())
        }));
        running.recv().unwrap();
        // Its answer is not needed.
        drop(held);
        open
    }

    fn count(c: &Connection) -> Result<i64> {
        Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)
    }

    /// A checked job (no savepoint) that fails before changing anything
    /// leaves the jobs of its batch alone.
    #[tokio::test]
    async fn a_checked_job_failing_before_a_change_spares_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Arc::new(|_| {})).unwrap();
        let open = hold_writer(&store);
        let a = queued(store.write_checked(|t| store_message(t, "first")));
        let failing = queued(store.write_checked(|t| {
            t.conn
                .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))?;
            Err::<(), _>(Error::Internal("refused".into()))
        }));
        let b = queued(store.write(|t| store_message(t, "second")));
        open.send(()).unwrap();
        assert!(a.await.is_ok());
        assert!(failing.await.is_err());
        assert!(b.await.is_ok());
        assert_eq!(store.read(count).await.unwrap(), 2);
    }

    /// A checked job that fails after a change undoes its whole batch: its
    /// change and its batch-mates' are gone, and each of them hears so.
    #[tokio::test]
    async fn a_checked_job_failing_after_a_change_undoes_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Arc::new(|_| {})).unwrap();
        let open = hold_writer(&store);
        let a = queued(store.write(|t| store_message(t, "before")));
        let failing = queued(store.write_checked(|t| {
            store_message(t, "half done")?;
            Err::<(), _>(Error::Internal("broke halfway".into()))
        }));
        let b = queued(store.write_checked(|t| store_message(t, "after")));
        open.send(()).unwrap();
        let failed = failing.await.unwrap_err();
        assert!(failed.to_string().contains("broke halfway"), "{failed}");
        for other in [a.await, b.await] {
            let e = other.unwrap_err();
            assert!(e.to_string().contains("whole batch was undone"), "{e}");
        }
        assert_eq!(store.read(count).await.unwrap(), 0);
        // The store goes on.
        store
            .write_checked(|t| store_message(t, "later"))
            .await
            .unwrap();
        assert_eq!(store.read(count).await.unwrap(), 1);
    }

    /// The idle writer completes the index on its own.
    #[tokio::test]
    async fn the_idle_writer_indexes_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Arc::new(|_| {})).unwrap();
        let id = store
            .write(|t| store_message(t, "quiet words"))
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + 50 * fts::IDLE_AFTER;
        loop {
            if store.read(|c| found(c, "quiet")).await.unwrap() == vec![id] {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the idle writer did not index the message"
            );
            tokio::time::sleep(fts::IDLE_AFTER / 4).await;
        }
    }
}
