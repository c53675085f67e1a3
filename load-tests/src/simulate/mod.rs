//! `signq simulate`'s engine: a discrete-event simulation that drives the scheduler's real
//! [`Balancer`](signq_scheduler::balancer::Balancer) under virtual time, so that a ward's day,
//! or a national one (3,321 wards), runs in seconds under every balancing policy on the same
//! arrivals (DESIGN.md "Balancing" and "Measuring").
//!
//! The balancer is pure (no clock, no tasks), so the simulator passes it a virtual `now` and
//! plays the people around it: records arriving on the scenario's schedule, directors and
//! deputies at tablets who take leases, sign in batches, go away and lose their connection.
//! What comes out ([`SimResult`]) is what the load tests measure on the real services: on-time
//! rate, the directors' share of signatures, waits, pool depth, lease expiries.
//!
//! # Files
//! - `options.rs`: [`SimOptions`] (policy, seed, lease timeout, sampling) and [`policies`];
//! - `trace.rs`: seeded streams and the arrival trace, identical under every policy;
//! - `world.rs`: wards, signers and records by index, and the directory facts for the balancer;
//! - `event.rs`: the virtual-time event queue;
//! - `engine.rs`: the event loop and the signers' behaviour;
//! - `stats.rs`, `result.rs`: what is measured, and [`SimResult`];
//! - `whatif.rs`: [`fewest_deputies`], [`director_away`];
//! - `error.rs`: [`SimError`];
//! - `tests/`: determinism, invariants, the M/M/3 yardstick, the national day (ignored).

mod engine;
mod error;
mod event;
mod options;
mod result;
mod stats;
mod trace;
mod whatif;
mod world;

#[cfg(test)]
mod tests;

pub use error::SimError;
pub use options::{SimOptions, policies};
pub use result::SimResult;
pub use whatif::{director_away, fewest_deputies};

use crate::scenario::Scenario;
use trace::Schedule;

/// Simulates `scenario` under `options` (its policy and seed) and reports what happened.
///
/// Deterministic: the same scenario and options give the same result (but for `wall_secs` and
/// `peak_rss_bytes`), and every policy sees the same arrivals, procedures, deadlines and
/// service-time draws.
pub fn run(scenario: &Scenario, options: &SimOptions) -> Result<SimResult, SimError> {
    run_with(scenario, options, crate::arrivals::schedule)
}

/// [`run`] with another arrival schedule (tests).
fn run_with(
    scenario: &Scenario,
    options: &SimOptions,
    schedule: Schedule,
) -> Result<SimResult, SimError> {
    let started = std::time::Instant::now();
    let mut sim = engine::Sim::new(scenario, options, schedule)?;
    sim.run();
    let ward_ids = sim.world.wards.iter().map(|w| w.id.clone()).collect();
    Ok(sim.stats.into_result(stats::RunFacts {
        scenario: &scenario.name,
        policy: options.policy.as_str(),
        seed: options.seed,
        ward_ids,
        wall_secs: started.elapsed().as_secs_f64(),
    }))
}
