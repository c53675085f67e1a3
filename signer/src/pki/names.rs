//! Which names the PKI accepts, and how they become file names.
//!
//! Certificate names and signer ids end up in paths under `issued/`, so they are restricted to a
//! small, lowercase alphabet with no way to climb out of the directory. Signer ids contain a `/`
//! (`cat-lai/deputy-1`); in file names it becomes `_`.

use super::error::PkiError;

/// The longest accepted name.
const MAX_NAME_LEN: usize = 128;

/// The longest accepted human-readable subject field.
const MAX_SUBJECT_LEN: usize = 128;

/// Checks a certificate name, signer id or ward id.
pub(crate) fn validate_name(name: &str) -> Result<(), PkiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'/')
        })
        && !name.contains("..")
        && !name.ends_with('/');
    if ok {
        Ok(())
    } else {
        Err(PkiError::InvalidName(name.to_string()))
    }
}

/// The file stem for a validated name: `/` becomes `_`.
pub(crate) fn file_stem(name: &str) -> String {
    name.replace('/', "_")
}

/// Checks and normalises (to lowercase) a DNS name for a server certificate: letters, digits,
/// `-`, `.` and a leading `*.` wildcard label.
pub(crate) fn normalise_dns_name(dns: &str) -> Result<String, PkiError> {
    let lower = dns.to_ascii_lowercase();
    let body = lower.strip_prefix("*.").unwrap_or(&lower);
    let ok = !body.is_empty()
        && lower.len() <= 253
        && body.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok {
        Ok(lower)
    } else {
        Err(PkiError::InvalidName(dns.to_string()))
    }
}

/// Checks a human-readable subject field (display name, ward name); `what` names it in errors.
pub(crate) fn validate_subject_text(what: &str, text: &str) -> Result<(), PkiError> {
    if text.trim().is_empty() {
        return Err(PkiError::InvalidSubject(format!("{what} is empty")));
    }
    if text.chars().count() > MAX_SUBJECT_LEN {
        return Err(PkiError::InvalidSubject(format!(
            "{what} is longer than {MAX_SUBJECT_LEN} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(PkiError::InvalidSubject(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["scheduler", "cat-lai/deputy-1", "a.b_c-d", "0"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "../x", "A B", "a..b", "/abs", "a/", ".hidden", "-x", "x y", "ä",
        ] {
            assert!(
                matches!(validate_name(bad), Err(PkiError::InvalidName(_))),
                "{bad}"
            );
        }
        assert_eq!(file_stem("cat-lai/deputy-1"), "cat-lai_deputy-1");
        assert_eq!(
            normalise_dns_name("Signer.Ward.Local").ok().as_deref(),
            Some("signer.ward.local")
        );
        assert!(normalise_dns_name("bad name").is_err());
        assert!(normalise_dns_name("").is_err());
        assert!(validate_subject_text("x", "Nguyễn Thị Lan").is_ok());
        assert!(validate_subject_text("x", " ").is_err());
        assert!(validate_subject_text("x", "a\nb").is_err());
    }
}
