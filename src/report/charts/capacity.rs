//! The capacity search's charts: latency and throughput against the probed
//! rate, the SLOs' limits and the bracket where the capacity lies.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Chart, ChartError, LegendItem, Mark, axis_font, color, draw_empty, err, interval, lighten,
    mesh, title_font, with_legend,
};
use crate::analysis::slo::{Slo, SloMetric};
use crate::report::capacity_result::CapacityResult;

/// The bracket: the highest passing rate and the lowest failing one.
fn bracket(r: &CapacityResult) -> Option<(f64, f64)> {
    (r.capacity_rps > 0.0).then_some(())?;
    Some((r.capacity_rps, r.failing_rps?))
}

/// The shaded bracket, behind the marks.
fn draw_bracket<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    r: &CapacityResult,
    y: (Y::ValueType, Y::ValueType),
) -> Result<(), ChartError>
where
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    if let Some((lo, hi)) = bracket(r) {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(lo, y.0), (hi, y.1)],
                lighten(color(2), 0.8).filled(),
            )))
            .map_err(err)?;
    }
    Ok(())
}

fn bracket_legend(r: &CapacityResult) -> Option<LegendItem> {
    bracket(r).map(|_| LegendItem {
        label: "capacity bracket".into(),
        color: lighten(color(2), 0.8),
        mark: Mark::Box,
    })
}

/// Latency (p50, p99) of every probe with its interval, against the rate,
/// with each latency SLO's limit.
pub(crate) struct CapacityLatency<'a> {
    pub r: &'a CapacityResult,
    pub slos: &'a [Slo],
}

impl Chart for CapacityLatency<'_> {
    fn name(&self) -> &'static str {
        "capacity-latency"
    }

    fn title(&self) -> String {
        "Latency against the probed rate (95% intervals), with the SLOs".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let p = &self.r.probes;
        let limits: Vec<&Slo> = self
            .slos
            .iter()
            .filter(|s| matches!(s.metric, SloMetric::Percentile(_) | SloMetric::Mean))
            .collect();
        let vals = || {
            p.iter()
                .filter(|x| !x.figures.unstable)
                .flat_map(|x| {
                    let f = &x.figures;
                    [
                        f.latency_p50_ms.mean,
                        f.latency_p99_ms.mean + f.latency_p99_ms.half_width.unwrap_or(0.0),
                    ]
                })
                .chain(limits.iter().map(|s| s.limit))
        };
        let lo = vals()
            .filter(|v| *v > 0.0 && v.is_finite())
            .fold(f64::INFINITY, f64::min);
        let hi = vals().filter(|v| v.is_finite()).fold(0.0, f64::max);
        if !(lo.is_finite() && hi > 0.0) {
            return draw_empty(root, &self.title(), "no probe had a steady state");
        }
        let x_hi = p.iter().map(|x| x.rate_rps).fold(0.0, f64::max) * 1.08;
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items = vec![
            LegendItem {
                label: "p50".into(),
                color: color(1),
                mark: Mark::Cross,
            },
            LegendItem {
                label: "p99".into(),
                color: color(0),
                mark: Mark::Cross,
            },
        ];
        for s in &limits {
            items.push(LegendItem {
                label: format!("SLO {}", s.text),
                color: RGBColor(200, 30, 30),
                mark: Mark::Line,
            });
        }
        items.extend(bracket_legend(self.r));
        if p.iter().any(|x| x.figures.unstable) {
            items.push(LegendItem {
                label: "no steady state".into(),
                color: RGBColor(150, 150, 150),
                mark: Mark::Dot,
            });
        }
        let plot = with_legend(&area, &items)?;
        let (y0, y1) = (lo * 0.7, hi * 1.5);
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..x_hi.max(1.0), (y0..y1).log_scale())
            .map_err(err)?;
        draw_bracket(&mut chart, self.r, (y0, y1))?;
        mesh(&mut chart)
            .x_desc("offered requests/s (each probe)")
            .y_desc("latency (ms, log scale)")
            .draw()
            .map_err(err)?;
        for s in &limits {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, s.limit), (x_hi, s.limit)],
                    RGBColor(200, 30, 30).stroke_width(2),
                )))
                .map_err(err)?;
        }
        for x in p {
            if x.figures.unstable {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (x.rate_rps, y1 / 1.2),
                        4,
                        RGBColor(150, 150, 150).filled(),
                    )))
                    .map_err(err)?;
                continue;
            }
            for (e, c) in [
                (&x.figures.latency_p50_ms, color(1)),
                (&x.figures.latency_p99_ms, color(0)),
            ] {
                if !(e.mean.is_finite() && e.mean > 0.0) {
                    continue;
                }
                let (bar, mark) = interval(x.rate_rps, e, y0, c);
                chart.draw_series(std::iter::once(bar)).map_err(err)?;
                chart.draw_series(std::iter::once(mark)).map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Throughput of every probe against its offered rate, beside the line
/// where all that is offered is served.
pub(crate) struct CapacityThroughput<'a> {
    pub r: &'a CapacityResult,
}

impl Chart for CapacityThroughput<'_> {
    fn name(&self) -> &'static str {
        "capacity-throughput"
    }

    fn title(&self) -> String {
        "Throughput against the probed rate (95% intervals)".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let p = &self.r.probes;
        let x_hi = p.iter().map(|x| x.rate_rps).fold(0.0, f64::max) * 1.08;
        if x_hi <= 0.0 {
            return draw_empty(root, &self.title(), "no probe ran");
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items = vec![
            LegendItem {
                label: "throughput".into(),
                color: color(0),
                mark: Mark::Cross,
            },
            LegendItem {
                label: "served = offered".into(),
                color: RGBColor(150, 150, 150),
                mark: Mark::Line,
            },
        ];
        items.extend(bracket_legend(self.r));
        let plot = with_legend(&area, &items)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..x_hi, 0f64..x_hi)
            .map_err(err)?;
        draw_bracket(&mut chart, self.r, (0.0, x_hi))?;
        mesh(&mut chart)
            .x_desc("offered requests/s (each probe)")
            .y_desc("completed requests/s")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (x_hi, x_hi)],
                RGBColor(150, 150, 150).stroke_width(1),
            )))
            .map_err(err)?;
        for x in p {
            let (bar, mark) = interval(x.rate_rps, &x.figures.throughput_rps, 0.0, color(0));
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            chart.draw_series(std::iter::once(mark)).map_err(err)?;
        }
        if let Some((lo, _)) = bracket(self.r) {
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("capacity {}", crate::units::grouped(&format!("{lo:.0}"))),
                    (lo, x_hi * 0.95),
                    axis_font(),
                )))
                .map_err(err)?;
        }
        Ok(())
    }
}
