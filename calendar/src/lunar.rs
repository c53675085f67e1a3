//! The Vietnamese lunisolar calendar, computed: which solar day a lunar date falls on.
//!
//! A lunar month starts on the day (in Vietnam's time, UTC+7) of a new moon; the month holding
//! the winter solstice is the 11th; a year with 13 months repeats the first month after the
//! solstice month that holds no principal solar term (no multiple of 30° of the sun's longitude).
//! New moons and the sun's longitude come from the series in Meeus, *Astronomical Algorithms*,
//! accurate to minutes over the centuries that matter here. Because the day is reckoned at
//! UTC+7, the calendar sometimes differs from the Chinese one (UTC+8): Tết 1985 fell on
//! 21 January in Vietnam and on 20 February in China; Tết 2030 falls a day earlier.
//!
//! Each year the Prime Minister fixes the holidays; the computed dates are only the default, and
//! the yearly override file ([`crate::overrides`]) has the last word.

use std::f64::consts::PI;

use time::{Date, Duration};

/// Vietnam's offset from UTC, in hours, for the day a new moon falls on.
const ZONE_HOURS: f64 = 7.0;
/// The mean length of a lunation, days.
const SYNODIC_MONTH: f64 = 29.530_588_853;
/// The Julian day of the new moon of 1900-01-01 (the epoch of the lunation count).
const EPOCH_NEW_MOON: f64 = 2_415_021.076_998_695;

/// The Julian day number of a Gregorian date.
fn julian_day(date: Date) -> i64 {
    i64::from(date.to_julian_day())
}

/// The Gregorian date of a Julian day number.
fn from_julian_day(jd: i64) -> Option<Date> {
    Date::from_julian_day(i32::try_from(jd).ok()?).ok()
}

fn sin_deg(degrees: f64) -> f64 {
    (degrees * PI / 180.0).sin()
}

/// The moment (Julian day, UT) of the `k`-th new moon after that of 1900-01-01.
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let (t2, t3) = (t * t, t * t * t);
    let mut jd = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3;
    jd += 0.000_33 * sin_deg(166.56 + 132.87 * t - 0.009_173 * t2);
    // The sun's and the moon's mean anomalies, and the moon's argument of latitude.
    let m = 359.2242 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3;
    let mp = 306.0253 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3;
    let f = 21.2964 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3;
    let correction = (0.1734 - 0.000_393 * t) * sin_deg(m) + 0.0021 * sin_deg(2.0 * m)
        - 0.4068 * sin_deg(mp)
        + 0.0161 * sin_deg(2.0 * mp)
        - 0.0004 * sin_deg(3.0 * mp)
        + 0.0104 * sin_deg(2.0 * f)
        - 0.0051 * sin_deg(m + mp)
        - 0.0074 * sin_deg(m - mp)
        + 0.0004 * sin_deg(2.0 * f + m)
        - 0.0004 * sin_deg(2.0 * f - m)
        - 0.0006 * sin_deg(2.0 * f + mp)
        + 0.0010 * sin_deg(2.0 * f - mp)
        + 0.0005 * sin_deg(2.0 * mp + m);
    // Terrestrial time to universal time.
    let delta_t = if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    };
    jd + correction - delta_t
}

/// The Julian day number of the local day on which the `k`-th new moon falls.
fn new_moon_day(k: i64) -> i64 {
    (new_moon(k) + 0.5 + ZONE_HOURS / 24.0).floor() as i64
}

/// The sun's apparent longitude at the moment `jd` (UT), radians in [0, 2π).
fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0;
    let t2 = t * t;
    let m = 357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t * t2;
    let l0 = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let centre = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_290 * sin_deg(3.0 * m);
    let l = (l0 + centre) * PI / 180.0;
    l - 2.0 * PI * (l / (2.0 * PI)).floor()
}

/// Which of the twelve 30° sectors the sun is in at the start of local day `day` (0: from the
/// vernal equinox; 9: from the winter solstice).
fn sun_sector(day: i64) -> i64 {
    (sun_longitude(day as f64 - 0.5 - ZONE_HOURS / 24.0) / PI * 6.0).floor() as i64
}

/// The lunation number of the new moon nearest the local day `day`.
fn lunation_of(day: i64) -> i64 {
    ((day as f64 - EPOCH_NEW_MOON) / SYNODIC_MONTH + 0.5).floor() as i64
}

/// The first day of the 11th lunar month (the one holding the winter solstice) of the solar
/// year `year`.
fn month_11(year: i32) -> Option<i64> {
    let december_31 = julian_day(Date::from_calendar_date(year, time::Month::December, 31).ok()?);
    let k = ((december_31 - 2_415_021) as f64 / SYNODIC_MONTH).floor() as i64;
    let start = new_moon_day(k);
    // A month starting after the solstice is the 12th; the 11th is the one before it.
    Some(if sun_sector(start) >= 9 {
        new_moon_day(k - 1)
    } else {
        start
    })
}

/// In a 13-month year starting at the 11th month `a11`, how many months after it the leap month
/// comes: the first month whose sun sector does not change (no principal term in it).
fn leap_month_offset(a11: i64) -> i64 {
    let k = lunation_of(a11);
    let mut i = 1;
    let mut arc = sun_sector(new_moon_day(k + i));
    loop {
        let last = arc;
        i += 1;
        arc = sun_sector(new_moon_day(k + i));
        if arc == last || i >= 14 {
            return i - 1;
        }
    }
}

/// The solar date of the lunar date `day` of `month` (1–12; `leap` for the repeated month) of
/// the lunar year that begins in solar year `year`; `None` when there is no such day (a leap
/// month that year does not have, a day past the month's end, a year out of range).
pub fn to_solar(year: i32, month: u8, day: u8, leap: bool) -> Option<Date> {
    if !(1..=12).contains(&month) || !(1..=30).contains(&day) {
        return None;
    }
    let month = i64::from(month);
    let (a11, b11) = if month < 11 {
        (month_11(year.checked_sub(1)?)?, month_11(year)?)
    } else {
        (month_11(year)?, month_11(year.checked_add(1)?)?)
    };
    let k = lunation_of(a11);
    let mut offset = (month - 11).rem_euclid(12);
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11);
        let leap_month = (leap_offset - 2).rem_euclid(12);
        if leap && month != leap_month {
            return None;
        }
        if leap || offset >= leap_offset {
            offset += 1;
        }
    } else if leap {
        return None;
    }
    let start = new_moon_day(k + offset);
    let next = new_moon_day(k + offset + 1);
    let jd = start + i64::from(day) - 1;
    if jd >= next {
        return None;
    }
    from_julian_day(jd)
}

/// The first day of the lunar year that begins in solar year `year` (Tết Nguyên Đán).
pub fn tet(year: i32) -> Option<Date> {
    to_solar(year, 1, 1, false)
}

/// The last day of the lunar year that ends in solar year `year` (the eve of Tết).
pub fn tet_eve(year: i32) -> Option<Date> {
    tet(year)?.checked_sub(Duration::days(1))
}

/// The Hùng Kings' commemoration day: the 10th day of the 3rd lunar month.
pub fn hung_kings(year: i32) -> Option<Date> {
    to_solar(year, 3, 10, false)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn published_tet_dates() {
        assert_eq!(tet(2024), Some(date!(2024 - 02 - 10)));
        assert_eq!(tet(2025), Some(date!(2025 - 01 - 29)));
        assert_eq!(tet(2026), Some(date!(2026 - 02 - 17)));
        assert_eq!(tet(2027), Some(date!(2027 - 02 - 06)));
    }

    #[test]
    fn where_vietnam_and_china_differ() {
        assert_eq!(tet(1985), Some(date!(1985 - 01 - 21)));
        assert_eq!(tet(2007), Some(date!(2007 - 02 - 17)));
        assert_eq!(tet(2030), Some(date!(2030 - 02 - 02)));
    }

    #[test]
    fn leap_months_exist_only_where_they_do() {
        // 2023 repeated the 2nd month; 2025 the 6th.
        assert!(to_solar(2023, 2, 1, true).is_some());
        assert!(to_solar(2023, 3, 1, true).is_none());
        assert!(to_solar(2025, 6, 1, true).is_some());
        assert!(to_solar(2024, 6, 1, true).is_none());
        assert!(to_solar(2024, 13, 1, false).is_none());
        assert!(to_solar(2024, 1, 0, false).is_none());
    }

    #[test]
    fn a_day_past_the_month_does_not_exist() {
        // Each month has 29 or 30 days; day 30 exists in some months only.
        let thirties = (1..=12)
            .filter(|m| to_solar(2026, *m, 30, false).is_some())
            .count();
        assert!((4..=9).contains(&thirties), "{thirties}");
    }
}
