//! HdrHistogram's classic percentile-distribution text (`.hgrm`).
//!
//! This is the text that Java HdrHistogram's `outputPercentileDistribution` and
//! `HistogramLogProcessor` print and that the usual plotters of latency distributions (the
//! HdrHistogram web plotter, `hdr-plot`) read, so a run's waits can be compared with other
//! tools' without converting anything. The layout follows the Java implementation exactly:
//!
//! ```text
//!        Value     Percentile TotalCount 1/(1-Percentile)
//!
//!        1.000 0.000000000000          1           1.00
//!      500.000 0.500000000000        500           2.00
//!     1000.000 1.000000000000       1000
//! #[Mean    =      500.500, StdDeviation   =      288.675]
//! #[Max     =     1000.000, Total count    =         1000]
//! #[Buckets =            1, SubBuckets     =         2048]
//! ```
//!
//! Header `%12s %14s %10s %14s` and a blank line; one row per percentile tick
//! (`%12.<sig>f %2.12f %10d %14.2f`, where `<sig>` is the histogram's significant digits),
//! the last row (percentile 1.0) without the `1/(1-Percentile)` column; then the footer.
//! Values are divided by the output scaling ratio; the report writes its histograms, which
//! hold milliseconds, with a ratio of 1.0, so every value in a report's `.hgrm` files is in
//! **milliseconds**.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Percentile ticks per half distance to 100 %, as Java's default (`5`).
pub const DEFAULT_TICKS_PER_HALF_DISTANCE: u32 = 5;

/// `h`'s percentile distribution in HdrHistogram's classic text format.
///
/// Every value is divided by `output_value_unit_scaling_ratio` (use 1.0 to print values in
/// the unit they were recorded in); `ticks_per_half_distance` sets how many rows each half of
/// the remaining distance to 100 % gets (0 is taken as 1). An empty histogram gives the
/// header and the footer with no rows, as Java prints.
pub fn percentile_distribution(
    h: &Histogram<u64>,
    ticks_per_half_distance: u32,
    output_value_unit_scaling_ratio: f64,
) -> String {
    let scale =
        if output_value_unit_scaling_ratio.is_finite() && output_value_unit_scaling_ratio > 0.0 {
            output_value_unit_scaling_ratio
        } else {
            1.0
        };
    let digits = usize::from(h.sigfig());
    let mut out = String::new();
    // Writing into a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !h.is_empty() {
        let mut total: u64 = 0;
        for v in h.iter_quantiles(ticks_per_half_distance.max(1)) {
            total = total.saturating_add(v.count_since_last_iteration());
            let value = v.value_iterated_to() as f64 / scale;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.digits$} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.digits$} {q:2.12} {total:10}");
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.digits$}, StdDeviation   = {:12.digits$}]",
        h.mean() / scale,
        h.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.digits$}, Total count    = {:12}]",
        h.max() as f64 / scale,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_bucket_count(h.sigfig())
    );
    out
}

/// Sub-buckets per bucket for `sigfig` significant digits, computed as HdrHistogram does
/// (the Rust crate keeps this number private): the smallest power of two that holds
/// `2 * 10^sigfig` distinct values.
fn sub_bucket_count(sigfig: u8) -> u64 {
    let largest_single_unit = 2 * 10_u64.pow(u32::from(sigfig.min(5)));
    let magnitude = largest_single_unit.next_power_of_two().trailing_zeros();
    1_u64 << magnitude.max(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one_to_thousand() -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000, 3).unwrap();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn sub_buckets_match_hdrhistogram() {
        assert_eq!(sub_bucket_count(3), 2048);
        assert_eq!(sub_bucket_count(2), 256);
        assert_eq!(sub_bucket_count(1), 32);
        assert_eq!(sub_bucket_count(0), 2);
    }

    #[test]
    fn layout_matches_the_java_format() {
        let h = one_to_thousand();
        let text = percentile_distribution(&h, 5, 1.0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       1.000 0.000000000000          1           1.00"
        );
        assert!(lines.contains(&"     500.000 0.500000000000        500           2.00"));
        let n = lines.len();
        assert_eq!(lines[n - 4], "    1000.000 1.000000000000       1000");
        assert_eq!(
            lines[n - 3],
            "#[Mean    =      500.500, StdDeviation   =      288.675]"
        );
        assert_eq!(
            lines[n - 2],
            "#[Max     =     1000.000, Total count    =         1000]"
        );
        assert!(lines[n - 1].starts_with("#[Buckets = "));
        assert!(lines[n - 1].ends_with("SubBuckets     =         2048]"));
    }

    #[test]
    fn scaling_divides_values() {
        let h = one_to_thousand();
        let text = percentile_distribution(&h, 1, 1000.0);
        assert!(text.contains("       0.500 0.500000000000        500           2.00"));
        assert!(text.contains("#[Max     =        1.000, Total count    =         1000]"));
    }

    #[test]
    fn empty_histogram_has_header_and_footer_only() {
        let h = Histogram::<u64>::new(3).unwrap();
        let text = percentile_distribution(&h, 5, 1.0);
        assert_eq!(text.lines().count(), 5);
        assert!(text.contains("Total count    =            0]"));
    }
}
