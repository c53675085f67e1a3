//! The record queries of the SQLite store: one record, its document, pages of a ward's records,
//! open records, events, statistics and the audit log.
//!
//! They run on read connections (never behind the writer), and a query of several statements
//! runs in one read transaction so it sees one consistent snapshot. The writer thread uses
//! [`get_record`] too, inside its own transaction.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use time::OffsetDateTime;

use super::codec::{
    EVENT_SELECT, RECORD_SELECT, backend, db_time, event_from_row, limit_param, record_from_row,
    state_col,
};
use super::integrity;
use crate::model::{Event, Record, RecordState};
use crate::store::audit::{AUDIT_COLUMNS, AuditEntry, entry_from_row};
use crate::store::{StoreError, WardCounts};

/// A signed record's certificate chain, signer first.
fn chain(conn: &Connection, id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    let context = "reading a certificate chain";
    let mut stmt = conn
        .prepare_cached(
            "SELECT c.der FROM record_chain rc JOIN certificates c ON c.sha256 = rc.cert_sha256 \
             WHERE rc.record_id = ?1 ORDER BY rc.position",
        )
        .map_err(backend(context))?;
    let rows = stmt
        .query_map([id], |row| row.get(0))
        .map_err(backend(context))?;
    rows.collect::<Result<_, _>>().map_err(backend(context))
}

/// Checks every record's signature against its audit entry and fills in the chains of the
/// signed ones.
fn with_chains(conn: &Connection, mut records: Vec<Record>) -> Result<Vec<Record>, StoreError> {
    for record in records.iter_mut() {
        integrity::check_signature(conn, record)?;
        if record.signature.is_some() {
            record.chain = chain(conn, &record.meta.id)?;
        }
    }
    Ok(records)
}

/// Records selected by `sql_tail` (after [`RECORD_SELECT`]), chains filled in.
fn records(
    conn: &Connection,
    sql_tail: &str,
    values: Vec<Value>,
    context: &str,
) -> Result<Vec<Record>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("{RECORD_SELECT} {sql_tail}"))
        .map_err(backend(context))?;
    let rows = stmt
        .query_map(params_from_iter(values), record_from_row)
        .map_err(backend(context))?;
    let records = rows
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(context))?;
    with_chains(conn, records)
}

/// One record with its signature and chain, without its document.
pub(super) fn get_record(conn: &Connection, id: &str) -> Result<Option<Record>, StoreError> {
    let found = records(
        conn,
        "WHERE r.id = ?1",
        vec![Value::Text(id.to_owned())],
        "reading a record",
    )?;
    Ok(found.into_iter().next())
}

/// [`get_record`] in a read transaction (the record and its chain from one snapshot).
pub(super) fn get(conn: &mut Connection, id: &str) -> Result<Option<Record>, StoreError> {
    let tx = conn.transaction().map_err(backend("reading a record"))?;
    get_record(&tx, id)
}

/// A record's document, checked against the hash recorded at submission.
pub(super) fn document(conn: &Connection, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let found: Option<(Option<Vec<u8>>, String)> = conn
        .prepare_cached(
            "SELECT d.bytes, r.document_sha256 FROM records r \
             LEFT JOIN documents d ON d.record_id = r.id WHERE r.id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(backend("reading a document"))?;
    let Some((bytes, recorded)) = found else {
        return Ok(None);
    };
    integrity::check_document(id, &recorded, bytes).map(Some)
}

/// The incremental updates that hold a PDF record's signature and, once sealed, its seal, in
/// that order, each checked against the hash its audit entry recorded; `None` when the record
/// has none.
pub(super) fn pdf_update(conn: &Connection, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    /// The person's update and the seal's.
    type Updates = (Option<Vec<u8>>, Option<Vec<u8>>);
    let found: Option<Updates> = conn
        .prepare_cached(
            "SELECT s.pdf_update, z.pdf_update FROM signatures s \
             LEFT JOIN seals z ON z.record_id = s.record_id WHERE s.record_id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(backend("reading a signed PDF"))?;
    let Some((Some(mut update), seal)) = found else {
        return Ok(None);
    };
    integrity::check_pdf_update(conn, id, "sign", &update)?;
    if let Some(seal) = seal {
        integrity::check_pdf_update(conn, id, "seal", &seal)?;
        update.extend_from_slice(&seal);
    }
    Ok(Some(update))
}

/// A page of a ward's records, newest first by (submitted_at, id), strictly after record `after`.
pub(super) fn list(
    conn: &mut Connection,
    ward: &str,
    state: Option<RecordState>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Record>, StoreError> {
    let context = "listing records";
    let tx = conn.transaction().map_err(backend(context))?;
    let mut sql = String::from("WHERE r.ward = ?1");
    let mut values = vec![Value::Text(ward.to_owned())];
    if let Some(state) = state {
        values.push(Value::Text(state.as_str().to_owned()));
        sql.push_str(&format!(" AND r.state = ?{}", values.len()));
    }
    if let Some(after) = after {
        let position: Option<(i64, String)> = tx
            .prepare_cached("SELECT submitted_at, id FROM records WHERE id = ?1 AND ward = ?2")
            .and_then(|mut stmt| {
                stmt.query_row([after, ward], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(backend(context))?;
        let (submitted_at, id) =
            position.ok_or_else(|| StoreError::NotFound(format!("page_token {after}")))?;
        values.push(Value::Integer(submitted_at));
        values.push(Value::Text(id));
        sql.push_str(&format!(
            " AND (r.submitted_at, r.id) < (?{}, ?{})",
            values.len() - 1,
            values.len()
        ));
    }
    values.push(Value::Integer(limit_param(limit)));
    sql.push_str(&format!(
        " ORDER BY r.submitted_at DESC, r.id DESC LIMIT ?{}",
        values.len()
    ));
    records(&tx, &sql, values, context)
}

/// Every queued or leased record, oldest submission first.
pub(super) fn open_records(conn: &Connection) -> Result<Vec<Record>, StoreError> {
    let tail = "WHERE r.state IN ('queued', 'leased') ORDER BY r.submitted_at, r.id";
    records(conn, tail, Vec::new(), "reading open records")
}

/// The records of `ward` whose request for a new appointment date waits, soonest due first.
pub(super) fn pending_reappointments(
    conn: &Connection,
    ward: &str,
) -> Result<Vec<Record>, StoreError> {
    let tail = "WHERE r.ward = ?1 AND rp.state = 'pending' AND r.state IN ('queued', 'leased') \
                ORDER BY r.deadline, r.id";
    records(
        conn,
        tail,
        vec![Value::Text(ward.to_owned())],
        "reading requests for new appointments",
    )
}

/// A ward's events after `cursor`, oldest first.
pub(super) fn events_after(
    conn: &Connection,
    ward: &str,
    cursor: u64,
    limit: usize,
) -> Result<Vec<Event>, StoreError> {
    let context = "reading events";
    let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(&format!(
            "{EVENT_SELECT} WHERE e.ward = ?1 AND e.cursor > ?2 ORDER BY e.cursor LIMIT ?3"
        ))
        .map_err(backend(context))?;
    let rows = stmt
        .query_map(params![ward, cursor, limit_param(limit)], event_from_row)
        .map_err(backend(context))?;
    rows.collect::<Result<_, _>>().map_err(backend(context))
}

/// Signatures per delegation finished at or after `since`.
pub(super) fn signed_per_delegation_since(
    conn: &Connection,
    since: OffsetDateTime,
) -> Result<HashMap<String, u32>, StoreError> {
    count_signed_since(
        conn,
        "counting signatures per delegation",
        "SELECT delegation_id, COUNT(*) FROM records WHERE delegation_id IS NOT NULL \
         AND signed_at >= ?1 GROUP BY delegation_id",
        since,
        None,
    )
}

/// A ward's signatures per signer since `since`.
pub(super) fn signed_per_signer_since(
    conn: &Connection,
    ward: &str,
    since: OffsetDateTime,
) -> Result<HashMap<String, u32>, StoreError> {
    count_signed_since(
        conn,
        "counting signatures per signer",
        "SELECT signer_id, COUNT(*) FROM records WHERE signed_at >= ?1 AND ward = ?2 \
         AND signer_id IS NOT NULL GROUP BY signer_id \
         UNION ALL SELECT clerk_id, COUNT(*) FROM records WHERE state = 'signed' \
         AND clerk_id IS NOT NULL AND finished_at >= ?1 AND ward = ?2 GROUP BY clerk_id",
        since,
        Some(ward),
    )
}

/// Runs a `key, COUNT(*)` query over signed records since `since` (and in `ward`, if given).
fn count_signed_since(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    since: OffsetDateTime,
    ward: Option<&str>,
) -> Result<HashMap<String, u32>, StoreError> {
    let since = db_time(since, "since").unwrap_or(if since < OffsetDateTime::UNIX_EPOCH {
        i64::MIN
    } else {
        i64::MAX
    });
    let mut stmt = conn.prepare_cached(sql).map_err(backend(context))?;
    let row = |row: &rusqlite::Row<'_>| {
        let count: i64 = row.get(1)?;
        Ok((row.get(0)?, u32::try_from(count).unwrap_or(u32::MAX)))
    };
    let rows = match ward {
        Some(ward) => stmt.query_map(rusqlite::params![since, ward], row),
        None => stmt.query_map([since], row),
    }
    .map_err(backend(context))?;
    rows.collect::<Result<_, _>>().map_err(backend(context))
}

/// A ward's statistics, from one snapshot.
pub(super) fn ward_counts(conn: &mut Connection, ward: &str) -> Result<WardCounts, StoreError> {
    let context = "counting a ward's records";
    let tx = conn.transaction().map_err(backend(context))?;
    let mut counts = WardCounts::default();

    let mut stmt = tx
        .prepare_cached("SELECT state, COUNT(*) FROM records WHERE ward = ?1 GROUP BY state")
        .map_err(backend(context))?;
    let rows = stmt
        .query_map([ward], |row| {
            Ok((state_col(row, 0)?, row.get::<_, i64>(1)?))
        })
        .map_err(backend(context))?;
    for row in rows {
        let (state, n) = row.map_err(backend(context))?;
        counts.by_state.insert(state, u64::try_from(n).unwrap_or(0));
    }

    let oldest: Option<i64> = tx
        .query_row(
            "SELECT MIN(submitted_at) FROM records WHERE ward = ?1 AND state = 'queued'",
            [ward],
            |row| row.get(0),
        )
        .map_err(backend(context))?;
    counts.oldest_queued =
        oldest.and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n.into()).ok());

    let mut stmt = tx
        .prepare_cached(
            "SELECT r.finished_at - r.submitted_at, r.finished_at <= r.deadline, \
             COALESCE(s.role = 'director', 0), rp.state IS 'approved' \
             FROM records r LEFT JOIN signers s ON s.id = r.signer_id \
             LEFT JOIN reappointments rp ON rp.record_id = r.id \
             WHERE r.ward = ?1 AND r.state = 'signed' AND r.finished_at IS NOT NULL",
        )
        .map_err(backend(context))?;
    let rows = stmt
        .query_map([ward], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, bool>(2)?,
                row.get::<_, bool>(3)?,
            ))
        })
        .map_err(backend(context))?;
    for row in rows {
        let (wait_nanos, on_time, by_director, reappointed) = row.map_err(backend(context))?;
        counts.signed_on_time += u64::from(on_time && !reappointed);
        counts.signed_reappointed += u64::from(reappointed);
        counts.signed_by_director += u64::from(by_director);
        counts.waits_seconds.push(wait_nanos as f64 / 1e9);
    }
    Ok(counts)
}

/// Audit entries after `after`, oldest first.
pub(super) fn audit_entries(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let context = "reading the audit log";
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .map_err(backend(context))?;
    let rows = stmt
        .query_map(params![after, limit_param(limit)], entry_from_row)
        .map_err(backend(context))?;
    rows.collect::<Result<_, _>>().map_err(backend(context))
}
