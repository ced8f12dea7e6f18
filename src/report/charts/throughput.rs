//! Throughput over time: offered, completed and dropped requests/s, with
//! 95% bands across replications and the warm-up shaded.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Chart, ChartError, LegendItem, axis_font, draw_empty, draw_estimate_line, err, shade_warmup,
    tick_font, tick_label, title_font, with_legend, y_max,
};
use crate::report::RunReport;
use crate::stats::{Estimate, SeriesPoint};

pub(crate) struct Throughput<'a> {
    pub r: &'a RunReport<'a>,
}

/// `(x, estimate)` at each interval's midpoint.
pub(crate) fn over_time(
    r: &RunReport<'_>,
    get: impl Fn(&SeriesPoint) -> Estimate,
) -> Vec<(f64, Estimate)> {
    let dt = r.scenario.simulation.sample_every_ns as f64 / 1e9;
    let end = r.scenario.simulation.window_end_ns() as f64 / 1e9;
    r.summary
        .series
        .iter()
        .map(|s| ((s.start_s + dt / 2.0).min(end), get(s)))
        .collect()
}

impl Chart for Throughput<'_> {
    fn name(&self) -> &'static str {
        "throughput"
    }

    fn title(&self) -> String {
        "Throughput over time".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        if r.summary.series.is_empty() {
            return draw_empty(root, &self.title(), "no time series in this run");
        }
        // Offered last and thinner, so it shows on top of completed where they agree.
        let lines = [
            (
                "completed",
                RGBColor(44, 160, 44),
                over_time(r, |s| s.completed_rps),
            ),
            (
                "dropped (queue full)",
                RGBColor(214, 39, 40),
                over_time(r, |s| s.dropped_rps),
            ),
            (
                "offered",
                RGBColor(40, 40, 40),
                over_time(r, |s| s.offered_rps),
            ),
        ];
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items: Vec<LegendItem> = lines
            .iter()
            .map(|(l, c, _)| LegendItem {
                label: l.to_string(),
                color: *c,
                filled: false,
            })
            .collect();
        items.push(LegendItem {
            label: "95% interval".into(),
            color: RGBColor(205, 205, 205),
            filled: true,
        });
        let plot = with_legend(&area, &items)?;
        let top = y_max(lines.iter().flat_map(|(_, _, p)| p.iter().map(|(_, e)| e)));
        let end = r.scenario.simulation.window_end_ns() as f64 / 1e9;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..end, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc("requests/s")
            .axis_desc_style(axis_font())
            .label_style(tick_font())
            .x_label_formatter(&tick_label)
            .y_label_formatter(&tick_label)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(err)?;
        shade_warmup(
            &mut chart,
            r.scenario.simulation.warmup_ns as f64 / 1e9,
            top,
        )?;
        for (i, (_, c, points)) in lines.iter().enumerate() {
            draw_estimate_line(&mut chart, points, *c, if i == 2 { 1 } else { 3 })?;
        }
        Ok(())
    }
}
