//! Every limit the broker enforces, in one place. Each one is documented in the
//! README ("Limits") and has a test that crosses it.

/// Largest message text, in UTF-8 bytes (after control characters are stripped).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest HTTP request body the broker reads, in bytes.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// Largest peer summary, in bytes.
pub const MAX_SUMMARY_BYTES: usize = 1024;
/// Largest path (cwd, git root, file paths), in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// Largest git branch name, in bytes.
pub const MAX_BRANCH_BYTES: usize = 255;
/// Largest tty name, in bytes.
pub const MAX_TTY_BYTES: usize = 64;
/// Longest peer or group name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Most files a context snapshot carries.
pub const MAX_CONTEXT_FILES: usize = 20;
/// Largest page any list endpoint returns.
pub const MAX_PAGE: u32 = 500;
/// Default page of `GET /v1/peers` and `list_peers` (a larger mesh is paged
/// with a cursor).
pub const DEFAULT_PEER_PAGE: u32 = 50;
/// Longest cursor of a peer listing accepted.
pub const MAX_CURSOR_BYTES: usize = 64;
/// Default page for message history.
pub const DEFAULT_HISTORY: u32 = 50;
/// Default page for `check_acks`.
pub const DEFAULT_ACKS: u32 = 20;
/// Most message ids one `delivered` frame or read request may carry.
pub const MAX_IDS_PER_REQUEST: usize = 1000;
/// Longest a send may wait for the recipient's MCP server to confirm delivery.
pub const MAX_SEND_WAIT_MS: u64 = 5_000;

/// Default number of undelivered (queued) messages one recipient may hold.
pub const DEFAULT_QUEUE_DEPTH: u32 = 1000;
/// Default sends (messages and broadcasts) one peer may make per minute.
pub const DEFAULT_SENDS_PER_MINUTE: u32 = 120;
/// Default registrations per minute the broker accepts in all (against floods).
pub const DEFAULT_REGISTRATIONS_PER_MINUTE: u32 = 120;
/// Default messages one peer may send to one other peer per minute (the
/// per-pair limit, below the overall send limit: no agent floods another).
pub const DEFAULT_PAIR_SENDS_PER_MINUTE: u32 = 30;
/// Default depth of an agent-to-agent chain (messages since a person last
/// spoke) past which further sends in the chain are held for the operator.
pub const DEFAULT_CHAIN_LIMIT: u32 = 12;
/// Largest status update (`status: true`), in bytes: status updates pass the
/// loop guard, so they are kept to a line or two.
pub const MAX_STATUS_BYTES: usize = 500;
/// Longest search query, in bytes.
pub const MAX_SEARCH_QUERY_BYTES: usize = 256;
/// Most words a search query may hold.
pub const MAX_SEARCH_TERMS: usize = 16;
/// Default number of search hits.
pub const DEFAULT_SEARCH_HITS: u32 = 20;
/// Most search hits one query returns.
pub const MAX_SEARCH_HITS: u32 = 100;
/// Words of context a search snippet shows around the match.
pub const SNIPPET_WORDS: u32 = 12;
/// Default API requests per second one token may make.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 200;
/// Longest `wait_for_messages` may wait, in seconds (below the usual 120 s
/// tool-call timeout of MCP clients).
pub const MAX_WAIT_FOR_MESSAGES_S: u64 = 110;
/// Most messages one hook adds to the context at once (the rest stay unread
/// and are counted).
pub const MAX_INJECT_MESSAGES: u32 = 20;
/// Longest text of one message a hook adds to the context, in bytes (longer
/// ones are cut and point to `check_messages`).
pub const MAX_INJECT_MESSAGE_BYTES: usize = 8 * 1024;
/// How long the MCP server's `send_message` waits for "delivered" (its
/// `wait_ms`; at most [`MAX_SEND_WAIT_MS`]).
pub const TOOL_SEND_WAIT_MS: u64 = 300;
/// How long `wait_for_messages` waits when no `timeout_s` is given, in seconds.
pub const DEFAULT_WAIT_FOR_MESSAGES_S: u64 = 60;
/// Longest Claude Code session id accepted (`cc_session`), in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 128;
/// Longest text one `POST /v1/translate` takes, in bytes.
pub const MAX_TRANSLATE_BYTES: usize = 16 * 1024;
/// Most bytes a hook reads from its stdin (the agent client's event).
pub const MAX_HOOK_STDIN_BYTES: u64 = 4 * 1024 * 1024;
/// Most simultaneous WebSocket connections the broker accepts.
pub const MAX_STREAM_CONNECTIONS: usize = 512;

/// A disconnected peer stays listed as live this long, waiting for it to reconnect.
pub const RECONNECT_GRACE_MS: i64 = 30_000;
/// A disconnected peer is removed from the list (its name freed) after this long.
pub const REMOVE_AFTER_MS: i64 = 10 * 60_000;
/// Messages, and the identity of a removed peer, are kept this long.
pub const RETENTION_MS: i64 = 7 * 24 * 3_600_000;
/// How often the broker checks liveness and retention.
pub const MAINTENANCE_INTERVAL_MS: u64 = 5_000;
/// The broker pings each stream this often; a stream silent for 3 pings is closed.
pub const STREAM_PING_MS: u64 = 15_000;
/// A session continues across a quiet spell shorter than this.
pub const SESSION_IDLE_MS: i64 = 5 * 60_000;

// Coordination (tasks, decisions, verifications, proposals, approvals, files,
// structured messages).

/// Longest title (task, proposal), in bytes.
pub const MAX_TITLE_BYTES: usize = 256;
/// Longest free-text field of a coordination record or of a structured
/// message (description, claim, response, result, rationale…), in bytes.
pub const MAX_FIELD_BYTES: usize = 16 * 1024;
/// Longest decision key, in bytes.
pub const MAX_KEY_BYTES: usize = 100;
/// Longest decision value, in bytes.
pub const MAX_VALUE_BYTES: usize = 2_000;
/// Longest decision category, in bytes.
pub const MAX_CATEGORY_BYTES: usize = 64;
/// Longest reason given with a vote or an approval answer, in bytes.
pub const MAX_REASON_BYTES: usize = 2_000;
/// Most items in a list field (files to check, files changed, blockers…).
pub const MAX_LIST_ITEMS: usize = 100;
/// Longest item of a list field, in bytes.
pub const MAX_LIST_ITEM_BYTES: usize = 4096;
/// Most files one peer may report as active.
pub const MAX_ACTIVE_FILES: usize = 100;
/// Default time an active-files report lasts without a new report.
pub const DEFAULT_ACTIVE_FILES_TTL_MS: i64 = 15 * 60_000;
/// Fewest and most approvals a proposal may require.
pub const MIN_VOTES_REQUIRED: u32 = 1;
pub const MAX_VOTES_REQUIRED: u32 = 20;
/// Approvals a proposal requires when none is given.
pub const DEFAULT_VOTES_REQUIRED: u32 = 2;
/// A peer counts as typing (active) this long after its last tool call began.
pub const TYPING_WINDOW_MS: i64 = 5_000;
/// Default page of coordination lists (tasks, proposals, …).
pub const DEFAULT_COORD_PAGE: u32 = 100;

// ------------------------------------------------ listings and previews

/// Most pinned messages the session's pin list shows (oldest first).
pub const MAX_PINNED: u32 = 200;
/// Characters of a message shown in the audit entry of a pin.
pub const PIN_PREVIEW_CHARS: usize = 60;
/// Characters of a title (task, proposal) shown in audit entries and notices.
pub const TITLE_PREVIEW_CHARS: usize = 120;
/// Characters of a longer text (claim, action, decision value) shown in audit entries.
pub const TEXT_PREVIEW_CHARS: usize = 200;
/// Characters of a detail in a "needs you" item's title.
pub const NEEDS_YOU_PREVIEW_CHARS: usize = 80;
/// Most rows of each section of the session report.
pub const REPORT_SECTION_ROWS: u32 = 200;
/// Rows of the session report's "Recent Activity".
pub const REPORT_ACTIVITY_ROWS: u32 = 20;
/// Unread deliveries a peer's stream reads from the store at a time.
pub const STREAM_PAGE: u32 = 256;
/// Most message ids one `delivered` stream frame carries (the MCP server
/// batches its confirmations up to this; the broker ignores a larger frame).
pub const MAX_DELIVERED_IDS: usize = 500;

// ------------------------------------------------ channel notifications

/// Longest value of one `meta` attribute of a channel notification, in bytes
/// (a longer one is cut at a character boundary; the whole text is in the
/// content or reachable by a tool).
pub const MAX_CHANNEL_META_VALUE_BYTES: usize = 512;
/// Most `meta` attributes one channel notification carries; a record's
/// fields past this number are left out (the notice's text names them).
pub const MAX_CHANNEL_META_ENTRIES: usize = 40;

// The human's side: permission relay, the "needs you" lane, notifications.

/// Longest permission request id (Claude Code sends five letters), in bytes.
pub const MAX_PERMISSION_REQUEST_ID_BYTES: usize = 64;
/// Longest tool name of a permission request, in bytes.
pub const MAX_PERMISSION_TOOL_BYTES: usize = 128;
/// Longest description of a permission request, in bytes.
pub const MAX_PERMISSION_DESCRIPTION_BYTES: usize = 2_000;
/// Longest input preview of a permission request (the client cuts at 200 characters), in bytes.
pub const MAX_PERMISSION_PREVIEW_BYTES: usize = 2_000;
/// Pending permission requests one session may have at once (older ones are dropped).
pub const MAX_PENDING_PERMISSIONS_PER_PEER: usize = 32;
/// Default time a permission request waits in the lane before it expires (the
/// terminal prompt still works; a request answered in the terminal leaves the
/// lane at the latest then).
pub const DEFAULT_PERMISSION_TIMEOUT_MS: i64 = 10 * 60_000;
/// Default time a session's `PermissionRequest` hook waits for the operator's
/// answer (`CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S` changes it). Claude Code shows
/// its terminal prompt while the hook waits; after this the request leaves the
/// lane and only the terminal can answer.
pub const DEFAULT_PERMISSION_HOOK_WAIT_MS: u64 = 30_000;
/// Longest a `PermissionRequest` hook may wait (the installed hook's timeout is
/// a little longer, so it is never killed while it waits).
pub const MAX_PERMISSION_HOOK_WAIT_MS: u64 = 120_000;
/// A relayed channel request and a `PermissionRequest` hook's request for the
/// same session and tool arriving within this window are the same prompt (one
/// lane item, answered both ways).
pub const PERMISSION_MERGE_WINDOW_MS: i64 = 5_000;
/// How long the MCP server waits, while answering `initialize`, to learn from
/// the broker whether the permission relay is on.
pub const RELAY_PROBE_WAIT_MS: u64 = 3_000;
/// Default time a message may stay unread by a recipient that is not connected
/// before it shows in the "needs you" lane as unreachable mail (and its sender is told).
pub const DEFAULT_UNREACHABLE_AFTER_MS: i64 = 5 * 60_000;
/// Most items of each kind the "needs you" lane lists.
pub const MAX_NEEDS_YOU_PER_KIND: u32 = 100;
/// Default window in which new "needs you" items share one webhook notification.
pub const DEFAULT_NOTIFY_COALESCE_MS: u64 = 3_000;
/// Default time one webhook POST may take before it counts as failed.
pub const DEFAULT_NOTIFY_TIMEOUT_MS: u64 = 5_000;
/// Attempts per webhook notification (the first one and the retries).
pub const NOTIFY_ATTEMPTS: u32 = 4;
/// Wait before the first retry of a webhook POST (doubled each time).
pub const NOTIFY_RETRY_BASE_MS: u64 = 500;
/// Notifications waiting to be sent; more are dropped (the broker never waits on the webhook).
pub const NOTIFY_QUEUE: usize = 256;
/// Items named in one webhook notification (the count covers all of them).
pub const NOTIFY_MAX_ITEMS: usize = 10;
/// Longest text of one webhook notification, in bytes (cut beyond).
pub const NOTIFY_MAX_TEXT_BYTES: usize = 2_000;
