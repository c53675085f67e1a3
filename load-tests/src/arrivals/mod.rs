//! Arrival schedules: when records reach one ward, as seconds from the start of a run.
//!
//! A load run and the simulator must offer the *same* arrivals to every policy they compare, so a
//! schedule is a pure function of the scenario's [`Arrivals`], the duration, the ward's load
//! factor and the random generator's state: the same seed gives the same schedule.
//!
//! - `constant`: evenly spaced, the first at 0 (no randomness).
//! - `poisson`: exponential gaps.
//! - `steps`, `ramp`, `working-day`: non-homogeneous Poisson processes, drawn by thinning
//!   (Lewis & Shedler 1979) against the maximum rate of each straight piece of the profile.
//!   `working-day` follows an assumed shape of a Center's day ([`WORKING_DAY_SHAPE`]).
//!
//! A schedule never holds more than [`MAX_ARRIVALS`] arrivals, so a typo in a rate cannot exhaust
//! memory; see [`schedule`] for the rule.

mod profile;
mod working_day;

use rand::Rng;

use crate::scenario::Arrivals;
use profile::{Piece, Profile};
pub use working_day::{WORKING_DAY_SECS, WORKING_DAY_SHAPE};

/// The most arrivals [`schedule`] returns (10 million: 80 MB of times).
pub const MAX_ARRIVALS: usize = 10_000_000;

/// Straight pieces a ramp is cut into, so that thinning rejects few candidates even from 0.
const RAMP_PIECES: u32 = 32;

/// The arrival times (seconds from the start, increasing) of one ward over `duration_secs`,
/// scaled by `load` (1.0 = as the scenario says), drawn with `rng`.
///
/// Values the scenario validator rejects (a negative or non-finite rate, duration or load, a
/// step at a negative time), a zero rate or load, and an empty step list give no arrivals.
/// `steps` apply from their time until the next step's (before the first, the rate is 0; of two
/// steps at the same time, the later in the list wins). `working-day` repeats its day every
/// [`WORKING_DAY_SECS`], `per_day × surge × load` records expected a full day.
///
/// **Bound**: the schedule stops after [`MAX_ARRIVALS`] arrivals (and the random generators after
/// drawing 4 × that many candidate times), so what comes back is always the start of the full
/// schedule, cut short in time. This happens only when [`expected_count`] is in the millions;
/// check it beforehand to refuse such a scenario instead.
pub fn schedule(
    arrivals: &Arrivals,
    duration_secs: f64,
    load: f64,
    rng: &mut impl Rng,
) -> Vec<f64> {
    match plan(arrivals, duration_secs, load) {
        None => Vec::new(),
        Some(Plan::Evenly { rate, duration }) => evenly(rate, duration),
        Some(Plan::Random(profile)) => profile.thin(rng),
    }
}

/// The instantaneous rate (per second) at time t, for plots and for the non-homogeneous
/// generators: 0 before 0, from `duration_secs` on, and wherever [`schedule`] gives no arrivals.
pub fn rate_at(arrivals: &Arrivals, duration_secs: f64, load: f64, t: f64) -> f64 {
    match plan(arrivals, duration_secs, load) {
        Some(Plan::Evenly { rate, duration }) if (0.0..duration).contains(&t) => rate,
        Some(Plan::Random(profile)) => profile.rate(t),
        Some(Plan::Evenly { .. }) | None => 0.0,
    }
}

/// The expected number of arrivals over the run: the integral of [`rate_at`] over
/// `[0, duration_secs)` (for `constant`, the schedule has this many rounded up).
pub fn expected_count(arrivals: &Arrivals, duration_secs: f64, load: f64) -> f64 {
    match plan(arrivals, duration_secs, load) {
        None => 0.0,
        Some(Plan::Evenly { rate, duration }) => rate * duration,
        Some(Plan::Random(profile)) => profile.expected(),
    }
}

/// How a valid, non-empty schedule is made.
#[derive(Debug)]
enum Plan {
    /// Evenly spaced at `rate` per second.
    Evenly { rate: f64, duration: f64 },
    /// A (possibly non-homogeneous) Poisson process.
    Random(Profile),
}

/// True for a usable rate: finite and not negative.
fn rate_ok(r: f64) -> bool {
    r.is_finite() && r >= 0.0
}

/// The plan for a schedule, or None when it has no arrivals (or values the validator rejects).
fn plan(arrivals: &Arrivals, duration: f64, load: f64) -> Option<Plan> {
    if !(duration.is_finite() && duration > 0.0 && rate_ok(load) && load > 0.0) {
        return None;
    }
    // Rates per second, scaled by the load; None when invalid, overflowing or all zero.
    let scaled = |per_hour: f64| {
        let r = per_hour * load / 3600.0;
        (rate_ok(per_hour) && r.is_finite()).then_some(r)
    };
    let flat = |start: f64, end: f64, r: f64| Piece {
        start,
        end,
        r0: r,
        r1: r,
    };
    let profile = match arrivals {
        Arrivals::Constant { per_hour } => {
            let rate = scaled(*per_hour).filter(|r| *r > 0.0)?;
            return Some(Plan::Evenly { rate, duration });
        }
        Arrivals::Poisson { per_hour } => {
            Profile::Pieces(vec![flat(0.0, duration, scaled(*per_hour)?)])
        }
        Arrivals::WorkingDay { per_day, surge } => {
            let total = per_day * surge * load;
            if !(rate_ok(*per_day) && rate_ok(*surge) && total.is_finite()) {
                return None;
            }
            Profile::working_day(total, duration)
        }
        Arrivals::Steps { steps } => {
            if steps.iter().any(|(t, _)| !(t.is_finite() && *t >= 0.0)) {
                return None;
            }
            let mut sorted = steps.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0)); // stable: the later of equal times wins
            let mut pieces = Vec::with_capacity(sorted.len());
            for (i, (start, per_hour)) in sorted.iter().enumerate() {
                let end = sorted
                    .get(i + 1)
                    .map_or(duration, |next| next.0.min(duration));
                let r = scaled(*per_hour)?;
                if *start < end {
                    pieces.push(flat(*start, end, r));
                }
            }
            Profile::Pieces(pieces)
        }
        Arrivals::Ramp {
            from_per_hour,
            to_per_hour,
        } => {
            let (from, to) = (scaled(*from_per_hour)?, scaled(*to_per_hour)?);
            let n = f64::from(RAMP_PIECES);
            let at = |k: u32| {
                let x = f64::from(k) / n;
                (duration * x, from + (to - from) * x)
            };
            let pieces = (0..RAMP_PIECES)
                .map(|k| {
                    let ((start, r0), (end, r1)) = (at(k), at(k + 1));
                    Piece { start, end, r0, r1 }
                })
                .collect();
            Profile::Pieces(pieces)
        }
    };
    (profile.expected() > 0.0).then_some(Plan::Random(profile))
}

/// `rate` per second evenly over `[0, duration)`, the first at 0.
fn evenly(rate: f64, duration: f64) -> Vec<f64> {
    let gap = 1.0 / rate;
    (0..MAX_ARRIVALS)
        .map(|k| k as f64 * gap)
        .take_while(|t| *t < duration)
        .collect()
}

#[cfg(test)]
mod tests;
