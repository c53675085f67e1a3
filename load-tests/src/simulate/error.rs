//! Why a simulation cannot run: one typed error for the simulator's boundary.
//!
//! The scenario format accepts a few values the simulator cannot give a meaning to (a
//! non-finite parameter, duplicate signer ids): they are
//! reported here, naming the field, instead of panicking halfway through a run.

use signq_scheduler::balancer::ParsePolicyError;

use crate::scenario::ScenarioError;

/// Why [`run`](super::run) (or a what-if helper) refused a scenario or its options.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario fails its own checks ([`Scenario::validate`](crate::scenario::Scenario::validate)).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A value the scenario format accepts but the simulator cannot use; `field` names it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as in the scenario file (`wards[0].signers[1].service`) or the options.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A policy name of the scenario is not known to the balancer.
    #[error(transparent)]
    Policy(#[from] ParsePolicyError),
    /// A latency histogram could not be created (bounds rejected by hdrhistogram).
    #[error("histogram: {0}")]
    Histogram(String),
}

/// A [`SimError::Invalid`] naming `field`.
pub(super) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SimError {
    SimError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}
