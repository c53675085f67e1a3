//! The early-binding choosers: given the signers eligible for a record now (deputies if any,
//! else the director: director-last decided at submission), pick the one whose own queue the
//! record joins.
//!
//! - round robin: the next candidate after the one chosen last in the ward, by id, wrapping;
//!   a rotation that survives signers joining, leaving or losing eligibility;
//! - random: uniform over the candidates, from the ward's seeded stream;
//! - join-shortest-queue: the fewest queued + leased records;
//! - least-expected-time: the least (queued + leased + 1) × mean signing time, the mean being
//!   an EWMA of the signer's observed service times with the configured prior.
//!
//! Ties go to the lowest id, so every choice is a pure function of the inputs and the seed.

use rand::Rng;
use rand::rngs::StdRng;

use super::config::Policy;

/// A signer that may take the record, as the choosers see it.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    /// The signer id (candidates come in id order).
    pub(super) id: String,
    /// Records in the signer's own queue plus records leased to it.
    pub(super) load: usize,
    /// The signer's mean signing time per record, seconds.
    pub(super) mean_secs: f64,
    /// The delegation the record would be charged to (deputies).
    pub(super) charge: Option<String>,
}

/// Weight of the newest observation in the service-time EWMA.
pub(super) const EWMA_ALPHA: f64 = 0.25;

/// The mean after observing one more service time.
pub(super) fn ewma(mean: f64, observed: f64) -> f64 {
    mean + EWMA_ALPHA * (observed - mean)
}

/// The index of the chosen candidate (None if there are none, or for late binding).
pub(super) fn choose(
    policy: Policy,
    candidates: &[Candidate],
    rr_last: &mut Option<String>,
    rng: &mut StdRng,
) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let chosen = match policy {
        Policy::LateBinding => return None,
        Policy::RoundRobin => {
            let after = rr_last.as_deref();
            candidates
                .iter()
                .position(|c| after.is_none_or(|last| c.id.as_str() > last))
                .unwrap_or(0)
        }
        Policy::Random => rng.random_range(0..candidates.len()),
        Policy::JoinShortestQueue => candidates
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.load)
            .map_or(0, |(i, _)| i),
        Policy::LeastExpectedTime => candidates
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| expected(a).total_cmp(&expected(b)))
            .map_or(0, |(i, _)| i),
    };
    if policy == Policy::RoundRobin {
        *rr_last = candidates.get(chosen).map(|c| c.id.clone());
    }
    Some(chosen)
}

/// Expected time until a new record would be signed by this candidate.
fn expected(c: &Candidate) -> f64 {
    (c.load as f64 + 1.0) * c.mean_secs
}
