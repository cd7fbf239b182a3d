//! Who may speak for whom: signatures bind to the sender a message claims to be (not the topic
//! it arrives on), only an event's own sender (or one ranked above it) may update or cancel it,
//! and a provider's wrong clock cannot freeze its own event. Each hostile message is followed by
//! a fresh good quake, which must still reach every channel exactly once.

mod support;

use alertd::feed::auth::sign;
use support::harness::{quake, wait_for, Env, Status};

const KEY: &str = "cenc-relay-hmac-key-0123456789";

/// The shipped shape: seismic topics signed with key `cenc`, the weather topic unsigned CAP; and
/// an unsigned USGS topic, whose reports may only corroborate.
const RULES: &str = r#"
[[feeds]]
topic = "feeds/seismic/usgs"

[[feeds]]
topic = "feeds/seismic/#"
require_signature = true
keys = ["cenc"]

[[feeds]]
topic = "feeds/weather/cap"
format = "cap"

[feed_keys.cenc]
secret = "cenc-relay-hmac-key-0123456789"
"#;

fn signed(payload: &[u8]) -> Vec<u8> {
    sign("cenc", KEY, std::str::from_utf8(payload).expect("utf8")).into_bytes()
}

/// A CAP earthquake message (category Geo, event 地震) with the given sender and quake facts.
fn cap_quake(
    sender: &str,
    id: &str,
    msg_type: &str,
    refs: &str,
    sent: &str,
    origin: &str,
    mag: f64,
) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{id}</identifier><sender>{sender}</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info><language>zh-CN</language><category>Geo</category><event>地震</event>
    <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
    <senderName>中国地震台网中心</senderName><headline>地震</headline>
    <parameter><valueName>EventOriginTime</valueName><value>{origin}</value></parameter>
    <parameter><valueName>EventLatLon</valueName><value>30.30,103.00 0.000</value></parameter>
    <parameter><valueName>EventDepth</valueName><value>10.0公里</value></parameter>
    <parameter><valueName>EventMagnitude</valueName><value>{mag}</value></parameter>
    <area><areaDesc>四川省雅安市芦山县</areaDesc></area>
  </info>
</alert>"#
    )
    .into_bytes()
}

/// The quake's outcome as a count of (WeChat jobs, Weibo posts) naming `place`.
fn seen(env: &Env, place: &str) -> (usize, usize) {
    let jobs = env
        .wechat
        .jobs()
        .iter()
        .filter(|j| j.content.contains(place))
        .count();
    let posts = env
        .weibo
        .posts()
        .iter()
        .filter(|p| p.text.contains(place))
        .count();
    (jobs, posts)
}

/// The reason recorded for the newest journal entry.
fn last_reason(env: &Env) -> String {
    env.journal().pop().expect("journal row").reason
}

async fn journaled(env: &Env, n: i64) {
    wait_for("the message journaled", 10, || env.counts().journal == n).await;
}

/// A fresh good quake — its own msg_id and origin time — reaches WeChat and Weibo exactly once
/// (WeChat by override: the day's push went to the first alert; the fake account allows more
/// mass sends a day than a subscription account's one, so the override is not refused).
async fn fresh_quake_still_goes_out(
    env: &Env,
    id: &str,
    place: &str,
    origin: &str,
    journal_n: i64,
    sign: bool,
) {
    let msg = quake(id, 1, 6.4, 30.9, 103.6, place, origin);
    env.publish("feeds/seismic/cenc", &if sign { signed(&msg) } else { msg })
        .await;
    journaled(env, journal_n).await;
    wait_for("the fresh quake on both channels", 10, || {
        seen(env, place) == (1, 1)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(seen(env, place), (1, 1), "exactly once on every channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_message_on_another_topic_cannot_cancel_or_forge_a_signed_sender() {
    let env = Env::new("2026-12-03T10:00:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config(RULES)).await;
    let origin = "2026-12-03T10:00:00+08:00";
    env.publish(
        "feeds/seismic/cenc",
        &signed(&quake(
            "cenc-q1",
            1,
            7.0,
            30.3,
            103.0,
            "四川省雅安市芦山县",
            origin,
        )),
    )
    .await;
    wait_for("the signed quake on both channels", 10, || {
        seen(&env, "芦山县") == (1, 1)
    })
    .await;

    // 1. An unsigned CAP Cancel claiming to be CENC, with the quake's parameters, on the unsigned
    //    weather topic: refused, because CENC signs its messages.
    let cancel = cap_quake(
        "cenc",
        "forged-cancel-1",
        "Cancel",
        "<references>cenc,cenc-q1-r1,2026-12-03T10:01:01+08:00</references>",
        "2026-12-03T10:02:00+08:00",
        origin,
        7.0,
    );
    env.publish("feeds/weather/cap", &cancel).await;
    journaled(&env, 2).await;
    let why = last_reason(&env);
    assert!(
        why.starts_with("signature: sender \"cenc\" signs its messages"),
        "{why}"
    );

    // 2. An unsigned CAP earthquake Alert M7.5 claiming to be CENC: refused the same way.
    let forged = cap_quake(
        "cenc",
        "forged-alert-1",
        "Alert",
        "",
        "2026-12-03T10:03:00+08:00",
        "2026-12-03T10:02:30+08:00",
        7.5,
    );
    env.publish("feeds/weather/cap", &forged).await;
    journaled(&env, 3).await;
    assert!(last_reason(&env).contains("signs its messages"));

    // 3. The same Cancel from a sender with no key: accepted as a report, but unsigned, so it
    //    cannot cancel the signed quake (nor is it the quake's own sender).
    let other = cap_quake(
        "someone@example.org",
        "other-cancel-1",
        "Cancel",
        "",
        "2026-12-03T10:04:00+08:00",
        origin,
        7.0,
    );
    env.publish("feeds/weather/cap", &other).await;
    journaled(&env, 4).await;
    let why = last_reason(&env);
    // Refused before it could even be matched: it claims CENC's name (feed::impostor).
    assert!(why.contains("field `sender.name`: names 中国地震台网"), "{why}");

    // 4. The CENC key signing for a sender it does not sign for: refused.
    let mut cma = serde_json::from_slice::<serde_json::Value>(&quake(
        "cma-q1",
        1,
        7.2,
        30.3,
        103.0,
        "四川省雅安市芦山县",
        "2026-12-03T10:04:30+08:00",
    ))
    .expect("json");
    cma["sender"] = serde_json::json!({"id": "cma", "name": "中国气象局"});
    env.publish(
        "feeds/seismic/cenc",
        &signed(&serde_json::to_vec(&cma).expect("json")),
    )
    .await;
    journaled(&env, 5).await;
    let why = last_reason(&env);
    assert!(
        why.contains("key \"cenc\" does not sign for sender \"cma\""),
        "{why}"
    );

    // 5. An unsigned USGS report of the signed quake corroborates it and publishes nothing.
    let usgs = serde_json::json!({
        "type": "Feature", "id": "us7000abcd",
        "properties": {"mag": 6.9, "place": "30 km W of Ya'an, China", "time": 1_796_263_200_500i64,
                       "updated": 1_796_263_300_000i64, "type": "earthquake", "status": "reviewed",
                       "title": "M 6.9 - 30 km W of Ya'an, China", "url": "https://earthquake.usgs.gov/x"},
        "geometry": {"type": "Point", "coordinates": [103.01, 30.31, 12.0]}
    });
    env.publish("feeds/seismic/usgs", &serde_json::to_vec(&usgs).expect("json"))
        .await;
    journaled(&env, 6).await;
    let why = last_reason(&env);
    assert!(why.contains("usgs reports the same event unsigned"), "{why}");

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        seen(&env, "芦山县"),
        (1, 1),
        "nothing above reached the public: no cancel, no forged alert, no correction"
    );
    assert_eq!(env.counts().alerts, 1);
    assert!(env
        .weibo
        .posts()
        .iter()
        .all(|p| !p.text.contains("撤销") && !p.text.contains("7.5")));

    fresh_quake_still_goes_out(
        &env,
        "cenc-q2",
        "四川省阿坝州汶川县",
        "2026-12-03T10:05:00+08:00",
        7,
        true,
    )
    .await;
    d.shutdown();
    d.wait().await;
}

fn rainstorm(sender: &str, msg_id: &str, msg_type: &str, color: &str, sent: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema": "alert-feed/1", "msg_id": msg_id, "event_id": "cma-510100-20261203-0900",
        "kind": "weather", "msg_type": msg_type, "status": "actual",
        "sender": {"id": sender, "name": "成都市气象台"}, "sent": sent,
        "references": ["cma-510100-20261203-0900-r1"],
        "weather": {"type_name": "暴雨", "color": color, "headline": "成都市气象台发布暴雨预警信号",
                    "expires": "2026-12-03T21:00:00+08:00",
                    "area": {"desc": "成都市中心城区", "adcodes": ["510100"]}}
    }))
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_warnings_own_sender_may_update_or_lift_it() {
    let env = Env::new("2026-12-03T09:00:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    env.publish(
        "feeds/weather/cma",
        &rainstorm(
            "cma",
            "cma-510100-20261203-0900-r1",
            "alert",
            "red",
            "2026-12-03T09:00:00+08:00",
        ),
    )
    .await;
    wait_for("the red warning on Weibo", 10, || env.weibo.posts().len() == 1).await;

    // Someone else lifts it, then downgrades it: recorded, never published.
    env.publish(
        "feeds/weather/cma",
        &rainstorm("evil", "evil-1", "cancel", "red", "2026-12-03T09:01:00+08:00"),
    )
    .await;
    journaled(&env, 2).await;
    let why = last_reason(&env);
    assert!(
        why.contains("only cma or a sender ranked above it in rules.weather.source_priority"),
        "{why}"
    );
    env.publish(
        "feeds/weather/cma",
        &rainstorm("evil", "evil-2", "update", "blue", "2026-12-03T09:02:00+08:00"),
    )
    .await;
    journaled(&env, 3).await;
    assert!(last_reason(&env).contains("cma's facts stand"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(env.weibo.posts().len(), 1, "no 解除 and no downgrade was posted");
    assert_eq!(env.counts().alerts, 1);

    fresh_quake_still_goes_out(
        &env,
        "cenc-q3",
        "四川省眉山市洪雅县",
        "2026-12-03T09:02:30+08:00",
        4,
        false,
    )
    .await;

    // The warning's own sender still can lift it.
    env.publish(
        "feeds/weather/cma",
        &rainstorm(
            "cma",
            "cma-510100-20261203-0900-r2",
            "cancel",
            "red",
            "2026-12-03T09:03:00+08:00",
        ),
    )
    .await;
    wait_for("the real 解除 on Weibo", 10, || {
        env.weibo.posts().iter().any(|p| p.text.contains("解除"))
    })
    .await;
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_with_a_wrong_clock_does_not_freeze_its_own_event() {
    let env = Env::new("2026-12-03T11:00:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    let origin = "2026-12-03T11:00:00+08:00";
    let msg = |rev: u32, msg_type: &str, mag: f64, sent: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(&quake(
            "clock-q1",
            rev,
            mag,
            30.3,
            103.0,
            "四川省雅安市芦山县",
            origin,
        ))
        .expect("json");
        v["msg_type"] = msg_type.into();
        v["sent"] = sent.into();
        serde_json::to_vec(&v).expect("json")
    };
    env.publish(
        "feeds/seismic/cenc",
        &msg(1, "alert", 7.0, "2100-01-01T00:00:00+08:00"),
    )
    .await;
    wait_for("the alert on both channels", 10, || {
        seen(&env, "芦山县") == (1, 1)
    })
    .await;
    let why = last_reason(&env);
    assert!(
        why.contains("ahead of alertd's clock") && why.contains("ordered by the time received"),
        "{why}"
    );

    // Its own provider's later revision (now with a correct clock) is applied: a correction...
    env.clock.set("2026-12-03T11:02:00+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &msg(2, "update", 7.8, "2026-12-03T11:01:50+08:00"),
    )
    .await;
    wait_for("the correction on Weibo", 10, || {
        env.weibo.posts().iter().any(|p| p.text.contains("7.8"))
    })
    .await;
    // ...and then its cancel.
    env.clock.set("2026-12-03T11:03:00+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &msg(3, "cancel", 7.8, "2026-12-03T11:02:50+08:00"),
    )
    .await;
    wait_for("the cancel on Weibo", 10, || env.weibo.posts().len() == 3).await;
    let kinds: Vec<String> = env.alerts().into_iter().map(|a| a.action).collect();
    assert_eq!(kinds, ["alert", "update", "cancel"]);

    // A warning whose `expires` is not after its `sent` is refused, naming the field.
    let mut w: serde_json::Value = serde_json::from_slice(&rainstorm(
        "cma",
        "cma-bad-expiry",
        "alert",
        "red",
        "2026-12-03T11:03:00+08:00",
    ))
    .expect("json");
    w["event_id"] = "cma-bad-expiry".into();
    w["weather"]["expires"] = "2026-12-03T10:00:00+08:00".into();
    env.publish("feeds/weather/cma", &serde_json::to_vec(&w).expect("json"))
        .await;
    journaled(&env, 4).await;
    let why = last_reason(&env);
    assert!(
        why.starts_with("field `expires`:") && why.contains("is not after sent"),
        "{why}"
    );

    fresh_quake_still_goes_out(
        &env,
        "clock-q2",
        "四川省乐山市峨边县",
        "2026-12-03T11:02:40+08:00",
        5,
        false,
    )
    .await;
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_who_sends_a_warnings_id_first_cannot_silence_it() {
    let env = Env::new("2026-12-03T08:59:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    // Before CMA speaks, a stranger takes its warning's id: a cancel, then a blue update.
    env.publish(
        "feeds/weather/cma",
        &rainstorm("evil", "evil-1", "cancel", "red", "2026-12-03T08:59:00+08:00"),
    )
    .await;
    journaled(&env, 1).await;
    env.publish(
        "feeds/weather/cma",
        &rainstorm("evil", "evil-2", "alert", "blue", "2026-12-03T08:59:10+08:00"),
    )
    .await;
    journaled(&env, 2).await;
    wait_for("the stranger's deliveries done", 10, || env.counts().pending == 0).await;
    let stranger_posts = env.weibo.posts().len();
    // CMA's real red warning under its own id is published all the same.
    env.clock.set("2026-12-03T09:00:30+08:00".parse().expect("t"));
    env.publish(
        "feeds/weather/cma",
        &rainstorm(
            "cma",
            "cma-510100-20261203-0900-r1",
            "alert",
            "red",
            "2026-12-03T09:00:00+08:00",
        ),
    )
    .await;
    journaled(&env, 3).await;
    wait_for("the real red warning on Weibo", 10, || {
        env.weibo.posts().iter().any(|p| p.text.contains("红色"))
    })
    .await;
    assert!(
        last_reason(&env).contains("names an event of evil"),
        "{}",
        last_reason(&env)
    );
    // And CMA's own cancel later finds CMA's warning, not the stranger's.
    env.publish(
        "feeds/weather/cma",
        &rainstorm(
            "cma",
            "cma-510100-20261203-0900-r2",
            "cancel",
            "red",
            "2026-12-03T09:03:00+08:00",
        ),
    )
    .await;
    wait_for("CMA's 解除 on Weibo", 10, || {
        env.weibo.posts().iter().any(|p| p.text.contains("解除"))
    })
    .await;
    assert_eq!(
        env.weibo.posts().len(),
        stranger_posts + 2,
        "{:?}",
        env.weibo.posts()
    );
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_refused_on_one_topic_are_taken_on_their_own() {
    let env = Env::new("2026-12-03T09:00:30+08:00").await;
    let d = env.start(env.config(RULES)).await;
    let warning = rainstorm(
        "cma",
        "cma-510100-20261203-0900-r1",
        "alert",
        "red",
        "2026-12-03T09:00:00+08:00",
    );
    // Published by mistake (or by someone who copied it) on the signed seismic topic first.
    env.publish("feeds/seismic/cenc", &warning).await;
    journaled(&env, 1).await;
    assert!(last_reason(&env).contains("signature"), "{}", last_reason(&env));
    // On a topic that takes it, the same bytes are a new message, not a duplicate.
    env.publish("feeds/weather/native", &warning).await;
    journaled(&env, 2).await;
    wait_for("the warning on Weibo", 10, || env.weibo.posts().len() == 1).await;
    // Its redelivery there is the duplicate.
    env.publish("feeds/weather/native", &warning).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(env.counts().journal, 2);
    assert_eq!(env.weibo.posts().len(), 1);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_fakes_on_one_feed_cannot_hold_another_unsigned_feeds_emergency() {
    let env = Env::new("2026-12-03T08:59:30+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let rules = r#"
[[feeds]]
topic = "feeds/seismic/#"

[[feeds]]
topic = "feeds/weather/#"

[override]
max_per_hour = 1
"#;
    let d = env.start(env.config(rules)).await;
    // Three fake emergencies on the seismic feed: the day's push, its one override, one held.
    for i in 0..3 {
        let fake = quake(
            &format!("fake-{i}"),
            1,
            7.0,
            30.7,
            104.1,
            &format!("四川省成都市假{i}"),
            // A minute apart: one sender's reports of one instant would be one quake.
            &format!("2026-12-03T08:5{i}:00+08:00"),
        );
        env.publish("feeds/seismic/junk", &fake).await;
        journaled(&env, i + 1).await;
    }
    wait_for("two pushes and one hold", 10, || {
        env.wechat.jobs().len() == 2
            && env.count_deliveries(|d| d.channel == "wechat" && d.status == Status::Held) == 1
    })
    .await;
    // The real red warning arrives unsigned on the weather feed: its own bucket, so it overrides.
    env.publish(
        "feeds/weather/cma",
        &rainstorm(
            "cma",
            "cma-510100-20261203-0900-r1",
            "alert",
            "red",
            "2026-12-03T08:59:20+08:00",
        ),
    )
    .await;
    journaled(&env, 4).await;
    wait_for("the warning pushed", 10, || {
        env.wechat.jobs().iter().any(|j| j.content.contains("暴雨红色"))
    })
    .await;
    let bucket: String = env.alerts().pop().expect("alert").bucket;
    assert_eq!(bucket, "unsigned:feeds/weather/#");
    d.shutdown();
    d.wait().await;
}
