//! When to try a failed delivery again.
//!
//! Written here rather than taken from a retry crate (backon, backoff) because the loop's shape
//! is ours: the wait must honour a minimum the platform names (WeChat 45066: ≥ 60 s), the
//! schedule is persisted with the intent so `status` shows the next attempt, and the hard stop is
//! the alert's own deadline rather than an attempt count. What remains is ten lines of
//! exponential backoff with full jitter.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), at least `min_wait`.
    pub fn delay(&self, attempt: u32, min_wait: Option<Duration>) -> Duration {
        let exp = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let cap = exp.min(self.max);
        // Full jitter over the upper half keeps progress while spreading retries.
        let ms = cap.as_millis() as u64;
        let jittered = Duration::from_millis(rand::rng().random_range(ms / 2..=ms.max(1)));
        jittered.max(min_wait.unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_honours_minimum() {
        let p = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d4 = p.delay(4, None);
            assert!(d4 >= Duration::from_millis(400) && d4 <= Duration::from_millis(800));
            assert!(p.delay(30, None) <= Duration::from_secs(2));
            assert!(p.delay(1, Some(Duration::from_secs(61))) >= Duration::from_secs(61));
        }
    }
}
