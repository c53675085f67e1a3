//! Field checks shared by the services; each failure names the field.
//!
//! A refusal that echoes a value shows only its start ([`shown`]): the message must stay small
//! enough for every client's metadata limits whatever the caller sent.

use crate::error::SchedError;

/// Characters of a value echoed in a message, at most.
const SHOWN: usize = 48;

/// `value` quoted for a message, cut to its first characters.
pub fn shown(value: &str) -> String {
    if value.chars().count() <= SHOWN {
        format!("{value:?}")
    } else {
        let start: String = value.chars().take(SHOWN).collect();
        format!("{start:?}… ({} characters)", value.chars().count())
    }
}

/// A required text field of 1 to `max` characters without control characters.
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
    if value.chars().any(char::is_control) {
        return Err(SchedError::invalid(field, "contains control characters"));
    }
    Ok(())
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
