//! WeChat Official Account: mass send (`message/mass/sendall`) to all followers.
//!
//! platforms.md §1–§4: errors come as HTTP 200 with `errcode`. The access token has one holder
//! here, refreshed before expiry and on 40001/40014/42001 (then the send is retried once);
//! `clientmsgid` is the delivery id, so a resend after a crash or a lost answer is caught by the
//! platform: 45065 means it was already sent (we keep the returned `msg_id`), 45066 means "same
//! id within a minute, wait".

use super::{transport_error, BoxFuture, Channel, Receipt, Request, SendError};
use crate::config::{resolve_secret, ChannelConfig};
use crate::secret::{redact, Secret};
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
}

impl Wechat {
    pub fn new(name: &str, cfg: &ChannelConfig, http: reqwest::Client) -> Result<Self, String> {
        let at = format!("channels.{name}");
        Ok(Self {
            api_base: cfg
                .api_base
                .clone()
                .unwrap_or_else(|| "https://api.weixin.qq.com".into())
                .trim_end_matches('/')
                .to_string(),
            appid: cfg
                .appid
                .clone()
                .ok_or_else(|| format!("{at}.appid: required"))?,
            secret: resolve_secret(&at, "secret", &cfg.secret, &cfg.secret_file)?,
            http,
            token: Mutex::new(None),
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
            (None, None) => Err(SendError::retry(
                "token: answer without access_token or errcode",
            )),
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

    async fn sendall(&self, req: &Request) -> Result<Receipt, SendError> {
        if req.dry_run {
            let url = format!(
                "{}/cgi-bin/message/mass/sendall?access_token=***",
                self.api_base
            );
            return Ok(Receipt {
                dry_run_request: Some(format!("POST {url}\n{}", self.body(req))),
                ..Default::default()
            });
        }
        for attempt in 0..2 {
            let token = self.token().await?;
            let url = format!(
                "{}/cgi-bin/message/mass/sendall?access_token={}",
                self.api_base,
                token.expose()
            );
            let resp = self
                .http
                .post(&url)
                .json(&self.body(req))
                .send()
                .await
                .map_err(transport_error)?;
            let status = resp.status();
            if !status.is_success() {
                return Err(SendError::retry(format!(
                    "HTTP {status} from the WeChat API"
                )));
            }
            let v: Value = resp
                .json()
                .await
                .map_err(|_| SendError::retry("answer is not JSON (a proxy page?)"))?;
            let code = errcode(&v).unwrap_or(0);
            let msg_id = v
                .get("msg_id")
                .map(|m| m.to_string().trim_matches('"').to_string());
            match code {
                0 => {
                    return Ok(Receipt {
                        platform_ref: msg_id,
                        ..Default::default()
                    })
                }
                45065 => {
                    return Ok(Receipt {
                        platform_ref: msg_id,
                        note: Some(
                            "45065: this clientmsgid was already sent; adopted its msg_id".into(),
                        ),
                        ..Default::default()
                    })
                }
                40001 | 40014 | 42001 if attempt == 0 => {
                    tracing::info!(errcode = code, "wechat token rejected; refreshing once");
                    self.invalidate(&token).await;
                    continue;
                }
                _ => return Err(classify(code, &self.scrub(&errmsg(&v), Some(&token)))),
            }
        }
        Err(SendError::retry("token rejected twice"))
    }
}

impl Channel for Wechat {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(self.sendall(req))
    }
}

fn errcode(v: &Value) -> Option<i64> {
    v.get("errcode").and_then(|c| {
        c.as_i64()
            .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
    })
}

fn errmsg(v: &Value) -> String {
    v.get("errmsg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// What each errcode means for us (platforms.md §3, §4.7). Anything unknown is permanent:
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
        45066 => e(true, "same clientmsgid less than a minute ago; waiting")
            .wait(Duration::from_secs(61)),
        45011 => e(true, "API minute quota reached").wait(Duration::from_secs(61)),
        40001 | 40014 | 42001 => e(true, "access token rejected after a refresh"),
        // The platform says the quota is gone: the ledger's count stands (no refund).
        45028 => SendError {
            refund_quota: false,
            ..e(false, "no mass-send quota left (the day's push is used)")
        },
        45009 => SendError {
            refund_quota: false,
            ..e(
                false,
                "the API's daily call quota is used up; no retry today",
            )
        },
        45067 => e(false, "clientmsgid longer than 64 bytes"),
        40164 => e(
            false,
            "this server's IP is not on the account's API whitelist",
        ),
        40013 => e(false, "invalid appid"),
        40125 | 40243 | 41004 => e(false, "AppSecret invalid, frozen or missing"),
        48001 => e(
            false,
            "the account lacks this API permission (verification?)",
        ),
        48003 => e(
            false,
            "the mass-send agreement is not accepted in the console",
        ),
        48008 => e(false, "this message type is not allowed for the account"),
        45002 => e(false, "content too long"),
        47001 | 40008 => e(false, "request rejected as malformed"),
        _ => e(false, "refused"),
    }
}
