//! The end-to-end latency distribution as a CDF on a log time axis.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Chart, ChartError, LegendItem, Mark, color, decades, draw_empty, err, mesh, tick_font,
    title_font, with_legend,
};
use crate::report::RunReport;

/// A label, a colour, a line width and the CDF points.
type Curve<'a> = (String, RGBColor, u32, &'a Vec<(f64, f64)>);

pub(crate) struct LatencyCdf<'a> {
    pub r: &'a RunReport<'a>,
}

impl Chart for LatencyCdf<'_> {
    fn name(&self) -> &'static str {
        "latency-cdf"
    }

    fn title(&self) -> String {
        "End-to-end latency of completed requests".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let classes = &r.scenario.classes;
        // Per class when there are several, then all requests (last, in black).
        // Failed and unfinished requests have no latency here: the legend
        // says what share each curve covers when it is not (nearly) all.
        let covers = |c: &crate::stats::ClassSummary| {
            if c.arrived == 0 || c.completed * 1000 >= c.arrived * 999 {
                String::new()
            } else {
                format!(
                    ", {:.1}% completed",
                    c.completed as f64 / c.arrived as f64 * 100.0
                )
            }
        };
        let mut curves: Vec<Curve<'_>> = Vec::new();
        if classes.len() > 1 {
            for (i, c) in classes.iter().enumerate() {
                if let (Some(cdf), Some(cs)) =
                    (r.summary.latency_cdf.get(i), r.summary.classes.get(i))
                {
                    curves.push((format!("class {}{}", c.name, covers(cs)), color(i), 2, cdf));
                }
            }
        }
        if let Some(all) = r.summary.latency_cdf.last() {
            curves.push((
                format!(
                    "{}{}",
                    if covers(&r.summary.overall).is_empty() {
                        "all requests"
                    } else {
                        "all"
                    },
                    covers(&r.summary.overall)
                ),
                BLACK,
                3,
                all,
            ));
        }
        let points = || {
            curves
                .iter()
                .flat_map(|c| c.3.iter())
                .filter(|(x, _)| x.is_finite() && *x > 0.0)
        };
        let (lo, hi) = points().fold((f64::INFINITY, 0.0f64), |(lo, hi), (x, _)| {
            (lo.min(*x), hi.max(*x))
        });
        if !(lo.is_finite() && hi > 0.0) {
            return draw_empty(root, &self.title(), "no request completed in this run");
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items: Vec<LegendItem> = curves
            .iter()
            .map(|(l, c, _, _)| LegendItem {
                label: l.clone(),
                color: *c,
                mark: Mark::Line,
            })
            .collect();
        let plot = with_legend(&area, &items)?;
        let lines: Vec<Line<'_>> = curves
            .iter()
            .map(|(_, c, w, cdf)| (*c, *w, cdf.as_slice()))
            .collect();
        draw_cdf(&plot, (lo, hi), &lines)
    }
}

/// A CDF curve to draw: colour, line width, points `(ms, fraction)`.
pub(crate) type Line<'a> = (RGBColor, u32, &'a [(f64, f64)]);

/// The CDF frame (log latency axis, p50 and p99 guides) on `plot` for
/// latencies in `[lo, hi]` ms, and each curve as `(colour, width, points)`.
pub(crate) fn draw_cdf<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    (lo, hi): (f64, f64),
    curves: &[Line<'_>],
) -> Result<(), ChartError> {
    let (lo, hi) = decades(lo, hi);
    let mut chart = ChartBuilder::on(plot)
        .margin(15)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..1.0)
        .map_err(err)?;
    mesh(&mut chart)
        .x_desc("end-to-end latency (ms, log scale)")
        .y_desc("fraction of completed requests at or below")
        .x_label_formatter(&|x| format_ms(*x))
        .draw()
        .map_err(err)?;
    for q in [0.5, 0.99] {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(lo, q), (hi, q)],
                6,
                6,
                RGBColor(160, 160, 160).stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("p{}", q * 100.0),
                (lo * 1.05, q - 0.035),
                tick_font(),
            )))
            .map_err(err)?;
    }
    for (c, w, cdf) in curves {
        let pts: Vec<(f64, f64)> = cdf
            .iter()
            .copied()
            .filter(|(x, _)| x.is_finite() && *x > 0.0)
            .collect();
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(*w)))
            .map_err(err)?;
    }
    Ok(())
}

/// Tick labels for milliseconds: `0.5`, `2`, `40`, `1,000`.
pub(crate) fn format_ms(x: f64) -> String {
    if x >= 10.0 {
        crate::units::grouped(&format!("{x:.0}"))
    } else if x >= 1.0 {
        format!("{x:.1}").trim_end_matches(".0").to_string()
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
