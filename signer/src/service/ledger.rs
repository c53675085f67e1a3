//! The ledger of signatures made for the scheduler's leases, in the service's state database.
//!
//! The scheduler can die between this service's reply and its own commit: the signature was made
//! but no record holds it, and the tablet approves again. So every signature made for a lease
//! attempt (`record_id`, `attempt`) is kept, in the same transaction that counts it against its
//! delegation's daily cap; a repeated request gets the kept signature back and counts nothing,
//! and a later lease attempt of the same record on the same day signs anew without counting
//! again: a cap counts each record once a day.
//!
//! Kept for [`RETENTION`]: longer than any lease lives, shorter than the disk cares about.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::state::{State, StateError, count_against_cap, from_ms, ms};

/// How long a signature stays in the ledger.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The ledger's table.
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS signatures (
        record_id       TEXT NOT NULL,
        attempt         INTEGER NOT NULL,
        signer_id       TEXT NOT NULL,
        delegation_id   TEXT,
        day             TEXT NOT NULL,
        document_sha256 BLOB NOT NULL,
        cms             BLOB NOT NULL,
        signed_at_ms    INTEGER NOT NULL,
        pdf_update      BLOB,
        PRIMARY KEY (record_id, attempt));
    CREATE INDEX IF NOT EXISTS signatures_by_delegation_day
        ON signatures (delegation_id, day, record_id);
    CREATE INDEX IF NOT EXISTS signatures_by_time ON signatures (signed_at_ms);";

/// Brings a ledger made before signed PDFs up to [`SCHEMA`]: the `pdf_update` column.
pub(super) fn migrate(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let has_update: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('signatures') WHERE name = 'pdf_update'",
        [],
        |r| r.get(0),
    )?;
    if !has_update {
        conn.execute_batch("ALTER TABLE signatures ADD COLUMN pdf_update BLOB")?;
    }
    Ok(())
}

/// One document of a request, as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The record.
    pub record_id: String,
    /// The lease attempt.
    pub attempt: u32,
    /// SHA-256 of the document's bytes.
    pub document_sha256: [u8; 32],
}

/// A signature kept in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The CMS signature.
    pub cms: Vec<u8>,
    /// For a PDF, the incremental update that holds it (empty otherwise).
    pub pdf_update: Vec<u8>,
    /// When it was made (its signing time).
    pub signed_at: OffsetDateTime,
}

/// What the ledger holds for a lease attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Nothing: sign it.
    None,
    /// This signature, made for the same signer over the same document: answer with it.
    Same(Kept),
    /// A signature by another signer, or over other bytes: the request contradicts it.
    Contradicts(String),
}

/// Why new signatures were not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapReached {
    /// Records already counted against the cap today.
    pub used: u32,
    /// Records of this request new to the cap.
    pub new: u32,
}

/// A signature just made, to keep.
#[derive(Debug, Clone)]
pub struct Made {
    /// Its lease attempt.
    pub lease: Lease,
    /// The signature.
    pub cms: Vec<u8>,
    /// For a PDF, the incremental update that holds it (empty otherwise).
    pub pdf_update: Vec<u8>,
}

/// The delegation a batch is signed under, with its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    /// The delegation's id.
    pub delegation_id: String,
    /// Records a day, at most (0: no cap).
    pub daily_cap: u32,
    /// The ward's date, as `YYYY-MM-DD`.
    pub day: String,
}

impl State {
    /// What the ledger holds for each of `leases` of `signer_id`, in order.
    pub fn priors(&self, signer_id: &str, leases: &[Lease]) -> Result<Vec<Prior>, StateError> {
        let conn = self.conn();
        let mut find = conn.prepare_cached(
            "SELECT signer_id, document_sha256, cms, signed_at_ms, pdf_update FROM signatures
             WHERE record_id = ?1 AND attempt = ?2",
        )?;
        leases
            .iter()
            .map(|l| {
                let row = find
                    .query_row(params![l.record_id, l.attempt], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<Vec<u8>>>(4)?,
                        ))
                    })
                    .optional()?;
                Ok(match row {
                    None => Prior::None,
                    Some((signer, ..)) if signer != signer_id => Prior::Contradicts(format!(
                        "record {} at lease attempt {} was signed by {signer}",
                        l.record_id, l.attempt
                    )),
                    Some((_, hash, ..)) if hash != l.document_sha256 => {
                        Prior::Contradicts(format!(
                            "record {} at lease attempt {} was signed over another document",
                            l.record_id, l.attempt
                        ))
                    }
                    Some((_, _, cms, at, pdf_update)) => Prior::Same(Kept {
                        cms,
                        pdf_update: pdf_update.unwrap_or_default(),
                        signed_at: from_ms(at),
                    }),
                })
            })
            .collect()
    }

    /// Keeps `made` (signed by `signer_id` at `now`) and counts the records new today against the
    /// cap, in one transaction; or keeps nothing if the cap would be passed. Returns the kept
    /// signature of each, in order: the one made here, or the one a concurrent identical request
    /// kept first.
    pub fn keep(
        &self,
        signer_id: &str,
        cap: Option<&Capped>,
        made: &[Made],
        now: OffsetDateTime,
    ) -> Result<Result<Vec<Kept>, CapReached>, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(cap) = cap {
            let mut new = 0u32;
            {
                let mut counted = tx.prepare_cached(
                    "SELECT 1 FROM signatures
                     WHERE delegation_id = ?1 AND day = ?2 AND record_id = ?3 LIMIT 1",
                )?;
                let mut seen = std::collections::HashSet::new();
                for m in made {
                    if seen.insert(m.lease.record_id.as_str())
                        && !counted.exists(params![
                            cap.delegation_id,
                            cap.day,
                            m.lease.record_id
                        ])?
                    {
                        new += 1;
                    }
                }
            }
            if let Err(used) = count_against_cap(&tx, cap, new)? {
                return Ok(Err(CapReached { used, new }));
            }
        }
        let (delegation, day) = match cap {
            Some(c) => (Some(c.delegation_id.as_str()), c.day.clone()),
            None => (None, now.date().to_string()),
        };
        let mut kept = Vec::with_capacity(made.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO signatures (record_id, attempt, signer_id, delegation_id, day,
                     document_sha256, cms, signed_at_ms, pdf_update)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (record_id, attempt) DO NOTHING",
            )?;
            let mut stored = tx.prepare_cached(
                "SELECT cms, signed_at_ms, pdf_update FROM signatures
                 WHERE record_id = ?1 AND attempt = ?2",
            )?;
            for m in made {
                let l = &m.lease;
                insert.execute(params![
                    l.record_id,
                    l.attempt,
                    signer_id,
                    delegation,
                    day,
                    l.document_sha256.as_slice(),
                    m.cms,
                    ms(now),
                    (!m.pdf_update.is_empty()).then_some(&m.pdf_update)
                ])?;
                let (cms, at, pdf_update) =
                    stored.query_row(params![l.record_id, l.attempt], |r| {
                        Ok((
                            r.get::<_, Vec<u8>>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<Vec<u8>>>(2)?,
                        ))
                    })?;
                kept.push(Kept {
                    cms,
                    pdf_update: pdf_update.unwrap_or_default(),
                    signed_at: from_ms(at),
                });
            }
        }
        let horizon = ms(now) - i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        tx.execute(
            "DELETE FROM signatures WHERE signed_at_ms < ?1",
            params![horizon],
        )?;
        tx.commit()?;
        Ok(Ok(kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(record: &str, attempt: u32) -> Lease {
        Lease {
            record_id: record.into(),
            attempt,
            document_sha256: [7; 32],
        }
    }

    fn made(record: &str, attempt: u32, cms: &[u8]) -> Made {
        Made {
            lease: lease(record, attempt),
            cms: cms.to_vec(),
            pdf_update: Vec::new(),
        }
    }

    #[test]
    fn a_kept_signature_answers_its_lease_until_it_ages_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(&dir.path().join("s.db")).expect("open");
        let now = OffsetDateTime::now_utc();
        let kept = state
            .keep("w/director", None, &[made("r1", 1, b"first")], now)
            .expect("db")
            .expect("no cap");
        assert_eq!(kept[0].cms, b"first");
        // A second keep of the same lease attempt (a concurrent request) gets the first.
        let again = state
            .keep("w/director", None, &[made("r1", 1, b"second")], now)
            .expect("db")
            .expect("no cap");
        assert_eq!(again[0].cms, b"first");
        let priors = state
            .priors("w/director", &[lease("r1", 1), lease("r1", 2)])
            .expect("db");
        assert!(matches!(&priors[0], Prior::Same(k) if k.cms == b"first"));
        assert_eq!(priors[1], Prior::None);
        // Another signer, or other bytes, contradict it.
        assert!(matches!(
            &state.priors("w/deputy", &[lease("r1", 1)]).expect("db")[0],
            Prior::Contradicts(_)
        ));
        let mut other = lease("r1", 1);
        other.document_sha256 = [8; 32];
        assert!(matches!(
            &state.priors("w/director", &[other]).expect("db")[0],
            Prior::Contradicts(_)
        ));
        // Past the retention, the next keep forgets it.
        let later = now + RETENTION + std::time::Duration::from_secs(1);
        state
            .keep("w/director", None, &[made("r2", 1, b"later")], later)
            .expect("db")
            .expect("no cap");
        assert_eq!(
            state.priors("w/director", &[lease("r1", 1)]).expect("db"),
            vec![Prior::None]
        );
    }

    #[test]
    fn a_pdfs_update_is_kept_with_its_signature_also_in_a_ledger_made_before_pdfs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        // A ledger as it was before signed PDFs: no pdf_update column.
        rusqlite::Connection::open(&path)
            .and_then(|c| {
                c.execute_batch(&SCHEMA.replace("        pdf_update      BLOB,\n", ""))?;
                c.execute(
                    "INSERT INTO signatures VALUES ('old', 1, 'w/director', NULL, '2026-11-30', \
                     ?1, x'01', ?2)",
                    rusqlite::params![[7u8; 32].as_slice(), ms(OffsetDateTime::now_utc())],
                )
            })
            .expect("an old ledger");
        let state = State::open(&path).expect("open migrates");
        let now = OffsetDateTime::now_utc();
        let pdf = Made {
            pdf_update: b"%update".to_vec(),
            ..made("r1", 1, b"cms")
        };
        let kept = state
            .keep("w/director", None, &[pdf], now)
            .expect("db")
            .expect("no cap");
        assert_eq!(kept[0].pdf_update, b"%update");
        assert!(matches!(
            &state.priors("w/director", &[lease("r1", 1)]).expect("db")[0],
            Prior::Same(k) if k.pdf_update == b"%update" && k.cms == b"cms"
        ));
        // The old row reads as a detached signature.
        let old = Lease {
            record_id: "old".into(),
            attempt: 1,
            document_sha256: [7; 32],
        };
        let prior = state.priors("w/director", &[old]).expect("db");
        assert!(matches!(&prior[0], Prior::Same(k) if k.pdf_update.is_empty()));
    }

    #[test]
    fn a_cap_counts_each_record_once_a_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(&dir.path().join("s.db")).expect("open");
        let now = OffsetDateTime::now_utc();
        let cap = |day: &str| Capped {
            delegation_id: "d".into(),
            daily_cap: 2,
            day: day.into(),
        };
        let today = cap("2026-11-30");
        let keep = |m: &[Made], c: &Capped| state.keep("w/deputy", Some(c), m, now).expect("db");
        assert!(keep(&[made("r1", 1, b"a"), made("r2", 1, b"b")], &today).is_ok());
        // r1 leased again: signed anew, not counted again.
        assert!(keep(&[made("r1", 2, b"c")], &today).is_ok());
        assert_eq!(
            keep(&[made("r3", 1, b"d")], &today),
            Err(CapReached { used: 2, new: 1 })
        );
        // Nothing of the refused batch was kept.
        assert_eq!(
            state.priors("w/deputy", &[lease("r3", 1)]).expect("db"),
            vec![Prior::None]
        );
        // A new day counts again.
        assert!(keep(&[made("r3", 1, b"d")], &cap("2026-12-01")).is_ok());
    }
}
