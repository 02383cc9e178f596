//! PostgreSQL's side of the SQL facade ([`super::sql`]): one client with its
//! statements, each rendered from the SQLite form once ([`super::dialect`])
//! and prepared once; parameters bound as the type PostgreSQL inferred for
//! them; columns read back as the values SQLite would have returned, so the
//! domain's `FromSql` conversions (`bool` from an integer, …) hold for both.
//!
//! Statements whose answer nobody waits for ([`PgConn::defer`]: the writer's
//! savepoints, counters the domain bumps) are not sent alone: they wait and
//! go to the server in one write with the next statement that is answered
//! ([`PgConn::execute`], [`PgConn::query`], [`PgConn::flush`]), which then
//! waits for all of them in one round trip (tokio-postgres pipelines requests
//! issued together, in order). The first error among them is that call's
//! error, so a deferred statement fails the job that issued it as if it had
//! run at once; the server has stopped at it (the transaction is aborted),
//! so nothing after it took effect either. The writer does not wait for a
//! job's last deferred statements: they go with the next job's first
//! statement. Each is tagged with its job ([`PgConn::set_owner`]); when an
//! earlier job's fails, that job alone is undone and reported
//! ([`PgConn::take_failed`]) and the later statements are sent again, so a
//! failing statement still fails only its own job. The writer's batch log
//! counts round trips ([`PgConn::round_trips`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::Value;

use super::dialect;
use crate::error::DbError;

type BoxError = Box<dyn StdError + Sync + Send>;

/// A statement rendered for PostgreSQL, prepared on first use for each
/// set of parameter types it is bound with.
#[derive(Clone)]
pub struct Prepared {
    rendered: Arc<dialect::Rendered>,
    /// Named parameters in `$k` order (empty for positional ones).
    pub names: Arc<[String]>,
}

/// A statement waiting to go with the next one that is answered.
struct Deferred {
    stmt: tokio_postgres::Statement,
    args: Vec<Arg>,
    /// The writer's job that issued it ([`PgConn::set_owner`]).
    owner: u64,
}

/// What one pipelined request answers.
enum Answer {
    Count(u64),
    Rows(Vec<tokio_postgres::Row>),
}

type Request<'a> = Pin<Box<dyn Future<Output = Result<Answer, tokio_postgres::Error>> + 'a>>;

/// A PostgreSQL client with its rendered and prepared statements, on a
/// single-threaded runtime of its own (the store's threads are not async).
pub struct PgConn {
    url: String,
    /// Dropped before the runtime that drives its connection.
    client: RefCell<tokio_postgres::Client>,
    runtime: tokio::runtime::Runtime,
    rendered: RefCell<HashMap<String, Prepared>>,
    /// By rendered SQL and parameter types (each parameter is declared as
    /// the type of the value bound to it: `BIGINT`, `DOUBLE PRECISION`,
    /// `TEXT`, `BYTEA`; one bound to `NULL` is written as `NULL`).
    prepared: RefCell<HashMap<(String, Vec<Type>), tokio_postgres::Statement>>,
    /// Sent with the next answered statement (see the module's doc).
    deferred: RefCell<Vec<Deferred>>,
    /// Round trips to the server so far ([`PgConn::round_trips`]).
    trips: Cell<u64>,
    /// The job whose statements are being issued now.
    owner: Cell<u64>,
    /// Earlier jobs undone because one of their deferred statements failed
    /// in a later job's pipeline ([`PgConn::take_failed`]).
    failed: RefCell<Vec<(u64, DbError)>>,
}

/// The type a parameter is declared as, from the value bound to it.
fn declared(a: &Arg) -> Type {
    match a.0 {
        Value::Null | Value::Text(_) => Type::TEXT,
        Value::Integer(_) => Type::INT8,
        Value::Real(_) => Type::FLOAT8,
        Value::Blob(_) => Type::BYTEA,
    }
}

/// Connect on `runtime`; the connection is a task on it, driven whenever
/// the runtime runs a request.
fn open(runtime: &tokio::runtime::Runtime, url: &str) -> Result<tokio_postgres::Client, DbError> {
    let (client, connection) =
        runtime.block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))?;
    runtime.spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "a PostgreSQL connection ended");
        }
    });
    Ok(client)
}

fn args_of(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as _).collect()
}

/// Run `requests` in one pipeline: each is sent (in order) when first
/// polled, and all are polled once before any answer is awaited.
async fn in_order(mut requests: Vec<Request<'_>>) -> Vec<Result<Answer, tokio_postgres::Error>> {
    let mut done: Vec<Option<Result<Answer, tokio_postgres::Error>>> =
        requests.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (r, slot) in requests.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match r.as_mut().poll(cx) {
                    Poll::Ready(out) => *slot = Some(out),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

impl PgConn {
    /// Connect to `url` (`postgres://user@host:port/db`, or `host=/dir` for a
    /// unix socket). No TLS: run PostgreSQL on the broker's network.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Value(format!("cannot start the PostgreSQL client: {e}")))?;
        let client = open(&runtime, url)?;
        Ok(Self {
            url: url.to_string(),
            client: RefCell::new(client),
            runtime,
            rendered: RefCell::new(HashMap::new()),
            prepared: RefCell::new(HashMap::new()),
            deferred: RefCell::new(Vec::new()),
            trips: Cell::new(0),
            owner: Cell::new(0),
            failed: RefCell::new(Vec::new()),
        })
    }

    /// Statements issued from now on are job `owner`'s (the writer numbers
    /// the jobs of a batch upwards; each job's statements are inside its
    /// savepoint `job`).
    pub fn set_owner(&self, owner: u64) {
        self.owner.set(owner);
    }

    /// The earlier jobs found failed since the last call, with their
    /// errors: a deferred statement of theirs failed in a later job's
    /// pipeline, and they were undone (see [`PgConn::pipelined`]).
    pub fn take_failed(&self) -> Vec<(u64, DbError)> {
        std::mem::take(&mut *self.failed.borrow_mut())
    }

    /// How many times this connection has waited for the server so far
    /// (a pipeline of statements is one; preparing a statement is one):
    /// what sets the writer's pace ([`super`]'s batch log).
    pub fn round_trips(&self) -> u64 {
        self.trips.get()
    }

    fn trip(&self) {
        self.trips.set(self.trips.get() + 1);
    }

    /// Whether the server closed the connection (it restarted, or the
    /// network broke): nothing sent on it will work again.
    pub fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }

    /// Connect again after [`PgConn::is_closed`]; prepared statements are
    /// prepared again on first use, deferred ones are dropped (their
    /// transaction is gone).
    pub fn reconnect(&self) -> Result<(), DbError> {
        let client = open(&self.runtime, &self.url)?;
        *self.client.borrow_mut() = client;
        self.prepared.borrow_mut().clear();
        self.deferred.borrow_mut().clear();
        Ok(())
    }

    /// `sql` (SQLite form) rendered, once per connection.
    pub fn prepare(&self, sql: &str) -> Result<Prepared, DbError> {
        if let Some(p) = self.rendered.borrow().get(sql) {
            return Ok(p.clone());
        }
        let r = dialect::to_postgres(sql);
        let p = Prepared {
            names: r.names.clone().into(),
            rendered: Arc::new(r),
        };
        self.rendered
            .borrow_mut()
            .insert(sql.to_string(), p.clone());
        Ok(p)
    }

    /// The statement prepared for these arguments' types.
    fn statement(&self, p: &Prepared, args: &[Arg]) -> Result<tokio_postgres::Statement, DbError> {
        let types: Vec<Type> = args.iter().map(declared).collect();
        let nulls: Vec<bool> = args.iter().map(|a| a.0 == Value::Null).collect();
        let sql = p.rendered.sql_with_nulls(&nulls);
        let key = (sql, types);
        if let Some(s) = self.prepared.borrow().get(&key) {
            return Ok(s.clone());
        }
        self.trip();
        let stmt = {
            let client = self.client.borrow();
            self.runtime
                .block_on(client.prepare_typed(&key.0, &key.1))?
        };
        self.prepared.borrow_mut().insert(key, stmt.clone());
        Ok(stmt)
    }

    /// Send what is deferred and then `last` (if any), in one pipeline;
    /// the first error among them, else `last`'s answer.
    ///
    /// A job's deferred statements may travel with the next job's (the
    /// writer waits for a job's own ones only when the batch ends). When
    /// the first to fail is an earlier job's, that job alone is undone
    /// (`ROLLBACK TO job`: its savepoint is still open, the `RELEASE`
    /// after its statements did not run) and recorded as failed
    /// ([`PgConn::take_failed`]); the later jobs' statements, which the
    /// server skipped, are sent again. If the undo fails too, the error
    /// is this call's, and the writer gives up the batch.
    fn pipelined(
        &self,
        last: Option<(&tokio_postgres::Statement, &[Arg], bool)>,
    ) -> Result<Option<Answer>, DbError> {
        let mut deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        loop {
            if deferred.is_empty() && last.is_none() {
                return Ok(None);
            }
            let mut answers = self.send(&deferred, last);
            let first_error = answers.iter().position(Result::is_err);
            let Some(i) = first_error else {
                return Ok(if last.is_some() {
                    answers.pop().and_then(Result::ok)
                } else {
                    None
                });
            };
            let error = match answers.swap_remove(i) {
                Err(e) => DbError::from(e),
                Ok(_) => DbError::Value("no error where one was found".into()),
            };
            let owner = match deferred.get(i) {
                Some(d) if d.owner < self.owner.get() => d.owner,
                _ => return Err(error),
            };
            if self.undo_job().is_err() {
                return Err(error);
            }
            self.failed.borrow_mut().push((owner, error));
            deferred.retain(|d| d.owner > owner);
        }
    }

    /// Send `deferred` and then `last` in one pipeline (one round trip);
    /// every answer, in order.
    fn send(
        &self,
        deferred: &[Deferred],
        last: Option<(&tokio_postgres::Statement, &[Arg], bool)>,
    ) -> Vec<Result<Answer, tokio_postgres::Error>> {
        let client = self.client.borrow();
        let client = &*client;
        let deferred_args: Vec<Vec<&(dyn ToSql + Sync)>> =
            deferred.iter().map(|d| args_of(&d.args)).collect();
        let last_args = last.map(|(_, a, _)| args_of(a));
        let mut requests: Vec<Request<'_>> = Vec::with_capacity(deferred.len() + 1);
        for (d, a) in deferred.iter().zip(&deferred_args) {
            requests.push(Box::pin(async move {
                client.execute(&d.stmt, a).await.map(Answer::Count)
            }));
        }
        if let (Some((stmt, _, rows)), Some(a)) = (last, &last_args) {
            requests.push(Box::pin(async move {
                if rows {
                    client.query(stmt, a).await.map(Answer::Rows)
                } else {
                    client.execute(stmt, a).await.map(Answer::Count)
                }
            }));
        }
        self.trip();
        self.runtime.block_on(in_order(requests))
    }

    /// Undo the innermost open job savepoint and close it (one round
    /// trip): the transaction is sound again, as before that job.
    fn undo_job(&self) -> Result<(), DbError> {
        self.trip();
        let client = self.client.borrow();
        Ok(self
            .runtime
            .block_on(client.batch_execute("ROLLBACK TO job; RELEASE job"))?)
    }

    /// Run it; the rows changed. Sends what is deferred first, in the
    /// same round trip.
    pub fn execute(&self, p: &Prepared, args: &[Arg]) -> Result<usize, DbError> {
        let stmt = self.statement(p, args)?;
        match self.pipelined(Some((&stmt, args, false)))? {
            Some(Answer::Count(n)) => Ok(n as usize),
            _ => Err(DbError::Value("no answer from PostgreSQL".into())),
        }
    }

    /// Its rows. Sends what is deferred first, in the same round trip.
    pub fn query(&self, p: &Prepared, args: &[Arg]) -> Result<Vec<tokio_postgres::Row>, DbError> {
        let stmt = self.statement(p, args)?;
        match self.pipelined(Some((&stmt, args, true)))? {
            Some(Answer::Rows(rows)) => Ok(rows),
            _ => Err(DbError::Value("no answer from PostgreSQL".into())),
        }
    }

    /// Queue it to go with the next answered statement (or [`PgConn::flush`]).
    pub fn defer(&self, p: &Prepared, args: Vec<Arg>) -> Result<(), DbError> {
        let stmt = self.statement(p, &args)?;
        self.deferred.borrow_mut().push(Deferred {
            stmt,
            args,
            owner: self.owner.get(),
        });
        Ok(())
    }

    /// Send what is deferred and wait for it: its first error.
    pub fn flush(&self) -> Result<(), DbError> {
        self.pipelined(None).map(|_| ())
    }

    /// Run statements with no parameters, as written (simple protocol),
    /// after what is deferred.
    pub fn batch(&self, sql: &str) -> Result<(), DbError> {
        self.flush()?;
        self.trip();
        let client = self.client.borrow();
        Ok(self.runtime.block_on(client.batch_execute(sql))?)
    }
}

/// A parameter value as SQLite would bind it, encoded for the type
/// PostgreSQL expects in its place.
#[derive(Debug)]
pub struct Arg(pub Value);

fn bad(v: &Value, ty: &Type) -> BoxError {
    format!("cannot bind {v:?} as a PostgreSQL {ty}").into()
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

impl ToSql for Arg {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let v = &self.0;
        match v {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                ref t if is_text(t) => i.to_string().as_str().to_sql(ty, out),
                _ => Err(bad(v, ty)),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::INT8 if f.fract() == 0.0 => (*f as i64).to_sql(ty, out),
                ref t if is_text(t) => f.to_string().as_str().to_sql(ty, out),
                _ => Err(bad(v, ty)),
            },
            // PostgreSQL text cannot hold NUL. No stored text has one
            // (validation strips control characters), so a value with one
            // is bound with U+FFFD instead and finds nothing, as on SQLite.
            Value::Text(s) if s.contains('\0') => match *ty {
                ref t if is_text(t) => s.replace('\0', "\u{FFFD}").as_str().to_sql(ty, out),
                _ => Err(bad(v, ty)),
            },
            Value::Text(s) => match *ty {
                ref t if is_text(t) => s.as_str().to_sql(ty, out),
                Type::INT8 => s.trim().parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.trim().parse::<i32>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => Err(bad(v, ty)),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(bad(v, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column read as the value SQLite would return: booleans and every
/// integer width as an integer, text as text.
pub struct Column(pub Value);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let v = match *ty {
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)? as i64),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::OID => Value::Integer(u32::from_sql(ty, raw)?.into()),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            ref t if is_text(t) => Value::Text(String::from_sql(&Type::TEXT, raw)?),
            ref t => return Err(format!("cannot read a PostgreSQL {t} column").into()),
        };
        Ok(Column(v))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Column(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `NUMERIC` (what `sum()` of integers returns) as an integer when it is
/// whole, a real otherwise. Binary form: digit count, weight, sign, scale,
/// then base-10000 digits.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated NUMERIC".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i32;
    let sign = word(4)? as u16;
    if sign == 0xC000 {
        return Ok(Value::Null); // NaN
    }
    let mut value = 0f64;
    let mut whole = true;
    for k in 0..ndigits {
        let d = word(8 + 2 * k)? as f64;
        let power = weight - k as i32;
        if power < 0 && d != 0.0 {
            whole = false;
        }
        value += d * 10000f64.powi(power);
    }
    if sign == 0x4000 {
        value = -value;
    }
    Ok(if whole && value.abs() < 9.0e15 {
        Value::Integer(value as i64)
    } else {
        Value::Real(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: i16, weight: i16, sign: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [ndigits, weight, sign as i16, 0] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_sums_read_as_integers() {
        // 123456789 = 1·10000² + 2345·10000 + 6789
        let raw = numeric_bytes(3, 2, 0, &[1, 2345, 6789]);
        assert_eq!(numeric(&raw).unwrap(), Value::Integer(123_456_789));
        let raw = numeric_bytes(1, 0, 0x4000, &[42]);
        assert_eq!(numeric(&raw).unwrap(), Value::Integer(-42));
        let raw = numeric_bytes(0, 0, 0, &[]);
        assert_eq!(numeric(&raw).unwrap(), Value::Integer(0));
        // 1.5 = 1 + 5000·10000⁻¹
        let raw = numeric_bytes(2, 0, 0, &[1, 5000]);
        assert_eq!(numeric(&raw).unwrap(), Value::Real(1.5));
    }
}
