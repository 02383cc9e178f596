//! The permission relay on the MCP side.
//!
//! Whether this session takes part is decided once, while answering
//! `initialize` (Claude Code reads capabilities only then): the server waits up
//! to [`RELAY_PROBE_WAIT_MS`] for the broker's `/health` (which the link loop
//! reads before registering) to say whether `--permission-relay` is on. If the
//! broker has not answered by then, the server follows
//! `CLAUDE_PEERS_PERMISSION_RELAY` in its own environment, which is what a
//! broker it starts itself inherits. When on, it declares
//! `experimental["claude/channel/permission"]`; Claude Code then sends each
//! permission prompt as `notifications/claude/channel/permission_request`,
//! which goes to the broker as a stream frame; the operator's answer comes back
//! as a frame and is written as `notifications/claude/channel/permission`.
//! Requests not yet answered are sent again after a reconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use claude_peers_proto::limits::{
    DEFAULT_PERMISSION_TIMEOUT_MS, MAX_PENDING_PERMISSIONS_PER_PEER, RELAY_PROBE_WAIT_MS,
};
use claude_peers_proto::permissions::{ANSWER_METHOD, PermissionDecision, PermissionRequest};
use claude_peers_proto::stream::ClientFrame;
use rmcp::model::CustomNotification;
use tokio::sync::{mpsc, watch};

/// The environment variable that turns the relay on (broker flag and fallback here).
pub const RELAY_ENV: &str = "CLAUDE_PEERS_PERMISSION_RELAY";

/// A request not yet answered by the operator, kept to be sent again after a reconnect.
struct Waiting {
    request: PermissionRequest,
    since: Instant,
}

pub struct Relay {
    /// What the broker's `/health` said (`None` until it answered).
    broker: watch::Sender<Option<bool>>,
    /// What this server declared in `initialize`.
    declared: OnceLock<bool>,
    waiting: Mutex<HashMap<String, Waiting>>,
    out_tx: mpsc::UnboundedSender<ClientFrame>,
    /// Frames for the broker; the current stream's writer holds the lock.
    pub out_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<ClientFrame>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a flag variable's value means "on" (`1`, `true`, `yes`).
pub fn flag_on(value: Option<&str>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes")
    )
}

impl Default for Relay {
    fn default() -> Self {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        Self {
            broker: watch::channel(None).0,
            declared: OnceLock::new(),
            waiting: Mutex::default(),
            out_tx,
            out_rx: Arc::new(tokio::sync::Mutex::new(out_rx)),
        }
    }
}

impl Relay {
    /// The broker told us its setting (from `/health`).
    pub fn learned(&self, on: bool) {
        self.broker.send_replace(Some(on));
    }

    /// Decide, once, whether to declare the permission capability (see the
    /// module doc). Later calls return the first decision.
    pub async fn decide(&self) -> bool {
        if let Some(d) = self.declared.get() {
            return *d;
        }
        let mut rx = self.broker.subscribe();
        let wait = Duration::from_millis(RELAY_PROBE_WAIT_MS);
        let on = match tokio::time::timeout(wait, rx.wait_for(|v| v.is_some())).await {
            Ok(Ok(v)) => v.unwrap_or(false),
            _ => {
                let fallback = flag_on(std::env::var(RELAY_ENV).ok().as_deref());
                tracing::info!(
                    fallback,
                    "the broker did not say within {RELAY_PROBE_WAIT_MS} ms whether the permission relay is on; following {RELAY_ENV}"
                );
                fallback
            }
        };
        *self.declared.get_or_init(|| on)
    }

    /// Whether the permission capability was declared.
    pub fn declared(&self) -> bool {
        self.declared.get().copied().unwrap_or(false)
    }

    /// Claude Code sent a permission request: pass it to the broker.
    pub fn request(&self, params: Option<serde_json::Value>) {
        if !self.declared() {
            return;
        }
        let request: PermissionRequest = match params.map(serde_json::from_value).transpose() {
            Ok(Some(r)) => r,
            Ok(None) => {
                tracing::warn!("a permission request without params; ignored");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable permission request; ignored");
                return;
            }
        };
        {
            let mut w = lock(&self.waiting);
            prune(&mut w);
            if w.len() >= MAX_PENDING_PERMISSIONS_PER_PEER
                && let Some(oldest) = w
                    .iter()
                    .min_by_key(|(_, v)| v.since)
                    .map(|(k, _)| k.clone())
            {
                w.remove(&oldest);
            }
            w.insert(
                request.request_id.clone(),
                Waiting {
                    request: request.clone(),
                    since: Instant::now(),
                },
            );
        }
        tracing::info!(request = %request.request_id, tool = %request.tool_name, "relaying a permission request");
        let _ = self.out_tx.send(ClientFrame::PermissionRequest { request });
    }

    /// A new stream is open: send again the requests still waiting.
    pub fn resend(&self) {
        let mut w = lock(&self.waiting);
        prune(&mut w);
        for v in w.values() {
            let _ = self.out_tx.send(ClientFrame::PermissionRequest {
                request: v.request.clone(),
            });
        }
    }

    /// The operator answered: the notification to write to Claude Code, unless
    /// the request is unknown here (already answered).
    pub fn answer(&self, d: PermissionDecision) -> Option<CustomNotification> {
        lock(&self.waiting).remove(&d.request_id)?;
        let params = serde_json::to_value(&d).ok()?;
        Some(CustomNotification::new(ANSWER_METHOD, Some(params)))
    }
}

/// Forget requests older than the broker's default timeout.
fn prune(w: &mut HashMap<String, Waiting>) {
    let ttl = Duration::from_millis(DEFAULT_PERMISSION_TIMEOUT_MS as u64);
    w.retain(|_, v| v.since.elapsed() < ttl);
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_peers_proto::permissions::Behavior;
    use serde_json::json;

    #[tokio::test]
    async fn the_first_decision_sticks() {
        let r = Relay::default();
        r.learned(true);
        assert!(r.decide().await);
        r.learned(false);
        assert!(r.decide().await);
        assert!(r.declared());
    }

    #[tokio::test]
    async fn requests_go_out_once_declared_and_answers_come_back_once() {
        let r = Relay::default();
        r.request(Some(json!({"request_id": "abcde", "tool_name": "Bash"})));
        assert!(r.out_rx.lock().await.try_recv().is_err(), "not declared");
        r.learned(true);
        r.decide().await;
        r.request(Some(json!({"request_id": "abcde", "tool_name": "Bash"})));
        r.request(Some(json!({"nonsense": 1})));
        let mut rx = r.out_rx.lock().await;
        assert!(matches!(
            rx.try_recv(),
            Ok(ClientFrame::PermissionRequest { .. })
        ));
        assert!(rx.try_recv().is_err());
        drop(rx);
        r.resend();
        assert!(r.out_rx.lock().await.try_recv().is_ok(), "sent again");
        let d = PermissionDecision {
            request_id: "abcde".into(),
            behavior: Behavior::Deny,
        };
        let n = r.answer(d.clone()).unwrap();
        assert_eq!(n.method, ANSWER_METHOD);
        assert_eq!(
            n.params,
            Some(json!({"request_id": "abcde", "behavior": "deny"}))
        );
        assert!(r.answer(d).is_none(), "answered once");
    }

    #[test]
    fn flags() {
        assert!(flag_on(Some("1")));
        assert!(flag_on(Some("TRUE")));
        assert!(!flag_on(Some("0")));
        assert!(!flag_on(None));
    }
}
