//! The yardstick: the pooled ward is an M/M/3 queue, and late binding with one-record leases is
//! its first-come-first-served discipline, so the simulated mean wait must match Erlang C.

use signq_scheduler::balancer::Policy;

use super::{options, shipped};
use crate::queueing::{batch_means_ci, mmc_mean_wait};
use crate::simulate::run;

#[test]
fn pooled_ward_waits_as_erlang_c_predicts() {
    let mut scenario = shipped("pooled-ward");
    scenario.duration_secs = 200.0 * 3600.0;
    // The director is a full member of the pool only when every record is within the guard:
    // with the shipped guard of 0 it takes only overdue records, and the ward is an M/M/2 at
    // ρ = 1.05 with the director as overflow.
    scenario.director_guard_secs = 30.0 * 86_400.0;
    let r = run(&scenario, &options(&scenario, Policy::LateBinding)).expect("run");
    let lambda = 126.0 / 3600.0;
    let mu = 1.0 / 60.0;
    let predicted = mmc_mean_wait(3, lambda, mu).expect("steady state");
    let simulated = r.mean_wait_secs();
    let ci = batch_means_ci(&r.wait_samples_secs, 30, 0.95);
    println!(
        "M/M/3 at ρ = 0.7 over 200 h: {} records, simulated Wq {simulated:.2} s (95% CI {ci:?}), Erlang C {predicted:.2} s, ratio {:.3}",
        r.records,
        simulated / predicted
    );
    assert!(
        (simulated / predicted - 1.0).abs() < 0.15,
        "simulated {simulated}, predicted {predicted}"
    );
    assert_eq!(r.lease_expiries, 0);
}

#[test]
fn shipped_pooled_ward_leaves_the_director_out() {
    // The file as shipped (guard 0): the director signs only what is already overdue.
    let mut scenario = shipped("pooled-ward");
    scenario.duration_secs = 20.0 * 3600.0;
    let r = run(&scenario, &options(&scenario, Policy::LateBinding)).expect("run");
    println!(
        "pooled-ward as shipped, 20 h: director share {:.1}%, mean wait {:.0} s, on time {:.1}%",
        100.0 * r.director_share(),
        r.mean_wait_secs(),
        100.0 * r.on_time_rate()
    );
    assert!(r.director_share() < 0.2);
}
