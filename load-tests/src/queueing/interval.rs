//! Confidence intervals by the method of batch means, for means of time-ordered samples.
//!
//! Successive waits in a queue are strongly correlated, so the textbook `s/√n` interval is far
//! too narrow. Batch means (Law & Kelton, *Simulation Modeling and Analysis*, 3rd ed., 2000,
//! ch. 9) cuts the run into a few long contiguous batches whose means are nearly independent and
//! nearly normal, and puts a Student t interval on those.

use super::student_t::student_t_quantile;

/// A confidence interval for a mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The point estimate (the mean of the batch means).
    pub mean: f64,
    /// `mean − half_width`.
    pub low: f64,
    /// `mean + half_width`.
    pub high: f64,
    /// Half the interval's width.
    pub half_width: f64,
    /// `half_width / |mean|` (0 when both are 0, infinite when only the mean is 0); a run is
    /// usually long enough when this is below 0.05 or 0.1.
    pub relative_half_width: f64,
}

impl Interval {
    /// True when `x` lies in `[low, high]`.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// A batch-means confidence interval for the mean of `samples` (in time order) at `confidence`
/// (e.g. 0.95).
///
/// The samples are cut into `batches` contiguous batches of `⌊n / batches⌋` samples; the
/// `n mod batches` left over are dropped from the *start* of the run, where the warm-up transient
/// is. The estimate is the mean of the batch means `m₁ … m_b`, and the half-width is
/// `t(confidence, b − 1) · s / √b` with `s` the standard deviation of the batch means and `t` the
/// two-sided Student t critical value ([`super::student_t_quantile`]). 10 to 30 batches are usual.
///
/// `None` when `batches < 2`, there are fewer samples than batches, `confidence` is not in
/// `(0, 1)`, or a sample is not finite.
pub fn batch_means_ci(samples: &[f64], batches: usize, confidence: f64) -> Option<Interval> {
    if batches < 2 || samples.len() < batches || samples.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let t = student_t_quantile(confidence, u64::try_from(batches - 1).ok()?)?;
    let size = samples.len() / batches;
    let used = &samples[samples.len() - size * batches..];
    let means: Vec<f64> = used
        .chunks_exact(size)
        .map(|batch| batch.iter().sum::<f64>() / size as f64)
        .collect();
    let b = means.len() as f64;
    let mean = means.iter().sum::<f64>() / b;
    let variance = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (b - 1.0);
    let half_width = t * (variance / b).sqrt();
    let relative_half_width = if half_width == 0.0 {
        0.0
    } else if mean == 0.0 {
        f64::INFINITY
    } else {
        half_width / mean.abs()
    };
    Some(Interval {
        mean,
        low: mean - half_width,
        high: mean + half_width,
        half_width,
        relative_half_width,
    })
}
