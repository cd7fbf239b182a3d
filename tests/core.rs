//! alertd core, end to end: a feed message on a real MQTT broker becomes a WeChat mass send and
//! a Weibo post at fake platforms that behave like the real ones, through a real SQLite store.

mod support;

use alertd::store::kinds::AuditKind;

use alertd::clock::Clock;
use std::time::Duration;
use support::harness::{assert_no_secrets, logs, quake, wait_for, Env, Status, LINK};

const T0: &str = "2026-11-26T10:00:00+08:00";

/// Distinct origin times (two minutes apart): reports within a minute at one place would be
/// the same quake to alertd, whatever their ids.
fn origin() -> String {
    static N: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let t: jiff::Timestamp = "2026-11-26T09:00:00+08:00".parse().expect("t");
    (t + jiff::SignedDuration::from_secs(120 * n)).to_string()
}

fn routine(id: &str, place: &str) -> Vec<u8> {
    // M4.5 about 100 km from Chengdu: routine by the default rules.
    quake(id, 1, 4.5, 31.5, 104.5, place, &origin())
}

fn emergency(id: &str, place: &str) -> Vec<u8> {
    quake(id, 1, 6.2, 30.3, 103.0, place, &origin())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lushan_gives_one_push_and_one_post_and_weibo_does_not_wait_for_wechat() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    env.wechat.set_delay(Duration::from_secs(2));
    let d = env.start(env.config("")).await;
    env.publish("feeds/seismic/cenc", &support::harness::lushan())
        .await;

    wait_for("the Weibo post", 10, || env.weibo.posts().len() == 1).await;
    // The WeChat answer is still 2 s away; Weibo went first.
    let wechat_state = env
        .deliveries()
        .into_iter()
        .find(|d| d.channel == "wechat")
        .map(|d| d.status);
    assert_eq!(
        wechat_state,
        Some(Status::Pending),
        "Weibo was posted while WeChat was still waiting"
    );

    wait_for("the WeChat job", 10, || env.wechat.jobs().len() == 1).await;
    wait_for("both delivered", 10, || {
        env.deliveries().iter().all(|d| d.status == Status::Delivered)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.wechat.jobs().len(), 1);
    assert_eq!(env.weibo.posts().len(), 1);

    let job = &env.wechat.jobs()[0];
    assert!(
        job.content
            .starts_with("【地震速报】中国地震台网中心正式测定：北京时间4月20日8时2分在四川省雅安市芦山县"),
        "{}",
        job.content
    );
    assert!(
        job.content.contains("7.0级地震")
            && job.content.contains("震源深度13千米")
            && job.content.contains("震中距成都市约1")
    );
    assert!(job.clientmsgid.starts_with("ad-wechat-") && job.clientmsgid.len() <= 64);
    let post = &env.weibo.posts()[0];
    assert!(
        post.text.contains(LINK) && post.text.contains("7.0级") && post.text.contains("四川省雅安市芦山县")
    );
    assert!(post.text.chars().count() <= 140);
    assert_eq!(post.rip, "203.0.113.7");

    d.shutdown();
    d.wait().await;
    assert_no_secrets(&logs(), &env.wechat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_push_a_day_survives_restart_and_rolls_over_at_local_midnight() {
    let env = Env::new(T0).await;
    let d = env.start(env.config("")).await;
    env.publish("feeds/seismic/cenc", &routine("q1", "四川省绵阳市安州区"))
        .await;
    wait_for("first routine delivered", 10, || {
        env.weibo.posts().len() == 1 && env.wechat.jobs().len() == 1
    })
    .await;
    d.shutdown();
    d.wait().await;

    // A restart does not reset the ledger.
    let d = env.start(env.config("")).await;
    env.clock.advance(Duration::from_secs(3600));
    env.publish("feeds/seismic/cenc", &routine("q2", "四川省德阳市什邡市"))
        .await;
    wait_for("second Weibo post", 10, || env.weibo.posts().len() == 2).await;
    wait_for("second WeChat decision", 10, || env.deliveries().len() == 4).await;
    let second = env
        .deliveries()
        .into_iter()
        .filter(|d| d.channel == "wechat")
        .nth(1)
        .expect("second wechat row");
    assert_eq!(second.status, Status::Skipped);
    assert!(
        second.decision.contains("daily quota used (1/1 on 2026-11-26)"),
        "{}",
        second.decision
    );
    assert_eq!(env.wechat.jobs().len(), 1, "WeChat pushed once");
    assert_eq!(
        env.wechat.sendall_attempts(),
        1,
        "the second was not even attempted"
    );

    // Local midnight (Asia/Shanghai), not UTC midnight, frees the push.
    env.clock.set("2026-11-26T23:59:00+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "q3",
            1,
            4.4,
            31.4,
            104.4,
            "四川省绵阳市涪城区",
            "2026-11-26T23:58:00+08:00",
        ),
    )
    .await;
    wait_for("third decision", 10, || env.deliveries().len() == 6).await;
    assert_eq!(
        env.deliveries()[4].status,
        Status::Skipped,
        "23:59 is still the same local day"
    );
    env.clock.set("2026-11-27T00:00:30+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "q4",
            1,
            4.6,
            31.3,
            104.3,
            "四川省德阳市绵竹市",
            "2026-11-27T00:00:00+08:00",
        ),
    )
    .await;
    wait_for("push on the new day", 10, || env.wechat.jobs().len() == 2).await;
    let days: Vec<(String, i64)> = env
        .ledger()
        .into_iter()
        .filter(|l| l.channel == "wechat")
        .map(|l| (l.day, l.used))
        .collect();
    assert_eq!(
        days,
        vec![("2026-11-26".to_string(), 1), ("2026-11-27".to_string(), 1)]
    );
    d.shutdown();
    d.wait().await;
    assert_no_secrets(&logs(), &env.wechat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_overrides_the_used_quota_audited_and_the_fourth_in_an_hour_is_held() {
    let env = Env::new(T0).await;
    // An account whose platform quota is larger than alertd's configured daily_limit, so the
    // overrides are accepted and counted at the fake.
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("[override]\nmax_per_hour = 3\n")).await;
    env.publish("feeds/seismic/cenc", &routine("r1", "四川省绵阳市安州区"))
        .await;
    wait_for("routine push", 10, || env.wechat.jobs().len() == 1).await;
    for (i, place) in [
        "四川省雅安市芦山县",
        "四川省雅安市宝兴县",
        "四川省雅安市天全县",
        "四川省雅安市名山区",
    ]
    .iter()
    .enumerate()
    {
        env.clock.advance(Duration::from_secs(60));
        env.publish("feeds/seismic/cenc", &emergency(&format!("e{i}"), place))
            .await;
        wait_for("emergency decided", 10, || env.deliveries().len() == 4 + 2 * i).await;
    }
    wait_for("three override pushes", 10, || env.wechat.jobs().len() == 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.wechat.jobs().len(),
        4,
        "1 routine + 3 overrides; the 4th is held"
    );
    assert_eq!(env.weibo.posts().len(), 5, "Weibo posts every one");

    let wechat: Vec<_> = env
        .deliveries()
        .into_iter()
        .filter(|d| d.channel == "wechat")
        .collect();
    for w in &wechat[1..4] {
        assert_eq!(w.status, Status::Delivered);
        assert!(
            w.decision.starts_with("emergency override: daily quota used"),
            "{}",
            w.decision
        );
    }
    assert_eq!(wechat[4].status, Status::Held);
    assert!(
        wechat[4].decision.contains("flood guard"),
        "{}",
        wechat[4].decision
    );

    let c = env.db();
    let overrides = env.audit_of(AuditKind::Override);
    assert_eq!(overrides.len(), 3);
    assert!(
        overrides[0].actor.contains("rules.quake[0]"),
        "audited with the rule: {}",
        overrides[0].actor
    );
    assert_eq!(env.audit_of(AuditKind::Held).len(), 1);
    assert_eq!(alertd::store::audit::verify(&c).expect("verify"), None);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_refusing_an_override_is_recorded_and_the_quota_stays_used() {
    let env = Env::new(T0).await;
    let d = env.start(env.config("")).await;
    env.publish("feeds/seismic/cenc", &routine("r1", "四川省绵阳市安州区"))
        .await;
    wait_for("routine push", 10, || env.wechat.jobs().len() == 1).await;
    env.publish("feeds/seismic/cenc", &emergency("e1", "四川省雅安市芦山县"))
        .await;
    wait_for("override answered", 10, || {
        env.deliveries()
            .iter()
            .filter(|d| d.channel == "wechat")
            .nth(1)
            .is_some_and(|d| d.status == Status::Failed)
    })
    .await;
    let w = env
        .deliveries()
        .into_iter()
        .filter(|d| d.channel == "wechat")
        .nth(1)
        .expect("row");
    assert!(w.error().contains("WeChat 45028"), "{}", w.error());
    assert_eq!(env.wechat.sendall_attempts(), 2, "45028 is not retried");
    assert_eq!(
        env.ledger()
            .iter()
            .find(|l| l.channel == "wechat")
            .expect("a WeChat ledger day")
            .used,
        2,
        "45028 does not give quota back"
    );
    assert_eq!(env.weibo.posts().len(), 2);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_rejected_with_a_reason_and_the_next_good_message_goes_out() {
    let env = Env::new(T0).await;
    let d = env.start(env.config("")).await;
    let good = String::from_utf8(routine("g1", "四川省绵阳市安州区")).expect("utf8");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"{\"schema\": \"alert-feed/1\", ".to_vec(),
            "malformed JSON at line 1",
        ),
        (
            good.replace("\"magnitude\":4.5", "\"magnitude\":\"4.5\"")
                .into_bytes(),
            "field `quake.magnitude`: must be a number",
        ),
        (
            good.replace("\"lat\":31.5", "\"lat\":91.5").into_bytes(),
            "field `quake.lat`: 91.5 is outside [-90, 90]",
        ),
        (
            good.replace("\"depth_km\":10", "\"depth_km\":-3").into_bytes(),
            "field `quake.depth_km`",
        ),
        (vec![b'x'; 2 << 20], "exceeds the limit of 1048576 bytes"),
        (
            (0..997u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "not UTF-8",
        ),
    ];
    for (payload, _) in &cases {
        env.publish("feeds/seismic/cenc", payload).await;
    }
    wait_for("all rejected", 10, || {
        env.count_journal(|j| j.status == "rejected") == cases.len() as i64
    })
    .await;
    let reasons: Vec<String> = env
        .journal()
        .into_iter()
        .filter(|j| j.status == "rejected")
        .map(|j| j.reason)
        .collect();
    for ((_, want), got) in cases.iter().zip(&reasons) {
        assert!(got.contains(want), "expected {want:?} in {got:?}");
    }
    // Each was logged once at WARN with its reason.
    assert!(logs().contains("field `quake.lat`: 91.5 is outside [-90, 90]"));

    env.publish("feeds/seismic/cenc", good.as_bytes()).await;
    wait_for("the good message goes out", 10, || {
        env.weibo.posts().len() == 1 && env.wechat.jobs().len() == 1
    })
    .await;
    let status = alertd::status::collect(&env.config(""), &env.db(), &env.clock).expect("status");
    assert_eq!(status.rejected_24h.len(), cases.len());
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_and_repeated_messages_are_processed_once() {
    let env = Env::new(T0).await;
    let d = env.start(env.config("")).await;
    let m = routine("d1", "四川省绵阳市安州区");
    env.publish("feeds/seismic/cenc", &m).await;
    env.publish("feeds/seismic/cenc", &m).await;
    // Same msg_id, different bytes (a relay re-serialising): still a duplicate.
    let reformatted =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&m).expect("json"))
            .expect("json");
    env.publish("feeds/seismic/other-relay", &reformatted).await;
    wait_for("duplicates counted", 10, || {
        env.journal().iter().map(|j| j.duplicates).sum::<i64>() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.counts().journal, 1);
    assert_eq!(env.weibo.posts().len(), 1);
    assert_eq!(env.wechat.jobs().len(), 1);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_once_and_the_send_succeeds() {
    let env = Env::new(T0).await;
    let d = env.start(env.config("")).await;
    env.publish("feeds/seismic/cenc", &routine("t1", "四川省绵阳市安州区"))
        .await;
    wait_for("first push", 10, || env.wechat.jobs().len() == 1).await;
    assert_eq!(env.wechat.token_fetches(), 1);

    env.wechat.expire_tokens();
    env.clock.set("2026-11-27T09:00:00+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "t2",
            1,
            4.5,
            31.4,
            104.4,
            "四川省绵阳市涪城区",
            "2026-11-27T08:59:00+08:00",
        ),
    )
    .await;
    wait_for("second push after refresh", 10, || env.wechat.jobs().len() == 2).await;
    assert_eq!(env.wechat.token_fetches(), 2, "one refresh, not one per attempt");
    assert!(env
        .wechat
        .requests()
        .iter()
        .any(|r| r.contains("errcode") || r.contains("sendall")));
    d.shutdown();
    d.wait().await;
    assert_no_secrets(&logs(), &env.wechat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exercises_never_reach_a_live_channel() {
    let env = Env::new("2013-04-20T08:04:30+08:00").await;
    let d = env.start(env.config("")).await;
    let ex = String::from_utf8(support::harness::lushan())
        .expect("utf8")
        .replace("\"actual\"", "\"exercise\"");
    env.publish("feeds/seismic/cenc", ex.as_bytes()).await;
    wait_for("dry-run recorded", 10, || {
        env.deliveries()
            .iter()
            .filter(|d| d.status == Status::DryRun)
            .count()
            == 2
    })
    .await;
    assert_eq!(env.wechat.sendall_attempts(), 0);
    assert_eq!(env.weibo.attempts(), 0);
    let req: String = env
        .deliveries()
        .into_iter()
        .find(|d| d.channel == "wechat")
        .and_then(|d| d.request)
        .expect("request");
    assert!(
        req.contains("/cgi-bin/message/mass/sendall?access_token=***") && req.contains("7.0级地震"),
        "{req}"
    );
    assert_eq!(env.ledger().len(), 0, "exercises use no quota");
    d.shutdown();
    d.wait().await;
    assert_no_secrets(&logs(), &env.wechat);
}

/// An emergency whose origin is a minute before the injected clock's now, at its own place
/// (~66 km steps), so neither deduplication nor same-quake matching joins two of them.
fn emergency_now(env: &Env, id: &str, i: usize) -> Vec<u8> {
    let origin = env.clock.now() - jiff::SignedDuration::from_secs(60);
    quake(
        id,
        1,
        6.2,
        29.7 + 0.6 * (i % 4) as f64,
        102.4 + 0.6 * (i / 4) as f64,
        "四川省雅安市",
        &origin.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flood_guard_caps_overrides_in_any_rolling_hour_across_a_restart() {
    let env = Env::new(T0).await;
    env.wechat.set_mass_quota_per_day(20);
    let cfg = || env.config("[override]\nmax_per_hour = 3\n");
    let mut d = env.start(cfg()).await;
    env.publish("feeds/seismic/cenc", &routine("rh-r", "四川省绵阳市安州区"))
        .await;
    wait_for("routine push", 10, || env.wechat.jobs().len() == 1).await;
    // The issue's series (a governor let t = 1232 s and 2464 s through), then past the hour.
    let at = [0u64, 1, 2, 3, 1232, 2464, 3601];
    let mut last = 0;
    for (i, t) in at.iter().enumerate() {
        env.clock.advance(Duration::from_secs(t - last));
        last = *t;
        if *t == 1232 {
            // The count is the store's: a restart does not reset it.
            d.shutdown();
            d.wait().await;
            d = env.start(cfg()).await;
        }
        env.publish("feeds/seismic/cenc", &emergency_now(&env, &format!("rh{i}"), i))
            .await;
        wait_for("emergency decided", 10, || {
            env.deliveries().len() == 2 + 2 * (i + 1)
        })
        .await;
    }
    wait_for("overrides sent", 10, || env.wechat.jobs().len() == 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let wechat: Vec<_> = env
        .deliveries()
        .into_iter()
        .filter(|d| d.channel == "wechat")
        .collect();
    let states: Vec<&str> = wechat[1..].iter().map(|w| w.status.as_str()).collect();
    assert_eq!(
        states,
        [
            "delivered",
            "delivered",
            "delivered",
            "held",
            "held",
            "held",
            "delivered"
        ],
        "at most 3 overrides in any hour: t = 3, 1232 and 2464 s are held, 3601 s is not"
    );
    for w in &wechat[4..7] {
        assert!(
            w.decision.starts_with(
                "override flood guard: 3 of 3 overrides in the last hour from source \"unsigned\""
            ),
            "{}",
            w.decision
        );
    }
    assert_eq!(env.wechat.jobs().len(), 5, "1 routine + 4 overrides");
    assert_eq!(env.audit_of(AuditKind::Held).len(), 3);
    d.shutdown();
    d.wait().await;
}

const ROGUE_KEY: &str = "rogue-relay-hmac-key-0123456789";
const CENC_KEY: &str = "cenc-relay-hmac-key-0123456789";

/// `msg` as sender `sender`, signed with the feed key of that name.
fn signed(msg: &[u8], sender: &str, key: &str) -> Vec<u8> {
    let text = String::from_utf8(msg.to_vec())
        .expect("utf-8")
        .replace("\"id\":\"cenc\"", &format!("\"id\":\"{sender}\""));
    // Another sender may not use CENC's name (feed::impostor).
    let text = if sender == "cenc" {
        text
    } else {
        text.replace("中国地震台网中心", &format!("{sender}测试台"))
    };
    alertd::feed::auth::sign(sender, key, &text).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_source_does_not_delay_or_hold_another_sources_emergency() {
    let env = Env::new(T0).await;
    env.wechat.set_mass_quota_per_day(100);
    // The fake refuses the 31st post in a rolling hour with 403 + 10024, as share.json does.
    let keys = env
        .builder("alertd-test")
        .feed_key("rogue", ROGUE_KEY)
        .feed_key("cenc", CENC_KEY);
    let d = env.start(env.parse(&keys)).await;
    let origin = (env.clock.now() - jiff::SignedDuration::from_secs(60)).to_string();
    for i in 0..50 {
        // A grid of places ~66 km apart, all within 500 km of Chengdu: 50 distinct emergencies.
        let (lat, lon) = (28.5 + 0.6 * (i % 8) as f64, 101.5 + 0.7 * (i / 8) as f64);
        let msg = quake(&format!("flood{i}"), 1, 6.5, lat, lon, "四川省雅安市", &origin);
        env.publish("feeds/seismic/cenc", &signed(&msg, "rogue", ROGUE_KEY))
            .await;
    }
    wait_for("the flood decided", 20, || env.deliveries().len() == 100).await;
    wait_for("the flood's share of Weibo", 10, || env.weibo.posts().len() == 15).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        env.weibo.posts().len(),
        15,
        "one source gets 15 of the account's 30 posts an hour"
    );
    assert_eq!(
        env.wechat.jobs().len(),
        4,
        "the day's push and 3 overrides; the rest held"
    );

    // The real one, from another source, five minutes later (not the same quake as any).
    env.clock.advance(Duration::from_secs(300));
    let real = emergency_at(&env, "real-m7", 7.0, 30.3, 103.0, "四川省雅安市芦山县");
    let sent = std::time::Instant::now();
    env.publish("feeds/seismic/cenc", &signed(&real, "cenc", CENC_KEY))
        .await;
    wait_for("the real one on Weibo", 10, || env.weibo.posts().len() == 16).await;
    println!(
        "flood: the real emergency on Weibo {} ms after its publish",
        sent.elapsed().as_millis()
    );
    let posts = env.weibo.posts();
    assert!(
        posts[15].text.contains("芦山县"),
        "the next post is the real one: {}",
        posts[15].text
    );
    wait_for("the real one on WeChat", 10, || env.wechat.jobs().len() == 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.weibo.posts().len(),
        16,
        "the flood still waits for its next slot"
    );
    assert_eq!(posts.iter().filter(|p| p.text.contains("芦山县")).count(), 1);
    assert_eq!(env.wechat.jobs().len(), 5, "the real one overrode once");
    let real = env
        .deliveries_of(|a| a.event_key.contains("real-m7"))
        .into_iter()
        .find(|d| d.channel == "wechat")
        .expect("the real one's WeChat delivery");
    assert_eq!(real.status, Status::Delivered);
    assert!(
        real.decision.starts_with("emergency override"),
        "{}",
        real.decision
    );
    let rogue = env.deliveries_of(|a| a.bucket == "rogue");
    assert_eq!(
        rogue
            .iter()
            .filter(|d| d.channel == "wechat" && d.status == Status::Held)
            .count(),
        46,
        "the flood's overrides beyond 3 are held"
    );
    let waiting: String = rogue
        .iter()
        .find(|d| d.channel == "weibo" && d.status == Status::Pending)
        .and_then(|d| d.last_error.clone())
        .expect("a waiting flood post");
    assert!(
        waiting.contains("source \"rogue\" made 15 posts in the last hour"),
        "{waiting}"
    );
    d.shutdown();
    d.wait().await;
}

fn emergency_at(env: &Env, id: &str, mag: f64, lat: f64, lon: f64, place: &str) -> Vec<u8> {
    let origin = env.clock.now() - jiff::SignedDuration::from_secs(60);
    quake(id, 1, mag, lat, lon, place, &origin.to_string())
}

/// One unsigned USGS FeatureCollection of 60 M7 quakes: one source, so it gets the unsigned
/// bucket's 15 Weibo posts and 3 overrides, not the account; a signed CENC quake after it is
/// delivered once on each channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_collection_of_many_quakes_spends_one_sources_share() {
    let env = Env::new(T0).await;
    env.wechat.set_mass_quota_per_day(100);
    let keys = env.builder("alertd-test").feed_key("cenc", CENC_KEY);
    let d = env.start(env.parse(&keys)).await;
    let t = (env.clock.now() - jiff::SignedDuration::from_secs(60)).as_millisecond();
    let features: Vec<serde_json::Value> = (0..60)
        .map(|i| {
            let (lat, lon) = (28.5 + 0.6 * (i % 8) as f64, 101.5 + 0.7 * (i / 8) as f64);
            serde_json::json!({"type": "Feature", "id": format!("us7000fl{i:02}"),
                "properties": {"mag": 7.0, "place": "Sichuan, China", "time": t, "updated": t,
                               "status": "reviewed", "magType": "mww", "type": "earthquake"},
                "geometry": {"type": "Point", "coordinates": [lon, lat, 10.0]}})
        })
        .collect();
    let fc =
        serde_json::json!({"type": "FeatureCollection", "metadata": {"count": 60}, "features": features});
    env.publish("feeds/seismic/usgs", fc.to_string().as_bytes()).await;
    wait_for("the collection decided", 20, || env.deliveries().len() == 120).await;
    wait_for("the unsigned share of Weibo", 10, || {
        env.weibo.posts().len() == 15
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(env.weibo.posts().len(), 15, "one message, one source: 15 posts");
    assert_eq!(env.wechat.jobs().len(), 4, "the day's push and 3 overrides");

    env.clock.advance(Duration::from_secs(300));
    let good = emergency_at(&env, "good-after-fc", 6.8, 30.3, 103.0, "四川省雅安市芦山县");
    env.publish("feeds/seismic/cenc", &signed(&good, "cenc", CENC_KEY))
        .await;
    wait_for("the good one on both", 10, || {
        env.weibo.posts().len() == 16 && env.wechat.jobs().len() == 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.weibo
            .posts()
            .iter()
            .filter(|p| p.text.contains("芦山县"))
            .count(),
        1
    );
    assert_eq!(env.wechat.jobs().len(), 5);
    d.shutdown();
    d.wait().await;
}
