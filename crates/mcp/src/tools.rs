//! The MCP tools. Names and parameters are the seed's (SPEC section 10), so
//! prompts and habits carry over; every result names the ids an agent needs.

use std::sync::Arc;

use claude_peers_proto::api::{
    BroadcastRequest, ListPeersQuery, PresenceStatus, Scope, SearchQuery, SendRequest, UpdateMe,
};
use claude_peers_proto::emoji::reaction_list;
use claude_peers_proto::validate;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{schemars, tool, tool_router};
use serde::Deserialize;

use crate::format;
use crate::session::Session;

/// Tools in the compact profile (`CLAUDE_PEERS_TOOLS=core`).
pub const CORE: &[&str] = &[
    "list_peers",
    "send_message",
    "broadcast_message",
    "check_messages",
    "wait_for_messages",
    "ack_message",
    "check_acks",
    "message_history",
    "search_messages",
    "set_name",
    "set_summary",
    "set_status",
    "whoami",
    "pin_message",
    "react",
];

/// How long `send_message` waits for the recipient's MCP server to confirm.
const SEND_WAIT_MS: u64 = claude_peers_proto::limits::TOOL_SEND_WAIT_MS;

#[derive(Clone)]
pub struct Tools {
    pub session: Arc<Session>,
    /// The tools offered (all, or the core profile).
    pub router: Arc<ToolRouter<Tools>>,
}

pub(crate) type Out = Result<String, String>;

pub(crate) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A message id, as a number or a string of digits (pushed messages carry strings).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum IdArg {
    Number(i64),
    Text(String),
}

impl IdArg {
    pub(crate) fn get(&self) -> Result<i64, String> {
        match self {
            IdArg::Number(n) => Ok(*n),
            IdArg::Text(s) => s
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| format!("message_id must be a number (got {s:?})")),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListPeersArgs {
    /// machine = every peer you can reach; directory = same working directory;
    /// repo = same git repository (worktrees included). Default: machine.
    #[serde(default)]
    pub scope: Option<Scope>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SendArgs {
    /// Peer name (e.g. claude-2) or id; "dashboard" for the person at the dashboard.
    pub to_id: String,
    /// The message (Markdown). Put everything the recipient needs in it.
    pub message: String,
    /// The message you answer (its message_id): your reply joins its thread.
    #[serde(default)]
    pub reply_to: Option<IdArg>,
    /// true for a short status update ("blocked on X", "waiting", "done"):
    /// at most 500 bytes, never held by the loop guard.
    #[serde(default)]
    pub status: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BroadcastArgs {
    /// Who receives it, within your group: machine, directory or repo.
    pub scope: Scope,
    /// The message (Markdown).
    pub message: String,
    /// The message you answer (its message_id): the broadcast joins its thread.
    #[serde(default)]
    pub reply_to: Option<IdArg>,
    /// true for a short status update, never held by the loop guard.
    #[serde(default)]
    pub status: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct MessageIdArgs {
    /// The message id (#N in tool results, message_id="N" in a pushed message).
    pub message_id: IdArg,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WaitArgs {
    /// How long to wait for a message, in seconds (default 60, at most 110).
    #[serde(default)]
    pub timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LimitArgs {
    /// How many recent messages (default 20, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct HistoryArgs {
    /// The other peer's name or id (needed unless you give thread).
    #[serde(default)]
    pub peer_id: Option<String>,
    /// A thread (thread_id of a message): its messages you can see, oldest first.
    #[serde(default)]
    pub thread: Option<IdArg>,
    /// How many messages (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Words to find (all of them; "quoted words" as a phrase).
    pub query: String,
    /// Only messages from this peer (name or id), or "dashboard"/"cli".
    #[serde(default)]
    pub from: Option<String>,
    /// Only this thread (a thread_id).
    #[serde(default)]
    pub thread: Option<IdArg>,
    /// Only since this time: 30m, 2h, 7d, or 2026-11-27T10:00:00Z.
    #[serde(default)]
    pub since: Option<String>,
    /// Most hits (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NameArgs {
    /// 1-32 letters, digits, '-' or '_'; unique in your group.
    pub name: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SummaryArgs {
    /// One or two sentences on what you are working on ("" clears it).
    pub summary: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct StatusArgs {
    /// online, away, busy or idle.
    pub status: PresenceStatus,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PinArgs {
    /// The message id.
    pub message_id: IdArg,
    /// true to pin (default), false to unpin.
    #[serde(default)]
    pub pinned: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReactArgs {
    /// The message id.
    pub message_id: IdArg,
    /// One of 👍 👀 ✅ ⚠️ ❌ 🎉 ❤️ 🤔
    pub emoji: String,
    /// true to remove your reaction (default false).
    #[serde(default)]
    pub remove: Option<bool>,
}

#[tool_router(vis = "pub")]
impl Tools {
    #[tool(
        description = "List the other agent sessions (Claude Code, Codex, Gemini CLI, OpenCode) you can reach (your group only): name, id, status, directory, summary."
    )]
    async fn list_peers(&self, Parameters(a): Parameters<ListPeersArgs>) -> Out {
        let c = self.session.client().await?;
        let scope = a.scope.unwrap_or(Scope::Machine);
        let peers = c
            .peers(&ListPeersQuery {
                scope: Some(scope),
                ..Default::default()
            })
            .await
            .map_err(err)?;
        if peers.is_empty() {
            return Ok(format!("No other peers found (scope: {}).", scope.as_str()));
        }
        let body: Vec<String> = peers.iter().map(format::peer).collect();
        Ok(format!(
            "{} peer(s) (scope: {}):\n\n{}",
            peers.len(),
            scope.as_str(),
            body.join("\n\n")
        ))
    }

    #[tool(
        description = "Send a message to another session by name or id. It is pushed into their session at once; the result says whether it was delivered or queued."
    )]
    async fn send_message(&self, Parameters(a): Parameters<SendArgs>) -> Out {
        let c = self.session.client().await?;
        let r = c
            .send(&SendRequest {
                to: a.to_id,
                text: a.message,
                context: Some(self.session.fresh_context().await),
                wait_ms: Some(SEND_WAIT_MS),
                reply_to: a.reply_to.as_ref().map(IdArg::get).transpose()?,
                status: a.status.unwrap_or(false),
            })
            .await
            .map_err(err)?;
        if let Some(h) = &r.held {
            return Ok(h.reason.clone());
        }
        Ok(format!(
            "Message #{} sent to {} (id {}): {}.",
            r.message_id,
            r.to.name,
            r.to.id,
            format::send_sentence(r.state, r.recipient_connected, r.reach, &r.to.name)
        ))
    }

    #[tool(
        description = "Send one message to every peer of your group in a scope (machine, directory or repo)."
    )]
    async fn broadcast_message(&self, Parameters(a): Parameters<BroadcastArgs>) -> Out {
        let c = self.session.client().await?;
        let scope = a.scope;
        let r = c
            .broadcast(&BroadcastRequest {
                scope,
                text: a.message,
                context: Some(self.session.fresh_context().await),
                origin: None,
                reply_to: a.reply_to.as_ref().map(IdArg::get).transpose()?,
                status: a.status.unwrap_or(false),
            })
            .await
            .map_err(err)?;
        if let Some(h) = &r.held {
            return Ok(h.reason.clone());
        }
        if r.recipients.is_empty() {
            return Ok(format!(
                "Nobody to broadcast to (scope: {}); message #{} was stored.",
                scope.as_str(),
                r.message_id
            ));
        }
        let names: Vec<&str> = r.recipients.iter().map(|p| p.name.as_str()).collect();
        Ok(format!(
            "Broadcast #{} sent to {} peer(s) (scope: {}): {} ({} connected now).",
            r.message_id,
            names.len(),
            scope.as_str(),
            names.join(", "),
            r.connected
        ))
    }

    #[tool(
        description = "Read your unread messages (and mark them read): when a tool result says you have unread messages, or to catch up."
    )]
    async fn check_messages(&self) -> Out {
        let c = self.session.client().await?;
        let r = c.check().await.map_err(err)?;
        let ids: Vec<i64> = r.messages.iter().map(|m| m.id).collect();
        self.session.mark_read(&ids);
        if r.messages.is_empty() {
            return Ok("No new messages.".into());
        }
        Ok(format::checked(&r))
    }

    #[tool(
        description = "Wait for the next message from a peer (long poll, at most 110 s), then return your unread messages like check_messages. Use it when you are waiting for a reply and have nothing else to do."
    )]
    async fn wait_for_messages(&self, Parameters(a): Parameters<WaitArgs>) -> Out {
        let secs = validate::wait_for_messages_s(a.timeout_s).map_err(err)?;
        let c = self.session.client().await?;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            // Armed before looking, so a message arriving in between is not missed.
            let arrival = self.session.arrival();
            let r = c.check().await.map_err(err)?;
            if !r.messages.is_empty() {
                let ids: Vec<i64> = r.messages.iter().map(|m| m.id).collect();
                self.session.mark_read(&ids);
                return Ok(format::checked(&r));
            }
            if tokio::time::timeout_at(deadline, arrival).await.is_err() {
                return Ok(format!("No new messages within {secs} s."));
            }
        }
    }

    #[tool(
        description = "Mark a message as read once you have handled it (its sender sees the read receipt)."
    )]
    async fn ack_message(&self, Parameters(a): Parameters<MessageIdArgs>) -> Out {
        let id = a.message_id.get()?;
        let c = self.session.client().await?;
        c.ack(id).await.map_err(err)?;
        self.session.mark_read(&[id]);
        Ok(format!("Message #{id} acknowledged (read)."))
    }

    #[tool(
        description = "Show your recently sent messages and, for each recipient, whether it is queued, delivered or read."
    )]
    async fn check_acks(&self, Parameters(a): Parameters<LimitArgs>) -> Out {
        let c = self.session.client().await?;
        let r = c.sent(a.limit).await.map_err(err)?;
        if r.messages.is_empty() {
            return Ok("You have not sent any messages.".into());
        }
        Ok(r.messages
            .iter()
            .map(format::sent)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    #[tool(
        description = "Your conversation with one peer in the current session (newest first), or one thread (thread: oldest first)."
    )]
    async fn message_history(&self, Parameters(a): Parameters<HistoryArgs>) -> Out {
        let c = self.session.client().await?;
        let (r, what) = match (&a.thread, a.peer_id.as_deref()) {
            (Some(t), _) => {
                let t = t.get()?;
                (
                    c.thread(t, a.limit).await.map_err(err)?,
                    format!("in thread #{t} that you can see"),
                )
            }
            (None, Some(peer)) => (
                c.history(peer, a.limit).await.map_err(err)?,
                format!("with {peer} in this session"),
            ),
            (None, None) => {
                return Err("give peer_id (a peer's conversation) or thread (one thread)".into());
            }
        };
        if r.messages.is_empty() {
            return Ok(format!("No messages {what}."));
        }
        Ok(r.messages
            .iter()
            .map(format::line)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    #[tool(
        description = "Full-text search over the messages you sent or received, best match first, with a snippet ([matched] words)."
    )]
    async fn search_messages(&self, Parameters(a): Parameters<SearchArgs>) -> Out {
        let c = self.session.client().await?;
        let r = c
            .search(&SearchQuery {
                q: a.query.clone(),
                from: a.from,
                thread: a.thread.as_ref().map(IdArg::get).transpose()?,
                since: a.since,
                limit: a.limit,
            })
            .await
            .map_err(err)?;
        if r.hits.is_empty() {
            return Ok(format!("No messages match {:?}.", a.query));
        }
        Ok(r.hits
            .iter()
            .map(format::hit)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    #[tool(description = "Change your display name (default claude-N). Others address you by it.")]
    async fn set_name(&self, Parameters(a): Parameters<NameArgs>) -> Out {
        let c = self.session.client().await?;
        let me = c
            .update_me(&UpdateMe {
                name: Some(a.name),
                ..Default::default()
            })
            .await
            .map_err(err)?;
        eprint!("\x1b]0;{}\x07", me.name);
        let name = me.name.clone();
        self.session.set_me(me);
        Ok(format!("Your name is now {name}."))
    }

    #[tool(
        description = "Say in one or two sentences what you are working on; peers see it in list_peers."
    )]
    async fn set_summary(&self, Parameters(a): Parameters<SummaryArgs>) -> Out {
        let c = self.session.client().await?;
        let me = c
            .update_me(&UpdateMe {
                summary: Some(a.summary),
                ..Default::default()
            })
            .await
            .map_err(err)?;
        self.session.remember_summary(&me.summary);
        let text = if me.summary.is_empty() {
            "Summary cleared.".to_string()
        } else {
            format!("Summary set: {}", me.summary)
        };
        self.session.set_me(me);
        Ok(text)
    }

    #[tool(description = "Set your presence: online, away, busy or idle.")]
    async fn set_status(&self, Parameters(a): Parameters<StatusArgs>) -> Out {
        let c = self.session.client().await?;
        let status = a.status;
        let me = c
            .update_me(&UpdateMe {
                status: Some(status),
                ..Default::default()
            })
            .await
            .map_err(err)?;
        self.session.set_me(me);
        Ok(format!("Status set to {}.", status.as_str()))
    }

    #[tool(description = "Who you are on the network: name, id, group, and unread count.")]
    async fn whoami(&self) -> Out {
        let c = self.session.client().await?;
        let w = c.me().await.map_err(err)?;
        self.session.set_me(w.peer.clone());
        Ok(format!(
            "You are {}\n  unread messages: {}\n  session: {}",
            format::peer(&w.peer),
            w.unread,
            w.session_id
        ))
    }

    #[tool(description = "Pin (or unpin) a message so it stays at the top of the dashboard.")]
    async fn pin_message(&self, Parameters(a): Parameters<PinArgs>) -> Out {
        let id = a.message_id.get()?;
        let pinned = a.pinned.unwrap_or(true);
        let c = self.session.client().await?;
        c.pin(id, pinned).await.map_err(err)?;
        Ok(format!(
            "Message #{id} {}.",
            if pinned { "pinned" } else { "unpinned" }
        ))
    }

    #[tool(description = "Add or remove an emoji reaction on a message: 👍 👀 ✅ ⚠️ ❌ 🎉 ❤️ 🤔")]
    async fn react(&self, Parameters(a): Parameters<ReactArgs>) -> Out {
        let id = a.message_id.get()?;
        let remove = a.remove.unwrap_or(false);
        let c = self.session.client().await?;
        c.react(id, &a.emoji, remove)
            .await
            .map_err(|e| format!("{e} (allowed: {})", reaction_list()))?;
        Ok(format!(
            "{} {} on message #{id}.",
            if remove { "Removed" } else { "Added" },
            a.emoji
        ))
    }
}

/// The router for a profile: `core` keeps only the messaging tools.
pub fn router(profile: &str) -> ToolRouter<Tools> {
    let mut r = Tools::tool_router() + Tools::coord_router();
    if profile == "core" {
        let names: Vec<String> = r
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        for n in names {
            if !CORE.contains(&n.as_str()) {
                r.remove_route(&n);
            }
        }
    }
    r
}
