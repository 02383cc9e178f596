//! PostgreSQL's side of the SQL facade ([`super::sql`]): one client with its
//! statements, each rendered from the SQLite form once ([`super::dialect`])
//! and prepared once; parameters bound as the type PostgreSQL inferred for
//! them; columns read back as the values SQLite would have returned, so the
//! domain's `FromSql` conversions (`bool` from an integer, …) hold for both.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

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

/// A PostgreSQL client with its rendered and prepared statements.
pub struct PgConn {
    url: String,
    client: RefCell<postgres::Client>,
    rendered: RefCell<HashMap<String, Prepared>>,
    /// By rendered SQL and parameter types (each parameter is declared as
    /// the type of the value bound to it: `BIGINT`, `DOUBLE PRECISION`,
    /// `TEXT`, `BYTEA`; one bound to `NULL` is written as `NULL`).
    prepared: RefCell<HashMap<(String, Vec<Type>), postgres::Statement>>,
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

impl PgConn {
    /// Connect to `url` (`postgres://user@host:port/db`, or `host=/dir` for a
    /// unix socket). No TLS: run PostgreSQL on the broker's network.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let client = postgres::Client::connect(url, postgres::NoTls)?;
        Ok(Self {
            url: url.to_string(),
            client: RefCell::new(client),
            rendered: RefCell::new(HashMap::new()),
            prepared: RefCell::new(HashMap::new()),
        })
    }

    /// Whether the server closed the connection (it restarted, or the
    /// network broke): nothing sent on it will work again.
    pub fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }

    /// Connect again after [`PgConn::is_closed`]; prepared statements are
    /// prepared again on first use.
    pub fn reconnect(&self) -> Result<(), DbError> {
        let client = postgres::Client::connect(&self.url, postgres::NoTls)?;
        *self.client.borrow_mut() = client;
        self.prepared.borrow_mut().clear();
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
    fn statement(&self, p: &Prepared, args: &[Arg]) -> Result<postgres::Statement, DbError> {
        let types: Vec<Type> = args.iter().map(declared).collect();
        let nulls: Vec<bool> = args.iter().map(|a| a.0 == Value::Null).collect();
        let sql = p.rendered.sql_with_nulls(&nulls);
        let key = (sql, types);
        if let Some(s) = self.prepared.borrow().get(&key) {
            return Ok(s.clone());
        }
        let stmt = self.client.borrow_mut().prepare_typed(&key.0, &key.1)?;
        self.prepared.borrow_mut().insert(key, stmt.clone());
        Ok(stmt)
    }

    pub fn execute(&self, p: &Prepared, args: &[Arg]) -> Result<usize, DbError> {
        let stmt = self.statement(p, args)?;
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        let n = self.client.borrow_mut().execute(&stmt, &refs)?;
        Ok(n as usize)
    }

    pub fn query(&self, p: &Prepared, args: &[Arg]) -> Result<Vec<postgres::Row>, DbError> {
        let stmt = self.statement(p, args)?;
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        Ok(self.client.borrow_mut().query(&stmt, &refs)?)
    }

    /// Run statements with no parameters, as written (simple protocol).
    pub fn batch(&self, sql: &str) -> Result<(), DbError> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
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
