//! The daemon under test, the one harness for it:
//! - in-process: [`Env`] — an embedded broker, the fake platforms, a temp store and an injected
//!   clock shared by the daemon and the fakes ([`Env::start`] returns the running daemon);
//! - as a process: [`Daemon`] — `alertd run` on a config file, stopped (SIGTERM), killed (-9)
//!   and restarted on the same config and log.
//!
//! Both write the store at [`Env::store_path`], read back through `alertd::store::inspect`
//! ([`Env::deliveries`], [`Env::journal`], …); configs come from [`Env::builder`]
//! (`support::config::ConfigBuilder`).

use super::config::ConfigBuilder;
use super::fake_wechat::{self, FakeWechat};
use super::fake_weibo::{self, FakeWeibo};
use alertd::clock::{Clock, ManualClock, SharedClock};
use alertd::config::Config;
use alertd::daemon::Running;
pub use alertd::store::inspect::{
    AlertRow, AuditRow, Counts, DeliveryRow, DigestRow, Inspect, JournalRow, LedgerRow,
};
pub use alertd::store::outbox::Status;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const SAFE_DOMAIN: &str = "www.example.gov.cn";
pub const LINK: &str = "https://www.example.gov.cn/alerts";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub wechat: FakeWechat,
    pub weibo: FakeWeibo,
    pub broker: String,
}

impl Env {
    /// Starts at `start` (an RFC 3339 time): fakes, a broker, no daemon yet.
    pub async fn new(start: &str) -> Env {
        capture_logs();
        let clock = ManualClock::new(start.parse().expect("start time"));
        let c = clock.clone();
        let now: super::NowFn = Arc::new(move || c.now());
        let addr = alertd::embedded::start(0).expect("embedded broker");
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
            wechat: FakeWechat::start(now.clone()).await,
            weibo: FakeWeibo::start(now, SAFE_DOMAIN).await,
            clock,
            broker: format!("mqtt://{addr}"),
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("alertd.db")
    }

    /// The builder of a config pointing at this env: its broker, store, fakes and clock-free
    /// defaults (1 WeChat push a day, 3 s request timeouts, 50 ms first retry, no metrics).
    pub fn builder(&self, client_id: &str) -> ConfigBuilder {
        ConfigBuilder::new(self.dir.path())
            .broker(&self.broker)
            .client_id(client_id)
            .store(self.store_path())
            .wechat(&self.wechat.base_url(), fake_wechat::APPID, fake_wechat::SECRET)
            .channel_line("wechat", "daily_limit = 1")
            .channel_line("wechat", "request_timeout_secs = 3")
            .weibo(&self.weibo.base_url(), fake_weibo::TOKEN, LINK)
            .channel_line("weibo", "rip = \"203.0.113.7\"")
            .channel_line("weibo", "request_timeout_secs = 3")
            .weibo_pace(self.weibo.hourly_limit())
            .retry(50, 2)
            .link_allowlist(&[SAFE_DOMAIN])
            .metrics("")
    }

    /// A config pointing at this env; `extra` is appended (TOML tables).
    pub fn config_text(&self, client_id: &str, extra: &str) -> String {
        self.config_text_with(client_id, "", extra)
    }

    /// As [`Env::config_text`], with `wechat` lines added to the `[channels.wechat]` table.
    pub fn config_text_with(&self, client_id: &str, wechat: &str, extra: &str) -> String {
        let mut b = self.builder(client_id);
        for line in wechat.lines().filter(|l| !l.trim().is_empty()) {
            b = b.channel_line("wechat", line);
        }
        b.table(extra).text()
    }

    /// Parses a built config.
    pub fn parse(&self, b: &ConfigBuilder) -> Config {
        Config::parse(&b.text(), std::path::Path::new("test.toml")).expect("test config")
    }

    pub fn config(&self, extra: &str) -> Config {
        let text = self.config_text("alertd-test", extra);
        Config::parse(&text, std::path::Path::new("test.toml")).expect("test config")
    }

    pub fn config_with(&self, wechat: &str, extra: &str) -> Config {
        let text = self.config_text_with("alertd-test", wechat, extra);
        Config::parse(&text, std::path::Path::new("test.toml")).expect("test config")
    }

    pub async fn start(&self, cfg: Config) -> Running {
        let clock: SharedClock = Arc::new(self.clock.clone());
        let running = alertd::daemon::start(cfg, clock).await.expect("daemon starts");
        tokio::time::timeout(Duration::from_secs(10), running.connected())
            .await
            .expect("daemon connects");
        running
    }

    pub async fn publish(&self, topic: &str, payload: &[u8]) {
        publish(&self.broker, topic, payload).await
    }

    /// The store, read-write, for the library's own typed reads (`status::collect`…).
    pub fn db(&self) -> rusqlite::Connection {
        alertd::store::open(&self.store_path()).expect("store")
    }

    /// The store, read-only, as typed rows.
    pub fn inspect(&self) -> Inspect {
        Inspect::open(&self.store_path()).expect("store (read-only)")
    }

    /// Every delivery, in creation order.
    pub fn deliveries(&self) -> Vec<DeliveryRow> {
        self.inspect().deliveries().expect("deliveries")
    }

    /// The deliveries of the alerts that `which` picks, in creation order.
    pub fn deliveries_of(&self, which: impl Fn(&AlertRow) -> bool) -> Vec<DeliveryRow> {
        let i = self.inspect();
        let ids: Vec<i64> = i
            .alerts()
            .expect("alerts")
            .iter()
            .filter(|a| which(a))
            .map(|a| a.id)
            .collect();
        let rows = i.deliveries().expect("deliveries");
        rows.into_iter().filter(|d| ids.contains(&d.alert_id)).collect()
    }

    /// Every alert, by id.
    pub fn alerts(&self) -> Vec<AlertRow> {
        self.inspect().alerts().expect("alerts")
    }

    /// Every journal entry, by id.
    pub fn journal(&self) -> Vec<JournalRow> {
        self.inspect().journal().expect("journal")
    }

    /// The audit trail, by id.
    pub fn audit(&self) -> Vec<AuditRow> {
        self.inspect().audit().expect("audit")
    }

    /// The audit rows of `kind`, by id.
    pub fn audit_of(&self, kind: alertd::store::kinds::AuditKind) -> Vec<AuditRow> {
        self.audit().into_iter().filter(|a| a.kind == kind).collect()
    }

    /// The quota ledger, by channel and day.
    pub fn ledger(&self) -> Vec<LedgerRow> {
        self.inspect().ledger().expect("ledger")
    }

    /// The digest outcomes.
    pub fn digests(&self) -> Vec<DigestRow> {
        self.inspect().digests().expect("digests")
    }

    /// How many deliveries `f` picks.
    pub fn count_deliveries(&self, f: impl Fn(&DeliveryRow) -> bool) -> i64 {
        self.deliveries().iter().filter(|d| f(d)).count() as i64
    }

    /// How many journal entries `f` picks.
    pub fn count_journal(&self, f: impl Fn(&JournalRow) -> bool) -> i64 {
        self.journal().iter().filter(|j| f(j)).count() as i64
    }

    /// The first journal entry `f` picks.
    pub fn journal_find(&self, f: impl Fn(&JournalRow) -> bool) -> Option<JournalRow> {
        self.journal().into_iter().find(|j| f(j))
    }

    /// The journal entry with `id`.
    pub fn journal_entry(&self, id: i64) -> JournalRow {
        self.journal_find(|j| j.id == id).expect("journal row")
    }

    /// Row counts (cheap to poll).
    pub fn counts(&self) -> Counts {
        self.inspect().counts().expect("counts")
    }
}

/// alertd's Weibo budget for a fake account: a test that lifted the fake's hourly limit above
/// the real 30 is not about pacing, so alertd's budget is lifted too; otherwise alertd's
/// defaults (30 an hour, 15 per source) meet the fake's real-platform limit.
trait WeiboPace {
    fn weibo_pace(self, limit: usize) -> Self;
}

impl WeiboPace for ConfigBuilder {
    fn weibo_pace(self, limit: usize) -> ConfigBuilder {
        if limit <= 30 {
            return self;
        }
        let n = limit.min(u32::MAX as usize);
        self.channel_line("weibo", &format!("posts_per_hour = {n}"))
            .channel_line("weibo", &format!("source_posts_per_hour = {n}"))
    }
}

/// Publishes at QoS 1 and waits for the broker's PUBACK.
pub async fn publish(url: &str, topic: &str, payload: &[u8]) {
    let (host, port, _) = alertd::feed::mqtt::parse_url(url).expect("url");
    let id = format!("test-pub-{}", rand::random::<u32>());
    let mut o = MqttOptions::new(id, host, port);
    o.set_max_packet_size(8 << 20, 8 << 20);
    let (client, mut ev) = AsyncClient::new(o, 10);
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
        .await
        .expect("publish");
    let acked = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Incoming::PubAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("publisher: {e}"),
            }
        }
    })
    .await;
    acked.expect("broker acked the publish");
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_millis(200), ev.poll()).await;
}

/// Polls `f` every 20 ms until it is true; panics with `what` after `secs`.
pub async fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        if std::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A native quake message. `origin` is RFC 3339; `sent` is one minute later.
pub fn quake(event_id: &str, rev: u32, mag: f64, lat: f64, lon: f64, place: &str, origin: &str) -> Vec<u8> {
    let o: jiff::Timestamp = origin.parse().expect("origin");
    let sent = o + jiff::SignedDuration::from_secs(60 + rev as i64);
    serde_json::to_vec(&serde_json::json!({
        "schema": "alert-feed/1",
        "msg_id": format!("{event_id}-r{rev}"),
        "event_id": event_id,
        "kind": "earthquake",
        "msg_type": if rev == 1 { "alert" } else { "update" },
        "status": "actual",
        "sender": {"id": "cenc", "name": "中国地震台网中心"},
        "sent": sent.to_string(),
        "quake": {"origin_time": origin, "lat": lat, "lon": lon, "depth_km": 10,
                  "magnitude": mag, "mag_type": "Ms", "place": place, "review": "automatic"}
    }))
    .expect("json")
}

/// Lushan 2013 as the native feed sends it.
pub fn lushan() -> Vec<u8> {
    include_bytes!("../../alerts/samples/lushan-2013.json").to_vec()
}

// ---- log capture: every test binary that uses the harness captures the daemon's logs, and
// ---- `assert_no_secrets` checks that no credential or token ever appeared in them.

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,rumqttd=off,hyper=info,reqwest=debug,h2=info")
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .try_init();
        buf
    });
}

pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap_or_else(|e| e.into_inner())).into_owned())
        .unwrap_or_default()
}

/// Fails if any known secret — the AppSecret, the Weibo token, or any WeChat access token the
/// fake issued (read from the requests it received) — appears in `text`.
pub fn assert_no_secrets(text: &str, wechat: &FakeWechat) {
    let mut secrets = vec![fake_wechat::SECRET.to_string(), fake_weibo::TOKEN.to_string()];
    for r in wechat.requests() {
        if let Some(i) = r.find("access_token=") {
            let tok: String = r[i + 13..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if tok.len() > 8 {
                secrets.push(tok);
            }
        }
    }
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret appeared in the output: {}…",
            &s[..6]
        );
    }
}

// ---- the daemon as a process: the binary cargo built for this test run, started, stopped,
// ---- killed and restarted on one config and one log file.

/// The log filter of a daemon process unless a test asks for another.
pub const PROCESS_LOG: &str = "info,rumqttd=off,hyper=info,h2=info";

/// `alertd run --config CONFIG` as a child process, its stderr appended to a log file. Dropping
/// it kills it (-9), so no daemon outlives its test, even one that panicked.
pub struct Daemon {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    filter: String,
}

impl Daemon {
    /// Starts the daemon on `config`, logging at [`PROCESS_LOG`] to `log`.
    pub fn start(config: &Path, log: &Path) -> Daemon {
        Daemon::start_with_log(config, log, PROCESS_LOG)
    }

    /// As [`Daemon::start`], with `RUST_LOG=filter`.
    pub fn start_with_log(config: &Path, log: &Path, filter: &str) -> Daemon {
        let mut d = Daemon {
            child: None,
            config: config.to_path_buf(),
            log: log.to_path_buf(),
            filter: filter.to_string(),
        };
        d.restart();
        d
    }

    /// Starts it again on the same config and log (after [`Daemon::kill9`] or [`Daemon::stop`];
    /// a daemon still running is killed first).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.kill9();
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_alertd"))
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", &self.filter)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("alertd starts");
        self.child = Some(child);
    }

    /// The running process's id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("the daemon is running").id()
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("the daemon is running");
        child.kill().expect("kill -9");
        child.wait().expect("reaped");
    }

    /// SIGTERM; returns whether it exited 0 within 15 s (else it is killed).
    pub fn stop(&mut self) -> bool {
        let mut child = self.child.take().expect("the daemon is running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        for _ in 0..300 {
            if let Ok(Some(st)) = child.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Sends `signal` (as `kill` spells it: `-TERM`, `-KILL`) and waits, however long, for the
    /// exit.
    pub fn signal(&mut self, signal: &str) -> ExitStatus {
        let mut child = self.child.take().expect("the daemon is running");
        let _ = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status();
        child.wait().expect("reaped")
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// How often `needle` occurs in the log.
    pub fn log_count(&self, needle: &str) -> usize {
        log_count(&self.log, needle)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How often `needle` occurs in the log file.
pub fn log_count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

/// Kills a child process when a test ends early (a panic), so no process outlives its test (for
/// the commands a test runs itself; [`Daemon`] does this on its own).
pub struct KillOnDrop(pub u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-9")
            .arg(self.0.to_string())
            .status();
    }
}
