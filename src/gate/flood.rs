//! The override flood guard: at most `[override] max_per_hour` emergency overrides per channel
//! per hour, so a faulty feed cannot spam the public through the override path.
//!
//! governor's GCRA does the counting, driven by our injected clock (so tests can move time).
//! Its state is in memory; [`FloodGuard::seed`] replays the last hour's overrides from the audit
//! trail at start-up.

use super::OverrideGuard;
use crate::clock::SharedClock;
use governor::clock::Clock as GovClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

/// governor's view of our clock: time since the Unix epoch.
#[derive(Clone)]
pub struct GuardClock(pub SharedClock);

impl GovClock for GuardClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        let ms = self.0.now().as_millisecond().max(0) as u64;
        Duration::from_millis(ms)
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, GuardClock, NoOpMiddleware<Duration>>;

pub struct FloodGuard {
    clock: GuardClock,
    quota: Option<Quota>,
    limiters: HashMap<String, Limiter>,
}

impl FloodGuard {
    /// `max_per_hour = 0` forbids overrides entirely.
    pub fn new(max_per_hour: u32, clock: SharedClock) -> Self {
        // All cells may be used at once (burst = the hourly count), refilling over the hour.
        let quota = NonZeroU32::new(max_per_hour).map(Quota::per_hour);
        Self {
            clock: GuardClock(clock),
            quota,
            limiters: HashMap::new(),
        }
    }

    fn limiter(&mut self, channel: &str) -> Option<&Limiter> {
        let quota = self.quota?;
        let clock = self.clock.clone();
        Some(
            self.limiters
                .entry(channel.to_string())
                .or_insert_with(|| RateLimiter::direct_with_clock(quota, clock)),
        )
    }

    /// Counts `n` overrides that happened in the last hour (from the audit trail).
    pub fn seed(&mut self, channel: &str, n: u32) {
        if let Some(l) = self.limiter(channel) {
            for _ in 0..n {
                let _ = l.check();
            }
        }
    }
}

impl OverrideGuard for FloodGuard {
    fn allow(&mut self, channel: &str) -> bool {
        self.limiter(channel).is_some_and(|l| l.check().is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn three_per_hour_then_held_until_time_passes() {
        let c = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
        let mut g = FloodGuard::new(3, Arc::new(c.clone()));
        assert!(g.allow("wechat") && g.allow("wechat") && g.allow("wechat"));
        assert!(!g.allow("wechat"), "4th in the hour is held");
        assert!(g.allow("other"), "per channel");
        c.advance(Duration::from_secs(20 * 60 + 1));
        assert!(g.allow("wechat"), "a cell refills after 20 minutes");
    }

    #[test]
    fn seeded_from_history() {
        let c = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
        let mut g = FloodGuard::new(3, Arc::new(c));
        g.seed("wechat", 3);
        assert!(!g.allow("wechat"));
    }

    #[test]
    fn zero_forbids() {
        let c = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
        let mut g = FloodGuard::new(0, Arc::new(c));
        assert!(!g.allow("wechat"));
    }
}
