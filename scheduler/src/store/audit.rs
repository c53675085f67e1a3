//! The audit log: its entry format, its hash chain, and the check behind `signq audit verify`.
//!
//! Every state change appends one [`AuditEntry`] in the same transaction as the change. Each
//! entry's hash covers all of its fields and the previous entry's hash, so editing, deleting,
//! reordering or inserting an entry breaks the chain at that entry, and [`verify_chain`] names it.
//! What a chain alone cannot show is an edit whose author re-computed every hash after it, or the
//! loss of its newest entries: for those, the signing service signs checkpoints of the chain's
//! head ([`Checkpoint`]), which [`verify_database`] checks the chain against.
//!
//! The hash input is an unambiguous encoding: a version tag, the sequence number and time as
//! fixed-width integers, and every text field length-prefixed, so no two different entries can
//! encode to the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use ring::digest::{SHA256, digest};
use signq_signer::cms::TrustStore;
use time::OffsetDateTime;

use super::StoreError;
use super::sql::{Row, Sql, checkpoints, integrity, queries, values};

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tags the hash input so a change of the encoding can never verify against the old one.
const HASH_DOMAIN: &[u8] = b"signq-audit-v1";

/// The columns of the `audit` table, in the order [`entry_from_row`] reads them.
pub const AUDIT_COLUMNS: &str = "seq, at, actor, action, subject, detail, prev_hash, hash";

/// One audit entry: an append-only, hash-chained record of one state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When the change was made.
    pub at: OffsetDateTime,
    /// Who made it ([`crate::model::Actor`]'s display form, e.g. `signer:B for A under D`).
    pub actor: String,
    /// What was done (`submit`, `lease`, `release:expired`, `sign`, `ward`, ...).
    pub action: String,
    /// What it was done to: a record id, or `ward:<id>`, `signer:<id>`, `delegation:<id>`,
    /// `procedure:<code>`.
    pub subject: String,
    /// The particulars, as compact JSON.
    pub detail: String,
    /// The previous entry's hash (hex); [`GENESIS_HASH`] for the first entry.
    pub prev_hash: String,
    /// This entry's hash (hex), as [`AuditEntry::compute_hash`] computes it.
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 (lowercase hex) over an unambiguous encoding of every field but `hash`.
    pub fn compute_hash(&self) -> String {
        let text = [
            &self.actor,
            &self.action,
            &self.subject,
            &self.detail,
            &self.prev_hash,
        ];
        let mut input = Vec::with_capacity(64 + text.iter().map(|t| t.len() + 8).sum::<usize>());
        put_bytes(&mut input, HASH_DOMAIN);
        input.extend_from_slice(&self.seq.to_be_bytes());
        input.extend_from_slice(&self.at.unix_timestamp_nanos().to_be_bytes());
        for field in text {
            put_bytes(&mut input, field.as_bytes());
        }
        hex::encode(digest(&SHA256, &input))
    }
}

/// Appends `bytes` with its length in front, so field boundaries are never ambiguous.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The audit chain's head as the signing service signed it (see `signq_signer::checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The sequence number of the entry it covers.
    pub seq: u64,
    /// That entry's hash (hex), as the scheduler sent it to be signed.
    pub head_hash: String,
    /// The statement the signing service signed.
    pub statement: Vec<u8>,
    /// The detached CMS signature over the statement.
    pub signature: Vec<u8>,
    /// When it was signed.
    pub signed_at: OffsetDateTime,
}

/// Why a chain does not verify: the first broken entry and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct ChainBreak {
    /// The position (sequence number) of the first entry that does not verify.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Why [`verify_database`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditVerifyError {
    /// The database could not be opened or read.
    #[error("audit database: {0}")]
    Db(String),
    /// The chain is broken.
    #[error(transparent)]
    Break(#[from] ChainBreak),
    /// A record disagrees with the chain: its state, its document or its signature was changed
    /// outside the store, or the record was deleted.
    #[error("{0}")]
    Record(integrity::RecordMismatch),
    /// The chain disagrees with what the signing service signed: rewritten or cut short.
    #[error("audit checkpoint at seq {seq}: {reason}")]
    Checkpoint {
        /// The sequence number the checkpoint covers.
        seq: u64,
        /// What disagrees.
        reason: String,
    },
}

/// What [`verify_database`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries in the chain, all verified.
    pub entries: u64,
    /// Signed checkpoints, all verified against the chain.
    pub checkpoints: u64,
    /// The newest checkpoint: the entry it covers, when and by whom it was signed.
    pub newest: Option<(u64, OffsetDateTime, String)>,
    /// The newest head the signing service itself remembers signing, when its state was given.
    pub signer_last: Option<u64>,
    /// Records held against the chain (state, document hash and bytes, signature), all agreeing.
    pub records: u64,
}

/// Checks a chain one entry at a time, so a database of any size is verified in constant memory.
#[derive(Debug)]
struct ChainCheck {
    /// Entries verified so far.
    checked: u64,
    /// The hash the next entry must name as its `prev_hash`.
    prev_hash: String,
}

impl ChainCheck {
    fn new() -> Self {
        ChainCheck {
            checked: 0,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }

    /// The sequence number the next entry must carry.
    fn expected_seq(&self) -> u64 {
        self.checked.saturating_add(1)
    }

    fn push(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        let seq = self.expected_seq();
        let broken = |reason: String| ChainBreak { seq, reason };
        if entry.seq != seq {
            return Err(broken(format!(
                "found seq {} where {seq} should be (entry missing, moved or inserted)",
                entry.seq
            )));
        }
        if entry.prev_hash != self.prev_hash {
            return Err(broken(format!(
                "prev_hash {} is not the hash of the entry before ({})",
                entry.prev_hash, self.prev_hash
            )));
        }
        let hash = entry.compute_hash();
        if entry.hash != hash {
            return Err(broken(format!(
                "content does not match its hash (stored {}, computed {hash})",
                entry.hash
            )));
        }
        self.prev_hash = hash;
        self.checked = seq;
        Ok(())
    }
}

/// Checks entries in order: seq increases by exactly 1 from 1, each prev_hash is the previous
/// entry's hash, each hash recomputes. Returns the number of entries checked.
pub fn verify_chain(entries: impl IntoIterator<Item = AuditEntry>) -> Result<u64, ChainBreak> {
    let mut check = ChainCheck::new();
    for entry in entries {
        check.push(&entry)?;
    }
    Ok(check.checked)
}

/// Opens a store database file read-only and verifies it with [`verify_store`]. For
/// `signq audit verify` of a SQLite store.
pub fn verify_database(
    path: &Path,
    trust: &TrustStore,
    signer_state: Option<&Path>,
) -> Result<VerifyReport, AuditVerifyError> {
    let conn = super::sqlite::reader(path)
        .map_err(|e| AuditVerifyError::Db(format!("opening {}: {e}", path.display())))?;
    verify_store(&conn, trust, signer_state).map_err(|e| match e {
        AuditVerifyError::Db(m) => AuditVerifyError::Db(format!("{}: {m}", path.display())),
        other => other,
    })
}

/// Entries read at a time while verifying: the chain is checked in constant memory.
const VERIFY_PAGE: usize = 1_000;

/// Verifies a store's whole audit chain, a page of entries at a time, inside one read
/// transaction so a running scheduler may keep appending meanwhile.
///
/// Beyond the chain's own links, every checkpoint the signing service signed is verified (its
/// signature to the ward CA in `trust`, by a signing-service certificate) and compared with the
/// entry it covers, and the chain must reach the newest one: an edited entry whose author
/// re-computed every hash after it, or entries deleted from the end, no longer agree. With
/// `signer_state` (the signing service's state database), the chain must also reach the newest
/// head the signing service remembers, which catches deleting checkpoints along with entries.
/// Then every record is held against the chain ([`integrity::compare_records`]).
pub fn verify_store(
    conn: &dyn Sql,
    trust: &TrustStore,
    signer_state: Option<&Path>,
) -> Result<VerifyReport, AuditVerifyError> {
    let db = |what: &str, e: &dyn std::fmt::Display| AuditVerifyError::Db(format!("{what}: {e}"));
    let chain_id = checkpoints::chain_id(conn).map_err(|e| db("reading the chain id", &e))?;
    // The signing service's memory first, the chain's snapshot after it: on a running ward the
    // chain read is then at least as long as the head the service remembers signing, so a
    // checkpoint signed in between is never mistaken for deleted entries.
    let remembered = match signer_state {
        Some(state) => signq_signer::service::state::State::last_checkpoint_in(state, &chain_id)
            .map_err(|e| db("reading the signing service's state", &e))?,
        None => None,
    };
    let snapshot = |e: StoreError| db("reading the audit log", &e);
    conn.batch("verifying the audit log", conn.begin_read())
        .map_err(snapshot)?;
    let report = verify_snapshot(conn, trust, &chain_id, remembered);
    conn.batch("verifying the audit log", "ROLLBACK")
        .map_err(snapshot)?;
    report
}

/// [`verify_store`] inside its read transaction.
fn verify_snapshot(
    conn: &dyn Sql,
    trust: &TrustStore,
    chain_id: &str,
    remembered: Option<(u64, Vec<u8>)>,
) -> Result<VerifyReport, AuditVerifyError> {
    let db = |e: StoreError| AuditVerifyError::Db(format!("reading the audit log: {e}"));
    let mut signed = BTreeMap::new();
    for c in checkpoints::all(conn).map_err(db)? {
        let broken = |reason: String| AuditVerifyError::Checkpoint { seq: c.seq, reason };
        let verified = signq_signer::checkpoint::verify(&c.statement, &c.signature, trust)
            .map_err(|e| broken(e.to_string()))?;
        let st = &verified.statement;
        if st.chain_id != chain_id || st.seq != c.seq || hex::encode(st.head) != c.head_hash {
            return Err(broken(format!(
                "the signed statement ({st}) does not match the stored checkpoint"
            )));
        }
        signed.insert(c.seq, verified);
    }
    let mut check = ChainCheck::new();
    loop {
        let page = queries::audit_rows(conn, check.checked, VERIFY_PAGE).map_err(db)?;
        let full = page.len() == VERIFY_PAGE;
        for row in page {
            let entry = entry_from_row(&row).map_err(|e| ChainBreak {
                seq: check.expected_seq(),
                reason: format!("unreadable entry: {e}"),
            })?;
            check.push(&entry)?;
            if let Some(c) = signed.get(&entry.seq)
                && hex::encode(c.statement.head) != entry.hash
            {
                return Err(AuditVerifyError::Checkpoint {
                    seq: entry.seq,
                    reason: format!(
                        "the entry differs from what {} signed at {}: the log was rewritten",
                        c.signed_by,
                        signq_signer::delegation::signed::rfc3339(c.signed_at)
                    ),
                });
            }
            if let Some((seq, head)) = &remembered
                && *seq == entry.seq
                && head.as_slice() != hex::decode(&entry.hash).unwrap_or_default().as_slice()
            {
                return Err(AuditVerifyError::Checkpoint {
                    seq: *seq,
                    reason: "the entry differs from the head the signing service remembers signing: the log was rewritten".into(),
                });
            }
        }
        if !full {
            break;
        }
    }
    let entries = check.checked;
    if let Some((&seq, c)) = signed.last_key_value()
        && seq > entries
    {
        return Err(AuditVerifyError::Checkpoint {
            seq,
            reason: format!(
                "{} signed this entry at {}, but the log ends at seq {entries}: entries were deleted",
                c.signed_by,
                signq_signer::delegation::signed::rfc3339(c.signed_at)
            ),
        });
    }
    if let Some((seq, _)) = &remembered
        && *seq > entries
    {
        return Err(AuditVerifyError::Checkpoint {
            seq: *seq,
            reason: format!(
                "the signing service remembers signing this entry, but the log ends at seq {entries}: entries (and their checkpoints) were deleted"
            ),
        });
    }
    let records = integrity::compare_records(conn).map_err(|e| match e {
        integrity::CompareError::Mismatch(m) => AuditVerifyError::Record(m),
        integrity::CompareError::Db(e) => {
            AuditVerifyError::Db(format!("comparing the records: {e}"))
        }
    })?;
    Ok(VerifyReport {
        records,
        entries,
        checkpoints: signed.len() as u64,
        newest: signed
            .last_key_value()
            .map(|(seq, c)| (*seq, c.signed_at, c.signed_by.clone())),
        signer_last: remembered.map(|(seq, _)| seq),
    })
}

/// Reads one `audit` row selected with [`AUDIT_COLUMNS`].
pub fn entry_from_row(row: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.uint(0)?,
        at: row.time(1)?,
        actor: row.text(2)?,
        action: row.text(3)?,
        subject: row.text(4)?,
        detail: row.text(5)?,
        prev_hash: row.text(6)?,
        hash: row.text(7)?,
    })
}

/// Writes one entry to the `audit` table of `conn` (inside the caller's transaction).
pub(crate) fn insert_entry(conn: &dyn Sql, entry: &AuditEntry) -> Result<(), StoreError> {
    let context = "appending the audit entry";
    let seq = i64::try_from(entry.seq)
        .map_err(|_| StoreError::Backend(format!("audit seq {} is too large", entry.seq)))?;
    let at = super::sql::codec::db_time(entry.at, "the audit entry's time")?;
    conn.execute_later(
        context,
        &format!("INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        values![
            seq,
            at,
            &entry.actor,
            &entry.action,
            &entry.subject,
            &entry.detail,
            &entry.prev_hash,
            &entry.hash
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid chain of `n` entries.
    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: OffsetDateTime::from_unix_timestamp_nanos(
                        1_751_328_000_000_000_000 + i128::from(seq) * 1_000_123,
                    )
                    .expect("valid time"),
                    actor: format!("signer:cat-lai/deputy-{seq}"),
                    action: "sign".to_owned(),
                    subject: format!("rec-{seq}"),
                    detail: format!(r#"{{"attempt":{seq}}}"#),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn broken_at(entries: Vec<AuditEntry>) -> u64 {
        verify_chain(entries)
            .expect_err("the chain must not verify")
            .seq
    }

    #[test]
    fn untouched_chain_verifies() {
        assert_eq!(verify_chain(chain(10)).expect("verifies"), 10);
        assert_eq!(verify_chain(Vec::new()).expect("empty verifies"), 0);
    }

    #[test]
    fn editing_any_field_of_any_entry_is_detected() {
        let edits: [fn(&mut AuditEntry); 8] = [
            |e| e.seq += 100,
            |e| e.at += time::Duration::nanoseconds(1),
            |e| e.actor.push('x'),
            |e| e.action = "reject".to_owned(),
            |e| e.subject.push('x'),
            |e| e.detail = r#"{"attempt":99}"#.to_owned(),
            |e| e.prev_hash = GENESIS_HASH.replace('0', "1"),
            |e| e.hash = GENESIS_HASH.to_owned(),
        ];
        for (i, edit) in edits.iter().enumerate() {
            for target in 0..6 {
                let mut entries = chain(6);
                edit(&mut entries[target]);
                assert_eq!(
                    broken_at(entries),
                    target as u64 + 1,
                    "edit {i} of entry {}",
                    target + 1
                );
            }
        }
    }

    #[test]
    fn rehashing_an_edited_entry_breaks_the_next_link() {
        let mut entries = chain(5);
        entries[2].detail = "{}".to_owned();
        entries[2].hash = entries[2].compute_hash();
        assert_eq!(broken_at(entries), 4);
    }

    #[test]
    fn deleting_an_entry_is_detected() {
        for victim in 0..4 {
            let mut entries = chain(5);
            entries.remove(victim);
            assert_eq!(broken_at(entries), victim as u64 + 1);
        }
    }

    #[test]
    fn reordering_entries_is_detected() {
        let mut entries = chain(5);
        entries.swap(1, 3);
        assert_eq!(broken_at(entries), 2);
    }

    #[test]
    fn inserting_an_entry_is_detected() {
        let mut entries = chain(5);
        let mut forged = entries[2].clone();
        forged.subject = "rec-forged".to_owned();
        forged.hash = forged.compute_hash();
        entries.insert(3, forged);
        // The forged copy of entry 3 chains to entry 2, so the break shows at the next position.
        assert_eq!(broken_at(entries.clone()), 4);

        let mut entries = chain(5);
        let mut appended = entries[4].clone();
        appended.seq = 6;
        entries.insert(2, appended);
        assert_eq!(broken_at(entries), 3);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = chain(1).remove(0);
        let mut b = a.clone();
        a.actor = "ab".to_owned();
        a.action = "c".to_owned();
        b.actor = "a".to_owned();
        b.action = "bc".to_owned();
        assert_ne!(a.compute_hash(), b.compute_hash());
    }
}
