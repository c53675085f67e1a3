//! The record state machine with its fences: what a [`Transition`] does to a [`Record`].
//!
//! Pure (no database), so the rules are read and tested in one place; the store applies the
//! resulting record, event and audit entry in one transaction. Nothing here is SQLite-specific:
//! a PostgreSQL store can use it as it is.

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::codec::sha256_hex;
use crate::model::{Lease, Record, RecordState, Stage, Transition};
use crate::store::StoreError;

/// A signature a transition made, to store beside the record.
#[derive(Debug)]
pub(crate) enum Stored {
    /// The person's (its chain is the record's).
    Signature(Vec<u8>),
    /// The ward's seal.
    Seal(Vec<u8>),
}

/// The outcome of a transition that passed its fence.
#[derive(Debug)]
pub(crate) struct Change {
    /// The record after the change (with the new signature and chain, for a sign).
    pub(crate) record: Record,
    /// The audit action: `lease`, `release:<reason>`, `sign`, `seal`, `reject`, `cancel`.
    pub(crate) action: String,
    /// The audit detail.
    pub(crate) detail: serde_json::Value,
    /// The signature made, if any.
    pub(crate) stored: Option<Stored>,
    /// For a signature over a PDF: the incremental update holding it (empty otherwise).
    pub(crate) pdf_update: Vec<u8>,
}

/// The audit detail of a signature: its hash and size, and its PDF update's.
fn signature_detail(mut detail: serde_json::Value, cms: &[u8], update: &[u8]) -> serde_json::Value {
    detail["signature_sha256"] = json!(sha256_hex(cms));
    detail["signature_size"] = json!(cms.len());
    if !update.is_empty() {
        detail["pdf_update_sha256"] = json!(sha256_hex(update));
        detail["pdf_update_size"] = json!(update.len());
    }
    detail
}

/// RFC 3339 for the audit detail (falls back to the debug form, which cannot fail).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| format!("{t}"))
}

/// Who holds or held the record at its stage: the person (`signer_id`), or at the seal stage
/// the clerk (`clerk_id`).
fn holder(record: &mut Record) -> &mut Option<String> {
    match record.stage {
        Stage::Person => &mut record.signer_id,
        Stage::Seal => &mut record.clerk_id,
    }
}

/// Applies `transition` to `current` at `now`, or refuses it with [`StoreError::Fenced`] naming
/// the stored state and attempt.
///
/// Fences: a lease needs a queued record at the caller's attempt; release, sign, seal and reject
/// need a leased record at the current lease's attempt (sign at the person stage, seal at the
/// seal stage); cancel needs a record not yet final. So a stale lease holder can never overwrite
/// a newer one, and a signed record can never be signed again.
///
/// At the seal stage the person who signed stays in `signer_id`; the clerk who holds, seals or
/// refuses it is `clerk_id`.
pub(crate) fn advance(
    current: &Record,
    transition: Transition,
    now: OffsetDateTime,
) -> Result<Change, StoreError> {
    let fenced = || StoreError::Fenced {
        id: current.meta.id.clone(),
        state: current.state.as_str(),
        attempt: current.attempt,
    };
    let holds_lease =
        |attempt: u32| current.state == RecordState::Leased && current.attempt == attempt;
    let sealing = current.stage == Stage::Seal;
    let mut next = current.clone();
    let mut update = Vec::new();
    let mut stored = None;
    let (action, detail) = match transition {
        Transition::Lease {
            attempt,
            signer_id,
            expires_at,
            escalated,
            ..
        } => {
            if current.state != RecordState::Queued || current.attempt != attempt {
                return Err(fenced());
            }
            let attempt = attempt.checked_add(1).ok_or_else(|| {
                StoreError::Backend(format!(
                    "record {} ran out of lease attempts",
                    current.meta.id
                ))
            })?;
            next.state = RecordState::Leased;
            next.attempt = attempt;
            next.lease = Some(Lease {
                signer_id: signer_id.clone(),
                attempt,
                expires_at,
            });
            *holder(&mut next) = Some(signer_id.clone());
            // Sticky: once the deadline guard escalated a record, it counts as escalated.
            next.escalated = current.escalated || escalated;
            let detail = json!({
                "attempt": attempt,
                "signer": signer_id,
                "expires_at": rfc3339(expires_at),
                "escalated": escalated,
            });
            ("lease".to_owned(), detail)
        }
        Transition::Release {
            attempt, reason, ..
        } => {
            if !holds_lease(attempt) {
                return Err(fenced());
            }
            let leased_to = current.lease.as_ref().map(|l| l.signer_id.clone());
            next.state = RecordState::Queued;
            next.lease = None;
            *holder(&mut next) = None;
            let detail =
                json!({ "attempt": attempt, "signer": leased_to, "reason": reason.as_str() });
            (format!("release:{}", reason.as_str()), detail)
        }
        Transition::Sign {
            attempt,
            signer_id,
            delegation_id,
            signature,
            chain,
            pdf_update,
            seal_next,
            ..
        } => {
            if !holds_lease(attempt) || sealing {
                return Err(fenced());
            }
            let mut detail = json!({
                "attempt": attempt,
                "signer": signer_id,
                "delegation": delegation_id,
                "chain_length": chain.len(),
            });
            if seal_next {
                detail["seal_next"] = json!(true);
            }
            let detail = signature_detail(detail, &signature, &pdf_update);
            update = pdf_update;
            next.lease = None;
            next.signer_id = Some(signer_id);
            next.delegation_id = delegation_id;
            next.signed_at = Some(now);
            if seal_next {
                next.state = RecordState::Queued;
                next.stage = Stage::Seal;
            } else {
                next.state = RecordState::Signed;
                next.finished_at = Some(now);
            }
            stored = Some(Stored::Signature(signature.clone()));
            next.signature = Some(signature);
            next.chain = chain;
            ("sign".to_owned(), detail)
        }
        Transition::Seal {
            attempt,
            clerk_id,
            signature,
            pdf_update,
            ..
        } => {
            if !holds_lease(attempt) || !sealing {
                return Err(fenced());
            }
            let detail = json!({ "attempt": attempt, "clerk": clerk_id });
            let detail = signature_detail(detail, &signature, &pdf_update);
            update = pdf_update;
            next.state = RecordState::Signed;
            next.lease = None;
            next.clerk_id = Some(clerk_id);
            next.finished_at = Some(now);
            stored = Some(Stored::Seal(signature));
            ("seal".to_owned(), detail)
        }
        Transition::Reject {
            attempt,
            signer_id,
            reason,
            ..
        } => {
            if !holds_lease(attempt) {
                return Err(fenced());
            }
            let detail = json!({ "attempt": attempt, "signer": signer_id, "reason": reason });
            next.state = RecordState::Rejected;
            next.lease = None;
            *holder(&mut next) = Some(signer_id);
            next.finished_at = Some(now);
            next.reason = Some(reason);
            ("reject".to_owned(), detail)
        }
        Transition::Cancel { reason, .. } => {
            if current.state.is_final() {
                return Err(fenced());
            }
            let detail = json!({
                "attempt": current.attempt,
                "from": current.state.as_str(),
                "signer": current.lease.as_ref().map(|l| &l.signer_id),
                "reason": reason,
            });
            next.state = RecordState::Cancelled;
            next.lease = None;
            *holder(&mut next) = None;
            next.finished_at = Some(now);
            next.reason = Some(reason);
            ("cancel".to_owned(), detail)
        }
    };
    Ok(Change {
        record: next,
        action,
        detail,
        stored,
        pdf_update: update,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Priority, RecordMeta, ReleaseReason};

    fn queued() -> Record {
        let t = OffsetDateTime::UNIX_EPOCH;
        Record::queued(RecordMeta {
            id: "r1".into(),
            ward: "w".into(),
            procedure_code: "HT-KS".into(),
            title: "t".into(),
            priority: Priority::Normal,
            deadline: t,
            submitted_at: t,
            idempotency_key: "k".into(),
            document_size: 1,
            document_sha256: "00".into(),
            signature_place: None,
        })
    }

    fn lease(attempt: u32) -> Transition {
        let expires_at = OffsetDateTime::UNIX_EPOCH;
        Transition::Lease {
            id: "r1".into(),
            attempt,
            signer_id: "s".into(),
            expires_at,
            escalated: false,
        }
    }

    fn is_fenced(r: Result<Change, StoreError>, state: &str, attempt: u32) -> bool {
        matches!(r, Err(StoreError::Fenced { state: s, attempt: a, .. }) if s == state && a == attempt)
    }

    #[test]
    fn lease_release_lease_sign_then_nothing_more() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let r = advance(&queued(), lease(0), now).expect("lease").record;
        assert_eq!((r.state, r.attempt), (RecordState::Leased, 1));
        let release = Transition::Release {
            id: "r1".into(),
            attempt: 1,
            reason: ReleaseReason::Expired,
        };
        let r = advance(&r, release, now).expect("release").record;
        assert_eq!(
            (r.state, r.attempt, r.lease.is_none()),
            (RecordState::Queued, 1, true)
        );
        assert!(is_fenced(advance(&r, lease(0), now), "queued", 1));
        let r = advance(&r, lease(1), now).expect("lease again").record;
        let sign = |attempt| Transition::Sign {
            id: "r1".into(),
            attempt,
            signer_id: "s".into(),
            delegation_id: None,
            signature: vec![1],
            chain: vec![],
            pdf_update: Vec::new(),
            seal_next: false,
        };
        assert!(is_fenced(advance(&r, sign(1), now), "leased", 2));
        let r = advance(&r, sign(2), now).expect("sign").record;
        assert_eq!(r.state, RecordState::Signed);
        assert!(is_fenced(advance(&r, sign(2), now), "signed", 2));
        let cancel = Transition::Cancel {
            id: "r1".into(),
            reason: "x".into(),
        };
        assert!(is_fenced(advance(&r, cancel, now), "signed", 2));
    }
}
