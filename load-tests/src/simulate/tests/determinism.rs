//! Same scenario and seed: the same result, bit for bit; another seed: another result; every
//! policy: the same arrival trace.

use signq_scheduler::balancer::Policy;

use super::{options, shipped};
use crate::simulate::{SimResult, run};

/// Everything but wall time and memory.
fn assert_same(a: &SimResult, b: &SimResult) {
    assert_eq!(
        (a.records, a.signed, a.unfinished, a.on_time),
        (b.records, b.signed, b.unfinished, b.on_time)
    );
    assert_eq!(
        (a.signed_by_director, a.escalations, a.lease_expiries),
        (b.signed_by_director, b.escalations, b.lease_expiries)
    );
    assert!(a.wait_to_lease == b.wait_to_lease);
    assert!(a.wait_to_signed == b.wait_to_signed);
    assert_eq!(a.wait_samples_secs, b.wait_samples_secs);
    assert_eq!(a.pool_depth, b.pool_depth);
    assert_eq!(a.director_share_over_time, b.director_share_over_time);
    assert_eq!(a.per_ward_worst, b.per_ward_worst);
    assert_eq!(a.trace_digest, b.trace_digest);
}

#[test]
fn same_seed_gives_identical_results() {
    for name in ["cat-lai", "na-meo"] {
        let scenario = shipped(name);
        for policy in [Policy::LateBinding, Policy::Random] {
            let opts = options(&scenario, policy);
            let a = run(&scenario, &opts).expect("run");
            let b = run(&scenario, &opts).expect("run");
            assert_same(&a, &b);
            assert!(a.records > 0);
        }
    }
}

#[test]
fn another_seed_gives_another_result() {
    let scenario = shipped("cat-lai");
    let opts = options(&scenario, Policy::LateBinding);
    let a = run(&scenario, &opts).expect("run");
    let other = crate::simulate::SimOptions {
        seed: opts.seed + 1,
        ..opts
    };
    let b = run(&scenario, &other).expect("run");
    assert_ne!(a.trace_digest, b.trace_digest);
    assert_ne!(a.wait_samples_secs, b.wait_samples_secs);
}

#[test]
fn every_policy_sees_the_same_trace() {
    for name in ["cat-lai", "mixed-scopes", "na-meo"] {
        let scenario = shipped(name);
        let results: Vec<SimResult> = Policy::ALL
            .iter()
            .map(|&p| run(&scenario, &options(&scenario, p)).expect("run"))
            .collect();
        let first = &results[0];
        for r in &results {
            assert_eq!(r.records, first.records, "{name} {}", r.policy);
            assert_eq!(r.deadline_total_secs, first.deadline_total_secs);
            assert_eq!(r.trace_digest, first.trace_digest);
            println!(
                "{name:13} {:13} records {:5} on time {:6.2}% director {:5.1}% mean wait {:7.1} s expiries {}",
                r.policy,
                r.records,
                100.0 * r.on_time_rate(),
                100.0 * r.director_share(),
                r.mean_wait_secs(),
                r.lease_expiries,
            );
        }
    }
}
