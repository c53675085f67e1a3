//! The load-test acceptance checks, on the simulator (the scheduler's own balancer in virtual
//! time, seeded, so deterministic and independent of the machine's speed):
//! - the pooled ward's mean wait is within 15% of Erlang C at utilisations 0.5, 0.7 and 0.9;
//! - at utilisation 0.9 with mixed scopes, late binding's p99 wait is at most half of round robin's;
//! - the Cát Lái ward: the director signs at most 20% and every record is on time; at a 1.5×
//!   surge at least 99% are on time.

use std::path::Path;

use signq_load_tests::pipeline;
use signq_load_tests::scenario::Scenario;
use signq_load_tests::simulate::{self, SimOptions};
use signq_scheduler::balancer::Policy;

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pooled_ward_matches_erlang_c_within_15_percent() {
    let mut s = scenario("pooled-ward.toml");
    s.duration_secs = 1500.0 * 3600.0;
    let points = pipeline::yardstick(&s, &[0.5, 0.7, 0.9], Policy::LateBinding).expect("yardstick");
    for p in points {
        let ratio = p.measured_mean_secs / p.predicted_mean_secs;
        eprintln!(
            "rho {:.2}: measured {:.1} s (95% CI {:.1}-{:.1}), Erlang C {:.1} s, ratio {ratio:.3}",
            p.utilisation,
            p.measured_mean_secs,
            p.ci_low_secs,
            p.ci_high_secs,
            p.predicted_mean_secs
        );
        assert!(
            (ratio - 1.0).abs() <= 0.15,
            "rho {}: ratio {ratio}",
            p.utilisation
        );
        let half_width = (p.ci_high_secs - p.ci_low_secs) / 2.0 / p.measured_mean_secs;
        assert!(
            half_width <= 0.10,
            "rho {}: the interval is tight (±{:.1}%)",
            p.utilisation,
            100.0 * half_width
        );
    }
}

#[test]
fn late_binding_p99_is_at_most_half_of_round_robin_at_utilisation_0_9() {
    let s = scenario("mixed-scopes.toml");
    let options = SimOptions::for_scenario(&s).expect("options");
    let late = simulate::run(&s, &options.with_policy(Policy::LateBinding)).expect("late");
    let rr = simulate::run(&s, &options.with_policy(Policy::RoundRobin)).expect("rr");
    assert_eq!(late.trace_digest, rr.trace_digest, "the same arrival trace");
    let p99 = |r: &simulate::SimResult| r.wait_to_lease.value_at_quantile(0.99) as f64 / 1000.0;
    eprintln!(
        "p99 wait: late binding {:.0} s (director share {:.1}%), round robin {:.0} s (director share {:.1}%)",
        p99(&late),
        100.0 * late.director_share(),
        p99(&rr),
        100.0 * rr.director_share()
    );
    assert!(p99(&late) <= 0.5 * p99(&rr));
}

#[test]
fn cat_lai_director_share_and_on_time_including_a_surge() {
    let mut s = scenario("cat-lai.toml");
    let options = SimOptions::for_scenario(&s).expect("options");
    let normal = simulate::run(&s, &options).expect("normal day");
    eprintln!(
        "normal day: {} records, director share {:.1}%, on time {:.2}%",
        normal.records,
        100.0 * normal.director_share(),
        100.0 * normal.on_time_rate()
    );
    assert!(normal.director_share() <= 0.20);
    assert_eq!(normal.on_time, normal.records);
    for w in &mut s.wards {
        w.load *= 1.5;
    }
    let surge = simulate::run(&s, &options).expect("surge");
    eprintln!(
        "1.5x surge: {} records, on time {:.2}%",
        surge.records,
        100.0 * surge.on_time_rate()
    );
    assert!(surge.on_time_rate() >= 0.99);
}
