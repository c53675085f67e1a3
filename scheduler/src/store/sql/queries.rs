//! The record queries: one record, its document, pages of a ward's records, open records, events,
//! statistics and the audit log.
//!
//! They run on read connections (never behind the writer), and a query of several statements
//! runs in one read transaction ([`super::snapshot`]) so it sees one consistent snapshot. The
//! writer thread uses [`get_record`] too, inside its own transaction.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::codec::{
    EVENT_SELECT, RECORD_SELECT, db_time, enum_col, event_from_row, limit_param, record_from_row,
};
use super::{Row, Sql, Value, integrity, snapshot, values};
use crate::model::{Event, Record, RecordState};
use crate::store::audit::{AUDIT_COLUMNS, AuditEntry, entry_from_row};
use crate::store::{StoreError, WardCounts};

/// A signed record's certificate chain, signer first.
fn chain(conn: &dyn Sql, id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    conn.query(
        "reading a certificate chain",
        "SELECT c.der FROM record_chain rc JOIN certificates c ON c.sha256 = rc.cert_sha256 \
         WHERE rc.record_id = ?1 ORDER BY rc.position",
        values![id],
    )?
    .iter()
    .map(|row| row.blob(0))
    .collect()
}

/// Records selected by `sql_tail` (after [`RECORD_SELECT`]), each checked against its audit
/// entry, chains filled in.
fn records(
    conn: &dyn Sql,
    sql_tail: &str,
    params: &[Value],
    context: &str,
) -> Result<Vec<Record>, StoreError> {
    let rows = conn.query(context, &format!("{RECORD_SELECT} {sql_tail}"), params)?;
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut record = record_from_row(row)?;
        integrity::check_signature(conn, &record)?;
        if record.signature.is_some() {
            record.chain = chain(conn, &record.meta.id)?;
        }
        records.push(record);
    }
    Ok(records)
}

/// One record with its signature and chain, without its document.
pub(crate) fn get_record(conn: &dyn Sql, id: &str) -> Result<Option<Record>, StoreError> {
    let found = records(conn, "WHERE r.id = ?1", values![id], "reading a record")?;
    Ok(found.into_iter().next())
}

/// [`get_record`] in a read transaction (the record and its chain from one snapshot).
pub(crate) fn get(conn: &dyn Sql, id: &str) -> Result<Option<Record>, StoreError> {
    snapshot(conn, "reading a record", |conn| get_record(conn, id))
}

/// A record's document, checked against the hash recorded at submission.
pub(crate) fn document(conn: &dyn Sql, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let found = conn.query_opt(
        "reading a document",
        "SELECT d.bytes, r.document_sha256 FROM records r \
         LEFT JOIN documents d ON d.record_id = r.id WHERE r.id = ?1",
        values![id],
    )?;
    let Some(row) = found else {
        return Ok(None);
    };
    integrity::check_document(id, &row.text(1)?, row.opt_blob(0)?).map(Some)
}

/// The incremental updates that hold a PDF record's signature and, once sealed, its seal, in
/// that order, each checked against the hash its audit entry recorded; `None` when the record
/// has none.
pub(crate) fn pdf_update(conn: &dyn Sql, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let found = conn.query_opt(
        "reading a signed PDF",
        "SELECT s.pdf_update, z.pdf_update FROM signatures s \
         LEFT JOIN seals z ON z.record_id = s.record_id WHERE s.record_id = ?1",
        values![id],
    )?;
    let Some(row) = found else {
        return Ok(None);
    };
    let Some(mut update) = row.opt_blob(0)? else {
        return Ok(None);
    };
    integrity::check_pdf_update(conn, id, "sign", &update)?;
    if let Some(seal) = row.opt_blob(1)? {
        integrity::check_pdf_update(conn, id, "seal", &seal)?;
        update.extend_from_slice(&seal);
    }
    Ok(Some(update))
}

/// A page of a ward's records, newest first by (submitted_at, id), strictly after record `after`.
pub(crate) fn list(
    conn: &dyn Sql,
    ward: &str,
    state: Option<RecordState>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Record>, StoreError> {
    let context = "listing records";
    snapshot(conn, context, |conn| {
        let mut sql = String::from("WHERE r.ward = ?1");
        let mut params: Vec<Value> = vec![ward.into()];
        if let Some(state) = state {
            params.push(state.as_str().into());
            sql.push_str(&format!(" AND r.state = ?{}", params.len()));
        }
        if let Some(after) = after {
            let position = conn
                .query_opt(
                    context,
                    "SELECT submitted_at, id FROM records WHERE id = ?1 AND ward = ?2",
                    values![after, ward],
                )?
                .ok_or_else(|| StoreError::NotFound(format!("page_token {after}")))?;
            params.push(position.int(0)?.into());
            params.push(position.text(1)?.into());
            sql.push_str(&format!(
                " AND (r.submitted_at, r.id) < (?{}, ?{})",
                params.len() - 1,
                params.len()
            ));
        }
        params.push(limit_param(limit).into());
        sql.push_str(&format!(
            " ORDER BY r.submitted_at DESC, r.id DESC LIMIT ?{}",
            params.len()
        ));
        records(conn, &sql, &params, context)
    })
}

/// Every queued or leased record, oldest submission first, from one snapshot.
pub(crate) fn open_records(conn: &dyn Sql) -> Result<Vec<Record>, StoreError> {
    let context = "reading open records";
    snapshot(conn, context, |conn| {
        let tail = "WHERE r.state IN ('queued', 'leased') ORDER BY r.submitted_at, r.id";
        records(conn, tail, &[], context)
    })
}

/// The records of `ward` whose request for a new appointment date waits, soonest due first.
pub(crate) fn pending_reappointments(
    conn: &dyn Sql,
    ward: &str,
) -> Result<Vec<Record>, StoreError> {
    let tail = "WHERE r.ward = ?1 AND rp.state = 'pending' AND r.state IN ('queued', 'leased') \
                ORDER BY r.deadline, r.id";
    records(
        conn,
        tail,
        values![ward],
        "reading requests for new appointments",
    )
}

/// What `signer` of `ward` signed (a director or deputy) or sealed (a clerk) at or after
/// `since`, newest first, at most `limit`.
pub(crate) fn signed_by_since(
    conn: &dyn Sql,
    ward: &str,
    signer: &str,
    since: OffsetDateTime,
    limit: usize,
) -> Result<Vec<Record>, StoreError> {
    let since = db_time(since, "since")?;
    let tail = "WHERE r.ward = ?1 AND ((r.signer_id = ?2 AND r.signed_at >= ?3) \
                OR (r.clerk_id = ?2 AND r.state = 'signed' AND r.finished_at >= ?3)) \
                ORDER BY CASE WHEN r.clerk_id = ?2 THEN r.finished_at ELSE r.signed_at END DESC, \
                r.id LIMIT ?4";
    records(
        conn,
        tail,
        values![ward, signer, since, limit_param(limit)],
        "reading a signer's signatures",
    )
}

/// A ward's events after `cursor`, oldest first.
pub(crate) fn events_after(
    conn: &dyn Sql,
    ward: &str,
    cursor: u64,
    limit: usize,
) -> Result<Vec<Event>, StoreError> {
    let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
    conn.query(
        "reading events",
        &format!("{EVENT_SELECT} WHERE e.ward = ?1 AND e.cursor > ?2 ORDER BY e.cursor LIMIT ?3"),
        values![ward, cursor, limit_param(limit)],
    )?
    .iter()
    .map(event_from_row)
    .collect()
}

/// Signatures per delegation finished at or after `since`.
pub(crate) fn signed_per_delegation_since(
    conn: &dyn Sql,
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
pub(crate) fn signed_per_signer_since(
    conn: &dyn Sql,
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
    conn: &dyn Sql,
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
    let rows = match ward {
        Some(ward) => conn.query(context, sql, values![since, ward])?,
        None => conn.query(context, sql, values![since])?,
    };
    let mut counts = HashMap::new();
    for row in rows {
        let n = u32::try_from(row.int(1)?).unwrap_or(u32::MAX);
        *counts.entry(row.text(0)?).or_insert(0) += n;
    }
    Ok(counts)
}

/// A ward's statistics, from one snapshot.
pub(crate) fn ward_counts(conn: &dyn Sql, ward: &str) -> Result<WardCounts, StoreError> {
    let context = "counting a ward's records";
    snapshot(conn, context, |conn| {
        let mut counts = WardCounts::default();
        let by_state = conn.query(
            context,
            "SELECT state, COUNT(*) FROM records WHERE ward = ?1 GROUP BY state",
            values![ward],
        )?;
        for row in by_state {
            let state = enum_col(&row, 0, RecordState::parse)?;
            counts
                .by_state
                .insert(state, u64::try_from(row.int(1)?).unwrap_or(0));
        }
        let oldest = conn.query_opt(
            context,
            "SELECT MIN(submitted_at) FROM records WHERE ward = ?1 AND state = 'queued'",
            values![ward],
        )?;
        counts.oldest_queued = match oldest {
            Some(row) => row.opt_time(0)?,
            None => None,
        };
        let signed = conn.query(
            context,
            "SELECT r.finished_at - r.submitted_at, \
             CASE WHEN r.finished_at <= r.deadline THEN 1 ELSE 0 END, \
             CASE WHEN s.role = 'director' THEN 1 ELSE 0 END, \
             CASE WHEN rp.state = 'approved' THEN 1 ELSE 0 END \
             FROM records r LEFT JOIN signers s ON s.id = r.signer_id \
             LEFT JOIN reappointments rp ON rp.record_id = r.id \
             WHERE r.ward = ?1 AND r.state = 'signed' AND r.finished_at IS NOT NULL",
            values![ward],
        )?;
        for row in signed {
            let (on_time, by_director, reappointed) = (row.bool(1)?, row.bool(2)?, row.bool(3)?);
            counts.signed_on_time += u64::from(on_time && !reappointed);
            counts.signed_reappointed += u64::from(reappointed);
            counts.signed_by_director += u64::from(by_director);
            counts.waits_seconds.push(row.int(0)? as f64 / 1e9);
        }
        Ok(counts)
    })
}

/// Audit entries after `after`, oldest first.
pub(crate) fn audit_entries(
    conn: &dyn Sql,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    audit_rows(conn, after, limit)?
        .iter()
        .map(entry_from_row)
        .collect()
}

/// The rows of [`audit_entries`], undecoded (the chain check names an unreadable entry).
pub(crate) fn audit_rows(conn: &dyn Sql, after: u64, limit: usize) -> Result<Vec<Row>, StoreError> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    conn.query(
        "reading the audit log",
        &format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
        values![after, limit_param(limit)],
    )
}
