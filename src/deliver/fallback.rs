//! Emergency fallbacks: WeChat has no emergency exemption (docs/platforms.md §6). When it refuses an
//! emergency for quota or permission, the delivery falls back along the WeChat channel's
//! `emergency_fallback` list, in order, one step after the other: `freepublish` (the same
//! account's free publish — no push, no quota) and other channels by name (the WeCom robot,
//! a webhook), which get a notice telling the officers what happened. Every step is recorded
//! and audited; nothing is retried into the wall (the refusal itself is final).
//!
//! Step ids are `<root delivery id>~<step>`, so every step can find the original text and the
//! refusal that started the chain.

use super::Job;
use crate::store::outbox::FallbackStep;
use crate::store::{audit, from_ms, outbox, StoreError};
use rusqlite::Connection;

/// WeChat refusals that mean "this account cannot push now": no quota (45028), API daily limit
/// (45009), missing permission or agreement (48001, 48003, 48008), IP not whitelisted (40164).
pub fn triggers(code: i64) -> bool {
    matches!(code, 45028 | 45009 | 48001 | 48003 | 48008 | 40164)
}

/// The next step after `row` finished, created in the caller's transaction.
pub fn next_step(
    tx: &Connection,
    row: &outbox::Delivery,
    refused_for_quota: bool,
    note: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Option<Job>, StoreError> {
    let Some((first, rest)) = row.fallback.split_first() else {
        return Ok(None);
    };
    let is_step = row.op != outbox::Op::Send;
    if !is_step && !refused_for_quota {
        return Ok(None);
    }
    let root_id = row.id.split('~').next().unwrap_or(&row.id);
    let root = outbox::get(tx, root_id)?.unwrap_or_else(|| row.clone());
    let refusal = if is_step {
        root.last_error.clone()
    } else {
        note.map(str::to_string)
    }
    .unwrap_or_else(|| "refused".into());
    let (channel, op, text) = match first {
        FallbackStep::FreePublish => (root.channel.clone(), outbox::Op::FreePublish, root.text.clone()),
        FallbackStep::Channel(name) => (
            name.clone(),
            outbox::Op::Notice,
            notice(&refusal, &row.fallback, &root.text),
        ),
    };
    let id = format!("{root_id}~{first}");
    let decision = format!("emergency fallback ({first}) after WeChat refused: {refusal}");
    outbox::insert_delivery(
        tx,
        &outbox::NewDelivery {
            id: &id,
            alert_id: row.alert_id,
            channel: &channel,
            status: outbox::Status::Pending,
            decision: &decision,
            text: &text,
            dry_run: root.dry_run,
            override_: false,
            ledger_day: None,
            deadline: from_ms(row.deadline_ms),
            now,
            op,
            fallback: rest,
            digest_day: None,
        },
    )?;
    audit::append(
        tx,
        &audit::Record {
            at: now,
            kind: audit::AuditKind::Fallback,
            channel: Some(&channel),
            alert_id: Some(row.alert_id),
            actor: "deliver",
            reason: &decision,
        },
    )?;
    tracing::warn!(alert = row.alert_id, step = %first, channel = %channel, refusal = %refusal, "emergency fallback");
    // Read back in this transaction, so the step starts without another store round trip.
    let row = outbox::get(tx, &id)?.map(std::sync::Arc::new);
    Ok(Some(Job { id, channel, row }))
}

/// What the officers are told on a staff channel: `steps` are those left, this one first, named
/// as in the config and joined with commas as the notice has always shown them.
fn notice(refusal: &str, steps: &[FallbackStep], text: &str) -> String {
    let steps = steps.iter().map(FallbackStep::name).collect::<Vec<_>>().join(",");
    format!(
        "【alertd 应急提醒】紧急预警未能通过微信群发推送：{refusal}。已按预案启用备用渠道（{steps}）。\
         请值班人员关注并视情人工处置。\n——原文——\n{text}"
    )
}
