//! The numbers of a report, derived once from the measured series.
//!
//! `summary.json` is this structure serialised, and `summary.md` is rendered from it, so the
//! two always agree. Field names are part of the file format: rename nothing, add fields.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::units::percent;
use super::{PolicyRun, Report, YardstickPoint};

/// Percentile levels listed in [`WaitSummary::percentiles`].
pub const SUMMARY_PERCENTILES: [f64; 8] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0];

/// How far measured/predicted may be from 1 and still count as agreeing with Erlang C.
pub const YARDSTICK_TOLERANCE: f64 = 0.15;

/// Everything `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The report's title.
    pub title: String,
    /// The scenario that was run.
    pub scenario: String,
    /// What the scenario is and what it asks.
    pub description: String,
    /// Seed of the random arrivals and service times.
    pub seed: u64,
    /// `simulated` or `measured against the real services`.
    pub source: String,
    /// Commands that reproduce the report.
    pub commands: Vec<String>,
    /// One entry per policy, in the order of [`Report::runs`].
    pub runs: Vec<RunSummary>,
    /// Measured waits against Erlang C, in the order of [`Report::yardstick`].
    pub yardstick: Vec<YardstickRow>,
    /// The report's notes, then the writer's own (skipped plots, missing font).
    pub notes: Vec<String>,
    /// Plots written, by name.
    pub plots: Vec<PlotFiles>,
}

/// One policy's run, as numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Balancing policy.
    pub policy: String,
    /// Records submitted.
    pub records: u64,
    /// Records signed by the end of the run.
    pub signed: u64,
    /// Records not signed by the end of the run.
    pub unfinished: u64,
    /// Records signed within their deadline.
    pub on_time: u64,
    /// `on_time / records`, in percent; `null` without records.
    pub on_time_pct: Option<f64>,
    /// Signed within the due time on the legal calendar.
    pub on_time_legal: u64,
    /// `on_time_legal / records`, in percent; `null` without records.
    pub on_time_legal_pct: Option<f64>,
    /// Signed records that the director signed.
    pub signed_by_director: u64,
    /// `signed_by_director / signed`, in percent; `null` when nothing was signed.
    pub director_share_pct: Option<f64>,
    /// Records escalated to the director.
    pub escalations: u64,
    /// Leases that ran out before the signer finished.
    pub lease_expiries: u64,
    /// Requests refused by a rate limit.
    pub rate_limited: u64,
    /// Submit to first lease.
    pub wait_to_lease: WaitSummary,
    /// Submit to signed.
    pub wait_to_signed: WaitSummary,
    /// Largest number of queued records seen; `null` without a depth series.
    pub max_pool_depth: Option<u64>,
    /// Queued records at the last sample; `null` without a depth series.
    pub final_pool_depth: Option<u64>,
}

/// A wait histogram, as numbers in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitSummary {
    /// Waits recorded.
    pub count: u64,
    /// Shortest wait; `null` when none was recorded (likewise below).
    pub min_ms: Option<u64>,
    /// Mean wait.
    pub mean_ms: Option<f64>,
    /// Standard deviation of the waits.
    pub stdev_ms: Option<f64>,
    /// Median.
    pub p50_ms: Option<u64>,
    /// 90th percentile.
    pub p90_ms: Option<u64>,
    /// 99th percentile.
    pub p99_ms: Option<u64>,
    /// Longest wait.
    pub max_ms: Option<u64>,
    /// The waits at [`SUMMARY_PERCENTILES`]; empty when none was recorded.
    pub percentiles: Vec<PercentileValue>,
    /// The `.hgrm` file beside `summary.json` with the full distribution.
    pub hgrm: String,
}

/// One percentile of a wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentileValue {
    /// Percentile level, 0–100.
    pub percentile: f64,
    /// Wait at that level, in milliseconds (the highest value equivalent to it in the
    /// histogram's precision).
    pub value_ms: u64,
}

/// A yardstick point with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YardstickRow {
    /// The point as measured.
    #[serde(flatten)]
    pub point: YardstickPoint,
    /// `measured_mean_secs / predicted_mean_secs`; `null` when the prediction is not positive.
    pub ratio: Option<f64>,
    /// Whether the ratio is within ±15 % of 1; `null` without a ratio.
    pub within_tolerance: Option<bool>,
}

/// The files of one plot, relative to the report directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotFiles {
    /// Name of the plot, e.g. `pool-depth`.
    pub name: String,
    /// What it shows.
    pub title: String,
    /// The SVG file.
    pub svg: String,
    /// The PNG file.
    pub png: String,
}

impl Summary {
    /// The numbers of `report`; `stems` are the file-name stems of its policies (see
    /// [`super::file_stems`]); notes and plots are left for the writer to fill in.
    pub(crate) fn of(report: &Report, stems: &[String]) -> Self {
        Self {
            title: report.title.clone(),
            scenario: report.scenario.clone(),
            description: report.description.clone(),
            seed: report.seed,
            source: report.source.clone(),
            commands: report.commands.clone(),
            runs: report
                .runs
                .iter()
                .zip(stems)
                .map(|(run, stem)| RunSummary::of(run, stem))
                .collect(),
            yardstick: report.yardstick.iter().map(YardstickRow::of).collect(),
            notes: report.notes.clone(),
            plots: Vec::new(),
        }
    }
}

impl RunSummary {
    /// The numbers of one run whose files start with `stem`.
    fn of(run: &PolicyRun, stem: &str) -> Self {
        Self {
            policy: run.policy.clone(),
            records: run.records,
            signed: run.signed,
            unfinished: run.unfinished,
            on_time: run.on_time,
            on_time_pct: percent(run.on_time, run.records),
            on_time_legal: run.on_time_legal,
            on_time_legal_pct: percent(run.on_time_legal, run.records),
            signed_by_director: run.signed_by_director,
            director_share_pct: percent(run.signed_by_director, run.signed),
            escalations: run.escalations,
            lease_expiries: run.lease_expiries,
            rate_limited: run.rate_limited,
            wait_to_lease: WaitSummary::of(&run.wait_to_lease, hgrm_name(stem, WAIT_TO_LEASE)),
            wait_to_signed: WaitSummary::of(&run.wait_to_signed, hgrm_name(stem, WAIT_TO_SIGNED)),
            max_pool_depth: run.pool_depth.iter().map(|&(_, d)| d).max(),
            final_pool_depth: run.pool_depth.last().map(|&(_, d)| d),
        }
    }
}

/// Suffix of the submit-to-lease `.hgrm` file.
pub(crate) const WAIT_TO_LEASE: &str = "wait-to-lease";
/// Suffix of the submit-to-signed `.hgrm` file.
pub(crate) const WAIT_TO_SIGNED: &str = "wait-to-signed";

/// `<stem>-<what>.hgrm`.
pub(crate) fn hgrm_name(stem: &str, what: &str) -> String {
    format!("{stem}-{what}.hgrm")
}

impl WaitSummary {
    /// The numbers of `h` (milliseconds), whose distribution is in the file `hgrm`.
    fn of(h: &Histogram<u64>, hgrm: String) -> Self {
        let some = !h.is_empty();
        let at = |p: f64| some.then(|| h.value_at_percentile(p));
        Self {
            count: h.len(),
            min_ms: some.then(|| h.min()),
            mean_ms: some.then(|| h.mean()),
            stdev_ms: some.then(|| h.stdev()),
            p50_ms: at(50.0),
            p90_ms: at(90.0),
            p99_ms: at(99.0),
            max_ms: some.then(|| h.max()),
            percentiles: if some {
                SUMMARY_PERCENTILES
                    .iter()
                    .map(|&p| PercentileValue {
                        percentile: p,
                        value_ms: h.value_at_percentile(p),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            hgrm,
        }
    }
}

impl YardstickRow {
    /// The verdict on one point.
    fn of(point: &YardstickPoint) -> Self {
        let ratio = (point.predicted_mean_secs.is_finite() && point.predicted_mean_secs > 0.0)
            .then(|| point.measured_mean_secs / point.predicted_mean_secs)
            .filter(|r| r.is_finite());
        Self {
            point: point.clone(),
            ratio,
            within_tolerance: ratio.map(|r| (r - 1.0).abs() <= YARDSTICK_TOLERANCE),
        }
    }
}
