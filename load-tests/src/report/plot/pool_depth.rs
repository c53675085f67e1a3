//! `pool-depth`: queued records over time, one line per policy.
//!
//! A queue that keeps growing is the first sign that a policy cannot keep up; a saw-tooth
//! shows batches; a flat line near zero shows signers waiting for work.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Chart, Look, axis_range, colour, from_zero};
use crate::report::PolicyRun;
use crate::report::units::TimeUnit;

/// The chart over the runs that have depth samples.
#[derive(Debug)]
pub(crate) struct PoolDepth<'a> {
    /// `(policy index, run)` for runs with at least one finite sample.
    runs: Vec<(usize, &'a PolicyRun)>,
}

impl<'a> PoolDepth<'a> {
    /// The chart, or `None` when no run has a depth sample.
    pub(crate) fn new(runs: &'a [PolicyRun]) -> Option<Self> {
        let runs: Vec<_> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.pool_depth.iter().any(|(t, _)| t.is_finite()))
            .collect();
        (!runs.is_empty()).then_some(Self { runs })
    }

    /// Finite samples of one run.
    fn samples(run: &PolicyRun) -> impl Iterator<Item = (f64, u64)> + '_ {
        run.pool_depth
            .iter()
            .copied()
            .filter(|(t, _)| t.is_finite())
    }
}

impl Chart for PoolDepth<'_> {
    fn name(&self) -> &'static str {
        "pool-depth"
    }

    fn title(&self) -> String {
        "Queued records over time".to_owned()
    }

    fn series(&self) -> Vec<String> {
        self.runs.iter().map(|(_, r)| r.policy.clone()).collect()
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
    ) -> Result<(), String> {
        let all = || self.runs.iter().flat_map(|(_, r)| Self::samples(r));
        let t_min = all().map(|(t, _)| t).fold(f64::INFINITY, f64::min);
        let t_max = all().map(|(t, _)| t).fold(f64::NEG_INFINITY, f64::max);
        let d_max = all().map(|(_, d)| d).max().unwrap_or(0);
        let unit = TimeUnit::for_max(t_max);
        let (x0, x1) = axis_range(unit.of(t_min.min(0.0)), unit.of(t_max));
        let (y0, y1) = from_zero(d_max as f64, 0.1);

        let mut chart = look
            .builder(root, &self.title())
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        let mut mesh = chart.configure_mesh();
        look.mesh(
            &mut mesh,
            &format!("Time since start ({})", unit.label),
            "Queued records",
        );
        // Records are whole: label whole ticks only.
        let whole = |v: &f64| {
            if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        };
        mesh.y_label_formatter(&whole);
        mesh.draw().map_err(|e| e.to_string())?;

        for &(i, run) in &self.runs {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(
                    Self::samples(run).map(|(t, d)| (unit.of(t), d as f64)),
                    c.stroke_width(3),
                ))
                .map_err(|e| e.to_string())?
                .label(run.policy.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
        }
        look.legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
