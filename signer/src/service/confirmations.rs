//! The confirmations remote signers' batches wait for, in the service's state database, so that
//! a wait survives a restart of either service: what was asked of the person (the hashes of the
//! batch's signatures, at a fixed signing time), the provider's handle or SAD, the short code
//! both the tablet and the signing app show, and where it stands.
//!
//! A confirmation belongs to one signer and one set of lease attempts (its `leases` fingerprint):
//! a repeated request for the same attempts is answered with it instead of asking the person a
//! second time. It ends once: signed, refused or expired; a confirmation that ended unsigned
//! never signs.

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::state::{State, StateError, from_ms, ms};
use crate::keys::remote::Hash;

/// How long an ended confirmation is kept (for a late question about it).
const RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// The table.
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS confirmations (
        id              TEXT PRIMARY KEY,
        signer_id       TEXT NOT NULL,
        leases          TEXT NOT NULL,
        signing_time_ns INTEGER NOT NULL,
        hashes          BLOB NOT NULL,
        code            TEXT NOT NULL,
        expires_at_ms   INTEGER NOT NULL,
        state           TEXT NOT NULL,
        handle          TEXT,
        sad             TEXT,
        sad_expires_ms  INTEGER);
    CREATE INDEX IF NOT EXISTS confirmations_by_leases ON confirmations (signer_id, leases);";

/// Where a confirmation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The person has not answered.
    Waiting,
    /// Confirmed: the SAD signs the batch.
    Confirmed,
    /// Refused in the app.
    Refused,
    /// Not confirmed in time.
    Expired,
    /// Its batch is signed.
    Signed,
}

impl Stage {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Waiting => "waiting",
            Stage::Confirmed => "confirmed",
            Stage::Refused => "refused",
            Stage::Expired => "expired",
            Stage::Signed => "signed",
        }
    }

    fn parse(s: &str) -> Option<Stage> {
        [
            Stage::Waiting,
            Stage::Confirmed,
            Stage::Refused,
            Stage::Expired,
            Stage::Signed,
        ]
        .into_iter()
        .find(|stage| stage.as_str() == s)
    }

    /// Whether it ended unsigned (nothing will ever be signed under it).
    pub fn is_dead(self) -> bool {
        matches!(self, Stage::Refused | Stage::Expired)
    }
}

/// One confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Its id.
    pub id: String,
    /// The signer.
    pub signer_id: String,
    /// The fingerprint of the lease attempts it covers (see [`fingerprint`]).
    pub leases: String,
    /// The signing time every signature of the batch carries.
    pub signing_time: OffsetDateTime,
    /// The hashes the person authorises, in the batch's order.
    pub hashes: Vec<Hash>,
    /// The short code shown to the person.
    pub code: String,
    /// When it expires unconfirmed.
    pub expires_at: OffsetDateTime,
    /// Where it stands.
    pub stage: Stage,
    /// The provider's handle while the person has not answered.
    pub handle: Option<String>,
    /// The provider's SAD once confirmed, and when it expires.
    pub sad: Option<(String, OffsetDateTime)>,
}

/// The fingerprint of a set of lease attempts: the same attempts in any order give the same.
pub fn fingerprint(leases: &[(&str, u32)]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<String> = leases
        .iter()
        .map(|(record, attempt)| format!("{record}\0{attempt}"))
        .collect();
    sorted.sort();
    hex::encode(Sha256::digest(sorted.join("\n")))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Confirmation> {
    let stage: String = r.get("state")?;
    let hashes: Vec<u8> = r.get("hashes")?;
    let sad: Option<String> = r.get("sad")?;
    let sad_expires: Option<i64> = r.get("sad_expires_ms")?;
    let signing_ns: i64 = r.get("signing_time_ns")?;
    Ok(Confirmation {
        id: r.get("id")?,
        signer_id: r.get("signer_id")?,
        leases: r.get("leases")?,
        signing_time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(signing_ns))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        hashes: hashes
            .chunks_exact(32)
            .map(|c| c.try_into().unwrap_or([0; 32]))
            .collect(),
        code: r.get("code")?,
        expires_at: from_ms(r.get("expires_at_ms")?),
        stage: Stage::parse(&stage).unwrap_or(Stage::Expired),
        handle: r.get("handle")?,
        sad: sad.zip(sad_expires.map(from_ms)),
    })
}

impl State {
    /// Stores a new confirmation.
    pub fn put_confirmation(&self, c: &Confirmation) -> Result<(), StateError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM confirmations WHERE expires_at_ms < ?1",
            params![ms(c.expires_at) - RETENTION_MS],
        )?;
        conn.execute(
            "INSERT INTO confirmations (id, signer_id, leases, signing_time_ns, hashes, code,
                 expires_at_ms, state, handle, sad, sad_expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                c.id,
                c.signer_id,
                c.leases,
                i64::try_from(c.signing_time.unix_timestamp_nanos()).unwrap_or(i64::MAX),
                c.hashes.concat(),
                c.code,
                ms(c.expires_at),
                c.stage.as_str(),
                c.handle,
                c.sad.as_ref().map(|(sad, _)| sad),
                c.sad.as_ref().map(|(_, at)| ms(*at)),
            ],
        )?;
        Ok(())
    }

    /// The confirmation `id`.
    pub fn confirmation(&self, id: &str) -> Result<Option<Confirmation>, StateError> {
        Ok(self
            .conn()
            .query_row("SELECT * FROM confirmations WHERE id = ?1", [id], row)
            .optional()?)
    }

    /// The newest confirmation of `signer_id` for the lease attempts `leases` (a fingerprint).
    pub fn confirmation_for(
        &self,
        signer_id: &str,
        leases: &str,
    ) -> Result<Option<Confirmation>, StateError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT * FROM confirmations WHERE signer_id = ?1 AND leases = ?2
                 ORDER BY signing_time_ns DESC LIMIT 1",
                params![signer_id, leases],
                row,
            )
            .optional()?)
    }

    /// Moves confirmation `id` from `from` to `to` (with the SAD, once confirmed); false if it
    /// was no longer at `from` (another call moved it first).
    pub fn advance_confirmation(
        &self,
        id: &str,
        from: Stage,
        to: Stage,
        sad: Option<(&str, OffsetDateTime)>,
    ) -> Result<bool, StateError> {
        let changed = self.conn().execute(
            "UPDATE confirmations SET state = ?3,
                 sad = COALESCE(?4, sad), sad_expires_ms = COALESCE(?5, sad_expires_ms)
             WHERE id = ?1 AND state = ?2",
            params![
                id,
                from.as_str(),
                to.as_str(),
                sad.map(|(s, _)| s),
                sad.map(|(_, at)| ms(at))
            ],
        )?;
        Ok(changed == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(id: &str, leases: &str, at: OffsetDateTime) -> Confirmation {
        Confirmation {
            id: id.into(),
            signer_id: "w/director".into(),
            leases: leases.into(),
            signing_time: at,
            hashes: vec![[1; 32], [2; 32]],
            code: "K7P-4QX".into(),
            // Kept to the millisecond.
            expires_at: OffsetDateTime::from_unix_timestamp(at.unix_timestamp() + 300)
                .expect("time"),
            stage: Stage::Waiting,
            handle: Some("h-1".into()),
            sad: None,
        }
    }

    #[test]
    fn a_confirmation_survives_reopening_and_ends_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789).expect("time");
        let leases = fingerprint(&[("r-2", 1), ("r-1", 3)]);
        assert_eq!(leases, fingerprint(&[("r-1", 3), ("r-2", 1)]));
        assert_ne!(leases, fingerprint(&[("r-1", 4), ("r-2", 1)]));
        let first = waiting("c-1", &leases, at);
        State::open(&path)
            .expect("open")
            .put_confirmation(&first)
            .expect("put");
        let state = State::open(&path).expect("reopen");
        let got = state.confirmation("c-1").expect("read").expect("kept");
        assert_eq!(
            got, first,
            "the signing time to the nanosecond, the hashes in order"
        );
        assert_eq!(
            state.confirmation_for("w/director", &leases).expect("read"),
            Some(first)
        );
        let sad_expires = at + time::Duration::minutes(10);
        assert!(
            state
                .advance_confirmation(
                    "c-1",
                    Stage::Waiting,
                    Stage::Confirmed,
                    Some(("sad", sad_expires))
                )
                .expect("confirm")
        );
        assert!(
            !state
                .advance_confirmation("c-1", Stage::Waiting, Stage::Expired, None)
                .expect("no longer waiting"),
            "a confirmed one does not also expire"
        );
        let got = state.confirmation("c-1").expect("read").expect("kept");
        assert_eq!(got.stage, Stage::Confirmed);
        assert_eq!(got.sad.map(|(s, _)| s).as_deref(), Some("sad"));
    }
}
