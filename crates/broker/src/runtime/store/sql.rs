//! The one interface the domain code runs SQL through: a [`Connection`],
//! its cached [`Statement`]s, the [`Row`]s they return, [`Params`] and an
//! [`Error`] of its own.
//!
//! The shapes are rusqlite's (`prepare_cached`, `execute`, `query_row`,
//! `query_map`, `optional`), so a domain module reads as plain SQL calls
//! and never names the engine behind them. SQL is written once, in SQLite's
//! form; PostgreSQL runs it as [`super::dialect`] renders it ([`super::pg`]).
//! Parameters are the values rusqlite's `params!`/`named_params!` build,
//! re-exported here; a backend reads them through [`Params`]. The SQLite
//! backend hands every call straight to rusqlite (no copy of a parameter or
//! a row), so the facade costs the embedded store nothing.

use std::fmt;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};

use super::pg::{Arg, Column, PgConn, Prepared};

pub use rusqlite::types::FromSql;
pub use rusqlite::{ToSql, named_params, params};

pub use crate::error::DbError as Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `query_row(..).optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The parameters of one statement: positional (`params![..]`, `[a, b]`,
/// `[]`) or named (`named_params!{..}`).
pub trait Params: rusqlite::Params {
    /// The values in `$k` order; `names` are the statement's named
    /// parameters in that order (empty when it numbers them).
    fn values(&self, names: &[String]) -> Result<Vec<Arg>>;
}

/// What a parameter binds to, as SQLite would see it.
fn value(p: &dyn ToSql) -> Result<Arg> {
    Ok(Arg(match p.to_sql()? {
        ToSqlOutput::Borrowed(v) => Value::try_from(v).map_err(|e| Error::Value(e.to_string()))?,
        ToSqlOutput::Owned(v) => v,
        other => {
            return Err(Error::Value(format!(
                "a parameter PostgreSQL cannot take: {other:?}"
            )));
        }
    }))
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    fn values(&self, _: &[String]) -> Result<Vec<Arg>> {
        Ok(Vec::new())
    }
}
impl Params for &[&dyn ToSql] {
    fn values(&self, _: &[String]) -> Result<Vec<Arg>> {
        self.iter().map(|p| value(*p)).collect()
    }
}
impl Params for &[(&str, &dyn ToSql)] {
    fn values(&self, names: &[String]) -> Result<Vec<Arg>> {
        names
            .iter()
            .map(|n| match self.iter().find(|(k, _)| k == n) {
                Some((_, v)) => value(*v),
                None => Err(Error::Value(format!("no value for the parameter {n}"))),
            })
            .collect()
    }
}
macro_rules! array_params {
    ($($n:literal)+) => { $(
        impl<T: ToSql> Params for [T; $n] {
            fn values(&self, _: &[String]) -> Result<Vec<Arg>> {
                self.iter().map(|p| value(p)).collect()
            }
        }
    )+ };
}
array_params!(1 2 3 4 5 6 7 8);

/// A column by position or by name.
pub trait RowIndex: rusqlite::RowIndex {
    fn position(&self, row: &postgres::Row) -> Option<usize>;
}
impl RowIndex for usize {
    fn position(&self, row: &postgres::Row) -> Option<usize> {
        (*self < row.len()).then_some(*self)
    }
}
impl RowIndex for &str {
    fn position(&self, row: &postgres::Row) -> Option<usize> {
        row.columns().iter().position(|c| c.name() == *self)
    }
}

/// The SQL engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database connection: the writer's (inside its transaction) or a
/// reader's.
pub struct Connection {
    backend: Backend,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PgConn>),
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Connection({:?})", self.engine())
    }
}

impl Connection {
    /// Wrap an open SQLite connection.
    pub fn sqlite(conn: rusqlite::Connection) -> Self {
        Self {
            backend: Backend::Sqlite(conn),
        }
    }

    /// Connect to a PostgreSQL database (see [`PgConn::connect`]).
    pub fn postgres(url: &str) -> Result<Self> {
        Ok(Self {
            backend: Backend::Postgres(Box::new(PgConn::connect(url)?)),
        })
    }

    /// Which engine this is, for the few statements written once per engine.
    pub fn engine(&self) -> Engine {
        match &self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// Whether the connection is lost for good (PostgreSQL's server closed
    /// it); a SQLite connection never is.
    pub fn is_closed(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Postgres(c) => c.is_closed(),
        }
    }

    /// Round trips to the server so far (PostgreSQL; SQLite has none).
    pub fn round_trips(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(_) => 0,
            Backend::Postgres(c) => c.round_trips(),
        }
    }

    /// Statements issued from now on are the writer's job `owner`'s
    /// (PostgreSQL; see [`PgConn::set_owner`]).
    pub fn set_owner(&self, owner: u64) {
        if let Backend::Postgres(c) = &self.backend {
            c.set_owner(owner);
        }
    }

    /// Earlier jobs undone because a deferred statement of theirs failed
    /// after they ended (PostgreSQL: [`PgConn::take_failed`]; on SQLite a
    /// deferred statement fails at once, in its job).
    pub fn take_failed(&self) -> Vec<(u64, Error)> {
        match &self.backend {
            Backend::Sqlite(_) => Vec::new(),
            Backend::Postgres(c) => c.take_failed(),
        }
    }

    /// Open a lost connection again (see [`Connection::is_closed`]).
    pub fn reconnect(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(c) => c.reconnect(),
        }
    }

    /// A fresh in-memory SQLite database (tests).
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Self> {
        Ok(Self::sqlite(rusqlite::Connection::open_in_memory()?))
    }

    /// The SQLite database at `path` (tests).
    #[cfg(test)]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(Self::sqlite(rusqlite::Connection::open(path)?))
    }

    /// The SQLite connection, for the store's own SQLite-only work
    /// (transaction control, the FTS5 index, WAL checkpoints, migrations).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// The SQLite connection, mutably (migrations open transactions on it).
    pub fn as_sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// Prepare `sql` once per connection and reuse it on every later call.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(Statement {
                inner: StmtInner::Sqlite(c.prepare_cached(sql)?),
            }),
            Backend::Postgres(c) => Ok(Statement {
                inner: StmtInner::Postgres(c, c.prepare(sql)?),
            }),
        }
    }

    /// Run a statement that returns no rows; the number of rows changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute(sql, params)?),
            Backend::Postgres(_) => self.prepare_cached(sql)?.execute(params),
        }
    }

    /// The first row of `sql` mapped by `f`; [`Error::NoRows`] if none.
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Run a statement whose count of changed rows the caller does not
    /// need (a counter, an upsert). SQLite runs it at once. PostgreSQL sends
    /// it with the next statement that is answered, in the same round trip
    /// ([`super::pg`]); an error it meets is that statement's error, or
    /// [`Connection::flush`]'s, so it fails the job that issued it as if it
    /// had failed here. A job's last ones may travel with the next job's
    /// statements; if one fails there, the writer undoes the job that
    /// issued it alone, which answers with that error.
    pub fn execute_deferred<P: Params>(&self, sql: &str, params: P) -> Result<()> {
        self.prepare_cached(sql)?.execute_deferred(params)
    }

    /// Wait for every deferred statement ([`Connection::execute_deferred`]):
    /// the first error among them. Nothing to do on SQLite.
    pub fn flush(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(c) => c.flush(),
        }
    }

    /// Run several statements with no parameters, as written (no dialect
    /// rendering: the caller writes them for [`Connection::engine`]).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(c) => c.batch(sql),
        }
    }
}

/// A prepared statement, kept in its connection's cache.
pub struct Statement<'c> {
    inner: StmtInner<'c>,
}

enum StmtInner<'c> {
    Sqlite(rusqlite::CachedStatement<'c>),
    Postgres(&'c PgConn, Prepared),
}

impl Statement<'_> {
    /// Run it; the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            StmtInner::Sqlite(s) => Ok(s.execute(params)?),
            StmtInner::Postgres(c, p) => c.execute(p, &params.values(&p.names)?),
        }
    }

    /// Run it without waiting for its count of changed rows (see
    /// [`Connection::execute_deferred`]).
    pub fn execute_deferred<P: Params>(&mut self, params: P) -> Result<()> {
        match &mut self.inner {
            StmtInner::Sqlite(s) => s.execute(params).map(|_| ()).map_err(Error::from),
            StmtInner::Postgres(c, p) => c.defer(p, params.values(&p.names)?),
        }
    }

    /// The first row mapped by `f`; [`Error::NoRows`] if none.
    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        match &mut self.inner {
            StmtInner::Sqlite(s) => {
                let mut rows = s.query(params)?;
                match rows.next()? {
                    Some(r) => f(&Row {
                        inner: RowInner::Sqlite(r),
                    }),
                    None => Err(Error::NoRows),
                }
            }
            StmtInner::Postgres(c, p) => {
                let rows = c.query(p, &params.values(&p.names)?)?;
                match rows.first() {
                    Some(r) => f(&Row {
                        inner: RowInner::Postgres(r),
                    }),
                    None => Err(Error::NoRows),
                }
            }
        }
    }

    /// Every row, each mapped by `f` as it is read.
    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        match &mut self.inner {
            StmtInner::Sqlite(s) => Ok(MappedRows {
                inner: RowsInner::Sqlite(s.query(params)?),
                f,
            }),
            StmtInner::Postgres(c, p) => Ok(MappedRows {
                inner: RowsInner::Postgres(c.query(p, &params.values(&p.names)?)?.into_iter()),
                f,
            }),
        }
    }

    /// The statement's SQLite form, for tests that check how SQLite runs it.
    #[cfg(test)]
    pub fn as_sqlite(&self) -> Option<&rusqlite::Statement<'_>> {
        match &self.inner {
            StmtInner::Sqlite(s) => Some(s),
            StmtInner::Postgres(..) => None,
        }
    }
}

/// The rows of [`Statement::query_map`], mapped as they are read.
pub struct MappedRows<'s, F> {
    inner: RowsInner<'s>,
    f: F,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres(std::vec::IntoIter<postgres::Row>),
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match &mut self.inner {
            RowsInner::Sqlite(rows) => match rows.next() {
                Ok(Some(r)) => Some((self.f)(&Row {
                    inner: RowInner::Sqlite(r),
                })),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            },
            RowsInner::Postgres(rows) => rows.next().map(|r| {
                (self.f)(&Row {
                    inner: RowInner::Postgres(&r),
                })
            }),
        }
    }
}

/// One row of a result.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `idx` as a `T` (an integer, `bool`, text, `Option` of one, …).
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        match &self.inner {
            RowInner::Sqlite(r) => Ok(r.get(idx)?),
            RowInner::Postgres(r) => {
                let i = idx
                    .position(r)
                    .ok_or_else(|| Error::Value("no such column".into()))?;
                let Column(v) = r.try_get(i)?;
                T::column_result(ValueRef::from(&v))
                    .map_err(|e| Error::Value(format!("column {i}: {e}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, flag INTEGER);
             INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 0), (3, NULL, 1);",
        )
        .unwrap();
        c
    }

    #[test]
    fn maps_rows_and_reads_columns_by_position_and_name() {
        let c = db();
        let mut stmt = c
            .prepare_cached("SELECT id, name, flag FROM t WHERE flag = ?1 ORDER BY id")
            .unwrap();
        let rows: Vec<(i64, Option<String>, bool)> = stmt
            .query_map(params![true], |r| {
                Ok((r.get(0)?, r.get("name")?, r.get(2)?))
            })
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(rows, vec![(1, Some("a".into()), true), (3, None, true)]);
    }

    #[test]
    fn no_row_is_none_with_optional_and_an_error_without() {
        let c = db();
        let q = "SELECT name FROM t WHERE id = :id";
        let found: Option<String> = c
            .query_row(q, named_params! {":id": 2}, |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(found.as_deref(), Some("b"));
        let missing: Option<String> = c
            .query_row(q, named_params! {":id": 9}, |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(missing, None);
        let err = c.query_row(q, named_params! {":id": 9}, |r| r.get::<_, String>(0));
        assert!(matches!(err, Err(Error::NoRows)));
    }

    #[test]
    fn execute_counts_changed_rows_and_errors_keep_their_cause() {
        let c = db();
        assert_eq!(c.execute("UPDATE t SET flag = 0", []).unwrap(), 3);
        let mut stmt = c.prepare_cached("DELETE FROM t WHERE id = ?1").unwrap();
        assert_eq!(stmt.execute([1]).unwrap(), 1);
        let err = c.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err();
        assert!(err.to_string().contains("no such table"), "{err}");
    }
}
