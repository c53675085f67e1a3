//! What a simulation reports: counts, latency histograms, time series and the worst wards, plus
//! its own cost (wall time, peak memory), so that reports can say what a national day costs to
//! simulate as well as how it went.

use hdrhistogram::Histogram;

/// The outcome of one [`run`](super::run).
#[derive(Debug, Clone)]
pub struct SimResult {
    /// The scenario's name.
    pub scenario: String,
    /// The policy's short name (`late-binding`, `round-robin`...).
    pub policy: String,
    /// The seed every stream derived from.
    pub seed: u64,
    /// Records that arrived.
    pub records: u64,
    /// Records signed before the end.
    pub signed: u64,
    /// Records still unsigned at the end (counted as not on time): `records − signed`.
    pub unfinished: u64,
    /// Records signed by their deadline, as the run counted it.
    pub on_time: u64,
    /// Records signed by their due time on the legal calendar (equal to `on_time` when the run
    /// counts by the calendar, as it does unless told otherwise).
    pub on_time_legal: u64,
    /// Signatures by directors.
    pub signed_by_director: u64,
    /// Leases the deadline guard escalated to a director (a record escalated twice counts twice).
    pub escalations: u64,
    /// Leases that expired unused and went back to the pool.
    pub lease_expiries: u64,
    /// Signatures by a deputy outside its delegated scope (the balancer's promise: always 0).
    pub out_of_scope: u64,
    /// Sum over arrived records of deadline − start, seconds: equal under every policy of one
    /// scenario and seed (the same trace).
    pub deadline_total_secs: f64,
    /// A digest of the arrived records (arrival, procedure, deadline, service draws), independent
    /// of their order: equal under every policy of one scenario and seed.
    pub trace_digest: u64,
    /// Submit-to-lease of signed records (the lease they were signed under), milliseconds.
    pub wait_to_lease: Histogram<u64>,
    /// Submit-to-signed of signed records, milliseconds.
    pub wait_to_signed: Histogram<u64>,
    /// Submit-to-lease per signed record, seconds, in signing order (one signer signs its leases
    /// in lease order), for batch-means confidence intervals.
    pub wait_samples_secs: Vec<f64>,
    /// `(virtual seconds, records queued across wards)`, every `sample_every_secs` and at the end.
    pub pool_depth: Vec<(f64, u64)>,
    /// `(virtual seconds, directors' share of the signatures so far)`, at the same instants.
    pub director_share_over_time: Vec<(f64, f64)>,
    /// Up to 10 wards with the lowest on-time rate, worst first, with that rate.
    pub per_ward_worst: Vec<(String, f64)>,
    /// Wall-clock seconds the run took.
    pub wall_secs: f64,
    /// The process's peak resident memory so far (`VmHWM`), where `/proc` has it.
    pub peak_rss_bytes: Option<u64>,
}

impl SimResult {
    /// Records signed on time over records that arrived (1 when none arrived).
    pub fn on_time_rate(&self) -> f64 {
        if self.records == 0 {
            1.0
        } else {
            self.on_time as f64 / self.records as f64
        }
    }

    /// Directors' share of the signatures (0 when nothing was signed).
    pub fn director_share(&self) -> f64 {
        if self.signed == 0 {
            0.0
        } else {
            self.signed_by_director as f64 / self.signed as f64
        }
    }

    /// Mean submit-to-lease wait of signed records, seconds (exact, not from the histogram).
    pub fn mean_wait_secs(&self) -> f64 {
        if self.wait_samples_secs.is_empty() {
            0.0
        } else {
            self.wait_samples_secs.iter().sum::<f64>() / self.wait_samples_secs.len() as f64
        }
    }
}

/// The process's peak resident set size from `/proc/self/status` (`VmHWM`, in kB there).
pub(super) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
