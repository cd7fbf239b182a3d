//! Platform clients, one file each, behind one [`Channel`] trait.
//!
//! A client turns a delivery into the platform's request and the platform's answer into a
//! [`Receipt`] or a classified [`SendError`] (Vector's `RetryLogic` idea): retryable (with a
//! minimum wait when the platform names one) or permanent (with the platform's code and what it
//! means), and whether a refusal means the quota was not used. Dry-run clients build the exact
//! request, redact its secrets, and return it instead of sending.

pub mod webhook;
pub mod website;
pub mod wechat;
pub mod wecom;
pub mod weibo;

use crate::clock::SharedClock;
use crate::config::{ChannelConfig, ChannelKindConfig, Config};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone)]
pub struct Request {
    /// The delivery id; WeChat's `clientmsgid`.
    pub delivery_id: String,
    pub alert_id: i64,
    pub op: crate::store::outbox::Op,
    pub text: String,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receipt {
    /// The platform's id for what was sent (WeChat `msg_id`, Weibo `idstr`).
    pub platform_ref: Option<String>,
    /// How it was delivered, when not plainly ("45065: already sent earlier").
    pub note: Option<String>,
    /// For dry-run: the exact request that would have been sent, secrets redacted.
    pub dry_run_request: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub retryable: bool,
    /// The platform's error code, when it gave one.
    pub code: Option<i64>,
    /// Human-readable, secrets redacted.
    pub message: String,
    /// The platform asked us to wait at least this long.
    pub min_wait: Option<Duration>,
    /// The platform definitively refused: the quota this delivery took is given back.
    pub refund_quota: bool,
}

impl SendError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            code: None,
            message: message.into(),
            min_wait: None,
            refund_quota: false,
        }
    }

    pub fn permanent(code: Option<i64>, message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            code,
            message: message.into(),
            min_wait: None,
            refund_quota: true,
        }
    }

    pub fn wait(mut self, d: Duration) -> Self {
        self.min_wait = Some(d);
        self
    }
}

pub trait Channel: Send + Sync {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Receipt, SendError>>;

    /// Deliveries go one at a time, oldest first. For a platform whose duplicate check only
    /// compares with the account's *latest* post (Weibo), this is what makes a resend after a
    /// crash safe: the one request whose outcome is unknown is always the latest one.
    fn serial(&self) -> bool {
        false
    }

    /// Whether a delivered request is only an accepted job that finishes later (WeChat mass
    /// send), to be followed with [`Channel::confirm`].
    fn confirms_jobs(&self) -> bool {
        false
    }

    /// The job's state now, e.g. `SEND_SUCCESS`.
    fn confirm<'a>(&'a self, _platform_ref: &'a str) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async { Err(SendError::permanent(None, "this channel has no jobs to confirm")) })
    }
}

/// Builds the client for one configured channel. `config` and `clock` are for the website
/// channel, which reads the store and dates its index.
pub fn build(
    name: &str,
    cfg: &ChannelConfig,
    http: reqwest::Client,
    config: &Config,
    clock: SharedClock,
) -> Result<Arc<dyn Channel>, String> {
    Ok(match &cfg.kind {
        ChannelKindConfig::Wechat(w) => Arc::new(wechat::Wechat::new(
            name,
            api_base(cfg, "https://api.weixin.qq.com"),
            w,
            http,
        )?),
        ChannelKindConfig::Weibo(w) => Arc::new(weibo::Weibo::new(
            name,
            api_base(cfg, "https://api.weibo.com"),
            w,
            http,
        )?),
        ChannelKindConfig::Wecom(w) => Arc::new(wecom::Wecom::new(
            name,
            api_base(cfg, "https://qyapi.weixin.qq.com"),
            w,
            http,
        )?),
        ChannelKindConfig::Webhook(w) => Arc::new(webhook::Webhook::new(name, w, http)?),
        ChannelKindConfig::Website(w) => Arc::new(website::Website::new(name, w, config, clock)?),
    })
}

/// The configured API base URL, or the platform's, without a trailing slash.
pub fn api_base(cfg: &ChannelConfig, default: &str) -> String {
    cfg.api_base
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

/// POSTs JSON to a Tencent-style API that reports errors as `errcode` in an HTTP 200 body
/// (WeChat, WeCom). Non-2xx (a proxy, an outage) and non-JSON answers are retryable; the
/// errcode (0 when absent) and the body are the caller's to classify.
pub async fn post_errcode_json(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    platform: &str,
) -> Result<(i64, serde_json::Value), SendError> {
    let resp = http.post(url).json(body).send().await.map_err(transport_error)?;
    let status = resp.status();
    if !status.is_success() {
        return Err(SendError::retry(format!("HTTP {status} from {platform}")));
    }
    let v: serde_json::Value = resp
        .json()
        .await
        .map_err(|_| SendError::retry(format!("{platform} answered without JSON (a proxy page?)")))?;
    let code = v
        .get("errcode")
        .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()))
        .unwrap_or(0);
    Ok((code, v))
}

/// A transport failure, with any secret in the URL removed.
pub fn transport_error(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "transport error".to_string()
    };
    let detail = crate::secret::redact_params(&e.without_url().to_string());
    SendError::retry(format!("{what}: {detail}"))
}
