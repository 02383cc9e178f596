//! The link to the broker, in the background from the first moment: find or
//! start the broker, register (or resume with the saved token), report how the
//! session can be reached, open the stream and keep it open — reconnecting
//! with backoff, and starting the broker again if it died.
//!
//! With a list of brokers (`CLAUDE_PEERS_BROKERS`) each attempt tries them in
//! order and keeps the first that answers; the saved token resumes the same
//! peer there, and the session's record of shown messages keeps each message
//! pushed once across the move.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use claude_peers_client::autostart::{
    Probe, ensure_broker, probe, stopped_on_purpose, unreachable,
};
use claude_peers_client::credentials::{self, Credentials};
use claude_peers_client::stream::{Incoming, Stream};
use claude_peers_client::{BrokerClient, Endpoint};
use claude_peers_proto::api::{MessageView, RegisterRequest};
use claude_peers_proto::reach::{ReachFacts, Rung};
use claude_peers_proto::stream::{ClientFrame, ServerFrame};

use super::{Registered, Session, lock};
use crate::git;

/// Most ids one `delivered` frame carries.
const ACK_BATCH: usize = claude_peers_proto::limits::MAX_DELIVERED_IDS;

impl Session {
    async fn registration(&self) -> RegisterRequest {
        let cached = lock(&self.repo).clone();
        let repo = match cached {
            Some(r) => r,
            None => {
                let r = git::repo_info(&self.opts.cwd).await;
                *lock(&self.repo) = Some(r.clone());
                r
            }
        };
        let pid = std::process::id();
        RegisterRequest {
            pid,
            pid_start: claude_peers_proto::process::start_time(pid),
            cwd: self.opts.cwd.display().to_string(),
            git_root: repo.root,
            git_common_dir: repo.common_dir,
            git_branch: repo.branch,
            tty: git::tty_of(self.parent_pid).await,
            summary: Some(lock(&self.summary).clone()).filter(|s| !s.is_empty()),
            name: self.opts.name.clone(),
            cc_session: self.host.cc_session.clone(),
        }
    }

    /// What this process knows about how the session can be reached.
    fn facts(&self) -> ReachFacts {
        ReachFacts {
            cc_session: self.host.cc_session.clone(),
            client: self.client_info.get().cloned(),
            socket: Some(self.host.socket.is_some() && !self.socket_broken.load(Ordering::Relaxed)),
            inbound: self.host.inbound,
            permission_mode: self.host.permission_mode.clone(),
        }
    }

    /// Tell the broker how the session can be reached (after each registration,
    /// the handshake, and a change of rung).
    pub(super) async fn report_reach(&self) {
        let client = self.reg.borrow().as_ref().map(|r| r.client.clone());
        if let Some(c) = client {
            match c.report_reach(&self.facts()).await {
                Ok(me) => self.set_me(me),
                Err(e) => tracing::warn!(error = %e, "cannot report how this session is reached"),
            }
        }
    }

    /// Register with the saved token (resume) or anew, under the lock the
    /// session's hooks take too, so both end up as one peer.
    async fn register(
        &self,
        endpoint: &Endpoint,
    ) -> Result<(BrokerClient, claude_peers_proto::api::PeerView), String> {
        let req = self.registration().await;
        let dir = endpoint.paths().sessions;
        let start = claude_peers_proto::process::start_time(self.parent_pid);
        let _guard = credentials::register_lock(&dir, self.parent_pid, start).await;
        let cc = self.host.cc_session.as_deref();
        // This process's slot, else the session's identity (a resumed session
        // in a new Claude Code process is the same peer).
        let saved = self
            .claim
            .as_ref()
            .and_then(|c| credentials::load(&c.path))
            .or_else(|| {
                cc.and_then(|s| credentials::load_session(&dir, s, self.parent_pid, start))
            });
        let anon = BrokerClient::new(endpoint, None);
        let resp = anon
            .register_with(
                &req,
                saved.as_ref().map(|c| c.token.as_str()),
                self.opts.join_token.as_deref(),
            )
            .await
            .map_err(|e| format!("registration failed: {e}"))?;
        let token = match (&resp.token, &saved) {
            (Some(t), _) => {
                let creds = Credentials {
                    peer_id: resp.peer.id.clone(),
                    token: t.clone(),
                };
                if let Some(c) = &self.claim
                    && let Err(e) = credentials::save(&c.path, &creds)
                {
                    tracing::warn!(error = %e, path = %c.path.display(), "cannot save the peer token");
                }
                t.clone()
            }
            (None, Some(c)) => {
                if let Some(slot) = &self.claim
                    && let Err(e) = credentials::save(&slot.path, c)
                {
                    tracing::warn!(error = %e, path = %slot.path.display(), "cannot save the peer token");
                }
                c.token.clone()
            }
            (None, None) => return Err("the broker resumed a peer without a token".into()),
        };
        if let Some(s) = cc {
            let creds = Credentials {
                peer_id: resp.peer.id.clone(),
                token: token.clone(),
            };
            if let Err(e) = credentials::save_session(&dir, s, &creds, self.parent_pid, start) {
                tracing::warn!(error = %e, "cannot save the session's identity");
            }
        }
        tracing::info!(name = %resp.peer.name, id = %resp.peer.id, resumed = resp.resumed, "registered");
        Ok((BrokerClient::new(endpoint, Some(token)), resp.peer))
    }

    /// Connect to the first broker of the list that takes us.
    async fn connect(&self) -> Result<Stream, String> {
        let mut errors = Vec::new();
        for endpoint in self.opts.brokers.endpoints() {
            match self.connect_to(endpoint).await {
                Ok(stream) => return Ok(stream),
                Err(e) if self.opts.brokers.endpoints().len() == 1 => return Err(e),
                Err(e) => {
                    tracing::info!(broker = %endpoint.base_url(), error = %e, "trying the next broker");
                    errors.push(format!("{}: {e}", endpoint.base_url()));
                }
            }
        }
        Err(format!(
            "no broker of the list answers ({})",
            errors.join("; ")
        ))
    }

    /// Find the broker (starting it, for the default local one), register or
    /// resume, report the reach, open the stream.
    async fn connect_to(&self, endpoint: &Endpoint) -> Result<Stream, String> {
        // Told to stay down by the shutdown frame, or (a frame missed while
        // reconnecting) by the marker `kill-broker` leaves; a new session
        // still starts the broker.
        let held = self.stay_down.load(Ordering::Relaxed)
            || (self.reg.borrow().is_some() && stopped_on_purpose(endpoint));
        if held || !self.opts.brokers.autostart() {
            match probe(endpoint).await {
                Probe::Ours(h) => {
                    self.relay.learned(h.permission_relay);
                    self.stay_down.store(false, Ordering::Relaxed)
                }
                _ if held => {
                    return Err(
                        "the broker was stopped on purpose; waiting for it to come back".into(),
                    );
                }
                Probe::Foreign(why) => {
                    return Err(format!(
                        "{} answers, but not as a claude-peers broker ({why})",
                        endpoint.base_url()
                    ));
                }
                Probe::Down => return Err(unreachable(endpoint).await),
            }
        } else {
            let h = ensure_broker(endpoint, &self.opts.exe).await?;
            self.relay.learned(h.permission_relay);
        }
        if self.leaving.load(Ordering::SeqCst) {
            return Err("the session is over".into());
        }
        let (client, me) = self.register(endpoint).await?;
        eprint!("\x1b]0;{}\x07", me.name);
        let token = client.token().unwrap_or_default().to_string();
        self.reg.send_replace(Some(Registered { client, me }));
        self.report_reach().await;
        let stream = Stream::connect(endpoint, &token).await?;
        tracing::info!(broker = %endpoint.base_url(), "stream open");
        *lock(&self.last_error) = None;
        Ok(stream)
    }

    pub(super) async fn link_loop(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            if self.leaving.load(Ordering::SeqCst) {
                return;
            }
            match self.connect().await {
                Ok(stream) => {
                    backoff = Duration::from_millis(50);
                    if lock(&self.snapshot).is_none() {
                        self.refresh_in_background();
                    }
                    self.run_stream(stream).await;
                    tracing::info!("stream closed; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot connect to the broker");
                    *lock(&self.last_error) = Some(e);
                }
            }
            let jitter = Duration::from_millis(u64::from(std::process::id() % 50));
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn run_stream(&self, stream: Stream) {
        let (mut reader, mut writer) = stream.split();
        let acks = self.ack_rx.clone();
        let typing = self.typing.clone();
        let out = self.relay.out_rx.clone();
        let writer_task = tokio::spawn(async move {
            let mut rx = acks.lock().await;
            let mut out = out.lock().await;
            // An ack of another rung waits for the next frame.
            let mut held: Option<(i64, Option<Rung>)> = None;
            loop {
                let frame = tokio::select! {
                    first = async { match held.take() { Some(a) => Some(a), None => rx.recv().await } } => {
                        let Some((first, rung)) = first else { break };
                        let mut ids = vec![first];
                        while ids.len() < ACK_BATCH {
                            match rx.try_recv() {
                                Ok((id, r)) if r == rung => ids.push(id),
                                Ok(other) => {
                                    held = Some(other);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        ClientFrame::Delivered { ids, rung }
                    }
                    _ = typing.notified() => ClientFrame::Typing,
                    Some(frame) = out.recv() => frame,
                };
                if writer.send(&frame).await.is_err() {
                    break;
                }
            }
            writer.close().await;
        });
        self.relay.resend();
        loop {
            match reader.next().await {
                Incoming::Frame(ServerFrame::Hello { peer: Some(p), .. }) => self.set_me(*p),
                Incoming::Frame(ServerFrame::Message { message, shown }) => {
                    self.receive(*message, shown)
                }
                Incoming::Frame(ServerFrame::PermissionDecision { decision }) => {
                    self.write_permission_answer(decision).await
                }
                Incoming::Frame(ServerFrame::Shutdown { stay_down, reason }) => {
                    tracing::info!(%reason, stay_down, "the broker is stopping");
                    self.stay_down.store(stay_down, Ordering::Relaxed);
                }
                Incoming::Frame(_) => {}
                Incoming::Garbled(e) => tracing::warn!(error = %e, "skipping an unreadable frame"),
                Incoming::Closed => break,
            }
        }
        writer_task.abort();
    }

    /// Write the operator's answer to a permission request into the session.
    async fn write_permission_answer(
        &self,
        d: claude_peers_proto::permissions::PermissionDecision,
    ) {
        let (Some(n), Some(peer)) = (self.relay.answer(d), self.mcp.get()) else {
            return;
        };
        if let Err(e) = peer
            .send_notification(rmcp::model::ServerNotification::CustomNotification(n))
            .await
        {
            tracing::warn!(error = %e, "cannot write a permission answer to Claude Code");
        }
    }

    /// A message for this peer: push it, unless the session was shown it
    /// already (by this process, or by any rung as the broker says): then it
    /// only counts as unread.
    fn receive(&self, m: MessageView, shown_by: Option<Rung>) {
        let shown = {
            let mut inbox = lock(&self.inbox);
            let shown = inbox.is_shown(m.id) || shown_by.is_some();
            if shown_by.is_some() {
                inbox.mark_shown(m.id);
            }
            inbox.unread.insert(m.id);
            shown
        };
        self.arrived.notify_waiters();
        if shown {
            tracing::debug!(
                id = m.id,
                ?shown_by,
                "already shown to this session; not pushed again"
            );
            let _ = self.ack_tx.send((m.id, None));
        } else {
            let _ = self.push_tx.send(m);
        }
    }
}
