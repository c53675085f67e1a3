//! Human units for waits and shares.
//!
//! Waits in a ward range from a fraction of a second (an idle signer) to hours (a director
//! away for the afternoon), so every table cell and axis picks seconds, minutes or hours to
//! fit the number instead of printing `5400000 ms`.

/// A unit of time for an axis: its label and how many seconds one unit is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TimeUnit {
    /// Short label: `s`, `min` or `h`.
    pub(crate) label: &'static str,
    /// Seconds in one unit.
    pub(crate) secs: f64,
}

/// Seconds.
pub(crate) const SECONDS: TimeUnit = TimeUnit {
    label: "s",
    secs: 1.0,
};
/// Minutes.
pub(crate) const MINUTES: TimeUnit = TimeUnit {
    label: "min",
    secs: 60.0,
};
/// Hours.
pub(crate) const HOURS: TimeUnit = TimeUnit {
    label: "h",
    secs: 3600.0,
};

impl TimeUnit {
    /// The unit that shows values up to `max_secs` with readable numbers: seconds below two
    /// minutes, minutes below two hours, hours above.
    pub(crate) fn for_max(max_secs: f64) -> Self {
        if !max_secs.is_finite() || max_secs < 120.0 {
            SECONDS
        } else if max_secs < 7200.0 {
            MINUTES
        } else {
            HOURS
        }
    }

    /// `secs` expressed in this unit.
    pub(crate) fn of(self, secs: f64) -> f64 {
        secs / self.secs
    }
}

/// A duration in seconds as `0.35 s`, `42.0 s`, `12.5 min` or `3.2 h`.
pub(crate) fn human_secs(secs: f64) -> String {
    if !secs.is_finite() {
        return "—".to_owned();
    }
    let abs = secs.abs();
    if abs < 1.0 {
        format!("{secs:.2} s")
    } else if abs < 60.0 {
        format!("{secs:.1} s")
    } else if abs < 3600.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// A duration in milliseconds, in human units; `—` when there is none.
pub(crate) fn human_ms(ms: Option<u64>) -> String {
    match ms {
        Some(ms) => human_secs(ms as f64 / 1000.0),
        None => "—".to_owned(),
    }
}

/// `part / whole` as a percentage, or `None` when `whole` is zero.
pub(crate) fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// A percentage as `87.5 %`, or `—`.
pub(crate) fn human_pct(pct: Option<f64>) -> String {
    match pct {
        Some(p) if p.is_finite() => format!("{p:.1} %"),
        _ => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units_fit_the_number() {
        assert_eq!(human_secs(0.35), "0.35 s");
        assert_eq!(human_secs(42.0), "42.0 s");
        assert_eq!(human_secs(750.0), "12.5 min");
        assert_eq!(human_secs(3.0 * 3600.0), "3.0 h");
        assert_eq!(human_ms(None), "—");
        assert_eq!(human_ms(Some(1500)), "1.5 s");
        assert_eq!(human_pct(percent(7, 8)), "87.5 %");
        assert_eq!(human_pct(percent(1, 0)), "—");
    }

    #[test]
    fn axis_unit_follows_the_largest_value() {
        assert_eq!(TimeUnit::for_max(30.0), SECONDS);
        assert_eq!(TimeUnit::for_max(600.0), MINUTES);
        assert_eq!(TimeUnit::for_max(4.0 * 3600.0), HOURS);
        assert!((MINUTES.of(90.0) - 1.5).abs() < 1e-12);
    }
}
