//! Field checks shared by the services; each failure names the field. A refusal that echoes a
//! value shows only its start ([`shown`]).

use crate::error::SchedError;

pub use signq_kit::echo::shown;

/// Whether `c` changes the direction in which text around it is displayed (U+061C, U+200E,
/// U+200F, U+202A to U+202E, U+2066 to U+2069): with one, a title could show a reader something
/// other than what it says (U+202E turns "cod.exe" into "exe.doc").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A required text field of 1 to `max` characters without control or bidirectional formatting
/// characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), SchedError> {
    let n = value.chars().count();
    if value.trim().is_empty() {
        return Err(SchedError::invalid(field, "is empty"));
    }
    if n > max {
        return Err(SchedError::invalid(
            field,
            format!("{n} characters; at most {max}"),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(SchedError::invalid(
            field,
            format!("contains the control character U+{:04X}", u32::from(c)),
        ));
    }
    if let Some(c) = value.chars().find(|c| is_bidi_control(*c)) {
        return Err(SchedError::invalid(
            field,
            format!(
                "contains the bidirectional formatting character U+{:04X}, which could make it display as something other than what it says",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// A timestamp: nanoseconds within a second, and a time signq can store (years 1677 to 2262).
pub fn timestamp(
    field: &str,
    value: &prost_types::Timestamp,
) -> Result<time::OffsetDateTime, SchedError> {
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err(SchedError::invalid(
            field,
            format!("nanos {} is outside 0 to 999,999,999", value.nanos),
        ));
    }
    super::convert::from_ts(value)
        .filter(|t| i64::try_from(t.unix_timestamp_nanos()).is_ok())
        .ok_or_else(|| SchedError::invalid(field, "is out of range (years 1677 to 2262)"))
}

/// An id: 1 to 128 of letters, digits and `-_./:`.
pub fn id(field: &str, value: &str) -> Result<(), SchedError> {
    if value.is_empty() {
        return Err(SchedError::invalid(field, "is empty"));
    }
    if value.len() > 128
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b))
    {
        return Err(SchedError::invalid(
            field,
            format!(
                "{} is not an id (1-128 of A-Z a-z 0-9 - _ . / :)",
                shown(value)
            ),
        ));
    }
    Ok(())
}

/// A PIN of the form every signq component accepts (see [`signq_signer::pin`]).
pub fn pin(value: &str) -> Result<(), SchedError> {
    signq_signer::pin::check(value).map_err(|e| SchedError::invalid("pin", e.to_string()))
}

/// A procedure code: 2 to 16 of `A-Z 0-9 -`.
pub fn procedure_code(field: &str, value: &str) -> Result<(), SchedError> {
    if signq_signer::delegation::document::is_procedure_code(value) {
        Ok(())
    } else {
        Err(SchedError::invalid(
            field,
            format!(
                "{} is not a procedure code (2-16 of A-Z, 0-9, -)",
                shown(value)
            ),
        ))
    }
}

/// An enum value known to this version of the API.
pub fn known_enum<E: TryFrom<i32>>(field: &str, value: i32) -> Result<E, SchedError> {
    E::try_from(value)
        .map_err(|_| SchedError::invalid(field, format!("{value} is not a known value")))
}

/// A procedure's deadline rule from the request: `procedure.limit` required and within bounds,
/// `procedure.cut_off` optional (only after closing).
pub fn rule(p: &signq_proto::v1::Procedure) -> Result<signq_calendar::Rule, SchedError> {
    use signq_calendar::{CutOff, TimeLimit};
    use signq_proto::v1::cut_off::Kind as CutOffKind;
    use signq_proto::v1::working_time_limit::Kind as LimitKind;
    let limit = match p.limit.as_ref().and_then(|l| l.kind.as_ref()) {
        None => return Err(SchedError::invalid("procedure.limit", "is missing")),
        Some(LimitKind::SameDay(false)) => {
            return Err(SchedError::invalid(
                "procedure.limit.same_day",
                "is false: set a limit in working days or hours instead",
            ));
        }
        Some(LimitKind::SameDay(true)) => TimeLimit::SameDay,
        Some(LimitKind::WorkingDays(n)) => TimeLimit::WorkingDays(*n),
        Some(LimitKind::WorkingHours(n)) => TimeLimit::WorkingHours(*n),
    }
    .checked()
    .map_err(|e| SchedError::invalid("procedure.limit", e.to_string()))?;
    let cut_off = match p.cut_off.as_ref().and_then(|c| c.kind.as_ref()) {
        None | Some(CutOffKind::AtClosing(_)) => CutOff::Closing,
        Some(CutOffKind::HourBeforeClosing(_)) => CutOff::HourBeforeClosing,
        Some(CutOffKind::After(at)) => match at.parse() {
            Ok(at @ CutOff::At(_)) => at,
            _ => {
                return Err(SchedError::invalid(
                    "procedure.cut_off.after",
                    format!("{} is not a time of day HH:MM", shown(at)),
                ));
            }
        },
    };
    Ok(signq_calendar::Rule { limit, cut_off })
}

/// A PDF signature's place from the API: page 0 for the last, x, y, width and height all 0 for
/// the default rectangle, or the name of an empty signature field; whether it lies on the page,
/// or the field exists, is checked against the PDF.
pub fn signature_place(
    field: &str,
    p: &signq_proto::v1::SignaturePlace,
) -> Result<signq_pades::Place, SchedError> {
    signq_pades::Place::from_api(p.page, p.x, p.y, p.width, p.height, &p.field)
        .map_err(|e| SchedError::invalid(format!("{field}.{}", e.field), e.reason))
}

/// A ward's titles for signature blocks: each at most 100 characters of printable text; the
/// head's and a deputy's titles are required, the body may be empty (the head then signs in
/// their own name).
pub fn signature_titles(
    field: &str,
    t: &signq_proto::v1::SignatureTitles,
) -> Result<signq_pades::Titles, SchedError> {
    if !t.body.is_empty() {
        text(&format!("{field}.body"), &t.body, 100)?;
    }
    text(&format!("{field}.head"), &t.head, 100)?;
    text(&format!("{field}.deputy"), &t.deputy, 100)?;
    Ok(signq_pades::Titles {
        body: t.body.trim().to_string(),
        head: t.head.trim().to_string(),
        deputy: t.deputy.trim().to_string(),
    })
}
