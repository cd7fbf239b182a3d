//! `alertd render` and `alertd replay`: run feed messages through the real pipeline — decode,
//! assess, compose, gate — against a scratch in-memory store, with every channel in dry-run and
//! the clock at each message's own time. Nothing is sent and the real store is not touched.
//! Replay keeps one scratch store across its messages, so revisions, cancellations and the
//! one-push-a-day ledger play out as they would have.

use crate::clock::{Clock, ManualClock, SharedClock};
use crate::compose::Composer;
use crate::config::Config;
use crate::feed::FeedMessage;
use crate::pipeline::{EventOutcome, Outcome, Pipeline};
use crate::store::{self, outbox};
use std::fmt::Write;
use std::sync::Arc;
// Ids and reasons quote the feed; the officer reads them on a terminal.
use crate::text::shown;

pub struct Renderer {
    pipeline: Pipeline,
    clock: ManualClock,
}

pub struct Rendered {
    pub outcome: Outcome,
    /// For each event of the message: its decision and the deliveries it created.
    pub events: Vec<(EventOutcome, Vec<outbox::Delivery>)>,
}

impl Renderer {
    pub fn new(cfg: &Config) -> Result<Self, crate::daemon::DaemonError> {
        let mut cfg = cfg.clone();
        for ch in cfg.channels.values_mut() {
            ch.dry_run = true;
        }
        // Render and replay look at what a message would do, not at who may send it: the
        // pipeline inspects (Pipeline::inspecting). A signed message still verifies with the
        // office's keys where they can be read, so its budget is the one it would spend.
        let keys = crate::daemon::feed_keys(&cfg).unwrap_or_default();
        let composer = Composer::load(cfg.compose.alerts_dir.as_deref())?;
        let conn = rusqlite::Connection::open_in_memory().map_err(store::StoreError::from)?;
        store::init(&conn)?;
        let clock = ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
        let shared: SharedClock = Arc::new(clock.clone());
        Ok(Self {
            pipeline: Pipeline::new(conn, Arc::new(cfg), composer, shared, keys)?.inspecting(),
            clock,
        })
    }

    /// Processes one message with the clock at the message's own time: its latest `sent` (for
    /// a feed snapshot, the newest event in it), never moving backwards.
    pub fn render(&mut self, topic: &str, payload: &[u8]) -> Result<Rendered, store::StoreError> {
        let at = crate::feed::newest_sent(payload).unwrap_or_else(|| self.clock.now());
        self.clock.set(self.clock.now().max(at));
        let msg = FeedMessage {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            received_at: self.clock.now(),
            properties: Vec::new(),
            oversized: None,
        };
        let outcome = self
            .pipeline
            .process_batch(std::slice::from_ref(&msg))?
            .pop()
            .ok_or_else(|| store::StoreError::Corrupt("no outcome".into()))?;
        let mut events = Vec::new();
        if let Outcome::Accepted { events: evs, .. } = &outcome {
            for e in evs {
                let deliveries = match e.alert_id {
                    Some(id) => outbox::for_alert(self.pipeline.conn(), id)?,
                    None => Vec::new(),
                };
                events.push((e.clone(), deliveries));
            }
        }
        Ok(Rendered { outcome, events })
    }
}

/// A pending delivery is what a live run would send.
fn verdict(status: outbox::Status) -> &'static str {
    match status {
        outbox::Status::Pending => "send",
        other => other.as_str(),
    }
}

impl Rendered {
    /// The human report of `alertd render`.
    pub fn report(&self) -> String {
        let mut s = String::new();
        match &self.outcome {
            Outcome::Duplicate { .. } => s.push_str("duplicate of an earlier message\n"),
            Outcome::Rejected { reason, .. } => {
                let _ = writeln!(s, "REJECTED: {}", shown(reason));
            }
            Outcome::Accepted { .. } => {}
        }
        for (e, deliveries) in &self.events {
            let _ = writeln!(
                s,
                "event:  {}\nclass:  {}\naction: {}\nreason: {}",
                shown(&e.event_key),
                e.class,
                e.action,
                shown(&e.reason)
            );
            for d in deliveries {
                let _ = writeln!(
                    s,
                    "\n== {} — {}: {}",
                    d.channel,
                    verdict(d.status),
                    shown(&d.decision)
                );
                if !d.text.is_empty() {
                    let _ = writeln!(s, "{}\n({} characters)", d.text, d.text.chars().count());
                }
            }
            s.push('\n');
        }
        s
    }

    /// One line per event for `alertd replay` (one line for a rejected or duplicate message).
    pub fn lines(&self) -> Vec<String> {
        match &self.outcome {
            Outcome::Duplicate { .. } => vec!["duplicate".into()],
            Outcome::Rejected { reason, .. } => vec![format!("rejected: {}", shown(reason))],
            Outcome::Accepted { .. } => self
                .events
                .iter()
                .map(|(e, deliveries)| {
                    let ch: Vec<String> = deliveries
                        .iter()
                        .map(|d| format!("{}={}", d.channel, verdict(d.status)))
                        .collect();
                    let ch = if ch.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", ch.join(" "))
                    };
                    format!(
                        "{} {} {}{ch} — {}",
                        shown(&e.event_key),
                        e.class,
                        e.action,
                        shown(&e.reason)
                    )
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped shape: CENC signs, and is refused unsigned on every topic — by the daemon.
    /// `render`, `replay` and `check` show what a message would do, signed or not.
    #[test]
    fn render_takes_unsigned_and_signed_messages_of_a_signing_sender() {
        let text = format!(
            "{}\n[[feeds]]\ntopic = \"feeds/seismic/#\"\nrequire_signature = true\nkeys = [\"cenc\"]\n\n[feed_keys.cenc]\nsecret = \"k-0123456789abcdef\"\nsenders = [\"cenc\"]\n",
            crate::config::QUICKSTART
        );
        let cfg = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
        let sample = include_str!("../alerts/samples/lushan-2013.json");
        let mut r = Renderer::new(&cfg).unwrap();
        let out = r.render("feeds/seismic/cenc", sample.as_bytes()).unwrap();
        assert!(
            matches!(out.outcome, Outcome::Accepted { .. }),
            "{}",
            out.report()
        );
        let signed = crate::feed::auth::sign(
            "cenc",
            "k-0123456789abcdef",
            &sample.replace("cenc-20130420080246", "cenc-20130420080247"),
        );
        let mut r = Renderer::new(&cfg).unwrap();
        let out = r.render("feeds/seismic/cenc", signed.as_bytes()).unwrap();
        assert!(
            matches!(out.outcome, Outcome::Accepted { .. }),
            "{}",
            out.report()
        );
        assert!(out.report().contains("== wechat — send"), "{}", out.report());
        // And `check` passes on that config.
        let (problems, _) = crate::check::check(&cfg);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn ids_in_the_report_and_replay_lines_are_shown_without_hidden_code_points() {
        let sample = include_str!("../alerts/samples/lushan-2013.json")
            .replace("cenc-20130420080246", "cenc-\u{202E}\u{E0041}20130420080246");
        let mut r = Renderer::new(&Config::quickstart()).unwrap();
        let out = r.render("feeds/seismic/cenc", sample.as_bytes()).unwrap();
        let text = format!("{}{}", out.report(), out.lines().join("\n"));
        assert!(text.contains("cenc-20130420080246"), "{text}");
        assert!(
            !text.contains('\u{202E}') && !text.contains('\u{E0041}'),
            "{text:?}"
        );
    }
}
