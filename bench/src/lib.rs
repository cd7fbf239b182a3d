//! Shared parts of the benchmark: fast fake platforms that record when each request arrived,
//! latency statistics, and /proc sampling of the process under test.
//!
//! Every benchmark message carries a key in its place name (`压测<phase><seq>号`), which the
//! templates always keep (Weibo fitting drops prose, never the place). The fakes parse it back
//! out of the request text, so a request is matched to the instant the harness called publish:
//! the fakes run in the harness process and share its monotonic clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CHANNELS: [&str; 2] = ["wechat", "weibo"];

/// The message key inside a text: `压测S123号` → "S123".
pub fn key_of(text: &str) -> Option<&str> {
    let start = text.find("压测")? + "压测".len();
    let rest = &text[start..];
    let end = rest.find('号')?;
    Some(&rest[..end])
}

#[derive(Default)]
pub struct Arrivals {
    /// key → (first arrival, number of requests with that key)
    pub seen: HashMap<String, (Instant, u32)>,
    pub requests: u64,
}

/// What the fakes saw, per channel.
#[derive(Default)]
pub struct Recorder {
    pub ch: [Mutex<Arrivals>; 2],
}

impl Recorder {
    pub fn note(&self, channel: usize, text: &str) {
        let now = Instant::now();
        let mut a = self.ch[channel].lock().unwrap();
        a.requests += 1;
        if let Some(k) = key_of(text) {
            a.seen
                .entry(k.to_string())
                .and_modify(|e| e.1 += 1)
                .or_insert((now, 1));
        }
    }

    pub fn arrival(&self, channel: usize, key: &str) -> Option<(Instant, u32)> {
        self.ch[channel].lock().unwrap().seen.get(key).copied()
    }

    /// Number of distinct keys with the given prefix (a phase) at a channel.
    pub fn count_prefix(&self, channel: usize, prefix: &str) -> usize {
        self.ch[channel]
            .lock()
            .unwrap()
            .seen
            .keys()
            .filter(|k| k.starts_with(prefix) && k[prefix.len()..].bytes().all(|b| b.is_ascii_digit()))
            .count()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(4_000_000_000);

/// Starts the fake WeChat (token, mass/sendall, mass/get) and Weibo (share.json) servers on loopback.
/// They accept everything and answer at once. Returns (wechat base URL, weibo base URL).
pub async fn start_fakes(rec: Arc<Recorder>) -> (String, String) {
    use axum::extract::State;
    use axum::routing::{get, post};
    use axum::{Form, Json, Router};
    use serde_json::{json, Value};

    async fn token() -> Json<Value> {
        Json(json!({"access_token": "bench-access-token-0123456789abcdef", "expires_in": 7200}))
    }
    async fn sendall(State(rec): State<Arc<Recorder>>, Json(v): Json<Value>) -> Json<Value> {
        let text = v.pointer("/text/content").and_then(Value::as_str).unwrap_or("");
        rec.note(0, text);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Json(json!({"errcode": 0, "errmsg": "send job submission success", "msg_id": id, "msg_data_id": id}))
    }
    /// The job's final state, as the platform reports it once the mass send finished.
    async fn mass_get(Json(v): Json<Value>) -> Json<Value> {
        Json(json!({"msg_id": v.get("msg_id").cloned().unwrap_or(Value::Null), "msg_status": "SEND_SUCCESS"}))
    }
    async fn share(State(rec): State<Arc<Recorder>>, Form(f): Form<HashMap<String, String>>) -> Json<Value> {
        let text = f.get("status").map(String::as_str).unwrap_or("");
        rec.note(1, text);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed) * 2;
        Json(json!({"id": id, "idstr": id.to_string(), "mid": id.to_string(), "text": text}))
    }

    let wechat = Router::new()
        .route("/cgi-bin/token", get(token))
        .route("/cgi-bin/stable_token", post(token))
        .route("/cgi-bin/message/mass/sendall", post(sendall))
        .route("/cgi-bin/message/mass/get", post(mass_get))
        .with_state(rec.clone());
    let weibo = Router::new()
        .route("/2/statuses/share.json", post(share))
        .with_state(rec);
    let serve = |app: Router| async move {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        format!("http://{addr}")
    };
    (serve(wechat).await, serve(weibo).await)
}

/// p50, p90, p99, max of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pcts {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn percentiles(mut v: Vec<Duration>) -> Pcts {
    if v.is_empty() {
        return Pcts::default();
    }
    v.sort();
    // Nearest-rank percentile.
    let at = |p: f64| {
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1000.0
    };
    Pcts {
        n: v.len(),
        p50: at(50.0),
        p90: at(90.0),
        p99: at(99.0),
        max: v[v.len() - 1].as_secs_f64() * 1000.0,
    }
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `RssAnon`, `RssFile`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// Number of threads of a process.
pub fn threads(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("Threads:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the name start at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
pub fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
