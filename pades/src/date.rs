//! PDF dates (`D:YYYYMMDDHHmmSS+HH'mm'`): written for `/M`, read back when verifying.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// `at` as a PDF date, in its own offset.
pub(crate) fn write(at: OffsetDateTime) -> String {
    let offset = at.offset();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        offset.whole_hours().unsigned_abs(),
        offset.minutes_past_hour().unsigned_abs(),
    )
}

/// A PDF date; the parts after the year may be left out (January, the 1st, midnight, UTC), as
/// the format allows.
pub(crate) fn read(text: &[u8]) -> Option<OffsetDateTime> {
    let text = text.strip_prefix(b"D:").unwrap_or(text);
    let digits = text.iter().take_while(|c| c.is_ascii_digit()).count();
    let (numbers, zone) = text.split_at(digits);
    let field = |from: usize, len: usize, default: u32| -> Option<u32> {
        match numbers.get(from..from + len) {
            Some(d) => std::str::from_utf8(d).ok()?.parse().ok(),
            None if numbers.len() <= from => Some(default),
            None => None,
        }
    };
    let year = i32::try_from(field(0, 4, 0)?).ok()?;
    if numbers.len() < 4 || numbers.len() % 2 != 0 || numbers.len() > 14 {
        return None;
    }
    let month = Month::try_from(u8::try_from(field(4, 2, 1)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(field(6, 2, 1)?).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(field(8, 2, 0)?).ok()?,
        u8::try_from(field(10, 2, 0)?).ok()?,
        u8::try_from(field(12, 2, 0)?).ok()?,
    )
    .ok()?;
    let offset = match zone {
        [] | [b'Z', ..] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let hours: i8 = std::str::from_utf8(rest.get(..2)?).ok()?.parse().ok()?;
            let minutes: i8 = match rest.get(2..) {
                Some([b'\'', m1, m2, ..]) => std::str::from_utf8(&[*m1, *m2]).ok()?.parse().ok()?,
                _ => 0,
            };
            let sign = if *sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
        _ => return None,
    };
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn written_and_read_back() {
        let at = datetime!(2026-11-30 16:05:09 +7);
        assert_eq!(write(at), "D:20261130160509+07'00'");
        assert_eq!(read(write(at).as_bytes()), Some(at));
    }

    #[test]
    fn short_and_odd_forms() {
        assert_eq!(read(b"D:2026"), Some(datetime!(2026-01-01 0:00 UTC)));
        assert_eq!(
            read(b"D:20261130083000Z"),
            Some(datetime!(2026-11-30 8:30 UTC))
        );
        assert_eq!(
            read(b"D:20261130083000-05'30"),
            Some(datetime!(2026-11-30 8:30 -5:30))
        );
        assert_eq!(read(b"D:20261330"), None, "month 13");
        assert_eq!(read(b"D:202611301"), None, "an odd digit");
        assert_eq!(read(b"yesterday"), None);
    }
}
