//! Statutory deadlines: a procedure's time limit (the same working day, N working days or
//! N working hours) and its cut-off rule, applied to the moment a record was received.
//!
//! Counting starts at receipt when the record comes on a working day, within office hours and
//! before the cut-off; otherwise at the next working day's opening. A working day is the ward's
//! office hours (7.5 hours with the default ones), so "3 working days" from Monday 09:00 is
//! Thursday 09:00, and from Monday's opening it is Wednesday's closing.
//!
//! The cut-offs the decrees use:
//! - a certification is returned the same working day, or the next if received after 15:00
//!   (Decree 23/2015, Art. 7): [`CutOff::At`] 15:00 with [`TimeLimit::SameDay`];
//! - some procedures count from the next working day when received after 15:00 (Decree 63/2024,
//!   Art. 7.2): [`CutOff::At`] 15:00 with working days;
//! - "within one hour before closing" counts from the next working day (Decree 297/2025,
//!   Art. 6.3): [`CutOff::HourBeforeClosing`].

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime, Time};

use crate::calendar::{Calendar, VIETNAM};

/// How long a procedure may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// Returned by the close of the working day counting starts on.
    SameDay,
    /// This many working days of working time.
    WorkingDays(u32),
    /// This many hours of working time.
    WorkingHours(u32),
}

/// When a record received late in the day counts from the next working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOff {
    /// Only after closing.
    Closing,
    /// After this time of day.
    At(Time),
    /// Within the last hour before closing.
    HourBeforeClosing,
}

/// A procedure's deadline rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// How long it may take.
    pub limit: TimeLimit,
    /// When counting moves to the next working day.
    pub cut_off: CutOff,
}

impl Rule {
    /// Same day, or the next working day after 15:00 (certifications, civil status "same day").
    pub const SAME_DAY_15H: Rule = Rule {
        limit: TimeLimit::SameDay,
        cut_off: CutOff::At(time::macros::time!(15:00)),
    };

    /// `n` working days, counted from the next working day after 15:00.
    pub const fn working_days_15h(n: u32) -> Rule {
        Rule {
            limit: TimeLimit::WorkingDays(n),
            cut_off: CutOff::At(time::macros::time!(15:00)),
        }
    }
}

/// The most working days a time limit may have (the longest statutory limits are a few weeks).
pub const MAX_WORKING_DAYS: u32 = 90;
/// The most working hours a time limit may have.
pub const MAX_WORKING_HOURS: u32 = 720;

/// Why a time limit or a cut-off is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?}: {reason}")]
pub struct RuleError {
    given: String,
    reason: String,
}

impl RuleError {
    fn new(given: &str, reason: impl Into<String>) -> RuleError {
        RuleError {
            given: given.into(),
            reason: reason.into(),
        }
    }
}

impl TimeLimit {
    /// A time limit within the bounds: at least one working day or hour, and at most
    /// [`MAX_WORKING_DAYS`] or [`MAX_WORKING_HOURS`].
    pub fn checked(self) -> Result<TimeLimit, RuleError> {
        match self {
            TimeLimit::WorkingDays(n) if n == 0 || n > MAX_WORKING_DAYS => Err(RuleError::new(
                &self.to_string(),
                format!("1 to {MAX_WORKING_DAYS} working days"),
            )),
            TimeLimit::WorkingHours(n) if n == 0 || n > MAX_WORKING_HOURS => Err(RuleError::new(
                &self.to_string(),
                format!("1 to {MAX_WORKING_HOURS} working hours"),
            )),
            ok => Ok(ok),
        }
    }
}

/// `same-day`, `3-working-days`, `8-working-hours`.
impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::SameDay => f.write_str("same-day"),
            TimeLimit::WorkingDays(n) => write!(f, "{n}-working-days"),
            TimeLimit::WorkingHours(n) => write!(f, "{n}-working-hours"),
        }
    }
}

impl FromStr for TimeLimit {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<TimeLimit, RuleError> {
        if text == "same-day" {
            return Ok(TimeLimit::SameDay);
        }
        let refuse = || RuleError::new(text, "same-day, N-working-days or N-working-hours");
        let (n, unit) = text.split_once('-').ok_or_else(refuse)?;
        let n: u32 = n.parse().map_err(|_| refuse())?;
        match unit {
            "working-days" | "working-day" => TimeLimit::WorkingDays(n),
            "working-hours" | "working-hour" => TimeLimit::WorkingHours(n),
            _ => return Err(refuse()),
        }
        .checked()
    }
}

/// `closing`, `15:00`, `hour-before-closing`.
impl fmt::Display for CutOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CutOff::Closing => f.write_str("closing"),
            CutOff::At(t) => write!(f, "{:02}:{:02}", t.hour(), t.minute()),
            CutOff::HourBeforeClosing => f.write_str("hour-before-closing"),
        }
    }
}

impl FromStr for CutOff {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<CutOff, RuleError> {
        match text {
            "closing" => Ok(CutOff::Closing),
            "hour-before-closing" => Ok(CutOff::HourBeforeClosing),
            _ => {
                let refuse = || RuleError::new(text, "closing, HH:MM or hour-before-closing");
                let (h, m) = text.split_once(':').ok_or_else(refuse)?;
                if h.len() != 2 || m.len() != 2 {
                    return Err(refuse());
                }
                let (h, m) = (
                    h.parse().map_err(|_| refuse())?,
                    m.parse().map_err(|_| refuse())?,
                );
                Time::from_hms(h, m, 0)
                    .map(CutOff::At)
                    .map_err(|_| refuse())
            }
        }
    }
}

impl Calendar {
    /// When counting starts for a record received at `received`.
    pub fn counting_starts(&self, received: OffsetDateTime, cut_off: CutOff) -> OffsetDateTime {
        let local = received.to_offset(VIETNAM);
        let date = local.date();
        let closing = self.closing(date);
        let past = match cut_off {
            CutOff::Closing => local >= closing,
            CutOff::At(t) => local.time() > t || local >= closing,
            CutOff::HourBeforeClosing => local >= closing - Duration::HOUR,
        };
        if self.is_working_day(date) && !past {
            local.max(self.opening(date))
        } else {
            self.opening(self.next_working_day(date))
        }
    }

    /// The deadline of a record received at `received` under `rule`, in Vietnam's time.
    pub fn due(&self, received: OffsetDateTime, rule: Rule) -> OffsetDateTime {
        let start = self.counting_starts(received, rule.cut_off);
        match rule.limit {
            TimeLimit::SameDay => self.closing(start.date()),
            TimeLimit::WorkingDays(n) => {
                let day = self.hours().day_length();
                self.add_working_time(start, day * n)
            }
            TimeLimit::WorkingHours(n) => {
                self.add_working_time(start, Duration::hours(i64::from(n)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_and_read_back() {
        for text in ["same-day", "3-working-days", "8-working-hours"] {
            let limit: TimeLimit = text.parse().expect(text);
            assert_eq!(limit.to_string(), text);
        }
        assert_eq!("1-working-day".parse(), Ok(TimeLimit::WorkingDays(1)));
        for text in ["closing", "15:00", "hour-before-closing"] {
            let cut_off: CutOff = text.parse().expect(text);
            assert_eq!(cut_off.to_string(), text);
        }
        for bad in [
            "",
            "3",
            "0-working-days",
            "91-working-days",
            "3-days",
            "-3-working-days",
        ] {
            assert!(bad.parse::<TimeLimit>().is_err(), "{bad:?}");
        }
        for bad in ["", "15h", "25:00", "3:00", "noon"] {
            assert!(bad.parse::<CutOff>().is_err(), "{bad:?}");
        }
    }
}
