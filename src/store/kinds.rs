//! The typed values the store keeps in its text columns: a delivery's status, its operation and
//! its remaining emergency fallbacks, and the kind of an audit row.
//!
//! Each has one mapping to the words stored (the `names!` table below), used to write and read
//! rows and nowhere else, so code compares values, never strings — a reworded message or a typo
//! cannot change what is counted or audited. The words are those older stores hold, so they
//! still read; a word this build does not know is [`StoreError::Corrupt`] naming the column,
//! never a default that would silently reclassify a row.

use super::StoreError;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;
use std::fmt;

/// A stored word this build does not know; turned into [`StoreError::Corrupt`] on its way out of
/// the store (see `From<rusqlite::Error> for StoreError`), since rusqlite's row readers can only
/// fail with its own error type.
#[derive(Debug)]
pub struct UnknownValue {
    pub column: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: unknown value {:?}", self.column, self.value)
    }
}

impl std::error::Error for UnknownValue {}

impl From<UnknownValue> for StoreError {
    fn from(u: UnknownValue) -> Self {
        StoreError::Corrupt(u.to_string())
    }
}

/// One table per enum: variant ⇄ stored word, and the column it is stored in (for the error).
macro_rules! names {
    ($ty:ident in $column:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The stored word; also the name logs and metrics use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            pub(super) fn parse(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(UnknownValue {
                        column: $column,
                        value: other.to_string(),
                    }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad`, so `{:<15}` in the CLI's tables lines up as it did with the strings.
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                $ty::parse(v.as_str()?).map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

/// Where a delivery intent is: the gate writes the first state, the deliverer moves `Pending`
/// on (delivered / failed / expired / dry-run), the digest moves `Digest` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Delivered,
    Failed,
    Held,
    Skipped,
    Expired,
    DryRun,
    /// Waiting for the routine digest of its `digest_day`.
    Digest,
    /// Included in a digest (see `decision` for which).
    Digested,
}

names!(Status in "deliveries.status" {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
    Held => "held",
    Skipped => "skipped",
    Expired => "expired",
    DryRun => "dry_run",
    Digest => "digest",
    Digested => "digested",
});

/// What the channel is asked to do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The channel's normal operation (WeChat: the mass send).
    Send,
    /// WeChat's free publish: the emergency fallback that needs no push quota.
    FreePublish,
    /// A staff channel telling the officers that an emergency fell back.
    Notice,
}

names!(Op in "deliveries.op" {
    Send => "send",
    FreePublish => "freepublish",
    Notice => "notice",
});

/// What an audit row records. Part of the row's hash as its stored word, so these words are
/// the chain's and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// An emergency took a push the quota did not have.
    Override,
    /// A push counted against the day's quota.
    QuotaUsed,
    /// The quota was used: a push was refused.
    QuotaRefused,
    /// The push was kept for emergencies (`reserve_until`).
    QuotaReserved,
    /// The platform refused for good: the push is given back to the day.
    QuotaRefund,
    /// Held, for an officer to release (the override flood guard).
    Held,
    /// The gate would have sent, but the text could not be composed.
    ComposeFailed,
    /// An emergency WeChat refused went on to its next fallback step.
    Fallback,
    /// The routine digest was dropped or went to Weibo.
    Digest,
    /// An officer's `alertd push`.
    ManualPush,
}

names!(AuditKind in "audit.kind" {
    Override => "override",
    QuotaUsed => "quota_used",
    QuotaRefused => "quota_refused",
    QuotaReserved => "quota_reserved",
    QuotaRefund => "quota_refund",
    Held => "held",
    ComposeFailed => "compose_failed",
    Fallback => "fallback",
    Digest => "digest",
    ManualPush => "manual_push",
});

/// One step of a WeChat channel's `emergency_fallback` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallbackStep {
    /// The same account's free publish (no push, no quota).
    FreePublish,
    /// Another channel, by name, which gets a notice.
    Channel(String),
}

impl FallbackStep {
    /// The config's word for the free publish; any other entry names a channel (which config
    /// validation checks exists).
    const FREEPUBLISH: &'static str = "freepublish";

    pub fn from_config(entry: &str) -> Self {
        if entry == Self::FREEPUBLISH {
            FallbackStep::FreePublish
        } else {
            FallbackStep::Channel(entry.to_string())
        }
    }

    /// As the config and the audit prose name it: `freepublish` or the channel's name.
    pub fn name(&self) -> &str {
        match self {
            FallbackStep::FreePublish => Self::FREEPUBLISH,
            FallbackStep::Channel(c) => c,
        }
    }
}

impl fmt::Display for FallbackStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl serde::Serialize for FallbackStep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `deliveries.fallback`: the steps still to try, as a JSON array of their names (`NULL` when
/// there are none). Version 4 stores joined them with commas; migration 5 rewrote them.
pub(crate) fn fallback_to_sql(steps: &[FallbackStep]) -> Option<String> {
    if steps.is_empty() {
        return None;
    }
    let names: Vec<&str> = steps.iter().map(FallbackStep::name).collect();
    // A list of strings always serialises.
    serde_json::to_string(&names).ok()
}

pub(crate) fn fallback_from_sql(stored: Option<&str>) -> Result<Vec<FallbackStep>, UnknownValue> {
    let Some(s) = stored else {
        return Ok(Vec::new());
    };
    let bad = || UnknownValue {
        column: "deliveries.fallback",
        value: s.to_string(),
    };
    let names: Vec<String> = serde_json::from_str(s).map_err(|_| bad())?;
    if names.iter().any(|n| n.is_empty()) {
        return Err(bad());
    }
    Ok(names.iter().map(|n| FallbackStep::from_config(n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_its_value() {
        for s in [
            Status::Pending,
            Status::Delivered,
            Status::Failed,
            Status::Held,
            Status::Skipped,
            Status::Expired,
            Status::DryRun,
            Status::Digest,
            Status::Digested,
        ] {
            assert_eq!(Status::parse(s.as_str()).expect("known"), s);
        }
        for o in [Op::Send, Op::FreePublish, Op::Notice] {
            assert_eq!(Op::parse(o.as_str()).expect("known"), o);
        }
        for k in [
            AuditKind::Override,
            AuditKind::QuotaUsed,
            AuditKind::QuotaRefused,
            AuditKind::QuotaReserved,
            AuditKind::QuotaRefund,
            AuditKind::Held,
            AuditKind::ComposeFailed,
            AuditKind::Fallback,
            AuditKind::Digest,
            AuditKind::ManualPush,
        ] {
            assert_eq!(AuditKind::parse(k.as_str()).expect("known"), k);
        }
    }

    #[test]
    fn an_unknown_word_names_its_column() {
        let e = StoreError::from(Status::parse("sent").expect_err("unknown"));
        assert_eq!(
            e.to_string(),
            "store: corrupt row: deliveries.status: unknown value \"sent\""
        );
        let e = StoreError::from(fallback_from_sql(Some("freepublish,wecom")).expect_err("not JSON"));
        assert!(e.to_string().contains("deliveries.fallback"), "{e}");
        assert!(fallback_from_sql(Some("[\"\"]")).is_err());
    }

    #[test]
    fn the_fallback_list_round_trips() {
        let steps = vec![FallbackStep::FreePublish, FallbackStep::Channel("wecom".into())];
        let stored = fallback_to_sql(&steps);
        assert_eq!(stored.as_deref(), Some(r#"["freepublish","wecom"]"#));
        assert_eq!(fallback_from_sql(stored.as_deref()).expect("reads"), steps);
        assert_eq!(fallback_to_sql(&[]), None);
        assert_eq!(fallback_from_sql(None).expect("reads"), Vec::new());
    }
}
