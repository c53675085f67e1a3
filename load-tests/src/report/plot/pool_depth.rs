//! `pool-depth`: queued records over time, one line per policy.
//!
//! A queue that keeps growing is the first sign that a policy cannot keep up; a saw-tooth
//! shows batches; a flat line near zero shows signers waiting for work.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Chart, Look, from_zero};
use super::timeline::Timeline;
use crate::report::PolicyRun;

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
        let lines: Vec<_> = self
            .runs
            .iter()
            .map(|&(i, r)| {
                (
                    i,
                    r.policy.as_str(),
                    Self::samples(r).map(|(t, d)| (t, d as f64)).collect(),
                )
            })
            .collect();
        let y_range = {
            let (y0, y1) = from_zero(Timeline::y_max(&lines), 0.1);
            y0..y1
        };
        Timeline {
            lines,
            y_label: "Queued records",
            y_range,
            whole_y: true,
            legend: SeriesLabelPosition::UpperLeft,
        }
        .draw(root, look, &self.title())
    }
}
