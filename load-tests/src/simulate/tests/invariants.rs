//! What must hold under every policy: counts add up, no deputy signs outside its scope, the
//! simulator's queue count agrees with the balancer's; and the headline figures of Cát Lái.

use signq_scheduler::balancer::Policy;
use signq_scheduler::model::SignerRole;

use super::{options, shipped};
use crate::scenario::{Arrivals, Scenario};
use crate::simulate::engine::Sim;
use crate::simulate::world::State;
use crate::simulate::{SimError, SimOptions, policies, run};

const SCENARIOS: [&str; 6] = [
    "cat-lai",
    "hac-thanh",
    "mixed-scopes",
    "na-meo",
    "pooled-ward",
    "thanh-hoa",
];

#[test]
fn counts_add_up_and_deputies_stay_in_scope() {
    for name in SCENARIOS {
        let scenario = shipped(name);
        for policy in policies(&scenario).expect("policies") {
            let opts = options(&scenario, policy);
            let mut sim = Sim::new(&scenario, &opts, crate::arrivals::schedule).expect("sim");
            sim.run();
            let (ours, balancer) = sim.balancer_queued();
            assert_eq!(ours, balancer, "{name} {policy}: queued records");
            let r = run(&scenario, &opts).expect("run");
            assert_eq!(r.signed + r.unfinished, r.records, "{name} {policy}");
            assert_eq!(r.out_of_scope, 0, "{name} {policy}: deputy outside scope");
            assert!(r.on_time <= r.signed);
            assert_eq!(r.wait_samples_secs.len() as u64, r.signed);
            assert_eq!(r.wait_to_signed.len(), r.signed);
            assert!(r.wait_samples_secs.iter().all(|w| *w >= 0.0));
            assert_eq!(
                r.pool_depth.last().map(|p| p.0),
                Some(scenario.duration_secs)
            );
            assert!(r.per_ward_worst.len() <= 10);
        }
    }
}

/// Records of the run that no deputy's scope covers (only the director may sign them).
fn director_only(sim: &Sim) -> u64 {
    let world = &sim.world;
    let deputy_may = |p: usize| {
        world
            .signers
            .iter()
            .any(|s| s.role == SignerRole::Deputy && s.scope.get(p).copied().unwrap_or(false))
    };
    world
        .records
        .iter()
        .filter(|r| r.state != State::Future && !deputy_may(usize::from(r.fact.procedure)))
        .count() as u64
}

#[test]
fn cat_lai_late_binding_spares_the_director_and_meets_every_deadline() {
    let scenario = shipped("cat-lai");
    for policy in Policy::ALL {
        let r = run(&scenario, &options(&scenario, policy)).expect("run");
        println!(
            "cat-lai {:13} director share {:5.1}% on time {:6.2}% ({} of {}, {} unfinished) escalations {}",
            r.policy,
            100.0 * r.director_share(),
            100.0 * r.on_time_rate(),
            r.on_time,
            r.records,
            r.unfinished,
            r.escalations,
        );
    }
    // Late binding leaves the director exactly the records no deputy may sign: its share is the
    // share of director-only procedures in the day's trace (18% of the mix: KD-HKD and DD-BD).
    let mut shares = Vec::new();
    for seed in scenario.seed..scenario.seed + 10 {
        let opts = SimOptions {
            seed,
            ..options(&scenario, Policy::LateBinding)
        };
        let mut sim = Sim::new(&scenario, &opts, crate::arrivals::schedule).expect("sim");
        sim.run();
        let only = director_only(&sim);
        let r = run(&scenario, &opts).expect("run");
        println!(
            "cat-lai late-binding seed {seed}: {} records, {only} director-only, director share {:.1}%, on time {:.2}% ({} unfinished at 15:30)",
            r.records,
            100.0 * r.director_share(),
            100.0 * r.on_time_rate(),
            r.unfinished,
        );
        assert_eq!(
            r.signed_by_director, only,
            "seed {seed}: only director-only records"
        );
        assert_eq!(r.escalations, 0);
        assert_eq!(r.on_time, r.signed, "seed {seed}: every signature on time");
        assert!(r.on_time_rate() >= 0.99, "seed {seed}");
        if seed == scenario.seed {
            assert_eq!(
                r.on_time, r.records,
                "the scenario's day: every record on time"
            );
        }
        shares.push(r.director_share());
    }
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    println!(
        "cat-lai late-binding: mean director share over 10 days {:.1}%",
        100.0 * mean
    );
    assert!(mean <= 0.20, "{mean}");
}

#[test]
fn cat_lai_surge_of_half_again_stays_on_time() {
    let mut scenario = shipped("cat-lai");
    scenario.arrivals = Arrivals::WorkingDay {
        per_day: 100.0,
        surge: 1.5,
    };
    let r = run(&scenario, &options(&scenario, Policy::LateBinding)).expect("run");
    println!(
        "cat-lai ×1.5 surge: {} records, on time {:.2}%, director share {:.1}%",
        r.records,
        100.0 * r.on_time_rate(),
        100.0 * r.director_share()
    );
    assert!(r.on_time_rate() >= 0.99, "{}", r.on_time_rate());
}

#[test]
fn leases_not_acted_on_expire_and_records_are_still_signed() {
    // Ten-record leases signed one at a time at 2 minutes each: when a deputy grabs more than
    // five, the tail of its lease outlives the 10-minute lease timeout and goes back.
    let text = r#"
        name = "long-leases"
        duration_secs = 28800
        lease_size = 10
        arrivals = { kind = "poisson", per_hour = 45 }
        procedures = [{ code = "CT-BS", weight = 1 }]
        [[wards]]
        id = "w"
        [[wards.signers]]
        id = "director"
        role = "director"
        service = { dist = "fixed", secs = 60 }
        [[wards.signers]]
        id = "deputy-1"
        role = "deputy"
        procedures = ["*"]
        service = { dist = "exponential", mean_secs = 120 }
        [[wards.signers]]
        id = "deputy-2"
        role = "deputy"
        procedures = ["*"]
        service = { dist = "exponential", mean_secs = 120 }
    "#;
    let scenario = Scenario::parse(text, "test").expect("scenario");
    for policy in [Policy::LateBinding, Policy::RoundRobin] {
        let r = run(&scenario, &options(&scenario, policy)).expect("run");
        println!(
            "long leases {:13}: {} expiries, {} of {} signed",
            r.policy, r.lease_expiries, r.signed, r.records
        );
        assert!(r.lease_expiries > 0);
        assert_eq!(r.out_of_scope, 0);
        assert_eq!(r.signed + r.unfinished, r.records);
        assert!(r.unfinished <= 20, "nearly everything signed");
    }
}

#[test]
fn dropping_connections_are_survived() {
    let scenario = shipped("na-meo");
    for policy in [Policy::LateBinding, Policy::RoundRobin] {
        let r = run(&scenario, &options(&scenario, policy)).expect("run");
        println!(
            "na-meo {:13}: on time {:.2}%, {} expiries, {} unfinished",
            r.policy,
            100.0 * r.on_time_rate(),
            r.lease_expiries,
            r.unfinished
        );
        assert_eq!(r.signed + r.unfinished, r.records);
        assert!(r.on_time_rate() > 0.9);
    }
}

#[test]
fn values_the_simulator_cannot_use_are_errors() {
    let base = shipped("cat-lai");
    let mut unknown = base.clone();
    unknown.procedures[0].code = "NO-SUCH".into();
    let err = run(&unknown, &SimOptions::default()).expect_err("unknown code");
    assert!(
        err.to_string()
            .contains("procedures[0].code: \"NO-SUCH\" is not in the catalogue"),
        "{err}"
    );
    let mut guard = base.clone();
    guard.director_guard_secs = f64::NAN;
    assert!(run(&guard, &SimOptions::default()).is_err());
    let mut twice = base.clone();
    let deputy = twice.wards[0].signers[1].clone();
    twice.wards[0].signers.push(deputy);
    let err = run(&twice, &SimOptions::default()).expect_err("duplicate id");
    assert!(err.to_string().contains("signers[3].id"), "{err}");
    let sampling = SimOptions {
        sample_every_secs: 0.0,
        ..SimOptions::default()
    };
    assert!(run(&base, &sampling).is_err());
    let mut policy = base.clone();
    policy.policies = vec!["fastest".into()];
    assert!(matches!(
        SimOptions::for_scenario(&policy),
        Err(SimError::Policy(_))
    ));
}
