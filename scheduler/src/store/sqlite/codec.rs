//! Conversions between the domain types and SQLite rows: times, states, records and events.
//!
//! Kept in one place so every query reads and writes the same columns the same way, and so a
//! damaged value in the database becomes a [`StoreError::Backend`] naming it, never a panic.

use rusqlite::types::Type;
use rusqlite::{Row, ToSql};
use time::OffsetDateTime;

use crate::model::{
    Decision, Event, EventKind, Lease, Priority, Reappointment, ReappointmentState, Record,
    RecordMeta, RecordState, Stage,
};
use crate::store::StoreError;

/// Maps a rusqlite error to a [`StoreError`], saying what the store was doing: a full disk is
/// [`StoreError::Full`], a damaged file [`StoreError::Damaged`], anything else
/// [`StoreError::Backend`].
pub(super) fn backend(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        let message = format!("{context}: {e}");
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => {
                crate::metrics::store_full();
                StoreError::Full(message)
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Damaged(message)
            }
            _ => StoreError::Backend(message),
        }
    }
}

/// A time as stored: unix nanoseconds. Times outside 1677..2262 cannot be stored.
pub(super) fn db_time(t: OffsetDateTime, what: &str) -> Result<i64, StoreError> {
    i64::try_from(t.unix_timestamp_nanos()).map_err(|_| {
        StoreError::Backend(format!(
            "{what} {t} is outside the storable range (years 1677 to 2262)"
        ))
    })
}

/// [`db_time`] of an optional time.
pub(super) fn db_time_opt(
    t: Option<OffsetDateTime>,
    what: &str,
) -> Result<Option<i64>, StoreError> {
    t.map(|t| db_time(t, what)).transpose()
}

/// A conversion failure of column `idx`, as rusqlite reports its own.
fn bad_column<E: std::error::Error + Send + Sync + 'static>(idx: usize, e: E) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, Box::new(e))
}

/// A stored value the domain has no word for.
#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
struct UnknownValue(String);

/// Reads a time stored by [`db_time`].
pub(super) fn time_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<OffsetDateTime> {
    let nanos: i64 = row.get(idx)?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos.into()).map_err(|e| bad_column(idx, e))
}

/// Reads an optional time stored by [`db_time`].
pub(super) fn opt_time_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    let nanos: Option<i64> = row.get(idx)?;
    nanos
        .map(|n| {
            OffsetDateTime::from_unix_timestamp_nanos(n.into()).map_err(|e| bad_column(idx, e))
        })
        .transpose()
}

/// Reads a non-negative integer that must fit `T` (sizes, attempts, counts).
pub(super) fn uint_col<T: TryFrom<i64>>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T::Error: std::error::Error + Send + Sync + 'static,
{
    let v: i64 = row.get(idx)?;
    T::try_from(v).map_err(|e| bad_column(idx, e))
}

/// Reads a [`RecordState`] stored by [`RecordState::as_str`].
pub(super) fn state_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<RecordState> {
    let s: String = row.get(idx)?;
    RecordState::parse(&s).ok_or_else(|| bad_column(idx, UnknownValue(s)))
}

/// Reads a [`Stage`] stored by [`Stage::as_str`].
fn stage_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Stage> {
    let s: String = row.get(idx)?;
    Stage::parse(&s).ok_or_else(|| bad_column(idx, UnknownValue(s)))
}

/// Reads the stage columns (stage, signed_at, clerk_id) from `first` on into `record`.
fn stage_cols(row: &Row<'_>, first: usize, record: &mut Record) -> rusqlite::Result<()> {
    record.stage = stage_col(row, first)?;
    record.signed_at = opt_time_col(row, first + 1)?;
    record.clerk_id = row.get(first + 2)?;
    Ok(())
}

/// The lowercase hex SHA-256 of `bytes`.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// A `LIMIT` parameter from a caller's `usize`.
pub(super) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A PDF signature's place as stored: `page x y width height` (page 0: the last; a rectangle of
/// zeros: the default), then ` field-name` for an existing signature field.
pub(super) fn place_to_db(place: Option<&signq_pades::Place>) -> Option<String> {
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
fn place_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<signq_pades::Place>> {
    let Some(text) = row.get::<_, Option<String>>(idx)? else {
        return Ok(None);
    };
    let bad = || bad_column(idx, UnknownValue(text.clone()));
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
pub(super) const RECORD_SELECT: &str = "SELECT r.id, r.ward, r.procedure_code, r.title, r.priority, \
     r.deadline, r.submitted_at, r.idempotency_key, r.document_size, r.document_sha256, r.state, \
     r.attempt, r.lease_signer, r.lease_expires_at, r.signer_id, r.delegation_id, r.finished_at, \
     r.reason, r.escalated, s.cms, r.at_risk_at, rp.reason, rp.original_deadline, \
     rp.new_deadline, rp.requested_by, rp.requested_at, rp.state, rp.decided_by, rp.decided_at, \
     rp.refusal, rp.apology, rp.apology_signature, r.signature_place, r.stage, r.signed_at, \
     r.clerk_id FROM records r \
     LEFT JOIN signatures s ON s.record_id = r.id \
     LEFT JOIN reappointments rp ON rp.record_id = r.id";

/// Selects events with their record's fixed facts (columns as [`event_from_row`] reads them).
pub(super) const EVENT_SELECT: &str = "SELECT r.id, r.ward, r.procedure_code, r.title, r.priority, \
     r.deadline, r.submitted_at, r.idempotency_key, r.document_size, r.document_sha256, e.state, \
     e.attempt, e.lease_signer, e.lease_expires_at, e.signer_id, e.delegation_id, e.finished_at, \
     e.reason, e.escalated, e.cursor, e.at, e.kind, r.at_risk_at, r.signature_place, e.stage, \
     e.signed_at, e.clerk_id FROM events e \
     JOIN records r ON r.id = e.record_id";

/// Reads the fixed facts (columns 0..=9) and the state (10..=18) shared by both selects.
fn record_without_signature(row: &Row<'_>) -> rusqlite::Result<Record> {
    let meta = RecordMeta {
        id: row.get(0)?,
        ward: row.get(1)?,
        procedure_code: row.get(2)?,
        title: row.get(3)?,
        priority: Priority::from_i64(row.get(4)?),
        deadline: time_col(row, 5)?,
        submitted_at: time_col(row, 6)?,
        idempotency_key: row.get(7)?,
        document_size: uint_col(row, 8)?,
        document_sha256: row.get(9)?,
        signature_place: None,
    };
    let state = state_col(row, 10)?;
    let attempt: u32 = uint_col(row, 11)?;
    let lease_signer: Option<String> = row.get(12)?;
    let lease_expires_at = opt_time_col(row, 13)?;
    let lease = match (state, lease_signer, lease_expires_at) {
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
        signer_id: row.get(14)?,
        delegation_id: row.get(15)?,
        signed_at: None,
        clerk_id: None,
        finished_at: opt_time_col(row, 16)?,
        signature: None,
        chain: Vec::new(),
        reason: row.get(17)?,
        escalated: row.get(18)?,
        at_risk_at: None,
        reappointment: None,
    })
}

/// Reads a row of [`RECORD_SELECT`] (the chain is left empty).
pub(super) fn record_from_row(row: &Row<'_>) -> rusqlite::Result<Record> {
    let mut record = record_without_signature(row)?;
    record.signature = row.get(19)?;
    record.at_risk_at = opt_time_col(row, 20)?;
    record.meta.signature_place = place_col(row, 32)?;
    stage_cols(row, 33, &mut record)?;
    record.reappointment = match row.get::<_, Option<String>>(21)? {
        None => None,
        Some(reason) => {
            let state: String = row.get(26)?;
            Some(Reappointment {
                record_id: record.meta.id.clone(),
                reason,
                original_deadline: time_col(row, 22)?,
                new_deadline: time_col(row, 23)?,
                requested_by: row.get(24)?,
                requested_at: time_col(row, 25)?,
                state: ReappointmentState::parse(&state)
                    .ok_or_else(|| bad_column(26, UnknownValue(state)))?,
                decision: match row.get::<_, Option<String>>(27)? {
                    None => None,
                    Some(by) => Some(Decision {
                        by,
                        at: time_col(row, 28)?,
                        refusal: row.get(29)?,
                        apology: row.get(30)?,
                        apology_signature: row.get(31)?,
                    }),
                },
            })
        }
    };
    Ok(record)
}

/// Reads a row of [`EVENT_SELECT`].
pub(super) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    let kind: String = row.get(21)?;
    let kind = match kind.as_str() {
        "at_risk" => EventKind::AtRisk,
        "change" => EventKind::Changed,
        _ => return Err(bad_column(21, UnknownValue(kind))),
    };
    let mut record = record_without_signature(row)?;
    record.at_risk_at = opt_time_col(row, 22)?;
    record.meta.signature_place = place_col(row, 23)?;
    stage_cols(row, 24, &mut record)?;
    Ok(Event {
        record,
        cursor: uint_col(row, 19)?,
        at: time_col(row, 20)?,
        kind,
    })
}

/// The state columns of a record (shared by `records` and `events`), ready to bind.
#[derive(Debug)]
pub(super) struct StateRow<'a> {
    state: &'static str,
    attempt: i64,
    lease_signer: Option<&'a str>,
    lease_expires_at: Option<i64>,
    signer_id: Option<&'a str>,
    delegation_id: Option<&'a str>,
    finished_at: Option<i64>,
    reason: Option<&'a str>,
    escalated: bool,
    stage: &'static str,
    signed_at: Option<i64>,
    clerk_id: Option<&'a str>,
}

impl<'a> StateRow<'a> {
    /// The state columns of `r`.
    pub(super) fn of(r: &'a Record) -> Result<Self, StoreError> {
        Ok(StateRow {
            state: r.state.as_str(),
            attempt: i64::from(r.attempt),
            lease_signer: r.lease.as_ref().map(|l| l.signer_id.as_str()),
            lease_expires_at: db_time_opt(r.lease.as_ref().map(|l| l.expires_at), "lease expiry")?,
            signer_id: r.signer_id.as_deref(),
            delegation_id: r.delegation_id.as_deref(),
            finished_at: db_time_opt(r.finished_at, "finish time")?,
            reason: r.reason.as_deref(),
            escalated: r.escalated,
            stage: r.stage.as_str(),
            signed_at: db_time_opt(r.signed_at, "signing time")?,
            clerk_id: r.clerk_id.as_deref(),
        })
    }

    /// The values in column order: state, attempt, lease_signer, lease_expires_at, signer_id,
    /// delegation_id, finished_at, reason, escalated, stage, signed_at, clerk_id.
    pub(super) fn values(&self) -> [&dyn ToSql; 12] {
        [
            &self.state,
            &self.attempt,
            &self.lease_signer,
            &self.lease_expires_at,
            &self.signer_id,
            &self.delegation_id,
            &self.finished_at,
            &self.reason,
            &self.escalated,
            &self.stage,
            &self.signed_at,
            &self.clerk_id,
        ]
    }
}
