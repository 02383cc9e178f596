//! The `delivered` answers of peer streams, stored together: one write for
//! every answer that arrived while the previous write ran (as the store's
//! group commit does for requests), instead of one write per answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use claude_peers_proto::reach::Rung;
use tokio::sync::oneshot;

use crate::domain::messages;
use crate::domain::shown;
use crate::error::Result;
use crate::runtime::reach::Facts;
use crate::runtime::store::{Store, Tx};

/// One stream's `delivered` answer.
#[derive(Clone)]
pub struct Ack {
    pub peer: String,
    pub ids: Vec<i64>,
    pub rung: Option<Rung>,
    /// How the peer was reached when it answered (decides the rung recorded).
    pub facts: Facts,
}

/// An answer waiting to be stored, and the stream waiting for that (each
/// stream has at most one answer in flight, so a stream that floods answers
/// is slowed to the store's pace).
struct Waiting {
    ack: Ack,
    _stored: oneshot::Sender<()>,
}

/// The `delivered` answers of every stream, stored together: while one
/// write runs, the answers that arrive wait and go into the next one.
pub struct Acks {
    store: Store,
    waiting: Mutex<Vec<Waiting>>,
    /// A task is storing answers.
    flushing: AtomicBool,
}

impl Acks {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            waiting: Mutex::default(),
            flushing: AtomicBool::new(false),
        }
    }

    /// Store `ack` with whatever else waits; returns once it is stored (or
    /// failed, which is logged).
    pub async fn store(self: &Arc<Self>, ack: Ack) {
        let (tx, rx) = oneshot::channel();
        self.lock().push(Waiting { ack, _stored: tx });
        if !self.flushing.swap(true, Ordering::AcqRel) {
            let acks = self.clone();
            tokio::spawn(async move { acks.flush().await });
        }
        let _ = rx.await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Store answers until none wait.
    async fn flush(&self) {
        loop {
            let batch = std::mem::take(&mut *self.lock());
            if batch.is_empty() {
                self.flushing.store(false, Ordering::Release);
                // An answer added after the `take` above found the flag still
                // set and started no task: take it now, unless another did.
                if self.lock().is_empty() || self.flushing.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            let acks: Vec<Ack> = batch.iter().map(|w| w.ack.clone()).collect();
            let n = acks.len();
            if let Err(e) = self.store.write(move |t| record(t, &acks)).await {
                tracing::warn!(answers = n, error = %e, "cannot record deliveries");
                if n > 1 {
                    // One at a time, so that one bad answer does not lose the others.
                    for w in &batch {
                        let ack = [w.ack.clone()];
                        if let Err(e) = self.store.write(move |t| record(t, &ack)).await {
                            tracing::warn!(peer = %w.ack.peer, error = %e, "cannot record a delivery");
                        }
                    }
                }
            }
            // Dropping the batch tells its streams.
        }
    }
}

/// Record answers: the rung that showed the messages, and `delivered`.
fn record(t: &mut Tx<'_>, acks: &[Ack]) -> Result<()> {
    for a in acks {
        if let Some(rung) = a.rung {
            let rung = shown::effective(rung, &a.facts);
            shown::record(t, &a.peer, &a.facts.session_key(), &a.ids, rung)?;
        }
        messages::mark_delivered(t, &a.peer, &a.ids)?;
    }
    Ok(())
}
