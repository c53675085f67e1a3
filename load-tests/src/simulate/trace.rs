//! The arrival trace: what arrives when, of which procedure, with which deadline, and how long
//! it will take to sign; plus the seeded streams everything random is drawn from.
//!
//! # Same trace under every policy
//! Each ward draws its arrivals, procedures and service-time draws from its own stream, seeded
//! from (seed, ward index) and consumed in arrival order only, never by the balancer's
//! decisions. Who will sign a record is not known at arrival, so a record carries one unit
//! exponential and one standard normal draw; the signer's distribution turns them into seconds
//! when it signs (`mean × E` is `Exp(1/mean)`, `exp(μ + σZ)` is `LogNormal(μ, σ)`, exactly the
//! `rand_distr` constructions). Every policy thus faces the same records with the same work in
//! them (common random numbers), and differences between policies are the policies' own.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Exp1, StandardNormal};

use super::error::{SimError, invalid};
use crate::dates::Deadlines;
use crate::scenario::{Arrivals, Scenario, ServiceTime};

/// Arrival times in seconds within `[0, duration)` for a ward of this load
/// (`crate::arrivals::schedule`'s signature, as a plain function pointer so tests can stub it).
pub(super) type Schedule = fn(&Arrivals, f64, f64, &mut StdRng) -> Vec<f64>;

/// SplitMix64's finaliser: a strong, stable 64-bit mix for deriving stream seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream `stream` of ward `ward` (0: arrivals; 1 + i: signer i's behaviour).
pub(super) fn stream(seed: u64, ward: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(mix(mix(mix(seed) ^ ward) ^ stream))
}

/// The procedure mix, resolved: codes, cumulative weights and due times.
#[derive(Debug)]
pub(super) struct Mix {
    /// The codes, in scenario order; a record's procedure is an index into this.
    pub(super) codes: Vec<String>,
    cumulative: Vec<f64>,
    /// Each procedure's due times.
    deadlines: Deadlines,
}

impl Mix {
    /// The scenario's mix, its records due by `deadlines`.
    pub(super) fn new(scenario: &Scenario, deadlines: Deadlines) -> Result<Mix, SimError> {
        let mut mix = Mix {
            codes: Vec::new(),
            cumulative: Vec::new(),
            deadlines,
        };
        if scenario.procedures.len() > usize::from(u16::MAX) {
            return Err(invalid("procedures", "at most 65,535"));
        }
        let mut total = 0.0;
        for (i, p) in scenario.procedures.iter().enumerate() {
            total += p.weight;
            if !total.is_finite() {
                return Err(invalid(
                    format!("procedures[{i}].weight"),
                    "weights must be finite",
                ));
            }
            mix.codes.push(p.code.clone());
            mix.cumulative.push(total);
        }
        Ok(mix)
    }

    /// A procedure index drawn by weight.
    fn draw(&self, rng: &mut StdRng) -> u16 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        u16::try_from(i.min(self.codes.len().saturating_sub(1))).unwrap_or(0)
    }
}

/// One record of the trace: the facts fixed at arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Fact {
    /// Arrival, virtual seconds.
    pub(super) at: f64,
    /// Deadline as the run counts it, virtual seconds: what the balancer and on-time see.
    pub(super) deadline: f64,
    /// Deadline by the legal calendar, virtual seconds (the same when the run counts by it).
    pub(super) legal: f64,
    /// The procedure, an index into [`Mix::codes`].
    pub(super) procedure: u16,
    /// A unit exponential draw (exponential service).
    pub(super) unit_exp: f64,
    /// A standard normal draw (lognormal service).
    pub(super) normal: f64,
}

/// A ward's records over `duration` seconds, in arrival order.
pub(super) fn ward_trace(
    arrivals: &Arrivals,
    duration: f64,
    load: f64,
    mix: &Mix,
    rng: &mut StdRng,
    schedule: Schedule,
) -> Vec<Fact> {
    let mut times = schedule(arrivals, duration, load, rng);
    times.retain(|t| t.is_finite() && *t >= 0.0 && *t < duration);
    times.sort_by(f64::total_cmp);
    times
        .into_iter()
        .map(|at| {
            let procedure = mix.draw(rng);
            let due = mix.deadlines.due(usize::from(procedure), at);
            Fact {
                at,
                deadline: due.counted,
                legal: due.legal,
                procedure,
                unit_exp: rng.sample(Exp1),
                normal: rng.sample(StandardNormal),
            }
        })
        .collect()
}

/// A signer's service-time distribution, ready to turn a record's draws into seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Service {
    /// Exponential with this mean.
    Exponential { mean: f64 },
    /// `exp(mu + sigma Z)`.
    Lognormal { mu: f64, sigma: f64 },
    /// Always this.
    Fixed { secs: f64 },
}

impl Service {
    /// The distribution of `service`; `field` names it in errors.
    pub(super) fn new(service: &ServiceTime, field: &str) -> Result<Service, SimError> {
        let bad = || invalid(field, "needs a finite positive mean and finite sd");
        let mean = service.mean();
        if !(mean.is_finite() && mean > 0.0) {
            return Err(bad());
        }
        Ok(match service {
            ServiceTime::Exponential { .. } => Service::Exponential { mean },
            ServiceTime::Fixed { .. } => Service::Fixed { secs: mean },
            ServiceTime::Lognormal { sd_secs, .. } => {
                if !sd_secs.is_finite() {
                    return Err(bad());
                }
                // Mean m and sd s: σ² = ln(1 + s²/m²), μ = ln m − σ²/2.
                let var = (1.0 + (sd_secs / mean).powi(2)).ln();
                Service::Lognormal {
                    mu: mean.ln() - var / 2.0,
                    sigma: var.sqrt(),
                }
            }
        })
    }

    /// Seconds this signer takes for the record with these draws.
    pub(super) fn secs(&self, fact: &Fact) -> f64 {
        match *self {
            Service::Exponential { mean } => mean * fact.unit_exp,
            Service::Lognormal { mu, sigma } => (mu + sigma * fact.normal).exp(),
            Service::Fixed { secs } => secs,
        }
    }
}
