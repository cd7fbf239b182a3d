//! One row per (channel, local day) once that day's digest has been decided, whatever the
//! outcome: the primary key is what makes the digest go out exactly once across restarts.

use super::{ms, Result};
use rusqlite::{params, Connection, OptionalExtension};

pub fn done(c: &Connection, channel: &str, day: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT 1 FROM digests WHERE channel = ?1 AND day = ?2")?
            .query_row([channel, day], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

pub struct Done<'a> {
    pub channel: &'a str,
    pub day: &'a str,
    pub at: jiff::Timestamp,
    pub outcome: &'a str,
    pub alert_id: Option<i64>,
    pub items: usize,
    pub reason: &'a str,
}

pub fn insert(c: &Connection, d: &Done) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO digests (channel, day, at_ms, outcome, alert_id, items, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        d.channel,
        d.day,
        ms(d.at),
        d.outcome,
        d.alert_id,
        d.items as i64,
        d.reason
    ])?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub channel: String,
    pub day: String,
    pub at_ms: i64,
    pub outcome: String,
    pub alert_id: Option<i64>,
    pub items: i64,
    pub reason: String,
}

pub fn recent(c: &Connection, limit: usize) -> Result<Vec<Row>> {
    let mut st = c.prepare_cached(
        "SELECT channel, day, at_ms, outcome, alert_id, items, reason FROM digests ORDER BY at_ms DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit as i64], |r| {
        Ok(Row {
            channel: r.get(0)?,
            day: r.get(1)?,
            at_ms: r.get(2)?,
            outcome: r.get(3)?,
            alert_id: r.get(4)?,
            items: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
