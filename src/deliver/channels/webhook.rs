//! A generic webhook: a JSON POST to the office's own system (a duty phone gateway, a county
//! platform). With a secret, the body is signed: `X-Alertd-Signature: sha256=<hex HMAC>`.
//! 2xx is delivered; 429, 5xx and transport errors are retried; other 4xx are refused.

use super::{transport_error, BoxFuture, Channel, Receipt, Request, SendError};
use crate::config::{resolve_secret, WebhookConfig};
use crate::secret::Secret;
use serde_json::json;

pub struct Webhook {
    url: String,
    secret: Secret,
    http: reqwest::Client,
}

impl Webhook {
    pub fn new(name: &str, cfg: &WebhookConfig, http: reqwest::Client) -> Result<Self, String> {
        let at = format!("channels.{name}");
        Ok(Self {
            url: cfg.url.clone(),
            secret: resolve_secret(&at, "secret", &cfg.secret, &cfg.secret_file)?,
            http,
        })
    }

    async fn post(&self, req: &Request) -> Result<Receipt, SendError> {
        let body =
            json!({"delivery_id": req.delivery_id, "alert_id": req.alert_id, "text": req.text}).to_string();
        let signature = (!self.secret.is_empty()).then(|| sign(self.secret.expose(), body.as_bytes()));
        if req.dry_run {
            let sig = if signature.is_some() {
                "\nX-Alertd-Signature: sha256=…"
            } else {
                ""
            };
            return Ok(Receipt {
                dry_run_request: Some(format!("POST {}{sig}\n{body}", self.url)),
                ..Default::default()
            });
        }
        let mut r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json");
        if let Some(sig) = signature {
            r = r.header("x-alertd-signature", format!("sha256={sig}"));
        }
        let resp = r.body(body).send().await.map_err(transport_error)?;
        let status = resp.status();
        match status.as_u16() {
            200..=299 => Ok(Receipt::default()),
            429 | 500..=599 => Err(SendError::retry(format!("webhook answered HTTP {status}"))),
            _ => Err(SendError::permanent(
                None,
                format!("webhook refused: HTTP {status}"),
            )),
        }
    }
}

impl Channel for Webhook {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(self.post(req))
    }
}

pub use crate::secret::hmac_sha256_hex as sign;

#[cfg(test)]
mod tests {
    #[test]
    fn rfc4231_case_2() {
        assert_eq!(
            super::sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
