//! Cancellations that carry no facts of their own (CAP 1.2 allows a Cancel with no `info`; the
//! native feed lets a cancel omit `quake`/`weather`): the public is told what was lifted, named
//! from the facts alertd stored for the event the cancel refers to. A cancel of an event alertd
//! does not know publishes nothing, and only the event's own sender may lift it.

mod support;

use std::time::Duration;
use support::harness::{quake, wait_for, Env, Status};

const SENDER: &str = "sc.cma.gov.cn";
const ALERT_ID: &str = "SC-510100-20260701060000-BY-RED";

/// A red rainstorm warning for Chengdu's central districts, as a CAP 1.2 Alert.
fn cap_alert() -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{ALERT_ID}</identifier><sender>{SENDER}</sender>
  <sent>2026-07-01T06:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>zh-CN</language><category>Met</category><event>暴雨</event>
    <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Likely</certainty>
    <expires>2026-07-01T18:00:00+08:00</expires><senderName>成都市气象台</senderName>
    <headline>成都市气象台发布暴雨红色预警信号</headline>
    <description>预计未来3小时内成都市中心城区降雨量将达100毫米以上。</description>
    <area><areaDesc>成都市中心城区</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>510100</value></geocode></area>
  </info>
</alert>"#
    )
    .into_bytes()
}

/// A CAP 1.2 Cancel without any `info`, referencing `refs` (a `sender,identifier,sent` triple).
fn cap_bare_cancel(sender: &str, id: &str, sent: &str, refs: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{id}</identifier><sender>{sender}</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>Cancel</msgType><scope>Public</scope>
  <references>{refs}</references>
</alert>"#
    )
    .into_bytes()
}

fn alert_ref() -> String {
    format!("{SENDER},{ALERT_ID},2026-07-01T06:00:00+08:00")
}

async fn settle(env: &Env, journaled: i64) {
    wait_for("journaled", 10, || env.counts().journal == journaled).await;
    wait_for("nothing pending", 10, || env.counts().pending == 0).await;
}

fn journal_reason(env: &Env, id: i64) -> String {
    env.journal_entry(id).reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_info_less_cap_cancel_lifts_the_red_warning_it_references_by_name_and_area() {
    let env = Env::new("2026-07-01T06:01:00+08:00").await;
    let d = env.start(env.config("")).await;
    env.publish("feeds/weather/cap", &cap_alert()).await;
    settle(&env, 1).await;
    assert_eq!(env.weibo.posts().len(), 1, "{:#?}", env.deliveries());
    assert_eq!(env.wechat.jobs().len(), 1, "a red warning is an emergency push");

    // Another sender's bare cancel of the same warning: recorded, never published.
    env.clock.set("2026-07-01T09:00:00+08:00".parse().expect("t"));
    env.publish(
        "feeds/weather/cap",
        &cap_bare_cancel(
            "someone.example.org",
            "FORGED-1",
            "2026-07-01T09:00:00+08:00",
            &alert_ref(),
        ),
    )
    .await;
    settle(&env, 2).await;
    assert!(
        journal_reason(&env, 2).contains("may update or cancel it"),
        "{}",
        journal_reason(&env, 2)
    );
    assert_eq!(env.counts().alerts, 1);

    // The provider's own Cancel, with no info block at all.
    env.clock.set("2026-07-01T12:00:01+08:00".parse().expect("t"));
    env.publish(
        "feeds/weather/cap",
        &cap_bare_cancel(
            SENDER,
            "SC-510100-20260701120000-BY-CANCEL",
            "2026-07-01T12:00:00+08:00",
            &alert_ref(),
        ),
    )
    .await;
    settle(&env, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let posts: Vec<String> = env.weibo.posts().into_iter().map(|p| p.text).collect();
    let lifted: Vec<&String> = posts.iter().filter(|p| p.starts_with("【预警解除】")).collect();
    assert_eq!(lifted.len(), 1, "{posts:?}\n{:#?}", env.deliveries());
    assert!(
        lifted[0].contains("暴雨") && lifted[0].contains("红色") && lifted[0].contains("成都市中心城区"),
        "the post names the warning and its area: {}",
        lifted[0]
    );
    assert!(lifted[0].contains("成都市气象台"), "{}", lifted[0]);
    assert_eq!(posts.len(), 2, "{posts:?}");
    // WeChat: the alert's push only; the cancellation is skipped by the cancel rule.
    assert_eq!(env.wechat.jobs().len(), 1);
    let deliveries = env.deliveries();
    assert!(
        deliveries.iter().all(|d| d.status != Status::Failed),
        "{deliveries:#?}"
    );
    let wechat_cancel = deliveries
        .iter()
        .filter(|d| d.channel == "wechat")
        .nth(1)
        .expect("the cancel's WeChat decision");
    assert_eq!(wechat_cancel.status, Status::Skipped, "{wechat_cancel:?}");
    assert!(
        wechat_cancel.decision.starts_with("cancellation:"),
        "{wechat_cancel:?}"
    );
    let actions: Vec<String> = env.alerts().into_iter().map(|a| a.action).collect();
    assert_eq!(actions, ["alert", "cancel"]);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_cancel_of_an_event_alertd_does_not_know_is_recorded_and_publishes_nothing() {
    let env = Env::new("2026-07-01T12:00:01+08:00").await;
    let d = env.start(env.config("")).await;
    env.publish(
        "feeds/weather/cap",
        &cap_bare_cancel(
            SENDER,
            "SC-CANCEL-OF-NOTHING",
            "2026-07-01T12:00:00+08:00",
            &format!("{SENDER},NEVER-SEEN,2026-07-01T06:00:00+08:00"),
        ),
    )
    .await;
    settle(&env, 1).await;
    let reason = journal_reason(&env, 1);
    assert!(reason.contains("no event alertd knows"), "{reason}");
    assert_eq!(env.counts().alerts, 0);
    assert_eq!(env.counts().deliveries, 0);
    d.shutdown();
    d.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_quake_cancel_without_facts_names_the_quake_it_withdraws() {
    let env = Env::new("2026-11-26T09:59:30+08:00").await;
    let d = env.start(env.config("")).await;
    env.publish(
        "feeds/seismic/cenc",
        &quake(
            "cenc-20261126095800",
            1,
            6.1,
            30.30,
            103.00,
            "四川省雅安市芦山县",
            "2026-11-26T09:58:00+08:00",
        ),
    )
    .await;
    settle(&env, 1).await;
    env.clock.set("2026-11-26T10:05:00+08:00".parse().expect("t"));
    let cancel = serde_json::json!({
        "schema": "alert-feed/1", "msg_id": "cenc-20261126095800-r2",
        "event_id": "cenc-20261126095800", "kind": "earthquake", "msg_type": "cancel",
        "status": "actual", "sender": {"id": "cenc", "name": "中国地震台网中心"},
        "sent": "2026-11-26T10:04:30+08:00"});
    env.publish("feeds/seismic/cenc", &serde_json::to_vec(&cancel).expect("json"))
        .await;
    settle(&env, 2).await;
    let posts: Vec<String> = env.weibo.posts().into_iter().map(|p| p.text).collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts[1].starts_with("【地震信息撤销】")
            && posts[1].contains("四川省雅安市芦山县")
            && posts[1].contains("6.1级"),
        "{}",
        posts[1]
    );
    d.shutdown();
    d.wait().await;
}
