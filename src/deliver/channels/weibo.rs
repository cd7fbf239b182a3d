//! Sina Weibo: `2/statuses/share.json` (docs/platforms.md §9).
//!
//! Errors come as non-2xx with `error_code` (an integer, in old answers a string). An identical
//! post (20019/20111) means the earlier attempt went through: delivered. Rate limits back off;
//! token errors need an officer to re-authorise.

use super::{transport_error, BoxFuture, Channel, Receipt, Request, SendError};
use crate::config::{resolve_secret, WeiboConfig};
use crate::secret::{redact, Secret};
use serde_json::Value;
use std::time::Duration;

pub struct Weibo {
    api_base: String,
    token: Secret,
    rip: String,
    http: reqwest::Client,
}

impl Weibo {
    pub fn new(
        name: &str,
        api_base: String,
        cfg: &WeiboConfig,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let at = format!("channels.{name}");
        Ok(Self {
            api_base,
            token: resolve_secret(&at, "access_token", &cfg.access_token, &cfg.access_token_file)?,
            rip: cfg.rip.clone(),
            http,
        })
    }

    async fn share(&self, req: &Request) -> Result<Receipt, SendError> {
        let url = format!("{}/2/statuses/share.json", self.api_base);
        if req.dry_run {
            let body = form_encode(&[("access_token", "***"), ("status", &req.text), ("rip", &self.rip)]);
            return Ok(Receipt {
                dry_run_request: Some(format!("POST {url}\n{body}")),
                ..Default::default()
            });
        }
        let form = [
            ("access_token", self.token.expose()),
            ("status", req.text.as_str()),
            ("rip", self.rip.as_str()),
        ];
        let resp = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        let body = resp.text().await.map_err(transport_error)?;
        let v: Option<Value> = serde_json::from_str(&body).ok();
        if status.is_success() {
            let idstr = v
                .as_ref()
                .and_then(|v| v.get("idstr").or_else(|| v.get("mid")))
                .and_then(Value::as_str);
            return match idstr {
                Some(id) => Ok(Receipt {
                    platform_ref: Some(id.to_string()),
                    ..Default::default()
                }),
                None => Err(SendError::retry(format!("HTTP {status} without a status id"))),
            };
        }
        let code = v
            .as_ref()
            .and_then(|v| v.get("error_code"))
            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
        let error = v
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let error = redact(error, &[self.token.expose()]);
        match code {
            Some(c) => classify(c, status.as_u16(), &error),
            None if status.is_server_error() => Err(SendError::retry(format!("HTTP {status} from Weibo"))),
            None => Err(SendError::retry(format!(
                "HTTP {status} from Weibo without an error code"
            ))),
        }
    }
}

impl Channel for Weibo {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(self.share(req))
    }

    /// Weibo has no idempotency key: 20019 only says "identical to your previous post". Posting
    /// one at a time keeps the unknown-outcome post the previous one, so its resend is caught.
    fn serial(&self) -> bool {
        true
    }
}

/// The codes that say "rate limited": the post was not made, and another may go after the wait.
pub fn rate_limited(code: i64) -> bool {
    matches!(code, 10022 | 10023 | 10024 | 20016)
}

pub fn classify(code: i64, http: u16, error: &str) -> Result<Receipt, SendError> {
    let msg = |meaning: &str| format!("Weibo {code} (HTTP {http}): {meaning} ({error})");
    match code {
        20019 | 20111 => Ok(Receipt {
            note: Some(format!(
                "{code}: identical post already published; counted as delivered"
            )),
            ..Default::default()
        }),
        20032 => Ok(Receipt {
            note: Some("20032: accepted, server slow".into()),
            ..Default::default()
        }),
        c if rate_limited(c) => Err(SendError {
            code: Some(code),
            ..SendError::retry(msg("rate limited; backing off"))
        }
        .wait(Duration::from_secs(60))),
        21301 | 21314 | 21315 | 21316 | 21317 | 21327 | 21332 => Err(SendError::permanent(
            Some(code),
            msg("access token invalid or expired: re-authorise the Weibo app"),
        )),
        10017 => Err(SendError::permanent(
            Some(code),
            msg("text has no link on the app's safe domain"),
        )),
        20012 => Err(SendError::permanent(
            Some(code),
            msg("text longer than 140 characters"),
        )),
        20017 => Err(SendError::permanent(
            Some(code),
            msg("too similar to a recent post"),
        )),
        10014 => Err(SendError::permanent(
            Some(code),
            msg("the app lacks permission for share.json"),
        )),
        10016 => Err(SendError::permanent(
            Some(code),
            msg("a required parameter is missing"),
        )),
        _ if http >= 500 => Err(SendError {
            code: Some(code),
            ..SendError::retry(msg("server error"))
        }),
        _ => Err(SendError::permanent(Some(code), msg("refused"))),
    }
}

/// `application/x-www-form-urlencoded`, for the dry-run record (reqwest builds the real one).
fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
