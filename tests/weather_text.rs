//! Issue 15, 「暴雨红色预警红色预警」: a warning whose type text already names its colour
//! (CAP `event` 暴雨红色预警, native `type_name` 暴雨红色预警) is published with the signal and
//! its colour once — in the WeChat text, the Weibo post, the decision reason and the website's
//! pages — whether the colour also comes in a field or only in the type text. And the weather
//! JSON relays (QWeather, FAN Studio) reach an office whose area they name.

mod support;

use alertd::config::Config;
use alertd::render::{Rendered, Renderer};
use std::path::Path;
use support::harness::{wait_for, Env, Status};

const COLOURS: [&str; 4] = ["红色", "橙色", "黄色", "蓝色"];

/// No colour named twice in a row, with or without 预警 between, and no 预警预警.
fn assert_no_doubled_colour(what: &str, text: &str) {
    for c in COLOURS {
        for twice in [format!("{c}预警{c}"), format!("{c}{c}")] {
            assert!(!text.contains(&twice), "{what} says {twice}: {text}");
        }
    }
    assert!(!text.contains("预警预警"), "{what}: {text}");
}

fn cap(msg_type: &str, identifier: &str, headline: &str, sent: &str) -> Vec<u8> {
    let references = match msg_type {
        "Alert" => String::new(),
        _ => {
            "<references>cdqx@cma.gov.cn,51010041600000_20240701060000,2024-07-01T06:00:00+08:00</references>"
                .to_string()
        }
    };
    let headline = match headline {
        "" => String::new(),
        h => format!("<headline>{h}</headline>"),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>cdqx@cma.gov.cn</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {references}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨红色预警</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <expires>2024-07-01T18:00:00+08:00</expires>
    <senderName>成都市气象台</senderName>
    {headline}
    <description>预计未来3小时内成都市中心城区降雨量将达100毫米以上，请做好防范。</description>
    <area>
      <areaDesc>成都市中心城区</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>510100</value></geocode>
    </area>
  </info>
</alert>"#
    )
    .into_bytes()
}

fn native(msg_type: &str, color: Option<&str>, headline: &str) -> Vec<u8> {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(match msg_type {
        "cancel" => "alerts/samples/rainstorm-cancel.json",
        _ => "alerts/samples/rainstorm-red.json",
    });
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample).expect("sample")).expect("json");
    v["weather"]["type_name"] = "暴雨红色预警".into();
    v["weather"]["headline"] = headline.into();
    match color {
        Some(c) => v["weather"]["color"] = c.into(),
        None => {
            v["weather"].as_object_mut().expect("weather").remove("color");
        }
    }
    serde_json::to_vec(&v).expect("json")
}

/// (channel, text) of every delivery, after checking the decision's reason.
fn texts(out: &Rendered) -> Vec<(String, String)> {
    assert_eq!(out.events.len(), 1, "{}", out.report());
    let (e, deliveries) = &out.events[0];
    assert_no_doubled_colour("the reason", &e.reason);
    deliveries
        .iter()
        .map(|d| (d.channel.clone(), d.text.clone()))
        .collect()
}

/// An alert then its cancellation: the signal named once, with its colour, in every text.
fn alert_and_cancel(topic: &str, alert: &[u8], cancel: &[u8]) {
    let mut r = Renderer::new(&Config::quickstart()).expect("renderer");
    let out = r.render(topic, alert).expect("render");
    let (e, _) = &out.events[0];
    assert_eq!(
        (e.class.as_str(), e.action),
        ("emergency", "alert"),
        "{}",
        out.report()
    );
    assert!(
        e.reason
            .starts_with("暴雨红色: red is in rules.weather.emergency_colors"),
        "{}",
        e.reason
    );
    let sent = texts(&out);
    let channels: Vec<&str> = sent.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(channels, ["wechat", "weibo"], "{}", out.report());
    for (channel, text) in &sent {
        assert_no_doubled_colour(channel, text);
        assert_eq!(text.matches("【暴雨红色预警】").count(), 1, "{channel}: {text}");
    }

    let out = r.render(topic, cancel).expect("render");
    let (e, _) = &out.events[0];
    assert_eq!(e.action, "cancel", "{}", out.report());
    let sent = texts(&out);
    assert!(!sent.is_empty(), "{}", out.report());
    for (channel, text) in &sent {
        assert_no_doubled_colour(channel, text);
        assert!(
            text.contains("已解除成都市中心城区暴雨红色预警。"),
            "{channel}: {text}"
        );
    }
}

#[test]
fn cap_event_naming_its_colour_is_published_with_the_colour_once() {
    alert_and_cancel(
        "feeds/weather/cap",
        &cap(
            "Alert",
            "51010041600000_20240701060000",
            "成都市气象台发布暴雨红色预警信号",
            "2024-07-01T06:00:00+08:00",
        ),
        &cap(
            "Cancel",
            "51010041600000_20240701120000",
            "成都市气象台解除暴雨红色预警信号",
            "2024-07-01T12:00:00+08:00",
        ),
    );
}

#[test]
fn native_type_name_naming_its_colour_is_published_with_the_colour_once() {
    // With the colour field, and without it (the type text is then where the colour comes from).
    for color in [Some("red"), None] {
        alert_and_cancel(
            "feeds/weather/cma",
            &native("alert", color, "成都市气象台发布暴雨红色预警信号"),
            &native("cancel", color, "成都市气象台解除暴雨红色预警信号"),
        );
    }
}

/// The website builds a headline from the facts when the feed gives none: the CAP without a
/// headline, then a native alert-feed/1 message without one; every page, the index and the
/// Atom feed name the warning once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn website_pages_name_the_colour_once() {
    let env = Env::new("2024-07-01T06:01:00+08:00").await;
    let root = env.dir.path().join("www");
    let site = env
        .builder("alertd-test")
        .website(&root, "https://www.example.gov.cn/yjgl/");
    let d = env.start(env.parse(&site)).await;
    env.publish(
        "feeds/weather/cap",
        &cap(
            "Alert",
            "51010041600000_20240701060000",
            "",
            "2024-07-01T06:00:00+08:00",
        ),
    )
    .await;
    let mut other = native("alert", None, "");
    other = String::from_utf8(other)
        .expect("utf8")
        .replace("cma-510100-20240701-0600", "cma-510100-20240701-0605")
        .into_bytes();
    env.publish("feeds/weather/cma", &other).await;
    let done = || {
        let s: Vec<Status> = env
            .deliveries()
            .into_iter()
            .filter(|d| d.channel == "website")
            .map(|d| d.status)
            .collect();
        s.len() == 2 && s.iter().all(|s| *s != Status::Pending)
    };
    wait_for("two website deliveries", 15, done).await;
    let mut pages = 0;
    for entry in walk(&root) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert_no_doubled_colour(&entry.display().to_string(), &text);
        if text.contains("<h1 id=\"headline\">") {
            assert!(
                text.contains("<h1 id=\"headline\">成都市中心城区暴雨红色预警</h1>"),
                "{}: {text}",
                entry.display()
            );
            pages += 1;
        }
    }
    assert_eq!(pages, 2, "one page per alert");
    d.shutdown();
    d.wait().await;
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("web root").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// An office on the QWeather relay (上海, by the issuing office's name) and on FAN Studio's
/// (靖远县, by the adcode in the id) gets its warnings, with the signal and colour once.
#[test]
fn weather_relays_reach_the_office_they_name() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds/weather_json");
    let cases = [
        (
            "[jurisdiction]\nname = \"上海市\"\nlat = 31.23\nlon = 121.47\narea_names = [\"上海\"]\n",
            "qweather_warning_v7_2023-04-03_Shanghai_gale_blue.json",
            "【大风蓝色预警】",
            "warning area names 上海",
        ),
        (
            "[jurisdiction]\nname = \"靖远县\"\nlat = 36.57\nlon = 104.68\nadcodes = [\"620421\"]\n",
            "fanstudio_ws_weatheralarm_2026-07-10_11B20_yellow.json",
            "【雷雨大风黄色预警】",
            "area code 620421 covers 靖远县",
        ),
    ];
    for (jurisdiction, file, title, why) in cases {
        let text = alertd::config::QUICKSTART.replace(
            "[jurisdiction]\nname = \"成都市\"\noffice = \"成都市应急管理局\"\nlat = 30.66\nlon = 104.07\nadcodes = [\"510100\"]\n",
            jurisdiction,
        );
        assert_ne!(text, alertd::config::QUICKSTART);
        let cfg = Config::parse(&text, Path::new("test.toml")).expect("config");
        let mut r = Renderer::new(&cfg).expect("renderer");
        let payload = std::fs::read(fixtures.join(file)).expect("fixture");
        let out = r.render("feeds/weather/relay", &payload).expect("render");
        let (e, _) = &out.events[0];
        assert_eq!(e.class, "routine", "{file}: {}", out.report());
        assert!(e.reason.contains(why), "{file}: {}", e.reason);
        let sent = texts(&out);
        assert!(
            sent.iter().any(|(_, t)| t.contains(title)),
            "{file}: {}",
            out.report()
        );
        for (channel, t) in &sent {
            assert_no_doubled_colour(channel, t);
        }
    }
}
