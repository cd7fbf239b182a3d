//! One push a day, done right: the routine digest, the reserve, emergency fallbacks, manual
//! pushes, the audit trail and `status`, over scripted days with an injected clock.

mod support;

use alertd::store::kinds::{AuditKind, Op};

use std::process::Command;
use std::time::Duration;
use support::fake_wecom::{self, FakeWecom};
use support::harness::{assert_no_secrets, logs, quake, wait_for, Env, Status};

const DIGEST: &str = "routine = \"digest\"\ndigest_at = \"18:00\"\n";

fn routine(id: &str, place: &str, origin: &str) -> Vec<u8> {
    quake(id, 1, 4.5, 31.5, 104.5, place, origin)
}

async fn three_routine_quakes(env: &Env) {
    for (i, (place, h)) in [
        ("四川省绵阳市安州区", 9),
        ("四川省德阳市什邡市", 10),
        ("四川省绵阳市涪城区", 11),
    ]
    .iter()
    .enumerate()
    {
        env.clock
            .set(format!("2026-11-26T{h:02}:01:00+08:00").parse().expect("t"));
        env.publish(
            "feeds/seismic/cenc",
            &routine(&format!("d{i}"), place, &format!("2026-11-26T{h:02}:00:00+08:00")),
        )
        .await;
        wait_for("routine posted on Weibo", 10, || env.weibo.posts().len() == i + 1).await;
    }
}

/// (status, decision) of the WeChat deliveries of the alerts (not the digest), in creation order.
fn digest_rows(env: &Env) -> Vec<(Status, String)> {
    env.deliveries_of(|a| a.action == "alert")
        .into_iter()
        .filter(|d| d.channel == "wechat")
        .map(|d| (d.status, d.decision))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_routine_quakes_post_at_once_on_weibo_and_share_one_wechat_digest_at_18() {
    let env = Env::new("2026-11-26T08:00:00+08:00").await;
    let d = env.start(env.config_with(DIGEST, "")).await;
    three_routine_quakes(&env).await;
    assert_eq!(
        env.wechat.sendall_attempts(),
        0,
        "nothing pushed before the digest"
    );
    for (status, why) in digest_rows(&env) {
        assert_eq!(status, Status::Digest);
        assert!(why.contains("waits for the 18:00 digest"), "{why}");
    }

    env.clock.set("2026-11-26T17:59:59+08:00".parse().expect("t"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(env.wechat.jobs().len(), 0, "not before 18:00");
    env.clock.set("2026-11-26T18:00:00+08:00".parse().expect("t"));
    wait_for("the digest push", 10, || env.wechat.jobs().len() == 1).await;
    let digest = &env.wechat.jobs()[0].content;
    for place in ["四川省绵阳市安州区", "四川省德阳市什邡市", "四川省绵阳市涪城区"]
    {
        assert!(digest.contains(place), "the digest names {place}: {digest}");
    }
    assert!(digest.starts_with("【11月26日地震及预警信息汇总】"), "{digest}");
    assert!(digest_rows(&env)
        .iter()
        .all(|(s, why)| *s == Status::Digested && why.contains("18:00 digest")));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(env.wechat.jobs().len(), 1, "exactly one digest");
    assert_eq!(env.weibo.posts().len(), 3);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_takes_the_push_and_the_digest_goes_to_weibo_only() {
    let env = Env::new("2026-11-26T08:00:00+08:00").await;
    let d = env.start(env.config_with(DIGEST, "")).await;
    three_routine_quakes(&env).await;
    env.clock.set("2026-11-26T14:00:30+08:00".parse().expect("t"));
    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "e1",
            1,
            6.3,
            30.3,
            103.0,
            "四川省雅安市芦山县",
            "2026-11-26T14:00:00+08:00",
        ),
    )
    .await;
    wait_for("the emergency pushed at once", 10, || {
        env.wechat.jobs().len() == 1
    })
    .await;
    assert!(env.wechat.jobs()[0].content.contains("6.3级地震"));

    env.clock.set("2026-11-26T18:00:05+08:00".parse().expect("t"));
    wait_for("the digest on Weibo", 10, || env.weibo.posts().len() == 5).await;
    let post = env.weibo.posts().last().cloned().expect("post");
    assert!(post.text.starts_with("【11月26日信息汇总】"), "{}", post.text);
    assert!(post.text.chars().count() <= 140);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(env.wechat.jobs().len(), 1, "no second WeChat push");
    for (status, why) in digest_rows(&env)
        .into_iter()
        .filter(|(s, _)| *s != Status::Delivered)
    {
        assert_eq!(status, Status::Skipped);
        assert!(
            why.contains("digest went to Weibo only: the day's push was used (1/1 on 2026-11-26)"),
            "{why}"
        );
    }
    let outcome: String = env.digests().into_iter().next().expect("digest row").outcome;
    assert_eq!(outcome, "weibo");
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_at_17_59_and_18_01_send_the_digest_exactly_once() {
    let env = Env::new("2026-11-26T08:00:00+08:00").await;
    let cfg = env.config_with(DIGEST, "");
    let d = env.start(cfg.clone()).await;
    three_routine_quakes(&env).await;
    d.shutdown();
    d.wait().await;

    env.clock.set("2026-11-26T17:59:00+08:00".parse().expect("t"));
    let d = env.start(cfg.clone()).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(env.wechat.jobs().len(), 0);
    d.shutdown();
    d.wait().await;

    env.clock.set("2026-11-26T18:01:00+08:00".parse().expect("t"));
    let d = env.start(cfg.clone()).await;
    wait_for("the digest after the 18:01 restart", 10, || {
        env.wechat.jobs().len() == 1
    })
    .await;
    d.shutdown();
    d.wait().await;

    env.clock.set("2026-11-26T18:02:00+08:00".parse().expect("t"));
    let d = env.start(cfg).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    d.shutdown();
    d.wait().await;
    assert_eq!(env.wechat.jobs().len(), 1, "the digest went out exactly once");
    assert_eq!(env.wechat.sendall_attempts(), 1);
    assert_eq!(env.counts().digests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_refusing_an_emergency_falls_back_to_free_publish_then_the_wecom_robot() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    let c = env.clock.clone();
    let wecom = FakeWecom::start(std::sync::Arc::new(move || alertd::clock::Clock::now(&c))).await;
    let b = env
        .builder("alertd-test")
        .set(
            "channels.wechat",
            "emergency_fallback",
            "[\"freepublish\", \"wecom\"]",
        )
        .wecom(&wecom.base_url(), fake_wecom::KEY);
    let d = env.start(env.parse(&b)).await;
    env.wechat.script_errcodes(vec![45028]);
    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "f1",
            1,
            6.5,
            30.3,
            103.0,
            "四川省雅安市芦山县",
            "2026-11-26T09:59:00+08:00",
        ),
    )
    .await;
    wait_for("free publish and the robot's notice", 10, || {
        env.wechat.publishes().len() == 1
            && wecom
                .messages()
                .iter()
                .any(|m| m.to_string().contains("未能通过微信群发推送"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.wechat.sendall_attempts(), 1, "45028 is not retried");
    assert_eq!(env.wechat.jobs().len(), 0);
    let draft = env.wechat.drafts()[0].to_string();
    assert!(draft.contains("6.5级地震"), "{draft}");

    // (channel, op, status, last_error) of the WeChat and WeCom deliveries, in creation order.
    let rows: Vec<(String, Op, Status, String)> = env
        .deliveries()
        .into_iter()
        .filter(|d| d.channel == "wechat" || d.channel == "wecom")
        .map(|d| {
            let error = d.error().to_string();
            (d.channel, d.op, d.status, error)
        })
        .collect();
    let wechat_send = rows
        .iter()
        .find(|r| r.0 == "wechat" && r.1 == Op::Send)
        .expect("send row");
    assert_eq!(wechat_send.2, Status::Failed);
    assert!(wechat_send.3.contains("WeChat 45028"), "{}", wechat_send.3);
    let fp = rows
        .iter()
        .position(|r| r.1 == Op::FreePublish)
        .expect("free publish step");
    let notice = rows.iter().position(|r| r.1 == Op::Notice).expect("notice step");
    assert!(fp < notice, "free publish first, then the robot: {rows:?}");
    assert!(
        rows[fp].2 == Status::Delivered && rows[notice].2 == Status::Delivered,
        "{rows:?}"
    );
    let audited: Vec<String> = env
        .audit_of(AuditKind::Fallback)
        .into_iter()
        .map(|a| a.reason)
        .collect();
    assert_eq!(audited.len(), 2);
    assert!(
        audited[0].starts_with("emergency fallback (freepublish)")
            && audited[1].starts_with("emergency fallback (wecom)")
    );
    assert!(logs().contains("emergency fallback"));
    d.shutdown();
    d.wait().await;
}

fn alertd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_alertd"))
        .args(args)
        .output()
        .expect("alertd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_push_goes_through_the_running_daemon_once_and_is_audited() {
    let env = Env::new(&jiff::Timestamp::now().to_string()).await;
    let cfg_path = env.dir.path().join("alertd.toml");
    std::fs::write(&cfg_path, env.config_text("alertd-test", "")).expect("config");
    let cfg = cfg_path.to_str().expect("path");
    let d = env.start(env.config("")).await;
    let text = "【应急提醒】成都市应急管理局提醒：今晚有强对流天气，请市民减少外出。";

    let push = |force: bool| {
        let mut args = vec![
            "push",
            "--config",
            cfg,
            "--emergency",
            "--reason",
            "气象台电话通报",
            "--by",
            "值班员张三",
            "--text",
            text,
        ];
        if force {
            args.push("--force");
        }
        let args: Vec<String> = args.into_iter().map(str::to_string).collect();
        tokio::task::spawn_blocking(move || alertd(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let (code, out, err) = push(false).await.expect("join");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("accepted as alert"), "{out}");
    wait_for("the manual push at both platforms", 10, || {
        env.wechat.jobs().len() == 1 && env.weibo.posts().len() == 1
    })
    .await;
    assert_eq!(env.wechat.jobs()[0].content, text);
    assert!(env.weibo.posts()[0].text.starts_with(text));

    let audited = env
        .audit_of(AuditKind::ManualPush)
        .into_iter()
        .next()
        .expect("audited");
    let (actor, reason) = (audited.actor, audited.reason);
    assert_eq!(actor, "officer: 值班员张三");
    assert!(reason.contains("气象台电话通报"));

    let (code, out, _) = push(false).await.expect("join");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refused: the same text was already pushed today"),
        "{out}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(env.wechat.sendall_attempts(), 1, "the duplicate was not sent");

    let (code, out, _) = push(true).await.expect("join");
    assert_eq!(code, 0, "--force sends it again: {out}");
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_finds_an_edited_row_and_status_json_tells_the_day() {
    let env = Env::new("2026-11-26T08:00:00+08:00").await;
    let cfg_path = env.dir.path().join("alertd.toml");
    std::fs::write(&cfg_path, env.config_text_with("alertd-test", DIGEST, "")).expect("config");
    let cfg = cfg_path.to_str().expect("path").to_string();
    let d = env.start(env.config_with(DIGEST, "")).await;
    three_routine_quakes(&env).await;
    env.clock.set("2026-11-26T18:00:01+08:00".parse().expect("t"));
    wait_for("the digest", 10, || env.wechat.jobs().len() == 1).await;
    wait_for("digest delivered", 10, || env.counts().pending == 0).await;
    d.shutdown();
    d.wait().await;

    let status =
        alertd::status::collect(&env.config_with(DIGEST, ""), &env.db(), &env.clock).expect("status");
    let json = serde_json::to_value(&status).expect("json");
    let wechat = json["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["name"] == "wechat")
        .expect("wechat")
        .clone();
    assert_eq!(wechat["pushes_used_today"], 1);
    assert_eq!(wechat["pushes_left_today"], 0);
    assert!(wechat["digest_today"]
        .as_str()
        .expect("digest")
        .starts_with("pushed: in the 18:00 digest"));
    assert_eq!(wechat["next_digest"], "2026-11-27 18:00");
    assert_eq!(json["journal"]["accepted"], 3);
    let alerts = json["recent_alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 4, "three alerts and the digest");
    assert_eq!(alerts[0]["action"], "digest");
    assert_eq!(alerts[0]["deliveries"][0]["status"], "delivered");
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(0));

    let (code, out, err) = alertd(&["status", "--config", &cfg, "--json"]);
    assert_eq!(code, 0, "{err}");
    let from_cli: serde_json::Value = serde_json::from_str(&out).expect("status --json is JSON");
    assert_eq!(from_cli["journal"]["accepted"], 3);
    assert_no_secrets(&out, &env.wechat);

    let (code, _, err) = alertd(&["audit", "--config", &cfg, "--verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("audit chain intact"), "{err}");
    alertd::store::inspect::tamper_audit_reason(&env.store_path(), 1, "nothing happened").expect("tamper");
    let (code, _, err) = alertd(&["audit", "--config", &cfg, "--verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("AUDIT CHAIN BROKEN at row #1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mass_job_state_is_confirmed_and_a_failed_job_is_surfaced() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    let d = env.start(env.config("")).await;
    env.publish(
        "feeds/seismic/cenc",
        &routine("m1", "四川省绵阳市安州区", "2026-11-26T09:59:00+08:00"),
    )
    .await;
    wait_for("first job", 10, || env.wechat.jobs().len() == 1).await;
    wait_for("SEND_SUCCESS recorded", 10, || {
        env.count_deliveries(|d| {
            d.job_status.as_deref() == Some("SEND_SUCCESS") && d.status == Status::Delivered
        }) == 1
    })
    .await;

    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "m2",
            1,
            6.4,
            30.3,
            103.0,
            "四川省雅安市芦山县",
            "2026-11-26T09:59:30+08:00",
        ),
    )
    .await;
    wait_for("second job", 10, || env.wechat.jobs().len() == 2).await;
    env.wechat.fail_job(env.wechat.jobs()[1].msg_id);
    wait_for("SEND_FAIL surfaced as a failed delivery", 10, || {
        env.count_deliveries(|d| d.job_status.as_deref() == Some("SEND_FAIL") && d.status == Status::Failed)
            == 1
    })
    .await;
    let status = alertd::status::collect(&env.config(""), &env.db(), &env.clock).expect("status");
    assert!(status
        .failed
        .iter()
        .any(|f| f.last_error.as_deref().is_some_and(|e| e.contains("SEND_FAIL"))));
    d.shutdown();
    d.wait().await;
}
