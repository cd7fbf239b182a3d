//! WeChat Official Account: mass send (`message/mass/sendall`) to all followers.
//!
//! docs/platforms.md §1–§4: errors come as HTTP 200 with `errcode`. The access token has one holder
//! here, refreshed before expiry and on 40001/40014/42001 (then the send is retried once);
//! `clientmsgid` is the delivery id, so a resend after a crash or a lost answer is caught by the
//! platform: 45065 means it was already sent (we keep the returned `msg_id`), 45066 means "same
//! id within a minute, wait".
//!
//! A push counts as delivered only on the answer docs/platforms.md §4.1 gives for an accepted job:
//! `errcode` 0 and the job's `msg_id` (which `mass/get` then follows). Any other HTTP 200 body —
//! no `errcode`, no or a malformed `msg_id` — is in doubt: the job may have been created. It is
//! a retryable failure, never a refusal: a refusal would give the quota back and could start the
//! emergency fallback (a second publication), while resending the same `clientmsgid` cannot
//! push twice — WeChat answers 45065 with the job's `msg_id` if it exists, and sends it if not.

use super::{post_errcode_json, transport_error, BoxFuture, Channel, Receipt, Request, SendError};
use crate::config::{resolve_secret, WechatConfig};
use crate::secret::{redact, Secret};
use crate::store::outbox::Op;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Refresh when less than this remains (wechatpy uses 60 s).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

pub struct Wechat {
    api_base: String,
    appid: String,
    secret: Secret,
    http: reqwest::Client,
    token: Mutex<Option<(Secret, Instant)>>,
    thumb_media_id: Option<String>,
}

impl Wechat {
    pub fn new(
        name: &str,
        api_base: String,
        cfg: &WechatConfig,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let at = format!("channels.{name}");
        Ok(Self {
            api_base,
            appid: cfg.appid.clone(),
            secret: resolve_secret(&at, "secret", &cfg.secret, &cfg.secret_file)?,
            http,
            token: Mutex::new(None),
            thumb_media_id: cfg.thumb_media_id.clone(),
        })
    }

    fn scrub(&self, text: &str, token: Option<&Secret>) -> String {
        let mut secrets = vec![self.secret.expose()];
        if let Some(t) = token {
            secrets.push(t.expose());
        }
        crate::secret::redact_params(&redact(text, &secrets))
    }

    /// The current token, fetched if absent or about to expire. One holder, one fetch at a time.
    async fn token(&self) -> Result<Secret, SendError> {
        let mut slot = self.token.lock().await;
        if let Some((t, exp)) = slot.as_ref() {
            if Instant::now() + REFRESH_MARGIN < *exp {
                return Ok(t.clone());
            }
        }
        let url = format!("{}/cgi-bin/stable_token", self.api_base);
        let body = json!({"grant_type": "client_credential", "appid": self.appid,
                          "secret": self.secret.expose(), "force_refresh": false});
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .map_err(|_| SendError::retry(format!("token: HTTP {status} without a JSON body")))?;
        match (v.get("access_token").and_then(Value::as_str), errcode(&v)) {
            (Some(t), _) => {
                let secs = v.get("expires_in").and_then(Value::as_u64).unwrap_or(7200);
                let tok = Secret::new(t);
                *slot = Some((tok.clone(), Instant::now() + Duration::from_secs(secs)));
                tracing::info!(expires_in = secs, "wechat access token refreshed");
                Ok(tok)
            }
            (None, Some(code)) => Err(classify(code, &self.scrub(&errmsg(&v), None))),
            (None, None) => Err(SendError::retry("token: answer without access_token or errcode")),
        }
    }

    async fn invalidate(&self, used: &Secret) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|(t, _)| t == used) {
            *slot = None;
        }
    }

    fn body(&self, req: &Request) -> Value {
        json!({
            "filter": {"is_to_all": true},
            "msgtype": "text",
            "text": {"content": req.text},
            "clientmsgid": req.delivery_id,
        })
    }

    /// One API call with the current token; a token the platform rejects (40001/40014/42001)
    /// is refreshed once and the call repeated. Returns the errcode (0 when absent) and body.
    async fn api(&self, path: &str, body: &Value) -> Result<(i64, Value), SendError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let url = format!("{}{path}?access_token={}", self.api_base, token.expose());
            let (code, v) = post_errcode_json(&self.http, &url, body, "the WeChat API").await?;
            match code {
                40001 | 40014 | 42001 if attempt == 0 => {
                    tracing::info!(errcode = code, "wechat token rejected; refreshing once");
                    self.invalidate(&token).await;
                }
                0 | 45065 => return Ok((code, v)),
                _ => return Err(classify(code, &self.scrub(&errmsg(&v), Some(&token)))),
            }
        }
        Err(SendError::retry("token rejected twice"))
    }

    fn dry(&self, path: &str, body: &Value) -> Receipt {
        Receipt {
            dry_run_request: Some(format!("POST {}{path}?access_token=***\n{body}", self.api_base)),
            ..Default::default()
        }
    }

    async fn sendall(&self, req: &Request) -> Result<Receipt, SendError> {
        const PATH: &str = "/cgi-bin/message/mass/sendall";
        let body = self.body(req);
        if req.dry_run {
            return Ok(self.dry(PATH, &body));
        }
        let (code, v) = self.api(PATH, &body).await?;
        sendall_receipt(code, &v).map_err(|mut e| {
            e.message = self.scrub(&e.message, None);
            e
        })
    }

    /// Free publish (draft/add, then freepublish/submit): the article is on the account's page
    /// and reachable by link, but nobody is notified and no mass quota is used (docs/platforms.md
    /// §5). The emergency fallback when the day's push is gone.
    async fn free_publish(&self, req: &Request) -> Result<Receipt, SendError> {
        let title: String = req
            .text
            .lines()
            .next()
            .unwrap_or("应急信息")
            .chars()
            .take(32)
            .collect();
        let html: String = req
            .text
            .lines()
            .map(|l| format!("<p>{}</p>", escape_html(l)))
            .collect();
        let draft = json!({"articles": [{
            "title": title,
            "content": html,
            "thumb_media_id": self.thumb_media_id.clone().unwrap_or_default(),
            "need_open_comment": 0,
        }]});
        if req.dry_run {
            return Ok(self.dry("/cgi-bin/draft/add", &draft));
        }
        let (_, v) = self.api("/cgi-bin/draft/add", &draft).await?;
        let media_id = v
            .get("media_id")
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::retry("draft/add answered without media_id"))?;
        let (_, v) = self
            .api("/cgi-bin/freepublish/submit", &json!({"media_id": media_id}))
            .await?;
        let publish_id = v
            .get("publish_id")
            .map(|m| m.to_string().trim_matches('"').to_string());
        Ok(Receipt {
            platform_ref: publish_id,
            note: Some("free publish: no push, no quota".into()),
            ..Default::default()
        })
    }

    /// The mass job's final state from `mass/get` (SEND_SUCCESS, SEND_FAIL, SENDING, DELETE).
    async fn job_status(&self, msg_id: &str) -> Result<String, SendError> {
        let id: Value = msg_id
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(msg_id));
        let (_, v) = self
            .api("/cgi-bin/message/mass/get", &json!({"msg_id": id}))
            .await?;
        v.get("msg_status")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SendError::retry("mass/get answered without msg_status"))
    }
}

impl Channel for Wechat {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            match req.op {
                Op::FreePublish => self.free_publish(req).await,
                _ => self.sendall(req).await,
            }
        })
    }

    fn confirms_jobs(&self) -> bool {
        true
    }

    fn confirm<'a>(&'a self, platform_ref: &'a str) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(self.job_status(platform_ref))
    }
}

/// What a sendall answer that `api` let through (errcode 0 or absent, or 45065) means: a
/// delivery with its job's `msg_id`, or — without errcode 0 and a `msg_id` — a failure in doubt,
/// retried with the same `clientmsgid` (module docs).
fn sendall_receipt(code: i64, v: &Value) -> Result<Receipt, SendError> {
    let msg_id = v.get("msg_id").and_then(job_id);
    match (code, errcode(v), msg_id) {
        (0, Some(0), Some(id)) => Ok(Receipt {
            platform_ref: Some(id),
            ..Default::default()
        }),
        (45065, _, Some(id)) => Ok(Receipt {
            platform_ref: Some(id),
            note: Some("45065: this clientmsgid was already sent; adopted its msg_id".into()),
            ..Default::default()
        }),
        // The platform says the job exists; resending would only hear it again. Delivered, but
        // nothing names the job for mass/get.
        (45065, _, None) => Ok(Receipt {
            platform_ref: None,
            note: Some(
                "45065: this clientmsgid was already sent; WeChat named no msg_id, so the job's \
                 state cannot be followed (mass/get)"
                    .into(),
            ),
            ..Default::default()
        }),
        _ => {
            let body: String = v.to_string().chars().take(200).collect();
            Err(SendError::retry(format!(
                "WeChat sendall answered without errcode 0 and a msg_id ({body}); the job may \
                 exist, so the same clientmsgid is sent again (45065 names it if it does)"
            )))
        }
    }
}

/// A mass job id: a positive integer, as a JSON number or a string of digits.
fn job_id(v: &Value) -> Option<String> {
    let id = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        _ => return None,
    };
    (id > 0).then(|| id.to_string())
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn errcode(v: &Value) -> Option<i64> {
    v.get("errcode")
        .and_then(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
}

fn errmsg(v: &Value) -> String {
    v.get("errmsg").and_then(Value::as_str).unwrap_or("").to_string()
}

/// What each errcode means for us (docs/platforms.md §3, §4.7). Anything unknown is permanent:
/// retrying an error we do not understand into a platform that enforces quotas is worse than
/// telling the officer.
pub fn classify(code: i64, errmsg: &str) -> SendError {
    let e = |retry: bool, meaning: &str| {
        let mut err = if retry {
            SendError::retry("")
        } else {
            SendError::permanent(Some(code), "")
        };
        err.code = Some(code);
        err.message = format!("WeChat {code}: {meaning} ({errmsg})");
        err
    };
    match code {
        -1 => e(true, "system busy"),
        45066 => e(true, "same clientmsgid less than a minute ago; waiting").wait(Duration::from_secs(61)),
        45011 => e(true, "API minute quota reached").wait(Duration::from_secs(61)),
        40001 | 40014 | 42001 => e(true, "access token rejected after a refresh"),
        // The platform says the quota is gone: the ledger's count stands (no refund).
        45028 => SendError {
            refund_quota: false,
            ..e(false, "no mass-send quota left (the day's push is used)")
        },
        45009 => SendError {
            refund_quota: false,
            ..e(false, "the API's daily call quota is used up; no retry today")
        },
        45067 => e(false, "clientmsgid longer than 64 bytes"),
        40164 => e(false, "this server's IP is not on the account's API whitelist"),
        40013 => e(false, "invalid appid"),
        40125 | 40243 | 41004 => e(false, "AppSecret invalid, frozen or missing"),
        48001 => e(false, "the account lacks this API permission (verification?)"),
        48003 => e(false, "the mass-send agreement is not accepted in the console"),
        48008 => e(false, "this message type is not allowed for the account"),
        45002 => e(false, "content too long"),
        47001 | 40008 => e(false, "request rejected as malformed"),
        _ => e(false, "refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(code: i64, v: Value) -> Option<String> {
        sendall_receipt(code, &v).expect("delivered").platform_ref
    }

    fn in_doubt(code: i64, v: Value) -> SendError {
        sendall_receipt(code, &v).expect_err("not a delivery")
    }

    #[test]
    fn a_push_is_delivered_only_with_errcode_0_and_a_msg_id() {
        let ok = json!({"errcode": 0, "errmsg": "send job submission success", "msg_id": 34182,
                        "msg_data_id": 206227730});
        assert_eq!(delivered(0, ok), Some("34182".into()));
        assert_eq!(
            delivered(0, json!({"errcode": "0", "msg_id": "34182"})),
            Some("34182".into())
        );
        assert_eq!(
            delivered(
                45065,
                json!({"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": 3147494552u64})
            ),
            Some("3147494552".into())
        );
        assert_eq!(
            delivered(45065, json!({"errcode": 45065})),
            None,
            "already sent, no job to follow"
        );
        for odd in [
            json!({}),
            json!({"errmsg": "ok"}),
            json!({"msg_id": 34182}),
            json!({"errcode": 0, "errmsg": "ok"}),
            json!({"errcode": 0, "msg_id": null}),
            json!({"errcode": 0, "msg_id": ""}),
            json!({"errcode": 0, "msg_id": 0}),
            json!({"errcode": 0, "msg_id": -5}),
            json!({"errcode": 0, "msg_id": 1.5}),
            json!({"errcode": 0, "msg_id": {"id": 1}}),
            json!({"errcode": 0, "msg_id": "12a"}),
            json!([1, 2]),
        ] {
            let e = in_doubt(0, odd.clone());
            assert!(e.retryable, "{odd}");
            assert!(!e.refund_quota, "in doubt: the quota stays used ({odd})");
            assert_eq!(e.code, None, "no errcode, so no fallback ({odd})");
            assert!(
                e.message.contains("without errcode 0 and a msg_id"),
                "{}",
                e.message
            );
        }
    }
}
