//! Throughput over time: offered and completed requests/s, failed requests
//! stacked by cause, failed attempts (retries counted) as their own dashed
//! series when clients retry, with 95% bands across replications, the
//! warm-up shaded and fault periods marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Chart, ChartError, LegendItem, Mark, PALETTE, band_legend, draw_empty, draw_estimate_line, err,
    fault_bands, time_backdrop, title_font, with_legend, y_max,
};
use crate::report::RunReport;
use crate::stats::{Cause, Estimate, SeriesPoint};

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

/// One colour per failure cause, from the house palette (green and grey,
/// used for completed and offered, left out).
const CAUSE_COLORS: [RGBColor; crate::stats::N_CAUSES] = [
    PALETTE[3], PALETTE[1], PALETTE[4], PALETTE[5], PALETTE[6], PALETTE[8], PALETTE[9],
];

/// Failed attempts' dashed line.
const ATTEMPTS: RGBColor = RGBColor(180, 30, 30);

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
        let completed = over_time(r, |s| s.completed_rps);
        let offered = over_time(r, |s| s.offered_rps);
        // Causes that occurred, stacked in index order (mean rates).
        let causes: Vec<usize> = (0..Cause::ALL.len())
            .filter(|&k| r.summary.series.iter().any(|s| s.errors_rps[k].mean > 0.0))
            .collect();
        let bands = fault_bands(r);
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items = vec![
            LegendItem {
                label: "offered".into(),
                color: RGBColor(40, 40, 40),
                mark: Mark::Line,
            },
            LegendItem {
                label: "completed".into(),
                color: RGBColor(44, 160, 44),
                mark: Mark::Line,
            },
        ];
        if causes.is_empty() {
            items.push(LegendItem {
                label: "failed: none".into(),
                color: CAUSE_COLORS[0],
                mark: Mark::Line,
            });
        }
        for &k in &causes {
            items.push(LegendItem {
                label: format!("failed: {}", Cause::ALL[k].describe()),
                color: CAUSE_COLORS[k],
                mark: Mark::Box,
            });
        }
        // Attempts are not requests: their own series, drawn only when
        // retries make them differ.
        let attempts = over_time(r, |s| s.failed_attempts_rps);
        let retried = r
            .summary
            .series
            .iter()
            .any(|s| s.failed_attempts_rps.mean > s.failed_rps.mean * 1.01 + 1e-9);
        if retried {
            items.push(LegendItem {
                label: "failed attempts/s".into(),
                color: ATTEMPTS,
                mark: Mark::Line,
            });
            items.push(LegendItem {
                label: "(dashed; retries count)".into(),
                color: WHITE,
                mark: Mark::Box,
            });
        }
        items.push(LegendItem {
            label: "95% interval".into(),
            color: RGBColor(205, 205, 205),
            mark: Mark::Box,
        });
        items.extend(band_legend(&bands));
        let plot = with_legend(&area, &items)?;
        let stacked_top = r
            .summary
            .series
            .iter()
            .map(|s| {
                causes
                    .iter()
                    .map(|&k| s.errors_rps[k].mean.max(0.0))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max);
        let attempts_top = if retried {
            attempts.iter().map(|(_, e)| e.mean).fold(0.0, f64::max) * 1.05
        } else {
            0.0
        };
        let top = y_max(offered.iter().chain(&completed).map(|(_, e)| e))
            .max(stacked_top * 1.12)
            .max(attempts_top);
        let end = r.scenario.simulation.window_end_ns() as f64 / 1e9;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..end, 0f64..top)
            .map_err(err)?;
        let warmup_s = r.scenario.simulation.warmup_ns() as f64 / 1e9;
        time_backdrop(
            &mut chart,
            if retried {
                "requests/s (attempts/s: dashed)"
            } else {
                "requests/s"
            },
            warmup_s,
            &bands,
            top,
        )?;
        // Failed requests: areas stacked by the cause of their last attempt.
        let dt = r.scenario.simulation.sample_every_ns as f64 / 1e9;
        let mut base: Vec<f64> = vec![0.0; r.summary.series.len()];
        for &k in &causes {
            let mut upper = Vec::with_capacity(base.len());
            for (i, s) in r.summary.series.iter().enumerate() {
                upper.push(base[i] + s.errors_rps[k].mean.max(0.0));
            }
            let xs: Vec<f64> = r
                .summary
                .series
                .iter()
                .map(|s| (s.start_s + dt / 2.0).min(end))
                .collect();
            let mut poly: Vec<(f64, f64)> = xs.iter().zip(&upper).map(|(x, y)| (*x, *y)).collect();
            poly.extend(xs.iter().zip(&base).rev().map(|(x, y)| (*x, *y)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    CAUSE_COLORS[k].mix(0.75).filled(),
                )))
                .map_err(err)?;
            base = upper;
        }
        if causes.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, 0.0), (end, 0.0)],
                    CAUSE_COLORS[0].stroke_width(3),
                ))
                .map_err(err)?;
        }
        if retried {
            let line: Vec<(f64, f64)> = attempts.iter().map(|(x, e)| (*x, e.mean)).collect();
            chart
                .draw_series(DashedLineSeries::new(line, 8, 5, ATTEMPTS.stroke_width(2)))
                .map_err(err)?;
        }
        draw_estimate_line(&mut chart, &completed, RGBColor(44, 160, 44), 3)?;
        // Offered on top, dashed: visible where completed equals it.
        draw_estimate_line(&mut chart, &offered, RGBColor(40, 40, 40), 1)?;
        let line: Vec<(f64, f64)> = offered.iter().map(|(x, e)| (*x, e.mean)).collect();
        chart
            .draw_series(DashedLineSeries::new(
                line,
                6,
                4,
                RGBColor(40, 40, 40).stroke_width(2),
            ))
            .map_err(err)?;
        Ok(())
    }
}
