//! From runs to reports: simulator results and load-run observations become the report's
//! [`PolicyRun`]s, and the yardstick sweep runs a pooled ward at several utilisations and sets
//! each measured mean wait beside Erlang C's prediction, with its confidence interval.

use hdrhistogram::Histogram;
use signq_scheduler::balancer::Policy;

use crate::queueing;
use crate::report::{PolicyRun, YardstickPoint};
use crate::runner::tracker::Observed;
use crate::scenario::{Arrivals, Scenario};
use crate::simulate::{self, SimOptions, SimResult};

/// A simulator result as a report run.
pub fn from_sim(r: &SimResult) -> PolicyRun {
    PolicyRun {
        policy: r.policy.clone(),
        records: r.records,
        signed: r.signed,
        unfinished: r.unfinished,
        on_time: r.on_time,
        on_time_legal: r.on_time_legal,
        signed_by_director: r.signed_by_director,
        escalations: r.escalations,
        lease_expiries: r.lease_expiries,
        rate_limited: 0,
        wait_to_lease: r.wait_to_lease.clone(),
        wait_to_signed: r.wait_to_signed.clone(),
        pool_depth: r.pool_depth.clone(),
        director_share_over_time: r.director_share_over_time.clone(),
    }
}

/// A histogram of milliseconds up to 31 days, 3 significant digits.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 31 * 86_400_000, 3)?)
}

/// A load run's observations as a report run (virtual seconds become milliseconds).
pub fn from_observed(policy: &str, o: &Observed) -> anyhow::Result<PolicyRun> {
    let mut lease = histogram()?;
    let mut signed_h = histogram()?;
    let (mut signed, mut on_time, mut director) = (0, 0, 0);
    for s in o.records.values() {
        if let Some(l) = s.first_lease {
            let _ = lease.record(((l - s.submitted).max(0.001) * 1000.0) as u64);
        }
        if let Some(at) = s.signed {
            signed += 1;
            on_time += u64::from(at <= s.deadline);
            director += u64::from(s.by_director);
            let _ = signed_h.record(((at - s.submitted).max(0.001) * 1000.0) as u64);
        }
    }
    let records = o.records.len() as u64;
    Ok(PolicyRun {
        policy: policy.to_string(),
        records,
        signed,
        unfinished: records - signed,
        on_time,
        // A load run counts by the calendar.
        on_time_legal: on_time,
        signed_by_director: director,
        escalations: o.escalations,
        lease_expiries: o.lease_expiries,
        rate_limited: o.rate_limited,
        wait_to_lease: lease,
        wait_to_signed: signed_h,
        pool_depth: o.pool_depth.clone(),
        director_share_over_time: o.director_share.clone(),
    })
}

/// The pooled ward's shape: (servers, mean service seconds). The servers are the deputies with
/// full scope ("*"); the director takes no pool work under director-last with a zero guard.
pub fn pooled_shape(scenario: &Scenario) -> Option<(u32, f64)> {
    let ward = scenario.wards.first()?;
    let servers: Vec<_> = ward
        .signers
        .iter()
        .filter(|s| s.role == "deputy" && s.procedures.iter().any(|p| p == "*"))
        .collect();
    let mean = servers.first()?.service.mean();
    Some((servers.len() as u32, mean))
}

/// Runs the pooled ward (in the simulator) at each utilisation; each point's mean wait comes with
/// a 95% batch-means interval (20 batches) and the prediction: Erlang C for M/M/c when service
/// is exponential, otherwise the Allen–Cunneen approximation for M/G/c (Poisson arrivals, the
/// service's squared coefficient of variation).
pub fn yardstick(
    scenario: &Scenario,
    utilisations: &[f64],
    policy: Policy,
) -> anyhow::Result<Vec<YardstickPoint>> {
    let (c, mean) =
        pooled_shape(scenario).ok_or_else(|| anyhow::anyhow!("the scenario has no signers"))?;
    let scv = scenario
        .wards
        .first()
        .and_then(|w| w.signers.iter().find(|s| s.role == "deputy"))
        .map(|s| s.service.scv())
        .unwrap_or(1.0);
    let mu = 1.0 / mean;
    let mut points = Vec::new();
    for &rho in utilisations {
        let lambda = queueing::arrival_rate_for(c, mu, rho);
        let mut s = scenario.clone();
        s.arrivals = Arrivals::Poisson {
            per_hour: lambda * 3600.0,
        };
        let options = SimOptions {
            policy,
            seed: scenario.seed,
            ..SimOptions::default()
        };
        let r = simulate::run(&s, &options)?;
        // Leave out the first tenth (the empty system warming up).
        let samples = &r.wait_samples_secs[r.wait_samples_secs.len() / 10..];
        let ci = queueing::batch_means_ci(samples, 20, 0.95)
            .ok_or_else(|| anyhow::anyhow!("too few samples at utilisation {rho}"))?;
        let predicted = if (scv - 1.0).abs() < 1e-9 {
            queueing::mmc_mean_wait(c, lambda, mu)
        } else {
            queueing::allen_cunneen_mean_wait(c, lambda, mean, 1.0, scv)
        }
        .unwrap_or(f64::NAN);
        let q = |p: f64| r.wait_to_lease.value_at_quantile(p) as f64 / 1000.0;
        points.push(YardstickPoint {
            utilisation: rho,
            measured_mean_secs: ci.mean,
            ci_low_secs: ci.low,
            ci_high_secs: ci.high,
            predicted_mean_secs: predicted,
            policy: policy.to_string(),
            p50_secs: q(0.5),
            p90_secs: q(0.9),
            p99_secs: q(0.99),
            // Erlang C's tail holds for exponential service only.
            predicted_p90_secs: queueing::mmc_wait_quantile(c, lambda, mu, 0.9)
                .filter(|_| (scv - 1.0).abs() < 1e-9),
            predicted_p99_secs: queueing::mmc_wait_quantile(c, lambda, mu, 0.99)
                .filter(|_| (scv - 1.0).abs() < 1e-9),
        });
    }
    Ok(points)
}
