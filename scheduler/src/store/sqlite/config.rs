//! The configuration the scheduler routes by: wards, signers, procedures and delegations, their
//! writes (audited, on the writer thread) and their reads.
//!
//! A write that changes nothing (the same ward, signer, procedure or delegation registered again,
//! a signer already away marked away, a delegation revoked twice) writes nothing and appends no
//! audit entry, so restarts that re-register their configuration do not grow the log.

use rusqlite::types::Type;
use rusqlite::{Connection, Row, params};
use serde_json::json;

use super::codec::{backend, db_time, db_time_opt, opt_time_col, sha256_hex, time_col, uint_col};
use super::transition::rfc3339;
use super::writer::WriteCx;
use crate::model::{Actor, Delegation, Procedure, SealMode, Signer, SignerRole, Ward};
use crate::store::StoreError;
use signq_signer::delegation::Notation;

/// A stored value with no meaning here.
#[derive(Debug, thiserror::Error)]
#[error("unreadable value: {0}")]
struct Unreadable(String);

fn unreadable(idx: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(Unreadable(what)))
}

/// Collects the rows of a prepared query.
fn collect<T>(
    conn: &Connection,
    sql: &str,
    values: impl rusqlite::Params,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
    context: &str,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend(context))?;
    let rows = stmt.query_map(values, map).map_err(backend(context))?;
    rows.collect::<Result<_, _>>().map_err(backend(context))
}

// Wards.

/// A ward's titles as stored: `{"body": …, "head": …, "deputy": …}`.
fn titles_to_db(titles: Option<&signq_pades::Titles>) -> Option<String> {
    titles.map(|t| json!({ "body": t.body, "head": t.head, "deputy": t.deputy }).to_string())
}

fn titles_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<signq_pades::Titles>> {
    let Some(text) = row.get::<_, Option<String>>(idx)? else {
        return Ok(None);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(idx, format!("titles: {e}")))?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| unreadable(idx, format!("titles: no {name}")))
    };
    Ok(Some(signq_pades::Titles {
        body: field("body")?,
        head: field("head")?,
        deputy: field("deputy")?,
    }))
}

const WARD_SELECT: &str = "SELECT id, name, office_hours, signature_titles, seal FROM wards";

fn ward_from_row(row: &Row<'_>) -> rusqlite::Result<Ward> {
    let hours: Option<String> = row.get(2)?;
    let seal: String = row.get(4)?;
    Ok(Ward {
        seal: SealMode::parse(&seal).ok_or_else(|| unreadable(4, format!("seal mode {seal:?}")))?,
        signature_titles: titles_col(row, 3)?,
        id: row.get(0)?,
        name: row.get(1)?,
        office_hours: match hours {
            Some(text) => Some(text.parse().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(2, Type::Text, Box::new(e))
            })?),
            None => None,
        },
    })
}

/// Adds a ward or renames it.
pub(super) fn put_ward(
    cx: &mut WriteCx<'_>,
    ward: Ward,
    actor: &Actor,
) -> Result<Ward, StoreError> {
    let context = "storing a ward";
    let old = collect(
        cx.conn,
        &format!("{WARD_SELECT} WHERE id = ?1"),
        [&ward.id],
        ward_from_row,
        context,
    )?;
    if old.first() == Some(&ward) {
        return Ok(ward);
    }
    let hours = ward.office_hours.as_ref().map(ToString::to_string);
    let titles = titles_to_db(ward.signature_titles.as_ref());
    cx.conn
        .prepare_cached(
            "INSERT INTO wards (id, name, office_hours, signature_titles, seal) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             office_hours = excluded.office_hours, signature_titles = excluded.signature_titles, \
             seal = excluded.seal",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                ward.id,
                ward.name,
                hours,
                titles,
                ward.seal.as_str()
            ])
        })
        .map_err(backend(context))?;
    let detail = json!({
        "name": ward.name,
        "previous_name": old.first().map(|w| &w.name),
        "office_hours": hours,
        "signature_titles": titles,
        "seal": ward.seal.as_str(),
    });
    cx.audit(actor, "ward", &format!("ward:{}", ward.id), &detail)?;
    Ok(ward)
}

/// Every ward, by id.
pub(super) fn wards(conn: &Connection) -> Result<Vec<Ward>, StoreError> {
    collect(
        conn,
        &format!("{WARD_SELECT} ORDER BY id"),
        [],
        ward_from_row,
        "reading wards",
    )
}

// Signers.

const SIGNER_SELECT: &str =
    "SELECT id, display_name, ward, role, certificate, away, signature_image FROM signers";

fn role_str(role: SignerRole) -> &'static str {
    match role {
        SignerRole::Director => "director",
        SignerRole::Deputy => "deputy",
        SignerRole::Clerk => "clerk",
    }
}

fn signer_from_row(row: &Row<'_>) -> rusqlite::Result<Signer> {
    let role: String = row.get(3)?;
    let role = match role.as_str() {
        "director" => SignerRole::Director,
        "deputy" => SignerRole::Deputy,
        "clerk" => SignerRole::Clerk,
        _ => return Err(unreadable(3, format!("signer role {role:?}"))),
    };
    Ok(Signer {
        id: row.get(0)?,
        display_name: row.get(1)?,
        ward: row.get(2)?,
        role,
        certificate: row.get(4)?,
        away: row.get(5)?,
        signature_image: row.get(6)?,
    })
}

fn signer(conn: &Connection, id: &str) -> Result<Option<Signer>, StoreError> {
    let found = collect(
        conn,
        &format!("{SIGNER_SELECT} WHERE id = ?1"),
        [id],
        signer_from_row,
        "reading a signer",
    )?;
    Ok(found.into_iter().next())
}

/// Enrolls a signer or updates its name, ward, role and certificate, keeping `away` and the
/// signature image.
pub(super) fn put_signer(
    cx: &mut WriteCx<'_>,
    new: Signer,
    actor: &Actor,
) -> Result<Signer, StoreError> {
    let old = signer(cx.conn, &new.id)?;
    let stored = Signer {
        away: old.as_ref().map_or(new.away, |o| o.away),
        signature_image: match &old {
            Some(o) => o.signature_image.clone(),
            None => new.signature_image.clone(),
        },
        ..new
    };
    if old.as_ref() == Some(&stored) {
        return Ok(stored);
    }
    cx.conn
        .prepare_cached(
            "INSERT INTO signers (id, display_name, ward, role, certificate, away, signature_image) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, ward = excluded.ward, \
             role = excluded.role, certificate = excluded.certificate",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                stored.id,
                stored.display_name,
                stored.ward,
                role_str(stored.role),
                stored.certificate,
                stored.away,
                stored.signature_image
            ])
        })
        .map_err(backend("storing a signer"))?;
    let detail = json!({
        "display_name": stored.display_name,
        "ward": stored.ward,
        "role": role_str(stored.role),
        "certificate_sha256": sha256_hex(&stored.certificate),
        "enrolled": old.is_none(),
    });
    cx.audit(actor, "signer", &format!("signer:{}", stored.id), &detail)?;
    Ok(stored)
}

/// Marks a signer away or back.
pub(super) fn set_away(
    cx: &mut WriteCx<'_>,
    id: &str,
    away: bool,
    actor: &Actor,
) -> Result<Signer, StoreError> {
    let mut signer =
        signer(cx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("signer {id}")))?;
    if signer.away == away {
        return Ok(signer);
    }
    cx.conn
        .prepare_cached("UPDATE signers SET away = ?1 WHERE id = ?2")
        .and_then(|mut stmt| stmt.execute(params![away, id]))
        .map_err(backend("marking a signer away"))?;
    signer.away = away;
    cx.audit(
        actor,
        if away { "away" } else { "back" },
        &format!("signer:{id}"),
        &json!({ "away": away }),
    )?;
    Ok(signer)
}

/// Sets or removes a signer's signature image.
pub(super) fn set_signature_image(
    cx: &mut WriteCx<'_>,
    id: &str,
    image: Option<Vec<u8>>,
    actor: &Actor,
) -> Result<Signer, StoreError> {
    let mut signer =
        signer(cx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("signer {id}")))?;
    if signer.signature_image == image {
        return Ok(signer);
    }
    cx.conn
        .prepare_cached("UPDATE signers SET signature_image = ?1 WHERE id = ?2")
        .and_then(|mut stmt| stmt.execute(params![image, id]))
        .map_err(backend("storing a signature image"))?;
    let detail = json!({ "signature_image_sha256": image.as_deref().map(sha256_hex) });
    signer.signature_image = image;
    cx.audit(actor, "signature_image", &format!("signer:{id}"), &detail)?;
    Ok(signer)
}

/// Signers of one ward or all, by id.
pub(super) fn signers(conn: &Connection, ward: Option<&str>) -> Result<Vec<Signer>, StoreError> {
    let context = "reading signers";
    match ward {
        Some(ward) => collect(
            conn,
            &format!("{SIGNER_SELECT} WHERE ward = ?1 ORDER BY id"),
            [ward],
            signer_from_row,
            context,
        ),
        None => collect(
            conn,
            &format!("{SIGNER_SELECT} ORDER BY id"),
            [],
            signer_from_row,
            context,
        ),
    }
}

// Procedures.

/// A column written by `Display` and read back by `FromStr`.
fn parsed_col<T: std::str::FromStr>(row: &Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(i)?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn procedure_from_row(row: &Row<'_>) -> rusqlite::Result<Procedure> {
    Ok(Procedure {
        code: row.get(0)?,
        name: row.get(1)?,
        rule: signq_calendar::Rule {
            limit: parsed_col(row, 2)?,
            cut_off: parsed_col(row, 3)?,
        },
    })
}

/// Adds or updates a procedure.
pub(super) fn put_procedure(
    cx: &mut WriteCx<'_>,
    procedure: Procedure,
    actor: &Actor,
) -> Result<Procedure, StoreError> {
    let context = "storing a procedure";
    let sql = "SELECT code, name, time_limit, cut_off FROM procedures WHERE code = ?1";
    let old = collect(cx.conn, sql, [&procedure.code], procedure_from_row, context)?;
    if old.first() == Some(&procedure) {
        return Ok(procedure);
    }
    let (limit, cut_off) = (
        procedure.rule.limit.to_string(),
        procedure.rule.cut_off.to_string(),
    );
    cx.conn
        .prepare_cached(
            "INSERT INTO procedures (code, name, time_limit, cut_off) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             time_limit = excluded.time_limit, cut_off = excluded.cut_off",
        )
        .and_then(|mut stmt| stmt.execute(params![procedure.code, procedure.name, limit, cut_off]))
        .map_err(backend(context))?;
    let detail = json!({ "name": procedure.name, "time_limit": limit, "cut_off": cut_off });
    cx.audit(
        actor,
        "procedure",
        &format!("procedure:{}", procedure.code),
        &detail,
    )?;
    Ok(procedure)
}

/// The catalogue, by code.
pub(super) fn procedures(conn: &Connection) -> Result<Vec<Procedure>, StoreError> {
    let sql = "SELECT code, name, time_limit, cut_off FROM procedures ORDER BY code";
    collect(conn, sql, [], procedure_from_row, "reading procedures")
}

// Delegations.

const DELEGATION_SELECT: &str = "SELECT id, ward, director_id, deputy_id, procedure_codes, not_before, not_after, \
     daily_cap, signed, revoked_at, revoke_reason, notation FROM delegations";

fn notation_str(n: Notation) -> &'static str {
    match n {
        Notation::ForHead => "KT",
        Notation::Authorised => "TUQ",
    }
}

fn delegation_from_row(row: &Row<'_>) -> rusqlite::Result<Delegation> {
    let codes: String = row.get(4)?;
    let procedure_codes =
        serde_json::from_str(&codes).map_err(|e| unreadable(4, format!("procedure codes: {e}")))?;
    Ok(Delegation {
        id: row.get(0)?,
        ward: row.get(1)?,
        director_id: row.get(2)?,
        deputy_id: row.get(3)?,
        procedure_codes,
        not_before: time_col(row, 5)?,
        not_after: time_col(row, 6)?,
        daily_cap: uint_col(row, 7)?,
        signed: row.get(8)?,
        revoked_at: opt_time_col(row, 9)?,
        revoke_reason: row.get(10)?,
        notation: match row.get::<_, String>(11)?.as_str() {
            "KT" => Notation::ForHead,
            "TUQ" => Notation::Authorised,
            other => return Err(unreadable(11, format!("notation {other:?}"))),
        },
    })
}

fn delegation(conn: &Connection, id: &str) -> Result<Option<Delegation>, StoreError> {
    let sql = format!("{DELEGATION_SELECT} WHERE id = ?1");
    let found = collect(
        conn,
        &sql,
        [id],
        delegation_from_row,
        "reading a delegation",
    )?;
    Ok(found.into_iter().next())
}

/// Whether two delegations grant the same thing (revocation aside).
fn same_grant(a: &Delegation, b: &Delegation) -> bool {
    let strip = |d: &Delegation| Delegation {
        revoked_at: None,
        revoke_reason: None,
        ..d.clone()
    };
    strip(a) == strip(b)
}

/// Registers a delegation; the same id again is a no-op if the grant is the same, else a conflict.
pub(super) fn put_delegation(
    cx: &mut WriteCx<'_>,
    d: Delegation,
    actor: &Actor,
) -> Result<Delegation, StoreError> {
    if let Some(old) = delegation(cx.conn, &d.id)? {
        return if same_grant(&old, &d) {
            Ok(old)
        } else {
            Err(StoreError::Conflict(format!(
                "delegation {} is already registered with different content",
                d.id
            )))
        };
    }
    let codes = serde_json::to_string(&d.procedure_codes)
        .map_err(|e| StoreError::Backend(format!("encoding procedure codes: {e}")))?;
    let not_before = db_time(d.not_before, "not_before")?;
    let not_after = db_time(d.not_after, "not_after")?;
    let revoked_at = db_time_opt(d.revoked_at, "revoked_at")?;
    cx.conn
        .prepare_cached(
            "INSERT INTO delegations (id, ward, director_id, deputy_id, procedure_codes, not_before, not_after, \
             daily_cap, signed, revoked_at, revoke_reason, notation) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                d.id,
                d.ward,
                d.director_id,
                d.deputy_id,
                codes,
                not_before,
                not_after,
                d.daily_cap,
                d.signed,
                revoked_at,
                d.revoke_reason,
                notation_str(d.notation)
            ])
        })
        .map_err(backend("storing a delegation"))?;
    let detail = json!({
        "ward": d.ward,
        "director": d.director_id,
        "deputy": d.deputy_id,
        "procedures": d.procedure_codes,
        "not_before": rfc3339(d.not_before),
        "not_after": rfc3339(d.not_after),
        "daily_cap": d.daily_cap,
        "notation": notation_str(d.notation),
        "signed_sha256": sha256_hex(&d.signed),
    });
    cx.audit(
        actor,
        "delegation",
        &format!("delegation:{}", d.id),
        &detail,
    )?;
    Ok(d)
}

/// Revokes a delegation; a second revocation leaves the first one's time and reason.
pub(super) fn revoke_delegation(
    cx: &mut WriteCx<'_>,
    id: &str,
    reason: &str,
    actor: &Actor,
) -> Result<Delegation, StoreError> {
    let mut d =
        delegation(cx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("delegation {id}")))?;
    if d.revoked_at.is_some() {
        return Ok(d);
    }
    let at = db_time(cx.now, "revocation time")?;
    cx.conn
        .prepare_cached("UPDATE delegations SET revoked_at = ?1, revoke_reason = ?2 WHERE id = ?3")
        .and_then(|mut stmt| stmt.execute(params![at, reason, id]))
        .map_err(backend("revoking a delegation"))?;
    d.revoked_at = Some(cx.now);
    d.revoke_reason = Some(reason.to_owned());
    cx.audit(
        actor,
        "revoke",
        &format!("delegation:{id}"),
        &json!({ "reason": reason }),
    )?;
    Ok(d)
}

/// Delegations of one ward or all, by id.
pub(super) fn delegations(
    conn: &Connection,
    ward: Option<&str>,
) -> Result<Vec<Delegation>, StoreError> {
    let context = "reading delegations";
    match ward {
        Some(ward) => collect(
            conn,
            &format!("{DELEGATION_SELECT} WHERE ward = ?1 ORDER BY id"),
            [ward],
            delegation_from_row,
            context,
        ),
        None => collect(
            conn,
            &format!("{DELEGATION_SELECT} ORDER BY id"),
            [],
            delegation_from_row,
            context,
        ),
    }
}
