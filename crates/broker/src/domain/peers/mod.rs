//! Peers, one job a module: [`rows`] (the peer row, lookups, listings),
//! [`listing`] (`list_peers` a page at a time),
//! [`resolve`] ("name or id"), [`naming`] (unique names per namespace),
//! [`slots`] (the default-name numbers in use) and [`lifecycle`] (register,
//! resume, update, connect, leave, remove).
//!
//! The re-exports below are for the layers above; inside the domain, modules
//! import the submodule they use.

pub mod lifecycle;
pub mod listing;
pub mod naming;
pub mod resolve;
pub mod rows;
pub mod slots;

pub use lifecycle::{Departed, leave, mark_stale, register, remove, set_connected, update};
pub use resolve::{resolve, unreachable_error};
pub use rows::{
    PeerRow, all, get, in_namespace, in_scope, in_scope_of, require, standing, token_pairs, touch,
    visible,
};
