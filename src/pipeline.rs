//! The pipeline: a batch of feed messages runs through decode → assess → compose → gate inside
//! one store transaction, and only after that commit are the messages acknowledged.
//!
//! One transaction per batch gives the durability contract its shape: a message's journal
//! entry, its decision, the alert, every delivery intent and the quota it uses are on disk
//! together or not at all (group commit: messages that arrive together share one fsync). A
//! message whose outcome is committed is never processed again (dedup by content hash and
//! msg_id), so the broker's redelivery after a crash is harmless.

use crate::assess::{self, Action, Assessment};
use crate::clock::SharedClock;
use crate::compose::{context, Composer};
use crate::config::{ChannelKind, Config};
use crate::deliver::Job;
use crate::feed::{self, Event, FeedMessage, Kind};
use crate::gate::{self, ChannelState, Decision, FloodGuard};
use crate::store::{self, audit, events, journal, ledger, outbox, StoreError};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tracing::{info, warn};

/// What became of one feed message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Duplicate {
        journal_id: i64,
    },
    Rejected {
        journal_id: i64,
        reason: String,
    },
    Accepted {
        journal_id: i64,
        event_key: String,
        class: String,
        action: &'static str,
        reason: String,
        alert_id: Option<i64>,
        /// Intents to hand to the deliverer (status pending).
        deliveries: Vec<Job>,
    },
}

/// The pure stages plus what they need; separate from the connection so a transaction can be
/// open while they run.
pub struct Stages {
    pub cfg: Arc<Config>,
    pub composer: Composer,
    pub guard: FloodGuard,
    pub clock: SharedClock,
}

pub struct Pipeline {
    conn: Connection,
    stages: Stages,
}

impl Pipeline {
    pub fn new(
        conn: Connection,
        cfg: Arc<Config>,
        composer: Composer,
        clock: SharedClock,
    ) -> Result<Self, StoreError> {
        let mut guard = FloodGuard::new(cfg.override_.max_per_hour, clock.clone());
        let hour_ago = clock.now() - jiff::SignedDuration::from_hours(1);
        for name in cfg.channels.keys() {
            guard.seed(name, audit::overrides_since(&conn, name, hour_ago)?);
        }
        Ok(Self {
            conn,
            stages: Stages {
                cfg,
                composer,
                guard,
                clock,
            },
        })
    }

    /// Processes and commits a batch. On error nothing of the batch is committed; the caller
    /// must not ack and should retry the same batch.
    pub fn process_batch(&mut self, msgs: &[FeedMessage]) -> Result<Vec<Outcome>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            out.push(self.stages.process_one(&tx, m)?);
        }
        tx.commit()?;
        Ok(out)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Deterministic delivery id (WeChat's clientmsgid, ≤ 64 bytes): the same message on the same
/// channel always gets the same id, even if the store were rebuilt, so the platform's own
/// idempotency catches a repeat.
pub fn delivery_id(channel: &str, event_key: &str, msg_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [channel, event_key, msg_id] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("ad-{channel}-{}", &hex::encode(h.finalize())[..24])
}

impl Stages {
    fn process_one(&mut self, tx: &Connection, m: &FeedMessage) -> Result<Outcome, StoreError> {
        let now = self.clock.now();
        let hash = journal::content_hash(&m.payload);
        let decoded = feed::decode(&m.payload, self.cfg.mqtt.max_payload_bytes);
        let key = decoded
            .as_ref()
            .ok()
            .map(|e| (e.sender.id.as_str(), e.msg_id.as_str()));
        if let Some(id) = journal::find_duplicate(tx, &hash, key)? {
            journal::note_duplicate(tx, id)?;
            metrics::counter!("alertd_messages_duplicate_total").increment(1);
            return Ok(Outcome::Duplicate { journal_id: id });
        }
        metrics::counter!("alertd_messages_received_total").increment(1);
        let ev = match decoded {
            Ok(ev) => ev,
            Err(e) => {
                let reason = e.to_string();
                let id = journal::insert(
                    tx,
                    &journal::Entry {
                        received: m.received_at,
                        topic: &m.topic,
                        hash: &hash,
                        sender_id: None,
                        msg_id: None,
                        payload: &m.payload,
                        accepted: false,
                        reason: &reason,
                        reject_label: Some(e.label()),
                        event_key: None,
                        class: None,
                    },
                )?;
                warn!(journal_id = id, topic = %m.topic, reason = %reason, "feed message rejected");
                metrics::counter!("alertd_messages_rejected_total", "reason" => e.label())
                    .increment(1);
                return Ok(Outcome::Rejected {
                    journal_id: id,
                    reason,
                });
            }
        };

        let prior = events::find(tx, ev.all_ids())?;
        let mut a = assess::assess(&self.cfg, &ev, prior, now);
        let journal_id = journal::insert(
            tx,
            &journal::Entry {
                received: m.received_at,
                topic: &m.topic,
                hash: &hash,
                sender_id: Some(&ev.sender.id),
                msg_id: Some(&ev.msg_id),
                payload: &m.payload,
                accepted: true,
                reason: &a.reason,
                reject_label: None,
                event_key: Some(&a.event_key),
                class: Some(a.class.as_str()),
            },
        )?;
        metrics::counter!("alertd_events_total", "class" => a.class.as_str()).increment(1);
        info!(
            event = %a.event_key, msg_id = %ev.msg_id, class = a.class.as_str(),
            action = a.action.as_str(), reason = %a.reason, "assessed"
        );

        let mut alert_id = None;
        let mut deliveries = Vec::new();
        if a.action != Action::None {
            let id = outbox::insert_alert(
                tx,
                &outbox::NewAlert {
                    event_key: &a.event_key,
                    journal_id,
                    msg_id: &ev.msg_id,
                    action: a.action.as_str(),
                    class: a.class.as_str(),
                    reason: &a.reason,
                    live: a.live,
                    created: now,
                    deadline: deadline(&self.cfg, &ev, now),
                },
            )?;
            journal::set_alert(tx, journal_id, id)?;
            a.state.first_alert_id.get_or_insert(id);
            deliveries = self.gate_and_compose(tx, &ev, &a, id, now)?;
            alert_id = Some(id);
        }
        events::put(tx, &a.state, ev.all_ids(), now)?;
        Ok(Outcome::Accepted {
            journal_id,
            event_key: a.event_key.clone(),
            class: a.class.as_str().to_string(),
            action: a.action.as_str(),
            reason: a.reason.clone(),
            alert_id,
            deliveries,
        })
    }

    fn gate_and_compose(
        &mut self,
        tx: &Connection,
        ev: &Event,
        a: &Assessment,
        alert_id: i64,
        now: jiff::Timestamp,
    ) -> Result<Vec<Job>, StoreError> {
        let cfg = self.cfg.clone();
        let kind = match ev.kind {
            Kind::Earthquake => "quake",
            Kind::Weather => "weather",
        };
        let deadline = deadline(&cfg, ev, now);
        let mut pending = Vec::new();
        for (name, ch) in &cfg.channels {
            let tz =
                jiff::tz::TimeZone::get(&ch.timezone).unwrap_or_else(|_| crate::clock::beijing());
            let day = now.to_zoned(tz).date().to_string();
            let state = ChannelState {
                name,
                cfg: ch,
                used_today: ledger::used(tx, name, &day)?,
                used_month: ledger::used_in_month(tx, name, &day)?,
                day,
            };
            let decision = gate::decide(a, &state, cfg.rules.info_to_weibo, &mut self.guard);
            let link = match ch.kind {
                ChannelKind::Weibo => ch.link.as_deref(),
                _ => None,
            };
            let ctx = context::build(&cfg, ev, a, link);
            let composed =
                self.composer
                    .compose(kind, ch.kind, &ctx, cfg.compose.weibo_max_chars, link);
            let id = delivery_id(name, &a.event_key, &ev.msg_id);
            let (status, reason, text, dry_run, override_, ledger_day) = match (&decision, composed)
            {
                (
                    Decision::Send {
                        override_,
                        ledger_day,
                        dry_run,
                        reason,
                    },
                    Ok(text),
                ) => (
                    outbox::Status::Pending,
                    reason.clone(),
                    text,
                    *dry_run,
                    *override_,
                    ledger_day.clone(),
                ),
                (Decision::Send { dry_run, .. }, Err(e)) => {
                    tracing::error!(event = %a.event_key, channel = %name, error = %e, "cannot compose");
                    (
                        outbox::Status::Failed,
                        format!("compose failed: {e}"),
                        String::new(),
                        *dry_run,
                        false,
                        None,
                    )
                }
                (Decision::Hold { reason }, text) => (
                    outbox::Status::Held,
                    reason.clone(),
                    text.unwrap_or_default(),
                    ch.dry_run,
                    false,
                    None,
                ),
                (Decision::Skip { reason }, text) => (
                    outbox::Status::Skipped,
                    reason.clone(),
                    text.unwrap_or_default(),
                    ch.dry_run,
                    false,
                    None,
                ),
            };
            outbox::insert_delivery(
                tx,
                &outbox::NewDelivery {
                    id: &id,
                    alert_id,
                    channel: name,
                    status,
                    decision: &reason,
                    text: &text,
                    dry_run,
                    override_,
                    ledger_day: ledger_day.as_deref(),
                    deadline,
                    now,
                },
            )?;
            if let Some(day) = &ledger_day {
                ledger::add(tx, name, day, 1)?;
            }
            let audit_kind = match (&decision, status) {
                (_, outbox::Status::Failed) => Some("compose_failed"),
                (
                    Decision::Send {
                        override_: true, ..
                    },
                    _,
                ) => Some("override"),
                (
                    Decision::Send {
                        ledger_day: Some(_),
                        ..
                    },
                    _,
                ) => Some("quota_used"),
                (Decision::Hold { .. }, _) => Some("held"),
                (Decision::Skip { reason }, _) if reason.contains("quota used") => {
                    Some("quota_refused")
                }
                _ => None,
            };
            if let Some(kind) = audit_kind {
                audit::append(
                    tx,
                    &audit::Record {
                        at: now,
                        kind,
                        channel: Some(name),
                        alert_id: Some(alert_id),
                        actor: &format!("rule: {}", a.reason),
                        reason: &reason,
                    },
                )?;
            }
            if kind_is_override(&decision) {
                metrics::counter!("alertd_overrides_total", "channel" => name.clone()).increment(1);
                warn!(event = %a.event_key, channel = %name, reason = %reason, "emergency override");
            }
            info!(event = %a.event_key, channel = %name, status = status.as_str(), reason = %reason, "gate");
            if status == outbox::Status::Pending {
                pending.push(Job {
                    id,
                    channel: name.clone(),
                });
            }
        }
        Ok(pending)
    }
}

fn kind_is_override(d: &Decision) -> bool {
    matches!(
        d,
        Decision::Send {
            override_: true,
            ..
        }
    )
}

/// How long an alert is worth delivering: quakes for `quake_deadline_mins` after origin,
/// weather warnings until they expire.
pub fn deadline(cfg: &Config, ev: &Event, now: jiff::Timestamp) -> jiff::Timestamp {
    let mins = |m: u64| jiff::SignedDuration::from_mins(m as i64);
    let t = match (&ev.quake, &ev.weather) {
        (Some(q), _) => q.origin_time + mins(cfg.deliver.quake_deadline_mins),
        (None, Some(w)) => w
            .expires
            .unwrap_or(ev.sent + mins(cfg.deliver.weather_deadline_mins)),
        _ => ev.sent + mins(cfg.deliver.weather_deadline_mins),
    };
    // A delivery always gets a few minutes, even for an event that arrives late.
    t.max(now + mins(5))
}

/// Opens the store for the pipeline (used by `run`, `render` and `replay`).
pub fn open(cfg: &Config) -> Result<Connection, StoreError> {
    store::open(&cfg.store.path)
}
