//! How to run one simulation: the policy, the seed, the lease timeout and what to record.
//!
//! The scenario says what the ward looks like; these options say how to look at it, so that the
//! same scenario can be run under every policy and seed without editing the file.

use signq_scheduler::balancer::Policy;

use super::error::{SimError, invalid};
use crate::dates::Counting;
use crate::scenario::Scenario;

/// The options of one [`run`](super::run).
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// The balancing policy under test.
    pub policy: Policy,
    /// The seed of every random draw; per-ward and per-signer streams derive from it, so the same
    /// seed gives bit-identical results and every policy sees the same arrival trace.
    pub seed: u64,
    /// Show an indicatif progress bar (virtual time) on stderr.
    pub progress: bool,
    /// Resolution of the pool-depth and director-share time series, virtual seconds.
    pub sample_every_secs: f64,
    /// How long a lease not acted on lasts before it returns to the pool, virtual seconds (the
    /// scheduler's `lease_timeout`).
    pub lease_timeout_secs: f64,
    /// How deadlines are counted: by the legal calendar, or in clock hours as signq did before
    /// it (to measure what that mis-stated).
    pub counting: Counting,
}

impl Default for SimOptions {
    /// Late binding, seed 1, no progress bar, one sample a minute, 10-minute leases.
    fn default() -> Self {
        SimOptions {
            policy: Policy::LateBinding,
            seed: 1,
            progress: false,
            sample_every_secs: 60.0,
            lease_timeout_secs: 600.0,
            counting: Counting::Calendar,
        }
    }
}

impl SimOptions {
    /// The defaults with the scenario's seed and its headline (first) policy.
    pub fn for_scenario(scenario: &Scenario) -> Result<SimOptions, SimError> {
        let policy = policies(scenario)?
            .first()
            .copied()
            .unwrap_or(Policy::LateBinding);
        Ok(SimOptions {
            policy,
            seed: scenario.seed,
            ..SimOptions::default()
        })
    }

    /// The same options under another policy.
    pub fn with_policy(&self, policy: Policy) -> SimOptions {
        SimOptions {
            policy,
            ..self.clone()
        }
    }

    /// Checks the values against a run of `duration_secs`.
    pub(super) fn check(&self, duration_secs: f64) -> Result<(), SimError> {
        let every = self.sample_every_secs;
        if !(every.is_finite() && every > 0.0) {
            return Err(invalid("sample_every_secs", "must be positive"));
        }
        if duration_secs / every > MAX_SAMPLES {
            return Err(invalid(
                "sample_every_secs",
                "too fine for the duration (more than 10 million samples)",
            ));
        }
        if !(self.lease_timeout_secs.is_finite() && self.lease_timeout_secs > 0.0) {
            return Err(invalid("lease_timeout_secs", "must be positive"));
        }
        Ok(())
    }
}

/// Samples per series at most: beyond this the series costs more memory than the run itself.
const MAX_SAMPLES: f64 = 10_000_000.0;

/// The scenario's policies, parsed, in order (the first is the headline).
pub fn policies(scenario: &Scenario) -> Result<Vec<Policy>, SimError> {
    scenario
        .policies
        .iter()
        .map(|p| p.parse::<Policy>().map_err(SimError::from))
        .collect()
}
