//! Queue length over time per pool.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::throughput::over_time;
use super::{
    Chart, ChartError, LegendItem, Mark, band_legend, color, draw_empty, draw_estimate_line, err,
    fault_bands, time_backdrop, title_font, with_legend, y_max,
};
use crate::report::RunReport;

pub(crate) struct QueueLength<'a> {
    pub r: &'a RunReport<'a>,
}

impl Chart for QueueLength<'_> {
    fn name(&self) -> &'static str {
        "queue"
    }

    fn title(&self) -> String {
        "Queue length over time".into()
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
            .map(|(p, _)| over_time(r, |s| s.queue[*p]))
            .collect();
        let top = y_max(lines.iter().flatten().map(|(_, e)| e));
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
            "requests waiting (time-average)",
            warmup_s,
            &bands,
            top,
        )?;
        for (i, points) in lines.iter().enumerate() {
            draw_estimate_line(&mut chart, points, color(i), 2)?;
        }
        Ok(())
    }
}
