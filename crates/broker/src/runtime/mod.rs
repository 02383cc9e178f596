//! The bottom layer: machinery that knows nothing of peers or messages.
//!
//! [`store`] (SQLite, one writer thread, effects applied after commit),
//! [`hub`] (presence, wake-ups, event fan-out, token cache), [`permits`]
//! (the permission relay's stream links and waiting hooks), [`ids`],
//! [`ratelimit`], [`singleton`] (one broker per database), [`notify`] (the
//! webhook for new "needs you" items), [`team`] (several brokers on one
//! PostgreSQL database).

pub mod hub;
pub mod ids;
pub mod notify;
pub mod permits;
pub mod ratelimit;
pub mod reach;
pub mod singleton;
pub mod store;
pub mod team;
