//! What every fake model endpoint of the tests shares: the requests, recorded
//! as they arrive (with a count to wait on), and the script of replies the
//! test queues, each one optionally held until the test releases it (the
//! session is then busy in its turn).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// A queued reply that waits for [`Held::release`].
pub struct Held(Arc<Notify>);

impl Held {
    /// Let the held reply go.
    pub fn release(&self) {
        self.0.notify_one();
    }
}

/// One scripted reply, and the gate it waits on (if held).
pub struct Step<R> {
    pub reply: R,
    pub gate: Option<Arc<Notify>>,
}

impl<R> Step<R> {
    /// Wait for the gate (if any), then give the reply.
    pub async fn released(self) -> R {
        if let Some(g) = self.gate {
            g.notified().await;
        }
        self.reply
    }
}

/// A recorded request as one line of a failure message.
pub trait Describe {
    fn describe(&self) -> String;
}

/// Requests `Q` recorded, replies `R` scripted.
pub struct Recording<R, Q> {
    requests: Mutex<Vec<Q>>,
    count: watch::Sender<usize>,
    script: Mutex<VecDeque<Step<R>>>,
}

impl<R, Q: Clone> Default for Recording<R, Q> {
    fn default() -> Self {
        Self {
            requests: Mutex::new(Vec::new()),
            count: watch::channel(0).0,
            script: Mutex::new(VecDeque::new()),
        }
    }
}

impl<R, Q: Clone + Describe> Recording<R, Q> {
    /// Answer the next unscripted turn with `reply`.
    pub fn then(&self, reply: R) {
        self.script
            .lock()
            .unwrap()
            .push_back(Step { reply, gate: None });
    }

    /// Answer the next unscripted turn with `reply` once the returned
    /// [`Held`] is released.
    pub fn then_held(&self, reply: R) -> Held {
        let gate = Arc::new(Notify::new());
        self.script.lock().unwrap().push_back(Step {
            reply,
            gate: Some(gate.clone()),
        });
        Held(gate)
    }

    /// The next scripted reply, if the test queued one.
    pub fn next_step(&self) -> Option<Step<R>> {
        self.script.lock().unwrap().pop_front()
    }

    /// Record a request as it arrives.
    pub fn record(&self, q: Q) {
        let mut reqs = self.requests.lock().unwrap();
        reqs.push(q);
        self.count.send_replace(reqs.len());
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Q> {
        self.requests.lock().unwrap().clone()
    }

    /// Number of requests so far.
    pub fn len(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// One line per request, for failure messages.
    pub fn summary(&self) -> String {
        let reqs = self.requests();
        let mut s = format!("{} requests recorded:", reqs.len());
        for (i, r) in reqs.iter().enumerate() {
            s.push_str(&format!("\n  #{i} {}", r.describe()));
        }
        s
    }

    /// The first request at index `from` or later that satisfies `pred`,
    /// waiting up to `timeout`; if none comes, an error that names `what`
    /// and lists what did come.
    pub async fn wait_from(
        &self,
        from: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Q) -> bool,
    ) -> Result<Q, String> {
        let mut rx = self.count.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.requests().into_iter().skip(from).find(|r| pred(r)) {
                return Ok(r);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    return Err(format!(
                        "no request to the model within {timeout:?}: {what}; {}",
                        self.summary()
                    ));
                }
            }
        }
    }
}
