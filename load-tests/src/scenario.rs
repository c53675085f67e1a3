//! Scenarios as files (TOML): the wards, their signers and scopes, the procedure mix, the arrival
//! profile, service times, the policy and the seed. The same scenario drives `signq load run`
//! (the real services over gRPC, with a time scale) and `signq simulate` (the balancer in virtual
//! time), so their results can be compared.

use std::path::Path;

use serde::Deserialize;

use crate::dates::{Counting, Limit, Timeline};

/// Why a scenario file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the format.
    #[error("{path}: {reason}")]
    Format { path: String, reason: String },
    /// A value is out of range; `field` names it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

/// Whether `x` is a finite number above zero (NaN is not).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A whole scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, used in report file names.
    pub name: String,
    /// What it models, for reports.
    #[serde(default)]
    pub description: String,
    /// The seed of every random draw (arrivals, mixes, service times, away periods).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated working time, in seconds (a working day: 8 h = 28,800 s), from the calendar's
    /// start: nights, weekends and holidays take none of it.
    pub duration_secs: f64,
    /// The dates the run is on.
    #[serde(default)]
    pub calendar: ScenarioCalendar,
    /// Simulated seconds per real second, for runs against the real services.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
    /// The balancing policies to run on the same arrival trace; the first is the headline.
    #[serde(default = "default_policies")]
    pub policies: Vec<String>,
    /// Records a signer holds at once (the lease size).
    #[serde(default = "default_lease_size")]
    pub lease_size: usize,
    /// Slack below which deputy-signable records may go to the director, seconds.
    #[serde(default = "default_guard")]
    pub director_guard_secs: f64,
    /// How records arrive, per ward.
    pub arrivals: Arrivals,
    /// The procedure mix.
    pub procedures: Vec<ProcedureMix>,
    /// The wards (a template with `count` stands for that many identical wards).
    pub wards: Vec<WardTemplate>,
}

fn default_seed() -> u64 {
    1
}
fn default_time_scale() -> f64 {
    1.0
}
fn default_policies() -> Vec<String> {
    vec!["late-binding".into()]
}
fn default_lease_size() -> usize {
    10
}
fn default_guard() -> f64 {
    7200.0
}

/// How records arrive at one ward over the scenario's duration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Arrivals {
    /// Evenly spaced arrivals.
    Constant {
        /// Records per hour.
        per_hour: f64,
    },
    /// A Poisson process (exponential gaps).
    Poisson {
        /// Records per hour on average.
        per_hour: f64,
    },
    /// A working day: Poisson arrivals whose rate follows the Center's day, with a morning peak.
    WorkingDay {
        /// Records per day on average.
        per_day: f64,
        /// Multiplier of the whole day (1.5 for a 50% surge).
        #[serde(default = "one")]
        surge: f64,
    },
    /// Poisson arrivals whose rate steps at given times.
    Steps {
        /// `(from second, records per hour)`, in order.
        steps: Vec<(f64, f64)>,
    },
    /// Poisson arrivals whose rate goes linearly from `from_per_hour` to `to_per_hour`.
    Ramp {
        /// Rate at the start.
        from_per_hour: f64,
        /// Rate at the end.
        to_per_hour: f64,
    },
}

fn one() -> f64 {
    1.0
}

/// The dates a scenario runs on: its seconds are working time on the legal calendar from
/// `start` (see [`crate::dates`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCalendar {
    /// The opening of the first working day, local time in Vietnam: `"2026-01-05 07:30"`.
    #[serde(default = "default_start")]
    pub start: String,
    /// The ward's office hours, `"07:30-11:30,13:00-17:00"` (8 hours, as the `working-day`
    /// arrival profile assumes).
    #[serde(default = "default_office_hours")]
    pub office_hours: String,
}

impl Default for ScenarioCalendar {
    fn default() -> Self {
        ScenarioCalendar {
            start: default_start(),
            office_hours: default_office_hours(),
        }
    }
}

impl ScenarioCalendar {
    /// What a report says of the run's dates and how its deadlines were counted.
    pub fn describe(&self, counting: Counting) -> String {
        format!(
            "Virtual seconds are working time from {} (office hours {}) on the legal calendar; \
             deadlines counted by {}",
            self.start,
            self.office_hours,
            match counting {
                Counting::Calendar => "the calendar",
                Counting::ClockHours => "clock hours (as before the calendar)",
            }
        )
    }
}

fn default_start() -> String {
    "2026-01-05 07:30".into()
}
fn default_office_hours() -> String {
    "07:30-11:30,13:00-17:00".into()
}

/// One procedure's share of the records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureMix {
    /// The procedure code (from the catalogue).
    pub code: String,
    /// Relative weight.
    pub weight: f64,
    /// The statutory time limit, seconds; if unset, the catalogue's.
    pub time_limit_secs: Option<f64>,
}

/// A ward, or `count` identical wards named `<id>-1`, `<id>-2`...
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WardTemplate {
    /// The ward id (or the prefix when `count` > 1).
    pub id: String,
    /// The ward's name.
    #[serde(default)]
    pub name: String,
    /// How many such wards.
    #[serde(default = "one_usize")]
    pub count: usize,
    /// Multiplier of the arrival rate for these wards (a large ward has more records).
    #[serde(default = "one")]
    pub load: f64,
    /// The signers.
    pub signers: Vec<SignerTemplate>,
}

fn one_usize() -> usize {
    1
}

/// A director or deputy as the scenario models them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerTemplate {
    /// The signer's id within the ward (e.g. `director`, `deputy-1`).
    pub id: String,
    /// `director` or `deputy`.
    pub role: String,
    /// For a deputy: the procedure codes delegated ("*" for all).
    #[serde(default)]
    pub procedures: Vec<String>,
    /// For a deputy: the delegation's daily cap (0: none).
    #[serde(default)]
    pub daily_cap: u32,
    /// How long the person takes per record.
    pub service: ServiceTime,
    /// Records approved at once (the person's batch).
    #[serde(default = "one_usize")]
    pub batch: usize,
    /// Periods away from the tablet, seconds from the start.
    #[serde(default)]
    pub away: Vec<(f64, f64)>,
    /// Mean time between dropped connections, seconds (0: never drops).
    #[serde(default)]
    pub disconnect_every_secs: f64,
    /// How long a dropped connection stays down, seconds.
    #[serde(default)]
    pub reconnect_after_secs: f64,
}

/// A service-time distribution, in seconds per record.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ServiceTime {
    /// Exponential with this mean.
    Exponential {
        /// Mean seconds.
        mean_secs: f64,
    },
    /// Lognormal with this mean and standard deviation.
    Lognormal {
        /// Mean seconds.
        mean_secs: f64,
        /// Standard deviation, seconds.
        sd_secs: f64,
    },
    /// Always the same.
    Fixed {
        /// Seconds.
        secs: f64,
    },
}

impl ServiceTime {
    /// The mean, seconds.
    pub fn mean(&self) -> f64 {
        match self {
            ServiceTime::Exponential { mean_secs } | ServiceTime::Lognormal { mean_secs, .. } => {
                *mean_secs
            }
            ServiceTime::Fixed { secs } => *secs,
        }
    }

    /// The squared coefficient of variation (variance / mean²), for Kingman and Allen–Cunneen.
    pub fn scv(&self) -> f64 {
        match self {
            ServiceTime::Exponential { .. } => 1.0,
            ServiceTime::Lognormal { mean_secs, sd_secs } => (sd_secs / mean_secs).powi(2),
            ServiceTime::Fixed { .. } => 0.0,
        }
    }
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// Parses and checks scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Format {
            path: origin.to_string(),
            reason: e.to_string(),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if !positive(self.duration_secs) || self.duration_secs > 366.0 * 86_400.0 {
            return Err(invalid(
                "duration_secs",
                "must be above 0 and at most 366 days",
            ));
        }
        if !positive(self.time_scale) {
            return Err(invalid("time_scale", "must be positive"));
        }
        if self.policies.is_empty() {
            return Err(invalid("policies", "names no policy"));
        }
        if self.lease_size == 0 {
            return Err(invalid("lease_size", "must be at least 1"));
        }
        let rate_ok = |r: f64| r.is_finite() && r >= 0.0;
        match &self.arrivals {
            Arrivals::Constant { per_hour } | Arrivals::Poisson { per_hour }
                if !(rate_ok(*per_hour) && *per_hour > 0.0) =>
            {
                return Err(invalid("arrivals.per_hour", "must be positive"));
            }
            Arrivals::WorkingDay { per_day, surge }
                if !(positive(*per_day) && positive(*surge)) =>
            {
                return Err(invalid("arrivals", "per_day and surge must be positive"));
            }
            Arrivals::Steps { steps }
                if steps.is_empty() || steps.iter().any(|(t, r)| !(rate_ok(*r) && *t >= 0.0)) =>
            {
                return Err(invalid(
                    "arrivals.steps",
                    "need at least one (second, rate) with non-negative values",
                ));
            }
            Arrivals::Ramp {
                from_per_hour,
                to_per_hour,
            } if !(rate_ok(*from_per_hour) && rate_ok(*to_per_hour)) => {
                return Err(invalid("arrivals", "ramp rates must be non-negative"));
            }
            _ => {}
        }
        self.timeline()?;
        self.limits()?;
        if self.procedures.is_empty() || self.procedures.iter().any(|p| !positive(p.weight)) {
            return Err(invalid(
                "procedures",
                "need at least one procedure, each with a positive weight",
            ));
        }
        if self.wards.is_empty() {
            return Err(invalid("wards", "names no ward"));
        }
        for (i, w) in self.wards.iter().enumerate() {
            if w.count == 0 || w.count > 10_000 {
                return Err(invalid(format!("wards[{i}].count"), "must be 1 to 10,000"));
            }
            if w.signers.iter().filter(|s| s.role == "director").count() != 1 {
                return Err(invalid(
                    format!("wards[{i}].signers"),
                    "need exactly one director",
                ));
            }
            for (j, s) in w.signers.iter().enumerate() {
                let field = |f: &str| format!("wards[{i}].signers[{j}].{f}");
                if s.role != "director" && s.role != "deputy" {
                    return Err(invalid(
                        field("role"),
                        format!("{:?} is neither director nor deputy", s.role),
                    ));
                }
                if s.role == "deputy" && s.procedures.is_empty() {
                    return Err(invalid(
                        field("procedures"),
                        "a deputy needs a delegated scope",
                    ));
                }
                if !positive(s.service.mean()) {
                    return Err(invalid(field("service"), "the mean must be positive"));
                }
                if s.batch == 0 {
                    return Err(invalid(field("batch"), "must be at least 1"));
                }
                if s.away
                    .iter()
                    .any(|(a, b)| !(a.is_finite() && b.is_finite() && a < b))
                {
                    return Err(invalid(
                        field("away"),
                        "each period must end after it starts",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The run's working time on its calendar, from the start to the due times past its end.
    pub fn timeline(&self) -> Result<Timeline, ScenarioError> {
        let field = |f: &str, reason: String| invalid(format!("calendar.{f}"), reason);
        let cal = crate::dates::calendar(&self.calendar.office_hours)?;
        let day = cal.hours().day_length();
        if matches!(self.arrivals, Arrivals::WorkingDay { .. }) && day != time::Duration::hours(8) {
            return Err(field(
                "office_hours",
                format!("the working-day arrival profile needs 8 hours a day, not {day}"),
            ));
        }
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        let start = time::PrimitiveDateTime::parse(&self.calendar.start, format)
            .map_err(|e| {
                field(
                    "start",
                    format!("{:?} is not YYYY-MM-DD HH:MM ({e})", self.calendar.start),
                )
            })?
            .assume_offset(signq_calendar::VIETNAM);
        Timeline::new(cal, start, self.duration_secs).map_err(|e| field("start", e))
    }

    /// The procedures' time limits: the scenario's own, else the catalogue's rule.
    pub fn limits(&self) -> Result<Vec<Limit>, ScenarioError> {
        let catalogue = signq_scheduler::catalogue::procedures();
        self.procedures
            .iter()
            .enumerate()
            .map(|(i, p)| match p.time_limit_secs {
                Some(secs) if secs.is_finite() && secs >= 0.0 => Ok(Limit::Secs(secs)),
                Some(_) => Err(invalid(
                    format!("procedures[{i}].time_limit_secs"),
                    "must be a non-negative number of seconds",
                )),
                None => catalogue
                    .iter()
                    .find(|c| c.code == p.code)
                    .map(|c| Limit::Rule(c.rule))
                    .ok_or_else(|| {
                        invalid(
                            format!("procedures[{i}].code"),
                            format!(
                                "{:?} is not in the catalogue and has no time_limit_secs",
                                p.code
                            ),
                        )
                    }),
            })
            .collect()
    }

    /// Every ward, expanded from the templates: `(ward id, template)`.
    pub fn expanded_wards(&self) -> Vec<(String, &WardTemplate)> {
        self.wards
            .iter()
            .flat_map(|w| {
                (1..=w.count).map(move |n| {
                    (
                        if w.count == 1 {
                            w.id.clone()
                        } else {
                            format!("{}-{n}", w.id)
                        },
                        w,
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).expect("scenarios dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 4, "at least the four shipped scenarios");
    }

    #[test]
    fn bad_values_name_the_field() {
        let text = r#"
            name = "x"
            duration_secs = 100
            arrivals = { kind = "poisson", per_hour = 10 }
            procedures = [{ code = "HT-KS", weight = 1 }]
            [[wards]]
            id = "w"
            [[wards.signers]]
            id = "deputy-1"
            role = "deputy"
            service = { dist = "exponential", mean_secs = 60 }
        "#;
        let err = Scenario::parse(text, "t").expect_err("no director, deputy without scope");
        assert!(err.to_string().starts_with("wards[0].signers"), "{err}");
        assert!(Scenario::parse("name = 1", "t").is_err());
    }

    #[test]
    fn calendar_errors_name_the_field() {
        let with = |calendar: &str| {
            let text = format!(
                r#"
                name = "x"
                duration_secs = 28800
                arrivals = {{ kind = "working-day", per_day = 10 }}
                procedures = [{{ code = "HT-KS", weight = 1 }}]
                [calendar]
                {calendar}
                [[wards]]
                id = "w"
                [[wards.signers]]
                id = "director"
                role = "director"
                service = {{ dist = "exponential", mean_secs = 60 }}
                "#
            );
            Scenario::parse(&text, "t")
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(with(r#"start = "2026-11-30 07:30""#), Ok(()));
        let tet = with(r#"start = "2026-02-17 07:30""#).expect_err("Tết");
        assert!(tet.starts_with("calendar.start: "), "{tet}");
        assert!(tet.contains("not the opening of a working day"), "{tet}");
        let format = with(r#"start = "30/11/2026""#).expect_err("format");
        assert!(format.contains("is not YYYY-MM-DD HH:MM"), "{format}");
        let short = with(r#"office_hours = "07:30-11:30,13:30-17:00""#).expect_err("7.5 h");
        assert!(short.starts_with("calendar.office_hours: "), "{short}");
        let hours = with(r#"office_hours = "17:00-07:30""#).expect_err("backwards");
        assert!(hours.starts_with("calendar.office_hours: "), "{hours}");
    }
}
