//! Operations: the Prometheus endpoint with `/healthz` and `/readyz`, and the systemd watchdog.
//!
//! Liveness is the pipeline's own heartbeat: the pipeline thread beats on every loop (at least
//! twice a second, even when idle), and both the watchdog ping and `/healthz` come from that
//! beat — so a hung pipeline misses them and systemd restarts alertd, while a process whose
//! HTTP server still answers but whose pipeline is stuck is reported unhealthy. `/healthz` also
//! reports a failing broker session (`feed::session`), which the watchdog does not: a restart
//! cannot fix a broker. Readiness is "the store is open and the broker accepted us".

use crate::feed::session::Session;
use axum::{extract::State, http::StatusCode, routing::get, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Older than this, the pipeline counts as stalled.
const STALL: Duration = Duration::from_secs(10);

/// Latency buckets (seconds): milliseconds matter here.
const BUCKETS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The process-wide metrics recorder (installed once; later daemons in the same process, as in
/// tests, share it).
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let b =
                PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS);
            match b.and_then(|b| b.install_recorder()) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// The pipeline's heartbeat, shared with the HTTP endpoints and the watchdog.
pub struct Heartbeat {
    start: Instant,
    last_ms: AtomicU64,
    watchdog: Option<Duration>,
    last_ping_ms: AtomicU64,
}

impl Heartbeat {
    pub fn new() -> Arc<Self> {
        let mut usec = 0;
        let watchdog = sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec));
        Arc::new(Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            watchdog,
            last_ping_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Called by the pipeline thread on every loop.
    pub fn beat(&self) {
        let now = self.now_ms();
        self.last_ms.store(now, Ordering::Relaxed);
        if let Some(every) = self.watchdog {
            let last = self.last_ping_ms.load(Ordering::Relaxed);
            if now.saturating_sub(last) >= (every.as_millis() as u64) / 2 {
                self.last_ping_ms.store(now, Ordering::Relaxed);
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            }
        }
    }

    pub fn stalled_for(&self) -> Option<Duration> {
        let age = Duration::from_millis(self.now_ms().saturating_sub(self.last_ms.load(Ordering::Relaxed)));
        (age > STALL).then_some(age)
    }
}

#[derive(Clone)]
struct Ops {
    handle: Option<PrometheusHandle>,
    heartbeat: Arc<Heartbeat>,
    session: Arc<Session>,
    connected: watch::Receiver<bool>,
}

/// Binds `metrics.listen`. Called first thing at start, and a failure stops the daemon: a
/// monitor probing `/healthz` on that address would otherwise read another process's answer (a
/// second alertd, anything on the port) as this daemon's "ok" while nothing watches this one.
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        format!(
            "metrics.listen = {listen:?}: cannot listen there ({e}); is another alertd or \
             another program using it? Set [metrics] listen to a free address, or \"\" to turn \
             /metrics and /healthz off"
        )
    })
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` (bound by [`bind`]) until shutdown.
pub async fn serve(
    listener: tokio::net::TcpListener,
    heartbeat: Arc<Heartbeat>,
    session: Arc<Session>,
    connected: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let ops = Ops {
        handle: recorder(),
        heartbeat,
        session,
        connected,
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ops);
    let listen = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(listen = %listen, "metrics on /metrics, health on /healthz and /readyz");
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "metrics endpoint stopped");
    }
}

async fn metrics(State(ops): State<Ops>) -> (StatusCode, String) {
    match &ops.handle {
        Some(h) => (StatusCode::OK, h.render()),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n".into(),
        ),
    }
}

async fn healthz(State(ops): State<Ops>) -> (StatusCode, String) {
    if let Some(age) = ops.heartbeat.stalled_for() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("pipeline stalled for {} s\n", age.as_secs()),
        );
    }
    // A daemon that hears nothing from its broker is as useless as a stalled one, even though
    // restarting it does not help: say so, with the reason, for the monitoring to page someone.
    match ops.session.failing() {
        None => (StatusCode::OK, "ok\n".into()),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

async fn readyz(State(ops): State<Ops>) -> (StatusCode, String) {
    if *ops.connected.borrow() && ops.heartbeat.stalled_for().is_none() {
        (StatusCode::OK, "ready\n".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not connected to the broker\n".into(),
        )
    }
}
