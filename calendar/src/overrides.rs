//! A year's calendar as the Prime Minister fixed it: the days off beyond the law's defaults (the
//! exact Tết and National Day days, the days given in exchange for a worked Saturday) and the
//! rest days worked instead. An operator writes one small TOML file per year:
//!
//! ```toml
//! year = 2026
//!
//! [[days_off]]
//! date = 2026-02-21
//! name = "Nghỉ Tết (đổi ngày làm việc)"
//!
//! [[working_days]]
//! date = 2026-01-03
//! name = "Làm bù cho 21/02"
//! ```
//!
//! A default holiday the decision moved is cancelled by listing it as a working day. Parsing
//! reads text only (the caller reads the file); every error names the line it is on.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::{Date, Month};

/// A day listed in an override file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// What the day is, as the decision names it.
    pub name: String,
    /// The line it is on.
    pub line: usize,
}

/// One year's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearOverrides {
    /// The year they are for.
    pub year: i32,
    /// Days off beyond the defaults.
    pub days_off: BTreeMap<Date, Listed>,
    /// Days worked although they are rest days or default holidays.
    pub working_days: BTreeMap<Date, Listed>,
}

/// What is wrong with an override file, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct OverrideError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    year: toml::Spanned<i64>,
    #[serde(default)]
    days_off: Vec<Entry>,
    #[serde(default)]
    working_days: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    date: toml::Spanned<toml::value::Datetime>,
    #[serde(default)]
    name: Option<String>,
}

/// The years the calendar computes.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl YearOverrides {
    /// Parses and checks an override file's text.
    pub fn parse(text: &str) -> Result<YearOverrides, OverrideError> {
        let file: File = toml::from_str(text).map_err(|e| OverrideError {
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        let at = |span: std::ops::Range<usize>, message: String| OverrideError {
            line: line_of(text, span.start),
            message,
        };
        let year = *file.year.get_ref();
        let year = i32::try_from(year)
            .ok()
            .filter(|y| YEARS.contains(y))
            .ok_or_else(|| {
                at(
                    file.year.span(),
                    format!(
                        "year {year}: the calendar covers {} to {}",
                        YEARS.start(),
                        YEARS.end()
                    ),
                )
            })?;
        let mut out = YearOverrides {
            year,
            days_off: BTreeMap::new(),
            working_days: BTreeMap::new(),
        };
        for (list, entries) in [
            ("days_off", file.days_off),
            ("working_days", file.working_days),
        ] {
            for entry in entries {
                let span = entry.date.span();
                let line = line_of(text, span.start);
                let date = as_date(entry.date.get_ref()).map_err(|m| at(span.clone(), m))?;
                if date.year() != year {
                    return Err(at(
                        span,
                        format!("{date} is not in {year}, the file's year"),
                    ));
                }
                if let Some(first) = out
                    .days_off
                    .get(&date)
                    .or_else(|| out.working_days.get(&date))
                {
                    return Err(at(
                        span,
                        format!("{date} is listed twice (first on line {})", first.line),
                    ));
                }
                let listed = Listed {
                    name: entry.name.unwrap_or_default(),
                    line,
                };
                match list {
                    "days_off" => out.days_off.insert(date, listed),
                    _ => out.working_days.insert(date, listed),
                };
            }
        }
        Ok(out)
    }
}

/// A TOML local date as a calendar date; anything with a time or an offset is refused.
fn as_date(value: &toml::value::Datetime) -> Result<Date, String> {
    match (value.date, value.time, value.offset) {
        (Some(d), None, None) => {
            let month = Month::try_from(d.month).map_err(|_| format!("{value}: no such month"))?;
            Date::from_calendar_date(i32::from(d.year), month, d.day)
                .map_err(|_| format!("{value}: no such day"))
        }
        _ => Err(format!(
            "{value}: a date is written 2026-02-21, without a time"
        )),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const GOOD: &str = "year = 2026

[[days_off]]
date = 2026-02-21
name = \"Nghỉ Tết\"

[[working_days]]
date = 2026-01-03
";

    #[test]
    fn a_good_file() {
        let o = YearOverrides::parse(GOOD).expect("parses");
        assert_eq!(o.year, 2026);
        assert_eq!(o.days_off[&date!(2026 - 02 - 21)].name, "Nghỉ Tết");
        assert_eq!(o.days_off[&date!(2026 - 02 - 21)].line, 4);
        assert!(o.working_days.contains_key(&date!(2026 - 01 - 03)));
    }

    fn error(text: &str) -> OverrideError {
        YearOverrides::parse(text).expect_err("refused")
    }

    #[test]
    fn every_error_names_its_line() {
        let e = error("year = 2026\n\n[[days_off]]\ndate = 2026-02-30\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("day"), "{e}");
        let e = error("year = 2026\n[[days_off]]\ndate = 2027-01-01\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("not in 2026"), "{e}");
        let e = error(
            "year = 2026\n[[days_off]]\ndate = 2026-02-21\n[[working_days]]\ndate = 2026-02-21\n",
        );
        assert_eq!(e.line, 5);
        assert!(e.message.contains("first on line 3"), "{e}");
        let e = error("year = 2026\n[[days_of]]\ndate = 2026-02-21\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("days_of"), "{e}");
        let e = error("year = 2026\n[[days_off]]\ndate = \"2026-02-21\"\n");
        assert_eq!(e.line, 3, "{e}");
        let e = error("year = 2026\n[[days_off]]\ndate = 2026-02-21T08:00:00\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("without a time"), "{e}");
        let e = error("\n\nyear = 1066\n");
        assert_eq!(e.line, 3);
        let e = error("year = 2026\n[[days_off]\n");
        assert_eq!(e.line, 2, "{e}");
        let e = error("[[days_off]]\ndate = 2026-02-21\n");
        assert!(e.message.contains("year"), "{e}");
    }
}
