//! What the store knows of each event: the facts last published, so a later revision can be
//! judged as material or not, and every id it is known by (aliases across sources).
//!
//! The facts are kept whole (the decoded [`Quake`] or [`Weather`]), not only the few numbers
//! assess compares: a cancel that carries no facts of its own (CAP allows a Cancel without
//! `info`) is told to the public by what it lifts — the warning's type, colour and area — and
//! those exist nowhere else once the alert is decoded. They live in the state's JSON, so rows
//! written before they existed read back without them (no migration; such an event's bare
//! cancel is published with the templates' no-facts wording, docs/templates.md).

use super::{ms, Result, StoreError};
use crate::model::{EventState, Kind};
use rusqlite::{params, Connection, OptionalExtension};

/// The state of the event known by any of `ids`.
pub fn find<'a>(c: &Connection, ids: impl IntoIterator<Item = &'a str>) -> Result<Option<EventState>> {
    for id in ids {
        let key: Option<String> = c
            .prepare_cached("SELECT event_key FROM event_ids WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if let Some(key) = key {
            return get(c, &key);
        }
    }
    Ok(None)
}

pub fn get(c: &Connection, key: &str) -> Result<Option<EventState>> {
    let json: Option<String> = c
        .prepare_cached("SELECT state FROM events WHERE event_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("event {key}: {e}"))))
        .transpose()
}

pub fn put<'a>(
    c: &Connection,
    state: &EventState,
    ids: impl IntoIterator<Item = &'a str>,
    now: jiff::Timestamp,
) -> Result<()> {
    let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let kind = match state.kind {
        Kind::Earthquake => "earthquake",
        Kind::Weather => "weather",
    };
    c.prepare_cached(
        "INSERT INTO events (event_key, kind, state, updated_ms, origin_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(event_key) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms,
                                              origin_ms = excluded.origin_ms",
    )?
    .execute(params![state.event_key, kind, json, ms(now), state.origin_ms])?;
    for id in ids {
        c.prepare_cached("INSERT OR IGNORE INTO event_ids (id, event_key) VALUES (?1, ?2)")?
            .execute(params![id, state.event_key])?;
    }
    Ok(())
}

/// Quake events whose origin time is within `window_ms` of `origin_ms`, closest first.
pub fn near(c: &Connection, origin_ms: i64, window_ms: i64) -> Result<Vec<EventState>> {
    let mut st = c.prepare_cached(
        "SELECT state FROM events WHERE kind = 'earthquake' AND origin_ms BETWEEN ?1 AND ?2
         ORDER BY ABS(origin_ms - ?3) LIMIT 20",
    )?;
    let rows = st.query_map(
        params![origin_ms - window_ms, origin_ms + window_ms, origin_ms],
        |r| r.get::<_, String>(0),
    )?;
    let mut out = Vec::new();
    for json in rows {
        let json = json?;
        out.push(serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("event: {e}")))?);
    }
    Ok(out)
}
