//! The store: journal, events, alerts, outbox (deliveries), quota ledger and audit, in SQLite.
//!
//! SQLite in WAL mode with `synchronous=FULL`: a commit is on disk when it returns, which is the
//! promise the MQTT ack and the outbox rest on. Functions take a `&Connection` so the pipeline
//! can run them inside one transaction (a `Transaction` derefs to a `Connection`).
//! Times are stored as Unix milliseconds.

pub mod audit;
pub mod checkpoint;
pub mod digests;
pub mod events;
pub mod inspect;
pub mod journal;
pub mod kinds;
pub mod ledger;
pub mod manual;
pub mod outbox;
pub mod published;
pub mod session;
pub mod writer;

use rusqlite::Connection;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("store: cannot create {path}: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("store: corrupt row: {0}")]
    Corrupt(String),
    /// The write ran but its transaction did not commit (disk full, I/O error), or the writer
    /// thread is gone.
    #[error("store: not committed: {0}")]
    Commit(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    /// A typed column that held a word this build does not know ([`kinds::UnknownValue`], raised
    /// inside rusqlite's row reader) comes out as `Corrupt`, not as a SQLite error.
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::FromSqlConversionFailure(i, t, inner) => {
                match inner.downcast::<kinds::UnknownValue>() {
                    Ok(u) => StoreError::from(*u),
                    Err(inner) => StoreError::Sqlite(rusqlite::Error::FromSqlConversionFailure(i, t, inner)),
                }
            }
            e => StoreError::Sqlite(e),
        }
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS journal (
    id            INTEGER PRIMARY KEY,
    received_ms   INTEGER NOT NULL,
    topic         TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    sender_id     TEXT,
    msg_id        TEXT,
    size          INTEGER NOT NULL,
    payload       BLOB NOT NULL,
    status        TEXT NOT NULL,          -- accepted | rejected
    reason        TEXT NOT NULL,          -- the decision, or why it was rejected
    reject_label  TEXT,
    event_key     TEXT,
    class         TEXT,
    alert_id      INTEGER,
    duplicates    INTEGER NOT NULL DEFAULT 0
);
-- One accepted row per content and per (sender, msg_id); rejected rows may repeat both, since a
-- message refused on one topic may be taken on another (journal::find_duplicate).
CREATE UNIQUE INDEX IF NOT EXISTS journal_accepted_hash ON journal(content_hash) WHERE status = 'accepted';
CREATE INDEX IF NOT EXISTS journal_hash ON journal(content_hash);
CREATE UNIQUE INDEX IF NOT EXISTS journal_msg ON journal(sender_id, msg_id) WHERE msg_id IS NOT NULL AND status = 'accepted';
CREATE INDEX IF NOT EXISTS journal_received ON journal(received_ms);

CREATE TABLE IF NOT EXISTS events (
    event_key     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,          -- JSON of model::EventState
    updated_ms    INTEGER NOT NULL,
    origin_ms     INTEGER                 -- quakes: origin time, to match the same quake across sources
);
CREATE INDEX IF NOT EXISTS events_origin ON events(origin_ms);
CREATE TABLE IF NOT EXISTS event_ids (
    id            TEXT PRIMARY KEY,
    event_key     TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS alerts (
    id            INTEGER PRIMARY KEY,
    event_key     TEXT NOT NULL,
    journal_id    INTEGER NOT NULL,
    msg_id        TEXT NOT NULL,
    action        TEXT NOT NULL,          -- alert | update | cancel
    class         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    live          INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    deadline_ms   INTEGER NOT NULL,
    origin_ms     INTEGER,                -- when the event happened (quake origin, warning sent)
    bucket        TEXT NOT NULL DEFAULT 'unsigned', -- whose budget it spends: the verifying feed key, unsigned, manual, digest
    event         TEXT                    -- the published Event, model::stored (NULL: a manual push or digest)
);

CREATE TABLE IF NOT EXISTS deliveries (
    id              TEXT PRIMARY KEY,     -- the delivery id, WeChat's clientmsgid (≤ 64 bytes)
    alert_id        INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,        -- kinds::Status: pending | delivered | failed | held | skipped | expired | dry_run | digest | digested
    decision        TEXT NOT NULL,        -- why the gate decided what it did
    text            TEXT NOT NULL,
    dry_run         INTEGER NOT NULL,
    override        INTEGER NOT NULL,
    ledger_day      TEXT,                 -- the quota day this delivery counted against
    deadline_ms     INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    platform_ref    TEXT,
    last_error      TEXT,
    request         TEXT,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    op              TEXT NOT NULL DEFAULT 'send',  -- send | freepublish | notice
    fallback        TEXT,                 -- remaining emergency fallbacks, a JSON array of names (kinds::fallback_to_sql)
    digest_day      TEXT,                 -- status 'digest': the local day whose digest takes it
    job_status      TEXT                  -- WeChat mass job: SEND_SUCCESS / SEND_FAIL / ...
);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries(status);
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries(alert_id);

CREATE TABLE IF NOT EXISTS ledger (
    channel       TEXT NOT NULL,
    day           TEXT NOT NULL,          -- local calendar day in the channel's time zone
    used          INTEGER NOT NULL,
    PRIMARY KEY (channel, day)
);

CREATE TABLE IF NOT EXISTS mqtt_session (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    updated_ms    INTEGER NOT NULL,
    session       TEXT NOT NULL           -- JSON of session::MqttSession
);

CREATE TABLE IF NOT EXISTS digests (
    channel       TEXT NOT NULL,
    day           TEXT NOT NULL,
    at_ms         INTEGER NOT NULL,
    outcome       TEXT NOT NULL,          -- pushed | weibo | dropped | empty | missed
    alert_id      INTEGER,
    items         INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (channel, day)
);

CREATE TABLE IF NOT EXISTS manual (
    id            INTEGER PRIMARY KEY,
    at_ms         INTEGER NOT NULL,
    text          TEXT NOT NULL,
    text_hash     TEXT NOT NULL,
    day           TEXT NOT NULL,          -- local day (Asia/Shanghai) for the duplicate rule
    emergency     INTEGER NOT NULL,
    channels      TEXT,                   -- comma-separated; NULL = every channel
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    force         INTEGER NOT NULL,
    status        TEXT NOT NULL,          -- pending | accepted | refused
    result        TEXT,
    alert_id      INTEGER
);

CREATE TABLE IF NOT EXISTS audit (
    id            INTEGER PRIMARY KEY,
    at_ms         INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    channel       TEXT,
    alert_id      INTEGER,
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
"#;

/// Opens (creating if needed) the store at `path` with the durability settings.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let conn = Connection::open(path)?;
    // Two connections write (the pipeline's and the deliverer's writer). SQLite's default busy
    // handler (what busy_timeout installs) sleeps 1, 2, 5, 10 … 100 ms between tries, far longer
    // than a commit holds the lock (about a millisecond): in a burst the pipeline slept 1.4 s in
    // 9 s that way (bench/README.md, finding 1). Poll every 50 µs instead, then every
    // millisecond, for about 20 s in all.
    conn.busy_handler(Some(busy_wait))?;
    // Statements go through prepare_cached: re-parsing SQL was 12 % of the daemon's CPU in a
    // burst (bench/README.md, finding 4). The pipeline uses about 30 distinct ones, the deliverer's writes (same connection) about 20 more.
    conn.set_prepared_statement_cache_capacity(96);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    init(&conn)?;
    Ok(conn)
}

/// As [`open`], for the daemon's hot connections (pipeline, deliverer's writer): no automatic
/// checkpoint inside their commits; the daemon runs a [`checkpoint::Checkpointer`] instead.
pub fn open_hot(path: &Path) -> Result<Connection> {
    let conn = open(path)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

fn busy_wait(tries: i32) -> bool {
    let pause = if tries < 200 { 50 } else { 1000 };
    std::thread::sleep(std::time::Duration::from_micros(pause));
    tries < 20_000
}

/// The schema this build writes. A store written by another version is refused, not guessed at.
pub const SCHEMA_VERSION: i64 = STORED_EVENT;

/// Creates the tables if they do not exist.
pub fn init(conn: &Connection) -> Result<()> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let empty: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    let oldest = MIGRATIONS.first().map_or(SCHEMA_VERSION, |(to, _)| to - 1);
    if empty > 0 && (v < oldest || v > SCHEMA_VERSION) {
        return Err(StoreError::Corrupt(format!(
            "the store has schema version {v}; this alertd reads {oldest} to {SCHEMA_VERSION} (move the old store aside)"
        )));
    }
    // Forward-only: an upgraded alertd keeps the store it finds (its journal, ledger and audit
    // trail are the office's record), adding what the new version needs, in one transaction.
    let mut batch = String::from("BEGIN IMMEDIATE;\n");
    if empty > 0 {
        for (to, sql) in MIGRATIONS.iter().filter(|(to, _)| *to > v) {
            batch.push_str(sql);
            batch.push_str(&format!("\nPRAGMA user_version = {to};\n"));
        }
    }
    batch.push_str(SCHEMA);
    batch.push_str(&format!("\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"));
    if let Err(e) = conn.execute_batch(&batch) {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

/// Schema changes since version 2, each taking the store to the version it names.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        3,
        "ALTER TABLE alerts ADD COLUMN bucket TEXT NOT NULL DEFAULT 'unsigned';",
    ),
    // content_hash and (sender, msg_id) are unique among accepted rows only (see SCHEMA);
    // SQLite drops a constraint only by rebuilding the table. Its indexes go with the old
    // table and SCHEMA creates the new ones.
    (
        4,
        "CREATE TABLE journal_v4 (
            id            INTEGER PRIMARY KEY,
            received_ms   INTEGER NOT NULL,
            topic         TEXT NOT NULL,
            content_hash  TEXT NOT NULL,
            sender_id     TEXT,
            msg_id        TEXT,
            size          INTEGER NOT NULL,
            payload       BLOB NOT NULL,
            status        TEXT NOT NULL,
            reason        TEXT NOT NULL,
            reject_label  TEXT,
            event_key     TEXT,
            class         TEXT,
            alert_id      INTEGER,
            duplicates    INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO journal_v4 (id, received_ms, topic, content_hash, sender_id, msg_id, size, payload,
                                status, reason, reject_label, event_key, class, alert_id, duplicates)
            SELECT id, received_ms, topic, content_hash, sender_id, msg_id, size, payload,
                   status, reason, reject_label, event_key, class, alert_id, duplicates FROM journal;
        DROP TABLE journal;
        ALTER TABLE journal_v4 RENAME TO journal;",
    ),
    (FALLBACK_AS_JSON, FALLBACK_AS_JSON_SQL),
    // Each alert keeps the event it published (model::stored), so no reader decodes the feed
    // message again. Older rows get theirs from `backfill_events` when the daemon opens the store.
    (STORED_EVENT, "ALTER TABLE alerts ADD COLUMN event TEXT;"),
];

/// The step that turned `deliveries.fallback` from names joined with commas into a JSON array
/// of names (see [`kinds::fallback_from_sql`]), so a step is a value, not a substring.
const FALLBACK_AS_JSON: i64 = 5;
const STORED_EVENT: i64 = 6;

// Split in SQL, so the step is a statement like the others: each row's list, with a comma
// appended, is cut at its first comma until nothing is left; names are trimmed as the old
// reader trimmed them, empty ones dropped (a list of none becomes NULL, as the new writer
// writes it). A temporary table, so the UPDATE never reads rows it has already rewritten.
const FALLBACK_AS_JSON_SQL: &str = "CREATE TEMP TABLE fallback_v5 AS
        WITH RECURSIVE split(id, pos, item, rest) AS (
            SELECT id, 0, NULL, fallback || ',' FROM deliveries WHERE fallback IS NOT NULL
            UNION ALL
            SELECT id, pos + 1, trim(substr(rest, 1, instr(rest, ',') - 1)),
                   substr(rest, instr(rest, ',') + 1)
            FROM split WHERE rest != ''
        )
        SELECT id, json_group_array(item ORDER BY pos) AS list FROM split
        WHERE item IS NOT NULL AND item != '' GROUP BY id;
    UPDATE deliveries SET fallback = (SELECT list FROM fallback_v5 WHERE fallback_v5.id = deliveries.id)
        WHERE fallback IS NOT NULL;
    DROP TABLE fallback_v5;";

pub fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn from_ms(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    #[test]
    fn a_version_2_store_is_migrated_and_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).expect("open");
            c.execute_batch(include_str!("schema-v2.sql")).expect("v2 schema");
            c.execute_batch(
                "PRAGMA user_version = 2;
                 INSERT INTO alerts (id, event_key, journal_id, msg_id, action, class, reason, live, created_ms, deadline_ms)
                 VALUES (7, 'e1', 1, 'm1', 'alert', 'emergency', 'r', 1, 0, 0);
                 INSERT INTO journal (id, received_ms, topic, content_hash, sender_id, msg_id, size, payload, status, reason)
                 VALUES (1, 5, 'feeds/x', 'h1', 'cenc', 'm1', 3, X'414243', 'accepted', 'r');",
            )
            .expect("v2 row");
        }
        let c = open(&path).expect("a v2 store opens");
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        let (key, bucket): (String, String) = c
            .query_row("SELECT event_key, bucket FROM alerts WHERE id = 7", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("the old row");
        assert_eq!((key.as_str(), bucket.as_str()), ("e1", "unsigned"));
        // The journal was rebuilt (v4) with its rows, and its content rule is the new one: an
        // accepted hash stays unique, a rejected copy of it on another topic may be written.
        let (topic, payload): (String, Vec<u8>) = c
            .query_row("SELECT topic, payload FROM journal WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("the old journal row");
        assert_eq!((topic.as_str(), payload.as_slice()), ("feeds/x", &b"ABC"[..]));
        let insert = |status: &str| {
            c.execute(
                "INSERT INTO journal (received_ms, topic, content_hash, size, payload, status, reason)
                 VALUES (6, 'feeds/y', 'h1', 3, X'00', ?1, 'r')",
                [status],
            )
        };
        insert("rejected").expect("a rejected copy");
        insert("accepted").expect_err("a second accepted copy");
        drop(c);
        // Opening again is a no-op; a store from the future is refused.
        open(&path).expect("reopens");
        Connection::open(&path)
            .expect("open")
            .execute_batch("PRAGMA user_version = 99")
            .expect("bump");
        let err = open(&path).expect_err("a newer store is refused").to_string();
        assert!(err.contains("schema version 99"), "{err}");
    }

    /// A store as the step before [`FALLBACK_AS_JSON`] left it: fallbacks joined with commas,
    /// an audit chain with rows of the kinds written so far.
    #[test]
    fn comma_separated_fallbacks_become_typed_lists_and_old_audit_rows_read_and_verify() {
        use crate::store::audit::{self, AuditKind};
        use crate::store::outbox::{self, FallbackStep, Op, Status};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let t0 = jiff::Timestamp::from_millisecond(1_000).expect("t");
        {
            let c = Connection::open(&path).expect("open");
            c.execute_batch(include_str!("schema-v2.sql")).expect("v2 schema");
            for (_, sql) in MIGRATIONS.iter().filter(|(to, _)| *to < FALLBACK_AS_JSON) {
                c.execute_batch(sql).expect("an earlier step");
            }
            c.execute_batch(&format!(
                "PRAGMA user_version = {};
                 INSERT INTO alerts (id, event_key, journal_id, msg_id, action, class, reason, live, created_ms, deadline_ms)
                 VALUES (7, 'e1', 1, 'm1', 'alert', 'emergency', 'r', 1, 0, 0);
                 INSERT INTO deliveries (id, alert_id, channel, status, decision, text, dry_run, override,
                                         deadline_ms, next_attempt_ms, created_ms, updated_ms, op, fallback)
                 VALUES ('ad-wechat-1', 7, 'wechat', 'failed', 'd', 't', 0, 1, 9, 0, 0, 0, 'send', 'freepublish,wecom'),
                        ('ad-wechat-1~freepublish', 7, 'wechat', 'pending', 'd', 't', 0, 0, 9, 0, 0, 0, 'freepublish', 'wecom'),
                        ('ad-wecom-1', 7, 'wecom', 'dry_run', 'd', 't', 1, 0, 9, 0, 0, 0, 'send', NULL),
                        ('ad-weibo-1', 7, 'weibo', 'delivered', 'd', 't', 0, 0, 9, 0, 0, 0, 'send', '');",
                FALLBACK_AS_JSON - 1
            ))
            .expect("old rows");
            // The chain as the old code hashed it: kinds as strings.
            for kind in [AuditKind::QuotaUsed, AuditKind::Override, AuditKind::Fallback] {
                audit::append(
                    &c,
                    &audit::Record {
                        at: t0,
                        kind,
                        channel: Some("wechat"),
                        alert_id: Some(7),
                        actor: "rule: r",
                        reason: "why",
                    },
                )
                .expect("audit row");
            }
            c.execute(
                "INSERT INTO audit (at_ms, kind, channel, alert_id, actor, reason, prev_hash, hash)
                 SELECT 2000, 'quota_refund', 'wechat', 7, 'deliver', 'failed: 45028',
                        (SELECT hash FROM audit ORDER BY id DESC LIMIT 1), 'not checked here'",
                [],
            )
            .expect("a raw old row");
        }
        let c = open(&path).expect("the old store opens");
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        let root = outbox::get(&c, "ad-wechat-1").expect("reads").expect("row");
        assert_eq!(
            (root.status, root.op, root.fallback),
            (
                Status::Failed,
                Op::Send,
                vec![FallbackStep::FreePublish, FallbackStep::Channel("wecom".into())]
            )
        );
        let step = outbox::get(&c, "ad-wechat-1~freepublish")
            .expect("reads")
            .expect("row");
        assert_eq!(
            (step.status, step.op, step.fallback),
            (
                Status::Pending,
                Op::FreePublish,
                vec![FallbackStep::Channel("wecom".into())]
            )
        );
        for (id, status) in [("ad-wecom-1", Status::DryRun), ("ad-weibo-1", Status::Delivered)] {
            let d = outbox::get(&c, id).expect("reads").expect("row");
            assert_eq!((d.status, d.fallback), (status, Vec::new()), "{id}");
        }
        let stored: Option<String> = c
            .query_row(
                "SELECT fallback FROM deliveries WHERE id = 'ad-wechat-1'",
                [],
                |r| r.get(0),
            )
            .expect("raw");
        assert_eq!(stored.as_deref(), Some(r#"["freepublish","wecom"]"#));
        // Typed kinds are stored as the words the old code wrote, so the hashed bytes are those.
        let words: Vec<String> = c
            .prepare("SELECT kind FROM audit ORDER BY id")
            .expect("sql")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<std::result::Result<_, _>>()
            .expect("words");
        assert_eq!(words, ["quota_used", "override", "fallback", "quota_refund"]);
        let kinds: Vec<AuditKind> = audit::list(&c, None)
            .expect("audit")
            .into_iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                AuditKind::QuotaUsed,
                AuditKind::Override,
                AuditKind::Fallback,
                AuditKind::QuotaRefund
            ]
        );
        assert_eq!(
            audit::list(&c, Some(AuditKind::Override)).expect("audit").len(),
            1
        );
        // The rows hashed before the kinds were typed still verify; the raw one was never hashed.
        assert_eq!(audit::verify(&c).expect("verify").map(|(id, _)| id), Some(4));
        c.execute("DELETE FROM audit WHERE id = 4", [])
            .expect("drop the raw row");
        assert_eq!(audit::verify(&c).expect("verify"), None);
    }

    #[test]
    fn an_unknown_stored_word_is_corrupt_naming_its_column() {
        use crate::store::{audit, outbox};
        let c = Connection::open_in_memory().expect("db");
        init(&c).expect("schema");
        c.execute_batch(
            "INSERT INTO deliveries (id, alert_id, channel, status, decision, text, dry_run, override,
                                     deadline_ms, next_attempt_ms, created_ms, updated_ms, op)
             VALUES ('a', 1, 'wechat', 'sent', 'd', 't', 0, 0, 9, 0, 0, 0, 'send'),
                    ('b', 1, 'wechat', 'pending', 'd', 't', 0, 0, 9, 0, 0, 0, 'push');
             INSERT INTO deliveries (id, alert_id, channel, status, decision, text, dry_run, override,
                                     deadline_ms, next_attempt_ms, created_ms, updated_ms, op, fallback)
             VALUES ('c', 1, 'wechat', 'pending', 'd', 't', 0, 0, 9, 0, 0, 0, 'send', 'freepublish,wecom');
             INSERT INTO audit (at_ms, kind, actor, reason, prev_hash, hash) VALUES (0, 'overide', 'a', 'r', 'p', 'h');",
        )
        .expect("rows");
        let corrupt = |e: StoreError| match e {
            StoreError::Corrupt(m) => m,
            other => panic!("not Corrupt: {other:?}"),
        };
        let m = corrupt(outbox::get(&c, "a").expect_err("unknown status"));
        assert_eq!(m, "deliveries.status: unknown value \"sent\"");
        let m = corrupt(outbox::get(&c, "b").expect_err("unknown op"));
        assert_eq!(m, "deliveries.op: unknown value \"push\"");
        let m = corrupt(outbox::get(&c, "c").expect_err("not a JSON list"));
        assert_eq!(m, "deliveries.fallback: unknown value \"freepublish,wecom\"");
        let m = corrupt(audit::list(&c, None).expect_err("unknown kind"));
        assert_eq!(m, "audit.kind: unknown value \"overide\"");
    }
}
