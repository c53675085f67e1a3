//! The yardstick: the pooled ward is an M/M/c queue and late binding with one-record leases is
//! its first-come-first-served discipline, so the simulated mean wait must match Erlang C.

use signq_scheduler::balancer::Policy;

use super::{options, shipped};
use crate::queueing::{batch_means_ci, mmc_mean_wait};
use crate::scenario::Scenario;
use crate::simulate::{SimResult, run};

/// The pooled ward over 200 virtual hours (about 25,000 records: a tight estimate, cheap).
fn long_pooled_ward() -> Scenario {
    let mut scenario = shipped("pooled-ward");
    scenario.duration_secs = 200.0 * 3600.0;
    scenario
}

/// Compares the run's mean wait with Erlang C for `c` servers at the file's rates.
fn compare(label: &str, c: u32, r: &SimResult) -> (f64, f64) {
    let lambda = 126.0 / 3600.0;
    let mu = 1.0 / 60.0;
    let predicted = mmc_mean_wait(c, lambda, mu).expect("steady state");
    let simulated = r.mean_wait_secs();
    let ci = batch_means_ci(&r.wait_samples_secs, 30, 0.95).map(|i| (i.low, i.high));
    println!(
        "{label}: {} records, simulated Wq {simulated:.2} s (95% batch-means CI {ci:.2?}), Erlang C {predicted:.2} s, ratio {:.3}",
        r.records,
        simulated / predicted
    );
    (simulated, predicted)
}

#[test]
fn pooled_ward_waits_as_erlang_c_predicts() {
    // As shipped: three full-scope deputies, and a director who (guard 0) takes only overdue
    // records, so never: an M/M/3 at ρ = 126/h ÷ (3 × 60/h) = 0.7.
    let scenario = long_pooled_ward();
    let r = run(&scenario, &options(&scenario, Policy::LateBinding)).expect("run");
    let (simulated, predicted) = compare("M/M/3 at ρ = 0.7 over 200 h", 3, &r);
    assert!(
        (simulated / predicted - 1.0).abs() < 0.15,
        "simulated {simulated}, predicted {predicted}"
    );
    assert_eq!(
        r.signed_by_director, 0,
        "the director stays out of the pool"
    );
    assert_eq!(r.lease_expiries, 0);
}

#[test]
fn a_guard_beyond_every_deadline_makes_the_director_a_fourth_server() {
    // With every record within the guard, the director takes whatever no deputy can take now:
    // an M/M/4 at ρ = 0.525.
    let mut scenario = long_pooled_ward();
    scenario.director_guard_secs = 30.0 * 86_400.0;
    let r = run(&scenario, &options(&scenario, Policy::LateBinding)).expect("run");
    let (simulated, predicted) = compare("M/M/4 at ρ = 0.525 over 200 h", 4, &r);
    assert!(
        (simulated / predicted - 1.0).abs() < 0.15,
        "simulated {simulated}, predicted {predicted}"
    );
    // Every director signature is an escalation (a lease may still be in hand at the end).
    assert!(r.signed_by_director > 0);
    assert!(r.escalations >= r.signed_by_director);
    assert!(r.escalations - r.signed_by_director <= scenario.lease_size as u64);
}
