//! A ward's office hours: the sessions of a working day (e.g. 07:30–11:30 and 13:30–17:00), in
//! Vietnam's time. Working time is counted inside them only.

use std::fmt;
use std::str::FromStr;

use time::{Duration, Time};

/// The sessions of a working day, in order, not overlapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeHours {
    sessions: Vec<(Time, Time)>,
}

/// Why office hours are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("office hours {given:?}: {reason} (write them like 07:30-11:30,13:30-17:00)")]
pub struct HoursError {
    given: String,
    reason: String,
}

impl Default for OfficeHours {
    /// 07:30–11:30 and 13:30–17:00.
    fn default() -> Self {
        OfficeHours {
            sessions: vec![
                (time::macros::time!(07:30), time::macros::time!(11:30)),
                (time::macros::time!(13:30), time::macros::time!(17:00)),
            ],
        }
    }
}

impl OfficeHours {
    /// Office hours from sessions: each must end after it starts, and each start after the one
    /// before ends.
    pub fn new(sessions: Vec<(Time, Time)>) -> Result<OfficeHours, HoursError> {
        let given = OfficeHours {
            sessions: sessions.clone(),
        }
        .to_string();
        let refuse = |reason: &str| HoursError {
            given: given.clone(),
            reason: reason.into(),
        };
        if sessions.is_empty() {
            return Err(refuse("no session"));
        }
        if sessions.iter().any(|(start, end)| start >= end) {
            return Err(refuse("a session ends before it starts"));
        }
        if sessions.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(refuse("sessions overlap or are out of order"));
        }
        Ok(OfficeHours { sessions })
    }

    /// The sessions, in order.
    pub fn sessions(&self) -> &[(Time, Time)] {
        &self.sessions
    }

    /// When the office opens.
    pub fn opening(&self) -> Time {
        self.sessions[0].0
    }

    /// When the office closes.
    pub fn closing(&self) -> Time {
        self.sessions[self.sessions.len() - 1].1
    }

    /// The working time in one working day.
    pub fn day_length(&self) -> Duration {
        self.sessions.iter().map(|(start, end)| *end - *start).sum()
    }
}

impl fmt::Display for OfficeHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (start, end)) in self.sessions.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(
                f,
                "{:02}:{:02}-{:02}:{:02}",
                start.hour(),
                start.minute(),
                end.hour(),
                end.minute()
            )?;
        }
        Ok(())
    }
}

impl FromStr for OfficeHours {
    type Err = HoursError;

    /// `07:30-11:30,13:30-17:00`.
    fn from_str(text: &str) -> Result<OfficeHours, HoursError> {
        let refuse = |reason: String| HoursError {
            given: text.into(),
            reason,
        };
        let clock = |s: &str| -> Result<Time, HoursError> {
            let (h, m) = s
                .trim()
                .split_once(':')
                .ok_or_else(|| refuse(format!("{s:?} is not HH:MM")))?;
            let (h, m) = (h.parse::<u8>(), m.parse::<u8>());
            match (h, m) {
                (Ok(h), Ok(m)) => {
                    Time::from_hms(h, m, 0).map_err(|_| refuse(format!("{s:?} is not a time")))
                }
                _ => Err(refuse(format!("{s:?} is not HH:MM"))),
            }
        };
        let sessions = text
            .split(',')
            .map(|session| {
                let (start, end) = session
                    .split_once('-')
                    .ok_or_else(|| refuse(format!("{session:?} is not a session START-END")))?;
                Ok((clock(start)?, clock(end)?))
            })
            .collect::<Result<Vec<_>, HoursError>>()?;
        OfficeHours::new(sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_and_checked() {
        let hours: OfficeHours = "07:30-11:30,13:30-17:00".parse().expect("parses");
        assert_eq!(hours, OfficeHours::default());
        assert_eq!(hours.day_length(), Duration::minutes(450));
        assert_eq!(hours.to_string(), "07:30-11:30,13:30-17:00");
        for bad in [
            "",
            "07:30",
            "07:30-25:00",
            "11:30-07:30",
            "07:30-12:00,11:00-17:00",
            "7h30-11h30",
        ] {
            assert!(bad.parse::<OfficeHours>().is_err(), "{bad:?}");
        }
    }
}
