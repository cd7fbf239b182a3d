-- The schema of store version 2 (alertd at 7ea5706), for the migration test.

CREATE TABLE IF NOT EXISTS journal (
    id            INTEGER PRIMARY KEY,
    received_ms   INTEGER NOT NULL,
    topic         TEXT NOT NULL,
    content_hash  TEXT NOT NULL UNIQUE,
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
CREATE UNIQUE INDEX IF NOT EXISTS journal_msg ON journal(sender_id, msg_id) WHERE msg_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_received ON journal(received_ms);

CREATE TABLE IF NOT EXISTS events (
    event_key     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,          -- JSON of events::EventState
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
    origin_ms     INTEGER                 -- when the event happened (quake origin, warning sent)
);

CREATE TABLE IF NOT EXISTS deliveries (
    id              TEXT PRIMARY KEY,     -- the delivery id, WeChat's clientmsgid (≤ 64 bytes)
    alert_id        INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,        -- pending | delivered | failed | held | skipped | expired | dry_run
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
    fallback        TEXT,                 -- remaining emergency fallbacks, comma-separated
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
