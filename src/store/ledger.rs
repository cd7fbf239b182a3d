//! The quota ledger: pushes per channel per local calendar day, persisted.
//!
//! It lives in the store, not in memory (governor would forget it on restart), and it is written
//! in the same transaction as the alert and its delivery intents.

use super::Result;
use rusqlite::{params, Connection, OptionalExtension};

pub fn used(c: &Connection, channel: &str, day: &str) -> Result<u32> {
    let n: Option<i64> = c
        .prepare_cached("SELECT used FROM ledger WHERE channel = ?1 AND day = ?2")?
        .query_row([channel, day], |r| r.get(0))
        .optional()?;
    Ok(n.unwrap_or(0).max(0) as u32)
}

/// Pushes in the calendar month of `day` (`YYYY-MM-DD`), for service accounts' 4-a-month rule.
pub fn used_in_month(c: &Connection, channel: &str, day: &str) -> Result<u32> {
    let month = day.get(..7).unwrap_or(day);
    let n: i64 = c
        .prepare_cached(
            "SELECT COALESCE(SUM(used), 0) FROM ledger WHERE channel = ?1 AND substr(day, 1, 7) = ?2",
        )?
        .query_row([channel, month], |r| r.get(0))?;
    Ok(n.max(0) as u32)
}

pub fn add(c: &Connection, channel: &str, day: &str, delta: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO ledger (channel, day, used) VALUES (?1, ?2, MAX(?3, 0))
         ON CONFLICT(channel, day) DO UPDATE SET used = MAX(used + ?3, 0)",
    )?
    .execute(params![channel, day, delta])?;
    Ok(())
}
