//! What a run measures, accumulated as the events happen: counts, latency histograms, the
//! per-record wait series, the time series, and per-ward on-time rates.
//!
//! Latencies go into HdrHistograms in milliseconds (3 significant digits, up to 100 days), the
//! same as the open-loop load tests, so simulated and measured runs read alike.

use hdrhistogram::Histogram;

use super::error::SimError;
use super::trace::Fact;

/// The highest latency a histogram holds, ms (100 days; larger values are clamped).
const MAX_MS: u64 = 100 * 86_400 * 1000;

/// Running totals of one simulation.
#[derive(Debug)]
pub(super) struct Stats {
    pub(super) records: u64,
    pub(super) signed: u64,
    pub(super) on_time: u64,
    pub(super) on_time_legal: u64,
    pub(super) by_director: u64,
    pub(super) escalations: u64,
    pub(super) expiries: u64,
    pub(super) out_of_scope: u64,
    /// Sum of (deadline − start) over arrived records, ms.
    pub(super) deadline_ms: u64,
    /// Order-independent digest of the arrived records' facts.
    pub(super) digest: u64,
    pub(super) wait_to_lease: Histogram<u64>,
    pub(super) wait_to_signed: Histogram<u64>,
    pub(super) wait_samples: Vec<f64>,
    pub(super) pool_depth: Vec<(f64, u64)>,
    pub(super) director_share: Vec<(f64, f64)>,
    ward_records: Vec<u32>,
    ward_on_time: Vec<u32>,
}

/// Seconds as whole milliseconds (negative and NaN as 0).
fn ms(secs: f64) -> u64 {
    (secs * 1000.0).round().max(0.0) as u64
}

/// SplitMix64's finaliser, for the trace digest.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Stats {
    /// Empty totals for `wards` wards.
    pub(super) fn new(wards: usize) -> Result<Stats, SimError> {
        let histogram = || {
            Histogram::new_with_bounds(1, MAX_MS, 3).map_err(|e| SimError::Histogram(e.to_string()))
        };
        Ok(Stats {
            records: 0,
            signed: 0,
            on_time: 0,
            on_time_legal: 0,
            by_director: 0,
            escalations: 0,
            expiries: 0,
            out_of_scope: 0,
            deadline_ms: 0,
            digest: 0,
            wait_to_lease: histogram()?,
            wait_to_signed: histogram()?,
            wait_samples: Vec::new(),
            pool_depth: Vec::new(),
            director_share: Vec::new(),
            ward_records: vec![0; wards],
            ward_on_time: vec![0; wards],
        })
    }

    /// A record arrived.
    pub(super) fn arrived(&mut self, ward: u32, fact: &Fact) {
        self.records += 1;
        self.deadline_ms = self.deadline_ms.saturating_add(ms(fact.deadline));
        let h = [
            u64::from(ward),
            fact.at.to_bits(),
            fact.deadline.to_bits(),
            u64::from(fact.procedure),
            fact.unit_exp.to_bits(),
            fact.normal.to_bits(),
        ]
        .into_iter()
        .fold(0x6a09_e667_f3bc_c908, |h, x| mix(h ^ x));
        self.digest = self.digest.wrapping_add(h);
        if let Some(n) = self.ward_records.get_mut(ward as usize) {
            *n += 1;
        }
    }

    /// A record was signed at `finish`, under a lease granted at `lease_at`.
    pub(super) fn signed(
        &mut self,
        ward: u32,
        fact: &Fact,
        lease_at: f64,
        finish: f64,
        director: bool,
        in_scope: bool,
    ) {
        self.signed += 1;
        let to_lease = lease_at - fact.at;
        self.wait_to_lease.saturating_record(ms(to_lease));
        self.wait_to_signed.saturating_record(ms(finish - fact.at));
        self.wait_samples.push(to_lease);
        if finish <= fact.deadline {
            self.on_time += 1;
            if let Some(n) = self.ward_on_time.get_mut(ward as usize) {
                *n += 1;
            }
        }
        if finish <= fact.legal {
            self.on_time_legal += 1;
        }
        if director {
            self.by_director += 1;
        }
        if !in_scope {
            self.out_of_scope += 1;
        }
    }

    /// One point of each time series.
    pub(super) fn sample(&mut self, t: f64, queued: u64) {
        self.pool_depth.push((t, queued));
        let share = if self.signed == 0 {
            0.0
        } else {
            self.by_director as f64 / self.signed as f64
        };
        self.director_share.push((t, share));
    }

    /// Up to `n` wards with the lowest on-time rate (unfinished records count as late), worst
    /// first, ties in ward order; wards without records are left out.
    pub(super) fn worst_wards(&self, ids: &[String], n: usize) -> Vec<(String, f64)> {
        let mut rates: Vec<(usize, f64)> = self
            .ward_records
            .iter()
            .zip(&self.ward_on_time)
            .enumerate()
            .filter(|(_, (records, _))| **records > 0)
            .map(|(i, (records, on_time))| (i, f64::from(*on_time) / f64::from(*records)))
            .collect();
        rates.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        rates
            .into_iter()
            .take(n)
            .filter_map(|(i, rate)| Some((ids.get(i)?.clone(), rate)))
            .collect()
    }
}

/// What a run adds to its [`Stats`] to make a [`SimResult`](super::SimResult).
#[derive(Debug)]
pub(super) struct RunFacts<'a> {
    pub(super) scenario: &'a str,
    pub(super) policy: &'a str,
    pub(super) seed: u64,
    pub(super) ward_ids: Vec<String>,
    pub(super) wall_secs: f64,
}

impl Stats {
    /// The report of a finished run.
    pub(super) fn into_result(self, facts: RunFacts<'_>) -> super::SimResult {
        let per_ward_worst = self.worst_wards(&facts.ward_ids, 10);
        super::SimResult {
            scenario: facts.scenario.to_owned(),
            policy: facts.policy.to_owned(),
            seed: facts.seed,
            records: self.records,
            signed: self.signed,
            unfinished: self.records.saturating_sub(self.signed),
            on_time: self.on_time,
            on_time_legal: self.on_time_legal,
            signed_by_director: self.by_director,
            escalations: self.escalations,
            lease_expiries: self.expiries,
            out_of_scope: self.out_of_scope,
            deadline_total_secs: self.deadline_ms as f64 / 1000.0,
            trace_digest: self.digest,
            wait_to_lease: self.wait_to_lease,
            wait_to_signed: self.wait_to_signed,
            wait_samples_secs: self.wait_samples,
            pool_depth: self.pool_depth,
            director_share_over_time: self.director_share,
            per_ward_worst,
            wall_secs: facts.wall_secs,
            peak_rss_bytes: super::result::peak_rss_bytes(),
        }
    }
}
