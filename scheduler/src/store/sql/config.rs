//! The configuration the scheduler routes by: wards, signers, procedures and delegations, their
//! writes (audited, on the writer thread) and their reads.
//!
//! A write that changes nothing (the same ward, signer, procedure or delegation registered again,
//! a signer already away marked away, a delegation revoked twice) writes nothing and appends no
//! audit entry, so restarts that re-register their configuration do not grow the log.

use serde_json::json;

use super::codec::{db_time, db_time_opt, sha256_hex};
use super::transition::rfc3339;
use super::writer::WriteCx;
use super::{Row, Sql, Value, values};
use crate::model::{Actor, Delegation, Procedure, SealMode, Signer, SignerRole, Ward};
use crate::store::{Notice, StoreError};
use signq_signer::delegation::Notation;

fn unreadable(idx: usize, what: String) -> StoreError {
    StoreError::Backend(format!("unreadable column {idx}: {what}"))
}

/// The rows of a query, each read by `map`.
fn collect<T>(
    conn: &dyn Sql,
    sql: &str,
    params: &[Value],
    map: fn(&Row) -> Result<T, StoreError>,
    context: &str,
) -> Result<Vec<T>, StoreError> {
    conn.query(context, sql, params)?.iter().map(map).collect()
}

// Wards.

/// A ward's titles as stored: `{"body": …, "head": …, "deputy": …}`.
fn titles_to_db(titles: Option<&signq_pades::Titles>) -> Option<String> {
    titles.map(|t| json!({ "body": t.body, "head": t.head, "deputy": t.deputy }).to_string())
}

fn titles_col(row: &Row, idx: usize) -> Result<Option<signq_pades::Titles>, StoreError> {
    let Some(text) = row.opt_text(idx)? else {
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

fn ward_from_row(row: &Row) -> Result<Ward, StoreError> {
    Ok(Ward {
        seal: super::codec::enum_col(row, 4, SealMode::parse)?,
        signature_titles: titles_col(row, 3)?,
        id: row.text(0)?,
        name: row.text(1)?,
        office_hours: match row.opt_text(2)? {
            Some(_) => Some(row.parsed(2)?),
            None => None,
        },
    })
}

/// Adds a ward or renames it.
pub(crate) fn put_ward(
    cx: &mut WriteCx<'_>,
    ward: Ward,
    actor: &Actor,
) -> Result<Ward, StoreError> {
    let context = "storing a ward";
    let old = collect(
        cx.conn,
        &format!("{WARD_SELECT} WHERE id = ?1"),
        values![&ward.id],
        ward_from_row,
        context,
    )?;
    if old.first() == Some(&ward) {
        return Ok(ward);
    }
    let hours = ward.office_hours.as_ref().map(ToString::to_string);
    let titles = titles_to_db(ward.signature_titles.as_ref());
    cx.conn.execute(
        context,
        "INSERT INTO wards (id, name, office_hours, signature_titles, seal) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         office_hours = excluded.office_hours, signature_titles = excluded.signature_titles, \
         seal = excluded.seal",
        values![&ward.id, &ward.name, &hours, &titles, ward.seal.as_str()],
    )?;
    let detail = json!({
        "name": ward.name,
        "previous_name": old.first().map(|w| &w.name),
        "office_hours": hours,
        "signature_titles": titles,
        "seal": ward.seal.as_str(),
    });
    cx.audit(actor, "ward", &format!("ward:{}", ward.id), &detail)?;
    cx.notice(Notice::Config);
    Ok(ward)
}

/// Every ward, by id.
pub(crate) fn wards(conn: &dyn Sql) -> Result<Vec<Ward>, StoreError> {
    collect(
        conn,
        &format!("{WARD_SELECT} ORDER BY id"),
        &[],
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

fn signer_from_row(row: &Row) -> Result<Signer, StoreError> {
    let role = row.text(3)?;
    let role = match role.as_str() {
        "director" => SignerRole::Director,
        "deputy" => SignerRole::Deputy,
        "clerk" => SignerRole::Clerk,
        _ => return Err(unreadable(3, format!("signer role {role:?}"))),
    };
    Ok(Signer {
        id: row.text(0)?,
        display_name: row.text(1)?,
        ward: row.text(2)?,
        role,
        certificate: row.blob(4)?,
        away: row.bool(5)?,
        signature_image: row.opt_blob(6)?,
    })
}

fn signer(conn: &dyn Sql, id: &str) -> Result<Option<Signer>, StoreError> {
    let found = collect(
        conn,
        &format!("{SIGNER_SELECT} WHERE id = ?1"),
        values![id],
        signer_from_row,
        "reading a signer",
    )?;
    Ok(found.into_iter().next())
}

/// Enrolls a signer or updates its name, ward, role and certificate, keeping `away` and the
/// signature image.
pub(crate) fn put_signer(
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
    cx.conn.execute(
        "storing a signer",
        "INSERT INTO signers (id, display_name, ward, role, certificate, away, signature_image) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, \
         ward = excluded.ward, role = excluded.role, certificate = excluded.certificate",
        values![
            &stored.id,
            &stored.display_name,
            &stored.ward,
            role_str(stored.role),
            &stored.certificate,
            stored.away,
            &stored.signature_image
        ],
    )?;
    let detail = json!({
        "display_name": stored.display_name,
        "ward": stored.ward,
        "role": role_str(stored.role),
        "certificate_sha256": sha256_hex(&stored.certificate),
        "enrolled": old.is_none(),
    });
    cx.audit(actor, "signer", &format!("signer:{}", stored.id), &detail)?;
    cx.notice(Notice::Config);
    Ok(stored)
}

/// Marks a signer away or back.
pub(crate) fn set_away(
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
    cx.conn.execute(
        "marking a signer away",
        "UPDATE signers SET away = ?1 WHERE id = ?2",
        values![away, id],
    )?;
    signer.away = away;
    cx.audit(
        actor,
        if away { "away" } else { "back" },
        &format!("signer:{id}"),
        &json!({ "away": away }),
    )?;
    cx.notice(Notice::Config);
    Ok(signer)
}

/// Sets or removes a signer's signature image.
pub(crate) fn set_signature_image(
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
    cx.conn.execute(
        "storing a signature image",
        "UPDATE signers SET signature_image = ?1 WHERE id = ?2",
        values![&image, id],
    )?;
    let detail = json!({ "signature_image_sha256": image.as_deref().map(sha256_hex) });
    signer.signature_image = image;
    cx.audit(actor, "signature_image", &format!("signer:{id}"), &detail)?;
    cx.notice(Notice::Config);
    Ok(signer)
}

/// Signers of one ward or all, by id.
pub(crate) fn signers(conn: &dyn Sql, ward: Option<&str>) -> Result<Vec<Signer>, StoreError> {
    let context = "reading signers";
    match ward {
        Some(ward) => collect(
            conn,
            &format!("{SIGNER_SELECT} WHERE ward = ?1 ORDER BY id"),
            values![ward],
            signer_from_row,
            context,
        ),
        None => collect(
            conn,
            &format!("{SIGNER_SELECT} ORDER BY id"),
            &[],
            signer_from_row,
            context,
        ),
    }
}

// Procedures.

fn procedure_from_row(row: &Row) -> Result<Procedure, StoreError> {
    Ok(Procedure {
        code: row.text(0)?,
        name: row.text(1)?,
        rule: signq_calendar::Rule {
            limit: row.parsed(2)?,
            cut_off: row.parsed(3)?,
        },
    })
}

/// Adds or updates a procedure.
pub(crate) fn put_procedure(
    cx: &mut WriteCx<'_>,
    procedure: Procedure,
    actor: &Actor,
) -> Result<Procedure, StoreError> {
    let context = "storing a procedure";
    let sql = "SELECT code, name, time_limit, cut_off FROM procedures WHERE code = ?1";
    let old = collect(
        cx.conn,
        sql,
        values![&procedure.code],
        procedure_from_row,
        context,
    )?;
    if old.first() == Some(&procedure) {
        return Ok(procedure);
    }
    let (limit, cut_off) = (
        procedure.rule.limit.to_string(),
        procedure.rule.cut_off.to_string(),
    );
    cx.conn.execute(
        context,
        "INSERT INTO procedures (code, name, time_limit, cut_off) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
         time_limit = excluded.time_limit, cut_off = excluded.cut_off",
        values![&procedure.code, &procedure.name, &limit, &cut_off],
    )?;
    let detail = json!({ "name": procedure.name, "time_limit": limit, "cut_off": cut_off });
    cx.audit(
        actor,
        "procedure",
        &format!("procedure:{}", procedure.code),
        &detail,
    )?;
    cx.notice(Notice::Config);
    Ok(procedure)
}

/// The catalogue, by code.
pub(crate) fn procedures(conn: &dyn Sql) -> Result<Vec<Procedure>, StoreError> {
    let sql = "SELECT code, name, time_limit, cut_off FROM procedures ORDER BY code";
    collect(conn, sql, &[], procedure_from_row, "reading procedures")
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

fn delegation_from_row(row: &Row) -> Result<Delegation, StoreError> {
    let procedure_codes = serde_json::from_str(&row.text(4)?)
        .map_err(|e| unreadable(4, format!("procedure codes: {e}")))?;
    Ok(Delegation {
        id: row.text(0)?,
        ward: row.text(1)?,
        director_id: row.text(2)?,
        deputy_id: row.text(3)?,
        procedure_codes,
        not_before: row.time(5)?,
        not_after: row.time(6)?,
        daily_cap: row.uint(7)?,
        signed: row.blob(8)?,
        revoked_at: row.opt_time(9)?,
        revoke_reason: row.opt_text(10)?,
        notation: match row.text(11)?.as_str() {
            "KT" => Notation::ForHead,
            "TUQ" => Notation::Authorised,
            other => return Err(unreadable(11, format!("notation {other:?}"))),
        },
    })
}

fn delegation(conn: &dyn Sql, id: &str) -> Result<Option<Delegation>, StoreError> {
    let sql = format!("{DELEGATION_SELECT} WHERE id = ?1");
    let found = collect(
        conn,
        &sql,
        values![id],
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
pub(crate) fn put_delegation(
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
    cx.conn.execute(
        "storing a delegation",
        "INSERT INTO delegations (id, ward, director_id, deputy_id, procedure_codes, not_before, \
         not_after, daily_cap, signed, revoked_at, revoke_reason, notation) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        values![
            &d.id,
            &d.ward,
            &d.director_id,
            &d.deputy_id,
            codes,
            not_before,
            not_after,
            d.daily_cap,
            &d.signed,
            revoked_at,
            &d.revoke_reason,
            notation_str(d.notation)
        ],
    )?;
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
    cx.notice(Notice::Config);
    Ok(d)
}

/// Revokes a delegation; a second revocation leaves the first one's time and reason.
pub(crate) fn revoke_delegation(
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
    cx.conn.execute(
        "revoking a delegation",
        "UPDATE delegations SET revoked_at = ?1, revoke_reason = ?2 WHERE id = ?3",
        values![at, reason, id],
    )?;
    d.revoked_at = Some(cx.now);
    d.revoke_reason = Some(reason.to_owned());
    cx.audit(
        actor,
        "revoke",
        &format!("delegation:{id}"),
        &json!({ "reason": reason }),
    )?;
    cx.notice(Notice::Config);
    Ok(d)
}

/// Delegations of one ward or all, by id.
pub(crate) fn delegations(
    conn: &dyn Sql,
    ward: Option<&str>,
) -> Result<Vec<Delegation>, StoreError> {
    let context = "reading delegations";
    match ward {
        Some(ward) => collect(
            conn,
            &format!("{DELEGATION_SELECT} WHERE ward = ?1 ORDER BY id"),
            values![ward],
            delegation_from_row,
            context,
        ),
        None => collect(
            conn,
            &format!("{DELEGATION_SELECT} ORDER BY id"),
            &[],
            delegation_from_row,
            context,
        ),
    }
}
