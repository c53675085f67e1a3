//! Damage is found, not served. A document's bytes must hash to what the record recorded at
//! submission; a record its person signed must hold a signature, and that signature (and a
//! seal, and the PDF updates holding them) must hash to what its audit entry recorded when it was
//! stored. Reads check both and answer [`StoreError::Damaged`]
//! naming the record otherwise. SQLite's own checks cover the pages: a quick check at every open,
//! the full integrity check on demand (`signq store check`). And [`compare_records`] holds every
//! record against the audit chain, for `signq audit verify`.

use rusqlite::{Connection, OptionalExtension};

use super::codec::{backend, sha256_hex};
use crate::model::{Record, RecordState, Stage};
use crate::store::StoreError;

/// The audit index the checks below use (a record's entries by action).
pub(super) const SCHEMA: &str =
    "CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, action, seq);";

fn damaged(id: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("record {id}: {what}; it is not served"))
}

/// Checks a record's document (none: it is missing) against the hash its record recorded.
pub(super) fn check_document(
    id: &str,
    recorded: &str,
    bytes: Option<Vec<u8>>,
) -> Result<Vec<u8>, StoreError> {
    let bytes = bytes.ok_or_else(|| damaged(id, "its document is missing"))?;
    if sha256_hex(&bytes) != recorded {
        return Err(damaged(
            id,
            "the stored document does not match the hash recorded at submission",
        ));
    }
    Ok(bytes)
}

/// A hash the record's newest `action` audit entry (`sign`, `seal`) recorded under `key`
/// (`signature_sha256`, `pdf_update_sha256`), if it has one.
fn signed_hash(
    conn: &Connection,
    id: &str,
    action: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let context = "reading a record's sign entry";
    let detail: Option<String> = conn
        .prepare_cached(
            "SELECT detail FROM audit WHERE subject = ?1 AND action = ?2 \
             ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut stmt| stmt.query_row([id, action], |row| row.get(0)).optional())
        .map_err(backend(context))?;
    let Some(detail) = detail else {
        return Ok(None);
    };
    let parsed: serde_json::Value = serde_json::from_str(&detail)
        .map_err(|e| damaged(id, format!("its sign entry is unreadable ({e})")))?;
    Ok(parsed.get(key).and_then(|v| v.as_str()).map(str::to_owned))
}

/// Checks the update holding a PDF's signature (`action` `sign`) or seal (`seal`) against the
/// hash its audit entry recorded.
pub(super) fn check_pdf_update(
    conn: &Connection,
    id: &str,
    action: &str,
    update: &[u8],
) -> Result<(), StoreError> {
    match signed_hash(conn, id, action, "pdf_update_sha256")? {
        Some(hash) if hash == sha256_hex(update) => Ok(()),
        Some(_) => Err(damaged(
            id,
            "its signed PDF's update does not match the hash the audit log recorded",
        )),
        None => Err(damaged(
            id,
            "it holds a signed PDF's update the audit log never recorded",
        )),
    }
}

/// Checks a record's signature against its state and its audit entry: a record is signed by its
/// person when it is signed or waits for the seal.
pub(super) fn check_signature(conn: &Connection, record: &Record) -> Result<(), StoreError> {
    let id = &record.meta.id;
    let person_signed = record.state == RecordState::Signed || record.stage == Stage::Seal;
    match (person_signed, &record.signature) {
        (true, None) => Err(damaged(id, "it is signed but holds no signature")),
        (true, Some(signature)) => match signed_hash(conn, id, "sign", "signature_sha256")? {
            None => Err(damaged(
                id,
                "it is signed but the audit log never recorded a signature",
            )),
            Some(hash) if hash != sha256_hex(signature) => Err(damaged(
                id,
                "its signature does not match the hash the audit log recorded",
            )),
            Some(_) => Ok(()),
        },
        (false, Some(_)) => Err(damaged(
            id,
            format!("it is {} but holds a signature", record.state.as_str()),
        )),
        (false, None) => Ok(()),
    }
}

/// SQLite's quick check (pages, no index contents), as at every open.
pub(super) fn quick_check(conn: &Connection) -> Result<(), StoreError> {
    pragma_check(conn, "PRAGMA quick_check(20)", "quick check")
}

/// SQLite's full integrity check (pages and every index): slower, on demand.
pub(super) fn integrity_check(conn: &Connection) -> Result<(), StoreError> {
    pragma_check(conn, "PRAGMA integrity_check(20)", "integrity check")
}

fn pragma_check(conn: &Connection, pragma: &str, name: &str) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(pragma).map_err(backend(name))?;
    let found = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(backend(name))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(name))?;
    if found.len() == 1 && found[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Damaged(format!(
        "SQLite's {name} found damage: {}",
        found.join("; ")
    )))
}

/// A record that disagrees with the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {id}: {reason}")]
pub struct RecordMismatch {
    /// The record.
    pub id: String,
    /// What disagrees.
    pub reason: String,
}

/// What the chain says a record should be: its state after its last entry, its document's
/// hash at submission, its signature's hash.
#[derive(Debug, Default)]
struct Expected {
    state: Option<&'static str>,
    document_sha256: Option<String>,
    signature_sha256: Option<String>,
    pdf_update_sha256: Option<String>,
    /// Whether the person's signature is followed by the seal stage.
    seal_next: bool,
    seal_sha256: Option<String>,
    seal_update_sha256: Option<String>,
}

fn state_after(action: &str) -> Option<&'static str> {
    match action {
        "submit" => Some("queued"),
        "lease" => Some("leased"),
        a if a.starts_with("release:") => Some("queued"),
        "sign" | "seal" => Some("signed"),
        "reject" => Some("rejected"),
        "cancel" => Some("cancelled"),
        _ => None,
    }
}

fn expected(conn: &Connection, id: &str) -> rusqlite::Result<Expected> {
    let mut stmt = conn.prepare_cached(
        "SELECT action, detail FROM audit WHERE subject = ?1 AND \
         (action IN ('submit', 'lease', 'sign', 'seal', 'reject', 'cancel') \
         OR action LIKE 'release:%') \
         ORDER BY seq",
    )?;
    let mut rows = stmt.query([id])?;
    let mut out = Expected::default();
    while let Some(row) = rows.next()? {
        let action: String = row.get(0)?;
        let detail: String = row.get(1)?;
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        let text = |key: &str| detail.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        match action.as_str() {
            "submit" => out.document_sha256 = text("sha256"),
            "sign" => {
                out.signature_sha256 = text("signature_sha256");
                out.pdf_update_sha256 = text("pdf_update_sha256");
                out.seal_next = detail.get("seal_next") == Some(&serde_json::Value::Bool(true));
            }
            "seal" => {
                out.seal_sha256 = text("signature_sha256");
                out.seal_update_sha256 = text("pdf_update_sha256");
            }
            _ => {}
        }
        out.state = if action == "sign" && out.seal_next {
            Some("queued")
        } else {
            state_after(&action).or(out.state)
        };
    }
    Ok(out)
}

/// Holds every record (state, document hash, document bytes, signature) against what the audit
/// chain recorded for it, and every submission in the chain against the records; returns the
/// number of records checked. Reads one record at a time.
pub fn compare_records(conn: &Connection) -> Result<u64, CompareError> {
    let db = |e: rusqlite::Error| CompareError::Db(e.to_string());
    let mismatch = |id: &str, reason: String| {
        CompareError::Mismatch(RecordMismatch {
            id: id.to_owned(),
            reason,
        })
    };
    let mut stmt = conn
        .prepare(
            "SELECT r.id, r.state, r.document_sha256, d.bytes, s.cms, s.pdf_update, r.stage, \
             z.cms, z.pdf_update FROM records r \
             LEFT JOIN documents d ON d.record_id = r.id \
             LEFT JOIN signatures s ON s.record_id = r.id \
             LEFT JOIN seals z ON z.record_id = r.id ORDER BY r.id",
        )
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    let mut checked = 0u64;
    while let Some(row) = rows.next().map_err(db)? {
        let id: String = row.get(0).map_err(db)?;
        let state: String = row.get(1).map_err(db)?;
        let document_sha256: String = row.get(2).map_err(db)?;
        let bytes: Option<Vec<u8>> = row.get(3).map_err(db)?;
        let signature: Option<Vec<u8>> = row.get(4).map_err(db)?;
        let pdf_update: Option<Vec<u8>> = row.get(5).map_err(db)?;
        let stage: String = row.get(6).map_err(db)?;
        let seal: Option<Vec<u8>> = row.get(7).map_err(db)?;
        let seal_update: Option<Vec<u8>> = row.get(8).map_err(db)?;
        let want = expected(conn, &id).map_err(db)?;
        match want.state {
            None => {
                return Err(mismatch(&id, "the audit log never recorded it".into()));
            }
            Some(s) if s != state => {
                return Err(mismatch(
                    &id,
                    format!("it is {state}, but the audit log says {s}"),
                ));
            }
            Some(_) => {}
        }
        if want.document_sha256.as_deref() != Some(document_sha256.as_str()) {
            return Err(mismatch(
                &id,
                "its document hash differs from the one the audit log recorded at submission"
                    .into(),
            ));
        }
        match bytes {
            None => return Err(mismatch(&id, "its document is missing".into())),
            Some(b) if sha256_hex(&b) != document_sha256 => {
                return Err(mismatch(
                    &id,
                    "its document's bytes do not match the recorded hash".into(),
                ));
            }
            Some(_) => {}
        }
        let have = signature.as_deref().map(sha256_hex);
        let (want_signature, want_update) = if state == "signed" || stage == "seal" {
            (want.signature_sha256, want.pdf_update_sha256)
        } else {
            (None, None)
        };
        let (want_seal, want_seal_update) = if state == "signed" && stage == "seal" {
            (want.seal_sha256, want.seal_update_sha256)
        } else {
            (None, None)
        };
        if seal.as_deref().map(sha256_hex) != want_seal
            || seal_update.as_deref().map(sha256_hex) != want_seal_update
        {
            return Err(mismatch(
                &id,
                "its seal does not match the one the audit log recorded".into(),
            ));
        }
        if pdf_update.as_deref().map(sha256_hex) != want_update {
            return Err(mismatch(
                &id,
                "its signed PDF's update does not match the hash the audit log recorded".into(),
            ));
        }
        if have != want_signature {
            return Err(mismatch(
                &id,
                match (have, want_signature) {
                    (None, Some(_)) => "its signature is missing".into(),
                    (Some(_), None) => "it holds a signature the audit log never recorded".into(),
                    _ => "its signature does not match the hash the audit log recorded".into(),
                },
            ));
        }
        checked += 1;
    }
    // Every submission the chain recorded must still be a record.
    let mut submitted = conn
        .prepare(
            "SELECT a.subject FROM audit a WHERE a.action = 'submit' \
             AND NOT EXISTS (SELECT 1 FROM records r WHERE r.id = a.subject) LIMIT 1",
        )
        .map_err(db)?;
    if let Some(id) = submitted
        .query_row([], |row| row.get::<_, String>(0))
        .optional()
        .map_err(db)?
    {
        return Err(mismatch(
            &id,
            "the audit log recorded its submission, but the record is gone".into(),
        ));
    }
    Ok(checked)
}

/// Why [`compare_records`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The database could not be read.
    #[error("{0}")]
    Db(String),
    /// A record disagrees with the chain.
    #[error(transparent)]
    Mismatch(#[from] RecordMismatch),
}
