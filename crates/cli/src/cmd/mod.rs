//! One module per command.

pub mod broker;
pub mod conversations;
pub mod doctor;
pub mod groups;
pub mod hook;
pub mod inbox;
pub mod kill;
pub mod permissions;
pub mod report;
pub mod send;
pub mod setup;
pub mod status;
pub mod watch;
