//! The public holidays of a year as the Labour Code (2019, Art. 112) sets them, before the
//! Prime Minister's yearly decision: New Year's Day; Tết, five days (by default the eve and the
//! first four days of the lunar year); the Hùng Kings' day (10th day of the 3rd lunar month);
//! 30 April; 1 May; National Day, 2 September and one adjacent day (by default the day before,
//! or the day after when 2 September is a Monday). A holiday that falls on a weekly rest day is
//! taken on the next working day instead (Art. 111.3).
//!
//! These are the defaults; each year's exact days and swapped working Saturdays come from the
//! override file ([`crate::overrides`]).

use std::collections::BTreeMap;

use time::{Date, Duration, Month, Weekday};

use crate::lunar;

/// Why a day is not a working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOff {
    /// What the day is, in Vietnamese as printed on a ward's notice.
    pub name: String,
}

/// Whether `date` is a weekly rest day (Saturday or Sunday: state agencies work Monday to
/// Friday).
pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn day(year: i32, month: Month, day: u8) -> Option<Date> {
    Date::from_calendar_date(year, month, day).ok()
}

/// The holidays of `year` by the law's defaults, with the days that make up for those falling on
/// a weekend; empty for a year the calendar cannot compute.
pub fn statutory(year: i32) -> BTreeMap<Date, DayOff> {
    let mut days = BTreeMap::new();
    let mut add = |date: Option<Date>, name: &str| {
        if let Some(date) = date {
            days.insert(date, DayOff { name: name.into() });
        }
    };
    add(day(year, Month::January, 1), "Tết Dương lịch");
    if let (Some(eve), Some(tet)) = (lunar::tet_eve(year), lunar::tet(year)) {
        add(Some(eve), "Tết Nguyên đán (30 Tết)");
        for i in 0..4 {
            let name = format!("Tết Nguyên đán (mùng {})", i + 1);
            add(tet.checked_add(Duration::days(i)), &name);
        }
    }
    add(lunar::hung_kings(year), "Giỗ Tổ Hùng Vương");
    add(day(year, Month::April, 30), "Ngày Chiến thắng");
    add(day(year, Month::May, 1), "Ngày Quốc tế Lao động");
    if let Some(national) = day(year, Month::September, 2) {
        let adjacent = match national.weekday() {
            Weekday::Monday => national.next_day(),
            _ => national.previous_day(),
        };
        add(Some(national), "Quốc khánh");
        add(adjacent, "Quốc khánh (ngày liền kề)");
    }
    // A holiday on a rest day is taken on the next day that is neither a rest day nor a holiday
    // nor already taken in lieu.
    let on_weekend: Vec<Date> = days.keys().copied().filter(|d| is_weekend(*d)).collect();
    for date in on_weekend {
        let mut lieu = date;
        while let Some(next) = lieu.next_day() {
            lieu = next;
            if !is_weekend(lieu) && !days.contains_key(&lieu) {
                let name = format!("Nghỉ bù {}", days[&date].name);
                days.insert(lieu, DayOff { name });
                break;
            }
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn off(year: i32) -> Vec<Date> {
        statutory(year).into_keys().collect()
    }

    #[test]
    fn the_holidays_of_2026_by_default() {
        // Tết 2026 is Tuesday 17 February: the eve Monday 16, then 17-20. Hùng Kings' day is
        // Sunday 26 April: taken on Monday 27. 30 April Thursday, 1 May Friday. 2 September is a
        // Wednesday: with 1 September.
        assert_eq!(
            off(2026),
            vec![
                date!(2026 - 01 - 01),
                date!(2026 - 02 - 16),
                date!(2026 - 02 - 17),
                date!(2026 - 02 - 18),
                date!(2026 - 02 - 19),
                date!(2026 - 02 - 20),
                date!(2026 - 04 - 26),
                date!(2026 - 04 - 27),
                date!(2026 - 04 - 30),
                date!(2026 - 05 - 01),
                date!(2026 - 09 - 01),
                date!(2026 - 09 - 02),
            ]
        );
        assert_eq!(
            statutory(2026)[&date!(2026 - 04 - 27)].name,
            "Nghỉ bù Giỗ Tổ Hùng Vương"
        );
    }

    #[test]
    fn a_holiday_on_sunday_moves_to_monday_and_past_other_holidays() {
        // 2025: Tết 29 January (Wednesday), eve 28; mùng 4 is Saturday 1 February: taken on
        // Monday 3 February. 30 April Wednesday, 1 May Thursday. 2 September Tuesday: with the
        // Monday before.
        let days = off(2025);
        assert!(days.contains(&date!(2025 - 02 - 01)));
        assert!(days.contains(&date!(2025 - 02 - 03)));
        assert!(days.contains(&date!(2025 - 09 - 01)));
        // 2024: 2 September is a Monday: with the Tuesday after.
        assert!(off(2024).contains(&date!(2024 - 09 - 03)));
        // 2022: 1 May was a Sunday; 2 May (Monday) is taken in lieu.
        assert!(off(2022).contains(&date!(2022 - 05 - 02)));
    }
}
