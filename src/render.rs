//! `alertd render` (and, message by message, `alertd replay`): runs feed messages through the
//! real pipeline — decode, assess, compose, gate — against a scratch in-memory store, with every
//! channel in dry-run and the clock at each message's own time. Nothing is sent and the real
//! store is not touched.

use crate::clock::{Clock, ManualClock, SharedClock};
use crate::compose::Composer;
use crate::config::Config;
use crate::feed::FeedMessage;
use crate::pipeline::{Outcome, Pipeline};
use crate::store::{self, outbox};
use std::fmt::Write;
use std::sync::Arc;

pub struct Renderer {
    pipeline: Pipeline,
    clock: ManualClock,
}

pub struct Rendered {
    pub outcome: Outcome,
    pub deliveries: Vec<outbox::Delivery>,
}

impl Renderer {
    pub fn new(cfg: &Config) -> Result<Self, crate::daemon::DaemonError> {
        let mut cfg = cfg.clone();
        for ch in cfg.channels.values_mut() {
            ch.dry_run = true;
        }
        // Render and replay look at what a message would do, not at who signed it.
        for f in cfg.feeds.iter_mut() {
            f.require_signature = false;
        }
        let composer = Composer::load(cfg.compose.alerts_dir.as_deref())?;
        let conn = rusqlite::Connection::open_in_memory().map_err(store::StoreError::from)?;
        store::init(&conn)?;
        let clock = ManualClock::new(jiff::Timestamp::now());
        let shared: SharedClock = Arc::new(clock.clone());
        Ok(Self {
            pipeline: Pipeline::new(conn, Arc::new(cfg), composer, shared, Default::default())?,
            clock,
        })
    }

    /// Processes one message with the clock at its `sent` time (or now, if it does not decode).
    pub fn render(&mut self, topic: &str, payload: &[u8]) -> Result<Rendered, store::StoreError> {
        let at = crate::feed::decode(payload, usize::MAX)
            .map(|e| e.sent)
            .unwrap_or_else(|_| jiff::Timestamp::now());
        if at > self.clock.now() || self.clock.now() - jiff::SignedDuration::from_hours(48) > at {
            self.clock.set(at);
        } else {
            self.clock.set(self.clock.now().max(at));
        }
        let msg = FeedMessage {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            received_at: at,
        };
        let outcome = self
            .pipeline
            .process_batch(std::slice::from_ref(&msg))?
            .pop()
            .ok_or_else(|| store::StoreError::Corrupt("no outcome".into()))?;
        let deliveries = match &outcome {
            Outcome::Accepted {
                alert_id: Some(id), ..
            } => outbox::for_alert(self.pipeline.conn(), *id)?,
            _ => Vec::new(),
        };
        Ok(Rendered { outcome, deliveries })
    }
}

impl Rendered {
    /// The human report of `alertd render`.
    pub fn report(&self) -> String {
        let mut s = String::new();
        match &self.outcome {
            Outcome::Duplicate { .. } => s.push_str("duplicate of an earlier message\n"),
            Outcome::Rejected { reason, .. } => {
                let _ = writeln!(s, "REJECTED: {reason}");
            }
            Outcome::Accepted {
                event_key,
                class,
                action,
                reason,
                ..
            } => {
                let _ = writeln!(
                    s,
                    "event:  {event_key}\nclass:  {class}\naction: {action}\nreason: {reason}"
                );
            }
        }
        for d in &self.deliveries {
            let verdict = match d.status.as_str() {
                "pending" => "would send",
                other => other,
            };
            let _ = writeln!(s, "\n== {} — {verdict}: {}", d.channel, d.decision);
            if !d.text.is_empty() {
                let _ = writeln!(s, "{}\n({} characters)", d.text, d.text.chars().count());
            }
        }
        s
    }

    /// One line for `alertd replay`.
    pub fn line(&self) -> String {
        let channels: Vec<String> = self
            .deliveries
            .iter()
            .map(|d| {
                let v = match d.status.as_str() {
                    "pending" => "send",
                    other => other,
                };
                format!("{}={v}", d.channel)
            })
            .collect();
        match &self.outcome {
            Outcome::Duplicate { .. } => "duplicate".into(),
            Outcome::Rejected { reason, .. } => format!("rejected: {reason}"),
            Outcome::Accepted {
                event_key,
                class,
                action,
                reason,
                ..
            } => {
                let ch = if channels.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", channels.join(" "))
                };
                format!("{event_key} {class} {action}{ch} — {reason}")
            }
        }
    }
}
