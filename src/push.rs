//! `alertd push`: queue a manual alert for the running daemon and wait for its answer.
//!
//! The command never sends anything itself — a second process talking to the platforms in
//! parallel with the daemon could double a push or break the quota. It writes a request into
//! the store; the daemon's pipeline thread takes it, gates it, audits it and delivers it.

use crate::clock::beijing;
use crate::config::Config;
use crate::store::{self, from_ms, manual};
use std::time::Duration;
use thiserror::Error;

pub struct Request {
    pub text: String,
    pub emergency: bool,
    pub reason: String,
    pub by: String,
    pub channels: Vec<String>,
    pub force: bool,
}

#[derive(Debug, Error)]
pub enum PushError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Invalid(String),
}

/// Exit codes: 0 accepted, 1 refused, 2 not taken in time (still queued).
pub fn run(cfg: &Config, req: &Request, wait: Duration) -> Result<i32, PushError> {
    let text = req.text.trim();
    if text.is_empty() {
        return Err(PushError::Invalid("the text is empty".into()));
    }
    if req.reason.trim().is_empty() {
        return Err(PushError::Invalid(
            "--reason is required for the audit trail".into(),
        ));
    }
    for c in &req.channels {
        if !cfg.channels.contains_key(c) {
            return Err(PushError::Invalid(format!(
                "--channel {c:?} is not a configured channel"
            )));
        }
    }
    if !cfg.store.path.exists() {
        return Err(PushError::Invalid(format!(
            "no store at {} (is alertd running?)",
            cfg.store.path.display()
        )));
    }
    let conn = store::open(&cfg.store.path)?;
    let now = jiff::Timestamp::now();
    let day = now.to_zoned(beijing()).date().to_string();
    if !req.force {
        if let Some((id, at)) = manual::same_text_today(&conn, text, &day, -1)? {
            let at = from_ms(at).to_zoned(beijing()).strftime("%H:%M");
            println!("refused: the same text was already pushed today (manual #{id} at {at}); use --force to send it again");
            return Ok(1);
        }
    }
    let channels = (!req.channels.is_empty()).then(|| req.channels.join(","));
    let id = manual::insert(
        &conn,
        &manual::NewManual {
            at: now,
            text,
            day: &day,
            emergency: req.emergency,
            channels: channels.as_deref(),
            actor: req.by.trim(),
            reason: req.reason.trim(),
            force: req.force,
        },
    )?;
    println!("queued as manual #{id}; waiting for the daemon…");
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Some(m) = manual::get(&conn, id)? {
            match m.status.as_str() {
                "accepted" => {
                    println!("accepted as alert #{}:", m.alert_id.unwrap_or_default());
                    for part in m.result.unwrap_or_default().split("; ") {
                        println!("  {part}");
                    }
                    return Ok(0);
                }
                "refused" => {
                    println!("{}", m.result.unwrap_or_default());
                    return Ok(1);
                }
                _ => {}
            }
        }
        if std::time::Instant::now() > deadline {
            println!("the daemon has not taken it yet (is alertd running?); it stays queued for 60 minutes");
            return Ok(2);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
