//! Runs on real dates: the shipped calendar scenarios, counted by the legal calendar and in clock
//! hours as signq did before it, on the same trace.

use signq_scheduler::balancer::Policy;

use super::super::run;
use super::{options, shipped};
use crate::dates::Counting;

#[test]
fn a_friday_afternoon_surge_is_on_time_by_law_and_not_by_the_clock() {
    let s = shipped("friday-surge");
    let calendar = options(&s, Policy::LateBinding);
    let clock = super::super::SimOptions {
        counting: Counting::ClockHours,
        ..calendar.clone()
    };
    let by_law = run(&s, &calendar).expect("calendar");
    let by_clock = run(&s, &clock).expect("clock hours");
    assert_eq!(by_law.records, by_clock.records, "the same arrivals");
    assert_eq!(
        by_law.on_time, by_law.records,
        "every record on time by the calendar"
    );
    assert_eq!(by_law.on_time_legal, by_law.on_time);
    // Certifications received after 15:00 on Friday are due on Monday; counted as 8 clock hours
    // they fall due on Friday night, after the office has closed.
    assert!(
        by_clock.on_time < by_clock.on_time_legal,
        "{} counted, {} by law",
        by_clock.on_time,
        by_clock.on_time_legal
    );
}

#[test]
fn the_tet_week_skips_the_nine_days_off() {
    let s = shipped("tet-2026");
    let r = run(&s, &options(&s, Policy::LateBinding)).expect("tet");
    assert_eq!(r.unfinished, 0);
    assert_eq!(
        r.on_time, r.records,
        "every record on time across the holiday"
    );
    // A minute after the third working day's close is a minute after the office reopens.
    let timeline = s.timeline().expect("timeline");
    let after = timeline.instant(3.0 * 28_800.0 + 60.0);
    assert_eq!(
        after,
        time::macros::datetime!(2026-02-23 07:31 +7),
        "{after}"
    );
}
