//! The pipeline: a batch of feed messages runs through decode → assess → compose → gate inside
//! one store transaction, and only after that commit are the messages acknowledged.
//!
//! One transaction per batch gives the durability contract its shape: a message's journal
//! entry, its decision, the alert, every delivery intent and the quota it uses are on disk
//! together or not at all (group commit: messages that arrive together share one fsync). A
//! message whose outcome is committed is never processed again (dedup by content hash and
//! msg_id), so the broker's redelivery after a crash is harmless.

mod backfill;
pub mod digest;
pub mod facts;
pub mod manual;
pub mod record;
pub mod reject_log;

use crate::assess::{self, Action, Assessment};
use crate::clock::SharedClock;
use crate::compose::{context, Composer};
use crate::config::{ChannelConfig, ChannelKindConfig, Config};
use crate::feed::{self, Event, FeedMessage, Kind, MsgType};
use crate::gate;
use crate::secret::Secret;
use crate::store::outbox::Job;
use crate::store::{self, events, journal, outbox, StoreError};
use crate::text::shown;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
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
        /// One per event in the message (a USGS FeatureCollection carries many).
        events: Vec<EventOutcome>,
        /// Intents to hand to the deliverer (status pending).
        deliveries: Vec<Job>,
    },
}

/// The decision about one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventOutcome {
    pub event_key: String,
    pub class: String,
    pub action: &'static str,
    pub reason: String,
    pub alert_id: Option<i64>,
}

/// The pure stages plus what they need; separate from the connection so a transaction can be
/// open while they run.
pub struct Stages {
    pub cfg: Arc<Config>,
    /// Feed signing keys by id.
    pub keys: HashMap<String, Secret>,
    pub composer: Composer,
    pub clock: SharedClock,
    /// False for `render`, `replay` and `check`, which look at what a message would do, not at
    /// who may send it: no signature is required, a signature whose key is unknown or that
    /// does not verify leaves the message unsigned instead of refusing it.
    pub enforce_signatures: bool,
    /// Which rejections get a WARN line of their own.
    pub reject_log: reject_log::RejectLog,
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
        keys: HashMap<String, Secret>,
    ) -> Result<Self, StoreError> {
        let mut p = Self {
            conn,
            stages: Stages {
                cfg,
                keys,
                composer,
                clock,
                enforce_signatures: true,
                reject_log: reject_log::RejectLog::default(),
            },
        };
        backfill::run(&p.stages, &mut p.conn)?;
        Ok(p)
    }

    /// For `render`, `replay` and `check`: see [`Stages::enforce_signatures`].
    pub fn inspecting(mut self) -> Self {
        self.stages.enforce_signatures = false;
        self
    }

    /// Processes and commits a batch. On error nothing of the batch is committed; the caller
    /// must not ack and should retry the same batch.
    pub fn process_batch(&mut self, msgs: &[FeedMessage]) -> Result<Vec<Outcome>, StoreError> {
        self.process_batch_with(msgs, None)
    }

    /// As [`Pipeline::process_batch`], and the deliverer's queued writes run first in the same
    /// transaction: under load one fsync then carries both (the pipeline thread drains the
    /// queue, `store::writer`). The writers are answered once the commit is known.
    pub fn process_batch_with(
        &mut self,
        msgs: &[FeedMessage],
        writes: Option<&mut store::writer::Queue>,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut ran = writes.map(|q| q.run_in(&mut tx));
        let mut out = Vec::with_capacity(msgs.len());
        let mut result = match ran.as_mut().and_then(|r| r.lost()) {
            Some(e) => Err(e),
            None => Ok(()),
        };
        for m in msgs {
            if result.is_err() {
                break;
            }
            match self.stages.process_one(&tx, m) {
                Ok(o) => out.push(o),
                Err(e) => result = Err(e),
            }
        }
        let result = result.and_then(|()| tx.commit().map_err(StoreError::from));
        if let Some(ran) = ran {
            ran.settle(result.as_ref().err());
        }
        // Rolled back, the batch's overrides are gone with it: the flood guard counts from the
        // store, so there is nothing to rebuild.
        result.map(|()| out)
    }

    /// Periodic work on the pipeline thread: queued manual pushes, then due digests.
    pub fn tick(&mut self) -> Result<Vec<Job>, StoreError> {
        let now = self.stages.clock.now();
        for s in self.stages.reject_log.flush(now) {
            log_suppressed(&s);
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut jobs = manual::run_pending(&mut self.stages, &tx, now)?;
        jobs.extend(digest::run_due(&mut self.stages, &tx, now)?);
        for (name, ch, w) in self
            .stages
            .cfg
            .channels
            .iter()
            .filter_map(|(name, c)| Some((name, c, c.wechat()?)))
        {
            let state = record::channel_state(&tx, name, ch, now)?;
            let left = w.daily_limit.saturating_sub(state.used_today);
            metrics::gauge!("alertd_quota_left", "channel" => name.clone()).set(left as f64);
        }
        tx.commit()?;
        Ok(jobs)
    }

    /// Records the broker session (`alertd status` reads it from the store).
    pub fn record_session(&mut self, s: &store::session::MqttSession) -> Result<(), StoreError> {
        let now = self.stages.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        store::session::put(&tx, s, now)?;
        tx.commit()?;
        Ok(())
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for the deliverer's writes (`store::writer::Queue::commit`), which the
    /// pipeline thread runs between batches.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// The count of a topic's rejections of the past minute that had no WARN line of their own.
fn log_suppressed(s: &reject_log::Suppressed) {
    warn!(
        topic = %shown(&s.topic),
        suppressed = s.count,
        "more feed messages rejected in the last minute, not logged one by one (the first {} a \
         minute per topic are); each is journaled with its reason (alertd status)",
        reject_log::PER_MINUTE
    );
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
    /// Authenticates (the topic's `[[feeds]]` rule) and decodes one message into its events.
    /// The error is the reason, naming the field or the problem, and a short label for metrics.
    fn decode(&self, m: &FeedMessage, now: jiff::Timestamp) -> Result<Vec<Event>, (String, &'static str)> {
        let limit = self.cfg.mqtt.max_payload_bytes;
        let size = m.oversized.as_ref().map_or(m.payload.len(), |o| o.size);
        if size > limit {
            let e = feed::DecodeError::TooLarge { size, limit };
            return Err((e.to_string(), e.label()));
        }
        let rule = self
            .cfg
            .feeds
            .iter()
            .find(|r| feed::auth::topic_matches(&r.topic, &m.topic));
        let (require, allowed) = rule
            .map(|r| (r.require_signature, r.keys.as_slice()))
            .unwrap_or((false, &[]));
        let signer = if self.enforce_signatures {
            feed::auth::check(&m.payload, &m.properties, require, allowed, &self.keys)
                .map_err(|why| (format!("signature: {why}"), "signature"))?
        } else {
            feed::auth::check(&m.payload, &m.properties, false, &[], &self.keys)
                .ok()
                .flatten()
        };
        let inner = feed::auth::inner(&m.payload);
        let decoded = match rule.and_then(|r| r.format.as_deref()) {
            Some(format) => feed::decode_all_as(&inner, limit, Some(format)),
            None => feed::decode_all(&inner, limit),
        };
        let mut events = match decoded {
            Ok(events) if events.is_empty() => return Err(("the message holds no event".into(), "empty")),
            Ok(events) => events,
            Err(e) => return Err((e.to_string(), e.label())),
        };
        let skew = jiff::SignedDuration::from_secs(self.cfg.security.max_future_skew_secs as i64);
        for ev in &mut events {
            if self.enforce_signatures {
                bind_signature(&self.cfg, ev, signer.as_deref(), &m.topic)
                    .map_err(|why| (format!("signature: {why}"), "signature"))?;
            }
            feed::check_times(ev, now, skew).map_err(|e| (e.to_string(), e.label()))?;
            feed::impostor::check(ev).map_err(|e| (e.to_string(), e.label()))?;
            ev.signer = signer.clone();
        }
        Ok(events)
    }

    fn process_one(&mut self, tx: &Connection, m: &FeedMessage) -> Result<Outcome, StoreError> {
        let now = self.clock.now();
        // The MQTT task hashed an oversized payload whole before dropping it, so its
        // redelivery after a crash matches this entry like any other message's.
        let hash = match &m.oversized {
            Some(o) => o.sha256.clone(),
            None => journal::content_hash(&m.payload),
        };
        let size = m.oversized.as_ref().map_or(m.payload.len(), |o| o.size);
        let decoded = self.decode(m, now);
        // A single event is also recognised by (sender, msg_id) when a relay re-serialises it;
        // a collection (a feed snapshot) only by its exact bytes, its events by their state.
        let key: Option<(String, String)> = match &decoded {
            Ok(evs) if evs.len() == 1 => Some((evs[0].sender.id.clone(), evs[0].msg_id.clone())),
            _ => None,
        };
        let key = key.as_ref().map(|(s, m)| (s.as_str(), m.as_str()));
        if let Some(id) = journal::find_duplicate(tx, &hash, &m.topic, key)? {
            journal::note_duplicate(tx, id)?;
            metrics::counter!("alertd_messages_duplicate_total").increment(1);
            return Ok(Outcome::Duplicate { journal_id: id });
        }
        metrics::counter!("alertd_messages_received_total").increment(1);
        let events = match decoded {
            Ok(events) => events,
            Err((reason, label)) => {
                let id = journal::insert(
                    tx,
                    &journal::Entry {
                        received: m.received_at,
                        topic: &m.topic,
                        hash: &hash,
                        sender_id: None,
                        msg_id: None,
                        size,
                        // Whatever path it came by, an oversized body is not kept.
                        payload: if label == "too_large" { &[] } else { &m.payload },
                        accepted: false,
                        reason: &reason,
                        reject_label: Some(label),
                        event_key: None,
                        class: None,
                    },
                )?;
                let (log, ended) = self.reject_log.note(&m.topic, now);
                if let Some(s) = ended {
                    log_suppressed(&s);
                }
                if log {
                    warn!(journal_id = id, topic = %shown(&m.topic), reason = %shown(&reason), "feed message rejected");
                }
                metrics::counter!("alertd_messages_rejected_total", "reason" => label).increment(1);
                return Ok(Outcome::Rejected {
                    journal_id: id,
                    reason,
                });
            }
        };
        let journal_id = journal::insert(
            tx,
            &journal::Entry {
                received: m.received_at,
                topic: &m.topic,
                hash: &hash,
                sender_id: key.map(|k| k.0),
                msg_id: key.map(|k| k.1),
                size,
                payload: &m.payload,
                accepted: true,
                reason: "",
                reject_label: None,
                event_key: None,
                class: None,
            },
        )?;
        let mut outcomes = Vec::with_capacity(events.len());
        let mut deliveries = Vec::new();
        // The flood-guard bucket of unsigned messages: their feed rule's (gate::unsigned_bucket).
        let unsigned = gate::unsigned_bucket(
            self.cfg
                .feeds
                .iter()
                .find(|r| feed::auth::topic_matches(&r.topic, &m.topic))
                .map(|r| r.topic.as_str()),
        );
        for ev in &events {
            // The flood-guard bucket: the key that verified the signature, else the feed's.
            let bucket = ev.signer.as_deref().unwrap_or(&unsigned);
            let (o, jobs) = self.process_event(tx, ev, bucket, journal_id, now)?;
            outcomes.push(o);
            deliveries.extend(jobs);
        }
        let summary = match outcomes.as_slice() {
            [one] => one.reason.clone(),
            many => format!(
                "{} events: {} published",
                many.len(),
                many.iter().filter(|o| o.action != Action::None.as_str()).count()
            ),
        };
        let first = &outcomes[0];
        journal::set_outcome(tx, journal_id, &summary, &first.event_key, &first.class)?;
        Ok(Outcome::Accepted {
            journal_id,
            events: outcomes,
            deliveries,
        })
    }

    /// Assess one event (finding it by its ids, or as the same quake from another source),
    /// record its state, and publish if the assessment says so.
    fn process_event(
        &mut self,
        tx: &Connection,
        ev: &Event,
        bucket: &str,
        journal_id: i64,
        now: jiff::Timestamp,
    ) -> Result<(EventOutcome, Vec<Job>), StoreError> {
        let mut matched = None;
        // A new report under an id that already names another sender's event is an event of
        // its own sender, under ids of its own (assess::id_belongs); its later revisions find
        // it there first. An update or cancel under another's id stays with that event, where
        // authority refuses it.
        let own = assess::under_own_ids(ev);
        let mut found = events::find(tx, own.all_ids())?;
        let ev = if found.is_some() {
            &own
        } else {
            found = events::find(tx, ev.all_ids().chain([ev.msg_id.as_str()]))?;
            match &found {
                Some(p) if ev.msg_type == MsgType::Alert && !assess::id_belongs(&self.cfg, p, ev) => {
                    matched = Some(assess::foreign_id_note(p, ev));
                    found = None;
                    &own
                }
                _ => ev,
            }
        };
        let ids: Vec<&str> = ev.all_ids().chain(std::iter::once(ev.msg_id.as_str())).collect();
        let prior = match found {
            Some(p) => Some(p),
            None => match ev.quake() {
                Some(q) => {
                    let window = self.cfg.rules.match_window_secs as i64 * 1000;
                    let near = events::near(tx, store::ms(q.origin_time), window)?;
                    assess::same_quake(&self.cfg, ev, near).map(|(s, why)| {
                        matched = Some(match matched.take() {
                            Some(note) => format!("{note}; {why}"),
                            None => why,
                        });
                        s
                    })
                }
                None => None,
            },
        };
        // A cancel (or update) without facts of its own is assessed and composed as the stored
        // event it refers to: its text names what it lifts.
        let completed = facts::with_stored_facts(ev, prior.as_ref());
        let from_store = completed.as_ref().is_some_and(|c| c.has_facts());
        let ev = completed.as_ref().unwrap_or(ev);
        let mut a = assess::assess(&self.cfg, ev, prior, now);
        count_clock_skew(&self.cfg, ev, now);
        if let Some(why) = matched {
            a.reason = format!("{why}; {}", a.reason);
        }
        if from_store {
            a.reason = format!(
                "{} (no facts in the message: the stored event's are used)",
                a.reason
            );
        }
        metrics::counter!("alertd_events_total", "class" => a.class.as_str()).increment(1);
        info!(
            event = %shown(&a.event_key), msg_id = %shown(&ev.msg_id), source = %shown(&ev.sender.id),
            class = a.class.as_str(), action = a.action.as_str(), reason = %shown(&a.reason), "assessed"
        );
        let mut alert_id = None;
        let mut jobs = Vec::new();
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
                    deadline: deadline(&self.cfg, ev, now),
                    origin: Some(ev.quake().map(|q| q.origin_time).unwrap_or(ev.sent)),
                    bucket,
                    event: Some(ev),
                },
            )?;
            journal::set_alert(tx, journal_id, id)?;
            a.state.first_alert_id.get_or_insert(id);
            jobs = self.gate_and_compose(tx, ev, &a, bucket, id, now)?;
            alert_id = Some(id);
        }
        events::put(tx, &a.state, ids.iter().copied(), now)?;
        let outcome = EventOutcome {
            event_key: a.event_key.clone(),
            class: a.class.as_str().to_string(),
            action: a.action.as_str(),
            reason: a.reason.clone(),
            alert_id,
        };
        Ok((outcome, jobs))
    }

    fn gate_and_compose(
        &mut self,
        tx: &Connection,
        ev: &Event,
        a: &Assessment,
        bucket: &str,
        alert_id: i64,
        now: jiff::Timestamp,
    ) -> Result<Vec<Job>, StoreError> {
        let cfg = self.cfg.clone();
        let kind = template_kind(ev.kind());
        let deadline = deadline(&cfg, ev, now);
        let actor = format!("rule: {}", a.reason);
        let mut jobs = Vec::new();
        for (name, ch) in &cfg.channels {
            let state = record::channel_state(tx, name, ch, now)?;
            let mut guard = gate::HourCap::new(tx, bucket, cfg.override_.max_per_hour, now);
            let decision = gate::decide(&a.into(), &state, cfg.rules.info_to_weibo, &mut guard);
            guard.finish()?;
            let link = channel_link(&cfg, ch, alert_id);
            let link = link.as_deref();
            let ctx = context::build(&cfg, ev, a, link);
            let text = self
                .composer
                .compose(kind, ch.kind(), &ctx, cfg.compose.weibo_max_chars, link);
            // An emergency WeChat refuses for quota or permission falls back along this list.
            let fallback: Vec<outbox::FallbackStep> = ch
                .wechat()
                .filter(|_| a.class == crate::model::Class::Emergency)
                .map(|w| {
                    w.emergency_fallback
                        .iter()
                        .map(|f| outbox::FallbackStep::from_config(f))
                        .collect()
                })
                .unwrap_or_default();
            let intent = record::Intent {
                id: delivery_id(name, &a.event_key, &ev.msg_id),
                alert_id,
                channel: name,
                channel_dry_run: ch.dry_run,
                deadline,
                now,
                op: outbox::Op::Send,
                fallback: &fallback,
                actor: &actor,
                subject: &a.event_key,
            };
            jobs.extend(record::record(tx, &intent, &decision, text)?);
        }
        Ok(jobs)
    }
}

/// The `{kind}` part of a template's name.
pub fn template_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Earthquake => "quake",
        Kind::Weather => "weather",
    }
}

/// The link a channel's text carries for alert `alert_id`: with a website channel, WeChat and
/// Weibo link to the alert's own page (its host must be the Weibo app's safe domain); otherwise
/// Weibo carries its fixed `link`, and the rest none.
pub fn channel_link(cfg: &Config, ch: &ChannelConfig, alert_id: i64) -> Option<String> {
    let page = crate::compose::link::page_url(cfg, alert_id, ch.dry_run);
    match &ch.kind {
        ChannelKindConfig::Weibo(w) => page.or_else(|| Some(w.link.clone())),
        ChannelKindConfig::Wechat(_) => page,
        _ => None,
    }
}

/// Counts messages dated beyond the allowed clock skew (`alertd_feed_clock_skew_total`), by the
/// field: a provider's clock going wrong is something the office should see before it matters.
fn count_clock_skew(cfg: &Config, ev: &Event, now: jiff::Timestamp) {
    let skew = jiff::SignedDuration::from_secs(cfg.security.max_future_skew_secs as i64);
    let mut ahead = vec![("sent", ev.sent)];
    if let Some(q) = ev.quake() {
        ahead.push(("origin_time", q.origin_time));
    }
    for (field, t) in ahead {
        if t.duration_since(now) > skew {
            metrics::counter!("alertd_feed_clock_skew_total", "field" => field).increment(1);
        }
    }
}

/// A signature vouches for who delivered a message, not for the topic it came on: a key signs
/// only for its `feed_keys.NAME.senders`, and a deliverer that has a key is refused unsigned on
/// every topic (else an unsigned message on an unsigned topic could speak for a signed source).
fn bind_signature(cfg: &Config, ev: &Event, signer: Option<&str>, topic: &str) -> Result<(), String> {
    let who = ev.deliverer();
    match signer {
        Some(key) if cfg.key_senders(key).contains(&who) => Ok(()),
        Some(key) => Err(format!(
            "key {key:?} does not sign for sender {:?} (feed_keys.{key}.senders)",
            feed::json_util::short(who)
        )),
        None => match cfg.keys_for_sender(who).first() {
            Some(key) => Err(format!(
                "sender {:?} signs its messages (key {key:?}); an unsigned one on {:?} is refused",
                feed::json_util::short(who),
                feed::json_util::short(topic)
            )),
            None => Ok(()),
        },
    }
}

/// How long an alert is worth delivering: quakes for `quake_deadline_mins` after origin,
/// weather warnings until they expire.
pub fn deadline(cfg: &Config, ev: &Event, now: jiff::Timestamp) -> jiff::Timestamp {
    let mins = |m: u64| jiff::SignedDuration::from_mins(m as i64);
    let t = match (ev.quake(), ev.weather()) {
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

#[cfg(test)]
mod tests;
