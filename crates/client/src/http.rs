//! HTTP calls to the broker, one method per route.

use std::time::Duration;

use claude_peers_proto::api::*;
use claude_peers_proto::coord::*;
use claude_peers_proto::error::ErrorBody;
use claude_peers_proto::{ApiError, ErrorCode};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Endpoint;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The broker answered with an error.
    #[error("{0}")]
    Api(ApiError),
    /// The broker could not be reached.
    #[error("cannot reach the broker at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The broker answered something unexpected.
    #[error("unexpected answer from the broker: {0}")]
    Protocol(String),
}

impl ClientError {
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(e) => Some(e.code),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A page of `GET /v1/peers`.
#[derive(Debug, Clone)]
pub struct PeerPage {
    pub peers: Vec<PeerView>,
    /// The cursor of the next page, if more peers are listed.
    pub next: Option<String>,
}

/// A client of one broker, acting with one token (or none).
#[derive(Clone)]
pub struct BrokerClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// Why TLS could not be set up for this `https://` broker (every call
    /// then fails with it, rather than with a vaguer connection error).
    tls_error: Option<String>,
}

impl BrokerClient {
    pub fn new(endpoint: &Endpoint, token: Option<String>) -> Self {
        Self::with_timeout(endpoint, token, Duration::from_secs(10))
    }

    pub fn with_timeout(endpoint: &Endpoint, token: Option<String>, timeout: Duration) -> Self {
        let (builder, tls_error) = match crate::tls::reqwest_builder(endpoint.tls) {
            Ok(b) => (b, None),
            Err(e) => (crate::tls::plain_reqwest_builder(), Some(e.0)),
        };
        let http = builder
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot build the HTTP client");
                reqwest::Client::new()
            });
        Self {
            http,
            base: endpoint.base_url(),
            token,
            tls_error,
        }
    }

    /// The same client acting with another token.
    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token,
            tls_error: self.tls_error.clone(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    async fn run<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T> {
        Ok(self.run_with_headers(rb).await?.1)
    }

    /// [`Self::run`], also returning the response's headers.
    async fn run_with_headers<T: DeserializeOwned>(
        &self,
        rb: RequestBuilder,
    ) -> Result<(reqwest::header::HeaderMap, T)> {
        if let Some(reason) = &self.tls_error {
            return Err(ClientError::Unreachable {
                url: self.base.clone(),
                reason: reason.clone(),
            });
        }
        let resp = rb.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: describe(&e),
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: describe(&e),
        })?;
        if status.is_success() {
            let body: &[u8] = if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                b"null"
            } else {
                &bytes
            };
            return serde_json::from_slice(body)
                .map(|body| (headers, body))
                .map_err(|e| {
                    ClientError::Protocol(format!("{e} in {}", String::from_utf8_lossy(&bytes)))
                });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => Err(ClientError::Api(b.error)),
            Err(_) => Err(ClientError::Protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))),
        }
    }

    async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T> {
        self.run(self.request(Method::GET, path).query(query)).await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.run(self.request(method, path).json(body)).await
    }

    /// Any route with any JSON body (`null`: none), answered as JSON: for
    /// tools that speak the API as it is (and tests that send what the typed
    /// calls cannot).
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|e| ClientError::Protocol(format!("method {method:?}: {e}")))?;
        if body.is_null() {
            return self.run(self.request(method, path)).await;
        }
        self.send_json(method, path, body).await
    }

    pub async fn health(&self) -> Result<Health> {
        self.get("/health", &()).await
    }

    /// Register, or resume the identity of `resume` (a previously issued token).
    pub async fn register(
        &self,
        req: &RegisterRequest,
        resume: Option<&str>,
    ) -> Result<RegisterResponse> {
        self.register_with(req, resume, None).await
    }

    /// Register presenting the broker's join token (needed from another
    /// machine, or when the broker runs with `--require-token`).
    pub async fn register_with(
        &self,
        req: &RegisterRequest,
        resume: Option<&str>,
        join: Option<&str>,
    ) -> Result<RegisterResponse> {
        let mut rb = self
            .http
            .request(Method::POST, format!("{}/v1/peers", self.base))
            .json(req);
        if let Some(t) = resume {
            rb = rb.bearer_auth(t);
        }
        if let Some(j) = join {
            rb = rb.header(JOIN_HEADER, j);
        }
        self.run(rb).await
    }

    /// The first page of peers (or the page at `q.cursor`); see
    /// [`Self::peers_page`] for the cursor of the next one.
    pub async fn peers(&self, q: &ListPeersQuery) -> Result<Vec<PeerView>> {
        Ok(self.peers_page(q).await?.peers)
    }

    /// One page of peers, and the cursor of the next page if there is one.
    pub async fn peers_page(&self, q: &ListPeersQuery) -> Result<PeerPage> {
        let (headers, peers) = self
            .run_with_headers(self.request(Method::GET, "/v1/peers").query(q))
            .await?;
        let next = headers
            .get(PEERS_NEXT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(PeerPage { peers, next })
    }

    /// Every peer of the listing, page after page (each of the largest size).
    pub async fn all_peers(&self, q: &ListPeersQuery) -> Result<Vec<PeerView>> {
        let mut q = ListPeersQuery {
            limit: Some(claude_peers_proto::limits::MAX_PAGE),
            cursor: None,
            ..q.clone()
        };
        let mut all = Vec::new();
        loop {
            let page = self.peers_page(&q).await?;
            all.extend(page.peers);
            match page.next {
                // (A cursor that does not move on would page forever.)
                Some(next) if q.cursor.as_ref() != Some(&next) => q.cursor = Some(next),
                _ => return Ok(all),
            }
        }
    }

    pub async fn me(&self) -> Result<WhoAmI> {
        self.get("/v1/me", &()).await
    }

    pub async fn update_me(&self, change: &UpdateMe) -> Result<PeerView> {
        self.send_json(Method::PATCH, "/v1/me", change).await
    }

    pub async fn leave(&self, notify: bool) -> Result<()> {
        self.run(
            self.request(Method::DELETE, "/v1/me")
                .query(&LeaveQuery {
                    notify: Some(notify),
                })
                .json(&serde_json::json!({})),
        )
        .await
    }

    pub async fn send(&self, req: &SendRequest) -> Result<SendResult> {
        self.send_json(Method::POST, "/v1/messages", req).await
    }

    pub async fn broadcast(&self, req: &BroadcastRequest) -> Result<BroadcastResult> {
        self.send_json(Method::POST, "/v1/broadcasts", req).await
    }

    pub async fn inbox(&self) -> Result<MessageList> {
        self.get("/v1/inbox", &()).await
    }

    pub async fn check(&self) -> Result<CheckResult> {
        self.send_json(Method::POST, "/v1/inbox/check", &serde_json::json!({}))
            .await
    }

    pub async fn read(&self, ids: Option<Vec<i64>>) -> Result<ReadResult> {
        self.send_json(Method::POST, "/v1/inbox/read", &ReadRequest { ids })
            .await
    }

    pub async fn ack(&self, id: i64) -> Result<AckResult> {
        self.send_json(
            Method::POST,
            &format!("/v1/messages/{id}/ack"),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn sent(&self, limit: Option<u32>) -> Result<MessageList> {
        self.get(
            "/v1/messages/sent",
            &PageQuery {
                limit,
                ..Default::default()
            },
        )
        .await
    }

    pub async fn history(&self, peer: &str, limit: Option<u32>) -> Result<MessageList> {
        self.get(
            "/v1/messages/history",
            &PageQuery {
                peer: Some(peer.to_string()),
                limit,
                ..Default::default()
            },
        )
        .await
    }

    /// One thread, oldest first, as the caller may see it (peer or operator).
    pub async fn thread(&self, id: i64, limit: Option<u32>) -> Result<MessageList> {
        self.get(
            &format!("/v1/threads/{id}"),
            &PageQuery {
                limit,
                ..Default::default()
            },
        )
        .await
    }

    /// Full-text search over the messages the caller may see, best first.
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResult> {
        self.get("/v1/messages/search", q).await
    }

    /// Chains the loop guard holds (operator).
    pub async fn held_chains(&self) -> Result<HeldChainList> {
        self.get("/v1/chains/held", &()).await
    }

    /// Release a held chain: its messages are delivered (operator).
    pub async fn release_chain(&self, id: i64) -> Result<ReleaseResult> {
        self.send_json(Method::POST, &format!("/v1/chains/{id}/release"), &())
            .await
    }

    pub async fn feed(&self, limit: Option<u32>, before: Option<i64>) -> Result<MessageList> {
        self.get(
            "/v1/messages",
            &PageQuery {
                limit,
                before,
                ..Default::default()
            },
        )
        .await
    }

    pub async fn pin(&self, id: i64, pinned: bool) -> Result<()> {
        self.send_json(
            Method::POST,
            &format!("/v1/messages/{id}/pin"),
            &PinRequest { pinned },
        )
        .await
    }

    pub async fn react(&self, id: i64, emoji: &str, remove: bool) -> Result<()> {
        self.send_json(
            Method::POST,
            &format!("/v1/messages/{id}/reactions"),
            &ReactRequest {
                emoji: emoji.to_string(),
                remove,
            },
        )
        .await
    }

    pub async fn groups(&self) -> Result<GroupList> {
        self.get("/v1/groups", &()).await
    }

    pub async fn create_group(&self, name: &str) -> Result<GroupView> {
        self.send_json(
            Method::POST,
            "/v1/groups",
            &CreateGroup {
                name: name.to_string(),
            },
        )
        .await
    }

    pub async fn delete_group(&self, id_or_name: &str) -> Result<()> {
        self.send_json(
            Method::DELETE,
            &format!("/v1/groups/{}", segment(id_or_name)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn assign_group(&self, peer: &str, group: Option<&str>) -> Result<()> {
        self.send_json(
            Method::PUT,
            &format!("/v1/peers/{}/group", segment(peer)),
            &AssignGroup {
                group: group.map(str::to_string),
            },
        )
        .await
    }

    pub async fn state(&self) -> Result<DashboardState> {
        self.get("/v1/state", &()).await
    }

    pub async fn shutdown(&self, stay_down: bool) -> Result<ShutdownResult> {
        self.send_json(Method::POST, "/v1/shutdown", &ShutdownRequest { stay_down })
            .await
    }

    // ------------------------------------------------------ coordination

    async fn text<Q: Serialize + ?Sized>(&self, path: &str, query: &Q) -> Result<String> {
        let resp = self
            .request(Method::GET, path)
            .query(query)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: describe(&e),
            })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: describe(&e),
        })?;
        if status.is_success() {
            return Ok(body);
        }
        match serde_json::from_str::<ErrorBody>(&body) {
            Ok(b) => Err(ClientError::Api(b.error)),
            Err(_) => Err(ClientError::Protocol(format!("HTTP {status}: {body}"))),
        }
    }

    pub async fn send_structured(&self, req: &StructuredRequest) -> Result<SendResult> {
        self.send_json(Method::POST, "/v1/messages/structured", req)
            .await
    }

    pub async fn post_decision(&self, req: &PostDecision) -> Result<DecisionView> {
        self.send_json(Method::POST, "/v1/decisions", req).await
    }

    pub async fn decisions(&self, q: &DecisionQuery) -> Result<Vec<DecisionView>> {
        self.get("/v1/decisions", q).await
    }

    pub async fn revoke_decision(&self, id: &str) -> Result<DecisionView> {
        self.send_json(
            Method::POST,
            &format!("/v1/decisions/{}/revoke", seg(id)),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn request_verification(
        &self,
        req: &RequestVerification,
    ) -> Result<VerificationView> {
        self.send_json(Method::POST, "/v1/verifications", req).await
    }

    pub async fn respond_verification(
        &self,
        id: &str,
        req: &RespondVerification,
    ) -> Result<VerificationView> {
        self.send_json(
            Method::POST,
            &format!("/v1/verifications/{}/respond", seg(id)),
            req,
        )
        .await
    }

    pub async fn verifications(
        &self,
        q: &ListQuery<VerificationStatus>,
    ) -> Result<Vec<VerificationView>> {
        self.get("/v1/verifications", q).await
    }

    pub async fn create_proposal(&self, req: &CreateProposal) -> Result<ProposalView> {
        self.send_json(Method::POST, "/v1/proposals", req).await
    }

    pub async fn vote(&self, id: &str, req: &CastVote) -> Result<ProposalView> {
        self.send_json(
            Method::POST,
            &format!("/v1/proposals/{}/votes", seg(id)),
            req,
        )
        .await
    }

    pub async fn proposals(&self, q: &ListQuery<ProposalStatus>) -> Result<Vec<ProposalView>> {
        self.get("/v1/proposals", q).await
    }

    pub async fn create_task(&self, req: &CreateTask) -> Result<TaskView> {
        self.send_json(Method::POST, "/v1/tasks", req).await
    }

    pub async fn start_task(&self, id: &str) -> Result<TaskView> {
        self.start_task_with(id, &StartTask::default()).await
    }

    /// Start a task, or (with `blocked`) mark one's own task blocked.
    pub async fn start_task_with(&self, id: &str, req: &StartTask) -> Result<TaskView> {
        self.send_json(Method::POST, &format!("/v1/tasks/{}/start", seg(id)), req)
            .await
    }

    pub async fn complete_task(&self, id: &str, req: &CompleteTask) -> Result<TaskView> {
        self.send_json(
            Method::POST,
            &format!("/v1/tasks/{}/complete", seg(id)),
            req,
        )
        .await
    }

    pub async fn tasks(&self, q: &ListQuery<TaskStatus>) -> Result<Vec<TaskView>> {
        self.get("/v1/tasks", q).await
    }

    pub async fn request_approval(&self, req: &RequestApproval) -> Result<ApprovalView> {
        self.send_json(Method::POST, "/v1/approvals", req).await
    }

    pub async fn respond_approval(&self, id: &str, req: &RespondApproval) -> Result<ApprovalView> {
        self.send_json(
            Method::POST,
            &format!("/v1/approvals/{}/respond", seg(id)),
            req,
        )
        .await
    }

    pub async fn approvals(&self, q: &ListQuery<ApprovalStatus>) -> Result<Vec<ApprovalView>> {
        self.get("/v1/approvals", q).await
    }

    pub async fn set_active_files(&self, req: &SetActiveFiles) -> Result<ActiveFilesResult> {
        self.send_json(Method::PUT, "/v1/files", req).await
    }

    pub async fn active_files(&self) -> Result<Vec<ActiveFilesView>> {
        self.get("/v1/files", &()).await
    }

    /// The markdown session report (the current session, or `session`).
    pub async fn session_report(&self, session: Option<&str>) -> Result<String> {
        self.text(
            "/v1/session/report",
            &SessionQuery {
                session: session.map(str::to_string),
            },
        )
        .await
    }

    /// A session's messages as text (operator).
    pub async fn session_export(&self, session: Option<&str>) -> Result<String> {
        self.text(
            "/v1/session/export",
            &SessionQuery {
                session: session.map(str::to_string),
            },
        )
        .await
    }

    pub async fn sessions(&self) -> Result<Vec<SessionView>> {
        self.get("/v1/sessions", &()).await
    }

    /// Begin a new session now (operator).
    pub async fn begin_session(&self) -> Result<SessionView> {
        self.send_json(Method::POST, "/v1/sessions", &serde_json::json!({}))
            .await
    }

    /// Audit entries, newest first (operator).
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<serde_json::Value>> {
        self.get("/v1/audit", q).await
    }

    /// Pending permission requests, newest first (operator).
    pub async fn permissions(&self) -> Result<claude_peers_proto::permissions::PermissionList> {
        self.get("/v1/permissions", &()).await
    }

    /// Allow or deny a pending permission request (operator).
    pub async fn answer_permission(
        &self,
        id: &str,
        behavior: claude_peers_proto::permissions::Behavior,
    ) -> Result<claude_peers_proto::permissions::PermissionAnswered> {
        self.send_json(
            Method::POST,
            &format!("/v1/permissions/{}", seg(id)),
            &claude_peers_proto::permissions::AnswerPermission { behavior },
        )
        .await
    }

    /// A session's `PermissionRequest` hook: put this tool use of the caller's
    /// own session in the operator's lane and wait up to `req.wait_ms` for the
    /// answer (the client's timeout must be longer).
    pub async fn ask_permission(
        &self,
        req: &claude_peers_proto::permissions::HookPermissionRequest,
    ) -> Result<claude_peers_proto::permissions::HookPermissionAnswer> {
        self.send_json(Method::POST, "/v1/me/permission", req).await
    }

    /// Everything waiting on the operator, newest first (operator).
    pub async fn needs_you(&self) -> Result<claude_peers_proto::needs_you::NeedsYou> {
        self.get("/v1/needs-you", &()).await
    }

    /// Mark the messages to the operator up to `upto` as seen (operator).
    pub async fn mark_operator_read(&self, upto: i64) -> Result<()> {
        self.send_json::<serde_json::Value, _>(
            Method::POST,
            "/v1/needs-you/read",
            &claude_peers_proto::needs_you::MarkRead { upto },
        )
        .await
        .map(|_| ())
    }

    /// Take one unreachable mail out of the lane (operator).
    pub async fn dismiss_mail(&self, message_id: i64, recipient: &str) -> Result<()> {
        self.send_json::<serde_json::Value, _>(
            Method::POST,
            "/v1/needs-you/dismiss",
            &claude_peers_proto::needs_you::DismissMail {
                message_id,
                recipient: recipient.to_string(),
            },
        )
        .await
        .map(|_| ())
    }

    /// A raw call, for routes added later or for tests.
    pub async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let rb = self.request(method, path);
        match body {
            Some(b) => self.run(rb.json(b)).await,
            None => self.run(rb).await,
        }
    }
}

/// Percent-encode one path segment (ids typed by agents may hold anything).
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.trim().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    if let Some(why) = crate::tls::explain(e) {
        return why;
    }
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

impl From<ApiError> for ClientError {
    fn from(e: ApiError) -> Self {
        ClientError::Api(e)
    }
}

/// `s` as one URL path segment: everything but the unreserved characters is
/// percent-encoded, so a group named `app/main` (an automatic group) stays
/// one segment.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("app/main"), "app%2Fmain");
        assert_eq!(segment("docs-team_1.x~"), "docs-team_1.x~");
        assert_eq!(segment("a b%é"), "a%20b%25%C3%A9");
    }
}
