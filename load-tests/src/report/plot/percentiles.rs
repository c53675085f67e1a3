//! `wait-percentiles`: submit-to-lease p50, p90 and p99 per policy, as grouped bars.
//!
//! Means hide the tail that citizens complain about; putting the three percentiles of every
//! policy side by side shows which policy trades a slightly slower median for a much shorter
//! tail.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::canvas::{Chart, Look, bar_label_style, colour, from_zero};
use crate::report::PolicyRun;
use crate::report::units::{TimeUnit, human_secs};

/// Percentile levels shown, with their labels.
const LEVELS: [(f64, &str); 3] = [(50.0, "p50"), (90.0, "p90"), (99.0, "p99")];

/// The chart over the runs that recorded submit-to-lease waits.
#[derive(Debug)]
pub(crate) struct WaitPercentiles<'a> {
    /// `(policy index, policy, [p50, p90, p99] in seconds)`.
    bars: Vec<(usize, &'a str, [f64; 3])>,
}

impl<'a> WaitPercentiles<'a> {
    /// The chart, or `None` when no run recorded a wait.
    pub(crate) fn new(runs: &'a [PolicyRun]) -> Option<Self> {
        let bars: Vec<_> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.wait_to_lease.is_empty())
            .map(|(i, r)| {
                let at = |p: f64| r.wait_to_lease.value_at_percentile(p) as f64 / 1000.0;
                (
                    i,
                    r.policy.as_str(),
                    [at(LEVELS[0].0), at(LEVELS[1].0), at(LEVELS[2].0)],
                )
            })
            .collect();
        (!bars.is_empty()).then_some(Self { bars })
    }
}

impl Chart for WaitPercentiles<'_> {
    fn name(&self) -> &'static str {
        "wait-percentiles"
    }

    fn title(&self) -> String {
        "Wait from submit to lease: percentiles per policy".to_owned()
    }

    fn series(&self) -> Vec<String> {
        self.bars
            .iter()
            .map(|(_, p, v)| {
                format!(
                    "{p}: p50 {}, p90 {}, p99 {}",
                    human_secs(v[0]),
                    human_secs(v[1]),
                    human_secs(v[2])
                )
            })
            .collect()
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
    ) -> Result<(), String> {
        let max = self.bars.iter().flat_map(|b| b.2).fold(0.0_f64, f64::max);
        let unit = TimeUnit::for_max(max);
        let (y0, y1) = from_zero(unit.of(max), 0.15);
        let groups = LEVELS.len() as u32;

        // plotters' integer ranges include their end: `0..n - 1` makes n segments.
        let mut chart = look
            .builder(root, &self.title())
            .build_cartesian_2d((0..groups - 1).into_segmented(), y0..y1)
            .map_err(|e| e.to_string())?;
        let label = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => LEVELS
                .get(*i as usize)
                .map(|l| l.1.to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let mut mesh = chart.configure_mesh();
        look.mesh(
            &mut mesh,
            "Percentile",
            &format!("Wait from submit to lease ({})", unit.label),
        );
        mesh.disable_x_mesh().x_label_formatter(&label);
        mesh.draw().map_err(|e| e.to_string())?;

        // Each group is one segment: a tenth of it free on either side, the rest shared
        // equally by the policies' bars.
        let seg_px = chart.plotting_area().dim_in_pixel().0 / groups;
        let n = self.bars.len() as u32;
        let pad = seg_px / 10;
        let bar_px = (seg_px - 2 * pad) / n.max(1);
        for (b, &(i, policy, values)) in (0_u32..).zip(&self.bars) {
            let c = colour(i);
            let left = pad + b * bar_px;
            let right = seg_px.saturating_sub(left + bar_px);
            let gap = bar_px / 10;
            let mut series = Vec::new();
            let mut labels = Vec::new();
            for (g, v) in (0_u32..).zip(values) {
                let v = unit.of(v);
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(g), 0.0),
                        (SegmentValue::Exact(g + 1), v),
                    ],
                    c.filled(),
                );
                bar.set_margin(0, 0, left + gap, right + gap);
                series.push(bar);
                let centre = left as i32 + bar_px as i32 / 2 - seg_px as i32 / 2;
                labels.push(
                    EmptyElement::at((SegmentValue::CenterOf(g), v))
                        + Text::new(format!("{v:.1}"), (centre, -4), bar_label_style()),
                );
            }
            chart
                .draw_series(series)
                .map_err(|e| e.to_string())?
                .label(policy.to_owned())
                .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], c.filled()));
            if look.text {
                chart.draw_series(labels).map_err(|e| e.to_string())?;
            }
        }
        look.legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
