//! The record mutations: submit and the fenced transitions. Each runs on the writer thread inside
//! its job's savepoint and writes the record, its watch event and its audit entry together, so
//! the three never disagree.

use serde_json::json;

use super::codec::{db_time, limit_param, place_to_db, sha256_hex, state_values};
use super::queries::get_record;
use super::replicas::Fence;
use super::transition::{Stored, advance, rfc3339};
use super::writer::WriteCx;
use super::{Sql, Value, values};
use crate::model::{
    Actor, Decision, EventKind, Reappointment, ReappointmentState, Record, RecordMeta, RecordState,
    Transition,
};
use crate::store::{Notice, StoreError};

/// Appends the watch event of `record`'s current state.
fn append_event(cx: &mut WriteCx<'_>, record: &Record) -> Result<(), StoreError> {
    append_event_of(cx, record, EventKind::Changed)
}

/// Appends a watch event of `kind` with `record`'s current state.
fn append_event_of(
    cx: &mut WriteCx<'_>,
    record: &Record,
    kind: EventKind,
) -> Result<(), StoreError> {
    let mut params: Vec<Value> = vec![(&record.meta.ward).into(), (&record.meta.id).into()];
    params.extend(state_values(record)?);
    params.push(db_time(cx.now, "event time")?.into());
    params.push(kind.as_str().into());
    cx.notice(Notice::Ward(record.meta.ward.clone()));
    cx.conn.execute_later(
        "appending an event",
        "INSERT INTO events (ward, record_id, state, attempt, lease_signer, lease_expires_at, \
         signer_id, delegation_id, finished_at, reason, escalated, stage, signed_at, \
         clerk_id, at, kind) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        &params,
    )?;
    Ok(())
}

/// Accepts a new record, or returns the one already stored under its idempotency key.
pub(crate) fn submit(
    cx: &mut WriteCx<'_>,
    meta: RecordMeta,
    document: Vec<u8>,
    actor: &Actor,
) -> Result<(Record, bool), StoreError> {
    let context = "submitting a record";
    // One look for both, each by its own unique index: a record under the idempotency key
    // (marked 1), and a record with the new id.
    let taken = cx.conn.query(
        context,
        "SELECT id, document_sha256, 1 FROM records WHERE ward = ?1 AND idempotency_key = ?2 \
         UNION ALL SELECT id, document_sha256, 0 FROM records WHERE id = ?3",
        values![&meta.ward, &meta.idempotency_key, &meta.id],
    )?;
    if let Some(keyed) = taken.iter().find(|row| row.bool(2).unwrap_or(false)) {
        return stored(cx.conn, &meta, &keyed.text(0)?, &keyed.text(1)?).map(|r| (r, false));
    }

    // The scheduler computes the meta from the document; a mismatch is a bug, refused before it
    // could put a false hash on record.
    let actual = sha256_hex(&document);
    if actual != meta.document_sha256
        || u64::try_from(document.len()).ok() != Some(meta.document_size)
    {
        return Err(StoreError::Backend(format!(
            "record {}: document_sha256/document_size do not describe the document (sha256 {actual}, {} bytes)",
            meta.id,
            document.len()
        )));
    }
    if !taken.is_empty() {
        return Err(StoreError::Conflict(format!(
            "record id {} is already taken",
            meta.id
        )));
    }

    let record = Record::queued(meta);
    let m = &record.meta;
    let deadline = db_time(m.deadline, "deadline")?;
    let submitted_at = db_time(m.submitted_at, "submission time")?;
    let size = i64::try_from(m.document_size)
        .map_err(|_| StoreError::Backend(format!("record {}: document too large", m.id)))?;
    let mut params: Vec<Value> = values![
        &m.id,
        &m.ward,
        &m.procedure_code,
        &m.title,
        m.priority as i64,
        deadline,
        submitted_at,
        &m.idempotency_key,
        size,
        &m.document_sha256,
    ]
    .to_vec();
    params.extend(state_values(&record)?);
    params.push(place_to_db(m.signature_place.as_ref()).into());
    // The look above ran under the chain's lock, which every writer of every replica takes, so
    // no record can have come under the key since. Should one have (a writer without the lock),
    // the insert does nothing, the document's foreign key fails this job, and a retry finds the
    // record under its key.
    cx.conn.execute_later(
        context,
        "INSERT INTO records (id, ward, procedure_code, title, priority, deadline, submitted_at, \
         idempotency_key, document_size, document_sha256, state, attempt, lease_signer, \
         lease_expires_at, signer_id, delegation_id, finished_at, reason, escalated, stage, \
         signed_at, clerk_id, signature_place) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, ?22, ?23) ON CONFLICT (ward, idempotency_key) DO NOTHING",
        &params,
    )?;
    cx.conn.execute_later(
        "storing a document",
        "INSERT INTO documents (record_id, bytes) VALUES (?1, ?2)",
        values![&m.id, document],
    )?;
    append_event(cx, &record)?;
    let detail = json!({
        "procedure": m.procedure_code,
        "deadline": rfc3339(m.deadline),
        "sha256": m.document_sha256,
        "size": m.document_size,
    });
    cx.audit(actor, "submit", &m.id, &detail)?;
    Ok((record, true))
}

/// Record `id`, stored under `meta`'s idempotency key with a document hashing to `sha256`: the
/// record again for the same document, a conflict for another.
fn stored(conn: &dyn Sql, meta: &RecordMeta, id: &str, sha256: &str) -> Result<Record, StoreError> {
    if sha256 != meta.document_sha256 {
        return Err(StoreError::Conflict(format!(
            "idempotency_key {:?} was used for a different document in ward {}",
            meta.idempotency_key, meta.ward
        )));
    }
    get_record(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("record {id}")))
}

/// Applies a fenced transition with its event and audit entry.
pub(crate) fn apply(
    cx: &mut WriteCx<'_>,
    transition: Transition,
    actor: &Actor,
    fence: Option<&Fence>,
) -> Result<Record, StoreError> {
    let id = transition.record_id().to_owned();
    let current =
        get_record(cx.conn, &id)?.ok_or_else(|| StoreError::NotFound(format!("record {id}")))?;
    if let Some(fence) = fence {
        fence.check(cx.conn, &current.meta.ward)?;
    }
    let change = advance(&current, transition, cx.now)?;
    let record = &change.record;
    // Conditional on the state and attempt the change was computed from: a writer that read
    // the record before another committed a change to it updates nothing, and is fenced.
    let mut params = state_values(record)?;
    params.push(id.as_str().into());
    params.push(current.state.as_str().into());
    params.push(current.attempt.into());
    let updated = cx.conn.execute(
        "updating a record",
        "UPDATE records SET state = ?1, attempt = ?2, lease_signer = ?3, lease_expires_at = ?4, \
         signer_id = ?5, delegation_id = ?6, finished_at = ?7, reason = ?8, escalated = ?9, \
         stage = ?10, signed_at = ?11, clerk_id = ?12 \
         WHERE id = ?13 AND state = ?14 AND attempt = ?15",
        &params,
    )?;
    if updated != 1 {
        return Err(StoreError::Fenced {
            id,
            state: current.state.as_str(),
            attempt: current.attempt,
        });
    }
    match &change.stored {
        Some(Stored::Signature(signature)) => {
            store_signature(cx.conn, &id, signature, &change.pdf_update, &record.chain)?;
        }
        Some(Stored::Seal(cms)) => {
            cx.conn.execute_later(
                "storing a seal",
                "INSERT INTO seals (record_id, cms, pdf_update) VALUES (?1, ?2, ?3)",
                values![&id, cms, &change.pdf_update],
            )?;
        }
        None => {}
    }
    append_event(cx, record)?;
    cx.audit(actor, &change.action, &id, &change.detail)?;
    Ok(change.record)
}

/// Stores a record's signature and chain (certificates once each, by hash).
fn store_signature(
    conn: &dyn Sql,
    id: &str,
    signature: &[u8],
    pdf_update: &[u8],
    chain: &[Vec<u8>],
) -> Result<(), StoreError> {
    let context = "storing a signature";
    let pdf_update = (!pdf_update.is_empty()).then_some(pdf_update);
    conn.execute_later(
        context,
        "INSERT INTO signatures (record_id, cms, pdf_update) VALUES (?1, ?2, ?3)",
        values![id, signature, pdf_update],
    )?;
    for (position, der) in chain.iter().enumerate() {
        let sha256 = sha256_hex(der);
        conn.execute_later(
            context,
            "INSERT INTO certificates (sha256, der) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            values![&sha256, der],
        )?;
        conn.execute_later(
            context,
            "INSERT INTO record_chain (record_id, position, cert_sha256) VALUES (?1, ?2, ?3)",
            values![id, limit_param(position), sha256],
        )?;
    }
    Ok(())
}

/// Flags `ward`'s open records due before `due_before` that are not flagged yet as at risk of
/// being late, at most `limit` of them (soonest due first), each with an `at_risk` watch event;
/// returns them. A record is flagged once: the flag stays when it is leased, released or
/// restored.
pub(crate) fn flag_at_risk(
    cx: &mut WriteCx<'_>,
    ward: &str,
    due_before: time::OffsetDateTime,
    limit: usize,
) -> Result<Vec<Record>, StoreError> {
    let context = "flagging records at risk";
    let due_before = db_time(due_before, "the at-risk limit")?;
    let now = db_time(cx.now, "the time")?;
    let ids = cx.conn.query(
        context,
        "SELECT id FROM records WHERE state IN ('queued', 'leased') AND at_risk_at IS NULL \
         AND ward = ?1 AND deadline < ?2 ORDER BY deadline, id LIMIT ?3",
        values![ward, due_before, limit_param(limit)],
    )?;
    let mut flagged = Vec::with_capacity(ids.len());
    for row in ids {
        let id = row.text(0)?;
        cx.conn.execute(
            context,
            "UPDATE records SET at_risk_at = ?2 WHERE id = ?1",
            values![&id, now],
        )?;
        let record = get_record(cx.conn, &id)?
            .ok_or_else(|| StoreError::Backend(format!("{id}: flagged, then not found")))?;
        append_event_of(cx, &record, EventKind::AtRisk)?;
        flagged.push(record);
    }
    Ok(flagged)
}

/// Stores a request for a new appointment date: at most one per record, for a record not signed,
/// rejected or cancelled yet, before its deadline, for a date after it.
pub(crate) fn request_reappointment(
    cx: &mut WriteCx<'_>,
    request: Reappointment,
    actor: &Actor,
) -> Result<Reappointment, StoreError> {
    let id = request.record_id.clone();
    let record =
        get_record(cx.conn, &id)?.ok_or_else(|| StoreError::NotFound(format!("record {id}")))?;
    if let Some(earlier) = &record.reappointment {
        return Err(StoreError::Precondition(format!(
            "record {id}: a new appointment was already asked for on {} ({}); a record is \
             re-appointed at most once",
            rfc3339(earlier.requested_at),
            earlier.state.as_str()
        )));
    }
    if !matches!(record.state, RecordState::Queued | RecordState::Leased) {
        return Err(StoreError::Precondition(format!(
            "record {id} is {}: only a record still to be signed is re-appointed",
            record.state.as_str()
        )));
    }
    if cx.now >= record.meta.deadline {
        return Err(StoreError::Precondition(format!(
            "record {id} was due at {}: a new appointment is asked for before the deadline",
            rfc3339(record.meta.deadline)
        )));
    }
    if request.new_deadline <= record.meta.deadline {
        return Err(StoreError::Precondition(format!(
            "the new appointment {} is not after the deadline {}",
            rfc3339(request.new_deadline),
            rfc3339(record.meta.deadline)
        )));
    }
    let stored = Reappointment {
        original_deadline: record.meta.deadline,
        requested_at: cx.now,
        state: ReappointmentState::Pending,
        ..request
    };
    let times = (
        db_time(stored.original_deadline, "the deadline")?,
        db_time(stored.new_deadline, "the new appointment")?,
        db_time(stored.requested_at, "the request time")?,
    );
    cx.conn.execute(
        "storing a request for a new appointment",
        "INSERT INTO reappointments (record_id, reason, original_deadline, new_deadline, \
         requested_by, requested_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        values![
            &stored.record_id,
            &stored.reason,
            times.0,
            times.1,
            &stored.requested_by,
            times.2,
            stored.state.as_str(),
        ],
    )?;
    let detail = json!({
        "reason": stored.reason,
        "original_deadline": rfc3339(stored.original_deadline),
        "new_deadline": rfc3339(stored.new_deadline),
    });
    cx.audit(actor, "reappoint-request", &id, &detail)?;
    cx.notice(Notice::Ward(record.meta.ward.clone()));
    Ok(stored)
}

/// Records a director's decision on record `id`'s pending request for a new appointment date;
/// on approval the record's deadline becomes the new date (the request keeps the original).
pub(crate) fn decide_reappointment(
    cx: &mut WriteCx<'_>,
    id: &str,
    decision: Decision,
    actor: &Actor,
) -> Result<Record, StoreError> {
    let record =
        get_record(cx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("record {id}")))?;
    let Some(asked) = record
        .reappointment
        .as_ref()
        .filter(|r| r.state == ReappointmentState::Pending)
    else {
        return Err(StoreError::Precondition(format!(
            "record {id} has no request for a new appointment waiting for a decision"
        )));
    };
    if !matches!(record.state, RecordState::Queued | RecordState::Leased) {
        return Err(StoreError::Precondition(format!(
            "record {id} is {} already: there is nothing to re-appoint",
            record.state.as_str()
        )));
    }
    let approved = decision.apology.is_some();
    let state = if approved {
        ReappointmentState::Approved
    } else {
        ReappointmentState::Refused
    };
    let at = db_time(decision.at, "the decision time")?;
    cx.conn.execute(
        "storing a decision on a new appointment",
        "UPDATE reappointments SET state = ?2, decided_by = ?3, decided_at = ?4, refusal = ?5, \
         apology = ?6, apology_signature = ?7 WHERE record_id = ?1",
        values![
            id,
            state.as_str(),
            &decision.by,
            at,
            &decision.refusal,
            &decision.apology,
            &decision.apology_signature,
        ],
    )?;
    let new_deadline = db_time(asked.new_deadline, "the new appointment")?;
    if approved {
        cx.conn.execute(
            "moving a deadline",
            "UPDATE records SET deadline = ?2 WHERE id = ?1",
            values![id, new_deadline],
        )?;
    }
    let detail = match &decision.apology {
        Some(apology) => json!({
            "new_deadline": rfc3339(asked.new_deadline),
            "original_deadline": rfc3339(asked.original_deadline),
            "apology_sha256": sha256_hex(apology),
            "apology_signature_sha256": decision.apology_signature.as_deref().map(sha256_hex),
        }),
        None => json!({ "refusal": decision.refusal }),
    };
    let action = if approved {
        "reappoint"
    } else {
        "reappoint-refuse"
    };
    cx.audit(actor, action, id, &detail)?;
    cx.notice(Notice::Ward(record.meta.ward.clone()));
    get_record(cx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("record {id}")))
}
