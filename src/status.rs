//! `alertd status`: what the daemon did and what it is waiting on, read from the store alone —
//! so it answers "why did (or didn't) we send this?" even while the daemon is down. Secrets are
//! never in the store, so they cannot appear here.

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{self, from_ms, journal, ledger, outbox, session};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct Status {
    /// The zone every time below is printed in (the office's: see [`office_zone`]).
    pub timezone: String,
    pub now: String,
    /// The broker session as the daemon last recorded it; none if it never ran on this store.
    pub mqtt: Option<MqttStatus>,
    pub channels: Vec<ChannelStatus>,
    pub journal: JournalCounts,
    pub pending: Vec<outbox::Delivery>,
    pub failed: Vec<outbox::Delivery>,
    pub held: Vec<outbox::Delivery>,
    pub recent_alerts: Vec<AlertStatus>,
    pub rejected_24h: Vec<RejectedStatus>,
    pub manual_pushes: Vec<crate::store::manual::Manual>,
}

#[derive(Debug, Serialize)]
pub struct ChannelStatus {
    pub name: String,
    pub kind: String,
    pub dry_run: bool,
    pub day: String,
    pub pushes_used_today: Option<u32>,
    pub pushes_left_today: Option<u32>,
    /// The next routine digest (local time) and how many alerts wait for it.
    pub next_digest: Option<String>,
    pub digest_waiting: usize,
    /// Today's digest, once decided: pushed, weibo, dropped, empty.
    pub digest_today: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MqttStatus {
    #[serde(flatten)]
    pub session: session::MqttSession,
    pub since: String,
    pub last_error_at: Option<String>,
    /// When the daemon recorded this (it does so on every change and every minute).
    pub recorded: String,
    /// Not refreshed for over [`STALE_MINS`] minutes: the daemon is probably not running.
    pub stale: bool,
}

/// A session record older than this was not written by a running daemon.
pub const STALE_MINS: i64 = 3;

#[derive(Debug, Serialize)]
pub struct RejectedStatus {
    #[serde(flatten)]
    pub row: journal::Rejected,
    /// `received_ms` in local time.
    pub received: String,
}

#[derive(Debug, Serialize)]
pub struct JournalCounts {
    pub accepted: i64,
    pub rejected: i64,
    pub duplicates: i64,
}

#[derive(Debug, Serialize)]
pub struct AlertStatus {
    #[serde(flatten)]
    pub alert: outbox::AlertRow,
    pub created: String,
    pub deliveries: Vec<DeliveryOutcome>,
}

#[derive(Debug, Serialize)]
pub struct DeliveryOutcome {
    pub channel: String,
    pub status: outbox::Status,
    pub decision: String,
    pub platform_ref: Option<String>,
    pub last_error: Option<String>,
}

/// The zone an officer reads times in: the first WeChat channel's (its quota day is the one that
/// matters), else the first channel's, else Beijing's. Each channel's zone was parsed at load, so
/// Beijing's only serves a config with no channels.
pub fn office_zone(cfg: &Config) -> jiff::tz::TimeZone {
    let ch = cfg
        .channels
        .values()
        .find(|c| c.wechat().is_some())
        .or_else(|| cfg.channels.values().next());
    ch.map(|c| c.timezone.clone())
        .unwrap_or_else(crate::clock::beijing)
}

/// `2026-11-26 10:06:30+08:00`: local time with its offset, so nobody converts from UTC at 3 a.m.
pub fn local(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S%:z")
        .to_string()
}

pub fn collect(cfg: &Config, conn: &rusqlite::Connection, clock: &dyn Clock) -> store::Result<Status> {
    let now = clock.now();
    let zone = office_zone(cfg);
    let at = |ms: i64| local(from_ms(ms), &zone);
    let mut channels = Vec::new();
    for (name, ch) in &cfg.channels {
        let tz = ch.timezone.clone();
        let day = now.to_zoned(tz.clone()).date().to_string();
        let wechat = ch.wechat();
        let (used, left) = match wechat {
            Some(w) => {
                let used = ledger::used(conn, name, &day)?;
                (Some(used), Some(w.daily_limit.saturating_sub(used)))
            }
            None => (None, None),
        };
        let digest_today = crate::store::digests::recent(conn, 100)?
            .into_iter()
            .find(|d| d.channel == *name && d.day == day)
            .map(|d| format!("{}: {}", d.outcome, d.reason));
        let digest_waiting = outbox::waiting_for_digest(conn, name, &day)?.len();
        let next_digest = wechat.and_then(|w| w.digest_at.as_ref()).map(|at| {
            if digest_today.is_some() {
                let tomorrow = now
                    .to_zoned(tz.clone())
                    .date()
                    .tomorrow()
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                format!("{tomorrow} {at}")
            } else {
                format!("{day} {at}")
            }
        });
        channels.push(ChannelStatus {
            next_digest,
            digest_waiting,
            digest_today,
            name: name.clone(),
            kind: ch.kind().as_str().to_string(),
            dry_run: ch.dry_run,
            day,
            pushes_used_today: used,
            pushes_left_today: left,
        });
    }
    let (accepted, rejected, duplicates) = journal::counts(conn)?;
    let mut recent_alerts = Vec::new();
    for a in outbox::recent_alerts(conn, 20)? {
        let deliveries = outbox::for_alert(conn, a.id)?
            .into_iter()
            .map(|d| DeliveryOutcome {
                channel: d.channel,
                status: d.status,
                decision: shown(d.decision),
                platform_ref: d.platform_ref.map(shown),
                last_error: d.last_error.map(shown),
            })
            .collect();
        recent_alerts.push(AlertStatus {
            created: at(a.created_ms),
            alert: outbox::AlertRow {
                event_key: shown(a.event_key),
                msg_id: shown(a.msg_id),
                reason: shown(a.reason),
                ..a
            },
            deliveries,
        });
    }
    let day_ago = store::ms(now) - 24 * 3600 * 1000;
    let mqtt = session::get(conn)?.map(|(s, recorded)| MqttStatus {
        since: at(s.since_ms),
        last_error_at: s.last_error_ms.map(at),
        recorded: at(recorded),
        stale: store::ms(now) - recorded > STALE_MINS * 60 * 1000,
        session: s,
    });
    Ok(Status {
        timezone: zone_name(&zone, now),
        now: local(now, &zone),
        mqtt,
        channels,
        journal: JournalCounts {
            accepted,
            rejected,
            duplicates,
        },
        pending: deliveries(conn, outbox::Status::Pending)?,
        failed: deliveries(conn, outbox::Status::Failed)?,
        held: deliveries(conn, outbox::Status::Held)?,
        recent_alerts,
        rejected_24h: journal::rejected_since(conn, day_ago, 100)?
            .into_iter()
            .map(|r| RejectedStatus {
                received: at(r.received_ms),
                row: journal::Rejected {
                    topic: shown(r.topic),
                    reason: shown(r.reason),
                    ..r
                },
            })
            .collect(),
        manual_pushes: crate::store::manual::recent(conn, 10)?,
    })
}

fn zone_name(tz: &jiff::tz::TimeZone, now: jiff::Timestamp) -> String {
    match tz.iana_name() {
        Some(n) => n.to_string(),
        None => now.to_zoned(tz.clone()).strftime("UTC%:z").to_string(),
    }
}

/// Ids, topics and reasons quote what a feed sent; the officer reads them here, so they pass the
/// same sanitiser as the texts ([`crate::text`]).
fn shown(s: String) -> String {
    match crate::text::shown(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(clean) => clean,
    }
}

fn deliveries(conn: &rusqlite::Connection, status: outbox::Status) -> store::Result<Vec<outbox::Delivery>> {
    Ok(outbox::by_status(conn, status, 50)?
        .into_iter()
        .map(|d| outbox::Delivery {
            decision: shown(d.decision),
            last_error: d.last_error.map(shown),
            ..d
        })
        .collect())
}

impl Status {
    fn mqtt_text(&self, s: &mut String) {
        let Some(m) = &self.mqtt else {
            let _ = writeln!(
                s,
                "\nmqtt session: never recorded (the daemon has not run on this store)"
            );
            return;
        };
        let x = &m.session;
        let _ = writeln!(
            s,
            "\nmqtt session (MQTT {}): {} since {}{}",
            x.protocol,
            x.state,
            m.since,
            if m.stale {
                format!(" — recorded {}, not since: is the daemon running?", m.recorded)
            } else {
                String::new()
            }
        );
        if let Some(why) = &x.failing {
            let _ = writeln!(s, "  FAILING: {why}");
        }
        if let (Some(e), Some(at)) = (&x.last_error, &m.last_error_at) {
            let _ = writeln!(
                s,
                "  connection errors: {} since start, {} in a row; last at {at}: {e}",
                x.connection_errors, x.errors_in_a_row
            );
        }
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "alertd status at {} (times in {})", self.now, self.timezone);
        self.mqtt_text(&mut s);
        let _ = writeln!(s, "\nchannels:");
        for c in &self.channels {
            let quota = match (c.pushes_used_today, c.pushes_left_today) {
                (Some(u), Some(l)) => format!("pushes today ({}): {u} used, {l} left", c.day),
                _ => "no daily push quota".to_string(),
            };
            let _ = writeln!(
                s,
                "  {:<10} {:<7} {}{quota}",
                c.name,
                c.kind,
                if c.dry_run { "[dry-run] " } else { "" }
            );
            if let Some(next) = &c.next_digest {
                let _ = writeln!(
                    s,
                    "             next digest {next}: {} alert(s) waiting",
                    c.digest_waiting
                );
            }
            if let Some(today) = &c.digest_today {
                let _ = writeln!(s, "             today's digest: {today}");
            }
        }
        let j = &self.journal;
        let _ = writeln!(
            s,
            "\nfeed messages: {} accepted, {} rejected, {} duplicates ignored",
            j.accepted, j.rejected, j.duplicates
        );
        for (title, list) in [
            ("pending", &self.pending),
            ("failed", &self.failed),
            ("held", &self.held),
        ] {
            let _ = writeln!(s, "\n{title} deliveries: {}", list.len());
            for d in list {
                let why = d.last_error.as_deref().unwrap_or(&d.decision);
                let _ = writeln!(
                    s,
                    "  alert {} {} (attempts {}): {why}",
                    d.alert_id, d.channel, d.attempts
                );
            }
        }
        let _ = writeln!(s, "\nrecent alerts:");
        for a in &self.recent_alerts {
            let _ = writeln!(
                s,
                "  #{} {} {} {} {}{}",
                a.alert.id,
                a.created,
                a.alert.class,
                a.alert.action,
                a.alert.event_key,
                if a.alert.live { "" } else { " (exercise/test)" }
            );
            for d in &a.deliveries {
                let r = d
                    .platform_ref
                    .as_deref()
                    .map(|r| format!(" [{r}]"))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "      {:<10} {:<9} {}{r}",
                    d.channel,
                    d.status,
                    d.last_error.as_deref().unwrap_or(&d.decision)
                );
            }
        }
        let _ = writeln!(s, "\nrejected feed messages (24 h): {}", self.rejected_24h.len());
        for r in &self.rejected_24h {
            let _ = writeln!(
                s,
                "  #{} {} {}: {}",
                r.row.id, r.received, r.row.topic, r.row.reason
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_prints_local_times_with_the_offset() {
        let cfg = Config::quickstart();
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        store::init(&conn).expect("schema");
        let clock = crate::clock::ManualClock::new("2026-11-26T02:06:30Z".parse().expect("t"));
        let st = collect(&cfg, &conn, &clock).expect("status");
        assert_eq!(st.now, "2026-11-26 10:06:30+08:00");
        assert_eq!(st.timezone, "Asia/Shanghai");
        let text = st.text();
        assert!(
            text.starts_with("alertd status at 2026-11-26 10:06:30+08:00 (times in Asia/Shanghai)"),
            "{text}"
        );
        assert!(!text.contains("02:06:30"), "{text}");
        // An office elsewhere reads its own zone.
        let mut cfg = cfg;
        for ch in cfg.channels.values_mut() {
            ch.timezone = jiff::tz::TimeZone::get("Asia/Urumqi").expect("bundled zone");
        }
        let st = collect(&cfg, &conn, &clock).expect("status");
        assert_eq!(st.now, "2026-11-26 08:06:30+06:00");
    }
}
