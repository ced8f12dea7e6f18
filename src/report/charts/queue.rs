//! Per pool over time: the queue length, and the utilization.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::throughput::over_time;
use super::{
    Chart, ChartError, LegendItem, Mark, band_legend, color, draw_empty, draw_estimate_line, err,
    fault_bands, time_backdrop, title_font, with_legend, y_max,
};
use crate::report::RunReport;

/// A figure of every pool, per time-series interval.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum PoolSeries {
    /// Requests waiting (time-average).
    Queue,
    /// Busy workers / workers (time-average), in %.
    Utilization,
}

pub(crate) struct PoolOverTime<'a> {
    pub r: &'a RunReport<'a>,
    pub what: PoolSeries,
}

impl Chart for PoolOverTime<'_> {
    fn name(&self) -> &'static str {
        match self.what {
            PoolSeries::Queue => "queue",
            PoolSeries::Utilization => "utilization-over-time",
        }
    }

    fn title(&self) -> String {
        match self.what {
            PoolSeries::Queue => "Queue length over time",
            PoolSeries::Utilization => "Utilization over time",
        }
        .into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let pools: Vec<(usize, String)> =
            r.pool_rows().map(|(p, l)| (p, l.label.clone())).collect();
        if r.summary.series.is_empty() || pools.is_empty() {
            return draw_empty(root, &self.title(), "no time series in this run");
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items: Vec<LegendItem> = pools
            .iter()
            .enumerate()
            .map(|(i, (_, l))| LegendItem {
                label: l.clone(),
                color: color(i),
                mark: Mark::Line,
            })
            .collect();
        let bands = fault_bands(r);
        items.extend(band_legend(&bands));
        let plot = with_legend(&area, &items)?;
        let lines: Vec<_> = pools
            .iter()
            .map(|(p, _)| match self.what {
                PoolSeries::Queue => over_time(r, |s| s.queue[*p]),
                PoolSeries::Utilization => over_time(r, |s| {
                    let mut e = s.utilization[*p];
                    e.mean *= 100.0;
                    e.half_width = e.half_width.map(|h| h * 100.0);
                    e
                }),
            })
            .collect();
        let mut top = y_max(lines.iter().flatten().map(|(_, e)| e));
        if self.what == PoolSeries::Utilization {
            // The whole scale to all busy, whatever the figures.
            top = top.max(115.0);
        }
        let end = r.scenario.simulation.window_end_ns() as f64 / 1e9;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..end, 0f64..top)
            .map_err(err)?;
        let warmup_s = r.scenario.simulation.warmup_ns() as f64 / 1e9;
        let y_desc = match self.what {
            PoolSeries::Queue => "requests waiting (time-average)",
            PoolSeries::Utilization => "utilization (% of workers busy; time-average)",
        };
        time_backdrop(&mut chart, y_desc, warmup_s, &bands, top)?;
        if self.what == PoolSeries::Utilization {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, 100.0), (end, 100.0)],
                    8,
                    6,
                    RGBColor(90, 90, 90).stroke_width(2),
                ))
                .map_err(err)?;
        }
        for (i, points) in lines.iter().enumerate() {
            draw_estimate_line(&mut chart, points, color(i), 2)?;
        }
        Ok(())
    }
}
