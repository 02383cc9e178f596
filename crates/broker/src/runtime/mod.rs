//! The bottom layer: machinery that knows nothing of peers or messages.
//!
//! [`store`] (SQLite, one writer thread, effects applied after commit),
//! [`hub`] (presence, wake-ups, event fan-out, token cache), [`ids`],
//! [`ratelimit`], [`singleton`] (one broker per database), [`notify`] (the
//! webhook for new "needs you" items), [`team`] (several brokers on one
//! PostgreSQL database).

pub mod hub;
pub mod ids;
pub mod notify;
pub mod ratelimit;
pub mod reach;
pub mod singleton;
pub mod store;
pub mod team;
