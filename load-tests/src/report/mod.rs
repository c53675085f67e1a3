//! The report of a load run or a simulation: tables, JSON, percentile files and plots.
//!
//! The simulator and the real load runner measure the same things (how long records wait
//! for a lease and for a signature, how deep the queue gets, how much falls on the ward
//! director) and fill the same plain types, [`Report`] and [`PolicyRun`]; this module turns
//! them into files a person can read and a script can compare, independent of how the
//! numbers were obtained. [`Report::write`] creates a directory with:
//!
//! - `summary.md`: the tables, in human units, with links to everything else;
//! - `summary.json`: the same numbers ([`Summary`]), plus percentiles, with stable names;
//! - `<policy>-wait-to-lease.hgrm`, `<policy>-wait-to-signed.hgrm`: each wait distribution in
//!   HdrHistogram's classic percentile format, values in milliseconds ([`hgrm`]);
//! - charts as SVG and PNG (1200×700): `wait-vs-utilisation` (with yardstick points),
//!   `pool-depth`, `director-share`, `director-share-by-policy`, `wait-percentiles`.
//!
//! PNG text needs a TrueType font, found at run time (`SIGNQ_FONT`, then DejaVu Sans where
//! Debian's `fonts-dejavu-core` and Arch put it); without one the charts are drawn without
//! text and the notes say so.

mod error;
mod font;
pub mod hgrm;
mod markdown;
mod plot;
mod slug;
mod summary;
mod units;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

pub use self::error::ReportError;
pub use self::font::{FONT_ENV, FONT_PATHS};
pub use self::hgrm::percentile_distribution;
pub use self::summary::{
    PercentileValue, PlotFiles, RunSummary, SUMMARY_PERCENTILES, Summary, WaitSummary,
    YARDSTICK_TOLERANCE, YardstickRow,
};

use self::error::write_file;
use self::font::FontStatus;
use self::plot::Look;
use self::summary::{WAIT_TO_LEASE, WAIT_TO_SIGNED, hgrm_name};

/// One policy's run of one scenario.
#[derive(Debug, Clone)]
pub struct PolicyRun {
    /// Balancing policy, as named in the scenario (may be Vietnamese).
    pub policy: String,
    /// Records submitted.
    pub records: u64,
    /// Records signed by the end of the run.
    pub signed: u64,
    /// Records not signed by the end of the run.
    pub unfinished: u64,
    /// Records signed within their deadline, as the run counted it.
    pub on_time: u64,
    /// Records signed within their due time on the legal calendar (the same as `on_time` when the
    /// run counts by the calendar).
    pub on_time_legal: u64,
    /// Signed records that the director signed.
    pub signed_by_director: u64,
    /// Records escalated to the director.
    pub escalations: u64,
    /// Leases that ran out before the signer finished.
    pub lease_expiries: u64,
    /// Requests refused by a rate limit.
    pub rate_limited: u64,
    /// Submit to first lease, in milliseconds.
    pub wait_to_lease: Histogram<u64>,
    /// Submit to signed, in milliseconds.
    pub wait_to_signed: Histogram<u64>,
    /// `(seconds from start, queued records)`.
    pub pool_depth: Vec<(f64, u64)>,
    /// `(seconds from start, cumulative share of signed records signed by the director, 0..1)`.
    pub director_share_over_time: Vec<(f64, f64)>,
}

/// A measured mean wait at one utilisation, beside what Erlang C predicts for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YardstickPoint {
    /// Offered load over signing capacity, 0..1 for a stable queue.
    pub utilisation: f64,
    /// Measured mean wait, in seconds.
    pub measured_mean_secs: f64,
    /// Lower end of the mean's confidence interval, in seconds.
    pub ci_low_secs: f64,
    /// Upper end of the mean's confidence interval, in seconds.
    pub ci_high_secs: f64,
    /// Erlang C's mean wait, in seconds.
    pub predicted_mean_secs: f64,
    /// The policy that was run.
    pub policy: String,
    /// Measured median wait, in seconds.
    pub p50_secs: f64,
    /// Measured 90th percentile, in seconds.
    pub p90_secs: f64,
    /// Measured 99th percentile, in seconds.
    pub p99_secs: f64,
    /// Erlang C's 90th percentile, in seconds, where the model gives one.
    pub predicted_p90_secs: Option<f64>,
    /// Erlang C's 99th percentile, in seconds, where the model gives one.
    pub predicted_p99_secs: Option<f64>,
}

/// Everything a report shows, as measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Title, the first heading of `summary.md`.
    pub title: String,
    /// The scenario that was run.
    pub scenario: String,
    /// What the scenario is and what it asks (Markdown).
    pub description: String,
    /// Seed of the random arrivals and service times.
    pub seed: u64,
    /// `simulated` or `measured against the real services`.
    pub source: String,
    /// One run per policy.
    pub runs: Vec<PolicyRun>,
    /// Measured waits against Erlang C; may be empty.
    pub yardstick: Vec<YardstickPoint>,
    /// Remarks to print with the report.
    pub notes: Vec<String>,
    /// Commands that reproduce the report.
    pub commands: Vec<String>,
}

/// The files [`Report::write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Every file, in the order written.
    pub files: Vec<PathBuf>,
}

/// The name of the Markdown summary.
pub const SUMMARY_MD: &str = "summary.md";
/// The name of the JSON summary.
pub const SUMMARY_JSON: &str = "summary.json";

impl Report {
    /// The report's numbers, as `summary.json` holds them (without the writer's notes and
    /// plots, which [`Report::write`] adds).
    pub fn summary(&self) -> Summary {
        Summary::of(self, &file_stems(&self.runs))
    }

    /// Creates `dir` and writes the report into it: `summary.md`, `summary.json`, two `.hgrm`
    /// files per policy and the charts that have data, each as SVG and PNG.
    pub fn write(&self, dir: &Path) -> Result<Written, ReportError> {
        let font = font::ensure();
        self.write_with(
            dir,
            Look {
                text: font.has_text(),
            },
            font,
        )
    }

    /// [`Report::write`] with the chart look and font status given (tests draw without text).
    fn write_with(
        &self,
        dir: &Path,
        look: Look,
        font: &FontStatus,
    ) -> Result<Written, ReportError> {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
        let stems = file_stems(&self.runs);
        let mut summary = Summary::of(self, &stems);
        let mut files = Vec::new();

        for (run, stem) in self.runs.iter().zip(&stems) {
            for (what, h) in [
                (WAIT_TO_LEASE, &run.wait_to_lease),
                (WAIT_TO_SIGNED, &run.wait_to_signed),
            ] {
                let path = dir.join(hgrm_name(stem, what));
                let text = percentile_distribution(h, hgrm::DEFAULT_TICKS_PER_HALF_DISTANCE, 1.0);
                write_file(&path, text.as_bytes())?;
                files.push(path);
            }
        }

        let drawn = plot::draw_all(self, dir, look)?;
        files.extend(drawn.files);
        summary.plots = drawn.plots;
        summary.notes.extend(drawn.notes);
        if !look.text && !summary.plots.is_empty() {
            let why = match font {
                FontStatus::Missing(why) => why.clone(),
                FontStatus::Loaded(_) => "text was turned off".to_owned(),
            };
            let key: Vec<String> = (self.runs.iter().enumerate())
                .map(|(i, r)| format!("{} {}", r.policy, plot::colour_name(i)))
                .collect();
            summary.notes.push(format!(
                "Plots are drawn without captions, axis labels or legends: {why}. \
                 Colours: {}.",
                key.join(", ")
            ));
        }

        let json =
            serde_json::to_string_pretty(&summary).map_err(|e| ReportError::Json(e.to_string()))?;
        let json_path = dir.join(SUMMARY_JSON);
        write_file(&json_path, format!("{json}\n").as_bytes())?;
        files.push(json_path);

        let md_path = dir.join(SUMMARY_MD);
        write_file(&md_path, markdown::render(&summary).as_bytes())?;
        files.push(md_path);

        Ok(Written { files })
    }
}

/// A file-name stem per policy (see [`slug::file_stems`]).
fn file_stems(runs: &[PolicyRun]) -> Vec<String> {
    slug::file_stems(runs.iter().map(|r| r.policy.as_str()))
}
