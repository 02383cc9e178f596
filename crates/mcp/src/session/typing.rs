//! The typing indicator: a tool call beginning tells the broker the session is
//! active (the dashboard shows it), at most once every [`TYPING_EVERY`].

use std::time::{Duration, Instant};

use super::{Session, lock};

/// Typing frames are sent at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(2);

impl Session {
    /// A tool call began.
    pub fn typing(&self) {
        let mut last = lock(&self.last_typing);
        if last.is_none_or(|t| t.elapsed() >= TYPING_EVERY) {
            *last = Some(Instant::now());
            self.typing.notify_one();
        }
    }
}
