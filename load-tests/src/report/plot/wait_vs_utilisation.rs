//! `wait-vs-utilisation`: measured waits against Erlang C as the load rises.
//!
//! This is the yardstick of the simulator and of the real services: at each utilisation the
//! measured mean wait (with its confidence interval as an error bar) should sit on the
//! Erlang C curve, and the measured p99 on the predicted p99 where one is given. Points of
//! different policies at the same utilisation are nudged apart sideways so that their error
//! bars do not hide each other. The curve is drawn through the predictions given with the
//! points (the report does not know the arrival and service rates to compute more of it).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{Chart, Look, axis_range, colour, from_zero};
use crate::report::YardstickPoint;
use crate::report::units::TimeUnit;

/// The chart over the yardstick points.
#[derive(Debug)]
pub(crate) struct WaitVsUtilisation<'a> {
    /// Policies in order of first appearance, with their colour index.
    policies: Vec<(usize, &'a str)>,
    /// Points with finite utilisation and measured mean.
    points: Vec<&'a YardstickPoint>,
}

impl<'a> WaitVsUtilisation<'a> {
    /// The chart, or `None` without a usable point; `colours` lists policies in the order
    /// of their colours, so that a policy has the same colour in every chart.
    pub(crate) fn new(points: &'a [YardstickPoint], colours: &[&str]) -> Option<Self> {
        let points: Vec<_> = points
            .iter()
            .filter(|p| p.utilisation.is_finite() && p.measured_mean_secs.is_finite())
            .collect();
        let mut policies: Vec<(usize, &str)> = Vec::new();
        for p in &points {
            if !policies.iter().any(|&(_, q)| q == p.policy) {
                let i = colours
                    .iter()
                    .position(|&q| q == p.policy)
                    .unwrap_or(colours.len() + policies.len());
                policies.push((i, &p.policy));
            }
        }
        (!points.is_empty()).then_some(Self { policies, points })
    }

    /// Points of one policy, by utilisation.
    fn of_policy(&self, policy: &str) -> Vec<&'a YardstickPoint> {
        let mut v: Vec<_> = self
            .points
            .iter()
            .copied()
            .filter(|p| p.policy == policy)
            .collect();
        v.sort_by(|a, b| a.utilisation.total_cmp(&b.utilisation));
        v
    }

    /// `(utilisation, value)` sorted by utilisation, for a curve through predictions.
    fn curve(
        points: &[&YardstickPoint],
        value: impl Fn(&YardstickPoint) -> Option<f64>,
    ) -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|p| value(p).map(|y| (p.utilisation, y)))
            .filter(|(_, y)| y.is_finite())
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        v
    }

    /// Whether every policy's prediction is the same at the same utilisation, so that one
    /// Erlang C curve stands for all.
    fn one_curve(&self) -> bool {
        self.points.iter().all(|a| {
            self.points.iter().all(|b| {
                a.utilisation != b.utilisation
                    || (a.predicted_mean_secs - b.predicted_mean_secs).abs()
                        <= 1e-9 * a.predicted_mean_secs.abs().max(1.0)
            })
        })
    }
}

impl Chart for WaitVsUtilisation<'_> {
    fn name(&self) -> &'static str {
        "wait-vs-utilisation"
    }

    fn title(&self) -> String {
        "Waiting time against utilisation: measured and Erlang C".to_owned()
    }

    fn series(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .policies
            .iter()
            .flat_map(|(_, p)| {
                [
                    format!("{p}: mean with confidence interval"),
                    format!("{p}: p99"),
                ]
            })
            .collect();
        s.push("Erlang C mean".to_owned());
        if self.points.iter().any(|p| p.predicted_p99_secs.is_some()) {
            s.push("Erlang C p99".to_owned());
        }
        s
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
    ) -> Result<(), String> {
        let values = self.points.iter().flat_map(|p| {
            [
                p.measured_mean_secs,
                p.ci_high_secs,
                p.p99_secs,
                p.predicted_mean_secs,
                p.predicted_p99_secs.unwrap_or(0.0),
            ]
        });
        let max = values.filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
        let unit = TimeUnit::for_max(max);
        let u_min = self
            .points
            .iter()
            .map(|p| p.utilisation)
            .fold(f64::INFINITY, f64::min);
        let u_max = self
            .points
            .iter()
            .map(|p| p.utilisation)
            .fold(f64::NEG_INFINITY, f64::max);
        let (x0, x1) = axis_range((u_min - 0.05).max(0.0), u_max + 0.05);
        let (y0, y1) = from_zero(unit.of(max), 0.1);

        let mut chart = look
            .builder(root, &self.title())
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        let mut mesh = chart.configure_mesh();
        look.mesh(
            &mut mesh,
            "Utilisation ρ (offered load / signing capacity)",
            &format!("Wait in queue ({})", unit.label),
        );
        mesh.draw().map_err(|e| e.to_string())?;

        let y = |secs: f64| unit.of(secs);
        let black = RGBColor(0x22, 0x22, 0x22);

        // Erlang C: one black curve when the policies share it, else one dashed per policy.
        if self.one_curve() {
            let line = Self::curve(&self.points, |p| Some(y(p.predicted_mean_secs)));
            chart
                .draw_series(LineSeries::new(line, black.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("Erlang C mean")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], black.stroke_width(2))
                });
        } else {
            for &(i, policy) in &self.policies {
                let c = colour(i);
                let line = Self::curve(&self.of_policy(policy), |p| Some(y(p.predicted_mean_secs)));
                chart
                    .draw_series(LineSeries::new(line, c.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(format!("Erlang C mean, {policy}"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2))
                    });
            }
        }
        let p99 = Self::curve(&self.points, |p| p.predicted_p99_secs.map(y));
        if !p99.is_empty() {
            let grey = RGBColor(0x77, 0x77, 0x77);
            chart
                .draw_series(DashedLineSeries::new(p99, 10, 6, grey.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("Erlang C p99")
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (10, 0)], grey.stroke_width(2))
                        + PathElement::new(vec![(15, 0), (24, 0)], grey.stroke_width(2))
                });
        }

        // Measured points, nudged sideways per policy.
        let n = self.policies.len() as f64;
        let nudge_step = (x1 - x0) * 0.006;
        let cap = (x1 - x0) * 0.004;
        for (k, &(i, policy)) in self.policies.iter().enumerate() {
            let c = colour(i);
            let dx = (k as f64 - (n - 1.0) / 2.0) * nudge_step;
            let points = self.of_policy(policy);
            let bars = points.iter().flat_map(|p| {
                let u = p.utilisation + dx;
                let (lo, hi) = (y(p.ci_low_secs), y(p.ci_high_secs));
                [
                    PathElement::new(vec![(u, lo), (u, hi)], c.stroke_width(2)),
                    PathElement::new(vec![(u - cap, lo), (u + cap, lo)], c.stroke_width(2)),
                    PathElement::new(vec![(u - cap, hi), (u + cap, hi)], c.stroke_width(2)),
                ]
            });
            chart.draw_series(bars).map_err(|e| e.to_string())?;
            chart
                .draw_series(points.iter().map(|p| {
                    Circle::new((p.utilisation + dx, y(p.measured_mean_secs)), 6, c.filled())
                }))
                .map_err(|e| e.to_string())?
                .label(format!("{policy}: mean, confidence interval"))
                .legend(move |(x, y)| Circle::new((x + 12, y), 6, c.filled()));
            chart
                .draw_series(points.iter().filter(|p| p.p99_secs.is_finite()).map(|p| {
                    TriangleMarker::new((p.utilisation + dx, y(p.p99_secs)), 8, c.stroke_width(2))
                }))
                .map_err(|e| e.to_string())?
                .label(format!("{policy}: p99"))
                .legend(move |(x, y)| TriangleMarker::new((x + 12, y), 8, c.stroke_width(2)));
        }
        look.legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
