//! One broker serves a PostgreSQL database at a time, until brokers share
//! one (LISTEN/NOTIFY push, shared maintenance: docs/TEAM.md): a
//! session-level advisory lock, taken before the broker binds its port and
//! held on a connection of its own for the broker's life. A second broker on
//! the same database is refused with a message; one started with
//! `--standby` waits for the lock and takes over when the first one's
//! connection ends (it stopped, or died: the server frees the lock).

use crate::error::{Error, Result};

/// The advisory lock key ("clpeer" and 2; migrations use 1).
const SERVING_LOCK: i64 = 0x636c_7065_6572_0002;

/// Take the serving lock on `url` (waiting for it if `wait`), and keep it
/// until the process ends.
pub async fn hold(url: &str, wait: bool) -> Result<()> {
    let url = url.to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<()>>();
    // The synchronous client runs its own runtime: a thread of its own,
    // which keeps the connection (and the lock) open afterwards.
    std::thread::Builder::new()
        .name("store-serving-lock".into())
        .spawn(move || {
            let mut client = match postgres::Client::connect(&url, postgres::NoTls) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(Error::Internal(format!(
                        "cannot connect to PostgreSQL for the serving lock: {e}"
                    ))));
                    return;
                }
            };
            let taken = if wait {
                client
                    .execute(&format!("SELECT pg_advisory_lock({SERVING_LOCK})"), &[])
                    .map(|_| true)
            } else {
                client
                    .query_one(&format!("SELECT pg_try_advisory_lock({SERVING_LOCK})"), &[])
                    .and_then(|row| row.try_get::<_, bool>(0))
            };
            let answer = match taken {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::Internal(
                    "another broker already serves this PostgreSQL database (several brokers \
                     on one database are not supported yet, docs/TEAM.md); start this one with \
                     --standby to take over when that one stops"
                        .into(),
                )),
                Err(e) => Err(Error::Internal(format!(
                    "cannot take the serving lock: {e}"
                ))),
            };
            let held = answer.is_ok();
            let _ = tx.send(answer);
            if held {
                loop {
                    std::thread::park();
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the serving-lock thread: {e}")))?;
    rx.await
        .map_err(|_| Error::Internal("the serving-lock thread stopped".into()))?
}
