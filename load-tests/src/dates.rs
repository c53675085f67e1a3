//! A scenario on real dates: its seconds are seconds of *working time* (the ward's office hours
//! on working days of the legal calendar) from its start, so records arrive, signers sign and
//! waits grow only while the ward is open, and nights, weekends and Tết take no time at all.
//! [`Timeline`] maps those seconds to dates and back; [`Deadlines`] gives each record its due
//! time the way Submit computes it, or the way signq counted before the calendar (clock hours),
//! so that the two can be compared on one run.

use std::sync::Arc;

use signq_calendar::{Calendar, Days, OfficeHours, Rule};
use time::{Duration, OffsetDateTime};

use crate::scenario::ScenarioError;

/// Working days a timeline covers beyond the run, for due times that fall after its end (the
/// longest rule the catalogue allows is 90 working days).
const DAYS_BEYOND: u32 = 120;

/// One office session on the timeline.
#[derive(Debug, Clone, Copy)]
struct Session {
    /// Working seconds from the start when the session opens.
    offset: f64,
    /// When it opens.
    opens: OffsetDateTime,
    /// How long it lasts, seconds.
    length: f64,
}

/// The run's office sessions, in order, from its start.
#[derive(Debug, Clone)]
pub struct Timeline {
    calendar: Calendar,
    sessions: Vec<Session>,
    /// Working seconds at which a new working day opens (the first day excluded).
    day_starts: Vec<f64>,
}

impl Timeline {
    /// The sessions of `calendar` from `start` (the opening of a working day) covering `secs` of
    /// working time and [`DAYS_BEYOND`] working days more.
    pub fn new(calendar: Calendar, start: OffsetDateTime, secs: f64) -> Result<Timeline, String> {
        let first = start.to_offset(signq_calendar::VIETNAM).date();
        if !calendar.is_working_day(first) || calendar.opening(first) != start {
            return Err(format!(
                "{start} is not the opening of a working day (the next one opens at {})",
                calendar.opening(calendar.next_working_day(first))
            ));
        }
        let (mut sessions, mut day_starts) = (Vec::new(), Vec::new());
        let (mut covered, mut day, mut beyond) = (0.0, first, 0);
        while beyond < DAYS_BEYOND {
            if covered >= secs {
                beyond += 1;
            }
            if day != first {
                day_starts.push(covered);
            }
            for (opens, closes) in calendar.sessions(day) {
                let length = (closes - opens).as_seconds_f64();
                sessions.push(Session {
                    offset: covered,
                    opens,
                    length,
                });
                covered += length;
            }
            day = calendar.next_working_day(day);
            if day.year() > *signq_calendar::overrides::YEARS.end() {
                return Err(format!(
                    "the run and its due times reach past {}",
                    signq_calendar::overrides::YEARS.end()
                ));
            }
        }
        Ok(Timeline {
            calendar,
            sessions,
            day_starts,
        })
    }

    /// The calendar it follows.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The instant `secs` of working time after the start (the close of a session, not the
    /// opening of the next, when it falls between them).
    pub fn instant(&self, secs: f64) -> OffsetDateTime {
        let i = self
            .sessions
            .partition_point(|s| s.offset < secs)
            .saturating_sub(1);
        let Some(s) = self.sessions.get(i) else {
            return OffsetDateTime::UNIX_EPOCH;
        };
        let into = (secs - s.offset).max(0.0);
        if into <= s.length || i + 1 < self.sessions.len() {
            return s.opens + Duration::seconds_f64(into.min(s.length));
        }
        let end = s.opens + Duration::seconds_f64(s.length);
        self.calendar
            .add_working_time(end, Duration::seconds_f64(into - s.length))
    }

    /// Working seconds from the start to `at` (0 before the start).
    pub fn working_secs(&self, at: OffsetDateTime) -> f64 {
        let i = self.sessions.partition_point(|s| s.opens <= at);
        let Some(s) = i.checked_sub(1).and_then(|i| self.sessions.get(i)) else {
            return 0.0;
        };
        let into = (at - s.opens).as_seconds_f64();
        if into <= s.length || i < self.sessions.len() {
            return s.offset + into.min(s.length);
        }
        let end = s.opens + Duration::seconds_f64(s.length);
        s.offset + s.length + self.calendar.working_time_between(end, at).as_seconds_f64()
    }

    /// Working seconds at which each working day after the first opens, in `[0, until)`.
    pub fn day_starts(&self, until: f64) -> impl Iterator<Item = f64> + '_ {
        self.day_starts
            .iter()
            .copied()
            .take_while(move |d| *d < until)
    }
}

/// A procedure's time limit, resolved from the scenario and the catalogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// The catalogue's rule (working days or hours, and the cut-off).
    Rule(Rule),
    /// The scenario's own limit, seconds of working time (as an explicit deadline at Submit).
    Secs(f64),
}

/// How deadlines are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counting {
    /// By the legal calendar, as Submit does.
    #[default]
    Calendar,
    /// As signq did before the calendar: the same day as 8 clock hours, a working day as 24,
    /// a scenario's own limit as clock seconds.
    ClockHours,
}

impl std::str::FromStr for Counting {
    type Err = String;

    fn from_str(s: &str) -> Result<Counting, String> {
        match s {
            "calendar" => Ok(Counting::Calendar),
            "clock-hours" => Ok(Counting::ClockHours),
            other => Err(format!(
                "{other:?} is not a way of counting deadlines (calendar, clock-hours)"
            )),
        }
    }
}

/// A record's due time, on the timeline, both ways.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    /// By the counting the run uses: what the balancer and the report see.
    pub counted: f64,
    /// By the legal calendar: when the record is really late.
    pub legal: f64,
}

/// Due times for a scenario's procedures.
#[derive(Debug, Clone)]
pub struct Deadlines {
    timeline: Arc<Timeline>,
    limits: Vec<Limit>,
    counting: Counting,
}

impl Deadlines {
    /// Due times on `timeline` for procedures with these `limits`, counted by `counting`.
    pub fn new(timeline: Arc<Timeline>, limits: Vec<Limit>, counting: Counting) -> Deadlines {
        Deadlines {
            timeline,
            limits,
            counting,
        }
    }

    /// The due time of a record of procedure `procedure` received at working second `at`.
    pub fn due(&self, procedure: usize, at: f64) -> Due {
        let Some(limit) = self.limits.get(procedure).copied() else {
            return Due {
                counted: at,
                legal: at,
            };
        };
        let received = self.timeline.instant(at);
        let legal = match limit {
            Limit::Rule(rule) => self
                .timeline
                .working_secs(self.timeline.calendar().due(received, rule)),
            Limit::Secs(secs) => at + secs,
        };
        let counted = match self.counting {
            Counting::Calendar => legal,
            Counting::ClockHours => {
                let clock = match limit {
                    Limit::Rule(rule) => {
                        signq_scheduler::catalogue::clock_time_limit(rule).as_secs_f64()
                    }
                    Limit::Secs(secs) => secs,
                };
                self.timeline
                    .working_secs(received + Duration::seconds_f64(clock))
            }
        };
        Due { counted, legal }
    }
}

/// The calendar of a scenario: the law's days (no yearly overrides) with `office_hours`.
pub fn calendar(office_hours: &str) -> Result<Calendar, ScenarioError> {
    let hours: OfficeHours = office_hours
        .parse()
        .map_err(|e: signq_calendar::HoursError| ScenarioError::Invalid {
            field: "calendar.office_hours".into(),
            reason: e.to_string(),
        })?;
    Ok(Calendar::new(Arc::new(Days::default()), hours))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn timeline(start: OffsetDateTime) -> Timeline {
        let cal = calendar("07:30-11:30,13:00-17:00").expect("hours");
        Timeline::new(cal, start, 10.0 * 28_800.0).expect("timeline")
    }

    #[test]
    fn working_seconds_skip_lunch_nights_and_weekends() {
        // Friday 27 November 2026.
        let t = timeline(datetime!(2026-11-27 07:30 +7));
        assert_eq!(t.instant(0.0), datetime!(2026-11-27 07:30 +7));
        assert_eq!(t.instant(4.0 * 3600.0), datetime!(2026-11-27 11:30 +7));
        assert_eq!(t.instant(4.5 * 3600.0), datetime!(2026-11-27 13:30 +7));
        assert_eq!(t.instant(8.0 * 3600.0), datetime!(2026-11-27 17:00 +7));
        assert_eq!(t.instant(8.5 * 3600.0), datetime!(2026-11-30 08:00 +7));
        assert_eq!(t.working_secs(datetime!(2026-11-28 12:00 +7)), 28_800.0);
        assert_eq!(t.working_secs(datetime!(2026-11-30 08:00 +7)), 8.5 * 3600.0);
        assert_eq!(t.working_secs(datetime!(2026-11-27 12:00 +7)), 4.0 * 3600.0);
        assert_eq!(
            t.day_starts(3.0 * 28_800.0).collect::<Vec<_>>(),
            [28_800.0, 57_600.0]
        );
        // Far beyond the sessions built, the calendar itself answers.
        let far = 200.0 * 28_800.0;
        assert_eq!(t.working_secs(t.instant(far)), far);
    }

    #[test]
    fn a_start_outside_the_office_is_refused() {
        let cal = calendar("07:30-11:30,13:00-17:00").expect("hours");
        let err = Timeline::new(cal, datetime!(2026-02-17 07:30 +7), 1.0).expect_err("Tết");
        assert!(err.contains("2026-02-23 7:30:00.0 +07:00:00"), "{err}");
    }

    #[test]
    fn a_certification_after_the_cut_off_on_friday_is_due_on_monday() {
        let t = Arc::new(timeline(datetime!(2026-11-27 07:30 +7)));
        let limits = vec![Limit::Rule(Rule::SAME_DAY_15H)];
        let at = 8.0 * 3600.0 - 1800.0; // Friday 16:30
        let legal = Deadlines::new(t.clone(), limits.clone(), Counting::Calendar).due(0, at);
        assert_eq!(legal.counted, 16.0 * 3600.0, "Monday 17:00");
        let old = Deadlines::new(t, limits, Counting::ClockHours).due(0, at);
        assert_eq!(
            old.counted,
            8.0 * 3600.0,
            "by the clock: Saturday 00:30, past Friday's close"
        );
        assert_eq!(old.legal, legal.legal);
    }
}
