//! Checks of the yardsticks against published values and independent computations.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

use super::*;

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol
}

/// Erlang C from its textbook definition, with factorials (small `c` only): an independent check
/// of the recursion.
fn erlang_c_factorial(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let last = term * f64::from(c) / (f64::from(c) - a);
    last / (sum + last)
}

/// Erlang C in log space (log-sum-exp of `k·ln a − ln k!`), which does not overflow for large
/// `c`: another independent check.
fn erlang_c_log_space(c: u32, a: f64) -> f64 {
    let mut log_terms = Vec::with_capacity(c as usize + 1);
    let mut log_term = 0.0;
    for k in 0..c {
        log_terms.push(log_term);
        log_term += a.ln() - f64::from(k + 1).ln();
    }
    let log_last = log_term + (f64::from(c) / (f64::from(c) - a)).ln();
    let max = log_terms.iter().copied().fold(log_last, f64::max);
    let sum: f64 = log_terms.iter().map(|l| (l - max).exp()).sum();
    let last = (log_last - max).exp();
    last / (sum + last)
}

#[test]
fn erlang_c_matches_table_values() {
    // Classic Erlang C values (closed forms: c = 1 gives ρ; c = 2 gives 2ρ²/(1 + ρ)).
    assert!(close(erlang_c(1, 0.5), 0.5, 1e-12));
    assert!(close(erlang_c(1, 0.9), 0.9, 1e-12));
    assert!(close(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12));
    assert!(close(erlang_c(3, 2.0), 4.0 / 9.0, 1e-12));
    assert!(close(erlang_c(5, 4.0), 0.5541, 5e-5));
    assert!(close(erlang_c(10, 8.0), 0.4092, 5e-5));
    // To more digits (computed at 40 digits with mpmath from the factorial formula).
    assert!(close(erlang_c(5, 4.0), 0.554_112_554_113, 1e-11));
    assert!(close(erlang_c(10, 8.0), 0.409_180_150_796, 1e-11));
    assert!(close(erlang_c(100, 95.0), 0.506_456_853_913, 1e-10));
}

#[test]
fn erlang_c_agrees_with_the_factorial_formula() {
    for c in 1..=25 {
        for step in 1..20 {
            let a = f64::from(c) * f64::from(step) / 20.0;
            let (got, want) = (erlang_c(c, a), erlang_c_factorial(c, a));
            assert!(close(got, want, 1e-12), "c={c} a={a}: {got} vs {want}");
        }
    }
}

#[test]
fn erlang_c_is_stable_for_ten_thousand_servers() {
    for (c, a) in [
        (10_000, 9_900.0),
        (10_000, 9_999.0),
        (10_000, 5_000.0),
        (2_000, 1_990.0),
    ] {
        let (got, want) = (erlang_c(c, a), erlang_c_log_space(c, a));
        assert!((0.0..=1.0).contains(&got), "c={c} a={a}: {got}");
        assert!(close(got, want, 1e-9), "c={c} a={a}: {got} vs {want}");
    }
    assert!(erlang_c(10_000, 9_999.999).is_finite());
}

#[test]
fn erlang_c_outside_the_steady_state() {
    assert_eq!(erlang_c(2, 2.0), 1.0);
    assert_eq!(erlang_c(2, 5.0), 1.0);
    assert_eq!(erlang_c(0, 1.0), 1.0);
    assert_eq!(erlang_c(3, 0.0), 0.0);
    assert_eq!(erlang_c(3, -1.0), 0.0);
    assert!(erlang_c(3, f64::NAN).is_nan());
    assert_eq!(erlang_c(3, f64::INFINITY), 1.0);
}

#[test]
fn pooling_two_signers_at_80_percent_as_the_design_says() {
    // DESIGN: two signers at 80% load, pooled M/M/2 waits 1.78 service times on average, two
    // separate M/M/1 queues 4.0.
    let mu = 1.0; // service time 1: waits come out in service times
    let pooled = mmc_mean_wait(2, arrival_rate_for(2, mu, 0.8), mu);
    let separate = mmc_mean_wait(1, arrival_rate_for(1, mu, 0.8), mu);
    let round2 = |x: Option<f64>| x.map(|w| (w * 100.0).round() / 100.0);
    assert_eq!(round2(pooled), Some(1.78));
    assert_eq!(round2(separate), Some(4.0));
    assert!(close(pooled.unwrap_or(0.0), 16.0 / 9.0, 1e-12));
}

#[test]
fn mmc_mean_wait_in_seconds() {
    // The pooled-ward scenario: 126 records an hour, 60 s each, three signers (ρ = 0.7).
    let (lambda, mu) = (126.0 / 3600.0, 1.0 / 60.0);
    assert!(close(utilisation(3, lambda, mu), 0.7, 1e-12));
    let c = erlang_c(3, lambda / mu);
    let w = mmc_mean_wait(3, lambda, mu).unwrap_or(f64::NAN);
    assert!(close(w, c / (3.0 * mu - lambda), 1e-12));
    // M/M/1: Wq = ρ/(μ − λ).
    assert!(close(
        mmc_mean_wait(1, 0.5, 1.0).unwrap_or(f64::NAN),
        1.0,
        1e-12
    ));
    assert_eq!(mmc_mean_wait(4, 0.0, 1.0), Some(0.0));
}

#[test]
fn mmc_wait_quantile_inverts_the_tail() {
    let (c, lambda, mu) = (3, 2.4, 1.0);
    let waiting = erlang_c(c, lambda / mu);
    for q in [0.6, 0.9, 0.95, 0.99, 0.999] {
        let t = mmc_wait_quantile(c, lambda, mu, q).unwrap_or(f64::NAN);
        let tail = waiting * (-(f64::from(c) * mu - lambda) * t).exp();
        assert!(close(tail, 1.0 - q, 1e-12), "q={q}: P(W>t)={tail}");
    }
    // Below the probability of not waiting the quantile is 0.
    assert_eq!(mmc_wait_quantile(c, lambda, mu, 0.0), Some(0.0));
    assert_eq!(mmc_wait_quantile(1, 0.5, 1.0, 0.5), Some(0.0));
    assert_eq!(mmc_wait_quantile(c, 0.0, mu, 0.99), Some(0.0));
}

#[test]
fn kingman_is_exact_for_mm1_and_md1() {
    for rho in [0.1, 0.5, 0.8, 0.95] {
        let mm1 = mmc_mean_wait(1, rho, 1.0).unwrap_or(f64::NAN);
        let k = kingman_mean_wait(rho, 1.0, 1.0, 1.0).unwrap_or(f64::NAN);
        assert!(close(k, mm1, 1e-12), "ρ={rho}: {k} vs {mm1}");
        // M/D/1, Pollaczek–Khinchine: Wq = ρ·E[S] / (2(1 − ρ)).
        let md1 = rho * 60.0 / (2.0 * (1.0 - rho));
        let k = kingman_mean_wait(rho, 1.0, 0.0, 60.0).unwrap_or(f64::NAN);
        assert!(close(k, md1, 1e-9), "ρ={rho}: {k} vs {md1}");
    }
}

#[test]
fn allen_cunneen_reduces_to_mmc() {
    for c in [1, 2, 3, 5, 10, 50] {
        for rho in [0.3, 0.7, 0.9] {
            let mean_service = 60.0;
            let lambda = arrival_rate_for(c, 1.0 / mean_service, rho);
            let exact = mmc_mean_wait(c, lambda, 1.0 / mean_service).unwrap_or(f64::NAN);
            let ac = allen_cunneen_mean_wait(c, lambda, mean_service, 1.0, 1.0).unwrap_or(f64::NAN);
            assert!(close(ac, exact, 1e-9 * exact.max(1.0)), "c={c} ρ={rho}");
            let fixed =
                allen_cunneen_mean_wait(c, lambda, mean_service, 1.0, 0.0).unwrap_or(f64::NAN);
            assert!(close(fixed, exact / 2.0, 1e-9 * exact.max(1.0)));
        }
    }
    // For one server it is Kingman's formula.
    let ac = allen_cunneen_mean_wait(1, 0.8 / 60.0, 60.0, 0.5, 2.0).unwrap_or(f64::NAN);
    let k = kingman_mean_wait(0.8, 0.5, 2.0, 60.0).unwrap_or(f64::NAN);
    assert!(close(ac, k, 1e-9));
}

#[test]
fn no_steady_state_or_bad_arguments_give_none() {
    assert_eq!(mmc_mean_wait(2, 2.0, 1.0), None);
    assert_eq!(mmc_mean_wait(2, 3.0, 1.0), None);
    assert_eq!(mmc_mean_wait(0, 1.0, 1.0), None);
    assert_eq!(mmc_mean_wait(2, -1.0, 1.0), None);
    assert_eq!(mmc_mean_wait(2, 1.0, 0.0), None);
    assert_eq!(mmc_mean_wait(2, f64::NAN, 1.0), None);
    assert_eq!(mmc_mean_wait(2, 1.0, f64::INFINITY), None);
    assert_eq!(mmc_wait_quantile(2, 2.0, 1.0, 0.5), None);
    assert_eq!(mmc_wait_quantile(2, 1.0, 1.0, 1.0), None);
    assert_eq!(mmc_wait_quantile(2, 1.0, 1.0, -0.1), None);
    assert_eq!(mmc_wait_quantile(2, 1.0, 1.0, f64::NAN), None);
    assert_eq!(kingman_mean_wait(1.0, 1.0, 1.0, 1.0), None);
    assert_eq!(kingman_mean_wait(-0.1, 1.0, 1.0, 1.0), None);
    assert_eq!(kingman_mean_wait(0.5, -1.0, 1.0, 1.0), None);
    assert_eq!(kingman_mean_wait(0.5, 1.0, 1.0, 0.0), None);
    assert_eq!(kingman_mean_wait(f64::NAN, 1.0, 1.0, 1.0), None);
    assert_eq!(allen_cunneen_mean_wait(2, 2.0 / 60.0, 60.0, 1.0, 1.0), None);
    assert_eq!(allen_cunneen_mean_wait(2, 0.01, 0.0, 1.0, 1.0), None);
    assert_eq!(allen_cunneen_mean_wait(2, 0.01, 60.0, f64::NAN, 1.0), None);
}

#[test]
fn utilisation_and_arrival_rate_are_inverse() {
    for c in [1, 3, 166] {
        for rho in [0.0, 0.3, 0.95] {
            let lambda = arrival_rate_for(c, 1.0 / 90.0, rho);
            assert!(close(utilisation(c, lambda, 1.0 / 90.0), rho, 1e-12));
        }
    }
    assert_eq!(utilisation(0, 1.0, 1.0), f64::INFINITY);
    assert_eq!(utilisation(2, 1.0, 0.0), f64::INFINITY);
    assert_eq!(utilisation(0, 0.0, 1.0), 0.0);
    assert!(utilisation(2, -1.0, 1.0).is_nan());
}

#[test]
fn normal_quantile_known_values() {
    for (p, z) in [
        (0.5, 0.0),
        (0.95, 1.644_853_626_951),
        (0.975, 1.959_963_984_540),
        (0.995, 2.575_829_303_549),
        (0.01, -2.326_347_874_041),
        (0.999_9, 3.719_016_485_456),
    ] {
        let got = normal_quantile(p).unwrap_or(f64::NAN);
        assert!(close(got, z, 1e-8), "p={p}: {got} vs {z}");
    }
    assert_eq!(normal_quantile(0.0), None);
    assert_eq!(normal_quantile(1.0), None);
    assert_eq!(normal_quantile(f64::NAN), None);
}

#[test]
fn student_t_table_and_approximation() {
    let t = |conf, df| student_t_quantile(conf, df).unwrap_or(f64::NAN);
    assert_eq!(t(0.95, 1), 12.7062);
    assert_eq!(t(0.95, 10), 2.2281);
    assert_eq!(t(0.99, 30), 2.7500);
    assert_eq!(t(0.90, 5), 2.0150);
    // The closed forms for df 1 and 2 agree with the table.
    for (conf, df) in [
        (0.9, 1),
        (0.95, 1),
        (0.99, 1),
        (0.9, 2),
        (0.95, 2),
        (0.99, 2),
    ] {
        let p: f64 = (1.0 + conf) / 2.0;
        let closed = if df == 1 {
            (std::f64::consts::PI * (p - 0.5)).tan()
        } else {
            (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt()
        };
        assert!(close(closed, t(conf, df), 1e-4), "{conf} {df}");
    }
    // Cornish–Fisher agrees with the table from 10 df (so beyond 30 it is well within 1e-4).
    for conf in [0.9, 0.95, 0.99] {
        for df in 10..=30 {
            let approx = t(conf + 1e-7, df); // just off the tabled level: the approximation
            assert!(close(approx, t(conf, df), 3e-4), "{conf} {df}: {approx}");
        }
    }
    // Beyond the table: exact values (mpmath) for 40, 60 and 120 df.
    assert!(close(t(0.95, 40), 2.021_075, 1e-5));
    assert!(close(t(0.99, 60), 2.660_283, 1e-5));
    assert!(close(t(0.90, 120), 1.657_651, 1e-5));
    assert!(t(0.95, 31) < t(0.95, 30) && t(0.95, 31) > 1.96);
    assert_eq!(student_t_quantile(0.95, 0), None);
    assert_eq!(student_t_quantile(1.0, 5), None);
    assert_eq!(student_t_quantile(0.0, 5), None);
}

fn normal_samples(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = Normal::new(mean, sd).expect("a valid normal");
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

#[test]
fn batch_means_ci_covers_the_mean_and_narrows() {
    let small =
        batch_means_ci(&normal_samples(7, 1_000, 60.0, 20.0), 20, 0.95).expect("an interval");
    let large =
        batch_means_ci(&normal_samples(7, 100_000, 60.0, 20.0), 20, 0.95).expect("an interval");
    assert!(small.contains(60.0), "{small:?}");
    assert!(large.contains(60.0), "{large:?}");
    assert!(
        large.half_width < small.half_width / 5.0,
        "{small:?} {large:?}"
    );
    assert!(close(large.low, large.mean - large.half_width, 1e-12));
    assert!(close(large.high, large.mean + large.half_width, 1e-12));
    assert!(close(
        large.relative_half_width,
        large.half_width / 60.0,
        1e-3 * large.relative_half_width
    ));
    // The half-width is about t·σ/√n for i.i.d. samples: 2.093 · 20 / √100000 ≈ 0.132.
    assert!(close(large.half_width, 0.132, 0.05), "{large:?}");
}

#[test]
fn batch_means_ci_coverage_is_about_nominal() {
    let runs = 400;
    let covered = (0..runs)
        .filter(|&seed| {
            batch_means_ci(&normal_samples(seed, 2_000, 10.0, 3.0), 10, 0.95)
                .is_some_and(|ci| ci.contains(10.0))
        })
        .count();
    let rate = covered as f64 / f64::from(runs as u32);
    // 95% nominal; the binomial sd over 400 runs is about 1.1%.
    assert!((0.91..=0.985).contains(&rate), "coverage {rate}");
}

#[test]
fn batch_means_ci_drops_leftovers_from_the_start() {
    let ci = batch_means_ci(&[100.0, 1.0, 2.0, 3.0, 4.0], 2, 0.95).expect("an interval");
    assert!(close(ci.mean, 2.5, 1e-12), "{ci:?}");
    // Batch means 1.5 and 3.5: s = √2, half-width = 12.7062 · √2 / √2.
    assert!(close(ci.half_width, 12.7062, 1e-9), "{ci:?}");
}

#[test]
fn batch_means_ci_edge_cases() {
    assert_eq!(batch_means_ci(&[], 10, 0.95), None);
    assert_eq!(batch_means_ci(&[1.0, 2.0, 3.0], 1, 0.95), None);
    assert_eq!(batch_means_ci(&[1.0, 2.0, 3.0], 0, 0.95), None);
    assert_eq!(batch_means_ci(&[1.0, 2.0, 3.0], 4, 0.95), None);
    assert_eq!(batch_means_ci(&[1.0, 2.0, 3.0], 2, 1.0), None);
    assert_eq!(batch_means_ci(&[1.0, f64::NAN, 3.0], 2, 0.95), None);
    let flat = batch_means_ci(&[5.0; 100], 10, 0.95).expect("an interval");
    assert_eq!(
        (flat.mean, flat.half_width, flat.relative_half_width),
        (5.0, 0.0, 0.0)
    );
    let zero_mean = batch_means_ci(&[-1.0, 1.0, 1.0, -1.0], 2, 0.95).expect("an interval");
    assert_eq!(zero_mean.relative_half_width, 0.0);
    let zero_mean =
        batch_means_ci(&[-1.0, 1.0, -1.0, 1.0, 1.0, -1.0], 3, 0.95).expect("an interval");
    assert_eq!(zero_mean.mean, 0.0);
    let spread = batch_means_ci(&[-2.0, 2.0, 1.0, 1.0, 1.0, -3.0], 3, 0.95).expect("an interval");
    assert_eq!(spread.relative_half_width, f64::INFINITY, "{spread:?}");
}
