//! What the website shows, read from the store: the alert being delivered, its event's chain of
//! revisions (alert, updates, cancellation) and the recent alerts for the index and the feed.
//! The facts are the event stored with each alert (`model::stored`); the full text is the one
//! the gate stored for the channel.
//!
//! Only live alerts whose delivery to this channel was real (not dry-run) appear on the site, so
//! an exercise never leaks into the public index or feed.

use super::outbox::{read_event, Status};
use super::Result;
use crate::model::Event;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// One published revision of an event.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: i64,
    pub event_key: String,
    pub msg_id: String,
    /// `alert`, `update` or `cancel`.
    pub action: String,
    pub class: String,
    pub live: bool,
    pub created_ms: i64,
    pub deadline_ms: i64,
    /// The event it published, as stored with the alert (None: a manual push).
    pub event: Option<Event>,
    /// The full text (the WeChat template) the gate composed for this revision.
    pub text: String,
}

pub struct Snapshot {
    pub current: Revision,
    /// Every revision of the current event shown on the site, newest first (with the current).
    pub chain: Vec<Revision>,
    /// Recent revisions for the index and the feed, newest first.
    pub recent: Vec<Revision>,
}

/// How many revisions the index and the Atom feed list.
pub const RECENT: usize = 50;

const COLS: &str = "a.id, a.event_key, a.msg_id, a.action, a.class, a.live, a.created_ms,
    a.deadline_ms, a.event,
    COALESCE((SELECT d.text FROM deliveries d WHERE d.alert_id = a.id AND d.text != ''
              ORDER BY (d.channel = ?1) DESC, length(d.text) DESC LIMIT 1), '')";

/// Shown on the site: live, and delivered to this channel for real.
const SHOWN: &str = "a.live = 1 AND EXISTS (SELECT 1 FROM deliveries w WHERE w.alert_id = a.id
    AND w.channel = ?1 AND w.dry_run = 0";

fn row(r: &Row) -> rusqlite::Result<Revision> {
    let id: i64 = r.get(0)?;
    let event: Option<String> = r.get(8)?;
    Ok(Revision {
        id,
        event_key: r.get(1)?,
        // A stored event that does not read is shown without facts rather than hiding the
        // alert from the record; the error names the row.
        event: event.and_then(|j| match read_event(id, &j) {
            Ok(ev) => Some(ev),
            Err(e) => {
                tracing::warn!(alert_id = id, error = %e, "stored event unreadable");
                None
            }
        }),
        msg_id: r.get(2)?,
        action: r.get(3)?,
        class: r.get(4)?,
        live: r.get(5)?,
        created_ms: r.get(6)?,
        deadline_ms: r.get(7)?,
        text: r.get(9)?,
    })
}

/// Loads what the pages for `alert_id` need. `Ok(None)`: no such alert.
pub fn load(c: &Connection, channel: &str, alert_id: i64) -> Result<Option<Snapshot>> {
    let current = c
        .query_row(
            &format!("SELECT {COLS} FROM alerts a WHERE a.id = ?2"),
            params![channel, alert_id],
            row,
        )
        .optional()?;
    let Some(current) = current else {
        return Ok(None);
    };
    let mut st = c.prepare(&format!(
        "SELECT {COLS} FROM alerts a 
         WHERE a.event_key = ?2 AND a.id != ?3 AND {SHOWN}) ORDER BY a.id DESC"
    ))?;
    let mut chain: Vec<Revision> = st
        .query_map(params![channel, current.event_key, current.id], row)?
        .collect::<std::result::Result<_, _>>()?;
    chain.push(current.clone());
    chain.sort_by_key(|r| std::cmp::Reverse(r.id));

    let mut st = c.prepare(&format!(
        "SELECT {COLS} FROM alerts a 
         WHERE {SHOWN} AND (w.status = ?4 OR a.event_key = ?2))
         ORDER BY a.id DESC LIMIT ?3"
    ))?;
    let mut recent: Vec<Revision> = st
        .query_map(
            params![channel, current.event_key, RECENT as i64, Status::Delivered],
            row,
        )?
        .collect::<std::result::Result<_, _>>()?;
    if current.live && !recent.iter().any(|r| r.id == current.id) {
        recent.push(current.clone());
        recent.sort_by_key(|r| std::cmp::Reverse(r.id));
        recent.truncate(RECENT);
    }
    Ok(Some(Snapshot {
        current,
        chain,
        recent,
    }))
}
