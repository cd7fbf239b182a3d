//! The audit trail: overrides, quota decisions, refunds, manual pushes — append-only and
//! hash-chained (each row's hash covers the previous row's hash), so an edited or deleted row
//! breaks the chain and `verify` finds it.

pub use super::kinds::AuditKind;
use super::{ms, Result};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

pub struct Record<'a> {
    pub at: jiff::Timestamp,
    pub kind: AuditKind,
    pub channel: Option<&'a str>,
    pub alert_id: Option<i64>,
    pub actor: &'a str,
    pub reason: &'a str,
}

const GENESIS: &str = "alertd-audit-v1";

fn digest(
    prev: &str,
    at_ms: i64,
    kind: &str,
    channel: &str,
    alert: Option<i64>,
    actor: &str,
    reason: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &at_ms.to_string(),
        kind,
        channel,
        &alert.map(|a| a.to_string()).unwrap_or_default(),
        actor,
        reason,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub fn append(c: &Connection, r: &Record) -> Result<i64> {
    let prev: String = c
        .prepare_cached("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let at = ms(r.at);
    // The kind is hashed as its stored word, so chains written before it was typed verify.
    let hash = digest(
        &prev,
        at,
        r.kind.as_str(),
        r.channel.unwrap_or(""),
        r.alert_id,
        r.actor,
        r.reason,
    );
    c.prepare_cached(
        "INSERT INTO audit (at_ms, kind, channel, alert_id, actor, reason, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        at, r.kind, r.channel, r.alert_id, r.actor, r.reason, prev, hash
    ])?;
    Ok(c.last_insert_rowid())
}

/// Overrides on `channel` after `since` charged to `bucket` (the alert's `bucket` column): the
/// flood guard's rolling-hour count. Read inside the deciding transaction, so a rolled-back
/// batch never spent anything and a restart resets nothing.
pub fn overrides_since(c: &Connection, channel: &str, bucket: &str, since: jiff::Timestamp) -> Result<u32> {
    let n: i64 = c
        .prepare_cached(
            "SELECT COUNT(*) FROM audit JOIN alerts ON alerts.id = audit.alert_id
             WHERE audit.kind = ?4 AND audit.channel = ?1 AND audit.at_ms > ?2
               AND alerts.bucket = ?3",
        )?
        .query_row(params![channel, ms(since), bucket, AuditKind::Override], |r| {
            r.get(0)
        })?;
    Ok(n.max(0) as u32)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub id: i64,
    pub at_ms: i64,
    pub kind: AuditKind,
    pub channel: Option<String>,
    pub alert_id: Option<i64>,
    pub actor: String,
    pub reason: String,
}

pub fn list(c: &Connection, kind: Option<AuditKind>) -> Result<Vec<Row>> {
    let mut st = c.prepare_cached(
        "SELECT id, at_ms, kind, channel, alert_id, actor, reason FROM audit
         WHERE ?1 IS NULL OR kind = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([kind], |r| {
        Ok(Row {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            kind: r.get(2)?,
            channel: r.get(3)?,
            alert_id: r.get(4)?,
            actor: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Walks the chain; returns the id of the first row that does not match, if any. The kind is
/// read as the word stored, not parsed: an edited kind is a broken hash, named as such.
pub fn verify(c: &Connection) -> Result<Option<(i64, String)>> {
    let mut st = c.prepare_cached(
        "SELECT id, at_ms, kind, COALESCE(channel, ''), alert_id, actor, reason, prev_hash, hash
         FROM audit ORDER BY id",
    )?;
    let mut rows = st.query([])?;
    let mut prev = GENESIS.to_string();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let stored_prev: String = r.get(7)?;
        let stored: String = r.get(8)?;
        if stored_prev != prev {
            return Ok(Some((id, "the previous row was deleted or changed".into())));
        }
        let h = digest(
            &prev,
            r.get(1)?,
            &r.get::<_, String>(2)?,
            &r.get::<_, String>(3)?,
            r.get(4)?,
            &r.get::<_, String>(5)?,
            &r.get::<_, String>(6)?,
        );
        if h != stored {
            return Ok(Some((id, "the row's content does not match its hash".into())));
        }
        prev = stored;
    }
    Ok(None)
}
