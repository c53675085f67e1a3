//! `director-share` and `director-share-by-policy`: how much of the signing falls on the
//! ward director.
//!
//! The director is the one signer every record can reach, so a policy that leans on them
//! looks fast in the wait tables while it empties the director's afternoon; these two charts
//! make that visible: the cumulative share over time per policy, and the final share side by
//! side.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::canvas::{Chart, Look, bar_label_style, colour, from_zero};
use super::timeline::Timeline;
use crate::report::PolicyRun;
use crate::report::units::percent;

/// Cumulative director share over time, one line per policy.
#[derive(Debug)]
pub(crate) struct DirectorShare<'a> {
    /// `(policy index, run)` for runs with at least one finite sample.
    runs: Vec<(usize, &'a PolicyRun)>,
}

impl<'a> DirectorShare<'a> {
    /// The chart, or `None` when no run has a share sample.
    pub(crate) fn new(runs: &'a [PolicyRun]) -> Option<Self> {
        let runs: Vec<_> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.director_share_over_time.iter().any(|&p| finite(p)))
            .collect();
        (!runs.is_empty()).then_some(Self { runs })
    }
}

/// Samples of one run whose coordinates are both finite.
fn samples(r: &PolicyRun) -> impl Iterator<Item = (f64, f64)> + '_ {
    r.director_share_over_time
        .iter()
        .copied()
        .filter(|&p| finite(p))
}

/// Whether both coordinates of a sample are finite.
fn finite((t, s): (f64, f64)) -> bool {
    t.is_finite() && s.is_finite()
}

impl Chart for DirectorShare<'_> {
    fn name(&self) -> &'static str {
        "director-share"
    }

    fn title(&self) -> String {
        "Share of signed records signed by the director, cumulative".to_owned()
    }

    fn series(&self) -> Vec<String> {
        self.runs.iter().map(|(_, r)| r.policy.clone()).collect()
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
    ) -> Result<(), String> {
        let lines: Vec<_> = self
            .runs
            .iter()
            .map(|&(i, r)| {
                (
                    i,
                    r.policy.as_str(),
                    samples(r).map(|(t, s)| (t, s * 100.0)).collect(),
                )
            })
            .collect();
        // Shares are 0–100 %; zoom in when every policy stays low.
        let s_max = Timeline::y_max(&lines);
        let y1 = if s_max > 60.0 {
            100.0
        } else {
            (s_max * 1.25).max(5.0)
        };
        Timeline {
            lines,
            y_label: "Director share of signed records (%)",
            y_range: 0.0..y1,
            whole_y: false,
            legend: SeriesLabelPosition::UpperRight,
        }
        .draw(root, look, &self.title())
    }
}

/// Final director share per policy, one bar each.
#[derive(Debug)]
pub(crate) struct DirectorShareByPolicy<'a> {
    /// `(policy index, policy, share in percent)` for runs that signed something.
    bars: Vec<(usize, &'a str, f64)>,
}

impl<'a> DirectorShareByPolicy<'a> {
    /// The chart, or `None` when no run signed anything.
    pub(crate) fn new(runs: &'a [PolicyRun]) -> Option<Self> {
        let bars: Vec<_> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                percent(r.signed_by_director, r.signed).map(|p| (i, r.policy.as_str(), p))
            })
            .collect();
        (!bars.is_empty()).then_some(Self { bars })
    }
}

impl Chart for DirectorShareByPolicy<'_> {
    fn name(&self) -> &'static str {
        "director-share-by-policy"
    }

    fn title(&self) -> String {
        "Share of signed records signed by the director, by policy".to_owned()
    }

    fn series(&self) -> Vec<String> {
        self.bars
            .iter()
            .map(|(_, p, s)| format!("{p}: {s:.1} %"))
            .collect()
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
    ) -> Result<(), String> {
        let n = u32::try_from(self.bars.len()).map_err(|e| e.to_string())?;
        let s_max = self.bars.iter().map(|b| b.2).fold(0.0, f64::max);
        let (_, y1) = from_zero(s_max.min(100.0), 0.15);
        let y1 = if s_max > 80.0 { 110.0 } else { y1 };

        // plotters' integer ranges include their end: `0..n - 1` makes n segments.
        let mut chart = look
            .builder(root, &self.title())
            .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0.0..y1)
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = self.bars.iter().map(|b| b.1.to_owned()).collect();
        let label = move |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let mut mesh = chart.configure_mesh();
        look.mesh(&mut mesh, "Policy", "Director share of signed records (%)");
        mesh.disable_x_mesh().x_label_formatter(&label);
        mesh.draw().map_err(|e| e.to_string())?;

        let seg_px = chart.plotting_area().dim_in_pixel().0 / n.max(1);
        let side = seg_px / 4;
        for (k, &(i, _, share)) in (0_u32..).zip(&self.bars) {
            let c = colour(i);
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(k), 0.0),
                    (SegmentValue::Exact(k + 1), share),
                ],
                c.filled(),
            );
            bar.set_margin(0, 0, side, side);
            chart
                .draw_series(std::iter::once(bar))
                .map_err(|e| e.to_string())?;
            if look.text {
                let text = EmptyElement::at((SegmentValue::CenterOf(k), share))
                    + Text::new(format!("{share:.1} %"), (0, -6), bar_label_style());
                chart
                    .draw_series(std::iter::once(text))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}
