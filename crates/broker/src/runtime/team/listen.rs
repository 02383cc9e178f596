//! The `LISTEN` connection: one per broker, on a thread of its own, feeding
//! the other brokers' notes to the local hub in commit order.
//!
//! On (re)connecting it first listens, then reads who is connected where
//! and which brokers are alive, then tells every local stream to read the
//! store: whatever was committed while it was not listening is read from
//! there, and nothing announced after is missed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::wire::{Note, Payload};
use crate::error::{Error, Result};

/// How long the thread waits between attempts to connect again.
const RETRY: Duration = Duration::from_millis(500);
/// Most notifications applied at once.
const BATCH: usize = 256;
/// The listener's connection as `pg_stat_activity` names it.
pub const APPLICATION_NAME: &str = "claude-peers listen";
/// How often the thread looks up from waiting (to notice a lost connection).
const POLL: Duration = Duration::from_millis(500);

/// What the listener hands the hub.
pub trait Receiver: Send + Sync + 'static {
    /// Notes another broker committed (or announced), in order.
    fn notes(&self, from: &str, notes: Vec<Note>);
    /// The listener (re)connected: who holds which stream now, per the
    /// database; every local stream should read the store again.
    fn resync(&self, streams: HashMap<String, String>);
}

/// Start listening on `url` for the brokers other than `instance`; returns
/// once the first `LISTEN` is in place (so nothing committed after the
/// broker starts serving is missed).
pub async fn start(url: &str, instance: &str, receiver: Arc<dyn Receiver>) -> Result<()> {
    let (ready, started) = tokio::sync::oneshot::channel::<Result<()>>();
    let url = url.to_string();
    let instance = instance.to_string();
    std::thread::Builder::new()
        .name("team-listen".into())
        .spawn(move || run(&url, &instance, receiver.as_ref(), Some(ready)))
        .map_err(|e| Error::Internal(format!("cannot start the listener thread: {e}")))?;
    started
        .await
        .map_err(|_| Error::Internal("the listener thread stopped".into()))?
}

fn run(
    url: &str,
    instance: &str,
    receiver: &dyn Receiver,
    mut ready: Option<tokio::sync::oneshot::Sender<Result<()>>>,
) {
    loop {
        match connect(url, receiver) {
            Ok(mut client) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
                if let Err(e) = listen(&mut client, instance, receiver) {
                    tracing::warn!(error = %e, "the connection for other brokers' notifications was lost; connecting again");
                }
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(Error::Internal(format!(
                        "cannot listen for the other brokers: {e}"
                    ))));
                    return;
                }
                tracing::warn!(error = %e, "cannot listen for the other brokers; retrying");
            }
        }
        std::thread::sleep(RETRY);
    }
}

/// Connect, `LISTEN`, and resynchronise the hub.
fn connect(
    url: &str,
    receiver: &dyn Receiver,
) -> std::result::Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.application_name(APPLICATION_NAME);
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN {}", super::CHANNEL))?;
    let streams: HashMap<String, String> = client
        .query(
            "SELECT id, stream_broker FROM peers WHERE stream_broker IS NOT NULL",
            &[],
        )?
        .into_iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
        .collect();
    receiver.resync(streams);
    Ok(client)
}

fn listen(
    client: &mut postgres::Client,
    instance: &str,
    receiver: &dyn Receiver,
) -> std::result::Result<(), String> {
    loop {
        // Wait for one (up to POLL), then take those already arrived.
        let mut got = Vec::new();
        {
            let mut n = client.notifications();
            let first = n
                .timeout_iter(POLL)
                .next()
                .map_err(|e| e.to_string())?
                .map(|f| f.payload().to_string());
            if let Some(first) = first {
                got.push(first);
                let mut pending = n.iter();
                while got.len() < BATCH
                    && let Some(note) = pending.next().map_err(|e| e.to_string())?
                {
                    got.push(note.payload().to_string());
                }
            }
        }
        for payload in got {
            let parsed: Payload = match serde_json::from_str(&payload) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "an unreadable notification from another broker");
                    continue;
                }
            };
            if parsed.b == instance {
                continue;
            }
            let mut notes = Vec::with_capacity(parsed.n.len());
            for note in parsed.n {
                match note {
                    Note::EventRef(id) => {
                        let row = client
                            .query_opt("SELECT frame FROM team_events WHERE id = $1", &[&id])
                            .map_err(|e| e.to_string())?;
                        if let Some(frame) = row.and_then(|r| r.try_get::<_, String>(0).ok()) {
                            notes.push(Note::Event(frame));
                        }
                    }
                    other => notes.push(other),
                }
            }
            receiver.notes(&parsed.b, notes);
        }
        if client.is_closed() {
            return Err("the server closed the connection".into());
        }
    }
}
