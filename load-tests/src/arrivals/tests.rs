//! Checks of the arrival schedules: determinism, counts and gaps against their rates, the working
//! day's shape and total, empty cases and the size bound.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

const HOUR: f64 = 3600.0;

fn draw(arrivals: &Arrivals, duration: f64, load: f64, seed: u64) -> Vec<f64> {
    schedule(arrivals, duration, load, &mut StdRng::seed_from_u64(seed))
}

fn count_in(times: &[f64], from: f64, to: f64) -> usize {
    times.iter().filter(|t| (from..to).contains(*t)).count()
}

/// |observed − expected| within `k` Poisson standard deviations.
fn within_sigmas(observed: usize, expected: f64, k: f64) -> bool {
    (observed as f64 - expected).abs() <= k * expected.sqrt()
}

fn ordered_within(times: &[f64], duration: f64) -> bool {
    times.windows(2).all(|w| w[0] <= w[1]) && times.iter().all(|t| (0.0..duration).contains(t))
}

fn all_kinds() -> Vec<Arrivals> {
    vec![
        Arrivals::Constant { per_hour: 120.0 },
        Arrivals::Poisson { per_hour: 120.0 },
        Arrivals::WorkingDay {
            per_day: 225.0,
            surge: 1.5,
        },
        Arrivals::Steps {
            steps: vec![(0.0, 60.0), (HOUR, 240.0), (5.0 * HOUR, 30.0)],
        },
        Arrivals::Ramp {
            from_per_hour: 10.0,
            to_per_hour: 200.0,
        },
    ]
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    for arrivals in all_kinds() {
        let a = draw(&arrivals, 8.0 * HOUR, 1.0, 42);
        assert!(!a.is_empty(), "{arrivals:?}");
        assert_eq!(a, draw(&arrivals, 8.0 * HOUR, 1.0, 42), "{arrivals:?}");
        assert!(ordered_within(&a, 8.0 * HOUR), "{arrivals:?}");
        if !matches!(arrivals, Arrivals::Constant { .. }) {
            assert_ne!(a, draw(&arrivals, 8.0 * HOUR, 1.0, 43), "{arrivals:?}");
        }
    }
}

#[test]
fn constant_is_evenly_spaced_from_zero() {
    let per_second = Arrivals::Constant { per_hour: HOUR };
    let times = draw(&per_second, 10.0, 1.0, 1);
    assert_eq!(times, (0..10).map(f64::from).collect::<Vec<_>>());
    let doubled = draw(&per_second, 10.0, 2.0, 1);
    assert_eq!(doubled.len(), 20);
    assert!(
        doubled
            .windows(2)
            .all(|w| (w[1] - w[0] - 0.5).abs() < 1e-12)
    );
    assert_eq!(rate_at(&per_second, 10.0, 2.0, 3.0), 2.0);
    assert_eq!(expected_count(&per_second, 10.0, 2.0), 20.0);
}

#[test]
fn poisson_counts_and_gaps_follow_the_rate() {
    // 10 a second (with load 2) over 10,000 s: 100,000 expected, σ ≈ 316.
    let arrivals = Arrivals::Poisson { per_hour: 18_000.0 };
    let (duration, load, rate) = (10_000.0, 2.0, 10.0);
    assert_eq!(rate_at(&arrivals, duration, load, 5.0), rate);
    assert_eq!(expected_count(&arrivals, duration, load), rate * duration);
    let times = draw(&arrivals, duration, load, 7);
    assert!(ordered_within(&times, duration));
    assert!(
        within_sigmas(times.len(), rate * duration, 4.0),
        "{}",
        times.len()
    );
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let variance = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    assert!((mean * rate - 1.0).abs() < 0.02, "mean gap {mean}");
    // Exponential gaps: the squared coefficient of variation is 1.
    assert!(
        (variance / (mean * mean) - 1.0).abs() < 0.03,
        "scv {}",
        variance / mean / mean
    );
}

#[test]
fn working_day_expects_per_day_times_surge_times_load() {
    let arrivals = Arrivals::WorkingDay {
        per_day: 225.0,
        surge: 1.5,
    };
    let (day, load) = (WORKING_DAY_SECS, 1.2);
    let want = 225.0 * 1.5 * load;
    // Simpson's rule on 10 s steps (the knots fall on panel edges, so it is exact up to rounding).
    let n = 2880;
    let h = day / f64::from(n);
    let simpson: f64 = (0..=n)
        .map(|i| {
            let weight = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            // The rate is 0 from `duration` on; take the end point's limit from the left.
            let t = (f64::from(i) * h).min(day - 1e-9);
            weight * rate_at(&arrivals, day, load, t)
        })
        .sum::<f64>()
        * h
        / 3.0;
    assert!((simpson / want - 1.0).abs() < 1e-6, "{simpson} vs {want}");
    assert!((expected_count(&arrivals, day, load) / want - 1.0).abs() < 1e-12);
    // Two days, two days' worth; the rate repeats.
    assert!((expected_count(&arrivals, 2.0 * day, load) / (2.0 * want) - 1.0).abs() < 1e-12);
    assert_eq!(
        rate_at(&arrivals, 2.0 * day, load, 1000.0),
        rate_at(&arrivals, 2.0 * day, load, day + 1000.0)
    );
    // One day's count within 3σ; 200 days' total within 3σ.
    assert!(within_sigmas(
        draw(&arrivals, day, load, 1).len(),
        want,
        3.0
    ));
    let total: usize = (0..200)
        .map(|seed| draw(&arrivals, day, load, seed).len())
        .sum();
    assert!(within_sigmas(total, 200.0 * want, 3.0), "{total}");
}

#[test]
fn working_day_has_a_morning_peak_a_lunch_dip_and_tapers() {
    let arrivals = Arrivals::WorkingDay {
        per_day: 100.0,
        surge: 1.0,
    };
    let day = WORKING_DAY_SECS;
    let rate = |hours: f64| rate_at(&arrivals, day, 1.0, hours * HOUR);
    let mean = 100.0 / day;
    let peak = (0..=800)
        .map(|i| f64::from(i) / 100.0)
        .max_by(|a, b| rate(*a).total_cmp(&rate(*b)))
        .unwrap_or(f64::NAN);
    assert_eq!(peak, 1.0, "the peak is an hour after opening");
    assert!(
        (1.8..=2.2).contains(&(rate(1.0) / mean)),
        "{}",
        rate(1.0) / mean
    );
    assert!(
        rate(4.0) < rate(3.0) && rate(4.0) < rate(5.0),
        "a dip at lunch"
    );
    assert!(
        rate(5.0) > rate(4.5) && rate(5.0) < rate(1.0),
        "a smaller afternoon bump"
    );
    assert!(rate(7.9) < rate(7.0) && rate(7.9) < 0.5 * mean, "tapering");
    // In draws: the peak hour beats the last hour, over many days.
    let (mut peak_hour, mut last_hour) = (0, 0);
    for seed in 0..100 {
        let times = draw(&arrivals, day, 1.0, seed);
        peak_hour += count_in(&times, 0.5 * HOUR, 1.5 * HOUR);
        last_hour += count_in(&times, 7.0 * HOUR, 8.0 * HOUR);
    }
    assert!(peak_hour > 3 * last_hour, "{peak_hour} vs {last_hour}");
}

#[test]
fn steps_follow_their_rates() {
    let arrivals = Arrivals::Steps {
        steps: vec![(HOUR, 3600.0), (0.0, 360.0), (2.0 * HOUR, 0.0)], // out of order on purpose
    };
    let duration = 3.0 * HOUR;
    assert_eq!(rate_at(&arrivals, duration, 1.0, 1000.0), 0.1);
    assert_eq!(rate_at(&arrivals, duration, 1.0, 5000.0), 1.0);
    assert_eq!(rate_at(&arrivals, duration, 1.0, 8000.0), 0.0);
    assert!((expected_count(&arrivals, duration, 1.0) - 3960.0).abs() < 1e-9);
    let times = draw(&arrivals, duration, 1.0, 3);
    assert!(ordered_within(&times, duration));
    assert!(within_sigmas(count_in(&times, 0.0, HOUR), 360.0, 3.0));
    assert!(within_sigmas(
        count_in(&times, HOUR, 2.0 * HOUR),
        3600.0,
        3.0
    ));
    assert_eq!(count_in(&times, 2.0 * HOUR, duration), 0);
    // A late first step: nothing before it. Two steps at one time: the later one wins.
    let late = Arrivals::Steps {
        steps: vec![(1800.0, 3600.0)],
    };
    assert!(draw(&late, HOUR, 1.0, 1).iter().all(|t| *t >= 1800.0));
    let twice = Arrivals::Steps {
        steps: vec![(0.0, 100.0), (0.0, 360.0)],
    };
    assert_eq!(rate_at(&twice, HOUR, 1.0, 10.0), 0.1);
}

#[test]
fn ramps_follow_their_rates() {
    // 0 to 7,200 an hour over 2 hours: λ(t) = t/3600 per second, ∫₀ᵃ λ = a²/7200.
    let arrivals = Arrivals::Ramp {
        from_per_hour: 0.0,
        to_per_hour: 7200.0,
    };
    let duration = 2.0 * HOUR;
    assert!((rate_at(&arrivals, duration, 1.0, HOUR) - 1.0).abs() < 1e-12);
    assert!((rate_at(&arrivals, duration, 1.0, 1234.0) - 1234.0 / HOUR).abs() < 1e-12);
    assert!((expected_count(&arrivals, duration, 1.0) - 7200.0).abs() < 1e-9);
    let times = draw(&arrivals, duration, 1.0, 5);
    assert!(ordered_within(&times, duration));
    for (i, want) in [450.0, 1350.0, 2250.0, 3150.0].into_iter().enumerate() {
        let from = 1800.0 * i as f64;
        let got = count_in(&times, from, from + 1800.0);
        assert!(
            within_sigmas(got, want, 3.0),
            "quarter {i}: {got} vs {want}"
        );
    }
    // Downhill too.
    let down = Arrivals::Ramp {
        from_per_hour: 7200.0,
        to_per_hour: 0.0,
    };
    let times = draw(&down, duration, 1.0, 5);
    assert!(within_sigmas(count_in(&times, 0.0, HOUR), 5400.0, 3.0));
    assert!(within_sigmas(count_in(&times, HOUR, duration), 1800.0, 3.0));
}

#[test]
fn empty_or_zero_rates_give_no_arrivals() {
    let poisson = Arrivals::Poisson { per_hour: 60.0 };
    let cases: Vec<(Arrivals, f64, f64)> = vec![
        (Arrivals::Poisson { per_hour: 0.0 }, HOUR, 1.0),
        (Arrivals::Constant { per_hour: 0.0 }, HOUR, 1.0),
        (Arrivals::Poisson { per_hour: -5.0 }, HOUR, 1.0),
        (Arrivals::Poisson { per_hour: f64::NAN }, HOUR, 1.0),
        (
            Arrivals::Constant {
                per_hour: f64::INFINITY,
            },
            HOUR,
            1.0,
        ),
        (
            Arrivals::WorkingDay {
                per_day: 0.0,
                surge: 1.0,
            },
            HOUR,
            1.0,
        ),
        (
            Arrivals::WorkingDay {
                per_day: 100.0,
                surge: f64::NAN,
            },
            HOUR,
            1.0,
        ),
        (Arrivals::Steps { steps: vec![] }, HOUR, 1.0),
        (
            Arrivals::Steps {
                steps: vec![(0.0, 0.0)],
            },
            HOUR,
            1.0,
        ),
        (
            Arrivals::Steps {
                steps: vec![(-1.0, 60.0)],
            },
            HOUR,
            1.0,
        ),
        (
            Arrivals::Steps {
                steps: vec![(2.0 * HOUR, 60.0)],
            },
            HOUR,
            1.0,
        ),
        (
            Arrivals::Ramp {
                from_per_hour: 0.0,
                to_per_hour: 0.0,
            },
            HOUR,
            1.0,
        ),
        (poisson.clone(), 0.0, 1.0),
        (poisson.clone(), -1.0, 1.0),
        (poisson.clone(), f64::NAN, 1.0),
        (poisson.clone(), f64::INFINITY, 1.0),
        (poisson.clone(), HOUR, 0.0),
        (poisson.clone(), HOUR, -1.0),
        (poisson, HOUR, f64::NAN),
    ];
    for (arrivals, duration, load) in cases {
        let what = format!("{arrivals:?} over {duration} at {load}");
        assert!(draw(&arrivals, duration, load, 1).is_empty(), "{what}");
        assert_eq!(rate_at(&arrivals, duration, load, 10.0), 0.0, "{what}");
        assert_eq!(expected_count(&arrivals, duration, load), 0.0, "{what}");
    }
    // Outside the run the rate is 0.
    let poisson = Arrivals::Poisson { per_hour: 60.0 };
    assert_eq!(rate_at(&poisson, HOUR, 1.0, -1.0), 0.0);
    assert_eq!(rate_at(&poisson, HOUR, 1.0, HOUR), 0.0);
}

#[test]
fn a_typo_in_a_rate_cannot_exhaust_memory() {
    // 10⁷ a second for 10 s evenly, and 1.2·10⁷ expected at random: both stop at the bound.
    let evenly = draw(&Arrivals::Constant { per_hour: 3.6e10 }, 10.0, 1.0, 1);
    assert_eq!(evenly.len(), MAX_ARRIVALS);
    assert!(ordered_within(&evenly, 10.0));
    let arrivals = Arrivals::Poisson { per_hour: 3.6e9 };
    assert!(expected_count(&arrivals, 12.0, 1.0) > MAX_ARRIVALS as f64);
    let random = draw(&arrivals, 12.0, 1.0, 1);
    assert_eq!(random.len(), MAX_ARRIVALS);
    assert!(ordered_within(&random, 12.0));
}
