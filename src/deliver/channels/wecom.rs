//! WeCom (企业微信) group robot: the office staff's group (docs/platforms.md §8).
//!
//! Used to tell the officers what alertd did — above all when WeChat refused an emergency and a
//! fallback was taken. Errors come as HTTP 200 with `errcode`; 20 messages a minute per robot.

use super::{post_errcode_json, BoxFuture, Channel, Receipt, Request, SendError};
use crate::config::{resolve_secret, WecomConfig};
use crate::secret::{redact, Secret};
use serde_json::{json, Value};
use std::time::Duration;

/// The robot's limit for text content, in bytes.
const MAX_TEXT_BYTES: usize = 2048;

pub struct Wecom {
    api_base: String,
    key: Secret,
    http: reqwest::Client,
}

impl Wecom {
    pub fn new(
        name: &str,
        api_base: String,
        cfg: &WecomConfig,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let at = format!("channels.{name}");
        Ok(Self {
            api_base,
            key: resolve_secret(&at, "key", &cfg.key, &cfg.key_file)?,
            http,
        })
    }

    async fn post(&self, req: &Request) -> Result<Receipt, SendError> {
        // A staff message may be shortened (the full record is in `alertd status`); the robot
        // rejects anything longer.
        let content = truncate_bytes(&req.text, MAX_TEXT_BYTES);
        let body = json!({"msgtype": "text", "text": {"content": content}});
        if req.dry_run {
            let url = format!("{}/cgi-bin/webhook/send?key=***", self.api_base);
            return Ok(Receipt {
                dry_run_request: Some(format!("POST {url}\n{body}")),
                ..Default::default()
            });
        }
        let url = format!("{}/cgi-bin/webhook/send?key={}", self.api_base, self.key.expose());
        let (code, v) = post_errcode_json(&self.http, &url, &body, "the WeCom robot").await?;
        let msg = redact(
            v.get("errmsg").and_then(Value::as_str).unwrap_or(""),
            &[self.key.expose()],
        );
        let msg = crate::secret::redact_params(&msg);
        match code {
            0 => Ok(Receipt::default()),
            -1 => Err(SendError::retry(format!("WeCom -1: system busy ({msg})"))),
            45009 => Err(SendError {
                code: Some(code),
                ..SendError::retry(format!("WeCom 45009: 20 messages a minute reached ({msg})"))
            }
            .wait(Duration::from_secs(60))),
            93000 => Err(SendError::permanent(
                Some(code),
                format!("WeCom 93000: invalid robot key ({msg})"),
            )),
            _ => Err(SendError::permanent(
                Some(code),
                format!("WeCom {code}: refused ({msg})"),
            )),
        }
    }
}

impl Channel for Wecom {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(self.post(req))
    }
}

pub fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_a_char_boundary() {
        let s = "地震".repeat(1000);
        let t = truncate_bytes(&s, 2048);
        assert!(t.len() <= 2048 && t.ends_with('…'));
        assert_eq!(truncate_bytes("短", 2048), "短");
    }
}
