//! Messages and their delivery, one job a module: [`post`] (the one place a
//! message is stored, and the sends built on it), [`deliveries`] (the
//! forward-only state of each recipient's copy), [`views`] (read models),
//! [`reactions`] (pins and reactions).
//!
//! A message is one row; each recipient has a delivery row that only moves
//! forward: `queued` (stored) → `delivered` (its MCP server wrote it into the
//! session) → `read` (acked, or read with `check_messages`). The rows are the
//! queue: a peer's stream replays every unread one on connect, so a crash
//! anywhere loses nothing and a message is never dropped because its recipient
//! went away.
//!
//! The re-exports below are for the layers above; inside the domain, modules
//! import the submodule they use.

pub mod deliveries;
pub mod post;
pub mod reactions;
pub mod views;

pub use deliveries::{ack, check, mark_delivered, mark_read};
pub use post::{
    Body, Conversation, Post, Posted, STATUS_TYPE, Sender, Sent, To, broadcast, check_queue,
    deliver, expire, operator_recipient, post, post_with, send, send_to, to_group,
};
pub use reactions::{pin, react};
pub use views::{Viewer, feed, history, pinned, sent, unread_after, unread_count, view, views_for};
