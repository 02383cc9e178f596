//! Token-bucket rate limits: sends per peer per minute, requests per caller per
//! second, registrations per minute. A refused attempt costs nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One bucket: holds up to `capacity` tokens, refilled evenly over `window`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Rate limit for many keys.
pub struct RateLimiter {
    capacity: u32,
    window: Duration,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `capacity` events per `window`; 0 means unlimited.
    pub fn new(capacity: u32, window: Duration) -> Self {
        Self {
            capacity,
            window,
            buckets: Mutex::default(),
        }
    }

    /// Take one token for `key` at `now`. `Err(ms)`: refused, retry in `ms`.
    pub fn take_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.capacity == 0 {
            return Ok(());
        }
        let cap = self.capacity as f64;
        let per_sec = cap / self.window.as_secs_f64();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = map.entry(key.to_string()).or_insert(Bucket {
            tokens: cap,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(cap);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - b.tokens) / per_sec) * 1000.0).ceil() as u64)
        }
    }

    pub fn take(&self, key: &str) -> Result<(), u64> {
        self.take_at(key, Instant::now())
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Forget buckets that have refilled completely.
    pub fn prune(&self, now: Instant) {
        let full = self.window;
        if let Ok(mut map) = self.buckets.lock() {
            map.retain(|_, b| now.saturating_duration_since(b.last) < full);
        }
    }
}

/// Every limiter the broker uses.
pub struct RateLimits {
    pub sends: RateLimiter,
    pub requests: RateLimiter,
    pub registrations: RateLimiter,
}

impl RateLimits {
    pub fn new(l: &crate::config::Limits) -> Self {
        Self {
            sends: RateLimiter::new(l.sends_per_minute, Duration::from_secs(60)),
            requests: RateLimiter::new(l.requests_per_second, Duration::from_secs(1)),
            registrations: RateLimiter::new(l.registrations_per_minute, Duration::from_secs(60)),
        }
    }

    pub fn prune(&self) {
        let now = Instant::now();
        self.sends.prune(now);
        self.requests.prune(now);
        self.registrations.prune(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_exactly_capacity_then_refuses() {
        let rl = RateLimiter::new(60, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..60 {
            assert!(rl.take_at("a", t0).is_ok(), "send {i}");
        }
        let wait = rl.take_at("a", t0).unwrap_err();
        assert!((900..=1000).contains(&wait), "one token per second: {wait}");
        assert!(rl.take_at("b", t0).is_ok(), "keys are independent");
    }

    #[test]
    fn refills_over_the_window_and_refusals_are_free() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(rl.take_at("a", t0).is_ok());
        assert!(rl.take_at("a", t0).is_ok());
        for _ in 0..10 {
            assert!(rl.take_at("a", t0).is_err());
        }
        assert!(
            rl.take_at("a", t0 + Duration::from_secs(30)).is_ok(),
            "half the window refills one"
        );
        assert!(rl.take_at("a", t0 + Duration::from_secs(30)).is_err());
    }

    #[test]
    fn zero_means_unlimited() {
        let rl = RateLimiter::new(0, Duration::from_secs(1));
        for _ in 0..10_000 {
            assert!(rl.take("a").is_ok());
        }
    }
}
