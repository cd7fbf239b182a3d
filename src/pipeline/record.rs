//! Turning a gate decision into a stored intent: the delivery row, the quota it uses and the
//! audit record, all in the caller's transaction. Every path that creates deliveries — feed
//! alerts, the digest, manual pushes — goes through [`record`], so each is gated and audited the
//! same way.

use crate::compose::ComposeError;
use crate::config::ChannelConfig;
use crate::gate::{ChannelState, Decision};
use crate::store::outbox::Job;
use crate::store::{audit, ledger, outbox, StoreError};
use crate::text::shown;
use rusqlite::Connection;
use tracing::{info, warn};

/// The channel's view for the gate: its local day and time, and its ledger counts.
pub fn channel_state<'a>(
    tx: &Connection,
    name: &'a str,
    ch: &'a ChannelConfig,
    now: jiff::Timestamp,
) -> Result<ChannelState<'a>, StoreError> {
    let local = now.to_zoned(ch.timezone.clone());
    let day = local.date().to_string();
    Ok(ChannelState {
        name,
        cfg: ch,
        used_today: ledger::used(tx, name, &day)?,
        used_month: ledger::used_in_month(tx, name, &day)?,
        local_time: (local.hour(), local.minute()),
        day,
    })
}

/// What is known of the intent besides the decision.
pub struct Intent<'a> {
    pub id: String,
    pub alert_id: i64,
    pub channel: &'a str,
    pub channel_dry_run: bool,
    pub deadline: jiff::Timestamp,
    pub now: jiff::Timestamp,
    pub op: outbox::Op,
    /// Emergency fallbacks to try if the platform refuses this one for quota or permission.
    pub fallback: &'a [outbox::FallbackStep],
    /// Who decided: `rule: …`, `officer: …`, `digest`.
    pub actor: &'a str,
    /// What it is about (an event key, a digest), for the log.
    pub subject: &'a str,
}

/// Stores the intent; returns the job to hand to the deliverer if it is to be sent.
pub fn record(
    tx: &Connection,
    it: &Intent,
    decision: &Decision,
    text: Result<String, ComposeError>,
) -> Result<Option<Job>, StoreError> {
    use outbox::Status;
    let (status, reason, text, dry_run, override_, ledger_day, digest_day) = match (decision, text) {
        (
            Decision::Send {
                override_,
                ledger_day,
                dry_run,
                reason,
            },
            Ok(text),
        ) => (
            Status::Pending,
            reason.clone(),
            text,
            *dry_run,
            *override_,
            ledger_day.clone(),
            None,
        ),
        (Decision::Send { dry_run, .. }, Err(e)) => {
            tracing::error!(subject = %shown(it.subject), channel = %it.channel, error = %e, "cannot compose");
            (
                Status::Failed,
                format!("compose failed: {e}"),
                String::new(),
                *dry_run,
                false,
                None,
                None,
            )
        }
        (Decision::Hold { reason }, text) => (
            Status::Held,
            reason.to_string(),
            text.unwrap_or_default(),
            it.channel_dry_run,
            false,
            None,
            None,
        ),
        (Decision::Skip { reason }, text) => (
            Status::Skipped,
            reason.to_string(),
            text.unwrap_or_default(),
            it.channel_dry_run,
            false,
            None,
            None,
        ),
        (Decision::Digest { day, reason }, text) => (
            Status::Digest,
            reason.to_string(),
            text.unwrap_or_default(),
            it.channel_dry_run,
            false,
            None,
            Some(day.clone()),
        ),
    };
    outbox::insert_delivery(
        tx,
        &outbox::NewDelivery {
            id: &it.id,
            alert_id: it.alert_id,
            channel: it.channel,
            status,
            decision: &reason,
            text: &text,
            dry_run,
            override_,
            ledger_day: ledger_day.as_deref(),
            deadline: it.deadline,
            now: it.now,
            op: it.op,
            fallback: it.fallback,
            digest_day: digest_day.as_deref(),
        },
    )?;
    if let Some(day) = &ledger_day {
        ledger::add(tx, it.channel, day, 1)?;
    }
    // From the typed decision, never from its prose: the kind is part of the audit chain.
    let audit_kind = if status == Status::Failed {
        Some(audit::AuditKind::ComposeFailed)
    } else {
        decision.audit_kind()
    };
    if let Some(kind) = audit_kind {
        audit::append(
            tx,
            &audit::Record {
                at: it.now,
                kind,
                channel: Some(it.channel),
                alert_id: Some(it.alert_id),
                actor: it.actor,
                reason: &reason,
            },
        )?;
    }
    if override_ {
        metrics::counter!("alertd_overrides_total", "channel" => it.channel.to_string()).increment(1);
        warn!(subject = %shown(it.subject), channel = %it.channel, reason = %shown(&reason), "emergency override");
    }
    info!(subject = %shown(it.subject), channel = %it.channel, status = %status, reason = %shown(&reason), "gate");
    if status != Status::Pending {
        return Ok(None);
    }
    // The row as this transaction wrote it travels with the job: the deliverer's first attempt
    // then needs no store read (the latency path is commit → request).
    let row = outbox::get(tx, &it.id)?.map(std::sync::Arc::new);
    Ok(Some(Job {
        id: it.id.clone(),
        channel: it.channel.to_string(),
        row,
    }))
}
