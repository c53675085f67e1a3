//! Batches waiting for their person's confirmation in a remote signing app, so that the wait
//! survives a restart of the scheduler: at start-up every one still here is asked after again.

use super::codec::db_time;
use super::{Sql, values};
use crate::model::Confirmation;
use crate::store::StoreError;

/// Keeps `c` (replacing one with its id).
pub(crate) fn put(conn: &dyn Sql, c: &Confirmation) -> Result<(), StoreError> {
    let records = serde_json::to_string(&c.records)
        .map_err(|e| StoreError::Backend(format!("encoding a confirmation's records: {e}")))?;
    conn.execute(
        "keeping a confirmation",
        "INSERT INTO confirmations
             (id, signer_id, code, expires_at, signatures, records, seal, delegation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET signer_id = excluded.signer_id, code = excluded.code,
             expires_at = excluded.expires_at, signatures = excluded.signatures,
             records = excluded.records, seal = excluded.seal,
             delegation_id = excluded.delegation_id",
        values![
            &c.id,
            &c.signer_id,
            &c.code,
            db_time(c.expires_at, "a confirmation's expiry")?,
            c.signatures,
            records,
            c.seal,
            &c.delegation_id,
        ],
    )?;
    Ok(())
}

/// Forgets confirmation `id`.
pub(crate) fn end(conn: &dyn Sql, id: &str) -> Result<(), StoreError> {
    conn.execute(
        "ending a confirmation",
        "DELETE FROM confirmations WHERE id = ?1",
        values![id],
    )?;
    Ok(())
}

/// Every confirmation kept, oldest expiry first.
pub(crate) fn all(conn: &dyn Sql) -> Result<Vec<Confirmation>, StoreError> {
    let rows = conn.query(
        "reading confirmations",
        "SELECT id, signer_id, code, expires_at, signatures, records, seal, delegation_id
         FROM confirmations ORDER BY expires_at",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Confirmation {
                id: r.text(0)?,
                signer_id: r.text(1)?,
                code: r.text(2)?,
                expires_at: r.time(3)?,
                signatures: r.uint(4)?,
                records: serde_json::from_str(&r.text(5)?).map_err(|e| {
                    StoreError::Backend(format!("unreadable confirmation records: {e}"))
                })?,
                seal: r.bool(6)?,
                delegation_id: r.opt_text(7)?,
            })
        })
        .collect()
}
