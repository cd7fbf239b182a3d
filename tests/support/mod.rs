#![allow(dead_code)]
//! In-process fakes of the platforms alertd talks to, for integration tests.
//!
//! Each fake is a real HTTP server (axum on 127.0.0.1:0) that behaves like the platform as
//! described in `docs/platforms.md`: same paths, same error transport (WeChat/WeCom:
//! HTTP 200 + `errcode`; Weibo: non-2xx + `error_code`), same quotas, driven by an injectable
//! clock so tests can cross quota days without sleeping.
//!
//! Beside them: the one daemon harness (`harness`: in-process `Env`, process `Daemon`), the
//! one config builder (`config`, std-only so bench/ can include it), the fault-suite helpers
//! (`faults_util`) and private Mosquitto brokers (`mosquitto`).
//!
//! Include from an integration test with `mod support;`.

pub mod common;
pub mod config;
pub mod fake_wechat;
pub mod fake_wecom;
pub mod fake_weibo;
pub mod faults_util;
pub mod harness;
pub mod mosquitto;
mod wechat_tokens;

/// The clock a fake uses for every time-based rule (token expiry, quota day, rate windows).
pub type NowFn = std::sync::Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// A `NowFn` backed by the system clock.
pub fn system_now() -> NowFn {
    std::sync::Arc::new(jiff::Timestamp::now)
}
