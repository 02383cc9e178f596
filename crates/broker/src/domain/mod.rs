//! The domain: peers, groups, messages and their deliveries, sessions, the
//! audit log, and the [`rules`] every path obeys. Each module owns its SQL.

pub mod audit;
pub mod context;
pub mod groups;
pub mod membership;
pub mod messages;
pub mod peers;
pub mod permissions;
pub mod rules;
pub mod sessions;
pub mod shown;
