//! The broker's error type: an API error to report, a configuration the
//! broker cannot run with, or a storage/internal failure.
//! Implements `IntoResponse`, so handlers just use `?`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use claude_peers_proto::error::ErrorBody;
use claude_peers_proto::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The broker cannot run as configured (flags, `CLAUDE_PEERS_*`, the
    /// admin token file, the port): the person who started it must change
    /// something.
    #[error("configuration error: {0}")]
    Config(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed statement, whatever the store's engine (the error type of
/// `runtime::store::sql`).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `query_row` found no row (`optional()` turns it into `None`).
    #[error("the query returned no row")]
    NoRows,
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    /// Shown with the server's message (and not its source again: that
    /// would repeat it).
    #[error("{}", postgres_message(.0))]
    Postgres(postgres::Error),
    /// A value that does not fit where it goes (a parameter PostgreSQL
    /// cannot take, a column of an unexpected type).
    #[error("{0}")]
    Value(String),
    /// A batch undone as a whole: a job that had no savepoint of its own
    /// failed after changing something (`Store::write_checked`).
    #[error("{0}")]
    Undone(&'static str),
}

/// A PostgreSQL error with the server's message and detail (its `Display`
/// alone says only "db error").
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => e.to_string(),
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            e => DbError::Sqlite(e),
        }
    }
}

/// The store's own SQLite work (migrations, the index, checkpoints) calls
/// rusqlite directly.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Db(e.into())
    }
}

impl Error {
    /// The error as it is reported to the caller. Storage failures are logged
    /// with their details and reported without them.
    pub fn to_api(&self) -> ApiError {
        match self {
            Error::Api(e) => e.clone(),
            Error::Db(e) => {
                tracing::error!(error = %e, "database error");
                ApiError::internal("the broker's database failed; see the broker log")
            }
            Error::Config(msg) => {
                tracing::error!(error = %msg, "configuration error");
                ApiError::internal(format!("configuration error: {msg}"))
            }
            Error::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                ApiError::internal(format!("internal error: {msg}"))
            }
        }
    }
}

/// Render an [`ApiError`] as its HTTP response.
pub fn api_response(err: ApiError) -> Response {
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, axum::Json(ErrorBody { error: err.clone() })).into_response();
    if err.code == ErrorCode::RateLimited
        && let Some(ms) = err.retry_after_ms
        && let Ok(v) = axum::http::HeaderValue::from_str(&ms.div_ceil(1000).max(1).to_string())
    {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v);
    }
    resp
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        api_response(self.to_api())
    }
}
