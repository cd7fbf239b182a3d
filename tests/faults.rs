//! The fault suite: the faults an office server really meets, each asserting that every
//! accepted feed message has exactly one recorded outcome, that no alert reaches a platform
//! twice, that each reaches it exactly once when the platform recovers in time, and that the
//! quota ledger matches the pushes the platform saw. Each test prints its counts:
//!
//! ```text
//! faults/kill9: published=400 journaled=400 lost=0 doubled=0 … wechat_jobs=41 weibo_posts=400 ledger=41
//! ```
//!
//! - `kill9`: 20 rounds of SIGKILL at random points (50–800 ms after a batch) of the real binary.
//! - `broker_restart`: the Mosquitto broker restarted three times mid-stream.
//! - `platform_errors`: WeChat -1 and HTTP 5xx, Weibo 5xx, for a while; then recovery.
//! - `platform_hangs`: both platforms accept and never answer; the request timeout and the
//!   platforms' own duplicate checks (45065, 20019) resolve it.
//! - `clock_jump`: the clock jumps across local midnight (Asia/Shanghai), forwards and back.
//! - `disk_full`: the store's file system fills up: nothing is acked, nothing lost; the same
//!   process recovers when space returns, and so does a process killed while the disk is full.
//! - `weibo_post_log_covers_a_lost_commit`: a crash between a Weibo post and the commit that
//!   records it; the post log (fdatasynced before the next post) is applied on start, no repost.

mod support;

use rand::Rng;
use std::time::Duration;
use support::faults_util::{batch, journaled, message, open_ro, settled, tally, Publisher, Tmpfs};
use support::harness::{log_count, wait_for, Daemon, DeliveryRow, Env, Status};
use support::mosquitto::Mosquitto;

/// `n` minutes before `now`, as RFC 3339.
fn minutes_before(now: jiff::Timestamp, n: i64) -> String {
    (now - jiff::SignedDuration::from_mins(n)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9() {
    const ROUNDS: usize = 20;
    const BATCH: usize = 20;
    let now = jiff::Timestamp::now();
    let mut env = Env::new(&now.to_string()).await;
    let mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    // Every emergency is pushed (the account's quota is generous; alertd's flood guard too),
    // and each answer takes a moment so kills land mid-request.
    env.wechat.set_mass_quota_per_day(1000);
    env.weibo.set_hourly_limit(1_000_000);
    env.wechat.set_delay(Duration::from_millis(30));
    env.weibo.set_delay(Duration::from_millis(10));
    let cfg = env.dir.path().join("alertd.toml");
    std::fs::write(
        &cfg,
        env.config_text("alertd-faults-kill9", "[override]\nmax_per_hour = 1000\n"),
    )
    .expect("config");
    let log = env.dir.path().join("alertd.log");
    let provider = Publisher::start(&mq.url());
    let origin = minutes_before(now, 1);

    let mut ids = Vec::new();
    let mut kill_ms = Vec::new();
    for round in 0..ROUNDS {
        let before = log_count(&log, "mqtt: subscribed");
        let mut child = Daemon::start(&cfg, &log);
        wait_for("daemon connected", 20, || {
            log_count(&log, "mqtt: subscribed") > before
        })
        .await;
        for _ in 0..BATCH {
            let i = ids.len();
            let (id, payload) = message("K", i, i % 10 == 0, &origin);
            ids.push(id);
            provider.send(payload).await;
        }
        let ms = rand::rng().random_range(50..=800u64);
        kill_ms.push(ms);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        child.kill9();
        // WeChat refuses a repeated clientmsgid within a minute (45066) on its own clock.
        env.clock.advance(Duration::from_secs(61));
        if round == 0 {
            provider.all_acked(10).await;
        }
    }
    provider.all_acked(20).await;
    let c = env.store_path();
    let at_last_kill = journaled(&c, &ids);

    let mut child = Daemon::start(&cfg, &log);
    wait_for("every message journaled and every delivery finished", 90, || {
        settled(&c, &ids)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.stop(), "SIGTERM exits 0");

    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!(
        "faults/kill9: rounds={ROUNDS} kill points (ms after the batch) {kill_ms:?}; journaled before the final start {at_last_kill}/{}",
        ids.len()
    );
    println!("{}", t.line("kill9"));
    for k in &t.doubled_keys {
        // Diagnosis: the delivery rows around a doubled post, in creation order.
        let key = k.split_once(':').map(|x| x.1).unwrap_or(k);
        let weibo: Vec<DeliveryRow> = open_ro(&c)
            .deliveries()
            .expect("deliveries")
            .into_iter()
            .filter(|d| d.channel == "weibo")
            .collect();
        let needle = format!("故障{key}号");
        let row = weibo.iter().position(|d| d.text.contains(&needle)).map(|i| {
            (
                i,
                weibo[i].id.clone(),
                weibo[i].created_ms,
                weibo[i].error().to_string(),
            )
        });
        println!("faults/kill9: doubled {k}: delivery (weibo #, id, created_ms, note) {row:?}");
        if let Some((_, _, created, _)) = row {
            let same = weibo.iter().filter(|d| d.created_ms == created).count();
            println!("faults/kill9:   Weibo deliveries created in the same millisecond: {same}");
        }
    }
    t.assert_clean("kill9");
    assert_eq!(t.undelivered, 0, "{}", t.line("kill9"));
    assert_eq!(t.weibo_posts, ids.len(), "every message posted once");
    let resumed = log_count(&log, "resuming unfinished deliveries");
    println!("faults/kill9: restarts that resumed unfinished deliveries: {resumed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart() {
    let now = jiff::Timestamp::now();
    let mut env = Env::new(&now.to_string()).await;
    env.weibo.set_hourly_limit(1_000_000);
    env.wechat.set_mass_quota_per_day(100);
    let mut mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let d = env.start(env.config("[override]\nmax_per_hour = 100\n")).await;
    let provider = Publisher::start(&mq.url());
    let origin = minutes_before(now, 1);
    let mut ids = Vec::new();
    for stage in 0..4 {
        for _ in 0..25 {
            let i = ids.len();
            let (id, payload) = message("B", i, i % 12 == 0, &origin);
            ids.push(id);
            provider.send(payload).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if stage < 3 {
            // Mid-stream: some of this stage's messages are still being processed.
            tokio::time::sleep(Duration::from_millis(30)).await;
            mq.stop();
            tokio::time::sleep(Duration::from_millis(700)).await;
            mq.resume();
        }
    }
    provider.all_acked(30).await;
    let c = env.store_path();
    wait_for("every message journaled and delivered", 60, || settled(&c, &ids)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.shutdown();
    d.wait().await;
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!("{}", t.line("broker_restart"));
    t.assert_clean("broker_restart");
    assert_eq!(t.undelivered, 0, "{}", t.line("broker_restart"));
    assert_eq!(t.weibo_posts, ids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_errors() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    env.weibo.set_hourly_limit(1_000_000);
    env.wechat.set_mass_quota_per_day(100);
    let d = env.start(env.config("[override]\nmax_per_hour = 100\n")).await;
    let origin = "2026-11-26T09:59:00+08:00";
    let mut ids = Vec::new();

    // 1: Weibo behind a failing proxy (503), WeChat answering -1 (system busy) eight times.
    env.weibo.set_http_status_override(Some(503));
    env.wechat.script_errcodes(vec![-1; 8]);
    for p in batch(&mut ids, "E", 10, 3, 0, origin) {
        env.publish("feeds/seismic/cenc", &p).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env.weibo.posts().len(), 0, "nothing posted during the outage");
    let attempts_during = env.weibo.attempts();
    env.weibo.set_http_status_override(None);

    // 2: WeChat behind a failing proxy (502), Weibo answering 10001 / HTTP 500.
    env.wechat.set_http_status_override(Some(502));
    env.weibo.script_errors(vec![(500, 10001); 6]);
    for p in batch(&mut ids, "E", 10, 3, 0, origin) {
        env.publish("feeds/seismic/cenc", &p).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    env.wechat.set_http_status_override(None);

    let c = env.store_path();
    wait_for("every message journaled and delivered", 60, || settled(&c, &ids)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.shutdown();
    d.wait().await;
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!(
        "{} weibo_attempts_during_outage={attempts_during} wechat_sendall_attempts={}",
        t.line("platform_errors"),
        env.wechat.sendall_attempts()
    );
    t.assert_clean("platform_errors");
    assert_eq!(t.undelivered, 0, "{}", t.line("platform_errors"));
    assert_eq!(t.weibo_posts, ids.len());
    // Every third message is an emergency: the first takes the day's push, the other six
    // override; the routines find the push used.
    assert_eq!(t.wechat_jobs, 7, "{}", t.line("platform_errors"));
    let retries = env.deliveries().iter().filter(|d| d.attempts > 1).count();
    assert!(retries > 0, "the outage caused retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_hangs() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    env.weibo.set_hourly_limit(1_000_000);
    env.wechat.set_mass_quota_per_day(100);
    let b = env
        .builder("alertd-test")
        .set("channels.wechat", "request_timeout_secs", "4")
        .set("channels.weibo", "request_timeout_secs", "4")
        .table("[override]\nmax_per_hour = 100\n");
    let cfg = env.parse(&b);
    let d = env.start(cfg).await;
    let origin = "2026-11-26T09:59:00+08:00";

    // Both platforms take the request, act on it, and never answer.
    env.wechat.set_hang_after_accept(true);
    env.weibo.set_hang_after_accept(true);
    let mut ids = Vec::new();
    for i in 0..5 {
        // A routine first (the day's push), then emergencies (overrides), then a routine.
        let (id, p) = message("H", i, (1..4).contains(&i), origin);
        ids.push(id);
        env.publish("feeds/seismic/cenc", &p).await;
    }
    wait_for(
        "every WeChat push and the first Weibo post taken, none answered",
        10,
        || env.wechat.jobs().len() == 4 && env.weibo.posts().len() == 1,
    )
    .await;
    // The platforms come back; the retries after the timeout find the pushes already made.
    env.wechat.set_hang_after_accept(false);
    env.weibo.set_hang_after_accept(false);
    env.clock.advance(Duration::from_secs(61));

    let c = env.store_path();
    // Normally seconds; 100 s allows for a resend that beat the clock move and was told 45066
    // (wait ≥ 60 s) on a loaded machine.
    wait_for("every delivery finished", 100, || settled(&c, &ids)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.shutdown();
    d.wait().await;
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    let rows = env.deliveries();
    let noted = |channel: &str, code: &str| {
        rows.iter()
            .filter(|d| d.channel == channel && d.error().starts_with(code))
            .count()
    };
    let adopted = noted("wechat", "45065");
    let identical = noted("weibo", "20019");
    let timeouts = rows.iter().filter(|d| d.attempts > 1).count();
    println!(
        "{} timed_out_and_retried={timeouts} wechat_45065_adopted={adopted} weibo_20019={identical}",
        t.line("platform_hangs")
    );
    t.assert_clean("platform_hangs");
    assert_eq!(t.undelivered, 0);
    assert_eq!(
        t.wechat_jobs, 4,
        "each push made once, though never answered the first time"
    );
    assert_eq!(t.weibo_posts, 5);
    assert_eq!(adopted, 4, "every WeChat resend was answered 45065 and adopted");
    assert_eq!(identical, 1, "the hung Weibo post's resend was answered 20019");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_jump() {
    let env = Env::new("2026-11-26T23:58:00+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    let c = env.store_path();
    let mut ids: Vec<String> = Vec::new();
    // (local time, emergency?, expected WeChat outcome)
    let steps: [(&str, bool, &str); 7] = [
        ("2026-11-26T23:58:00+08:00", false, "delivered"), // the day's push
        ("2026-11-26T23:59:30+08:00", false, "skipped"),   // same local day
        ("2026-11-27T00:00:30+08:00", false, "delivered"), // jumped past midnight: a new day
        ("2026-11-27T00:01:00+08:00", false, "skipped"),
        ("2026-11-26T23:59:50+08:00", false, "skipped"), // stepped back (NTP): yesterday is used
        ("2026-11-27T00:02:00+08:00", true, "delivered"), // emergency override on the new day
        ("2026-11-27T00:03:00+08:00", false, "skipped"),
    ];
    for (i, (at, emergency, _)) in steps.iter().enumerate() {
        let t: jiff::Timestamp = at.parse().expect("time");
        env.clock.set(t);
        let (id, p) = message("J", i, *emergency, &minutes_before(t, 1));
        ids.push(id);
        env.publish("feeds/seismic/cenc", &p).await;
        wait_for("decided and delivered", 10, || settled(&c, &ids)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.shutdown();
    d.wait().await;

    // (status, decision, received_ms) of each WeChat delivery, in journal order.
    let store = open_ro(&c);
    let journal = store.journal().expect("journal");
    let alerts = store.alerts().expect("alerts");
    let mut rows: Vec<(i64, &'static str, String, i64)> = store
        .deliveries()
        .expect("deliveries")
        .into_iter()
        .filter(|d| d.channel == "wechat")
        .filter_map(|d| {
            let a = alerts.iter().find(|a| a.id == d.alert_id)?;
            let j = journal.iter().find(|j| j.id == a.journal_id)?;
            Some((j.id, d.status.as_str(), d.decision, j.received_ms))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let expected: Vec<&str> = steps.iter().map(|s| s.2).collect();
    let days: Vec<(String, i64)> = env
        .ledger()
        .into_iter()
        .filter(|l| l.channel == "wechat")
        .map(|l| (l.day, l.used))
        .collect();
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!("{} ledger_days={days:?}", t.line("clock_jump"));
    t.assert_clean("clock_jump");
    assert_eq!(outcomes, expected, "WeChat decisions: {rows:#?}");
    assert_eq!(
        days,
        vec![("2026-11-26".to_string(), 1), ("2026-11-27".to_string(), 2)],
        "one push per local day on both sides of midnight, plus the override"
    );
    assert_eq!(t.wechat_jobs, 3);
    assert_eq!(t.weibo_posts, steps.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full() {
    let now = jiff::Timestamp::now();
    let mut env = Env::new(&now.to_string()).await;
    env.weibo.set_hourly_limit(1_000_000);
    env.wechat.set_mass_quota_per_day(100);
    let mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let disk = Tmpfs::mount(&env.dir.path().join("small-disk"), "2m");
    let store = disk.path.join("alertd.db");
    let cfg = env.dir.path().join("alertd.toml");
    let written = env
        .builder("alertd-faults-disk")
        .store(&store)
        .table("[override]\nmax_per_hour = 100\n")
        .build();
    assert_eq!(written, cfg);
    let log = env.dir.path().join("alertd.log");
    let provider = Publisher::start(&mq.url());
    let origin = minutes_before(now, 1);
    let mut ids = Vec::new();

    let mut child = Daemon::start(&cfg, &log);
    wait_for("daemon connected", 20, || log_count(&log, "mqtt: subscribed") > 0).await;
    for p in batch(&mut ids, "D", 5, 4, 1, &origin) {
        provider.send(p).await;
    }
    wait_for("store created", 10, || store.exists()).await;
    let c = store.clone();
    wait_for("the first five delivered", 20, || settled(&c, &ids)).await;

    // 1: the disk fills; messages arrive; nothing is committed, so nothing is acked.
    let filler = disk.fill();
    let errors = log_count(&log, "cannot commit to the store");
    for p in batch(&mut ids, "D", 10, 4, 1, &origin) {
        provider.send(p).await;
    }
    wait_for("the pipeline hit the full disk", 20, || {
        log_count(&log, "cannot commit to the store") > errors
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during_full = journaled(&c, &ids);
    assert_eq!(during_full, 5, "nothing journaled while the disk is full");
    // Space returns: the same process commits, acks and delivers.
    std::fs::remove_file(&filler).expect("remove filler");
    wait_for("recovered in-process", 30, || settled(&c, &ids)).await;

    // 2: full again, and the daemon is killed while it cannot write: the broker still holds
    // every message it was sent (never acked), and the next start takes them.
    let filler = disk.fill();
    let errors = log_count(&log, "cannot commit to the store");
    for p in batch(&mut ids, "D", 10, 4, 1, &origin) {
        provider.send(p).await;
    }
    wait_for("the pipeline hit the full disk again", 20, || {
        log_count(&log, "cannot commit to the store") > errors
    })
    .await;
    let during_second = journaled(&c, &ids);
    child.kill9();
    std::fs::remove_file(&filler).expect("remove filler");
    let mut child = Daemon::start(&cfg, &log);
    provider.all_acked(20).await;
    wait_for("recovered after a restart", 30, || settled(&c, &ids)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.stop(), "SIGTERM exits 0");

    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!(
        "{} journaled_while_full={during_full}/15,{during_second}/25 store_errors_logged={}",
        t.line("disk_full"),
        log_count(&log, "cannot commit to the store")
    );
    drop(c);
    t.assert_clean("disk_full");
    assert_eq!(t.undelivered, 0, "{}", t.line("disk_full"));
    assert_eq!(t.weibo_posts, ids.len());
    drop(disk);
}

// ---- Regression tests for two faults the suite's analysis found in src/ (bench/README.md,
// ---- "Bugs found"; fixed in 0bd5e0d).

/// Weibo's crash safety rests on resending the post whose answer was lost *first* (its resend
/// is then answered 20019). `outbox::pending` used to order by (created_ms, id): deliveries
/// created in the same millisecond resumed in delivery-id (hash) order, so another post could go
/// out before the unanswered one, whose resend was then published a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weibo_resume_keeps_creation_order() {
    // A clock that does not move: every delivery is created in the same millisecond.
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    env.weibo.set_hourly_limit(1000);
    let b = env
        .builder("alertd-test")
        .set("channels.wechat", "request_timeout_secs", "30")
        .set("channels.weibo", "request_timeout_secs", "30");
    let cfg = || env.parse(&b);
    env.weibo.set_hang_after_accept(true);
    let d = env.start(cfg()).await;
    let mut ids = Vec::new();
    for p in batch(&mut ids, "W", 6, 1000, 999, "2026-11-26T09:59:00+08:00") {
        env.publish("feeds/seismic/cenc", &p).await;
    }
    let c = env.store_path();
    wait_for("journaled; the first post taken and not answered", 10, || {
        journaled(&c, &ids) == ids.len() && env.weibo.posts().len() == 1
    })
    .await;
    // Stop: the unanswered post and the five behind it stay pending.
    d.shutdown();
    d.wait().await;
    env.weibo.set_hang_after_accept(false);
    let d = env.start(cfg()).await;
    wait_for("every delivery finished", 30, || settled(&c, &ids)).await;
    d.shutdown();
    d.wait().await;
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!("{}", t.line("weibo_resume_order"));
    t.assert_clean("weibo_resume_order");
    assert_eq!(t.weibo_posts, 6);
}

/// An emergency override spends a flood-guard cell inside the batch's transaction; when the
/// commit failed (disk full) and the batch was retried, the cell used to be spent again, so after
/// a few failed attempts the guard was empty and the emergencies, once committed, were held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_guard_is_not_spent_by_failed_commits() {
    let now = jiff::Timestamp::now();
    let mut env = Env::new(&now.to_string()).await;
    env.wechat.set_mass_quota_per_day(100);
    let mq = Mosquitto::start(env.dir.path(), "");
    env.broker = mq.url();
    let disk = Tmpfs::mount(&env.dir.path().join("small-disk"), "2m");
    let store = disk.path.join("alertd.db");
    let cfg = env.dir.path().join("alertd.toml");
    let written = env
        .builder("alertd-faults-guard")
        .store(&store)
        .table("[override]\nmax_per_hour = 3\n")
        .build();
    assert_eq!(written, cfg);
    let log = env.dir.path().join("alertd.log");
    let provider = Publisher::start(&mq.url());
    let origin = minutes_before(now, 1);
    let mut ids = Vec::new();
    let mut child = Daemon::start(&cfg, &log);
    wait_for("daemon connected", 20, || log_count(&log, "mqtt: subscribed") > 0).await;
    // A routine takes the day's push.
    for p in batch(&mut ids, "G", 1, 1000, 999, &origin) {
        provider.send(p).await;
    }
    wait_for("store created", 10, || store.exists()).await;
    let c = store.clone();
    wait_for("the routine delivered", 20, || settled(&c, &ids)).await;
    // Two emergencies arrive while the disk is full; the batch fails three times or more.
    let filler = disk.fill();
    let errors = log_count(&log, "cannot commit to the store");
    for p in batch(&mut ids, "G", 2, 1, 0, &origin) {
        provider.send(p).await;
    }
    wait_for("three failed commits", 20, || {
        log_count(&log, "cannot commit to the store") >= errors + 3
    })
    .await;
    std::fs::remove_file(&filler).expect("remove filler");
    wait_for("committed and delivered", 30, || settled(&c, &ids)).await;
    assert!(child.stop());
    let held = open_ro(&c)
        .deliveries()
        .expect("deliveries")
        .iter()
        .filter(|d| d.channel == "wechat" && d.status == Status::Held)
        .count();
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!("{} held={held}", t.line("flood_guard_retry"));
    drop(c);
    assert_eq!(held, 0, "2 overrides of 3 allowed per hour: none may be held");
    assert_eq!(t.wechat_jobs, 3);
    drop(disk);
}

/// A crash between a Weibo post and the group commit that records it: the post log holds the
/// result, and the next start applies it instead of posting again. The control half shows what
/// the log prevents: without the mark the same state makes the daemon post again (answered
/// 20019 by Weibo, but a second post attempt all the same — and a real second post if another
/// post had come between).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weibo_post_log_covers_a_lost_commit() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    let cfg = || env.config("");
    let c = env.store_path();
    let mut ids = Vec::new();
    let d = env.start(cfg()).await;
    for p in batch(&mut ids, "L", 2, 1000, 999, "2026-11-26T09:59:00+08:00") {
        env.publish("feeds/seismic/cenc", &p).await;
    }
    wait_for("both delivered", 10, || settled(&c, &ids)).await;
    d.shutdown();
    d.wait().await;
    let log = {
        let mut p = env.store_path().into_os_string();
        p.push("-posted");
        std::path::PathBuf::from(p)
    };
    assert_eq!(
        std::fs::read(&log).expect("post log").len(),
        0,
        "emptied once recorded"
    );
    let weibo: Vec<(String, String)> = env
        .deliveries()
        .into_iter()
        .filter(|d| d.channel == "weibo")
        .map(|d| (d.id, d.platform_ref.expect("a delivered post has its ref")))
        .collect();
    assert_eq!(weibo.len(), 2);
    let posts_before = env.weibo.attempts();

    // The last post's record "did not commit", but its mark reached the post log.
    let (id, post_ref) = weibo[1].clone();
    let unrecord = |id: &str| {
        alertd::store::inspect::simulate_lost_commit(&c, id).expect("unrecord");
    };
    unrecord(&id);
    let mark = serde_json::json!({"id": id, "ref": post_ref, "note": null});
    std::fs::write(&log, format!("{mark}\n")).expect("write mark");
    let d = env.start(cfg()).await;
    wait_for("recovered", 10, || settled(&c, &ids)).await;
    d.shutdown();
    d.wait().await;
    let row = open_ro(&c).delivery(&id).expect("read").expect("row");
    let (status, got_ref, note) = (row.status, row.platform_ref, row.last_error);
    assert_eq!(status, Status::Delivered);
    assert_eq!(
        got_ref.as_deref(),
        Some(post_ref.as_str()),
        "the post's id from the log"
    );
    assert!(
        note.unwrap_or_default().contains("post log"),
        "the recovery is on the record"
    );
    assert_eq!(env.weibo.attempts(), posts_before, "no post was made again");
    assert_eq!(std::fs::read(&log).expect("post log").len(), 0);

    // Control: the same lost commit without a mark is resent.
    unrecord(&id);
    let d = env.start(cfg()).await;
    wait_for("resent", 10, || settled(&c, &ids)).await;
    d.shutdown();
    d.wait().await;
    let t = tally(&c, &ids, &env.wechat, &env.weibo);
    println!(
        "{} post_log_reposts=0 control_reposts={}",
        t.line("weibo_post_log"),
        env.weibo.attempts() - posts_before
    );
    t.assert_clean("weibo_post_log");
    assert_eq!(
        env.weibo.attempts(),
        posts_before + 1,
        "without the mark the post goes again"
    );
}
