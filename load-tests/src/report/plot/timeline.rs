//! Drawing one line per policy against time since the start: what `pool-depth` and
//! `director-share` have in common (time axis in fitting units, colours per policy, legend).

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Look, axis_range, colour};
use crate::report::units::TimeUnit;

/// One policy's line: `(policy index, policy, finite (seconds, value) points)`.
pub(crate) type Line<'a> = (usize, &'a str, Vec<(f64, f64)>);

/// The lines of a timeline chart.
#[derive(Debug)]
pub(crate) struct Timeline<'a> {
    /// One line per policy.
    pub(crate) lines: Vec<Line<'a>>,
    /// The y axis's label.
    pub(crate) y_label: &'a str,
    /// The y axis's range.
    pub(crate) y_range: Range<f64>,
    /// Label only whole y ticks (counts of records).
    pub(crate) whole_y: bool,
    /// Where the legend goes.
    pub(crate) legend: SeriesLabelPosition,
}

impl Timeline<'_> {
    /// The largest value of any line (0 when there is none).
    pub(crate) fn y_max(lines: &[Line<'_>]) -> f64 {
        lines
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|&(_, v)| v))
            .fold(0.0, f64::max)
    }

    /// Draws the chart titled `title` on `root`.
    pub(crate) fn draw<DB: DrawingBackend>(
        self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
        title: &str,
    ) -> Result<(), String> {
        let times = || {
            self.lines
                .iter()
                .flat_map(|(_, _, p)| p.iter().map(|&(t, _)| t))
        };
        let t_min = times().fold(f64::INFINITY, f64::min);
        let t_max = times().fold(f64::NEG_INFINITY, f64::max);
        let unit = TimeUnit::for_max(t_max);
        let (x0, x1) = axis_range(unit.of(t_min.min(0.0)), unit.of(t_max));

        let mut chart = look
            .builder(root, title)
            .build_cartesian_2d(x0..x1, self.y_range)
            .map_err(|e| e.to_string())?;
        let mut mesh = chart.configure_mesh();
        look.mesh(
            &mut mesh,
            &format!("Time since start ({})", unit.label),
            self.y_label,
        );
        let whole = |v: &f64| {
            if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        };
        if self.whole_y {
            mesh.y_label_formatter(&whole);
        }
        mesh.draw().map_err(|e| e.to_string())?;

        for (i, policy, points) in &self.lines {
            let c = colour(*i);
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|&(t, v)| (unit.of(t), v)),
                    c.stroke_width(3),
                ))
                .map_err(|e| e.to_string())?
                .label(policy.to_string())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
        }
        look.legend(&mut chart, self.legend)
    }
}
