//! Alerts and their per-channel delivery intents (the outbox).
//!
//! An alert and all its intents are inserted in the pipeline's transaction before any platform
//! request is made; the deliverer then only moves intents forward (pending → delivered / failed /
//! expired), so a crash at any point leaves either nothing or a complete, resumable record.

use super::kinds::{fallback_from_sql, fallback_to_sql};
use super::{ms, Result, StoreError};
use crate::model::{stored, Event};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub struct NewAlert<'a> {
    pub event_key: &'a str,
    pub journal_id: i64,
    pub msg_id: &'a str,
    pub action: &'a str,
    pub class: &'a str,
    pub reason: &'a str,
    pub live: bool,
    pub created: jiff::Timestamp,
    pub deadline: jiff::Timestamp,
    /// When the event happened, for the origin → platform latency.
    pub origin: Option<jiff::Timestamp>,
    /// The flood-guard bucket whose overrides and Weibo posts this alert spends.
    pub bucket: &'a str,
    /// The event as assessed and composed (None: a manual push or a digest, which have none).
    pub event: Option<&'a Event>,
}

pub fn insert_alert(c: &Connection, a: &NewAlert) -> Result<i64> {
    c.prepare_cached("INSERT INTO alerts (event_key, journal_id, msg_id, action, class, reason, live, created_ms, deadline_ms, origin_ms, bucket, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")?.execute(params![
            a.event_key,
            a.journal_id,
            a.msg_id,
            a.action,
            a.class,
            a.reason,
            a.live,
            ms(a.created),
            ms(a.deadline),
            a.origin.map(ms),
            a.bucket,
            a.event.map(stored::encode),
        ],)?;
    Ok(c.last_insert_rowid())
}

pub use super::kinds::{FallbackStep, Op, Status};

pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub alert_id: i64,
    pub channel: &'a str,
    pub status: Status,
    pub decision: &'a str,
    pub text: &'a str,
    pub dry_run: bool,
    pub override_: bool,
    pub ledger_day: Option<&'a str>,
    pub deadline: jiff::Timestamp,
    pub now: jiff::Timestamp,
    pub op: Op,
    /// Emergency fallbacks still to try if this delivery is refused for quota or permission.
    pub fallback: &'a [FallbackStep],
    pub digest_day: Option<&'a str>,
}

pub fn insert_delivery(c: &Connection, d: &NewDelivery) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO deliveries (id, alert_id, channel, status, decision, text, dry_run, override,
                                 ledger_day, deadline_ms, next_attempt_ms, created_ms, updated_ms,
                                 op, fallback, digest_day)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        d.id,
        d.alert_id,
        d.channel,
        d.status,
        d.decision,
        d.text,
        d.dry_run,
        d.override_,
        d.ledger_day,
        ms(d.deadline),
        ms(d.now),
        d.op,
        fallback_to_sql(d.fallback),
        d.digest_day
    ])?;
    Ok(())
}

/// A delivery intent as the deliverer needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    pub id: String,
    pub alert_id: i64,
    pub channel: String,
    pub status: Status,
    pub decision: String,
    pub text: String,
    pub dry_run: bool,
    pub override_: bool,
    pub ledger_day: Option<String>,
    pub deadline_ms: i64,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub platform_ref: Option<String>,
    pub last_error: Option<String>,
    pub request: Option<String>,
    pub op: Op,
    pub fallback: Vec<FallbackStep>,
    pub digest_day: Option<String>,
    pub job_status: Option<String>,
    /// The alert's event time (from `alerts.origin_ms`).
    pub origin_ms: Option<i64>,
    /// The alert's class and flood-guard bucket, for a paced channel's order and budget.
    pub class: String,
    pub bucket: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

const COLS: &str = "id, alert_id, channel, status, decision, text, dry_run, override, ledger_day,
                    deadline_ms, attempts, next_attempt_ms, platform_ref, last_error, request, created_ms, updated_ms, op, fallback, digest_day, job_status,
                    (SELECT origin_ms FROM alerts WHERE alerts.id = deliveries.alert_id),
                    COALESCE((SELECT class FROM alerts WHERE alerts.id = deliveries.alert_id), ''),
                    COALESCE((SELECT bucket FROM alerts WHERE alerts.id = deliveries.alert_id), 'unsigned')";

fn row(r: &Row) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        channel: r.get(2)?,
        status: r.get(3)?,
        decision: r.get(4)?,
        text: r.get(5)?,
        dry_run: r.get(6)?,
        override_: r.get(7)?,
        ledger_day: r.get(8)?,
        deadline_ms: r.get(9)?,
        attempts: r.get(10)?,
        next_attempt_ms: r.get(11)?,
        platform_ref: r.get(12)?,
        last_error: r.get(13)?,
        request: r.get(14)?,
        created_ms: r.get(15)?,
        updated_ms: r.get(16)?,
        op: r.get(17)?,
        fallback: fallback_from_sql(r.get::<_, Option<String>>(18)?.as_deref()).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(18, rusqlite::types::Type::Text, Box::new(e))
        })?,
        digest_day: r.get(19)?,
        job_status: r.get(20)?,
        origin_ms: r.get(21)?,
        class: r.get(22)?,
        bucket: r.get(23)?,
    })
}

pub fn get(c: &Connection, id: &str) -> Result<Option<Delivery>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLS} FROM deliveries WHERE id = ?1"))?
            .query_row([id], row)
            .optional()?,
    )
}

/// Every intent not yet finished, oldest first (for resume on start).
pub fn pending(c: &Connection) -> Result<Vec<Delivery>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM deliveries WHERE status = ?1 ORDER BY created_ms, rowid"
    ))?;
    let rows = st.query_map([Status::Pending], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Real posts `channel` made after `since`, oldest first, with the bucket each spent: a paced
/// channel's budget is counted from these rows, so a restart does not reset it.
pub fn posted_since(c: &Connection, channel: &str, since: jiff::Timestamp) -> Result<Vec<(i64, String)>> {
    let mut st = c.prepare_cached(
        "SELECT d.updated_ms, a.bucket FROM deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.channel = ?1 AND d.status = ?3 AND d.dry_run = 0 AND d.updated_ms > ?2
         ORDER BY d.updated_ms",
    )?;
    let rows = st.query_map(params![channel, ms(since), Status::Delivered], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

pub fn for_alert(c: &Connection, alert_id: i64) -> Result<Vec<Delivery>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM deliveries WHERE alert_id = ?1 ORDER BY channel"
    ))?;
    let rows = st.query_map([alert_id], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

pub fn by_status(c: &Connection, status: Status, limit: usize) -> Result<Vec<Delivery>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM deliveries WHERE status = ?1 ORDER BY updated_ms DESC LIMIT ?2"
    ))?;
    let rows = st.query_map(params![status, limit as i64], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Records an attempt that will be retried.
pub fn retry_later(
    c: &Connection,
    id: &str,
    error: &str,
    next: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<()> {
    c.prepare_cached("UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3, updated_ms = ?4
         WHERE id = ?1 AND status = ?5")?.execute(params![id, error, ms(next), ms(now), Status::Pending],)?;
    Ok(())
}

/// Says why a pending intent waits (a paced channel's budget), for `status`.
pub fn note_waiting(c: &Connection, id: &str, why: &str, now: jiff::Timestamp) -> Result<()> {
    c.prepare_cached("UPDATE deliveries SET last_error = ?2, updated_ms = ?3 WHERE id = ?1 AND status = ?4")?
        .execute(params![id, why, ms(now), Status::Pending])?;
    Ok(())
}

/// Moves a pending intent to a final state. Returns false if it was no longer pending.
pub fn finish(
    c: &Connection,
    id: &str,
    status: Status,
    platform_ref: Option<&str>,
    error: Option<&str>,
    request: Option<&str>,
    now: jiff::Timestamp,
) -> Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE deliveries SET status = ?2, platform_ref = COALESCE(?3, platform_ref),
                last_error = COALESCE(?4, last_error), request = COALESCE(?5, request),
                attempts = attempts + 1, updated_ms = ?6
         WHERE id = ?1 AND status = ?7",
        )?
        .execute(params![
            id,
            status,
            platform_ref,
            error,
            request,
            ms(now),
            Status::Pending
        ])?;
    Ok(n == 1)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub event_key: String,
    pub msg_id: String,
    pub action: String,
    pub class: String,
    pub reason: String,
    pub live: bool,
    pub created_ms: i64,
    pub deadline_ms: i64,
}

pub fn recent_alerts(c: &Connection, limit: usize) -> Result<Vec<AlertRow>> {
    let mut st = c.prepare_cached(
        "SELECT id, event_key, msg_id, action, class, reason, live, created_ms, deadline_ms
         FROM alerts ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit as i64], |r| {
        Ok(AlertRow {
            id: r.get(0)?,
            event_key: r.get(1)?,
            msg_id: r.get(2)?,
            action: r.get(3)?,
            class: r.get(4)?,
            reason: r.get(5)?,
            live: r.get(6)?,
            created_ms: r.get(7)?,
            deadline_ms: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Intents waiting for `channel`'s digest of `day`, oldest first.
pub fn waiting_for_digest(c: &Connection, channel: &str, day: &str) -> Result<Vec<Delivery>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM deliveries WHERE status = ?3 AND channel = ?1 AND digest_day = ?2
         ORDER BY created_ms, rowid"
    ))?;
    let rows = st.query_map(params![channel, day, Status::Digest], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Days before `day` that still have intents waiting for a digest on `channel`.
pub fn stale_digest_days(c: &Connection, channel: &str, day: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT DISTINCT digest_day FROM deliveries WHERE status = ?3 AND channel = ?1 AND digest_day < ?2",
    )?;
    let rows = st.query_map(params![channel, day, Status::Digest], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Moves digest-waiting intents to a final state with a reason.
pub fn settle_digest(
    c: &Connection,
    ids: &[String],
    status: Status,
    reason: &str,
    now: jiff::Timestamp,
) -> Result<()> {
    for id in ids {
        c.prepare_cached(
            "UPDATE deliveries SET status = ?2, decision = ?3, updated_ms = ?4 WHERE id = ?1 AND status = ?5",
        )?
        .execute(params![id, status, reason, ms(now), Status::Digest])?;
    }
    Ok(())
}

/// A mass send WeChat accepted but whose job then ended `SEND_FAIL`: the delivery becomes a
/// failure after all (it was `delivered` only as far as the first answer knew).
pub fn job_failed(c: &Connection, id: &str, why: &str, now: jiff::Timestamp) -> Result<()> {
    c.prepare_cached(
        "UPDATE deliveries SET status = ?4, last_error = ?2, updated_ms = ?3
         WHERE id = ?1 AND status = ?5",
    )?
    .execute(params![id, why, ms(now), Status::Failed, Status::Delivered])?;
    Ok(())
}

pub fn set_job_status(c: &Connection, id: &str, job_status: &str, now: jiff::Timestamp) -> Result<()> {
    c.prepare_cached("UPDATE deliveries SET job_status = ?2, updated_ms = ?3 WHERE id = ?1")?
        .execute(params![id, job_status, ms(now)])?;
    Ok(())
}

/// The event alert `alert_id` published, as it was stored with it. `Ok(None)`: no such alert,
/// or one without an event (a manual push, a digest, or a row not yet backfilled).
pub fn alert_event(c: &Connection, alert_id: i64) -> Result<Option<Event>> {
    let json: Option<Option<String>> = c
        .prepare_cached("SELECT event FROM alerts WHERE id = ?1")?
        .query_row([alert_id], |r| r.get(0))
        .optional()?;
    json.flatten().map(|j| read_event(alert_id, &j)).transpose()
}

pub(super) fn read_event(alert_id: i64, json: &str) -> Result<Event> {
    stored::decode(json).map_err(|e| StoreError::Corrupt(format!("alerts.event of alert {alert_id}: {e}")))
}

/// An alert written before events were stored with alerts (store schema < 6), with what the
/// feed message said: ingest decodes it once more to fill the row in (`pipeline::backfill`).
pub struct Unfilled {
    pub alert_id: i64,
    pub msg_id: String,
    pub topic: String,
    pub payload: Vec<u8>,
}

pub fn alerts_without_event(c: &Connection) -> Result<Vec<Unfilled>> {
    let mut st = c.prepare(
        "SELECT a.id, a.msg_id, j.topic, j.payload FROM alerts a JOIN journal j ON j.id = a.journal_id
         WHERE a.event IS NULL AND length(j.payload) > 0 ORDER BY a.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Unfilled {
            alert_id: r.get(0)?,
            msg_id: r.get(1)?,
            topic: r.get(2)?,
            payload: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

pub fn set_alert_event(c: &Connection, alert_id: i64, event: &Event) -> Result<()> {
    c.prepare_cached("UPDATE alerts SET event = ?2 WHERE id = ?1 AND event IS NULL")?
        .execute(params![alert_id, stored::encode(event)])?;
    Ok(())
}

/// A delivery to make: its id and its channel, and the row as committed when whoever created
/// it has it at hand (the pipeline reads it back in its transaction), so the first attempt does
/// not wait for a store read. Without it the deliverer loads the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub channel: String,
    pub row: Option<std::sync::Arc<Delivery>>,
}

impl Job {
    pub fn new(id: String, channel: String) -> Self {
        Job {
            id,
            channel,
            row: None,
        }
    }
}
