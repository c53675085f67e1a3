//! Conversions between the domain types and rows of either back end: times, states, records and
//! events.
//!
//! Kept in one place so every query reads and writes the same columns the same way, and so a
//! damaged value in the database becomes a [`StoreError::Backend`] naming it, never a panic.

use time::OffsetDateTime;

use super::{Row, Value};

use crate::model::{
    Decision, Event, EventKind, Lease, Priority, Reappointment, ReappointmentState, Record,
    RecordMeta, RecordState, Stage,
};
use crate::store::StoreError;

/// A time as stored: unix nanoseconds. Times outside 1677..2262 cannot be stored.
pub(crate) fn db_time(t: OffsetDateTime, what: &str) -> Result<i64, StoreError> {
    i64::try_from(t.unix_timestamp_nanos()).map_err(|_| {
        StoreError::Backend(format!(
            "{what} {t} is outside the storable range (years 1677 to 2262)"
        ))
    })
}

/// [`db_time`] of an optional time.
pub(crate) fn db_time_opt(
    t: Option<OffsetDateTime>,
    what: &str,
) -> Result<Option<i64>, StoreError> {
    t.map(|t| db_time(t, what)).transpose()
}

/// Reads the stage columns (stage, signed_at, clerk_id) from `first` on into `record`.
fn stage_cols(row: &Row, first: usize, record: &mut Record) -> Result<(), StoreError> {
    record.stage = enum_col(row, first, Stage::parse)?;
    record.signed_at = row.opt_time(first + 1)?;
    record.clerk_id = row.opt_text(first + 2)?;
    Ok(())
}

/// Reads a column stored by an enum's `as_str`, parsed back with `parse`.
pub(crate) fn enum_col<T>(
    row: &Row,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let s = row.text(idx)?;
    parse(&s)
        .ok_or_else(|| StoreError::Backend(format!("unreadable column {idx}: unknown value {s:?}")))
}

/// The lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// A `LIMIT` parameter from a caller's `usize`.
pub(crate) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A PDF signature's place as stored: `page x y width height` (page 0: the last; a rectangle of
/// zeros: the default), then ` field-name` for an existing signature field.
pub(crate) fn place_to_db(place: Option<&signq_pades::Place>) -> Option<String> {
    place.map(|p| {
        let r = p.rect.map_or([0.0; 4], |r| [r.x, r.y, r.width, r.height]);
        let mut text = format!(
            "{} {} {} {} {}",
            p.page.unwrap_or(0),
            r[0],
            r[1],
            r[2],
            r[3]
        );
        if let Some(field) = &p.field {
            text.push(' ');
            text.push_str(field);
        }
        text
    })
}

/// Reads a place stored by [`place_to_db`].
fn place_col(row: &Row, idx: usize) -> Result<Option<signq_pades::Place>, StoreError> {
    let Some(text) = row.opt_text(idx)? else {
        return Ok(None);
    };
    let bad = || StoreError::Backend(format!("unreadable column {idx}: place {text:?}"));
    let fields: Vec<&str> = text.splitn(6, ' ').collect();
    let (page, x, y, w, h, field) = match fields[..] {
        [page, x, y, w, h] => (page, x, y, w, h, ""),
        [page, x, y, w, h, field] => (page, x, y, w, h, field),
        _ => return Err(bad()),
    };
    let number = |s: &str| s.parse::<f32>().map_err(|_| bad());
    let page = page.parse::<u32>().map_err(|_| bad())?;
    signq_pades::Place::from_api(page, number(x)?, number(y)?, number(w)?, number(h)?, field)
        .map(Some)
        .map_err(|_| bad())
}

/// Selects whole records (columns 0..=35 as [`record_from_row`] reads them). The signature comes
/// along; the chain is read separately, only for signed records.
pub(crate) const RECORD_SELECT: &str = "SELECT r.id, r.ward, r.procedure_code, r.title, r.priority, \
     r.deadline, r.submitted_at, r.idempotency_key, r.document_size, r.document_sha256, r.state, \
     r.attempt, r.lease_signer, r.lease_expires_at, r.signer_id, r.delegation_id, r.finished_at, \
     r.reason, r.escalated, s.cms, r.at_risk_at, rp.reason, rp.original_deadline, \
     rp.new_deadline, rp.requested_by, rp.requested_at, rp.state, rp.decided_by, rp.decided_at, \
     rp.refusal, rp.apology, rp.apology_signature, r.signature_place, r.stage, r.signed_at, \
     r.clerk_id FROM records r \
     LEFT JOIN signatures s ON s.record_id = r.id \
     LEFT JOIN reappointments rp ON rp.record_id = r.id";

/// Selects events with their record's fixed facts (columns as [`event_from_row`] reads them).
pub(crate) const EVENT_SELECT: &str = "SELECT r.id, r.ward, r.procedure_code, r.title, r.priority, \
     r.deadline, r.submitted_at, r.idempotency_key, r.document_size, r.document_sha256, e.state, \
     e.attempt, e.lease_signer, e.lease_expires_at, e.signer_id, e.delegation_id, e.finished_at, \
     e.reason, e.escalated, e.cursor, e.at, e.kind, r.at_risk_at, r.signature_place, e.stage, \
     e.signed_at, e.clerk_id FROM events e \
     JOIN records r ON r.id = e.record_id";

/// Reads the fixed facts (columns 0..=9) and the state (10..=18) shared by both selects.
fn record_without_signature(row: &Row) -> Result<Record, StoreError> {
    let meta = RecordMeta {
        id: row.text(0)?,
        ward: row.text(1)?,
        procedure_code: row.text(2)?,
        title: row.text(3)?,
        priority: Priority::from_i64(row.int(4)?),
        deadline: row.time(5)?,
        submitted_at: row.time(6)?,
        idempotency_key: row.text(7)?,
        document_size: row.uint(8)?,
        document_sha256: row.text(9)?,
        signature_place: None,
    };
    let state = enum_col(row, 10, RecordState::parse)?;
    let attempt: u32 = row.uint(11)?;
    let lease = match (state, row.opt_text(12)?, row.opt_time(13)?) {
        (RecordState::Leased, Some(signer_id), Some(expires_at)) => Some(Lease {
            signer_id,
            attempt,
            expires_at,
        }),
        _ => None,
    };
    Ok(Record {
        meta,
        state,
        stage: Stage::Person,
        attempt,
        lease,
        signer_id: row.opt_text(14)?,
        delegation_id: row.opt_text(15)?,
        signed_at: None,
        clerk_id: None,
        finished_at: row.opt_time(16)?,
        signature: None,
        chain: Vec::new(),
        reason: row.opt_text(17)?,
        escalated: row.bool(18)?,
        at_risk_at: None,
        reappointment: None,
    })
}

/// Reads a row of [`RECORD_SELECT`] (the chain is left empty).
pub(crate) fn record_from_row(row: &Row) -> Result<Record, StoreError> {
    let mut record = record_without_signature(row)?;
    record.signature = row.opt_blob(19)?;
    record.at_risk_at = row.opt_time(20)?;
    record.meta.signature_place = place_col(row, 32)?;
    stage_cols(row, 33, &mut record)?;
    record.reappointment = match row.opt_text(21)? {
        None => None,
        Some(reason) => Some(Reappointment {
            record_id: record.meta.id.clone(),
            reason,
            original_deadline: row.time(22)?,
            new_deadline: row.time(23)?,
            requested_by: row.text(24)?,
            requested_at: row.time(25)?,
            state: enum_col(row, 26, ReappointmentState::parse)?,
            decision: match row.opt_text(27)? {
                None => None,
                Some(by) => Some(Decision {
                    by,
                    at: row.time(28)?,
                    refusal: row.opt_text(29)?,
                    apology: row.opt_blob(30)?,
                    apology_signature: row.opt_blob(31)?,
                }),
            },
        }),
    };
    Ok(record)
}

/// Reads a row of [`EVENT_SELECT`].
pub(crate) fn event_from_row(row: &Row) -> Result<Event, StoreError> {
    let kind = enum_col(row, 21, |kind| match kind {
        "at_risk" => Some(EventKind::AtRisk),
        "change" => Some(EventKind::Changed),
        _ => None,
    })?;
    let mut record = record_without_signature(row)?;
    record.at_risk_at = row.opt_time(22)?;
    record.meta.signature_place = place_col(row, 23)?;
    stage_cols(row, 24, &mut record)?;
    Ok(Event {
        record,
        cursor: row.uint(19)?,
        at: row.time(20)?,
        kind,
    })
}

/// The state columns of a record (shared by `records` and `events`), in column order: state,
/// attempt, lease_signer, lease_expires_at, signer_id, delegation_id, finished_at, reason,
/// escalated, stage, signed_at, clerk_id.
pub(crate) fn state_values(r: &Record) -> Result<Vec<Value>, StoreError> {
    Ok(vec![
        r.state.as_str().into(),
        r.attempt.into(),
        r.lease.as_ref().map(|l| l.signer_id.as_str()).into(),
        db_time_opt(r.lease.as_ref().map(|l| l.expires_at), "lease expiry")?.into(),
        r.signer_id.as_deref().into(),
        r.delegation_id.as_deref().into(),
        db_time_opt(r.finished_at, "finish time")?.into(),
        r.reason.as_deref().into(),
        r.escalated.into(),
        r.stage.as_str().into(),
        db_time_opt(r.signed_at, "signing time")?.into(),
        r.clerk_id.as_deref().into(),
    ])
}
