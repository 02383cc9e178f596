//! The domain: peers, groups, messages and their deliveries, sessions, the
//! audit log, threads, full-text search, the loop guard, and the [`rules`]
//! every path obeys. Each module owns its SQL.

pub mod audit;
pub mod context;
pub mod groups;
pub mod loops;
pub mod membership;
pub mod messages;
pub mod peers;
pub mod permissions;
pub mod rules;
pub mod search;
pub mod sessions;
pub mod shown;
pub mod threads;
