//! How a message reaches a Claude Code session: the rungs of the delivery
//! ladder, each peer's reach (the best rung it has now), and the client it runs in.
//!
//! The ladder, highest first: the session's own messaging socket, the MCP
//! channel, the `Stop`-hook waiter that wakes an idle session, injection by the
//! `UserPromptSubmit`/`PostToolUse` hooks at the next turn, and the tools.
//! Every message is pushed by at most one rung per Claude Code session; the
//! broker records which rung showed which message ([`Rung`]).

use serde::{Deserialize, Serialize};

/// The best way a peer can be reached right now (wire enum, kebab-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// Its MCP server writes messages into the session's own messaging socket:
    /// queued as a prompt, and an idle session starts a turn at once.
    Socket,
    /// Channel notifications, seen working in this session's transcript.
    Channel,
    /// A `Stop` hook waits on the broker and wakes the idle session.
    Wake,
    /// Its hooks add unread messages to the context at the next turn or tool call.
    NextTurn,
    /// No push: the agent sees messages through the unread line and the tools.
    ToolOnly,
    /// Nothing of the session is connected; messages are kept for it.
    #[default]
    Offline,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Socket => "socket",
            Self::Channel => "channel",
            Self::Wake => "wake",
            Self::NextTurn => "next-turn",
            Self::ToolOnly => "tool-only",
            Self::Offline => "offline",
        }
    }
}

/// The rung that showed a message to a session (recorded by the broker, once
/// per message and Claude Code session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rung {
    /// Written to the session's messaging socket and accepted into its queue.
    Socket,
    /// Written to the messaging socket of a session that holds peer messages
    /// for its user's review (it bypasses permission prompts): no other rung
    /// may push it.
    SocketHeld,
    /// Sent as a channel notification (counts as shown once the session's
    /// channel is seen working).
    Channel,
    /// The `Stop` hook woke the session naming its sender.
    Wake,
    /// Added to the context by a hook at the next turn or tool call.
    NextTurn,
    /// Returned by `check_messages` or `wait_for_messages`.
    Tool,
}

impl Rung {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Socket => "socket",
            Self::SocketHeld => "socket-held",
            Self::Channel => "channel",
            Self::Wake => "wake",
            Self::NextTurn => "next-turn",
            Self::Tool => "tool",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "socket" => Self::Socket,
            "socket-held" => Self::SocketHeld,
            "channel" => Self::Channel,
            "wake" => Self::Wake,
            "next-turn" => Self::NextTurn,
            "tool" => Self::Tool,
            _ => return None,
        })
    }
}

/// The agent client a peer runs in (from the MCP `initialize` `clientInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub name: String,
    pub version: String,
}

/// What a Claude Code session does with messages from other sessions on its
/// messaging socket (its `crossSessionInbound` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inbound {
    /// Queued as a prompt (the default, unless the session bypasses permission prompts).
    Accept,
    /// Held for the user's review.
    Hold,
    /// Refused: the socket is no rung for this session.
    Refuse,
}

/// The permission mode a session bypasses prompts in (as hooks report it).
pub const BYPASS_MODE: &str = "bypassPermissions";

/// `PUT /v1/me/reach`: what the peer's processes know about how it can be reached.
/// Absent fields are left as they were.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachFacts {
    /// The Claude Code session id (`CLAUDE_CODE_SESSION_ID`, or `session_id` on a hook's stdin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc_session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientInfo>,
    /// Whether the MCP server can write to the session's messaging socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<bool>,
    /// The session's `crossSessionInbound` setting, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<Inbound>,
    /// The session's permission mode (`default`, `plan`, `acceptEdits`, `bypassPermissions`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
}

/// `POST /v1/me/shown`: these messages were shown to the session by `rung`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShownRequest {
    pub ids: Vec<i64>,
    pub rung: Rung,
}

/// Answer to [`ShownRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShownResult {
    /// The rung recorded (`socket-held` when the session holds peer messages).
    pub rung: Rung,
}

/// Which hook is asking (`POST /v1/me/inject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TurnPoint {
    /// A session starts or resumes.
    SessionStart,
    /// A turn begins (the session is busy).
    PromptSubmit,
    /// A tool call finished (the session is busy).
    ToolDone,
    /// A turn ended (the session is idle).
    Stop,
}

/// `POST /v1/me/inject`: a hook reports the session's state and takes the
/// unread messages the session has not been shown (they become read, shown
/// by `next-turn`). With `take: false` only the state is reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectRequest {
    pub cc_session: String,
    pub point: TurnPoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// Ids of claude-peers channel messages found in the session's transcript
    /// (the channel works there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_in_transcript: Vec<i64>,
    #[serde(default = "yes")]
    pub take: bool,
}

fn yes() -> bool {
    true
}

/// Answer to [`InjectRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InjectResult {
    pub peer: crate::api::PeerView,
    /// Messages to add to the context (now read).
    pub messages: Vec<crate::api::MessageView>,
    /// Unread messages left (shown before, held, or beyond the page).
    pub unread: u32,
}

/// Frames of `GET /v1/wake` (the `Stop` hook's waiter), broker → hook.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WakeFrame {
    /// The waiter is armed.
    Armed,
    /// Messages arrived for the idle session: wake it.
    Wake { count: u32, from: Vec<String> },
    /// The peer left or this waiter was replaced: end without waking.
    Done { reason: String },
}

/// `GET /v1/me/unread`: the caller's unread message ids, and which of them its
/// Claude Code session was already shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UnreadIds {
    pub ids: Vec<i64>,
    pub shown: Vec<i64>,
}

/// `GET /v1/wake` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WakeQuery {
    /// The Claude Code session the waiter belongs to.
    pub cc_session: String,
}
