//! End-to-end latency percentiles (p50, p95, p99) over time: all requests,
//! then one panel per class.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::throughput::over_time;
use super::{
    Chart, ChartError, LegendItem, Mark, PALETTE, axis_font, band_legend, draw_empty,
    draw_estimate_line, err, fault_bands, time_backdrop, title_font, with_legend, y_max,
};
use crate::report::RunReport;
use crate::stats::Estimate;

/// At most this many class panels below the overall one.
const MAX_CLASS_PANELS: usize = 3;

pub(crate) struct LatencyOverTime<'a> {
    pub r: &'a RunReport<'a>,
}

/// p50, p95, p99: blue, orange, red of the house palette.
const COLORS: [RGBColor; 3] = [PALETTE[0], PALETTE[1], PALETTE[3]];

/// Marks intervals in which no request completed.
const NONE_COMPLETED: RGBColor = RGBColor(225, 215, 200);

impl Chart for LatencyOverTime<'_> {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn title(&self) -> String {
        "End-to-end latency percentiles over time".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let any = r
            .summary
            .series
            .iter()
            .any(|s| s.latency_p50_ms.mean.is_finite());
        if !any {
            return draw_empty(root, &self.title(), "no request completed in this run");
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items: Vec<LegendItem> = ["p50", "p95", "p99"]
            .iter()
            .zip(COLORS)
            .map(|(l, c)| LegendItem {
                label: l.to_string(),
                color: c,
                mark: Mark::Line,
            })
            .collect();
        items.push(LegendItem {
            label: "95% interval".into(),
            color: RGBColor(205, 205, 205),
            mark: Mark::Box,
        });
        let classes = &r.scenario.classes;
        if classes.len() > 1 + MAX_CLASS_PANELS {
            items.push(LegendItem {
                label: format!("(first {MAX_CLASS_PANELS} classes shown)"),
                color: WHITE,
                mark: Mark::Box,
            });
        }
        // Intervals in which no request completed: the lines break there,
        // and the gap is marked rather than left blank.
        let dt = r.scenario.simulation.sample_every_ns as f64 / 1e9;
        let none: Vec<(f64, f64)> = r
            .summary
            .series
            .iter()
            .filter(|s| !s.latency_p50_ms.mean.is_finite() || s.completed_rps.mean <= 0.0)
            .map(|s| (s.start_s, s.start_s + dt))
            .collect();
        if !none.is_empty() {
            items.push(LegendItem {
                label: "no request completed".into(),
                color: NONE_COMPLETED,
                mark: Mark::Box,
            });
        }
        let bands = fault_bands(r);
        items.extend(band_legend(&bands));
        let plot = with_legend(&area, &items)?;
        // Panels: all requests, then each class (when there is more than one).
        type Getter<'g> = Box<dyn Fn(usize, &crate::stats::SeriesPoint) -> Estimate + 'g>;
        let mut panels: Vec<(String, Getter<'_>)> = vec![(
            "all requests".into(),
            Box::new(|k, s| [s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms][k]),
        )];
        if classes.len() > 1 {
            for (c, class) in classes.iter().enumerate().take(MAX_CLASS_PANELS) {
                panels.push((
                    format!("class {}", class.name),
                    Box::new(move |k, s| s.class_latency_ms[c][k]),
                ));
            }
        }
        let areas = plot.split_evenly((panels.len(), 1));
        let end = r.scenario.simulation.window_end_ns() as f64 / 1e9;
        for ((label, get), pa) in panels.iter().zip(&areas) {
            let lines: Vec<Vec<(f64, Estimate)>> =
                (0..3).map(|k| over_time(r, |s| get(k, s))).collect();
            let top = y_max(lines.iter().flatten().map(|(_, e)| e));
            let mut chart = ChartBuilder::on(pa)
                .caption(label, axis_font())
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d(0f64..end, 0f64..top)
                .map_err(err)?;
            let warmup_s = r.scenario.simulation.warmup_ns() as f64 / 1e9;
            time_backdrop(&mut chart, "latency (ms)", warmup_s, &bands, top)?;
            chart
                .draw_series(none.iter().map(|&(a, b)| {
                    Rectangle::new(
                        [(a, 0.0), (b.min(end), top)],
                        NONE_COMPLETED.mix(0.7).filled(),
                    )
                }))
                .map_err(err)?;
            for (points, c) in lines.iter().zip(COLORS) {
                draw_estimate_line(&mut chart, points, c, 2)?;
            }
        }
        Ok(())
    }
}
