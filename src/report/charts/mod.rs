//! Charts, drawn with plotters in one style, each to PNG and SVG. The font is
//! embedded (Noto Sans), so charts render on a machine with no system fonts.
//!
//! Each chart kind lives in its own file and implements [`Chart`]; it draws
//! on any plotters backend, so the PNG and the SVG are the same drawing.

mod calibration;
mod capacity;
mod cdf;
mod compare;
mod latency;
mod queue;
mod style;
mod sweep;
mod text;
mod throughput;
mod utilization;

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::RunReport;
pub(crate) use style::*;

/// Chart width in pixels.
pub const WIDTH: u32 = 1200;
/// Chart height in pixels.
pub const HEIGHT: u32 = 700;

/// A chart failed to render.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

/// Drawing errors carry the backend's error type; keep the message.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError(e.to_string())
}

/// One chart kind.
pub(crate) trait Chart {
    /// File stem, e.g. `throughput`.
    fn name(&self) -> &'static str;
    /// Human title, used in reports.
    fn title(&self) -> String;
    /// Size in pixels; most charts are [`WIDTH`] x [`HEIGHT`], bar charts
    /// grow with their rows.
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }
    /// Draws the whole chart on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError>;
}

/// A rendered chart: the same drawing as PNG bytes and SVG text.
#[derive(Clone, Debug)]
pub struct RenderedChart {
    /// File stem (`throughput` gives `throughput.png` and `throughput.svg`).
    pub name: &'static str,
    /// Title for reports.
    pub title: String,
    /// PNG file bytes.
    pub png: Vec<u8>,
    /// SVG document.
    pub svg: String,
}

fn ensure_fonts() -> Result<(), ChartError> {
    static FONTS: OnceLock<Result<(), ChartError>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let bad = |_| ChartError("the embedded Noto Sans font did not load".into());
            register_font("sans-serif", FontStyle::Normal, notosans::REGULAR_TTF).map_err(bad)?;
            register_font("sans-serif", FontStyle::Bold, notosans::BOLD_TTF).map_err(bad)?;
            Ok(())
        })
        .clone()
}

fn render<C: Chart>(chart: &C) -> Result<RenderedChart, ChartError> {
    ensure_fonts()?;
    let (width, height) = chart.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        chart.draw(&root)?;
        root.present().map_err(err)?;
    }
    let mut rgb = vec![0u8; (width * height * 3) as usize];
    {
        let root = text::TextBitmap(BitMapBackend::with_buffer(&mut rgb, (width, height)))
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        chart.draw(&root)?;
        root.present().map_err(err)?;
    }
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&rgb).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(RenderedChart {
        name: chart.name(),
        title: chart.title(),
        png,
        svg,
    })
}

/// Renders the calibration report's charts.
pub fn render_calibration(
    c: &crate::calibrate::Calibration,
) -> Result<Vec<RenderedChart>, ChartError> {
    Ok(vec![
        render(&calibration::Rate { c })?,
        render(&calibration::Fits { c })?,
        render(&calibration::CpuRegressions { c })?,
        render(&calibration::CpuPerRequest { c })?,
    ])
}

/// Renders the capacity report's charts.
pub fn render_capacity(
    r: &crate::report::capacity_result::CapacityResult,
    slos: &[crate::analysis::slo::Slo],
) -> Result<Vec<RenderedChart>, ChartError> {
    Ok(vec![
        render(&capacity::CapacityLatency { r, slos })?,
        render(&capacity::CapacityThroughput { r })?,
    ])
}

/// Renders the validation report's charts.
pub fn render_validation(
    v: &crate::calibrate::validation::Validation,
) -> Result<Vec<RenderedChart>, ChartError> {
    Ok(vec![
        render(&calibration::ValidateLatency { v })?,
        render(&calibration::ValidateCpu { v })?,
    ])
}

/// Renders every chart of a run, in the order reports show them.
pub fn render_all(r: &RunReport<'_>) -> Result<Vec<RenderedChart>, ChartError> {
    Ok(vec![
        render(&throughput::Throughput { r })?,
        render(&latency::LatencyOverTime { r })?,
        render(&utilization::Utilization { r })?,
        render(&queue::PoolOverTime {
            r,
            what: queue::PoolSeries::Queue,
        })?,
        render(&queue::PoolOverTime {
            r,
            what: queue::PoolSeries::Utilization,
        })?,
        render(&cdf::LatencyCdf { r })?,
    ])
}

/// Renders a comparison's charts.
pub fn render_compare(
    c: &crate::report::pairing::CompareReport<'_>,
) -> Result<Vec<RenderedChart>, ChartError> {
    Ok(vec![
        render(&compare::PairedCdf { c })?,
        render(&compare::UtilizationPairs { c })?,
    ])
}

/// Renders the sweep charts from the points, in grid order.
pub fn render_sweep(
    points: &[crate::report::points::PointResult],
) -> Result<Vec<RenderedChart>, ChartError> {
    use sweep::{SweepChart, SweepKind};
    [
        SweepKind::Latency,
        SweepKind::Throughput,
        SweepKind::Bottleneck,
    ]
    .into_iter()
    .map(|kind| render(&SweepChart { kind, points }))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Empty;
    impl Chart for Empty {
        fn name(&self) -> &'static str {
            "empty"
        }
        fn title(&self) -> String {
            "Nothing to show".into()
        }
        fn draw<DB: DrawingBackend>(
            &self,
            root: &DrawingArea<DB, Shift>,
        ) -> Result<(), ChartError> {
            draw_empty(root, &self.title(), "no data in this run")
        }
    }

    #[test]
    fn empty_state_renders_to_both_formats() {
        let c = render(&Empty).unwrap();
        assert!(c.png.starts_with(b"\x89PNG"));
        assert!(c.svg.contains("no data in this run"));
    }
}
