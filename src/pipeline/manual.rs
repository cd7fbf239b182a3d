//! Manual pushes (`alertd push`), taken from the store by the daemon's pipeline thread so there
//! is only ever one sender. The officer's text goes out verbatim (Weibo gets the channel's link
//! appended if missing, and fails with the reason if it is then over 140 characters), through
//! the same gate as any alert — quota, override, flood guard — and audited with the officer's
//! name and reason. The same text twice on one local day is refused unless forced.

use super::record::{self, channel_state, Intent};
use super::Stages;
use crate::assess::Action;
use crate::compose::{fit, ComposeError};
use crate::config::ChannelKindConfig;
use crate::gate::{self, Publication};
use crate::model::Class;
use crate::store::outbox::Job;
use crate::store::{audit, from_ms, manual, outbox, StoreError};
use rusqlite::Connection;

/// How long a queued manual push stays worth sending.
const DEADLINE_MINS: i64 = 60;

pub fn run_pending(
    stages: &mut Stages,
    tx: &Connection,
    now: jiff::Timestamp,
) -> Result<Vec<Job>, StoreError> {
    let cfg = stages.cfg.clone();
    let mut jobs = Vec::new();
    for m in manual::pending(tx)? {
        if !m.force {
            if let Some((earlier, at)) = manual::same_text_today(tx, &m.text, &m.day, m.id)? {
                let why = format!(
                    "refused: the same text was pushed today (manual #{earlier} at {}); use --force to send it again",
                    from_ms(at).to_zoned(crate::clock::beijing()).strftime("%H:%M")
                );
                manual::settle(tx, m.id, "refused", &why, None)?;
                continue;
            }
        }
        let class = if m.emergency {
            Class::Emergency
        } else {
            Class::Routine
        };
        let reason = format!("manual push by {}: {}", m.actor, m.reason);
        let alert_id = outbox::insert_alert(
            tx,
            &outbox::NewAlert {
                event_key: &format!("manual:{}", m.id),
                journal_id: 0,
                msg_id: &format!("manual-{}", m.id),
                action: "alert",
                class: class.as_str(),
                reason: &reason,
                live: true,
                created: now,
                deadline: now + jiff::SignedDuration::from_mins(DEADLINE_MINS),
                origin: Some(now),
                bucket: gate::MANUAL,
                event: None,
            },
        )?;
        let actor = format!("officer: {}", m.actor);
        audit::append(
            tx,
            &audit::Record {
                at: now,
                kind: audit::AuditKind::ManualPush,
                channel: None,
                alert_id: Some(alert_id),
                actor: &actor,
                reason: &reason,
            },
        )?;
        let wanted: Option<Vec<&str>> = m
            .channels
            .as_deref()
            .map(|c| c.split(',').map(str::trim).collect());
        let publication = Publication {
            action: Action::Alert,
            class,
            live: true,
            push_wechat: true,
        };
        let mut outcomes = Vec::new();
        for (name, ch) in &cfg.channels {
            let state = channel_state(tx, name, ch, now)?;
            let decision = match &wanted {
                Some(list) if !list.contains(&name.as_str()) => gate::Decision::Skip {
                    reason: gate::SkipReason::NotNamedInChannel,
                },
                _ => {
                    let mut guard =
                        gate::HourCap::new(tx, gate::MANUAL, stages.cfg.override_.max_per_hour, now);
                    let d = gate::decide(&publication, &state, true, &mut guard);
                    guard.finish()?;
                    d
                }
            };
            let text: Result<String, ComposeError> = match &ch.kind {
                ChannelKindConfig::Weibo(w) => {
                    fit::verbatim(&m.text, Some(&w.link), cfg.compose.weibo_max_chars)
                }
                _ => Ok(m.text.clone()),
            };
            outcomes.push(format!("{name}: {}", decision.reason()));
            let intent = Intent {
                id: format!("ad-{name}-manual-{}", m.id),
                alert_id,
                channel: name,
                channel_dry_run: ch.dry_run,
                deadline: now + jiff::SignedDuration::from_mins(DEADLINE_MINS),
                now,
                op: outbox::Op::Send,
                fallback: &[],
                actor: &actor,
                subject: "manual",
            };
            jobs.extend(record::record(tx, &intent, &decision, text)?);
        }
        manual::settle(tx, m.id, "accepted", &outcomes.join("; "), Some(alert_id))?;
        tracing::warn!(manual = m.id, by = %m.actor, reason = %m.reason, "manual push accepted");
    }
    Ok(jobs)
}
