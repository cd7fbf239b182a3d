//! Typed, read-only rows of a store, for tests and tools.
//!
//! The integration tests (and tools such as the bench) check what the daemon recorded: which
//! deliveries ended how, what the journal kept, what the ledger and the audit trail say. They
//! read it here, as named rows, instead of running SQL of their own: the schema stays the
//! store's business, and a second backend only has to implement these reads (and the two fault
//! injections at the end) to run the same tests.
//!
//! Every table is read whole, in a fixed order; the callers filter in Rust. The stores tests
//! make are small, and a test that polls the row counts has [`Inspect::counts`].

use super::kinds::{fallback_from_sql, AuditKind, FallbackStep, Op};
use super::outbox::Status;
use super::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, Row};
use std::path::Path;
use std::time::Duration;

/// A read-only view of the store at a path.
pub struct Inspect {
    conn: Connection,
}

/// One row of `deliveries`: a delivery intent and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The delivery id (WeChat's clientmsgid).
    pub id: String,
    pub alert_id: i64,
    pub channel: String,
    pub status: Status,
    /// Why the gate decided what it did.
    pub decision: String,
    pub text: String,
    pub dry_run: bool,
    pub override_: bool,
    /// The quota day this delivery counted against.
    pub ledger_day: Option<String>,
    pub deadline_ms: i64,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub platform_ref: Option<String>,
    pub last_error: Option<String>,
    /// The request as it was (or would have been, dry run) sent.
    pub request: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub op: Op,
    /// The emergency fallback steps still to take.
    pub fallback: Vec<FallbackStep>,
    pub digest_day: Option<String>,
    /// WeChat mass job state: SEND_SUCCESS / SEND_FAIL / ...
    pub job_status: Option<String>,
}

impl DeliveryRow {
    /// `last_error`, or "" when there is none.
    pub fn error(&self) -> &str {
        self.last_error.as_deref().unwrap_or("")
    }
}

/// One row of `alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: i64,
    pub event_key: String,
    pub journal_id: i64,
    pub msg_id: String,
    /// alert | update | cancel | digest | manual
    pub action: String,
    pub class: String,
    pub reason: String,
    pub live: bool,
    pub created_ms: i64,
    pub deadline_ms: i64,
    pub origin_ms: Option<i64>,
    /// Whose budget it spends: the verifying feed key, unsigned, manual, digest.
    pub bucket: String,
}

/// One row of `journal`: a message as it arrived, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    pub id: i64,
    pub received_ms: i64,
    pub topic: String,
    pub content_hash: String,
    pub sender_id: Option<String>,
    pub msg_id: Option<String>,
    /// The size of the payload as it arrived.
    pub size: i64,
    /// The bytes the store kept of it.
    pub payload: Vec<u8>,
    /// accepted | rejected
    pub status: String,
    /// The decision, or why it was rejected.
    pub reason: String,
    pub reject_label: Option<String>,
    pub event_key: Option<String>,
    pub class: Option<String>,
    pub alert_id: Option<i64>,
    pub duplicates: i64,
}

impl JournalRow {
    /// Whether the kept payload contains `needle`, ASCII letters matched in either case (as
    /// SQL's `payload LIKE '%needle%'` does).
    pub fn payload_contains(&self, needle: &str) -> bool {
        let n = needle.as_bytes();
        n.is_empty() || self.payload.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    }
}

/// One row of `audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at_ms: i64,
    pub kind: AuditKind,
    pub channel: Option<String>,
    pub alert_id: Option<i64>,
    pub actor: String,
    pub reason: String,
    pub prev_hash: String,
    pub hash: String,
}

/// One row of `ledger`: the quota a channel used on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub channel: String,
    pub day: String,
    pub used: i64,
}

/// One row of `digests`: what became of a channel's routine digest of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRow {
    pub channel: String,
    pub day: String,
    pub at_ms: i64,
    /// pushed | weibo | dropped | empty | missed
    pub outcome: String,
    pub alert_id: Option<i64>,
    pub items: i64,
    pub reason: String,
}

/// How many rows each table holds (cheap enough to poll).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub journal: i64,
    pub events: i64,
    pub alerts: i64,
    pub deliveries: i64,
    /// Deliveries still `pending`.
    pub pending: i64,
    pub digests: i64,
}

impl Inspect {
    /// Opens the store at `path` read-only (it must exist; this works on a full disk too).
    pub fn open(path: &Path) -> Result<Inspect> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(Inspect { conn })
    }

    /// Every delivery, in creation order.
    pub fn deliveries(&self) -> Result<Vec<DeliveryRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, alert_id, channel, status, decision, text, dry_run, override, ledger_day,
                    deadline_ms, attempts, next_attempt_ms, platform_ref, last_error, request,
                    created_ms, updated_ms, op, fallback, digest_day, job_status
             FROM deliveries ORDER BY created_ms, rowid",
        )?;
        let rows = st.query_map([], delivery)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The delivery with `id`, if there is one.
    pub fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        Ok(self.deliveries()?.into_iter().find(|d| d.id == id))
    }

    /// Every alert, by id.
    pub fn alerts(&self) -> Result<Vec<AlertRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, event_key, journal_id, msg_id, action, class, reason, live, created_ms,
                    deadline_ms, origin_ms, bucket
             FROM alerts ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(AlertRow {
                id: r.get(0)?,
                event_key: r.get(1)?,
                journal_id: r.get(2)?,
                msg_id: r.get(3)?,
                action: r.get(4)?,
                class: r.get(5)?,
                reason: r.get(6)?,
                live: r.get(7)?,
                created_ms: r.get(8)?,
                deadline_ms: r.get(9)?,
                origin_ms: r.get(10)?,
                bucket: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every journal entry, by id.
    pub fn journal(&self) -> Result<Vec<JournalRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, received_ms, topic, content_hash, sender_id, msg_id, size, payload, status,
                    reason, reject_label, event_key, class, alert_id, duplicates
             FROM journal ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(JournalRow {
                id: r.get(0)?,
                received_ms: r.get(1)?,
                topic: r.get(2)?,
                content_hash: r.get(3)?,
                sender_id: r.get(4)?,
                msg_id: r.get(5)?,
                size: r.get(6)?,
                payload: r.get(7)?,
                status: r.get(8)?,
                reason: r.get(9)?,
                reject_label: r.get(10)?,
                event_key: r.get(11)?,
                class: r.get(12)?,
                alert_id: r.get(13)?,
                duplicates: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The audit trail, by id.
    pub fn audit(&self) -> Result<Vec<AuditRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, at_ms, kind, channel, alert_id, actor, reason, prev_hash, hash
             FROM audit ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                kind: r.get(2)?,
                channel: r.get(3)?,
                alert_id: r.get(4)?,
                actor: r.get(5)?,
                reason: r.get(6)?,
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The quota ledger, by channel and day.
    pub fn ledger(&self) -> Result<Vec<LedgerRow>> {
        let mut st = self
            .conn
            .prepare("SELECT channel, day, used FROM ledger ORDER BY channel, day")?;
        let rows = st.query_map([], |r| {
            Ok(LedgerRow {
                channel: r.get(0)?,
                day: r.get(1)?,
                used: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The digest outcomes, by channel and day.
    pub fn digests(&self) -> Result<Vec<DigestRow>> {
        let mut st = self.conn.prepare(
            "SELECT channel, day, at_ms, outcome, alert_id, items, reason
             FROM digests ORDER BY channel, day",
        )?;
        let rows = st.query_map([], |r| {
            Ok(DigestRow {
                channel: r.get(0)?,
                day: r.get(1)?,
                at_ms: r.get(2)?,
                outcome: r.get(3)?,
                alert_id: r.get(4)?,
                items: r.get(5)?,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The row count of each table.
    pub fn counts(&self) -> Result<Counts> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM journal), (SELECT COUNT(*) FROM events),
                    (SELECT COUNT(*) FROM alerts), (SELECT COUNT(*) FROM deliveries),
                    (SELECT COUNT(*) FROM deliveries WHERE status = 'pending'),
                    (SELECT COUNT(*) FROM digests)",
            [],
            |r| {
                Ok(Counts {
                    journal: r.get(0)?,
                    events: r.get(1)?,
                    alerts: r.get(2)?,
                    deliveries: r.get(3)?,
                    pending: r.get(4)?,
                    digests: r.get(5)?,
                })
            },
        )?)
    }
}

fn delivery(r: &Row) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        channel: r.get(2)?,
        status: r.get(3)?,
        decision: r.get(4)?,
        text: r.get(5)?,
        dry_run: r.get(6)?,
        override_: r.get(7)?,
        ledger_day: r.get(8)?,
        deadline_ms: r.get(9)?,
        attempts: r.get(10)?,
        next_attempt_ms: r.get(11)?,
        platform_ref: r.get(12)?,
        last_error: r.get(13)?,
        request: r.get(14)?,
        created_ms: r.get(15)?,
        updated_ms: r.get(16)?,
        op: r.get(17)?,
        fallback: fallback_from_sql(r.get::<_, Option<String>>(18)?.as_deref()).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(18, rusqlite::types::Type::Text, Box::new(e))
        })?,
        digest_day: r.get(19)?,
        job_status: r.get(20)?,
    })
}

// ---- fault injection: the two states the fault tests must make by hand, written here so that
// ---- no test writes the schema itself.

/// Fault tests only: makes delivery `id` look as if the commit that recorded its outcome was
/// lost in a crash (status back to `pending`, no platform ref, no error), so a restart shows
/// what recovers it.
pub fn simulate_lost_commit(path: &Path, id: &str) -> Result<()> {
    let c = super::open(path)?;
    let n = c.execute(
        "UPDATE deliveries SET status = 'pending', platform_ref = NULL, last_error = NULL WHERE id = ?1",
        [id],
    )?;
    if n != 1 {
        return Err(StoreError::Corrupt(format!("no delivery {id:?} to unrecord")));
    }
    Ok(())
}

/// Tests only: rewrites the reason of audit row `id` behind the chain's back, as someone editing
/// the file would, so `alertd audit --verify` can be shown to notice.
pub fn tamper_audit_reason(path: &Path, id: i64, reason: &str) -> Result<()> {
    let c = super::open(path)?;
    let n = c.execute(
        "UPDATE audit SET reason = ?1 WHERE id = ?2",
        rusqlite::params![reason, id],
    )?;
    if n != 1 {
        return Err(StoreError::Corrupt(format!("no audit row #{id} to tamper with")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_store_reads_as_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        drop(super::super::open(&path).expect("create"));
        let i = Inspect::open(&path).expect("read-only");
        assert_eq!(i.counts().expect("counts"), Counts::default());
        assert!(i.deliveries().expect("deliveries").is_empty());
        assert!(i.journal().expect("journal").is_empty());
        assert!(simulate_lost_commit(&path, "nope").is_err());
        assert!(tamper_audit_reason(&path, 1, "x").is_err());
    }
}
