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

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::SameDay => f.write_str("the same working day"),
            TimeLimit::WorkingDays(n) => write!(f, "{n} working days"),
            TimeLimit::WorkingHours(n) => write!(f, "{n} working hours"),
        }
    }
}

impl fmt::Display for CutOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CutOff::Closing => f.write_str("counted from receipt"),
            CutOff::At(t) => write!(
                f,
                "from the next working day after {:02}:{:02}",
                t.hour(),
                t.minute()
            ),
            CutOff::HourBeforeClosing => {
                f.write_str("from the next working day within an hour of closing")
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
