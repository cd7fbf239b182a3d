//! WeChat answers that are not what the API documents (docs/platforms.md): a sendall answer
//! without `errcode` 0 and a `msg_id` is not a delivery, and resending the same clientmsgid —
//! which WeChat answers 45065 if the job exists — never pushes twice.

mod support;

use std::time::Duration;
use support::faults_util::message;
use support::harness::{wait_for, Env, Status};

/// (status, platform_ref, job_status, last_error) of the one WeChat delivery, once there is one.
fn wechat_row(store: &std::path::Path) -> Option<(Status, String, String, String)> {
    let d = alertd::store::inspect::Inspect::open(store)
        .ok()?
        .deliveries()
        .ok()?
        .into_iter()
        .find(|d| d.channel == "wechat")?;
    Some((
        d.status,
        d.platform_ref.unwrap_or_default(),
        d.job_status.unwrap_or_default(),
        d.last_error.unwrap_or_default(),
    ))
}

/// Waits for the WeChat delivery's job to be confirmed by mass/get, and asserts the alert was
/// pushed exactly once and its delivery holds that job's msg_id. Returns the delivery's note.
async fn pushed_once_and_confirmed(env: &Env) -> String {
    let c = env.store_path();
    wait_for("the job confirmed by mass/get", 20, || {
        wechat_row(&c).is_some_and(|r| r.2 == "SEND_SUCCESS")
    })
    .await;
    let jobs = env.wechat.jobs();
    assert_eq!(jobs.len(), 1, "pushed once");
    let (status, platform_ref, _, note) = wechat_row(&c).expect("row");
    assert_eq!(
        (status, platform_ref),
        (Status::Delivered, jobs[0].msg_id.to_string())
    );
    note
}

/// A sendall answer without `errcode` 0 and a `msg_id` is not a delivery: the same clientmsgid
/// is sent again. Here the odd answer created nothing (a middlebox, a platform fault), so the
/// resend pushes it — once — and its job is followed with mass/get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_answer_without_errcode_or_msg_id_is_retried_not_delivered() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    env.wechat
        .script_bodies(vec![serde_json::json!({"errmsg": "ok"})]);
    let d = env.start(env.config("")).await;
    let (_, p) = message("U", 0, false, "2026-11-26T09:59:00+08:00");
    env.publish("feeds/seismic/cenc", &p).await;
    pushed_once_and_confirmed(&env).await;
    assert_eq!(env.wechat.sendall_attempts(), 2);
    d.shutdown();
    d.wait().await;
}

/// The same odd answer from a sendall that did create its job: the resend of the same
/// clientmsgid is answered 45065 with the job's msg_id, which is adopted — never a second push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_answer_without_msg_id_for_a_created_job_is_resolved_by_45065() {
    let env = Env::new("2026-11-26T10:00:00+08:00").await;
    env.wechat.set_mass_quota_per_day(10);
    env.wechat.script_accept_bodies(vec![
        serde_json::json!({"errcode": 0, "errmsg": "send job submission success"}),
    ]);
    // The first retry 1–2 s later, so the clocks can move past WeChat's 60 s clientmsgid window
    // before it (else 45066 makes it wait a real minute).
    let b = env
        .builder("alertd-test")
        .set("deliver", "retry_initial_ms", "2000");
    let cfg = env.parse(&b);
    let d = env.start(cfg).await;
    let (_, p) = message("V", 0, false, "2026-11-26T09:59:00+08:00");
    env.publish("feeds/seismic/cenc", &p).await;
    wait_for("the first sendall", 10, || env.wechat.sendall_attempts() == 1).await;
    env.clock.advance(Duration::from_secs(61));
    let note = pushed_once_and_confirmed(&env).await;
    assert!(note.starts_with("45065"), "{note}");
    let used: i64 = env
        .ledger()
        .iter()
        .filter(|l| l.channel == "wechat")
        .map(|l| l.used)
        .sum();
    assert_eq!(used, 1, "one push, one quota");
    d.shutdown();
    d.wait().await;
}
