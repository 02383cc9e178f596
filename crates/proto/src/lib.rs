//! Wire types, limits and validation rules shared by every part of claude-peers.
//!
//! This crate does no I/O. It holds:
//! - [`limits`]: every size, count and rate limit, as named constants;
//! - [`names`]: the peer and group naming rules (`claude-N` slots, custom names);
//! - [`text`]: how untrusted peer text is cleaned before it is stored or pushed;
//! - [`api`]: the JSON bodies of the broker's HTTP API (`/v1/...`);
//! - [`stream`]: the frames of the WebSocket stream between broker and clients;
//! - [`error`]: the error body every API failure returns, with stable codes;
//! - [`emoji`]: the eight reactions;
//! - [`enums`]: the string enums of the wire, typed and refused with the choices named;
//! - [`coord`]: the bodies of the coordination features (tasks, decisions,
//!   verifications, proposals, approvals, active files, reports);
//! - [`structured`]: the kinds of structured message, their fields and text;
//! - [`reach`]: the delivery ladder's rungs, each peer's reach, the client it runs in;
//! - [`hooks`]: the Claude Code hooks that `install` writes and `hook` handles;
//! - [`consent`]: the peer-turn guard (a peer's message is never the user's consent).

pub mod api;
pub mod consent;
pub mod coord;
pub mod emoji;
pub mod enums;
pub mod env;
pub mod error;
pub mod hooks;
pub mod limits;
pub mod names;
pub mod needs_you;
pub mod paths;
pub mod permissions;
pub mod process;
pub mod reach;
pub mod stream;
pub mod structured;
pub mod text;
pub mod time;
pub mod validate;

pub use error::{ApiError, ErrorCode};

/// The version of this build, reported by `/health` and the MCP `serverInfo`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Name of the service as reported by `/health`, so a client can tell our broker
/// from any other program that happens to answer on the port.
pub const SERVICE: &str = "claude-peers";
