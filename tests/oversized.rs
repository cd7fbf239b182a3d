//! A message larger than anything alertd takes, through a Mosquitto with its stock config
//! (which accepts up to the MQTT maximum, 256 MiB): alertd takes it, rejects it by its own
//! payload limit with the reason, acks it, keeps only its size and hash — and good alerts after
//! it reach every channel exactly once, before and after a restart, within a memory bound.

mod support;

use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::faults_util::{message, place};
use support::harness::{log_count, wait_for, Daemon, Env};
use support::mosquitto::Mosquitto;

/// What the test publishes: more than Mosquitto's old 16 MiB client limit in rumqttc.
const HUGE: usize = 17_000_000;

/// alertd's peak resident set (VmHWM) may not exceed this. The debug binary peaks at about
/// 33 MB without the message; rumqttc holds its frame once while alertd hashes it (17 MB) —
/// never queued, batched, cloned or journaled whole, each of which would add another 17 MB.
const PEAK_RSS_KB: u64 = 64 * 1024;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The peak resident set size of a process, from `/proc/PID/status`.
fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => {
            let code = r.status().as_u16();
            (code, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// A JSON-looking payload of exactly `n` bytes.
fn huge_payload(n: usize) -> Vec<u8> {
    let head = br#"{"schema": "alert-feed/1", "msg_id": "huge-1", "pad": ""#;
    let mut p = Vec::with_capacity(n);
    p.extend_from_slice(head);
    p.resize(n - 2, b'x');
    p.extend_from_slice(b"\"}");
    p
}

/// Waits for the next "mqtt: subscribed" in the log after `before` of them.
async fn subscribed(log: &Path, before: usize) {
    wait_for("daemon subscribed", 20, || {
        log_count(log, "mqtt: subscribed") > before
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_17_mb_message_is_rejected_and_acked_and_alerts_after_it_arrive_across_a_restart() {
    oversized_through_stock_mosquitto("3.1.1").await;
}

/// With MQTT 5 the broker drops a message larger than the Maximum Packet Size alertd announced,
/// silently; alertd announces the protocol's maximum, so the message arrives and is rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mqtt5_the_17_mb_message_arrives_too_and_is_rejected_with_its_reason() {
    oversized_through_stock_mosquitto("5").await;
}

async fn oversized_through_stock_mosquitto(protocol: &str) {
    let now = jiff::Timestamp::now();
    let mut env = Env::new(&now.to_string()).await;
    env.wechat.set_mass_quota_per_day(10);
    env.weibo.set_hourly_limit(1000);
    let mq = Mosquitto::start_stock(env.dir.path());
    env.broker = mq.url();
    let metrics = format!("127.0.0.1:{}", free_port());
    let text = env
        .builder("alertd-oversized")
        .metrics(&metrics)
        .set_str("mqtt", "protocol", protocol)
        .table("[override]\nmax_per_hour = 100\n")
        .text();
    let cfg = env.dir.path().join("alertd.toml");
    std::fs::write(&cfg, text).expect("config");
    let log = env.dir.path().join("alertd.log");
    let origin = (now - jiff::SignedDuration::from_mins(1)).to_string();

    let mut child = Daemon::start(&cfg, &log);
    subscribed(&log, 0).await;

    let huge = huge_payload(HUGE);
    let file = env.dir.path().join("huge.json");
    std::fs::write(&file, &huge).expect("huge file");
    let published = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &mq.port.to_string(), "-q", "1"])
        .args(["-t", "feeds/seismic/cenc", "-f"])
        .arg(&file)
        .status()
        .expect("mosquitto_pub runs");
    assert!(published.success(), "Mosquitto took the 17 MB message");
    for i in 0..3 {
        let (_, p) = message("OV", i, true, &origin);
        env.publish("feeds/seismic/cenc", &p).await;
    }
    wait_for("three alerts on WeChat and Weibo", 30, || {
        env.wechat.jobs().len() == 3 && env.weibo.posts().len() == 3
    })
    .await;
    let peak_first = vm_hwm_kb(child.id());

    let rejected = alertd::store::journal::by_status(&env.db(), "rejected").expect("journal");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let r = &rejected[0];
    assert_eq!(r.label.as_deref(), Some("too_large"));
    assert!(
        r.reason.contains("17000000 bytes") && r.reason.contains("limit of 1048576 bytes"),
        "the reason names the size and the limit: {}",
        r.reason
    );
    assert_eq!(r.size, HUGE as i64, "the journal records the size that arrived");
    assert_eq!(r.stored_bytes, 0, "the journal keeps no body for it");
    assert_eq!(
        r.content_hash,
        hex::encode(Sha256::digest(&huge)),
        "hashed whole, so a redelivery is recognised"
    );
    assert_eq!(
        log_count(&log, "mqtt: connection failed"),
        0,
        "the session never broke"
    );
    let (code, body) = get(&format!("http://{metrics}/healthz")).await;
    assert_eq!(code, 200, "{body}");
    let (_, m) = get(&format!("http://{metrics}/metrics")).await;
    assert!(m.contains("alertd_mqtt_connected 1"), "{m}");

    assert!(child.stop(), "SIGTERM exits 0");
    let before = log_count(&log, "mqtt: subscribed");
    let mut child = Daemon::start(&cfg, &log);
    subscribed(&log, before).await;
    for i in 3..6 {
        let (_, p) = message("OV", i, true, &origin);
        env.publish("feeds/seismic/cenc", &p).await;
    }
    wait_for("six alerts on WeChat and Weibo", 30, || {
        env.wechat.jobs().len() == 6 && env.weibo.posts().len() == 6
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let peak_second = vm_hwm_kb(child.id());

    for i in 0..6 {
        let p = place("OV", i);
        let on_wechat = env
            .wechat
            .jobs()
            .iter()
            .filter(|j| j.content.contains(&p))
            .count();
        let on_weibo = env.weibo.posts().iter().filter(|x| x.text.contains(&p)).count();
        assert_eq!(
            (on_wechat, on_weibo),
            (1, 1),
            "alert {i} exactly once on each channel"
        );
    }
    let rejected = alertd::store::journal::by_status(&env.db(), "rejected").expect("journal");
    assert_eq!(
        rejected.len(),
        1,
        "acked the first time: not taken again after the restart"
    );
    assert_eq!(rejected[0].duplicates, 0, "nor redelivered");
    println!(
        "oversized (MQTT {protocol}): peak RSS {peak_first} kB (first run), {peak_second} kB (after restart)"
    );
    assert!(
        peak_first < PEAK_RSS_KB && peak_second < PEAK_RSS_KB,
        "peak RSS {peak_first} / {peak_second} kB, bound {PEAK_RSS_KB} kB"
    );
    assert!(child.stop(), "SIGTERM exits 0");
}

fn status(cfg: &Path, json: bool) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alertd"));
    c.args(["status", "--config"]).arg(cfg);
    if json {
        c.arg("--json");
    }
    let out = c.output().expect("alertd status runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `/healthz` until it answers `code`; its body.
async fn health_becomes(url: &str, code: u16, secs: u64) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (c, body) = get(url).await;
        if c == code {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz still {c} ({body:?}), not {code}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_broker_session_shows_on_healthz_in_status_and_in_the_metrics() {
    let now = jiff::Timestamp::now();
    let mut env = Env::new(&now.to_string()).await;
    let mut mq = Mosquitto::start_stock(env.dir.path());
    env.broker = mq.url();
    let metrics = format!("127.0.0.1:{}", free_port());
    let text = env
        .builder("alertd-session")
        .metrics(&metrics)
        .set("mqtt", "unhealthy_after_secs", "2")
        .text();
    let cfg = env.dir.path().join("alertd.toml");
    std::fs::write(&cfg, text).expect("config");
    let log = env.dir.path().join("alertd.log");
    let mut child = Daemon::start(&cfg, &log);
    subscribed(&log, 0).await;
    let health = format!("http://{metrics}/healthz");
    assert_eq!(get(&health).await.0, 200);

    mq.stop();
    let body = health_becomes(&health, 503, 15).await;
    assert!(
        body.contains("mqtt: no stable broker session") && body.contains("connection error"),
        "/healthz answers 503 with the reason: {body:?}"
    );
    let (_, m) = get(&format!("http://{metrics}/metrics")).await;
    assert_eq!(metric(&m, "alertd_mqtt_connected"), Some(0.0), "{m}");
    assert!(
        metric(&m, "alertd_mqtt_connection_errors_total").is_some_and(|n| n >= 1.0),
        "{m}"
    );
    wait_for("status tells the failing session", 10, || {
        status(&cfg, false).contains("FAILING: mqtt: no stable broker session")
    })
    .await;
    let text = status(&cfg, false);
    assert!(
        text.contains("mqtt session (MQTT 3.1.1): disconnected since"),
        "{text}"
    );
    assert!(text.contains("connection errors: "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&status(&cfg, true)).expect("status --json");
    assert_eq!(json["mqtt"]["state"], "disconnected");
    assert!(json["mqtt"]["failing"]
        .as_str()
        .is_some_and(|f| f.contains("no stable broker session")));
    assert!(json["mqtt"]["connection_errors"].as_u64().is_some_and(|n| n >= 1));
    assert!(json["mqtt"]["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    support::harness::assert_no_secrets(&text, &env.wechat);

    mq.resume();
    health_becomes(&health, 200, 20).await;
    wait_for("status tells the session is back", 10, || {
        let t = status(&cfg, false);
        t.contains("mqtt session (MQTT 3.1.1): connected since") && !t.contains("FAILING")
    })
    .await;
    let (_, m) = get(&format!("http://{metrics}/metrics")).await;
    assert_eq!(metric(&m, "alertd_mqtt_connected"), Some(1.0), "{m}");

    let origin = (now - jiff::SignedDuration::from_mins(1)).to_string();
    let (_, p) = message("SE", 0, true, &origin);
    env.publish("feeds/seismic/cenc", &p).await;
    wait_for("the next alert on WeChat and Weibo", 20, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        (env.wechat.jobs().len(), env.weibo.posts().len()),
        (1, 1),
        "exactly once"
    );
    assert!(child.stop(), "SIGTERM exits 0");
}
