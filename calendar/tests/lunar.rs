//! The computed lunar dates against a published list: Tết and the Hùng Kings' day for every
//! year from 1990 to 2050 (`data/lunar-dates.csv`, its source named in its header).

use time::Date;
use time::format_description::well_known::Iso8601;

fn date(text: &str) -> Date {
    Date::parse(text, &Iso8601::DEFAULT).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn tet_and_hung_kings_day_match_the_published_list_1990_2050() {
    let list = include_str!("data/lunar-dates.csv");
    let mut years = 0;
    let mut wrong = Vec::new();
    for line in list.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [year, tet, hung] = fields[..] else {
            panic!("a row of three fields: {line}");
        };
        let year: i32 = year.parse().expect("a year");
        if signq_calendar::lunar::tet(year) != Some(date(tet)) {
            wrong.push(format!(
                "Tết {year}: computed {:?}, listed {tet}",
                signq_calendar::lunar::tet(year)
            ));
        }
        if signq_calendar::lunar::hung_kings(year) != Some(date(hung)) {
            wrong.push(format!(
                "Hùng Kings {year}: computed {:?}, listed {hung}",
                signq_calendar::lunar::hung_kings(year)
            ));
        }
        years += 1;
    }
    assert_eq!(years, 61, "1990 to 2050");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
