//! Signers' sessions, so that a restart signs no one out: the SHA-256 of each bearer token, never
//! the token (see [`crate::engine::sessions`]).

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{backend, db_time, time_col};
use crate::model::StoredSession;
use crate::store::StoreError;

/// Keeps `s` (replacing the one with its token hash), forgetting sessions that ended before it
/// was made.
pub(crate) fn put(conn: &Connection, s: &StoredSession, now: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])
        .map_err(backend("forgetting ended sessions"))?;
    conn.execute(
        "INSERT OR REPLACE INTO sessions (token_sha256, signer_id, device, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            s.token_sha256,
            s.signer_id,
            s.device,
            db_time(s.expires_at, "a session's end")?
        ],
    )
    .map_err(backend("keeping a session"))?;
    Ok(())
}

/// The session kept under `token_sha256`.
pub(crate) fn get(
    conn: &Connection,
    token_sha256: &str,
) -> Result<Option<StoredSession>, StoreError> {
    conn.query_row(
        "SELECT token_sha256, signer_id, device, expires_at FROM sessions WHERE token_sha256 = ?1",
        [token_sha256],
        |r| {
            Ok(StoredSession {
                token_sha256: r.get(0)?,
                signer_id: r.get(1)?,
                device: r.get(2)?,
                expires_at: time_col(r, 3)?,
            })
        },
    )
    .optional()
    .map_err(backend("reading a session"))
}

/// Forgets the session kept under `token_sha256`.
pub(crate) fn end(conn: &Connection, token_sha256: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        [token_sha256],
    )
    .map_err(backend("ending a session"))?;
    Ok(())
}
