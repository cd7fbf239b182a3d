//! Real feeds end to end: one quake reported by CENC (automatic, then formal) and USGS in any
//! order is one WeChat push, with a Weibo correction only for a material change; the CWA rain
//! chain (Alert → Update → Update → Cancel); `alertd replay` over the sample feeds.

mod support;

use std::time::Duration;
use support::harness::{wait_for, Env};

const T0: &str = "2026-11-26T10:00:00+08:00";

/// FAN Studio /cenc, the shape CENC quick reports come in (local times, +08:00).
fn cenc(id: &str, formal: bool, mag: f64, lat: f64, lon: f64, created: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"Data": {
        "id": 1, "eventId": id, "autoFlag": if formal { "I" } else { "A" },
        "shockTime": "2026-11-26 09:58:00", "longitude": lon, "latitude": lat,
        "placeName": "四川雅安市芦山县", "magnitude": mag, "createTime": created, "depth": 12,
        "earthtype": 4, "infoTypeName": if formal { "[正式测定]" } else { "[自动测定]" }},
        "md5": format!("{id}{formal}")}))
    .expect("json")
}

/// A USGS GeoJSON Feature for the same quake (epoch milliseconds, lon/lat order).
fn usgs(mag: f64, lat: f64, lon: f64, updated_ms: i64) -> Vec<u8> {
    let origin: jiff::Timestamp = "2026-11-26T09:58:01+08:00".parse().expect("t");
    serde_json::to_vec(&serde_json::json!({"type": "Feature", "id": "us7000abcd",
        "properties": {"mag": mag, "place": "38 km WSW of Ya'an, China", "time": origin.as_millisecond(),
            "updated": updated_ms, "status": "reviewed", "ids": ",us7000abcd,", "magType": "mww",
            "type": "earthquake", "title": "M 5.7 - Ya'an, China"},
        "geometry": {"type": "Point", "coordinates": [lon, lat, 14.0]}}))
    .expect("json")
}

#[derive(Clone, Copy, Debug)]
enum Msg {
    Auto,
    Formal,
    Usgs,
}

/// Publishes the three reports in `order` (each at its own time), returns (pushes, posts).
async fn run(order: &[Msg], formal: (f64, f64)) -> (usize, Vec<String>) {
    let env = Env::new(T0).await;
    let d = env.start(env.config("")).await;
    for (i, m) in order.iter().enumerate() {
        env.clock
            .set(format!("2026-11-26T10:0{}:00+08:00", i + 1).parse().expect("t"));
        let payload = match m {
            Msg::Auto => cenc(
                "CC.20261126095800.001_A",
                false,
                5.6,
                30.30,
                103.00,
                "2026-11-26 09:59:10",
            ),
            Msg::Formal => cenc(
                "CC.20261126095800.000_I",
                true,
                formal.0,
                formal.1,
                103.00,
                "2026-11-26 10:06:00",
            ),
            Msg::Usgs => usgs(5.7, 30.32, 103.02, jiff::Timestamp::now().as_millisecond()),
        };
        env.publish("feeds/seismic/relay", &payload).await;
        wait_for("journaled", 10, || env.counts().journal == (i + 1) as i64).await;
        // The messages are hours apart: let this one's deliveries end before the clock moves,
        // or a send in flight meets an access token the jump expired (42001, refresh, resend)
        // and counts as a second attempt.
        wait_for("nothing pending", 10, || env.counts().pending == 0).await;
    }
    wait_for("nothing pending", 10, || env.counts().pending == 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.counts().events, 1, "one event across sources: {order:?}");
    let posts = env.weibo.posts().into_iter().map(|p| p.text).collect();
    let pushes = env.wechat.jobs().len();
    d.shutdown();
    d.wait().await;
    (pushes, posts)
}

const ORDERS: [[Msg; 3]; 6] = [
    [Msg::Auto, Msg::Formal, Msg::Usgs],
    [Msg::Auto, Msg::Usgs, Msg::Formal],
    [Msg::Formal, Msg::Auto, Msg::Usgs],
    [Msg::Formal, Msg::Usgs, Msg::Auto],
    [Msg::Usgs, Msg::Auto, Msg::Formal],
    [Msg::Usgs, Msg::Formal, Msg::Auto],
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_quake_from_three_reports_in_any_order_is_one_push_and_no_correction() {
    for order in ORDERS {
        // Formal M5.8 vs automatic M5.6 and USGS M5.7: no change of 0.3 or more.
        let (pushes, posts) = run(&order, (5.8, 30.30)).await;
        assert_eq!(pushes, 1, "one WeChat push for {order:?}");
        assert_eq!(posts.len(), 1, "no correction for {order:?}: {posts:?}");
        let source = match order[0] {
            Msg::Usgs => "USGS",
            _ => "中国地震台网中心",
        };
        assert!(
            posts[0].contains(source),
            "the post names its source ({source}): {}",
            posts[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_formal_report_that_changes_the_facts_is_corrected_on_weibo_only() {
    // Formal M6.0: 0.4 above the automatic report, 0.3 above USGS.
    for order in ORDERS {
        let (pushes, posts) = run(&order, (6.0, 30.30)).await;
        assert_eq!(pushes, 1, "{order:?}");
        let formal_first = matches!(order[0], Msg::Formal);
        let want = if formal_first { 1 } else { 2 };
        assert_eq!(posts.len(), want, "{order:?}: {posts:?}");
        if !formal_first {
            assert!(
                posts[1].starts_with("【地震更正】") && posts[1].contains("6.0级"),
                "{}",
                posts[1]
            );
        }
    }
    // The same magnitude, but the epicentre moved about 28 km.
    let (pushes, posts) = run(&[Msg::Auto, Msg::Formal, Msg::Usgs], (5.6, 30.55)).await;
    assert_eq!(pushes, 1);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[1].starts_with("【地震更正】"));
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/feeds/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cwa_rain_chain_is_one_alert_material_updates_and_one_cancellation() {
    let env = Env::new("2024-04-22T14:13:00+08:00").await;
    let b = env
        .builder("alertd-cwa")
        .set_str("jurisdiction", "name", "花蓮縣")
        .set_str("jurisdiction", "office", "花蓮縣消防局")
        .set("jurisdiction", "area_names", "[\"花蓮縣\"]")
        .set("jurisdiction", "lat", "23.99")
        .set("jurisdiction", "lon", "121.60");
    let cfg = env.parse(&b);
    let d = env.start(cfg).await;
    let chain = [
        (
            "2024-04-22T14:13:00+08:00",
            "cap/cwa_zh-TW_rain_2024-04-22T1412_Alert.cap",
        ),
        (
            "2024-04-22T14:58:00+08:00",
            "cap/cwa_zh-TW_rain_2024-04-22T1457_Update.cap",
        ),
        (
            "2024-04-22T17:13:00+08:00",
            "cap/cwa_zh-TW_rain_2024-04-22T1712_Update.cap",
        ),
        (
            "2024-04-22T21:14:00+08:00",
            "cap/cwa_zh-TW_rain_2024-04-22T2113_Cancel.cap",
        ),
    ];
    for (i, (at, file)) in chain.iter().enumerate() {
        env.clock.set(at.parse().expect("t"));
        env.publish("feeds/weather/cwa", &fixture(file)).await;
        wait_for("journaled", 10, || env.counts().journal == (i + 1) as i64).await;
        // The messages are hours apart: let this one's deliveries end before the clock moves,
        // or a send in flight meets an access token the jump expired (42001, refresh, resend)
        // and counts as a second attempt.
        wait_for("nothing pending", 10, || env.counts().pending == 0).await;
    }
    wait_for("nothing pending", 10, || env.counts().pending == 0).await;
    assert_eq!(env.counts().events, 1, "the chain is one event");
    let actions: Vec<String> = env.alerts().into_iter().map(|a| a.action).collect();
    // Yellow → orange (class rises to emergency) → yellow → cancel: every update is material.
    assert_eq!(actions, vec!["alert", "update", "update", "cancel"]);
    let posts: Vec<String> = env.weibo.posts().into_iter().map(|p| p.text).collect();
    assert_eq!(posts.len(), 4, "{posts:?}");
    assert_eq!(
        posts.iter().filter(|p| p.starts_with("【预警解除】")).count(),
        1,
        "one cancellation post"
    );
    // WeChat: the alert, then the rise to emergency; never for the downgrade or the cancel.
    assert_eq!(env.wechat.sendall_attempts(), 2, "{:#?}", env.deliveries());
    d.shutdown();
    d.wait().await;
}

#[test]
fn replay_over_the_sample_feeds_decides_every_message() {
    let dir = format!("{}/tests/fixtures/feeds", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alertd"))
        .args(["replay", &dir])
        .output()
        .expect("alertd replay");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    let mut files = 0;
    for entry in walk(std::path::Path::new(&dir)) {
        let name = entry.display().to_string();
        if name.ends_with(".md") {
            continue;
        }
        files += 1;
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{name}: "))),
            "no decision for {name}"
        );
    }
    assert!(files >= 35, "{files} sample files");
    // Every line is a decision: an event with class and action, or a rejection with its reason.
    for l in &lines {
        let (_, rest) = l.split_once(": ").expect("file: decision");
        assert!(rest.starts_with("rejected: ") || rest.contains(" — "), "{l}");
    }
    let hongyuan = lines.iter().find(|l| l.contains("Hongyuan")).expect("Hongyuan");
    assert!(
        hongyuan.contains("routine alert [wechat=send weibo=send]"),
        "{hongyuan}"
    );
    let qweather = lines
        .iter()
        .find(|l| l.contains("qweather_warning_v7"))
        .expect("qweather");
    // Decoded; Shanghai's gale warning is not Chengdu's.
    assert!(
        qweather.contains("ignore none — warning area \"上海\" does not cover 成都市"),
        "{qweather}"
    );
    let usgs_collection = lines
        .iter()
        .filter(|l| l.contains("fc_significant_month_2022"))
        .count();
    assert_eq!(usgs_collection, 12, "one line per feature of a FeatureCollection");
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(p) else { return out };
    for e in rd.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A native CENC report with its own event id; `review` is `automatic` or `reviewed`.
fn native_cenc(id: &str, mag: f64, origin: &str, review: &str, sent: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema": "alert-feed/1", "msg_id": format!("{id}-1"), "event_id": id, "kind": "earthquake",
        "msg_type": "alert", "status": "actual", "sender": {"id": "cenc", "name": "中国地震台网中心"},
        "sent": sent,
        "quake": {"origin_time": origin, "lat": 30.30, "lon": 103.00, "depth_km": 12, "magnitude": mag,
                  "mag_type": "Ms", "place": "四川省雅安市芦山县", "review": review}}))
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aftershock_of_the_same_sender_is_its_own_quake_not_a_correction() {
    let env = Env::new("2026-11-26T09:58:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    let journaled = |n: i64| {
        let env = &env;
        async move {
            wait_for("journaled", 10, || env.counts().journal == n).await;
        }
    };
    // The main shock, then 40 s later an aftershock at the same epicentre, each with CENC's own id.
    env.publish(
        "feeds/seismic/cenc",
        &native_cenc(
            "AU.20261126095800",
            6.5,
            "2026-11-26T09:58:00+08:00",
            "automatic",
            "2026-11-26T09:58:20+08:00",
        ),
    )
    .await;
    journaled(1).await;
    env.clock.set("2026-11-26T09:59:10+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &native_cenc(
            "AU.20261126095840",
            6.0,
            "2026-11-26T09:58:40+08:00",
            "automatic",
            "2026-11-26T09:59:00+08:00",
        ),
    )
    .await;
    journaled(2).await;
    wait_for("two posts", 10, || env.weibo.posts().len() == 2).await;
    wait_for("two pushes (the second by override)", 10, || {
        env.wechat.jobs().len() == 2
    })
    .await;
    let posts: Vec<String> = env.weibo.posts().into_iter().map(|p| p.text).collect();
    assert!(posts.iter().all(|p| !p.contains("更正")), "{posts:?}");
    assert!(
        posts[0].contains("6.5级") && posts[1].contains("6.0级"),
        "{posts:?}"
    );
    let actions: Vec<(String, String)> = env
        .alerts()
        .into_iter()
        .map(|a| (a.event_key, a.action))
        .collect();
    assert_eq!(actions.len(), 2);
    assert!(actions.iter().all(|a| a.1 == "alert"));
    assert_ne!(actions[0].0, actions[1].0, "two events");

    // USGS's report of the aftershock joins the aftershock, not the main shock.
    env.clock.set("2026-11-26T10:00:00+08:00".parse().expect("t"));
    let origin: jiff::Timestamp = "2026-11-26T09:58:41+08:00".parse().expect("t");
    let usgs = serde_json::json!({"type": "Feature", "id": "us7000aftr",
        "properties": {"mag": 5.9, "place": "38 km WSW of Ya'an, China", "time": origin.as_millisecond(),
            "updated": origin.as_millisecond() + 60_000, "status": "reviewed", "magType": "mww",
            "type": "earthquake", "title": "M 5.9 - Ya'an, China"},
        "geometry": {"type": "Point", "coordinates": [103.01, 30.31, 14.0]}});
    env.publish("feeds/seismic/usgs", &serde_json::to_vec(&usgs).expect("json"))
        .await;
    journaled(3).await;
    let row = env.journal_entry(3);
    let (key, reason) = (row.event_key.expect("an event key"), row.reason);
    assert_eq!(key, actions[1].0, "{reason}");

    // CENC's formal (reviewed) report of the main shock, under another id, is the main shock.
    env.clock.set("2026-11-26T10:08:00+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &native_cenc(
            "CC.20261126095800",
            6.6,
            "2026-11-26T09:58:01+08:00",
            "reviewed",
            "2026-11-26T10:07:50+08:00",
        ),
    )
    .await;
    journaled(4).await;
    let key: String = env.journal_entry(4).event_key.expect("an event key");
    assert_eq!(key, actions[0].0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.weibo.posts().len(),
        2,
        "+0.1 is no material change: no correction"
    );
    assert_eq!(env.wechat.jobs().len(), 2);
    d.shutdown();
    d.wait().await;
}

/// Wolfx `cenc_eqlist`, as its relay sends CENC's reviewed report (ids end in `.N`).
fn wolfx_eqlist(id: &str, mag: f64, report_time: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"No1": {"type": "reviewed", "EventID": id,
        "time": "2026-11-26 09:58:00", "ReportTime": report_time, "location": "四川雅安市芦山县",
        "placeName": "四川雅安市芦山县", "magnitude": format!("{mag}"), "depth": "12",
        "latitude": "30.30", "longitude": "103.00", "intensity": "7"}, "md5": id}))
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cenc_report_through_two_relays_is_one_alert() {
    let env = Env::new("2026-11-26T10:06:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    // FAN Studio first (`CC.<stamp>.000_I`), then Wolfx with the same report (`CC.<stamp>.2`),
    // each with its own report time: CENC's id is the same, so it is the same report.
    env.publish(
        "feeds/seismic/relay",
        &cenc(
            "CC.20261126095800.000_I",
            true,
            6.1,
            30.30,
            103.00,
            "2026-11-26 10:06:00",
        ),
    )
    .await;
    wait_for("journaled", 10, || env.counts().journal == 1).await;
    wait_for("posted", 10, || env.weibo.posts().len() == 1).await;
    env.clock.set("2026-11-26T10:07:30+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/relay",
        &wolfx_eqlist("CC.20261126095800.2", 6.1, "2026-11-26 10:07:10"),
    )
    .await;
    wait_for("journaled", 10, || env.counts().journal == 2).await;
    wait_for("nothing pending", 10, || env.counts().pending == 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.counts().events, 1, "one event");
    assert_eq!(env.counts().alerts, 1, "one alert");
    assert_eq!(env.weibo.posts().len(), 1, "{:?}", env.weibo.posts());
    assert_eq!(env.wechat.jobs().len(), 1);
    d.shutdown();
    d.wait().await;
}
