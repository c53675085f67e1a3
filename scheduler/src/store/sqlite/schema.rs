//! The SQLite store's schema and connection settings.
//!
//! Why these settings: WAL lets readers run beside the one writer and never block it;
//! `synchronous=FULL` fsyncs the WAL at every commit, so an acknowledged write survives power
//! loss, not only `kill -9`; foreign keys keep documents, signatures and events attached to their
//! record; the busy timeout covers a moment of contention with `signq audit verify` or a backup.
//!
//! Times are unix nanoseconds (INTEGER): exact round trips of `OffsetDateTime`, ordered
//! comparisons in SQL, and the whole range a scheduler meets (1677 to 2262).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::conn::backend;
use crate::store::StoreError;

/// The schema version this code writes (`PRAGMA user_version`). Versions are shared with the
/// PostgreSQL store; version 10 is PostgreSQL's alone (several replicas), so SQLite goes from 9
/// to 11 (webhooks: new tables only, made by [`SCHEMA`]) and 12 (indexes of records by when they
/// finished, for a ward's backlog over time, and by who signed them when, for "signed today":
/// also made by [`SCHEMA`]).
const SCHEMA_VERSION: i64 = 12;

/// Version 3 counts time limits in working time: a limit of up to 8 clock hours was "the same
/// day", longer ones whole days, and every one had the 15:00 cut-off.
const TO_VERSION_3: &str = "
ALTER TABLE procedures ADD COLUMN time_limit TEXT NOT NULL DEFAULT 'same-day';
ALTER TABLE procedures ADD COLUMN cut_off TEXT NOT NULL DEFAULT '15:00';
UPDATE procedures SET time_limit = CASE
    WHEN time_limit_seconds <= 28800 THEN 'same-day'
    ELSE CAST((time_limit_seconds + 43200) / 86400 AS TEXT) || '-working-days' END;
ALTER TABLE procedures DROP COLUMN time_limit_seconds;
";

/// Version 4 warns before a record is late: when it was found at risk, and events that are
/// warnings rather than state changes.
const TO_VERSION_4: [(&str, &str, &str); 2] = [
    ("records", "at_risk_at", "INTEGER"),
    ("events", "kind", "TEXT NOT NULL DEFAULT 'change'"),
];

/// Version 5 gives each ward its own office hours (none: the scheduler's).
const TO_VERSION_5: [(&str, &str, &str); 1] = [("wards", "office_hours", "TEXT")];

/// Version 6 signs PDFs as PAdES: where intake asked for a record's signature, the update that
/// holds a PDF's signature, a ward's titles for signature blocks, a delegation's notation, and
/// a signer's signature image.
const TO_VERSION_6: [(&str, &str, &str); 5] = [
    ("signers", "signature_image", "BLOB"),
    ("records", "signature_place", "TEXT"),
    ("signatures", "pdf_update", "BLOB"),
    ("wards", "signature_titles", "TEXT"),
    ("delegations", "notation", "TEXT NOT NULL DEFAULT 'KT'"),
];

/// Version 7 seals signed PDFs in a second stage: which stage a record waits for, when its
/// person signed, the clerk who sealed it, and each ward's seal mode. Daily caps count the
/// person's signatures from `signed_at`, set for the records signed before.
const TO_VERSION_7: [(&str, &str, &str); 7] = [
    ("records", "stage", "TEXT NOT NULL DEFAULT 'person'"),
    ("records", "signed_at", "INTEGER"),
    ("records", "clerk_id", "TEXT"),
    ("events", "stage", "TEXT NOT NULL DEFAULT 'person'"),
    ("events", "signed_at", "INTEGER"),
    ("events", "clerk_id", "TEXT"),
    ("wards", "seal", "TEXT NOT NULL DEFAULT 'off'"),
];

/// After [`TO_VERSION_7`]'s columns and the tables: the person's signing time of records signed
/// before.
const TO_VERSION_7_DATA: &str = "
UPDATE records SET signed_at = finished_at WHERE state = 'signed' AND signed_at IS NULL;
DROP INDEX IF EXISTS records_delegation_finished;
";

/// Adds `column` to `table` if the table exists without it (a new table gets it from [`SCHEMA`]).
fn add_column(
    tx: &rusqlite::Transaction<'_>,
    (table, column, declaration): (&str, &str, &str),
) -> rusqlite::Result<()> {
    let (exists, has): (bool, bool) = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1), \
         EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
        [table, column],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if exists && !has {
        tx.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
        ))?;
    }
    Ok(())
}

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection: every statement the store runs, with room to spare
/// (rusqlite's default of 16 would evict some on every batch).
const STATEMENT_CACHE: usize = 64;

/// Every table and index. Idempotent (`IF NOT EXISTS`), applied at every open.
const SCHEMA: &str = r#"
-- One row per record: the fixed facts, then the current state. The document lives apart so
-- that listing and state changes never read it.
CREATE TABLE IF NOT EXISTS records (
    id               TEXT PRIMARY KEY,
    ward             TEXT NOT NULL,
    procedure_code   TEXT NOT NULL,
    title            TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    deadline         INTEGER NOT NULL,
    submitted_at     INTEGER NOT NULL,
    idempotency_key  TEXT NOT NULL,
    document_size    INTEGER NOT NULL,
    document_sha256  TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    lease_signer     TEXT,
    lease_expires_at INTEGER,
    signer_id        TEXT,
    delegation_id    TEXT,
    finished_at      INTEGER,
    reason           TEXT,
    escalated        INTEGER NOT NULL,
    at_risk_at       INTEGER,
    signature_place  TEXT,
    stage            TEXT NOT NULL DEFAULT 'person',
    signed_at        INTEGER,
    clerk_id         TEXT,
    UNIQUE (ward, idempotency_key)
) STRICT;
CREATE INDEX IF NOT EXISTS records_ward_submitted ON records (ward, submitted_at, id);
CREATE INDEX IF NOT EXISTS records_ward_state ON records (ward, state, submitted_at, id);
CREATE INDEX IF NOT EXISTS records_open ON records (state) WHERE state IN ('queued', 'leased');
CREATE INDEX IF NOT EXISTS records_delegation_signed ON records (signed_at)
    WHERE delegation_id IS NOT NULL;
-- A ward's records by when they finished (version 12), open ones (NULL) first: the records open
-- at some point of a window, with their submission times, for the backlog over time.
CREATE INDEX IF NOT EXISTS records_ward_finished ON records (ward, finished_at, submitted_at);
-- What a signer signed, or a clerk sealed, since a time (version 12): the tablet's "signed today".
CREATE INDEX IF NOT EXISTS records_signer_signed ON records (signer_id, signed_at);
CREATE INDEX IF NOT EXISTS records_clerk_finished ON records (clerk_id, finished_at)
    WHERE clerk_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS documents (
    record_id TEXT PRIMARY KEY REFERENCES records (id),
    bytes     BLOB NOT NULL
) STRICT;

-- The primary key is the last guard of "at most one signature per record".
CREATE TABLE IF NOT EXISTS signatures (
    record_id  TEXT PRIMARY KEY REFERENCES records (id),
    cms        BLOB NOT NULL,
    -- For a PDF: the incremental update that holds the signature, appended to the document.
    pdf_update BLOB
) STRICT;

-- The ward's seal over a signed PDF (the second stage), one per record.
CREATE TABLE IF NOT EXISTS seals (
    record_id  TEXT PRIMARY KEY REFERENCES records (id),
    cms        BLOB NOT NULL,
    pdf_update BLOB NOT NULL
) STRICT;

-- Certificates are stored once by hash: every record a signer signs carries the same chain.
CREATE TABLE IF NOT EXISTS certificates (
    sha256 TEXT PRIMARY KEY,
    der    BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS record_chain (
    record_id   TEXT NOT NULL REFERENCES records (id),
    position    INTEGER NOT NULL,
    cert_sha256 TEXT NOT NULL REFERENCES certificates (sha256),
    PRIMARY KEY (record_id, position)
) STRICT;

-- The watch log: the record's state after each change (its fixed facts come from `records`), and
-- warnings (`kind` 'at_risk') that are not changes.
CREATE TABLE IF NOT EXISTS events (
    cursor           INTEGER PRIMARY KEY AUTOINCREMENT,
    ward             TEXT NOT NULL,
    record_id        TEXT NOT NULL REFERENCES records (id),
    state            TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    lease_signer     TEXT,
    lease_expires_at INTEGER,
    signer_id        TEXT,
    delegation_id    TEXT,
    finished_at      INTEGER,
    reason           TEXT,
    escalated        INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'change',
    stage            TEXT NOT NULL DEFAULT 'person',
    signed_at        INTEGER,
    clerk_id         TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS events_ward_cursor ON events (ward, cursor);

-- Requests for a new appointment date (at most one per record: the primary key).
CREATE TABLE IF NOT EXISTS reappointments (
    record_id         TEXT PRIMARY KEY REFERENCES records (id),
    reason            TEXT NOT NULL,
    original_deadline INTEGER NOT NULL,
    new_deadline      INTEGER NOT NULL,
    requested_by      TEXT NOT NULL,
    requested_at      INTEGER NOT NULL,
    state             TEXT NOT NULL,
    decided_by        TEXT,
    decided_at        INTEGER,
    refusal           TEXT,
    apology           BLOB,
    apology_signature BLOB
) STRICT;

CREATE TABLE IF NOT EXISTS wards (
    id           TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    office_hours     TEXT,
    signature_titles TEXT,
    seal             TEXT NOT NULL DEFAULT 'off'
) STRICT;

CREATE TABLE IF NOT EXISTS signers (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    ward         TEXT NOT NULL,
    role         TEXT NOT NULL,
    certificate     BLOB NOT NULL,
    away            INTEGER NOT NULL,
    signature_image BLOB
) STRICT;
CREATE INDEX IF NOT EXISTS signers_ward ON signers (ward, id);

-- Time limits in working time (`same-day`, `3-working-days`, `8-working-hours`) and the cut-off
-- after which counting starts on the next working day (`closing`, `15:00`, `hour-before-closing`).
CREATE TABLE IF NOT EXISTS procedures (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    time_limit TEXT NOT NULL,
    cut_off    TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS delegations (
    id              TEXT PRIMARY KEY,
    ward            TEXT NOT NULL,
    director_id     TEXT NOT NULL,
    deputy_id       TEXT NOT NULL,
    procedure_codes TEXT NOT NULL,
    not_before      INTEGER NOT NULL,
    not_after       INTEGER NOT NULL,
    daily_cap       INTEGER NOT NULL,
    signed          BLOB NOT NULL,
    revoked_at      INTEGER,
    revoke_reason   TEXT,
    notation        TEXT NOT NULL DEFAULT 'KT'
) STRICT;
CREATE INDEX IF NOT EXISTS delegations_ward ON delegations (ward, id);

-- The hash-chained audit log (see `store::audit`).
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
-- A record's entries by action, for the integrity checks of every read.
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, action, seq);

-- Facts about the database itself: `chain_id`, the audit chain's id, made with it.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The audit chain's head as signed by the signing service (see `signq_signer::checkpoint`).
CREATE TABLE IF NOT EXISTS checkpoints (
    seq       INTEGER PRIMARY KEY,
    head_hash TEXT NOT NULL,
    statement BLOB NOT NULL,
    signature BLOB NOT NULL,
    signed_at INTEGER NOT NULL
) STRICT;

-- Batches waiting for their person to confirm them in a remote signing app (version 8): their
-- records stay leased until the signing service says confirmed (then signed) or not.
CREATE TABLE IF NOT EXISTS confirmations (
    id         TEXT PRIMARY KEY,
    signer_id  TEXT NOT NULL,
    code       TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    signatures INTEGER NOT NULL,
    records    TEXT NOT NULL,
    seal       INTEGER NOT NULL,
    delegation_id TEXT
) STRICT;

-- Signers' sessions (version 9), by the SHA-256 of their bearer token: a restart signs no one out.
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    signer_id    TEXT NOT NULL,
    device       TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

-- Webhooks (version 11): a ward's HTTPS endpoints, each with its cursor over the ward's events
-- (the last one delivered or dead-lettered), and the events that exhausted their attempts or
-- wait behind one of their record that did (`attempts` 0); `redeliver` once asked to go again.
CREATE TABLE IF NOT EXISTS webhooks (
    id         TEXT PRIMARY KEY,
    ward       TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    cursor     INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS webhooks_ward ON webhooks (ward, id);
CREATE TABLE IF NOT EXISTS webhook_dead_letters (
    webhook_id TEXT NOT NULL,
    cursor     INTEGER NOT NULL,
    record_id  TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    error      TEXT NOT NULL,
    failed_at  INTEGER NOT NULL,
    redeliver  INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, cursor)
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_dead_letters_record
    ON webhook_dead_letters (webhook_id, record_id, cursor);
"#;

/// Opens (creating if needed) the database for the writer thread and brings its schema up.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let at = || path.display().to_string();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
    }
    let mut conn = Connection::open(path).map_err(backend(&format!("opening {}", at())))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(backend("setting the busy timeout"))?;
    // A damaged file is refused here, not found record by record later.
    super::conn::quick_check(&conn)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(backend("enabling WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{} refused WAL mode (journal_mode is {mode})",
            at()
        )));
    }
    // A 64 MiB page cache keeps the hot index pages of a busy province in memory; checkpoints
    // every 4,000 pages (about 16 MiB of WAL) rather than 1,000 cost the writer fewer pauses.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;
         PRAGMA wal_autocheckpoint = 4000; PRAGMA temp_store = MEMORY;",
    )
    .map_err(backend("configuring the write connection"))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(backend("reading the schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "{} has schema version {version}; this build knows up to {SCHEMA_VERSION}",
            at()
        )));
    }
    let tx = conn.transaction().map_err(backend("creating the schema"))?;
    if (1..3).contains(&version) {
        tx.execute_batch(TO_VERSION_3)
            .map_err(backend("bringing the schema to version 3"))?;
    }
    if (1..4).contains(&version) {
        for column in TO_VERSION_4 {
            add_column(&tx, column).map_err(backend("bringing the schema to version 4"))?;
        }
    }
    if (1..5).contains(&version) {
        for column in TO_VERSION_5 {
            add_column(&tx, column).map_err(backend("bringing the schema to version 5"))?;
        }
    }
    if (1..6).contains(&version) {
        for column in TO_VERSION_6 {
            add_column(&tx, column).map_err(backend("bringing the schema to version 6"))?;
        }
    }
    if (1..7).contains(&version) {
        for column in TO_VERSION_7 {
            add_column(&tx, column).map_err(backend("bringing the schema to version 7"))?;
        }
    }
    tx.execute_batch(SCHEMA)
        .map_err(backend("creating the schema"))?;
    if (1..7).contains(&version) {
        tx.execute_batch(TO_VERSION_7_DATA)
            .map_err(backend("bringing the schema to version 7"))?;
    }
    let mut chain_id = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut chain_id);
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('chain_id', ?1)",
        [hex::encode(chain_id)],
    )
    .map_err(backend("creating the schema"))?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(backend("creating the schema"))?;
    tx.commit().map_err(backend("creating the schema"))?;
    Ok(conn)
}

/// Opens a read-only connection for queries (the database must exist: the writer made it).
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(backend(&format!("opening {} for reading", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(backend("setting the busy timeout"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}
