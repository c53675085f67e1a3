//! What every chart shares: size, colours, fonts, and drawing one chart to SVG and PNG.
//!
//! A chart is drawn twice from the same code, once per backend, so the SVG and the PNG show
//! the same thing. Without a font nothing that needs one is drawn (captions, tick labels,
//! legends): plotters measures text with the registered font even for SVG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::error::{ReportError, write_file};
use crate::report::font::FAMILY;
use crate::report::summary::PlotFiles;

/// Width and height of every chart, in pixels.
pub(crate) const SIZE: (u32, u32) = (1200, 700);

/// One colour per policy (Tableau 10), in the order policies appear in the report.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0xBA, 0xB0, 0xAC),
];

/// Names of [`PALETTE`]'s colours, for notes about charts drawn without a legend.
const PALETTE_NAMES: [&str; 10] = [
    "blue", "orange", "red", "green", "purple", "teal", "yellow", "brown", "pink", "grey",
];

/// The name of the `i`-th policy's colour.
pub(crate) fn colour_name(i: usize) -> &'static str {
    PALETTE_NAMES[i % PALETTE_NAMES.len()]
}

/// The colour of the `i`-th policy.
pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A chart that can be drawn on any plotters backend.
pub(crate) trait Chart {
    /// File stem: the chart is written as `<name>.svg` and `<name>.png`.
    fn name(&self) -> &'static str;
    /// Caption, also the SVG's `<title>`.
    fn title(&self) -> String;
    /// Names of what is drawn, for the SVG's `<desc>` (readable even without a font).
    fn series(&self) -> Vec<String>;
    /// Draws the chart on `root`; `look` says whether text can be drawn.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: Look,
    ) -> Result<(), String>;
}

/// How charts are drawn on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    /// Whether a font is registered, so that captions, labels and legends can be drawn.
    pub(crate) text: bool,
}

impl Look {
    /// A chart builder with the caption and label areas, or none without text.
    pub(crate) fn builder<'a, 'b, DB: DrawingBackend>(
        self,
        root: &'a DrawingArea<DB, Shift>,
        caption: &str,
    ) -> ChartBuilder<'a, 'b, DB> {
        let mut b = ChartBuilder::on(root);
        b.margin(24);
        if self.text {
            b.caption(caption, (FAMILY, 30))
                .x_label_area_size(64)
                .y_label_area_size(96);
        }
        // Without text no label area is made, and plotters then draws no tick labels (it
        // would measure them with the missing font) while still drawing the grid.
        b
    }

    /// Axis descriptions, tick labels and grid; without text, the grid only.
    pub(crate) fn mesh<X, Y, DB>(
        self,
        m: &mut plotters::chart::MeshStyle<'_, '_, X, Y, DB>,
        x_desc: &str,
        y_desc: &str,
    ) where
        X: plotters::coord::ranged1d::Ranged,
        Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
        DB: DrawingBackend,
    {
        m.light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .bold_line_style(RGBColor(0xCC, 0xCC, 0xCC));
        if self.text {
            m.y_label_formatter(&tick)
                .x_desc(x_desc)
                .y_desc(y_desc)
                .label_style((FAMILY, 18))
                .axis_desc_style((FAMILY, 20));
        }
    }

    /// The legend, in the upper left corner unless told otherwise; nothing without text.
    pub(crate) fn legend<'a, DB, CT>(
        self,
        chart: &mut ChartContext<'a, DB, CT>,
        position: SeriesLabelPosition,
    ) -> Result<(), String>
    where
        DB: DrawingBackend + 'a,
        CT: plotters::coord::CoordTranslate,
    {
        if !self.text {
            return Ok(());
        }
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(0x99, 0x99, 0x99))
            .label_font((FAMILY, 18))
            .draw()
            .map_err(|e| e.to_string())
    }
}

/// A text style for value labels above bars.
pub(crate) fn bar_label_style() -> TextStyle<'static> {
    TextStyle::from((FAMILY, 15).into_font())
        .color(&RGBColor(0x33, 0x33, 0x33))
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ))
}

/// A tick label with no more decimals than it needs: `50`, `0.75`, `1.5`.
pub(crate) fn tick(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// `lo..hi` widened so that it is a usable axis range: finite, and `hi > lo`.
pub(crate) fn axis_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) => (lo, hi),
        (true, false) => (lo, lo + 1.0),
        (false, true) => (hi - 1.0, hi),
        (false, false) => (0.0, 1.0),
    };
    if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    }
}

/// `0..max`, with `headroom` (e.g. 0.1 for 10 %) above the largest value.
pub(crate) fn from_zero(max: f64, headroom: f64) -> (f64, f64) {
    axis_range(
        0.0,
        if max > 0.0 {
            max * (1.0 + headroom)
        } else {
            1.0
        },
    )
}

/// Draws `chart` as `<name>.svg` and `<name>.png` in `dir`.
pub(crate) fn render<C: Chart>(
    chart: &C,
    dir: &Path,
    look: Look,
) -> Result<(PlotFiles, Vec<PathBuf>), ReportError> {
    let name = chart.name();
    let fail = |backend: &str, e: String| ReportError::Plot(format!("{name} ({backend}): {e}"));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail("svg", e.to_string()))?;
        chart.draw(&root, look).map_err(|e| fail("svg", e))?;
        root.present().map_err(|e| fail("svg", e.to_string()))?;
    }
    let svg = with_description(&svg, &chart.title(), &chart.series());
    let svg_path = dir.join(format!("{name}.svg"));
    write_file(&svg_path, svg.as_bytes())?;

    let png_path = dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png_path, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail("png", e.to_string()))?;
        chart.draw(&root, look).map_err(|e| fail("png", e))?;
        root.present()
            .map_err(|e| fail("png", format!("{}: {e}", png_path.display())))?;
    }

    let files = PlotFiles {
        name: name.to_owned(),
        title: chart.title(),
        svg: format!("{name}.svg"),
        png: format!("{name}.png"),
    };
    Ok((files, vec![svg_path, png_path]))
}

/// `svg` with a `<title>` and a `<desc>` naming the series right after the `<svg>` tag, so
/// that the chart says what it is to screen readers, search, and charts drawn without a font.
fn with_description(svg: &str, title: &str, series: &[String]) -> String {
    let tag_end = svg
        .find("<svg")
        .and_then(|start| svg[start..].find('>').map(|end| start + end + 1));
    let Some(at) = tag_end else {
        return svg.to_owned();
    };
    let desc = if series.is_empty() {
        String::new()
    } else {
        format!("\n<desc>{}</desc>", xml_escape(&series.join("; ")))
    };
    format!(
        "{}\n<title>{}</title>{desc}{}",
        &svg[..at],
        xml_escape(title),
        &svg[at..]
    )
}

/// Text safe inside an XML element.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_goes_inside_the_svg_element() {
        let svg = "<svg width=\"10\" height=\"10\">\n<rect/>\n</svg>\n";
        let out = with_description(svg, "Hàng đợi <A&B>", &["a".into(), "b".into()]);
        assert!(out.starts_with(
            "<svg width=\"10\" height=\"10\">\n<title>Hàng đợi &lt;A&amp;B&gt;</title>\n<desc>a; b</desc>\n<rect/>"
        ));
    }

    #[test]
    fn ticks_have_no_useless_decimals() {
        assert_eq!(tick(&50.0), "50");
        assert_eq!(tick(&0.75), "0.75");
        assert_eq!(tick(&1.5), "1.5");
        assert_eq!(tick(&-0.0001), "0");
    }

    #[test]
    fn degenerate_ranges_are_widened() {
        assert_eq!(axis_range(0.0, 0.0), (-1.0, 1.0));
        assert_eq!(axis_range(5.0, 5.0), (4.5, 5.5));
        assert_eq!(axis_range(f64::NAN, f64::INFINITY), (0.0, 1.0));
        assert_eq!(from_zero(0.0, 0.1), (0.0, 1.0));
        let (lo, hi) = from_zero(10.0, 0.1);
        assert!(lo == 0.0 && (hi - 11.0).abs() < 1e-9);
    }
}
