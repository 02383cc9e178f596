//! What every write of the domain and coordination layers needs besides the
//! transaction: the hub (to read presence), the configuration and the
//! activity clock of the session rule.

use crate::config::Config;
use crate::domain::sessions::Activity;
use crate::runtime::hub::Hub;
use crate::runtime::ratelimit::RateLimiter;

/// Shared by every request handler and write closure (inside `AppState`).
pub struct Shared {
    pub hub: Hub,
    pub config: Config,
    pub activity: Activity,
    /// The per-pair send limit (one peer to one other), applied where the
    /// recipient is known (see `domain::loops`).
    pub pairs: RateLimiter,
}
