//! Working days and working time. [`Days`] is the country's calendar (Monday to Friday, less
//! the public holidays, with each year's overrides), shared by every ward; a [`Calendar`] is one
//! ward's: those days with the ward's office hours, and working time counted inside them, all in
//! Vietnam's time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::holidays::{self, DayOff};
use crate::hours::OfficeHours;
use crate::overrides::{OverrideError, YEARS, YearOverrides};

/// Vietnam's time (Asia/Ho_Chi_Minh): UTC+7 all year, without daylight saving since 1975.
pub const VIETNAM: UtcOffset = time::macros::offset!(+7);

/// The longest run of days off the calendar accepts (Tết with its swaps is about ten).
const LONGEST_BREAK: i64 = 31;

/// Whether a day is worked, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Day {
    /// A working day.
    Working {
        /// Why a rest day or holiday is worked, if it is one.
        swapped: Option<String>,
    },
    /// A public holiday, a day taken in lieu of one, or a day off the year's file gives.
    Off(DayOff),
    /// A Saturday or Sunday.
    Rest,
}

/// The days of one year that differ from "Monday to Friday".
#[derive(Debug, Default)]
struct Year {
    off: BTreeMap<Date, DayOff>,
    worked: BTreeMap<Date, String>,
}

/// The working days of the country: the law's defaults and the years' overrides.
#[derive(Debug, Default)]
pub struct Days {
    overrides: BTreeMap<i32, YearOverrides>,
    years: Mutex<BTreeMap<i32, Arc<Year>>>,
}

/// A ward's calendar: the country's days with the ward's office hours.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days: Arc<Days>,
    hours: OfficeHours,
}

impl Days {
    /// The days with the years `overrides` fix. Two files for one year, or a year left with more
    /// than a month of days off in a row, are refused.
    pub fn new(overrides: Vec<YearOverrides>) -> Result<Days, OverrideError> {
        let mut by_year = BTreeMap::new();
        for o in overrides {
            let year = o.year;
            if by_year.insert(year, o).is_some() {
                return Err(OverrideError {
                    line: 1,
                    message: format!("a second file for {year}"),
                });
            }
        }
        let days = Days {
            overrides: by_year,
            years: Mutex::new(BTreeMap::new()),
        };
        for (year, o) in &days.overrides {
            days.check_breaks(*year, o)?;
        }
        Ok(days)
    }

    fn check_breaks(&self, year: i32, o: &YearOverrides) -> Result<(), OverrideError> {
        let (Ok(mut day), Ok(last)) = (
            Date::from_ordinal_date(year, 1),
            Date::from_calendar_date(year, time::Month::December, 31),
        ) else {
            return Ok(());
        };
        let mut run = 0;
        while day <= last {
            run = if self.is_working_day(day) { 0 } else { run + 1 };
            if run > LONGEST_BREAK {
                let line = o.days_off.values().map(|l| l.line).max().unwrap_or(1);
                return Err(OverrideError {
                    line,
                    message: format!(
                        "more than {LONGEST_BREAK} days off in a row up to {day}: the ward \
                         would never be open"
                    ),
                });
            }
            let Some(next) = day.next_day() else { break };
            day = next;
        }
        Ok(())
    }

    /// The years that have an override file.
    pub fn overridden_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.overrides.keys().copied()
    }

    fn year(&self, year: i32) -> Arc<Year> {
        let mut years = self.years.lock().unwrap_or_else(|p| p.into_inner());
        years
            .entry(year)
            .or_insert_with(|| Arc::new(self.compute(year)))
            .clone()
    }

    fn compute(&self, year: i32) -> Year {
        let mut y = Year {
            off: if YEARS.contains(&year) {
                holidays::statutory(year)
            } else {
                BTreeMap::new()
            },
            worked: BTreeMap::new(),
        };
        if let Some(o) = self.overrides.get(&year) {
            for (date, listed) in &o.days_off {
                y.off.insert(
                    *date,
                    DayOff {
                        name: listed.name.clone(),
                    },
                );
            }
            for (date, listed) in &o.working_days {
                y.off.remove(date);
                y.worked.insert(*date, listed.name.clone());
            }
        }
        y
    }

    /// Whether `date` is worked, and why not if it is not.
    pub fn day(&self, date: Date) -> Day {
        let year = self.year(date.year());
        if let Some(name) = year.worked.get(&date) {
            return Day::Working {
                swapped: Some(name.clone()),
            };
        }
        if let Some(off) = year.off.get(&date) {
            return Day::Off(off.clone());
        }
        if holidays::is_weekend(date) {
            return Day::Rest;
        }
        Day::Working { swapped: None }
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        matches!(self.day(date), Day::Working { .. })
    }

    /// The first working day on or after `date`.
    pub fn working_day_from(&self, date: Date) -> Date {
        let mut day = date;
        // A run of days off is bounded (see `Calendar::new`); the bound only guards the loop.
        for _ in 0..=(2 * LONGEST_BREAK + 7) {
            if self.is_working_day(day) {
                return day;
            }
            match day.next_day() {
                Some(next) => day = next,
                None => return day,
            }
        }
        day
    }

    /// The first working day after `date`.
    pub fn next_working_day(&self, date: Date) -> Date {
        date.next_day()
            .map_or(date, |next| self.working_day_from(next))
    }
}

impl Calendar {
    /// A ward's calendar: `days` with its office `hours`.
    pub fn new(days: Arc<Days>, hours: OfficeHours) -> Calendar {
        Calendar { days, hours }
    }

    /// The country's days.
    pub fn days(&self) -> &Arc<Days> {
        &self.days
    }

    /// The office hours.
    pub fn hours(&self) -> &OfficeHours {
        &self.hours
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        self.days.is_working_day(date)
    }

    /// The first working day after `date`.
    pub fn next_working_day(&self, date: Date) -> Date {
        self.days.next_working_day(date)
    }

    fn at(date: Date, time: time::Time) -> OffsetDateTime {
        PrimitiveDateTime::new(date, time).assume_offset(VIETNAM)
    }

    /// When the office opens on `date`.
    pub fn opening(&self, date: Date) -> OffsetDateTime {
        Self::at(date, self.hours.opening())
    }

    /// When the office closes on `date`.
    pub fn closing(&self, date: Date) -> OffsetDateTime {
        Self::at(date, self.hours.closing())
    }

    /// The office sessions of `date` as instants (none on a day off).
    pub fn sessions(&self, date: Date) -> Vec<(OffsetDateTime, OffsetDateTime)> {
        if !self.is_working_day(date) {
            return Vec::new();
        }
        self.hours
            .sessions()
            .iter()
            .map(|(start, end)| (Self::at(date, *start), Self::at(date, *end)))
            .collect()
    }

    /// The working time from `from` to `to` (negative when `to` is earlier).
    pub fn working_time_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Duration {
        if to < from {
            return -self.working_time_between(to, from);
        }
        let (first, last) = (from.to_offset(VIETNAM).date(), to.to_offset(VIETNAM).date());
        let mut total = Duration::ZERO;
        let mut day = first;
        while day <= last {
            for (start, end) in self.sessions(day) {
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += end - start;
                }
            }
            let Some(next) = day.next_day() else { break };
            day = next;
        }
        total
    }

    /// The instant `amount` of working time after `from`: the end of a session rather than the
    /// start of the next when it lands between them.
    pub fn add_working_time(&self, from: OffsetDateTime, amount: Duration) -> OffsetDateTime {
        let mut left = amount.max(Duration::ZERO);
        let mut day = from.to_offset(VIETNAM).date();
        let mut last_end = from;
        loop {
            for (start, end) in self.sessions(day) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                if left <= end - start {
                    return start + left;
                }
                left -= end - start;
                last_end = end;
            }
            match day.next_day() {
                Some(next) => day = next,
                None => return last_end,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn working_days_weekends_and_holidays() {
        let c = Calendar::default();
        assert!(c.is_working_day(date!(2026 - 11 - 30)), "a Monday");
        assert!(!c.is_working_day(date!(2026 - 11 - 28)), "a Saturday");
        assert!(!c.is_working_day(date!(2026 - 02 - 17)), "Tết");
        assert_eq!(
            c.next_working_day(date!(2026 - 02 - 13)),
            date!(2026 - 02 - 23),
            "after the Friday before Tết 2026, the Monday after it"
        );
    }

    #[test]
    fn working_time_counts_office_hours_only() {
        let c = Calendar::default();
        // Friday 16:00 to Monday 08:30: one hour on Friday, one on Monday.
        let from = datetime!(2026-11-27 16:00 +7);
        let to = datetime!(2026-11-30 08:30 +7);
        assert_eq!(c.working_time_between(from, to), Duration::hours(2));
        assert_eq!(c.working_time_between(to, from), -Duration::hours(2));
        // The same instants in UTC.
        assert_eq!(
            c.working_time_between(from.to_offset(UtcOffset::UTC), to.to_offset(UtcOffset::UTC)),
            Duration::hours(2)
        );
        // The lunch break does not count.
        let morning = datetime!(2026-11-30 11:00 +7);
        let afternoon = datetime!(2026-11-30 14:00 +7);
        assert_eq!(
            c.working_time_between(morning, afternoon),
            Duration::hours(1)
        );
    }

    #[test]
    fn adding_working_time_skips_breaks_nights_and_weekends() {
        let c = Calendar::default();
        let friday = datetime!(2026-11-27 16:00 +7);
        assert_eq!(
            c.add_working_time(friday, Duration::hours(1)),
            datetime!(2026-11-27 17:00 +7),
            "ends at closing, not at Monday's opening"
        );
        assert_eq!(
            c.add_working_time(friday, Duration::hours(2)),
            datetime!(2026-11-30 08:30 +7)
        );
        assert_eq!(
            c.add_working_time(datetime!(2026-11-30 11:00 +7), Duration::hours(1)),
            datetime!(2026-11-30 14:00 +7)
        );
        // From a night or a weekend, counting starts at the next opening.
        assert_eq!(
            c.add_working_time(datetime!(2026-11-28 20:00 +7), Duration::minutes(30)),
            datetime!(2026-11-30 08:00 +7)
        );
    }

    #[test]
    fn overrides_swap_days() {
        let o = YearOverrides::parse(
            "year = 2026\n[[days_off]]\ndate = 2026-02-21\n[[working_days]]\ndate = 2026-01-03\n\
             [[working_days]]\ndate = 2026-09-01\n[[days_off]]\ndate = 2026-09-03\n",
        )
        .expect("parses");
        let c = Calendar::new(
            Arc::new(Days::new(vec![o]).expect("days")),
            OfficeHours::default(),
        );
        assert!(!c.is_working_day(date!(2026 - 02 - 21)));
        assert!(
            c.is_working_day(date!(2026 - 01 - 03)),
            "a swapped Saturday"
        );
        assert!(c.is_working_day(date!(2026 - 09 - 01)), "a moved holiday");
        assert!(!c.is_working_day(date!(2026 - 09 - 03)));
    }

    #[test]
    fn a_year_that_never_opens_is_refused() {
        let mut text = String::from("year = 2027\n");
        for day in 1..=28 {
            text.push_str(&format!("[[days_off]]\ndate = 2027-03-{day:02}\n"));
        }
        text.push_str("[[days_off]]\ndate = 2027-04-01\n[[days_off]]\ndate = 2027-04-02\n");
        text.push_str("[[days_off]]\ndate = 2027-03-29\n[[days_off]]\ndate = 2027-03-30\n[[days_off]]\ndate = 2027-03-31\n");
        let o = YearOverrides::parse(&text).expect("parses");
        let e = Days::new(vec![o]).expect_err("refused");
        assert!(e.message.contains("never be open"), "{e}");
    }
}
