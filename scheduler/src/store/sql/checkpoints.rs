//! The audit chain's identity and its signed checkpoints.
//!
//! A checkpoint is stored as the signing service returned it; storing one is not itself an audited
//! change (that would move the head it states). The chain id is made once, with the database.

use super::codec::db_time;
use super::{Row, Sql, values};
use crate::store::StoreError;
use crate::store::audit::{Checkpoint, GENESIS_HASH};

/// The chain id, made with the database (see each back end's schema).
pub(crate) fn chain_id(conn: &dyn Sql) -> Result<String, StoreError> {
    let context = "reading the audit chain id";
    conn.query_opt(
        context,
        "SELECT value FROM meta WHERE key = 'chain_id'",
        &[],
    )?
    .ok_or_else(|| StoreError::Backend(format!("{context}: the store has none")))?
    .text(0)
}

/// The newest audit entry's sequence number and hash; `(0, genesis)` for an empty log.
pub(crate) fn audit_head(conn: &dyn Sql) -> Result<(u64, String), StoreError> {
    let head = conn.query_opt(
        "reading the audit head",
        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    Ok(match head {
        Some(row) => (row.uint(0)?, row.text(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    })
}

/// Stores a checkpoint (a second one for the same sequence number replaces the first).
pub(crate) fn put(conn: &dyn Sql, c: &Checkpoint) -> Result<(), StoreError> {
    let seq = i64::try_from(c.seq)
        .map_err(|_| StoreError::Backend(format!("checkpoint seq {} is too large", c.seq)))?;
    conn.execute(
        "storing an audit checkpoint",
        "INSERT INTO checkpoints (seq, head_hash, statement, signature, signed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (seq) DO UPDATE SET head_hash = excluded.head_hash,
             statement = excluded.statement, signature = excluded.signature,
             signed_at = excluded.signed_at",
        values![
            seq,
            &c.head_hash,
            &c.statement,
            &c.signature,
            db_time(c.signed_at, "signed_at")?
        ],
    )?;
    Ok(())
}

const SELECT: &str = "SELECT seq, head_hash, statement, signature, signed_at FROM checkpoints";

fn from_row(r: &Row) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        seq: r.uint(0)?,
        head_hash: r.text(1)?,
        statement: r.blob(2)?,
        signature: r.blob(3)?,
        signed_at: r.time(4)?,
    })
}

/// The checkpoints, oldest first.
pub(crate) fn all(conn: &dyn Sql) -> Result<Vec<Checkpoint>, StoreError> {
    let sql = format!("{SELECT} ORDER BY seq");
    conn.query("reading the audit checkpoints", &sql, &[])?
        .iter()
        .map(from_row)
        .collect()
}

/// The newest checkpoint, if any.
pub(crate) fn latest(conn: &dyn Sql) -> Result<Option<Checkpoint>, StoreError> {
    let sql = format!("{SELECT} ORDER BY seq DESC LIMIT 1");
    conn.query_opt("reading the newest audit checkpoint", &sql, &[])?
        .as_ref()
        .map(from_row)
        .transpose()
}
