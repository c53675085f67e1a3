//! The PostgreSQL store's schema, as versioned migrations applied at every start.
//!
//! The tables are the SQLite store's (see `sqlite::schema`), with PostgreSQL's types: BIGINT
//! for unix-nanosecond times, counts and the 0/1 booleans the shared SQL writes, BYTEA for bytes,
//! and an identity column for the watch cursor. Version numbers are the store's schema versions,
//! shared with SQLite: this back end begins at version 9 (SQLite's history before it needs no
//! replay here), version 10 adds what only several replicas need, version 11 webhooks, and
//! version 12 indexes for a ward's backlog over time and a signer's signatures of the day.
//! `schema_migrations` records each version applied; replicas starting together take an advisory
//! lock, so one applies what is missing and the others find it applied.

use tokio_postgres::Client;

use super::conn::classify;
use crate::store::StoreError;

/// The migrations, oldest first: (version, statements).
const MIGRATIONS: &[(i64, &str)] = &[
    (9, VERSION_9),
    (10, VERSION_10),
    (11, VERSION_11),
    (12, VERSION_12),
];

/// The advisory lock held while migrating ("SIGNQ" and 2).
const MIGRATE_LOCK: i64 = 0x5349_474e_5100_0002;

/// The schema of version 9: records, their documents, signatures, seals and chains, the watch
/// log, re-appointments, the configuration, the audit chain and its checkpoints, confirmations
/// and sessions.
const VERSION_9: &str = r#"
CREATE TABLE records (
    id               TEXT PRIMARY KEY,
    ward             TEXT NOT NULL,
    procedure_code   TEXT NOT NULL,
    title            TEXT NOT NULL,
    priority         BIGINT NOT NULL,
    deadline         BIGINT NOT NULL,
    submitted_at     BIGINT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    document_size    BIGINT NOT NULL,
    document_sha256  TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempt          BIGINT NOT NULL,
    lease_signer     TEXT,
    lease_expires_at BIGINT,
    signer_id        TEXT,
    delegation_id    TEXT,
    finished_at      BIGINT,
    reason           TEXT,
    escalated        BIGINT NOT NULL,
    at_risk_at       BIGINT,
    signature_place  TEXT,
    stage            TEXT NOT NULL DEFAULT 'person',
    signed_at        BIGINT,
    clerk_id         TEXT,
    UNIQUE (ward, idempotency_key)
);
CREATE INDEX records_ward_submitted ON records (ward, submitted_at, id);
CREATE INDEX records_ward_state ON records (ward, state, submitted_at, id);
CREATE INDEX records_open ON records (state) WHERE state IN ('queued', 'leased');
CREATE INDEX records_delegation_signed ON records (signed_at) WHERE delegation_id IS NOT NULL;

CREATE TABLE documents (
    record_id TEXT PRIMARY KEY REFERENCES records (id),
    bytes     BYTEA NOT NULL
);

-- The primary key is the last guard of "at most one signature per record".
CREATE TABLE signatures (
    record_id  TEXT PRIMARY KEY REFERENCES records (id),
    cms        BYTEA NOT NULL,
    pdf_update BYTEA
);

CREATE TABLE seals (
    record_id  TEXT PRIMARY KEY REFERENCES records (id),
    cms        BYTEA NOT NULL,
    pdf_update BYTEA NOT NULL
);

CREATE TABLE certificates (
    sha256 TEXT PRIMARY KEY,
    der    BYTEA NOT NULL
);
CREATE TABLE record_chain (
    record_id   TEXT NOT NULL REFERENCES records (id),
    position    BIGINT NOT NULL,
    cert_sha256 TEXT NOT NULL REFERENCES certificates (sha256),
    PRIMARY KEY (record_id, position)
);

-- The watch log. Cursors are taken under the chain's lock, so they grow in commit order.
CREATE TABLE events (
    cursor           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ward             TEXT NOT NULL,
    record_id        TEXT NOT NULL REFERENCES records (id),
    state            TEXT NOT NULL,
    attempt          BIGINT NOT NULL,
    lease_signer     TEXT,
    lease_expires_at BIGINT,
    signer_id        TEXT,
    delegation_id    TEXT,
    finished_at      BIGINT,
    reason           TEXT,
    escalated        BIGINT NOT NULL,
    at               BIGINT NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'change',
    stage            TEXT NOT NULL DEFAULT 'person',
    signed_at        BIGINT,
    clerk_id         TEXT
);
CREATE INDEX events_ward_cursor ON events (ward, cursor);

CREATE TABLE reappointments (
    record_id         TEXT PRIMARY KEY REFERENCES records (id),
    reason            TEXT NOT NULL,
    original_deadline BIGINT NOT NULL,
    new_deadline      BIGINT NOT NULL,
    requested_by      TEXT NOT NULL,
    requested_at      BIGINT NOT NULL,
    state             TEXT NOT NULL,
    decided_by        TEXT,
    decided_at        BIGINT,
    refusal           TEXT,
    apology           BYTEA,
    apology_signature BYTEA
);

CREATE TABLE wards (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    office_hours     TEXT,
    signature_titles TEXT,
    seal             TEXT NOT NULL DEFAULT 'off'
);

CREATE TABLE signers (
    id              TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    ward            TEXT NOT NULL,
    role            TEXT NOT NULL,
    certificate     BYTEA NOT NULL,
    away            BIGINT NOT NULL,
    signature_image BYTEA
);
CREATE INDEX signers_ward ON signers (ward, id);

CREATE TABLE procedures (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    time_limit TEXT NOT NULL,
    cut_off    TEXT NOT NULL
);

CREATE TABLE delegations (
    id              TEXT PRIMARY KEY,
    ward            TEXT NOT NULL,
    director_id     TEXT NOT NULL,
    deputy_id       TEXT NOT NULL,
    procedure_codes TEXT NOT NULL,
    not_before      BIGINT NOT NULL,
    not_after       BIGINT NOT NULL,
    daily_cap       BIGINT NOT NULL,
    signed          BYTEA NOT NULL,
    revoked_at      BIGINT,
    revoke_reason   TEXT,
    notation        TEXT NOT NULL DEFAULT 'KT'
);
CREATE INDEX delegations_ward ON delegations (ward, id);

CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, action, seq);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE checkpoints (
    seq       BIGINT PRIMARY KEY,
    head_hash TEXT NOT NULL,
    statement BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    signed_at BIGINT NOT NULL
);

CREATE TABLE confirmations (
    id            TEXT PRIMARY KEY,
    signer_id     TEXT NOT NULL,
    code          TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    signatures    BIGINT NOT NULL,
    records       TEXT NOT NULL,
    seal          BIGINT NOT NULL,
    delegation_id TEXT
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    signer_id    TEXT NOT NULL,
    device       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
"#;

/// Version 10: several replicas. Which replica owns which ward (and at which epoch, until when),
/// the replicas alive, and where each signer's inbox is open. A SQLite store has one scheduler
/// and no use for them.
const VERSION_10: &str = r#"
CREATE TABLE ward_owners (
    ward       TEXT PRIMARY KEY,
    replica    TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE presence (
    signer_id  TEXT NOT NULL,
    replica    TEXT NOT NULL,
    ward       TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (signer_id, replica)
);
CREATE INDEX presence_ward ON presence (ward, expires_at);
"#;

/// Version 11: webhooks, each with its cursor over its ward's events, and their dead letters
/// (the SQLite store's version 11).
const VERSION_11: &str = r#"
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    ward       TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    cursor     BIGINT NOT NULL
);
CREATE INDEX webhooks_ward ON webhooks (ward, id);
CREATE TABLE webhook_dead_letters (
    webhook_id TEXT NOT NULL,
    cursor     BIGINT NOT NULL,
    record_id  TEXT NOT NULL,
    attempts   BIGINT NOT NULL,
    error      TEXT NOT NULL,
    failed_at  BIGINT NOT NULL,
    redeliver  BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, cursor)
);
CREATE INDEX webhook_dead_letters_record ON webhook_dead_letters (webhook_id, record_id, cursor);
"#;

/// Version 12: a ward's records by when they finished, open ones (NULL) included, with their
/// submission times: the records open at some point of a window, for the backlog over time,
/// read from the index alone; and what a signer signed, or a clerk sealed, since a time, for the
/// tablet's "signed today" (the SQLite store's version 12).
const VERSION_12: &str = r#"
CREATE INDEX records_ward_finished ON records (ward, finished_at, submitted_at);
CREATE INDEX records_signer_signed ON records (signer_id, signed_at);
CREATE INDEX records_clerk_finished ON records (clerk_id, finished_at) WHERE clerk_id IS NOT NULL;
"#;

/// Brings the database's schema up to the newest version this build knows, each version in its
/// own transaction; refuses a database newer than this build.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let context = "migrating the schema";
    let fail = |e: tokio_postgres::Error| classify(context, &e);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(fail)?;
    let result = apply(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(fail)?;
    result
}

async fn apply(client: &mut Client) -> Result<(), StoreError> {
    let context = "migrating the schema";
    let fail = |e: tokio_postgres::Error| classify(context, &e);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(fail)?;
    let current: Option<i64> = client
        .query_one("SELECT MAX(version) FROM schema_migrations", &[])
        .await
        .map_err(fail)?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(current) = current
        && current > newest
    {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}; this build knows up to {newest}"
        )));
    }
    for (version, statements) in MIGRATIONS {
        if current.is_some_and(|c| c >= *version) {
            continue;
        }
        let tx = client.transaction().await.map_err(fail)?;
        tx.batch_execute(statements).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(version, "applied a schema migration");
    }
    let mut chain_id = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut chain_id);
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ('chain_id', $1) ON CONFLICT DO NOTHING",
            &[&hex::encode(chain_id)],
        )
        .await
        .map_err(fail)?;
    Ok(())
}
