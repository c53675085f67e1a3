//! `signq calendar`: the ward's calendar as the scheduler will count deadlines on it: check the
//! year files before a restart, and list a year's days off and swapped working days.

use std::path::PathBuf;

use clap::Subcommand;
use signq_calendar::{Day, OfficeHours};
use time::{Date, Month};

use crate::layout::DataDir;

/// The `calendar` subcommands.
#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// Check the override files as the scheduler does at start; exits non-zero naming the file
    /// and line of the first error.
    Check {
        /// The calendar directory (default: `calendar/` in the data directory).
        #[arg(long)]
        calendar_dir: Option<PathBuf>,
    },
    /// List a year's public holidays, days in lieu, days off and swapped working days.
    Show {
        /// The year.
        year: i32,
        /// The calendar directory (default: `calendar/` in the data directory).
        #[arg(long)]
        calendar_dir: Option<PathBuf>,
    },
}

/// Runs a `calendar` subcommand.
pub fn run(cmd: CalendarCmd, data: &DataDir) -> anyhow::Result<()> {
    let (dir, year) = match cmd {
        CalendarCmd::Check { calendar_dir } => (calendar_dir, None),
        CalendarCmd::Show { year, calendar_dir } => (calendar_dir, Some(year)),
    };
    let dir = dir.unwrap_or_else(|| data.calendar_dir());
    let calendar = crate::calendar_files::load(&dir, OfficeHours::default())?;
    let Some(year) = year else {
        let years: Vec<String> = calendar
            .days()
            .overridden_years()
            .map(|y| y.to_string())
            .collect();
        match years.is_empty() {
            true => println!("{}: no year files; the law's defaults", dir.display()),
            false => println!("{}: OK ({})", dir.display(), years.join(", ")),
        }
        return Ok(());
    };
    anyhow::ensure!(
        signq_calendar::overrides::YEARS.contains(&year),
        "{year}: the calendar covers {} to {}",
        signq_calendar::overrides::YEARS.start(),
        signq_calendar::overrides::YEARS.end()
    );
    let mut day = Date::from_calendar_date(year, Month::January, 1)?;
    while day.year() == year {
        match calendar.days().day(day) {
            Day::Off(off) => println!("{day} {:<9} off      {}", day.weekday(), off.name),
            Day::Working { swapped: Some(why) } => {
                println!("{day} {:<9} working  {why}", day.weekday())
            }
            Day::Working { swapped: None } | Day::Rest => {}
        }
        let Some(next) = day.next_day() else { break };
        day = next;
    }
    Ok(())
}
