//! The yardsticks: what queueing theory says a wait should be, so that a load run can report its
//! measured waits as a ratio to theory instead of as bare numbers (see DESIGN.md, "Measuring").
//!
//! Everything here is a pure function of `f64`s. Rates are per unit of time and waits come out in
//! the same unit (seconds in, seconds out). Nothing panics: a question without a steady state
//! (utilisation ρ ≥ 1) or with out-of-range arguments gives `None`.
//!
//! - M/M/c, exact: Erlang C, the mean wait in queue and its quantiles
//!   (Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley 1975, §3.5;
//!   Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed., Wiley 2008,
//!   §2.3).
//! - G/G/1 and G/G/c, approximate: Kingman's heavy-traffic formula and the Allen–Cunneen
//!   approximation, for non-exponential service (fixed or lognormal) and non-Poisson arrivals.
//! - [`batch_means_ci`]: a confidence interval for a mean measured from correlated, time-ordered
//!   samples (a queue's successive waits are far from independent).

mod interval;
mod student_t;

pub use interval::{Interval, batch_means_ci};
pub use student_t::{normal_quantile, student_t_quantile};

/// Erlang's C formula: the probability that an arrival has to wait in an M/M/c queue with `c`
/// servers and offered load `a = λ/μ` (in erlangs), in steady state (which needs `a < c`).
///
/// Computed without factorials, so it is stable for `c` up to 10,000 and beyond: the Erlang B
/// recursion `B(0) = 1`, `B(k) = a·B(k−1) / (k + a·B(k−1))`, then
/// `C = c·B(c) / (c − a·(1 − B(c)))` (Gross et al. 2008, §2.3; the recursion is the standard one
/// for the Erlang loss formula, e.g. Jagerman, *Some properties of the Erlang loss function*,
/// Bell System Technical Journal 53, 1974).
///
/// Outside the steady state: `a ≥ c` gives 1 (every arrival eventually waits), `a ≤ 0` gives 0,
/// and a NaN load gives NaN.
pub fn erlang_c(c: u32, offered_load_a: f64) -> f64 {
    let a = offered_load_a;
    if a.is_nan() {
        return f64::NAN;
    }
    if a <= 0.0 {
        return 0.0;
    }
    let servers = f64::from(c);
    if a >= servers {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        let ab = a * b;
        b = ab / (f64::from(k) + ab);
    }
    servers * b / (servers - a * (1.0 - b))
}

/// The utilisation `ρ = λ / (c·μ)` of `c` servers each serving at rate `mu`, offered `lambda`.
///
/// 0 when `lambda` is 0; infinite when there is no capacity (`c = 0` or `mu ≤ 0`) but work
/// arrives. Negative or NaN arguments give NaN.
pub fn utilisation(c: u32, lambda: f64, mu: f64) -> f64 {
    if lambda.is_nan() || mu.is_nan() || lambda < 0.0 {
        return f64::NAN;
    }
    if lambda == 0.0 {
        return 0.0;
    }
    let capacity = f64::from(c) * mu;
    if capacity <= 0.0 {
        return f64::INFINITY;
    }
    lambda / capacity
}

/// The arrival rate that loads `c` servers of rate `mu` to utilisation `rho`: `λ = ρ·c·μ`
/// (the inverse of [`utilisation`], for sweeps over ρ).
pub fn arrival_rate_for(c: u32, mu: f64, rho: f64) -> f64 {
    rho * f64::from(c) * mu
}

/// The offered load `a = λ/μ` when an M/M/c question is well posed and has a steady state:
/// `c ≥ 1`, finite `λ ≥ 0`, finite `μ > 0`, `ρ < 1`.
fn steady_load(c: u32, lambda: f64, mu: f64) -> Option<f64> {
    let well_posed = c >= 1 && lambda.is_finite() && lambda >= 0.0 && mu.is_finite() && mu > 0.0;
    (well_posed && utilisation(c, lambda, mu) < 1.0).then(|| lambda / mu)
}

/// The mean wait in queue (before service starts) of an M/M/c queue:
/// `Wq = C(c, a) / (c·μ − λ)` with `a = λ/μ` (Kleinrock 1975, §3.5; Gross et al. 2008, §2.3),
/// in the time unit of the rates.
///
/// `None` when `ρ = λ/(c·μ) ≥ 1` (no steady state), `c = 0`, or a rate is negative or not finite.
pub fn mmc_mean_wait(c: u32, lambda: f64, mu: f64) -> Option<f64> {
    let a = steady_load(c, lambda, mu)?;
    Some(erlang_c(c, a) / (f64::from(c) * mu - lambda))
}

/// The `q`-quantile of the wait in queue of an M/M/c queue (FCFS). The wait is 0 with
/// probability `1 − C` and otherwise exponential with rate `c·μ − λ`, so
/// `P(Wq > t) = C·e^{−(c·μ−λ)·t}` (Gross et al. 2008, §2.3) and
/// `t_q = max(0, ln(C / (1 − q)) / (c·μ − λ))`.
///
/// `None` when `q` is not in `[0, 1)`, or as for [`mmc_mean_wait`].
pub fn mmc_wait_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> Option<f64> {
    let a = steady_load(c, lambda, mu)?;
    if !(0.0..1.0).contains(&q) {
        return None;
    }
    let waiting = erlang_c(c, a);
    if waiting <= 1.0 - q {
        return Some(0.0);
    }
    Some((waiting / (1.0 - q)).ln() / (f64::from(c) * mu - lambda))
}

/// True when `x` is a usable squared coefficient of variation (finite, ≥ 0).
fn scv_ok(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// Kingman's approximation of the mean wait in queue of a G/G/1 queue:
/// `Wq ≈ (ρ / (1 − ρ)) · ((ca² + cs²) / 2) · E[S]`, where `ca²` and `cs²` are the squared
/// coefficients of variation of the inter-arrival and service times
/// (J. F. C. Kingman, *The single server queue in heavy traffic*, Proc. Cambridge Phil. Soc.
/// 57(4), 1961; in this form, the "VUT equation" of Hopp & Spearman, *Factory Physics*).
///
/// Exact for M/M/1 (`ca² = cs² = 1`) and M/G/1 (`ca² = 1`, Pollaczek–Khinchine); accurate as
/// ρ → 1. `None` when `rho` is not in `[0, 1)`, an SCV is negative or not finite, or
/// `mean_service` is not positive and finite.
pub fn kingman_mean_wait(rho: f64, ca2: f64, cs2: f64, mean_service: f64) -> Option<f64> {
    let ok = (0.0..1.0).contains(&rho)
        && scv_ok(ca2)
        && scv_ok(cs2)
        && mean_service.is_finite()
        && mean_service > 0.0;
    ok.then(|| rho / (1.0 - rho) * ((ca2 + cs2) / 2.0) * mean_service)
}

/// The Allen–Cunneen approximation of the mean wait in queue of a G/G/c queue: the exact M/M/c
/// wait scaled by the variability, `Wq ≈ Wq(M/M/c) · (ca² + cs²) / 2`
/// (A. O. Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed., Academic Press 1990;
/// the G/G/c counterpart of Kingman's formula).
///
/// Exact for M/M/c (`ca² = cs² = 1`). `None` as for [`mmc_mean_wait`] (with `μ = 1/mean_service`)
/// and when an SCV is negative or not finite.
pub fn allen_cunneen_mean_wait(
    c: u32,
    lambda: f64,
    mean_service: f64,
    ca2: f64,
    cs2: f64,
) -> Option<f64> {
    if !(scv_ok(ca2) && scv_ok(cs2) && mean_service.is_finite() && mean_service > 0.0) {
        return None;
    }
    mmc_mean_wait(c, lambda, 1.0 / mean_service).map(|w| w * (ca2 + cs2) / 2.0)
}

#[cfg(test)]
mod tests;
