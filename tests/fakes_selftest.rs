//! Self-test of the platform fakes in `tests/support/`, over real HTTP.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use support::fake_wechat::{self, FakeWechat};
use support::fake_wecom::{self, FakeWecom};
use support::fake_weibo::{self, FakeWeibo};
use support::NowFn;

const SAFE_DOMAIN: &str = "alerts.example.gov.cn";

/// Injectable clock: the shared cell and a `NowFn` reading it.
fn clock(start: &str) -> (Arc<Mutex<Timestamp>>, NowFn) {
    let ts: Timestamp = start.parse().expect("valid timestamp");
    let cell = Arc::new(Mutex::new(ts));
    let m = cell.clone();
    (cell, Arc::new(move || *m.lock().unwrap()))
}

fn advance(cell: &Mutex<Timestamp>, secs: i64) {
    let mut t = cell.lock().unwrap();
    *t = t.checked_add(SignedDuration::from_secs(secs)).unwrap();
}

fn set_time(cell: &Mutex<Timestamp>, at: &str) {
    *cell.lock().unwrap() = at.parse().unwrap();
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

// ---------------------------------------------------------------- WeChat helpers

async fn classic_token(wx: &FakeWechat) -> String {
    let url = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        wx.base_url(),
        fake_wechat::APPID,
        fake_wechat::SECRET
    );
    let v: Value = http().get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["expires_in"], 7200, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

async fn wx_post(wx: &FakeWechat, path: &str, token: &str, body: &Value) -> Value {
    let url = format!("{}{path}?access_token={token}", wx.base_url());
    let resp = http().post(url).json(body).send().await.unwrap();
    assert_eq!(resp.status(), 200, "WeChat errors travel as HTTP 200");
    resp.json().await.unwrap()
}

fn text_msg(content: &str, clientmsgid: Option<&str>) -> Value {
    let mut v = json!({"filter": {"is_to_all": true}, "msgtype": "text", "text": {"content": content}});
    if let Some(id) = clientmsgid {
        v["clientmsgid"] = json!(id);
    }
    v
}

async fn sendall(wx: &FakeWechat, token: &str, body: &Value) -> Value {
    wx_post(wx, "/cgi-bin/message/mass/sendall", token, body).await
}

/// Probe a token with mass/get for an unknown msg_id: 40059 means the token itself was fine.
async fn token_errcode(wx: &FakeWechat, token: &str) -> i64 {
    let v = wx_post(wx, "/cgi-bin/message/mass/get", token, &json!({"msg_id": 1})).await;
    v["errcode"].as_i64().unwrap()
}

fn assert_err(v: &Value, code: i64) {
    assert_eq!(v["errcode"], code, "{v}");
    let msg = v["errmsg"].as_str().unwrap();
    assert!(msg.contains(" rid: "), "errmsg carries a rid suffix: {msg}");
}

// ---------------------------------------------------------------- WeChat tests

#[tokio::test]
async fn wechat_token_and_sendall_success() {
    let (_c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    let token = classic_token(&wx).await;
    assert!(token.len() >= 64);

    let v = sendall(&wx, &token, &text_msg("【地震速报】测试", Some("eq-0001"))).await;
    assert_eq!(v["errcode"], 0, "{v}");
    assert_eq!(v["errmsg"], "send job submission success");
    let msg_id = v["msg_id"].as_i64().unwrap();
    assert!(v["msg_data_id"].is_i64());

    let jobs = wx.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].msg_id, jobs[0].clientmsgid.as_str()),
        (msg_id, "eq-0001")
    );
    assert_eq!(jobs[0].content, "【地震速报】测试");
    assert_eq!((wx.token_fetches(), wx.sendall_attempts()), (1, 1));

    let st = wx_post(
        &wx,
        "/cgi-bin/message/mass/get",
        &token,
        &json!({"msg_id": msg_id.to_string()}),
    )
    .await;
    assert_eq!(st, json!({"msg_id": msg_id, "msg_status": "SEND_SUCCESS"}));
    wx.fail_job(msg_id);
    let st = wx_post(
        &wx,
        "/cgi-bin/message/mass/get",
        &token,
        &json!({"msg_id": msg_id}),
    )
    .await;
    assert_eq!(st["msg_status"], "SEND_FAIL");

    let reqs = wx.requests();
    assert!(reqs[1].starts_with("POST /cgi-bin/message/mass/sendall?access_token="));
    assert!(reqs[1].contains("eq-0001"));
}

#[tokio::test]
async fn wechat_credentials_and_stable_token() {
    let (c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    let base = wx.base_url();
    let bad_appid: Value = http()
        .get(format!(
            "{base}/cgi-bin/token?grant_type=client_credential&appid=wxnope&secret=x"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_err(&bad_appid, 40013);
    let bad_secret: Value = http()
        .get(format!(
            "{base}/cgi-bin/token?grant_type=client_credential&appid={}&secret=x",
            fake_wechat::APPID
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_err(&bad_secret, 40001);

    let body = json!({"grant_type": "client_credential", "appid": fake_wechat::APPID,
                      "secret": fake_wechat::SECRET, "force_refresh": false});
    let stable = |body: Value| {
        let url = format!("{base}/cgi-bin/stable_token");
        async move {
            http()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let a = stable(body.clone()).await;
    advance(&c, 600);
    let b = stable(body.clone()).await;
    assert_eq!(
        a["access_token"], b["access_token"],
        "normal mode returns the same token"
    );
    assert_eq!(b["expires_in"], 6600);
    advance(&c, 6400); // 200 s left: rotate, old one still valid until its expiry
    let d = stable(body.clone()).await;
    assert_ne!(d["access_token"], a["access_token"]);
    assert_eq!(d["expires_in"], 7200);
    assert_eq!(
        token_errcode(&wx, a["access_token"].as_str().unwrap()).await,
        40059
    );
    assert_eq!(wx.token_fetches(), 5);
}

#[tokio::test]
async fn wechat_token_errors_on_business_calls() {
    let (c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    let url = format!("{}/cgi-bin/message/mass/sendall", wx.base_url());
    let missing: Value = http()
        .post(url)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_err(&missing, 41001);
    assert_eq!(token_errcode(&wx, "garbage").await, 40014);

    let t1 = classic_token(&wx).await;
    let t2 = classic_token(&wx).await;
    advance(&c, 299);
    assert_eq!(
        token_errcode(&wx, &t1).await,
        40059,
        "old token valid within grace"
    );
    advance(&c, 2);
    assert_eq!(token_errcode(&wx, &t1).await, 40001, "superseded past grace");
    assert_eq!(token_errcode(&wx, &t2).await, 40059);

    wx.expire_tokens();
    let v = sendall(&wx, &t2, &text_msg("x", Some("a"))).await;
    assert_err(&v, 42001);
    let t3 = classic_token(&wx).await;
    assert_eq!(token_errcode(&wx, &t3).await, 40059);
    advance(&c, 7200);
    assert_eq!(token_errcode(&wx, &t3).await, 42001, "expired by the clock");
    assert!(wx.jobs().is_empty());
}

#[tokio::test]
async fn wechat_quota_day_is_shanghai_midnight() {
    // 23:00 Asia/Shanghai.
    let (c, now) = clock("2025-06-01T15:00:00Z");
    let wx = FakeWechat::start(now).await;
    let token = classic_token(&wx).await;
    assert_eq!(
        sendall(&wx, &token, &text_msg("first", Some("a-1"))).await["errcode"],
        0
    );
    let v = sendall(&wx, &token, &text_msg("second", Some("a-2"))).await;
    assert_err(&v, 45028);
    assert!(v["errmsg"]
        .as_str()
        .unwrap()
        .starts_with("has no masssend quota rid: "));

    set_time(&c, "2025-06-01T15:59:00Z"); // 23:59 Shanghai: same quota day
    assert_err(
        &sendall(&wx, &token, &text_msg("second", Some("a-2"))).await,
        45028,
    );
    set_time(&c, "2025-06-01T16:00:30Z"); // 00:00:30 Shanghai next day
    let v = sendall(&wx, &token, &text_msg("second", Some("a-2"))).await;
    assert_eq!(v["errcode"], 0, "{v}");
    assert_eq!(wx.jobs().len(), 2);
    assert_eq!(wx.sendall_attempts(), 4);
}

#[tokio::test]
async fn wechat_clientmsgid_idempotency() {
    let (c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    wx.set_mass_quota_per_day(2);
    let token = classic_token(&wx).await;
    let first = sendall(&wx, &token, &text_msg("alert", Some("eq-7"))).await;
    let msg_id = first["msg_id"].as_i64().unwrap();

    assert_err(
        &sendall(&wx, &token, &text_msg("alert", Some("eq-7"))).await,
        45066,
    );
    advance(&c, 30);
    assert_err(
        &sendall(&wx, &token, &text_msg("alert", Some("eq-7"))).await,
        45066,
    );
    advance(&c, 31);
    let dup = sendall(&wx, &token, &text_msg("alert", Some("eq-7"))).await;
    assert_err(&dup, 45065);
    assert_eq!(dup["msg_id"].as_i64(), Some(msg_id));
    assert!(dup["errmsg"]
        .as_str()
        .unwrap()
        .starts_with("clientmsgid exist rid: "));

    // The duplicates used no quota: with a quota of 2, one more distinct send still fits.
    assert_eq!(
        sendall(&wx, &token, &text_msg("other", Some("eq-8"))).await["errcode"],
        0
    );
    assert_err(
        &sendall(&wx, &token, &text_msg("third", Some("eq-9"))).await,
        45028,
    );
    assert_eq!(wx.jobs().len(), 2);

    let long = "x".repeat(65);
    assert_err(&sendall(&wx, &token, &text_msg("y", Some(&long))).await, 45067);

    // Omitted clientmsgid: derived from (scope, msgtype, content) → identical repeat is 45065.
    advance(&c, 86_400);
    let token = classic_token(&wx).await; // the old one expired meanwhile
    let a = sendall(&wx, &token, &text_msg("same text", None)).await;
    assert_eq!(a["errcode"], 0, "{a}");
    advance(&c, 120);
    let b = sendall(&wx, &token, &text_msg("same text", None)).await;
    assert_eq!(
        (b["errcode"].as_i64(), b["msg_id"].as_i64()),
        (Some(45065), a["msg_id"].as_i64())
    );
}

#[tokio::test]
async fn wechat_bad_bodies() {
    let (_c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    let token = classic_token(&wx).await;
    let url = format!(
        "{}/cgi-bin/message/mass/sendall?access_token={token}",
        wx.base_url()
    );
    let v: Value = http()
        .post(url)
        .body("{not json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_err(&v, 47001);
    let v = sendall(
        &wx,
        &token,
        &json!({"filter": {"is_to_all": true}, "msgtype": "text"}),
    )
    .await;
    assert_err(&v, 40008);
    let v = sendall(&wx, &token, &json!({"msgtype": "text", "text": {"content": "x"}})).await;
    assert_err(&v, 47001);
    let mp = json!({"filter": {"is_to_all": true}, "msgtype": "mpnews", "mpnews": {"media_id": "nope"}});
    assert_err(&sendall(&wx, &token, &mp).await, 40007);
    assert!(wx.jobs().is_empty());
}

#[tokio::test]
async fn wechat_draft_and_publish() {
    let (_c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    let token = classic_token(&wx).await;
    let draft = json!({"articles": [{"title": "台风预警", "content": "<p>…</p>", "thumb_media_id": "t"}]});
    let d = wx_post(&wx, "/cgi-bin/draft/add", &token, &draft).await;
    let media_id = d["media_id"].as_str().unwrap().to_owned();
    let p = wx_post(
        &wx,
        "/cgi-bin/freepublish/submit",
        &token,
        &json!({"media_id": media_id}),
    )
    .await;
    assert_eq!(
        (p["errcode"].as_i64(), p["errmsg"].as_str()),
        (Some(0), Some("ok")),
        "{p}"
    );
    assert!(p["publish_id"].is_string() && p["msg_data_id"].is_string());
    let again = wx_post(
        &wx,
        "/cgi-bin/freepublish/submit",
        &token,
        &json!({"media_id": media_id}),
    )
    .await;
    assert_err(&again, 40007);
    assert_eq!(wx.drafts(), vec![draft]);
    assert_eq!(wx.publishes(), vec![media_id]);
    // Publishing used no mass quota.
    assert_eq!(
        sendall(&wx, &token, &text_msg("x", Some("p-1"))).await["errcode"],
        0
    );
}

#[tokio::test]
async fn wechat_fault_injection() {
    let (c, now) = clock("2025-06-01T02:00:00Z");
    let wx = FakeWechat::start(now).await;
    let token = classic_token(&wx).await;

    wx.script_errcodes(vec![-1]);
    assert_err(&sendall(&wx, &token, &text_msg("x", Some("f-1"))).await, -1);

    wx.set_http_status_override(Some(502));
    let url = format!(
        "{}/cgi-bin/message/mass/sendall?access_token={token}",
        wx.base_url()
    );
    let resp = http()
        .post(&url)
        .json(&text_msg("x", Some("f-1")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(resp.text().await.unwrap().contains("<html>"));
    wx.set_http_status_override(None);
    assert!(wx.jobs().is_empty());

    wx.set_hang_after_accept(true);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let lost = client.post(&url).json(&text_msg("x", Some("f-1"))).send().await;
    assert!(lost.unwrap_err().is_timeout());
    let jobs = wx.jobs();
    assert_eq!(jobs.len(), 1, "processed although the answer was lost");
    wx.set_hang_after_accept(false);
    advance(&c, 60);
    let dup = sendall(&wx, &token, &text_msg("x", Some("f-1"))).await;
    assert_eq!(
        (dup["errcode"].as_i64(), dup["msg_id"].as_i64()),
        (Some(45065), Some(jobs[0].msg_id))
    );
    assert_eq!(wx.sendall_attempts(), 4);

    wx.set_delay(Duration::from_millis(400));
    assert!(client
        .post(&url)
        .json(&json!({}))
        .send()
        .await
        .unwrap_err()
        .is_timeout());
}

// ---------------------------------------------------------------- Weibo

/// application/x-www-form-urlencoded encoding (space as '+', UTF-8 bytes as %XX).
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn share(wb: &FakeWeibo, token: &str, status: &str) -> (u16, Value) {
    share_form(
        wb,
        &[
            ("access_token", token),
            ("status", status),
            ("rip", "211.156.0.1"),
        ],
    )
    .await
}

async fn share_form(wb: &FakeWeibo, pairs: &[(&str, &str)]) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/2/statuses/share.json", wb.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(pairs))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn assert_weibo_err(got: &(u16, Value), status: u16, code: i64) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error_code"], code, "{}", got.1);
    assert_eq!(got.1["request"], "/2/statuses/share.json");
    assert!(got.1["error"].is_string());
}

#[tokio::test]
async fn weibo_share_success_and_content_rules() {
    let (_c, now) = clock("2013-04-20T00:02:50Z");
    let wb = FakeWeibo::start(now, SAFE_DOMAIN).await;
    let tok = fake_weibo::TOKEN;
    let text = format!("【地震速报】 M5.1 & 100% 详情 https://m.{SAFE_DOMAIN}/eq/1?a=b+c");
    let (status, v) = share(&wb, tok, &text).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["created_at"], "Sat Apr 20 08:02:50 +0800 2013");
    assert_eq!(v["text"].as_str(), Some(text.as_str()));
    let idstr = v["idstr"].as_str().unwrap().to_owned();
    assert_eq!(v["mid"].as_str(), Some(idstr.as_str()));
    assert_eq!(v["id"].as_i64().map(|i| i.to_string()), Some(idstr.clone()));
    let posts = wb.posts();
    assert_eq!(
        (posts.len(), posts[0].idstr.as_str(), posts[0].text.as_str()),
        (1, idstr.as_str(), text.as_str())
    );
    assert_eq!(posts[0].rip, "211.156.0.1");

    assert_weibo_err(&share(&wb, tok, &text).await, 400, 20019);
    let long = format!(
        "{}https://{SAFE_DOMAIN}/",
        "震".repeat(141 - SAFE_DOMAIN.len() - 9)
    );
    assert_eq!(long.chars().count(), 141);
    let got = share(&wb, tok, &long).await;
    assert_weibo_err(&got, 400, 20012);
    assert_eq!(
        got.1["error"],
        "Text too long, please input text less than 140 characters!"
    );
    let ok140: String = long.chars().skip(1).collect();
    assert_eq!(share(&wb, tok, &ok140).await.0, 200);

    let got = share(&wb, tok, "no link here").await;
    assert_weibo_err(&got, 400, 10017);
    assert_eq!(got.1["error"], "text not find domain!");
    assert_weibo_err(
        &share(&wb, tok, "https://evil-example.gov.cn/ x").await,
        400,
        10017,
    );
    assert_weibo_err(
        &share(&wb, tok, &format!("https://{SAFE_DOMAIN}.evil.cn/")).await,
        400,
        10017,
    );
    assert_weibo_err(
        &share(&wb, tok, &format!("#地震# https://{SAFE_DOMAIN}/")).await,
        400,
        10017,
    );

    let no_rip = [
        ("access_token", tok),
        ("status", "x https://alerts.example.gov.cn/"),
    ];
    assert_weibo_err(&share_form(&wb, &no_rip).await, 400, 10016);
    assert_weibo_err(
        &share_form(&wb, &[("access_token", tok), ("rip", "1.2.3.4")]).await,
        400,
        10016,
    );
    assert_eq!(wb.posts().len(), 2);
    assert_eq!(wb.attempts(), 10);
}

#[tokio::test]
async fn weibo_token_and_rate_limit() {
    let (c, now) = clock("2025-06-01T02:00:00Z");
    let wb = FakeWeibo::start(now, SAFE_DOMAIN).await;
    let link = format!("https://{SAFE_DOMAIN}/a");
    assert_weibo_err(&share(&wb, "wrong", &format!("a {link}")).await, 401, 21301);
    assert_weibo_err(
        &share_form(&wb, &[("status", "x"), ("rip", "1.1.1.1")]).await,
        401,
        21301,
    );

    wb.set_hourly_limit(2);
    assert_eq!(share(&wb, fake_weibo::TOKEN, &format!("1 {link}")).await.0, 200);
    advance(&c, 1800);
    assert_eq!(share(&wb, fake_weibo::TOKEN, &format!("2 {link}")).await.0, 200);
    assert_weibo_err(
        &share(&wb, fake_weibo::TOKEN, &format!("3 {link}")).await,
        403,
        10024,
    );
    advance(&c, 1801); // the first post left the rolling hour
    assert_eq!(share(&wb, fake_weibo::TOKEN, &format!("3 {link}")).await.0, 200);

    wb.script_errors(vec![(400, 20016)]);
    assert_weibo_err(
        &share(&wb, fake_weibo::TOKEN, &format!("4 {link}")).await,
        400,
        20016,
    );
    wb.set_http_status_override(Some(503));
    let resp = http()
        .post(format!("{}/2/statuses/share.json", wb.base_url()))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    wb.set_http_status_override(None);

    wb.expire_token();
    assert_weibo_err(
        &share(&wb, fake_weibo::TOKEN, &format!("5 {link}")).await,
        401,
        21327,
    );
    assert_eq!(wb.posts().len(), 3);
    assert!(wb.requests()[0].starts_with("POST /2/statuses/share.json\naccess_token=wrong&"));
}

// ---------------------------------------------------------------- WeCom

async fn wecom_send(wc: &FakeWecom, key: &str, body: &Value) -> Value {
    let url = format!("{}/cgi-bin/webhook/send?key={key}", wc.base_url());
    let resp = http().post(url).json(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn wecom_robot() {
    let (c, now) = clock("2025-06-01T02:00:00Z");
    let wc = FakeWecom::start(now).await;
    let msg = json!({"msgtype": "text", "text": {"content": "台风红色预警"}});
    let v = wecom_send(&wc, "bad-key", &msg).await;
    assert_eq!(v["errcode"], 93000);
    let errmsg = v["errmsg"].as_str().unwrap();
    assert!(errmsg.starts_with("invalid webhook url, hint: ["), "{errmsg}");
    assert!(errmsg.contains("from ip: 127.0.0.1, more info at "));

    assert_eq!(
        wecom_send(&wc, fake_wecom::KEY, &msg).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    let big = json!({"msgtype": "text", "text": {"content": "字".repeat(683)}}); // 2049 bytes
    assert_eq!(wecom_send(&wc, fake_wecom::KEY, &big).await["errcode"], 40058);
    let md = json!({"msgtype": "markdown", "markdown": {"content": "a".repeat(4096)}});
    assert_eq!(wecom_send(&wc, fake_wecom::KEY, &md).await["errcode"], 0);

    for _ in 0..18 {
        assert_eq!(wecom_send(&wc, fake_wecom::KEY, &msg).await["errcode"], 0);
    }
    assert_eq!(wecom_send(&wc, fake_wecom::KEY, &msg).await["errcode"], 45009);
    advance(&c, 60);
    assert_eq!(wecom_send(&wc, fake_wecom::KEY, &msg).await["errcode"], 0);
    assert_eq!(wc.messages().len(), 21);
    assert_eq!(wc.messages()[0], msg);
}
