//! The journal: every feed message that arrived, with its outcome.
//!
//! Deduplication is by content hash and by (sender, msg_id) — never by the MQTT duplicate flag
//! or packet id, which say nothing across sessions.
//!
//! An accepted message is kept whole: it is what the alert was made from (the durability
//! contract). A rejected one keeps only its first [`REJECTED_BODY_MAX`] bytes beside its size
//! and the SHA-256 of all of it: enough to see what was sent and to recognise a redelivery, while
//! a flood of junk near the payload limit (1 MiB each) cannot fill the disk and the WAL.

use super::{ms, Result};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// The most of a rejected message's body the journal keeps.
pub const REJECTED_BODY_MAX: usize = 64 * 1024;

pub fn content_hash(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// A journal entry about to be written.
pub struct Entry<'a> {
    pub received: jiff::Timestamp,
    pub topic: &'a str,
    pub hash: &'a str,
    pub sender_id: Option<&'a str>,
    pub msg_id: Option<&'a str>,
    /// The size of the payload as it arrived; `payload` is what is kept (empty when over the
    /// limit, so a journal row never holds more than `mqtt.max_payload_bytes`). Of a rejected
    /// message [`insert`] keeps at most the first [`REJECTED_BODY_MAX`] bytes; `hash` is always
    /// that of the whole payload.
    pub size: usize,
    pub payload: &'a [u8],
    pub accepted: bool,
    pub reason: &'a str,
    pub reject_label: Option<&'a str>,
    pub event_key: Option<&'a str>,
    pub class: Option<&'a str>,
}

/// The id of an earlier entry this message repeats: an accepted one with the same content or the
/// same sender and msg_id, or one rejected on this same topic with the same content.
///
/// A message rejected on one topic is not a duplicate of the same bytes on another: a provider
/// that published to the wrong topic (or a stranger who copied its bytes there first) must not
/// silence the message where it belongs. On the same topic the same bytes are refused the same
/// way again, so that redelivery is a duplicate.
pub fn find_duplicate(
    c: &Connection,
    hash: &str,
    topic: &str,
    sender_msg: Option<(&str, &str)>,
) -> Result<Option<i64>> {
    if let Some(id) = c
        .prepare_cached(
            "SELECT id FROM journal WHERE content_hash = ?1 AND (status = 'accepted' OR topic = ?2)
             ORDER BY id LIMIT 1",
        )?
        .query_row([hash, topic], |r| r.get(0))
        .optional()?
    {
        return Ok(Some(id));
    }
    if let Some((sender, msg)) = sender_msg {
        return Ok(c
            .prepare_cached(
                "SELECT id FROM journal WHERE sender_id = ?1 AND msg_id = ?2 AND status = 'accepted'",
            )?
            .query_row([sender, msg], |r| r.get(0))
            .optional()?);
    }
    Ok(None)
}

pub fn note_duplicate(c: &Connection, id: i64) -> Result<()> {
    c.prepare_cached("UPDATE journal SET duplicates = duplicates + 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn insert(c: &Connection, e: &Entry) -> Result<i64> {
    let payload = if e.accepted {
        e.payload
    } else {
        &e.payload[..e.payload.len().min(REJECTED_BODY_MAX)]
    };
    c.prepare_cached(
        "INSERT INTO journal (received_ms, topic, content_hash, sender_id, msg_id, size, payload,
                              status, reason, reject_label, event_key, class)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        ms(e.received),
        e.topic,
        e.hash,
        e.sender_id,
        e.msg_id,
        e.size as i64,
        payload,
        if e.accepted { "accepted" } else { "rejected" },
        e.reason,
        e.reject_label,
        e.event_key,
        e.class,
    ])?;
    Ok(c.last_insert_rowid())
}

pub fn set_alert(c: &Connection, journal_id: i64, alert_id: i64) -> Result<()> {
    c.prepare_cached("UPDATE journal SET alert_id = ?2 WHERE id = ?1")?
        .execute(params![journal_id, alert_id])?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    pub id: i64,
    pub received_ms: i64,
    pub topic: String,
    pub reason: String,
    pub label: String,
}

pub fn rejected_since(c: &Connection, since_ms: i64, limit: usize) -> Result<Vec<Rejected>> {
    let mut st = c.prepare_cached(
        "SELECT id, received_ms, topic, reason, COALESCE(reject_label, '') FROM journal
         WHERE status = 'rejected' AND received_ms >= ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![since_ms, limit as i64], |r| {
        Ok(Rejected {
            id: r.get(0)?,
            received_ms: r.get(1)?,
            topic: r.get(2)?,
            reason: r.get(3)?,
            label: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// (accepted, rejected, duplicates seen) over the whole journal.
pub fn counts(c: &Connection) -> Result<(i64, i64, i64)> {
    Ok(c.prepare_cached(
        "SELECT COALESCE(SUM(status='accepted'),0), COALESCE(SUM(status='rejected'),0),
                COALESCE(SUM(duplicates),0) FROM journal",
    )?
    .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
}

/// The decision about an accepted message, recorded once its events are assessed.
pub fn set_outcome(c: &Connection, id: i64, reason: &str, event_key: &str, class: &str) -> Result<()> {
    c.prepare_cached("UPDATE journal SET reason = ?2, event_key = ?3, class = ?4 WHERE id = ?1")?
        .execute(params![id, reason, event_key, class])?;
    Ok(())
}

/// One journal entry as stored, for `alertd status` and checks: what arrived, its outcome, and
/// how many bytes of it the store keeps.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stored {
    pub id: i64,
    pub topic: String,
    pub content_hash: String,
    /// The size of the payload as it arrived.
    pub size: i64,
    /// The bytes of it kept in the store (0 for a payload over the limit: only its size and hash;
    /// at most [`REJECTED_BODY_MAX`] for any other rejected one).
    pub stored_bytes: i64,
    pub status: String,
    pub reason: String,
    pub label: Option<String>,
    pub duplicates: i64,
}

/// Every entry with `status` (`accepted` or `rejected`), oldest first.
pub fn by_status(c: &Connection, status: &str) -> Result<Vec<Stored>> {
    let mut st = c.prepare_cached(
        "SELECT id, topic, content_hash, size, length(payload), status, reason, reject_label, duplicates
         FROM journal WHERE status = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([status], |r| {
        Ok(Stored {
            id: r.get(0)?,
            topic: r.get(1)?,
            content_hash: r.get(2)?,
            size: r.get(3)?,
            stored_bytes: r.get(4)?,
            status: r.get(5)?,
            reason: r.get(6)?,
            label: r.get(7)?,
            duplicates: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
