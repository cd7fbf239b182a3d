//! Time as an injected dependency.
//!
//! Every decision (assess, gate, the ledger's local day, digest times) reads "now" from a
//! [`Clock`], never from the system directly, so tests can move time across local midnight or
//! to 18:00 without sleeping.

use jiff::{tz::TimeZone, Timestamp, Zoned};
use std::sync::{Arc, Mutex};

/// The zone every Chinese alert speaks in (北京时间), whatever the server's TZ says.
pub fn beijing() -> TimeZone {
    // The bundled tzdb always has Asia/Shanghai; the fixed offset is a fallback that is
    // correct for China (no DST since 1991).
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)))
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    fn now_in(&self, tz: &TimeZone) -> Zoned {
        self.now().to_zoned(tz.clone())
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, t: Timestamp) {
        *self.lock() = t;
    }

    pub fn advance(&self, d: std::time::Duration) {
        let mut t = self.lock();
        let span = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
        *t = t.saturating_add(span).unwrap_or(*t);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A poisoned clock still holds a valid timestamp.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t0: Timestamp = "2013-04-20T00:02:46Z".parse().unwrap();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(std::time::Duration::from_secs(60));
        assert_eq!(c.now(), "2013-04-20T00:03:46Z".parse::<Timestamp>().unwrap());
        let local = c.now_in(&beijing());
        assert_eq!(local.hour(), 8);
    }
}
