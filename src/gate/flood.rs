//! The override flood guard: at most `[override] max_per_hour` emergency overrides per channel
//! and per bucket in **any rolling hour**, so a faulty or hostile feed cannot spam the public
//! through the override path, nor spend the overrides another source's emergency needs.
//!
//! A bucket is the name of the feed key that verified the message's signature; unsigned
//! messages share one bucket per `[[feeds]]` rule ([`unsigned_bucket`]); officers' pushes have
//! [`MANUAL`]. The count is a
//! ledger, so it is read from the store (the audit trail's `override` rows joined to their
//! alert's `bucket` column) inside the transaction that decides: an override of a rolled-back
//! batch never happened, one of this batch is counted at once, and a restart resets nothing.
//! (A governor cell refilled continuously: 3 per hour let 5 through in 41 minutes.)

use super::OverrideGuard;
use crate::store::{audit, StoreError};
use rusqlite::Connection;

/// The bucket of messages without a verified signature on a topic no `[[feeds]]` rule names.
pub const UNSIGNED: &str = "unsigned";

/// The bucket of an unsigned message: one per `[[feeds]]` rule (`unsigned:feeds/weather/#`), so a
/// flood of unsigned fakes on one feed's topics cannot spend the overrides (nor the Weibo share)
/// of another unsigned feed's real emergency — the shipped config's CMA warnings arrive unsigned.
/// Per rule, not per topic or sender: both are the flooder's to choose, the rules the office's.
pub fn unsigned_bucket(rule_topic: Option<&str>) -> String {
    match rule_topic {
        Some(t) => format!("{UNSIGNED}:{t}"),
        None => UNSIGNED.to_string(),
    }
}
/// The bucket of `alertd push`.
pub const MANUAL: &str = "manual";

const HOUR: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// One decision's view of the guard: counts lazily (only an emergency that finds the quota
/// used asks), and keeps a store error for [`HourCap::finish`] since the gate is pure.
pub struct HourCap<'a> {
    tx: &'a Connection,
    bucket: &'a str,
    max: u32,
    now: jiff::Timestamp,
    error: Option<StoreError>,
}

impl<'a> HourCap<'a> {
    /// `max = 0` forbids overrides entirely.
    pub fn new(tx: &'a Connection, bucket: &'a str, max: u32, now: jiff::Timestamp) -> Self {
        Self {
            tx,
            bucket,
            max,
            now,
            error: None,
        }
    }

    /// The store error met while counting, if any: the caller's transaction must fail.
    pub fn finish(self) -> Result<(), StoreError> {
        self.error.map_or(Ok(()), Err)
    }
}

impl OverrideGuard for HourCap<'_> {
    fn allow(&mut self, channel: &str) -> Result<(), String> {
        let used = match audit::overrides_since(self.tx, channel, self.bucket, self.now - HOUR) {
            Ok(n) => n,
            Err(e) => {
                self.error = Some(e);
                return Err("the override count could not be read".into());
            }
        };
        if used < self.max {
            Ok(())
        } else {
            Err(format!(
                "{used} of {} overrides in the last hour from source \"{}\" ([override] max_per_hour)",
                self.max, self.bucket
            ))
        }
    }
}
