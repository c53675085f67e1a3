//! Due times, as a table: each procedure kind across the cut-off, nights, weekends, a holiday on
//! a Sunday taken on the Monday, Tết 2025 and 2026, a swapped working Saturday from an override
//! file, and the office hours' limits.

use std::sync::Arc;

use signq_calendar::{Calendar, CutOff, Days, OfficeHours, Rule, TimeLimit, YearOverrides};
use time::OffsetDateTime;
use time::macros::{datetime, time};

const SAME_DAY: Rule = Rule::SAME_DAY_15H;
const THREE_DAYS: Rule = Rule::working_days_15h(3);
const FIVE_DAYS: Rule = Rule::working_days_15h(5);
const EIGHT_HOURS: Rule = Rule {
    limit: TimeLimit::WorkingHours(8),
    cut_off: CutOff::Closing,
};
const ONE_HOUR: Rule = Rule {
    limit: TimeLimit::WorkingHours(1),
    cut_off: CutOff::Closing,
};
const ONE_DAY: Rule = Rule {
    limit: TimeLimit::WorkingDays(1),
    cut_off: CutOff::Closing,
};
const SAME_DAY_297: Rule = Rule {
    limit: TimeLimit::SameDay,
    cut_off: CutOff::HourBeforeClosing,
};

fn check(calendar: &Calendar, cases: &[(&str, Rule, OffsetDateTime, OffsetDateTime)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(what, rule, received, expected)| {
            let due = calendar.due(*received, *rule);
            (due != *expected).then(|| format!("{what}: due {due}, expected {expected}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn due_times_on_the_default_calendar() {
    check(
        &Calendar::default(),
        &[
            // Same day, or the next working day after 15:00 (certifications, birth registration).
            (
                "same day, morning",
                SAME_DAY,
                datetime!(2026-11-30 10:00 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            (
                "same day, at 15:00",
                SAME_DAY,
                datetime!(2026-11-30 15:00 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            (
                "same day, 15:01",
                SAME_DAY,
                datetime!(2026-11-30 15:01 +7),
                datetime!(2026-12-01 17:00 +7),
            ),
            (
                "same day, 19:41",
                SAME_DAY,
                datetime!(2026-11-30 19:41 +7),
                datetime!(2026-12-01 17:00 +7),
            ),
            (
                "same day, 19:41 given in UTC",
                SAME_DAY,
                datetime!(2026-11-30 12:41 UTC),
                datetime!(2026-12-01 17:00 +7),
            ),
            (
                "same day, before opening",
                SAME_DAY,
                datetime!(2026-11-30 06:00 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            (
                "same day, Friday 16:00",
                SAME_DAY,
                datetime!(2026-11-27 16:00 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            (
                "same day, Saturday",
                SAME_DAY,
                datetime!(2026-11-28 10:00 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            // Hùng Kings' day 2026 is a Sunday, taken on Monday 27 April.
            (
                "same day, Friday before a Sunday holiday",
                SAME_DAY,
                datetime!(2026-04-24 16:00 +7),
                datetime!(2026-04-28 17:00 +7),
            ),
            // Tết 2026: 16-20 February off, then the weekend.
            (
                "same day, the Friday before Tết 2026",
                SAME_DAY,
                datetime!(2026-02-13 16:00 +7),
                datetime!(2026-02-23 17:00 +7),
            ),
            (
                "five days across Tết 2026",
                FIVE_DAYS,
                datetime!(2026-02-12 09:00 +7),
                datetime!(2026-02-26 09:00 +7),
            ),
            // Tết 2025: 28 January to 1 February off, Saturday's holiday taken on Monday 3 February:
            // Friday 24 at 10:00 plus three working days is Wednesday 5 at 10:00 (Mon 27, Tue 4, Wed 5).
            (
                "same day, the Monday before Tết 2025",
                SAME_DAY,
                datetime!(2025-01-27 16:00 +7),
                datetime!(2025-02-04 17:00 +7),
            ),
            (
                "three days across Tết 2025",
                THREE_DAYS,
                datetime!(2025-01-24 10:00 +7),
                datetime!(2025-02-05 10:00 +7),
            ),
            // Working days, counted from the next working day after 15:00.
            (
                "three days, Monday 09:00",
                THREE_DAYS,
                datetime!(2026-11-30 09:00 +7),
                datetime!(2026-12-03 09:00 +7),
            ),
            (
                "three days, Monday 16:00",
                THREE_DAYS,
                datetime!(2026-11-30 16:00 +7),
                datetime!(2026-12-03 17:00 +7),
            ),
            (
                "three days, Friday 10:00",
                THREE_DAYS,
                datetime!(2026-11-27 10:00 +7),
                datetime!(2026-12-02 10:00 +7),
            ),
            // Working hours, counted from receipt.
            (
                "eight hours, Monday 14:00",
                EIGHT_HOURS,
                datetime!(2026-11-30 14:00 +7),
                datetime!(2026-12-01 14:30 +7),
            ),
            (
                "one hour, at lunch",
                ONE_HOUR,
                datetime!(2026-11-30 12:00 +7),
                datetime!(2026-11-30 14:30 +7),
            ),
            (
                "one hour, 16:30",
                ONE_HOUR,
                datetime!(2026-11-30 16:30 +7),
                datetime!(2026-12-01 08:00 +7),
            ),
            (
                "one day, before opening",
                ONE_DAY,
                datetime!(2026-11-30 06:00 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            // Within the last hour before closing counts from the next working day.
            (
                "same day (297), 15:59",
                SAME_DAY_297,
                datetime!(2026-11-30 15:59 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            (
                "same day (297), 16:00",
                SAME_DAY_297,
                datetime!(2026-11-30 16:00 +7),
                datetime!(2026-12-01 17:00 +7),
            ),
        ],
    );
}

#[test]
fn a_swapped_saturday_from_an_override_file_is_worked() {
    let overrides = YearOverrides::parse(
        "year = 2026\n\n[[working_days]]\ndate = 2026-11-28\nname = \"Làm bù\"\n\n\
         [[days_off]]\ndate = 2026-11-30\nname = \"Nghỉ hoán đổi\"\n",
    )
    .expect("parses");
    let days = Days::new(vec![overrides]).expect("days");
    let calendar = Calendar::new(Arc::new(days), OfficeHours::default());
    check(
        &calendar,
        &[
            (
                "same day, Friday 16:00",
                SAME_DAY,
                datetime!(2026-11-27 16:00 +7),
                datetime!(2026-11-28 17:00 +7),
            ),
            (
                "same day, on the swapped Saturday",
                SAME_DAY,
                datetime!(2026-11-28 09:00 +7),
                datetime!(2026-11-28 17:00 +7),
            ),
            (
                "same day, on the Monday given off",
                SAME_DAY,
                datetime!(2026-11-30 09:00 +7),
                datetime!(2026-12-01 17:00 +7),
            ),
        ],
    );
}

#[test]
fn other_office_hours_other_days() {
    let hours = OfficeHours::new(vec![
        (time!(08:00), time!(12:00)),
        (time!(13:00), time!(17:00)),
    ])
    .expect("hours");
    let calendar = Calendar::new(Arc::default(), hours);
    check(
        &calendar,
        &[
            (
                "one day of 8 hours",
                ONE_DAY,
                datetime!(2026-11-30 09:00 +7),
                datetime!(2026-12-01 09:00 +7),
            ),
            (
                "same day at 07:45, before opening",
                SAME_DAY,
                datetime!(2026-11-30 07:45 +7),
                datetime!(2026-11-30 17:00 +7),
            ),
            (
                "one hour at 12:30",
                ONE_HOUR,
                datetime!(2026-11-30 12:30 +7),
                datetime!(2026-11-30 14:00 +7),
            ),
        ],
    );
}
