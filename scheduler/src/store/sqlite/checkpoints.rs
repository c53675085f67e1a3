//! The audit chain's identity and its signed checkpoints.
//!
//! A checkpoint is stored as the signing service returned it; storing one is not itself an audited
//! change (that would move the head it states). The chain id is made once, with the database.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{backend, db_time, time_col};
use crate::store::StoreError;
use crate::store::audit::Checkpoint;

/// The chain id, made with the database (see [`super::schema`]).
pub(crate) fn chain_id(conn: &Connection) -> Result<String, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE key = 'chain_id'", [], |r| {
        r.get(0)
    })
    .map_err(backend("reading the audit chain id"))
}

/// The newest audit entry's sequence number and hash; `(0, genesis)` for an empty log.
pub(crate) fn audit_head(conn: &Connection) -> Result<(u64, String), StoreError> {
    let head: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(backend("reading the audit head"))?;
    Ok(match head {
        Some((seq, hash)) => (u64::try_from(seq).unwrap_or(0), hash),
        None => (0, crate::store::audit::GENESIS_HASH.to_owned()),
    })
}

/// Stores a checkpoint (a second one for the same sequence number replaces the first).
pub(crate) fn put(conn: &Connection, c: &Checkpoint) -> Result<(), StoreError> {
    let seq = i64::try_from(c.seq)
        .map_err(|_| StoreError::Backend(format!("checkpoint seq {} is too large", c.seq)))?;
    let signed_at = db_time(c.signed_at, "signed_at")?;
    conn.prepare_cached(
        "INSERT INTO checkpoints (seq, head_hash, statement, signature, signed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (seq) DO UPDATE SET head_hash = excluded.head_hash,
             statement = excluded.statement, signature = excluded.signature,
             signed_at = excluded.signed_at",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            seq,
            c.head_hash,
            c.statement,
            c.signature,
            signed_at
        ])
    })
    .map_err(backend("storing an audit checkpoint"))?;
    Ok(())
}

/// Reads one checkpoint row (`seq, head_hash, statement, signature, signed_at`).
fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        head_hash: r.get(1)?,
        statement: r.get(2)?,
        signature: r.get(3)?,
        signed_at: time_col(r, 4)?,
    })
}

/// The checkpoints, oldest first.
pub(crate) fn all(conn: &Connection) -> Result<Vec<Checkpoint>, StoreError> {
    let context = "reading the audit checkpoints";
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, head_hash, statement, signature, signed_at FROM checkpoints ORDER BY seq",
        )
        .map_err(backend(context))?;
    let rows = stmt.query_map([], from_row).map_err(backend(context))?;
    rows.collect::<Result<_, _>>().map_err(backend(context))
}

/// The newest checkpoint, if any.
pub(crate) fn latest(conn: &Connection) -> Result<Option<Checkpoint>, StoreError> {
    conn.query_row(
        "SELECT seq, head_hash, statement, signature, signed_at FROM checkpoints
         ORDER BY seq DESC LIMIT 1",
        [],
        from_row,
    )
    .optional()
    .map_err(backend("reading the newest audit checkpoint"))
}
