//! Damage is found, not served. A document's bytes must hash to what the record recorded at
//! submission; a record its person signed must hold a signature, and that signature (and a
//! seal, and the PDF updates holding them) must hash to what its audit entry recorded when it was
//! stored. Reads check both and answer [`StoreError::Damaged`]
//! naming the record otherwise (the database's own checks of its pages are each back end's). And
//! [`compare_records`] holds every record against the audit chain, for `signq audit verify`.
//!
//! The checks read a record's entries by the `audit_subject` index (subject, action, seq) that
//! both back ends' schemas make.

use super::codec::{limit_param, sha256_hex};
use super::{Sql, values};
use crate::model::{Record, RecordState, Stage};
use crate::store::StoreError;

fn damaged(id: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("record {id}: {what}; it is not served"))
}

/// Checks a record's document (none: it is missing) against the hash its record recorded.
pub(crate) fn check_document(
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
    conn: &dyn Sql,
    id: &str,
    action: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let row = conn.query_opt(
        "reading a record's sign entry",
        "SELECT detail FROM audit WHERE subject = ?1 AND action = ?2 ORDER BY seq DESC LIMIT 1",
        values![id, action],
    )?;
    let Some(detail) = row.map(|r| r.text(0)).transpose()? else {
        return Ok(None);
    };
    let parsed: serde_json::Value = serde_json::from_str(&detail)
        .map_err(|e| damaged(id, format!("its sign entry is unreadable ({e})")))?;
    Ok(parsed.get(key).and_then(|v| v.as_str()).map(str::to_owned))
}

/// Checks the update holding a PDF's signature (`action` `sign`) or seal (`seal`) against the
/// hash its audit entry recorded.
pub(crate) fn check_pdf_update(
    conn: &dyn Sql,
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
pub(crate) fn check_signature(conn: &dyn Sql, record: &Record) -> Result<(), StoreError> {
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

/// Records compared at a time.
const COMPARE_PAGE: usize = 500;

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

fn expected(conn: &dyn Sql, id: &str) -> Result<Expected, StoreError> {
    let rows = conn.query(
        "reading a record's audit entries",
        "SELECT action, detail FROM audit WHERE subject = ?1 AND \
         (action IN ('submit', 'lease', 'sign', 'seal', 'reject', 'cancel') \
         OR action LIKE 'release:%') \
         ORDER BY seq",
        values![id],
    )?;
    let mut out = Expected::default();
    for row in rows {
        let action = row.text(0)?;
        let detail = row.text(1)?;
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
/// number of records checked. Reads a page of records at a time.
pub fn compare_records(conn: &dyn Sql) -> Result<u64, CompareError> {
    let db = |e: StoreError| CompareError::Db(e.to_string());
    let mismatch = |id: &str, reason: String| {
        CompareError::Mismatch(RecordMismatch {
            id: id.to_owned(),
            reason,
        })
    };
    let mut checked = 0u64;
    let mut after = String::new();
    loop {
        let page = conn
            .query(
                "reading records",
                "SELECT r.id, r.state, r.document_sha256, d.bytes, s.cms, s.pdf_update, r.stage, \
             z.cms, z.pdf_update FROM records r \
             LEFT JOIN documents d ON d.record_id = r.id \
             LEFT JOIN signatures s ON s.record_id = r.id \
             LEFT JOIN seals z ON z.record_id = r.id WHERE r.id > ?1 ORDER BY r.id LIMIT ?2",
                values![&after, limit_param(COMPARE_PAGE)],
            )
            .map_err(db)?;
        let Some(last) = page.last() else { break };
        after = last.text(0).map_err(db)?;
        for row in page {
            let id = row.text(0).map_err(db)?;
            let state = row.text(1).map_err(db)?;
            let document_sha256 = row.text(2).map_err(db)?;
            let bytes = row.opt_blob(3).map_err(db)?;
            let signature = row.opt_blob(4).map_err(db)?;
            let pdf_update = row.opt_blob(5).map_err(db)?;
            let stage = row.text(6).map_err(db)?;
            let seal = row.opt_blob(7).map_err(db)?;
            let seal_update = row.opt_blob(8).map_err(db)?;
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
                        (Some(_), None) => {
                            "it holds a signature the audit log never recorded".into()
                        }
                        _ => "its signature does not match the hash the audit log recorded".into(),
                    },
                ));
            }
            checked += 1;
        }
    }
    // Every submission the chain recorded must still be a record.
    let gone = conn
        .query_opt(
            "reading submissions",
            "SELECT a.subject FROM audit a WHERE a.action = 'submit' \
             AND NOT EXISTS (SELECT 1 FROM records r WHERE r.id = a.subject) LIMIT 1",
            &[],
        )
        .map_err(db)?;
    if let Some(id) = gone.map(|row| row.text(0)).transpose().map_err(db)? {
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
