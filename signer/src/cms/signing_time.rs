//! The signing-time attribute value (RFC 5652 §11.3): UTCTime or GeneralizedTime.
//!
//! Why hand-written: RFC 5652 requires UTCTime for 1950–2049 and GeneralizedTime
//! outside that range, always in UTC with whole seconds. The `der` crate's time types
//! start at 1970, so both directions are done here on the exact DER forms
//! `YYMMDDHHMMSSZ` and `YYYYMMDDHHMMSSZ`, and nothing else is accepted.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::encode::{TAG_GENERALIZED_TIME, TAG_UTC_TIME, tlv};
use super::error::CmsError;

/// The DER TLV of `when` as a signing-time value: converted to UTC, truncated to the
/// second, UTCTime for years 1950–2049 and GeneralizedTime for other years 0–9999.
pub(super) fn encode(when: OffsetDateTime) -> Result<Vec<u8>, CmsError> {
    let utc = when.checked_to_offset(UtcOffset::UTC).ok_or_else(|| {
        CmsError::InvalidSigningTime(format!("{when} cannot be expressed in UTC"))
    })?;
    let year = utc.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    if (1950..=2049).contains(&year) {
        let text = format!("{:02}{rest}", year % 100);
        Ok(tlv(TAG_UTC_TIME, &[text.as_bytes()]))
    } else if (0..=9999).contains(&year) {
        let text = format!("{year:04}{rest}");
        Ok(tlv(TAG_GENERALIZED_TIME, &[text.as_bytes()]))
    } else {
        Err(CmsError::InvalidSigningTime(format!(
            "year {year} cannot be written as UTCTime or GeneralizedTime (0..=9999)"
        )))
    }
}

/// Reads a signing-time value given its tag byte and content octets.
pub(super) fn decode(tag: u8, content: &[u8]) -> Result<OffsetDateTime, CmsError> {
    let (year, rest) = match (tag, content.len()) {
        (TAG_UTC_TIME, 13) => {
            let yy = digits(content, 0, 2)?;
            let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
            if (1950..=2049).contains(&year) {
                (year, content.get(2..).unwrap_or_default())
            } else {
                return Err(bad("UTCTime year out of range"));
            }
        }
        (TAG_GENERALIZED_TIME, 15) => {
            let year = digits(content, 0, 4)?;
            (year, content.get(4..).unwrap_or_default())
        }
        (TAG_UTC_TIME, _) => return Err(bad("UTCTime must be YYMMDDHHMMSSZ")),
        (TAG_GENERALIZED_TIME, _) => return Err(bad("GeneralizedTime must be YYYYMMDDHHMMSSZ")),
        _ => return Err(bad("value is neither UTCTime nor GeneralizedTime")),
    };
    if rest.last() != Some(&b'Z') {
        return Err(bad("time must be in UTC (end with Z)"));
    }
    let month = Month::try_from(digits(rest, 0, 2)? as u8).map_err(|e| bad(&e.to_string()))?;
    let date = Date::from_calendar_date(year as i32, month, digits(rest, 2, 2)? as u8)
        .map_err(|e| bad(&e.to_string()))?;
    let time = Time::from_hms(
        digits(rest, 4, 2)? as u8,
        digits(rest, 6, 2)? as u8,
        digits(rest, 8, 2)? as u8,
    )
    .map_err(|e| bad(&e.to_string()))?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The decimal number written by `len` ASCII digits at `start`.
fn digits(text: &[u8], start: usize, len: usize) -> Result<u32, CmsError> {
    let field = text
        .get(start..start + len)
        .ok_or_else(|| bad("time value too short"))?;
    field.iter().try_fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + u32::from(b - b'0'))
        } else {
            Err(bad("time value contains a non-digit"))
        }
    })
}

fn bad(why: &str) -> CmsError {
    CmsError::Malformed(format!("signing-time attribute: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn round_trip(t: OffsetDateTime) -> OffsetDateTime {
        let der = encode(t).expect("test value");
        let tag = der[0];
        let content = &der[2..];
        decode(tag, content).expect("test value")
    }

    #[test]
    fn utc_time_for_1950_to_2049() {
        let t = datetime!(2025-03-09 07:05:04.999 +07:00);
        let der = encode(t).expect("test value");
        assert_eq!(&der, b"\x17\x0d250309000504Z");
        assert_eq!(round_trip(t), datetime!(2025-03-09 00:05:04 UTC));
        assert_eq!(
            encode(datetime!(1950-01-01 0:00 UTC)).expect("test value")[0],
            TAG_UTC_TIME
        );
        assert_eq!(
            round_trip(datetime!(1950-01-01 0:00 UTC)),
            datetime!(1950-01-01 0:00 UTC)
        );
        assert_eq!(
            round_trip(datetime!(2049-12-31 23:59:59 UTC)),
            datetime!(2049-12-31 23:59:59 UTC)
        );
    }

    #[test]
    fn generalized_time_outside() {
        let t = datetime!(2050-01-01 0:00 UTC);
        assert_eq!(&encode(t).expect("test value"), b"\x18\x0f20500101000000Z");
        assert_eq!(round_trip(t), t);
        let t = datetime!(1949-12-31 23:59:59 UTC);
        assert_eq!(round_trip(t), t);
    }

    #[test]
    fn refuses_unencodable_times() {
        let t = datetime!(9999-12-31 23:00 -05:00);
        assert!(matches!(encode(t), Err(CmsError::InvalidSigningTime(_))));
        let t = datetime!(-0001-06-01 0:00 UTC);
        assert!(matches!(encode(t), Err(CmsError::InvalidSigningTime(_))));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(decode(TAG_UTC_TIME, b"250309000504+0700").is_err());
        assert!(decode(TAG_UTC_TIME, b"251309000504Z").is_err());
        assert!(decode(TAG_UTC_TIME, b"25030900050AZ").is_err());
        assert!(decode(TAG_GENERALIZED_TIME, b"20250309000504.5Z").is_err());
        assert!(decode(0x0c, b"250309000504Z").is_err());
        assert!(decode(TAG_GENERALIZED_TIME, b"2025030900050Z1").is_err());
    }
}
