//! What the gate decided, typed: why a publication is held, skipped or kept for the digest is a
//! value, and its prose (what `status` shows and the audit trail records) is that value's
//! `Display`. What follows from a decision — the audit kind above all, which is hash-chained —
//! is read from the value, so rewording a message cannot change what is audited.

use crate::store::audit::AuditKind;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send now. `ledger_day` is the quota day the push counts against (WeChat).
    Send {
        override_: bool,
        ledger_day: Option<String>,
        dry_run: bool,
        /// Prose only: what follows from a send is in `override_` and `ledger_day`.
        reason: String,
    },
    /// Not sent; an officer may release it (e.g. the flood guard held an override).
    Hold { reason: HoldReason },
    /// Not for this channel.
    Skip { reason: SkipReason },
    /// Waits for the channel's routine digest of `day`.
    Digest { day: String, reason: DigestWait },
}

impl Decision {
    /// The reason as `status` and the audit trail show it.
    pub fn reason(&self) -> String {
        match self {
            Decision::Send { reason, .. } => reason.clone(),
            Decision::Hold { reason } => reason.to_string(),
            Decision::Skip { reason } => reason.to_string(),
            Decision::Digest { reason, .. } => reason.to_string(),
        }
    }

    /// What the audit trail records of this decision, if anything.
    pub fn audit_kind(&self) -> Option<AuditKind> {
        match self {
            Decision::Send { override_: true, .. } => Some(AuditKind::Override),
            Decision::Send {
                ledger_day: Some(_), ..
            } => Some(AuditKind::QuotaUsed),
            Decision::Send { .. } | Decision::Digest { .. } => None,
            Decision::Hold { .. } => Some(AuditKind::Held),
            Decision::Skip { reason } => reason.audit_kind(),
        }
    }
}

/// How every flood-guard hold's reason begins (`status` and the audit trail's `held` rows).
pub const HELD_FLOOD: &str = "override flood guard";

#[derive(Debug, Clone, PartialEq)]
pub enum HoldReason {
    /// An emergency found the quota used, and the override flood guard refused it (`why`).
    FloodGuard { why: String, used: QuotaUsed },
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::FloodGuard { why, used } => write!(f, "{HELD_FLOOD}: {why}; {used}"),
        }
    }
}

/// Which of a WeChat channel's push quotas is used up.
#[derive(Debug, Clone, PartialEq)]
pub enum QuotaUsed {
    Daily { used: u32, limit: u32, day: String },
    Monthly { used: u32, limit: u32 },
}

impl fmt::Display for QuotaUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaUsed::Daily { used, limit, day } => {
                write!(f, "daily quota used ({used}/{limit} on {day})")
            }
            QuotaUsed::Monthly { used, limit } => {
                write!(f, "monthly quota used ({used}/{limit} this month)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The assessment's action is none.
    NothingToPublish,
    /// Info is not for the office's staff channels.
    InfoNotForStaff,
    /// Info on Weibo, with `rules.info_to_weibo = false`.
    InfoNotOnWeibo,
    OutOfScope,
    /// A cancellation never takes a second WeChat push.
    CancelOnWeibo,
    /// An update takes a second WeChat push only if it rises to emergency.
    UpdateOnWeibo,
    InfoNotPushed,
    /// Not an emergency, and the quota is used.
    QuotaUsed(QuotaUsed),
    /// A routine alert after the day's digest went.
    RoutineAfterDigest {
        at: LocalTime,
        why: RoutineWhy,
    },
    /// A routine alert kept from the push, on a channel without a digest.
    RoutineNotPushed {
        why: RoutineWhy,
    },
    /// `alertd push --channel` named other channels.
    NotNamedInChannel,
}

impl SkipReason {
    fn audit_kind(&self) -> Option<AuditKind> {
        match self {
            SkipReason::QuotaUsed(_) => Some(AuditKind::QuotaRefused),
            SkipReason::RoutineAfterDigest { why, .. } | SkipReason::RoutineNotPushed { why } => {
                why.reserved().then_some(AuditKind::QuotaReserved)
            }
            _ => None,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NothingToPublish => f.write_str("nothing to publish"),
            SkipReason::InfoNotForStaff => f.write_str("info: staff channels are not told"),
            SkipReason::InfoNotOnWeibo => f.write_str("info: not posted (rules.info_to_weibo = false)"),
            SkipReason::OutOfScope => f.write_str("out of scope"),
            SkipReason::CancelOnWeibo => {
                f.write_str("cancellation: posted on Weibo; never a second WeChat push")
            }
            SkipReason::UpdateOnWeibo => f.write_str(
                "update: corrections go to Weibo; a second WeChat push only if the class rises to emergency",
            ),
            SkipReason::InfoNotPushed => f.write_str("info: not pushed on WeChat"),
            SkipReason::QuotaUsed(used) => write!(f, "{used}"),
            SkipReason::RoutineAfterDigest { at, why } => {
                write!(f, "routine: after today's {at} digest ({why}); not pushed")
            }
            SkipReason::RoutineNotPushed { why } => write!(f, "routine: not pushed ({why})"),
            SkipReason::NotNamedInChannel => f.write_str("not named in --channel"),
        }
    }
}

/// Why a routine alert does not take the push now.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutineWhy {
    /// Before the channel's `reserve_until`.
    Reserved { until: LocalTime },
    /// `routine = "digest"`.
    DigestPolicy,
}

impl RoutineWhy {
    fn reserved(&self) -> bool {
        matches!(self, RoutineWhy::Reserved { .. })
    }
}

impl fmt::Display for RoutineWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutineWhy::Reserved { until } => {
                write!(f, "the push is reserved for emergencies until {until}")
            }
            RoutineWhy::DigestPolicy => f.write_str("routine = \"digest\""),
        }
    }
}

/// A routine alert waiting for the digest at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestWait {
    pub at: LocalTime,
    pub why: RoutineWhy,
}

impl fmt::Display for DigestWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "routine: waits for the {} digest ({})", self.at, self.why)
    }
}

/// A local time of day (hour, minute), shown `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(pub i8, pub i8);

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0, self.1)
    }
}
