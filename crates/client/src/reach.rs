//! Calls of the delivery ladder: report how the peer can be reached, read its
//! unread ids, take the messages a hook adds to the context, and the `Stop`
//! hook's waiter (`GET /v1/wake`, a WebSocket).

use claude_peers_proto::api::PeerView;
use claude_peers_proto::reach::{InjectRequest, InjectResult, ReachFacts, UnreadIds, WakeFrame};
use futures_util::StreamExt;
use reqwest::Method;
use tokio_tungstenite::tungstenite::Message;

use crate::Endpoint;
use crate::http::{BrokerClient, Result};

impl BrokerClient {
    /// `PUT /v1/me/reach`.
    pub async fn report_reach(&self, facts: &ReachFacts) -> Result<PeerView> {
        self.call(Method::PUT, "/v1/me/reach", Some(facts)).await
    }

    /// `GET /v1/me/unread`.
    pub async fn unread_ids(&self) -> Result<UnreadIds> {
        self.call::<_, ()>(Method::GET, "/v1/me/unread", None).await
    }

    /// `POST /v1/me/inject`.
    pub async fn inject(&self, req: &InjectRequest) -> Result<InjectResult> {
        self.call(Method::POST, "/v1/me/inject", Some(req)).await
    }
}

/// What ended one round of waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEnd {
    /// Wake the session: `count` messages from these senders.
    Wake { count: u32, from: Vec<String> },
    /// The broker ended the round (re-arm), or the connection dropped.
    Again(String),
    /// The peer left: stop waiting.
    Done(String),
}

/// One round of the waiter: connect to `/v1/wake` and wait for the broker's word.
/// `armed` is called once the broker confirms the waiter.
pub async fn wait_once(
    endpoint: &Endpoint,
    token: &str,
    cc_session: &str,
    armed: impl FnOnce(),
) -> std::result::Result<WaitEnd, String> {
    let mut q = String::new();
    for b in cc_session.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            q.push(b as char);
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    let mut ws = crate::stream::open(endpoint, &format!("/v1/wake?cc_session={q}"), token)
        .await
        .map_err(|e| format!("cannot open the wake waiter: {e}"))?;
    let mut armed = Some(armed);
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<WakeFrame>(t.as_str()) {
                Ok(WakeFrame::Armed) => {
                    if let Some(f) = armed.take() {
                        f();
                    }
                }
                Ok(WakeFrame::Wake { count, from }) => return Ok(WaitEnd::Wake { count, from }),
                Ok(WakeFrame::Done { reason }) if reason == "re-arm" => {
                    return Ok(WaitEnd::Again(reason));
                }
                Ok(WakeFrame::Done { reason }) => return Ok(WaitEnd::Done(reason)),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable wake frame"),
            },
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return Ok(WaitEnd::Again("connection closed".into()));
            }
            Some(Ok(_)) => {}
        }
    }
}
