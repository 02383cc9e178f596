//! The push rungs of the ladder, for each message this MCP server receives
//! and the session was not shown yet:
//! 1. the session's own messaging socket, when Claude Code gave us one (it
//!    wakes an idle session; a session that bypasses permission prompts holds
//!    the message for its user, and the broker records it as held);
//! 2. else a channel notification, once the session has settled.
//!
//! After a push the broker hears `delivered` with the rung, so neither this
//! process after a restart nor another rung shows the message again. A message
//! whose push was never confirmed stays unshown and is pushed again.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use claude_peers_client::turns;
use claude_peers_proto::api::MessageView;
use claude_peers_proto::consent::{PeerCause, TurnOrigin};
use claude_peers_proto::reach::Rung;
use rmcp::model::{CustomNotification, ServerNotification};
use tokio::sync::mpsc;

use super::{Session, lock};
use crate::{channel, msgsocket};

impl Session {
    /// The socket to push to, unless there is none or it failed.
    fn socket(&self) -> Option<&crate::host::MessagingSocket> {
        self.host
            .socket
            .as_ref()
            .filter(|_| !self.socket_broken.load(Ordering::Relaxed))
    }

    /// Whether `m` still needs a push.
    fn needs_push(&self, m: &MessageView) -> bool {
        let inbox = lock(&self.inbox);
        !inbox.is_shown(m.id) && inbox.unread.contains(&m.id)
    }

    pub(super) async fn pusher(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<MessageView>) {
        while let Some(m) = rx.recv().await {
            if !self.needs_push(&m) {
                let _ = self.ack_tx.send((m.id, None));
                continue;
            }
            if let Some(socket) = self.socket() {
                match msgsocket::write(socket, std::slice::from_ref(&m)).await {
                    Ok(()) => {
                        lock(&self.inbox).mark_shown(m.id);
                        let _ = self.ack_tx.send((m.id, Some(Rung::Socket)));
                        tracing::debug!(id = m.id, from = %m.from.name, "written to the session's messaging socket");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the session's messaging socket failed; using the next rung");
                        self.socket_broken.store(true, Ordering::Relaxed);
                        self.report_reach().await;
                    }
                }
            }
            if !self.push_channel(&m).await {
                return;
            }
        }
    }

    /// A channel message reached Claude Code: if the session is idle, the
    /// turn it starts is a peer's (the peer-turn guard,
    /// `claude_peers_client::turns`), until the person's next prompt.
    fn channel_turn(&self) {
        if self
            .client_info
            .get()
            .is_none_or(|c| c.name != "claude-code")
        {
            return;
        }
        let path = turns::file_for(
            &self.opts.brokers.first().paths().sessions,
            self.parent_pid,
            claude_peers_proto::process::start_time(self.parent_pid),
        );
        let r = turns::update(&path, |s| {
            if s.idle {
                s.idle = false;
                s.origin = TurnOrigin::Peer {
                    cause: PeerCause::Channel,
                };
            }
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot record a peer's turn for the peer-turn guard");
        }
    }

    /// Push `m` as a channel notification once the session has settled.
    /// Returns false when Claude Code can no longer be written to.
    async fn push_channel(&self, m: &MessageView) -> bool {
        let mut settled = self.settled.subscribe();
        if settled.wait_for(|s| *s).await.is_err() {
            return false;
        }
        let Some(peer) = self.mcp.get().cloned() else {
            return false;
        };
        if !self.needs_push(m) {
            let _ = self.ack_tx.send((m.id, None));
            return true;
        }
        let n = CustomNotification::new(channel::METHOD, Some(channel::params(m)));
        match peer
            .send_notification(ServerNotification::CustomNotification(n))
            .await
        {
            Ok(()) => {
                lock(&self.inbox).mark_shown(m.id);
                let _ = self.ack_tx.send((m.id, Some(Rung::Channel)));
                tracing::debug!(id = m.id, from = %m.from.name, "pushed");
                self.channel_turn();
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot write to Claude Code; stopping pushes");
                false
            }
        }
    }
}
