//! The broker session's health, kept by the MQTT task and read by `/healthz`, the metrics and
//! (through the store) `alertd status`.
//!
//! A session is *failing* when it has not stayed up for `mqtt.unhealthy_after_secs` since its
//! trouble began: never connected since start, down since the last error, or flapping — a
//! broker that accepts the connection and drops it again every time (what a packet the client
//! cannot take used to do) is as deaf as one that is down, and it must not look healthy just
//! because each attempt briefly succeeds. Windows use the monotonic clock; the times shown use
//! the daemon's clock, like every other time in the store.

use crate::clock::SharedClock;
use crate::store::{ms, session::MqttSession};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest error text kept: enough for any rumqttc error, bounded against a hostile broker's
/// bytes ending up in one (a `NotConnAck` error prints the packet it got).
const MAX_ERROR_CHARS: usize = 300;

pub struct Session {
    protocol: &'static str,
    unhealthy_after: Duration,
    clock: SharedClock,
    changes: AtomicU64,
    state: Mutex<State>,
}

struct State {
    phase: &'static str,
    since_ms: i64,
    up_since: Option<Instant>,
    /// When the current run of trouble began; cleared once the session has stayed up.
    trouble_since: Option<Instant>,
    errors: u64,
    errors_in_a_row: u64,
    last_error: Option<(String, i64)>,
}

impl Session {
    pub fn new(protocol: &'static str, unhealthy_after: Duration, clock: SharedClock) -> Arc<Session> {
        metrics::gauge!("alertd_mqtt_connected").set(0.0);
        metrics::counter!("alertd_mqtt_connection_errors_total").increment(0);
        let since_ms = ms(clock.now());
        Arc::new(Session {
            protocol,
            unhealthy_after,
            clock,
            changes: AtomicU64::new(0),
            // Not yet connected is trouble too: a broker alertd never reaches must show.
            state: Mutex::new(State {
                phase: "connecting",
                since_ms,
                up_since: None,
                trouble_since: Some(Instant::now()),
                errors: 0,
                errors_in_a_row: 0,
                last_error: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts changes, so the pipeline thread records the session only when it changed.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// The broker accepted the connection and every subscription.
    pub fn up(&self) {
        self.up_at(Instant::now());
    }

    pub(crate) fn up_at(&self, now: Instant) {
        let mut s = self.lock();
        s.phase = "connected";
        s.since_ms = ms(self.clock.now());
        s.up_since = Some(now);
        drop(s);
        metrics::gauge!("alertd_mqtt_connected").set(1.0);
        self.changed();
    }

    /// The connection failed (or could not be made). Returns how long the session that just
    /// ended had been up, if it was.
    pub fn error(&self, error: &str) -> Option<Duration> {
        self.error_at(Instant::now(), error)
    }

    pub(crate) fn error_at(&self, now: Instant, error: &str) -> Option<Duration> {
        let mut s = self.lock();
        let uptime = s.up_since.take().map(|t| now.saturating_duration_since(t));
        if uptime.is_some_and(|u| u >= self.unhealthy_after) {
            s.trouble_since = None;
            s.errors_in_a_row = 0;
        }
        s.trouble_since.get_or_insert(now);
        s.errors += 1;
        s.errors_in_a_row += 1;
        let at = ms(self.clock.now());
        if s.phase != "disconnected" {
            s.phase = "disconnected";
            s.since_ms = at;
        }
        s.last_error = Some((clean(error), at));
        drop(s);
        metrics::gauge!("alertd_mqtt_connected").set(0.0);
        metrics::counter!("alertd_mqtt_connection_errors_total").increment(1);
        self.changed();
        uptime
    }

    /// Why the session counts as failing now, or `None` while it is healthy.
    pub fn failing(&self) -> Option<String> {
        self.failing_at(Instant::now())
    }

    pub(crate) fn failing_at(&self, now: Instant) -> Option<String> {
        let s = self.lock();
        if s.up_since
            .is_some_and(|t| now.saturating_duration_since(t) >= self.unhealthy_after)
        {
            return None;
        }
        let trouble = now.saturating_duration_since(s.trouble_since?);
        if trouble < self.unhealthy_after {
            return None;
        }
        let secs = trouble.as_secs();
        Some(match &s.last_error {
            None => format!("mqtt: not connected to the broker for {secs} s"),
            Some((e, _)) => format!(
                "mqtt: no stable broker session for {secs} s ({} connection error(s), now {}; last: {e})",
                s.errors_in_a_row, s.phase
            ),
        })
    }

    /// What `alertd status` shows, as recorded in the store.
    pub fn snapshot(&self) -> MqttSession {
        let failing = self.failing();
        let s = self.lock();
        MqttSession {
            protocol: self.protocol.to_string(),
            state: s.phase.to_string(),
            since_ms: s.since_ms,
            connection_errors: s.errors,
            errors_in_a_row: s.errors_in_a_row,
            last_error: s.last_error.as_ref().map(|(e, _)| e.clone()),
            last_error_ms: s.last_error.as_ref().map(|(_, at)| *at),
            failing,
        }
    }
}

/// One line of printable text, bounded.
fn clean(error: &str) -> String {
    let mut out: String = error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect();
    if error.chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn session() -> (Arc<Session>, Instant) {
        let clock = ManualClock::new("2026-12-03T10:00:00+08:00".parse().unwrap());
        let start = Instant::now();
        (
            Session::new("3.1.1", Duration::from_secs(60), Arc::new(clock)),
            start,
        )
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_broker_never_reached_fails_after_the_window() {
        let (s, t0) = session();
        assert_eq!(s.failing_at(t0 + S(59)), None);
        s.error_at(t0 + S(1), "I/O: Connection refused (os error 111)");
        let why = s.failing_at(t0 + S(61)).expect("failing");
        assert!(
            why.contains("no stable broker session") && why.contains("Connection refused"),
            "{why}"
        );
        assert_eq!(s.snapshot().state, "disconnected");
    }

    #[test]
    fn a_flapping_session_fails_although_each_attempt_connects() {
        let (s, t0) = session();
        for i in 0..10 {
            s.up_at(t0 + S(10 * i));
            s.error_at(t0 + S(10 * i + 1), "Mqtt state: payload size limit exceeded");
        }
        s.up_at(t0 + S(100));
        let why = s
            .failing_at(t0 + S(101))
            .expect("connected right now, but not for long");
        assert!(why.contains("10 connection error(s), now connected"), "{why}");
        assert_eq!(
            s.failing_at(t0 + S(160)),
            None,
            "up for the whole window: healthy"
        );
    }

    #[test]
    fn a_blip_after_a_stable_session_starts_a_new_window() {
        let (s, t0) = session();
        s.up_at(t0);
        assert_eq!(s.error_at(t0 + S(3600), "I/O: connection reset"), Some(S(3600)));
        assert_eq!(s.failing_at(t0 + S(3601)), None);
        s.up_at(t0 + S(3602));
        assert_eq!(s.failing_at(t0 + S(3700)), None);
        let snap = s.snapshot();
        assert_eq!((snap.connection_errors, snap.errors_in_a_row), (1, 1));
    }

    #[test]
    fn error_texts_are_one_bounded_line() {
        let (s, t0) = session();
        s.error_at(t0, &format!("Expected ConnAck\n{}", "\u{7}x".repeat(1000)));
        let e = s.snapshot().last_error.unwrap();
        assert!(!e.contains('\n') && !e.contains('\u{7}'));
        assert!(e.chars().count() <= MAX_ERROR_CHARS + 1);
    }
}
