//! Manual pushes queued by `alertd push` for the running daemon. The CLI only writes a row; the
//! daemon's pipeline thread — the one sender — picks it up, gates and audits it like any alert.

use super::{ms, Result};
use rusqlite::{params, Connection, OptionalExtension};

pub struct NewManual<'a> {
    pub at: jiff::Timestamp,
    pub text: &'a str,
    pub day: &'a str,
    pub emergency: bool,
    pub channels: Option<&'a str>,
    pub actor: &'a str,
    pub reason: &'a str,
    pub force: bool,
}

pub fn text_hash(text: &str) -> String {
    super::journal::content_hash(text.trim().as_bytes())
}

pub fn insert(c: &Connection, m: &NewManual) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO manual (at_ms, text, text_hash, day, emergency, channels, actor, reason, force, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
    )?
    .execute(params![
        ms(m.at),
        m.text,
        text_hash(m.text),
        m.day,
        m.emergency,
        m.channels,
        m.actor,
        m.reason,
        m.force
    ])?;
    Ok(c.last_insert_rowid())
}

/// An earlier push of the same text on the same local day (pending or accepted), if any.
pub fn same_text_today(c: &Connection, text: &str, day: &str, except: i64) -> Result<Option<(i64, i64)>> {
    Ok(c.prepare_cached(
        "SELECT id, at_ms FROM manual WHERE text_hash = ?1 AND day = ?2 AND id != ?3
             AND status IN ('pending', 'accepted') ORDER BY id LIMIT 1",
    )?
    .query_row(params![text_hash(text), day, except], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()?)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Manual {
    pub id: i64,
    pub at_ms: i64,
    pub text: String,
    pub day: String,
    pub emergency: bool,
    pub channels: Option<String>,
    pub actor: String,
    pub reason: String,
    pub force: bool,
    pub status: String,
    pub result: Option<String>,
    pub alert_id: Option<i64>,
}

const COLS: &str =
    "id, at_ms, text, day, emergency, channels, actor, reason, force, status, result, alert_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Manual> {
    Ok(Manual {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        text: r.get(2)?,
        day: r.get(3)?,
        emergency: r.get(4)?,
        channels: r.get(5)?,
        actor: r.get(6)?,
        reason: r.get(7)?,
        force: r.get(8)?,
        status: r.get(9)?,
        result: r.get(10)?,
        alert_id: r.get(11)?,
    })
}

pub fn pending(c: &Connection) -> Result<Vec<Manual>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM manual WHERE status = 'pending' ORDER BY id"
    ))?;
    let rows = st.query_map([], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

pub fn get(c: &Connection, id: i64) -> Result<Option<Manual>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLS} FROM manual WHERE id = ?1"))?
            .query_row([id], row)
            .optional()?,
    )
}

pub fn settle(c: &Connection, id: i64, status: &str, result: &str, alert_id: Option<i64>) -> Result<()> {
    c.prepare_cached("UPDATE manual SET status = ?2, result = ?3, alert_id = ?4 WHERE id = ?1")?
        .execute(params![id, status, result, alert_id])?;
    Ok(())
}

pub fn recent(c: &Connection, limit: usize) -> Result<Vec<Manual>> {
    let mut st = c.prepare_cached(&format!("SELECT {COLS} FROM manual ORDER BY id DESC LIMIT ?1"))?;
    let rows = st.query_map([limit as i64], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
