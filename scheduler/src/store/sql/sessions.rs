//! Signers' sessions, so that a restart signs no one out: the SHA-256 of each bearer token, never
//! the token (see [`crate::engine::sessions`]).

use super::codec::db_time;
use super::{Sql, values};
use crate::model::StoredSession;
use crate::store::StoreError;

/// Keeps `s` (replacing the one with its token hash), forgetting sessions that ended before it
/// was made.
pub(crate) fn put(conn: &dyn Sql, s: &StoredSession, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "forgetting ended sessions",
        "DELETE FROM sessions WHERE expires_at <= ?1",
        values![now],
    )?;
    conn.execute(
        "keeping a session",
        "INSERT INTO sessions (token_sha256, signer_id, device, expires_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (token_sha256) DO UPDATE SET signer_id = excluded.signer_id,
             device = excluded.device, expires_at = excluded.expires_at",
        values![
            &s.token_sha256,
            &s.signer_id,
            &s.device,
            db_time(s.expires_at, "a session's end")?
        ],
    )?;
    Ok(())
}

/// The session kept under `token_sha256`.
pub(crate) fn get(conn: &dyn Sql, token_sha256: &str) -> Result<Option<StoredSession>, StoreError> {
    let row = conn.query_opt(
        "reading a session",
        "SELECT token_sha256, signer_id, device, expires_at FROM sessions WHERE token_sha256 = ?1",
        values![token_sha256],
    )?;
    row.map(|r| {
        Ok(StoredSession {
            token_sha256: r.text(0)?,
            signer_id: r.text(1)?,
            device: r.text(2)?,
            expires_at: r.time(3)?,
        })
    })
    .transpose()
}

/// Forgets the session kept under `token_sha256`.
pub(crate) fn end(conn: &dyn Sql, token_sha256: &str) -> Result<(), StoreError> {
    conn.execute(
        "ending a session",
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        values![token_sha256],
    )?;
    Ok(())
}
