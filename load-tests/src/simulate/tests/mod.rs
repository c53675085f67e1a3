//! The simulator's tests: determinism and the shared trace, invariants on the shipped scenarios,
//! runs on real dates,
//! the M/M/3 yardstick against Erlang C, and the national day (ignored: run it in release).

mod calendar;
mod determinism;
mod invariants;
mod mmc;
mod national;
mod whatif;

use std::path::Path;

use signq_scheduler::balancer::Policy;

use super::SimOptions;
use crate::scenario::Scenario;

/// A shipped scenario, by file stem.
fn shipped(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The scenario's own seed under `policy`.
fn options(scenario: &Scenario, policy: Policy) -> SimOptions {
    SimOptions {
        policy,
        seed: scenario.seed,
        ..SimOptions::default()
    }
}
