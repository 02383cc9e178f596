//! The MCP tools. Names and parameters are the seed's (SPEC section 10), so
//! prompts and habits carry over; every result names the ids an agent needs.

use std::sync::Arc;

use claude_peers_proto::api::{
    BroadcastRequest, ListPeersQuery, PresenceStatus, Scope, SearchQuery, SendRequest, UpdateMe,
};
use claude_peers_proto::emoji::reaction_list;
use claude_peers_proto::limits::{
    DEFAULT_ACKS, DEFAULT_HISTORY, DEFAULT_SEARCH_HITS, DEFAULT_WAIT_FOR_MESSAGES_S, MAX_PAGE,
    MAX_SEARCH_HITS, MAX_WAIT_FOR_MESSAGES_S,
};
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

/// A message id. The schema says integer (the seed's type); a string of
/// digits, as pushed messages carry it, or "#N" is taken too.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdArg {
    Number(i64),
    Text(String),
}

impl schemars::JsonSchema for IdArg {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IdArg".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer"})
    }
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
    #[serde(default)]
    #[schemars(extend("default" = "machine"))]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SendArgs {
    /// Peer name or id; "dashboard" = the person.
    pub to_id: String,
    pub message: String,
    #[serde(default)]
    pub reply_to: Option<IdArg>,
    /// ≤ 500-byte status update; skips the loop guard.
    #[serde(default)]
    pub status: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BroadcastArgs {
    pub scope: Scope,
    pub message: String,
    #[serde(default)]
    pub reply_to: Option<IdArg>,
    /// ≤ 500-byte status update; skips the loop guard.
    #[serde(default)]
    pub status: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct MessageIdArgs {
    /// #N in tool results, message_id in a pushed message.
    pub message_id: IdArg,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WaitArgs {
    /// Seconds.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_WAIT_FOR_MESSAGES_S), extend("default" = DEFAULT_WAIT_FOR_MESSAGES_S))]
    pub timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LimitArgs {
    #[serde(default)]
    #[schemars(range(max = MAX_PAGE), extend("default" = DEFAULT_ACKS))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct HistoryArgs {
    /// Name or id (or give thread).
    #[serde(default)]
    pub peer_id: Option<String>,
    /// A thread_id.
    #[serde(default)]
    pub thread: Option<IdArg>,
    #[serde(default)]
    #[schemars(range(max = MAX_PAGE), extend("default" = DEFAULT_HISTORY))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// All words must match; quote a phrase.
    pub query: String,
    /// Sender name or id, dashboard or cli.
    #[serde(default)]
    pub from: Option<String>,
    /// A thread_id.
    #[serde(default)]
    pub thread: Option<IdArg>,
    /// 30m, 2h, 7d or an RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    #[schemars(range(max = MAX_SEARCH_HITS), extend("default" = DEFAULT_SEARCH_HITS))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NameArgs {
    /// 1-32 letters, digits, - or _.
    pub name: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SummaryArgs {
    /// "" clears it.
    pub summary: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct StatusArgs {
    pub status: PresenceStatus,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PinArgs {
    pub message_id: IdArg,
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub pinned: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReactArgs {
    pub message_id: IdArg,
    /// 👍 👀 ✅ ⚠️ ❌ 🎉 ❤️ 🤔
    pub emoji: String,
    #[serde(default)]
    pub remove: Option<bool>,
}

#[tool_router(vis = "pub")]
impl Tools {
    #[tool(description = "Peers of your group: name, id, client, status, directory, summary.")]
    async fn list_peers(&self, Parameters(a): Parameters<ListPeersArgs>) -> Out {
        let c = self.session.client().await?;
        let scope = a.scope.unwrap_or(Scope::Machine);
        let page = c
            .peers_page(&ListPeersQuery {
                scope: Some(scope),
                cursor: a.cursor,
                ..Default::default()
            })
            .await
            .map_err(err)?;
        Ok(format::peer_page(&page, scope))
    }

    #[tool(description = "Send a message to a peer; the result says delivered or queued.")]
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

    #[tool(description = "Send a message to every peer of your group in scope.")]
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

    #[tool(description = "Read (and mark read) your unread messages.")]
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

    #[tool(description = "Wait for a message; returns unread ones like check_messages.")]
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

    #[tool(description = "Mark a message read once handled; the sender sees it.")]
    async fn ack_message(&self, Parameters(a): Parameters<MessageIdArgs>) -> Out {
        let id = a.message_id.get()?;
        let c = self.session.client().await?;
        c.ack(id).await.map_err(err)?;
        self.session.mark_read(&[id]);
        Ok(format!("Message #{id} acknowledged (read)."))
    }

    #[tool(description = "Your sent messages' state: queued, delivered or read.")]
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
        description = "Messages with a peer this session (newest first), or a thread (oldest first)."
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

    #[tool(description = "Full-text search of your sent and received messages, best first.")]
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

    #[tool(description = "Change your name (default claude-N).")]
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

    #[tool(description = "What you work on, in 1-2 sentences (peers see it).")]
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

    #[tool(description = "Set your presence.")]
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

    #[tool(description = "Your name, id, group and unread count.")]
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

    #[tool(description = "Pin a message atop the dashboard, or unpin it.")]
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

    #[tool(description = "Add or remove your reaction to a message.")]
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

/// The router for a profile (`core` keeps only the messaging tools), each
/// tool's input schema in its compact form ([`crate::schema`]).
pub fn router(profile: &str) -> ToolRouter<Tools> {
    let mut r = Tools::tool_router() + Tools::coord_router();
    for route in r.map.values_mut() {
        route.attr.input_schema = Arc::new(crate::schema::compact(&route.attr.input_schema));
    }
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
