//! The legal calendar of a Vietnamese ward, and statutory deadlines counted on it. No I/O: the
//! caller reads the override files and hands over their text.
//!
//! - State agencies work Monday to Friday; the public holidays are those of the Labour Code,
//!   the lunar ones computed; a holiday on a rest day is taken on the next working day.
//! - Each year's exact days (the Prime Minister's decision, swapped working Saturdays) come from
//!   a small TOML file per year that an operator edits; errors name the line.
//! - Working time is counted inside a ward's office hours, in Vietnam's time (UTC+7).
//! - A procedure's deadline is its time limit in working days or hours, with its cut-off rule.
//!
//! # Layout
//! - [`lunar`]: the Vietnamese lunisolar calendar (Tết, the Hùng Kings' day).
//! - [`holidays`]: a year's public holidays by the law's defaults.
//! - [`overrides`]: a year's override file.
//! - [`hours`]: office hours.
//! - [`calendar`]: the country's working days, and a ward's working time.
//! - [`deadline`]: time limits, cut-offs and due times.

pub mod calendar;
pub mod deadline;
pub mod holidays;
pub mod hours;
pub mod lunar;
pub mod overrides;

pub use calendar::{Calendar, Day, Days, VIETNAM};
pub use deadline::{CutOff, Rule, RuleError, TimeLimit};
pub use holidays::DayOff;
pub use hours::{HoursError, OfficeHours};
pub use overrides::{OverrideError, YearOverrides};
