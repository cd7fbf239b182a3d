//! The routine digest: a WeChat channel with `routine = "digest"` (or a `reserve_until`) keeps
//! the day's routine alerts back; at `digest_at` local time one push names them all — if the
//! day's push is still free. If an emergency used it, the digest goes to Weibo or is dropped
//! (`digest_when_used`), with the reason recorded on every alert it held.
//!
//! Runs on the pipeline thread's tick, in its own transaction. The `digests` table's primary key
//! (channel, day) makes the digest happen exactly once, however often the daemon restarts
//! around `digest_at`; a digest whose day passed while alertd was down is recorded as missed.

use super::record::{self, channel_state, Intent};
use super::Stages;
use crate::compose::{context, fit};
use crate::config::{parse_hhmm, ChannelConfig, DigestWhenUsed};
use crate::gate::Decision;
use crate::store::outbox::Job;
use crate::store::{audit, digests, outbox, StoreError};
use rusqlite::Connection;

pub fn run_due(stages: &mut Stages, tx: &Connection, now: jiff::Timestamp) -> Result<Vec<Job>, StoreError> {
    let cfg = stages.cfg.clone();
    let mut jobs = Vec::new();
    for (name, ch) in &cfg.channels {
        let Some(w) = ch.wechat() else {
            continue;
        };
        let Some(at) = w.digest_at.as_deref().and_then(parse_hhmm) else {
            continue;
        };
        let state = channel_state(tx, name, ch, now)?;
        for day in outbox::stale_digest_days(tx, name, &state.day)? {
            settle_missed(tx, name, &day, now)?;
        }
        if state.local_time < at || digests::done(tx, name, &state.day)? {
            continue;
        }
        let rows = outbox::waiting_for_digest(tx, name, &state.day)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let hhmm = format!("{:02}:{:02}", at.0, at.1);
        let done = |outcome: &str, alert_id: Option<i64>, reason: &str| {
            digests::insert(
                tx,
                &digests::Done {
                    channel: name,
                    day: &state.day,
                    at: now,
                    outcome,
                    alert_id,
                    items: ids.len(),
                    reason,
                },
            )
        };
        if rows.is_empty() {
            done("empty", None, "no routine alert waited for the digest")?;
            continue;
        }
        let items = rows
            .iter()
            .map(|r| outbox::alert_event(tx, r.alert_id))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .map(|ev| context::digest_item(&ev))
            .collect::<Vec<_>>();
        let date = now.to_zoned(ch.timezone.clone()).date();
        let limit = w.daily_limit;
        let free = state.used_today < limit && w.monthly_limit.is_none_or(|m| state.used_month < m);
        let deadline = now + jiff::SignedDuration::from_hours(6);
        let alert_id = digest_alert(tx, name, &state.day, rows.len(), now, deadline)?;
        let actor = format!("digest {hhmm}");
        if free {
            let ctx = context::digest(&cfg, date, items, None);
            let text = stages.composer.render("digest.wechat.j2", &ctx, 0);
            let decision = Decision::Send {
                override_: false,
                ledger_day: Some(state.day.clone()),
                dry_run: ch.dry_run,
                reason: format!(
                    "routine digest at {hhmm} of {} alerts: the day's push ({}/{limit} on {})",
                    rows.len(),
                    state.used_today + 1,
                    state.day
                ),
            };
            let intent = intent(name, ch, alert_id, &state.day, now, deadline, &actor);
            jobs.extend(record::record(tx, &intent, &decision, text)?);
            let why = format!("in the {hhmm} digest (alert #{alert_id})");
            outbox::settle_digest(tx, &ids, outbox::Status::Digested, &why, now)?;
            done("pushed", Some(alert_id), &why)?;
            continue;
        }
        let used = format!(
            "the day's push was used ({}/{limit} on {})",
            state.used_today, state.day
        );
        match w.digest_when_used {
            DigestWhenUsed::Drop => {
                let why = format!("digest dropped: {used} (digest_when_used = \"drop\")");
                outbox::settle_digest(tx, &ids, outbox::Status::Skipped, &why, now)?;
                done("dropped", Some(alert_id), &why)?;
                audit(tx, name, alert_id, &actor, &why, now)?;
            }
            DigestWhenUsed::Weibo => {
                let why = format!("digest went to Weibo only: {used}");
                for (wname, wch, weibo) in cfg.channels.iter().filter_map(|(n, c)| Some((n, c, c.weibo()?))) {
                    let link = Some(weibo.link.as_str());
                    let ctx = context::digest(&cfg, date, items.clone(), link);
                    let text = fit::weibo(
                        &stages.composer,
                        "digest.weibo.j2",
                        &ctx,
                        cfg.compose.weibo_max_chars,
                        link,
                    );
                    let decision = Decision::Send {
                        override_: false,
                        ledger_day: None,
                        dry_run: wch.dry_run,
                        reason: why.clone(),
                    };
                    let intent = intent(wname, wch, alert_id, &state.day, now, deadline, &actor);
                    jobs.extend(record::record(tx, &intent, &decision, text)?);
                }
                outbox::settle_digest(tx, &ids, outbox::Status::Skipped, &why, now)?;
                done("weibo", Some(alert_id), &why)?;
                audit(tx, name, alert_id, &actor, &why, now)?;
            }
        }
    }
    Ok(jobs)
}

fn intent<'a>(
    name: &'a str,
    ch: &ChannelConfig,
    alert_id: i64,
    day: &str,
    now: jiff::Timestamp,
    deadline: jiff::Timestamp,
    actor: &'a str,
) -> Intent<'a> {
    Intent {
        id: format!("ad-{name}-digest-{day}"),
        alert_id,
        channel: name,
        channel_dry_run: ch.dry_run,
        deadline,
        now,
        op: outbox::Op::Send,
        fallback: &[],
        actor,
        subject: "digest",
    }
}

fn digest_alert(
    tx: &Connection,
    channel: &str,
    day: &str,
    n: usize,
    now: jiff::Timestamp,
    deadline: jiff::Timestamp,
) -> Result<i64, StoreError> {
    outbox::insert_alert(
        tx,
        &outbox::NewAlert {
            event_key: &format!("digest:{channel}:{day}"),
            journal_id: 0,
            msg_id: &format!("digest-{channel}-{day}"),
            action: "digest",
            class: "routine",
            reason: &format!("the routine digest of {day}: {n} alerts"),
            live: true,
            created: now,
            deadline,
            origin: None,
            bucket: "digest",
            event: None,
        },
    )
}

fn audit(
    tx: &Connection,
    channel: &str,
    alert_id: i64,
    actor: &str,
    reason: &str,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    audit::append(
        tx,
        &audit::Record {
            at: now,
            kind: audit::AuditKind::Digest,
            channel: Some(channel),
            alert_id: Some(alert_id),
            actor,
            reason,
        },
    )?;
    Ok(())
}

/// Alerts that waited for the digest of a day that passed while alertd was not running.
fn settle_missed(tx: &Connection, channel: &str, day: &str, now: jiff::Timestamp) -> Result<(), StoreError> {
    let ids: Vec<String> = outbox::waiting_for_digest(tx, channel, day)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let why = format!("the digest of {day} was missed (alertd was not running at digest time)");
    outbox::settle_digest(tx, &ids, outbox::Status::Skipped, &why, now)?;
    if !digests::done(tx, channel, day)? {
        digests::insert(
            tx,
            &digests::Done {
                channel,
                day,
                at: now,
                outcome: "missed",
                alert_id: None,
                items: ids.len(),
                reason: &why,
            },
        )?;
    }
    tracing::warn!(channel, day, items = ids.len(), "{why}");
    Ok(())
}
