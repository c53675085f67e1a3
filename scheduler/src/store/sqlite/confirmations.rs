//! Batches waiting for their person's confirmation in a remote signing app, so that the wait
//! survives a restart of the scheduler: at start-up every one still here is asked after again.

use rusqlite::{Connection, params};

use super::codec::{backend, db_time, time_col};
use crate::model::Confirmation;
use crate::store::StoreError;

/// Keeps `c` (replacing one with its id).
pub(crate) fn put(conn: &Connection, c: &Confirmation) -> Result<(), StoreError> {
    let records = serde_json::to_string(&c.records)
        .map_err(|e| StoreError::Backend(format!("encoding a confirmation's records: {e}")))?;
    conn.execute(
        "INSERT OR REPLACE INTO confirmations
             (id, signer_id, code, expires_at, signatures, records, seal, delegation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            c.id,
            c.signer_id,
            c.code,
            db_time(c.expires_at, "a confirmation's expiry")?,
            c.signatures,
            records,
            c.seal,
            c.delegation_id,
        ],
    )
    .map_err(backend("keeping a confirmation"))?;
    Ok(())
}

/// Forgets confirmation `id`.
pub(crate) fn end(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM confirmations WHERE id = ?1", [id])
        .map_err(backend("ending a confirmation"))?;
    Ok(())
}

/// Every confirmation kept, oldest expiry first.
pub(crate) fn all(conn: &Connection) -> Result<Vec<Confirmation>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT id, signer_id, code, expires_at, signatures, records, seal, delegation_id
             FROM confirmations ORDER BY expires_at",
        )
        .map_err(backend("reading confirmations"))?;
    let rows = stmt
        .query_map([], |r| {
            let records: String = r.get(5)?;
            Ok(Confirmation {
                id: r.get(0)?,
                signer_id: r.get(1)?,
                code: r.get(2)?,
                expires_at: time_col(r, 3)?,
                signatures: r.get(4)?,
                records: serde_json::from_str(&records).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        5,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                seal: r.get(6)?,
                delegation_id: r.get(7)?,
            })
        })
        .map_err(backend("reading confirmations"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(backend("reading confirmations"))
}
