//! The report's charts, each written as SVG and PNG.
//!
//! Which charts exist depends on the data: a chart with nothing to show is skipped and the
//! report's notes say so, rather than writing an empty frame.

mod canvas;
mod director;
mod percentiles;
mod pool_depth;
mod timeline;
mod wait_vs_utilisation;

use std::path::{Path, PathBuf};

use self::canvas::{Chart, render};
pub(crate) use self::canvas::{Look, colour_name};
use super::Report;
use super::error::ReportError;
use super::summary::PlotFiles;

/// What drawing the charts produced.
#[derive(Debug, Default)]
pub(crate) struct Drawn {
    /// The charts written, in the order of the report.
    pub(crate) plots: Vec<PlotFiles>,
    /// Every file written.
    pub(crate) files: Vec<PathBuf>,
    /// Charts skipped for want of data, as notes.
    pub(crate) notes: Vec<String>,
}

impl Drawn {
    /// Draws `chart` if there is one, or notes why not.
    fn add<C: Chart>(
        &mut self,
        chart: Option<C>,
        name: &str,
        missing: &str,
        dir: &Path,
        look: Look,
    ) -> Result<(), ReportError> {
        match chart {
            Some(chart) => {
                let (plot, files) = render(&chart, dir, look)?;
                self.plots.push(plot);
                self.files.extend(files);
            }
            None => self.notes.push(format!("No `{name}` plot: {missing}.")),
        }
        Ok(())
    }
}

/// Draws every chart that `report` has data for into `dir`.
pub(crate) fn draw_all(report: &Report, dir: &Path, look: Look) -> Result<Drawn, ReportError> {
    let mut drawn = Drawn::default();
    // Without yardstick points there is nothing to compare with theory: skip silently.
    let colours: Vec<&str> = report.runs.iter().map(|r| r.policy.as_str()).collect();
    if let Some(chart) = wait_vs_utilisation::WaitVsUtilisation::new(&report.yardstick, &colours) {
        drawn.add(Some(chart), "wait-vs-utilisation", "", dir, look)?;
    }
    drawn.add(
        pool_depth::PoolDepth::new(&report.runs),
        "pool-depth",
        "no run sampled the queue depth",
        dir,
        look,
    )?;
    drawn.add(
        director::DirectorShare::new(&report.runs),
        "director-share",
        "no run sampled the director's share over time",
        dir,
        look,
    )?;
    drawn.add(
        director::DirectorShareByPolicy::new(&report.runs),
        "director-share-by-policy",
        "no run signed a record",
        dir,
        look,
    )?;
    drawn.add(
        percentiles::WaitPercentiles::new(&report.runs),
        "wait-percentiles",
        "no run recorded a submit-to-lease wait",
        dir,
        look,
    )?;
    Ok(drawn)
}
