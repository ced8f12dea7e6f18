//! Sweep charts: latency, throughput and bottleneck utilization against the
//! offered load, one line per variant (the values of every varied key but
//! the arrival rate), with 95% bands.

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Chart, ChartError, LabelPlacer, LegendItem, Mark, color, decades, draw_empty,
    draw_estimate_line, draw_mesh, err, tick_font, title_font, with_legend,
};
use crate::report::points::{Est, PointResult};
use crate::stats::Estimate;

/// Which sweep chart.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SweepKind {
    Latency,
    Throughput,
    Bottleneck,
}

pub(crate) struct SweepChart<'a> {
    pub kind: SweepKind,
    pub points: &'a [PointResult],
}

const RATE_KEY: &str = "workload.rate";

fn est(e: Est, scale: f64) -> Estimate {
    Estimate {
        mean: e.mean.map_or(f64::NAN, |m| m * scale),
        half_width: e.hw.map(|h| h * scale),
        n: 2,
    }
}

/// Points grouped by variant, each sorted by offered load.
fn variants(points: &[PointResult]) -> Vec<(String, Vec<&PointResult>)> {
    let mut out: Vec<(String, Vec<&PointResult>)> = Vec::new();
    for p in points {
        let v = p.variant(RATE_KEY);
        match out.iter_mut().find(|(k, _)| *k == v) {
            Some((_, list)) => list.push(p),
            None => out.push((v, vec![p])),
        }
    }
    for (_, list) in &mut out {
        list.sort_by(|a, b| {
            a.offered_rps
                .mean
                .unwrap_or(0.0)
                .total_cmp(&b.offered_rps.mean.unwrap_or(0.0))
        });
    }
    out
}

impl Chart for SweepChart<'_> {
    fn name(&self) -> &'static str {
        match self.kind {
            SweepKind::Latency => "sweep-latency",
            SweepKind::Throughput => "sweep-throughput",
            SweepKind::Bottleneck => "sweep-bottleneck",
        }
    }

    fn title(&self) -> String {
        match self.kind {
            SweepKind::Latency => "Latency against offered load (p50 dashed, p99 solid)".into(),
            SweepKind::Throughput => "Throughput against offered load".into(),
            SweepKind::Bottleneck => "Bottleneck utilization against offered load".into(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let groups = variants(self.points);
        let x_max = self
            .points
            .iter()
            .filter_map(|p| p.offered_rps.mean)
            .fold(0.0, f64::max);
        if groups.is_empty() || x_max <= 0.0 {
            return draw_empty(root, &self.title(), "no sweep points");
        }
        let series = |p: &PointResult| -> Vec<Estimate> {
            match self.kind {
                SweepKind::Latency => vec![est(p.latency_p50_ms, 1.0), est(p.latency_p99_ms, 1.0)],
                SweepKind::Throughput => vec![est(p.throughput_rps, 1.0)],
                SweepKind::Bottleneck => vec![Estimate {
                    mean: p.bottleneck_utilization.map_or(f64::NAN, |u| u * 100.0),
                    half_width: None,
                    n: 1,
                }],
            }
        };
        let y_top = self
            .points
            .iter()
            .flat_map(&series)
            .filter(|e| e.mean.is_finite())
            .map(|e| e.mean + e.half_width.unwrap_or(0.0))
            .fold(
                if self.kind == SweepKind::Bottleneck {
                    100.0
                } else {
                    0.0
                },
                f64::max,
            )
            * 1.1;
        let y_top = if y_top > 0.0 { y_top } else { 1.0 };
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items: Vec<LegendItem> = groups
            .iter()
            .enumerate()
            .map(|(i, (v, _))| LegendItem {
                label: v.clone(),
                color: color(i),
                mark: Mark::Line,
            })
            .collect();
        if self.kind == SweepKind::Throughput {
            items.push(LegendItem {
                label: "throughput = offered".into(),
                color: RGBColor(150, 150, 150),
                mark: Mark::Line,
            });
        }
        if self.kind == SweepKind::Latency && self.points.iter().any(|p| !p.unstable.is_empty()) {
            items.push(LegendItem {
                label: "unstable: its latency".into(),
                color: UNSTABLE,
                mark: Mark::Cross,
            });
            items.push(LegendItem {
                label: "measures the run length".into(),
                color: WHITE,
                mark: Mark::Box,
            });
        }
        let plot = with_legend(&area, &items)?;
        let y_desc = match self.kind {
            SweepKind::Latency => "end-to-end latency (ms, log scale)",
            SweepKind::Throughput => "completed requests/s",
            SweepKind::Bottleneck => "bottleneck utilization serving (%)",
        };
        let x_range = 0f64..x_max * 1.05;
        if self.kind == SweepKind::Latency {
            let lo = self
                .points
                .iter()
                .filter_map(|p| p.latency_p50_ms.mean)
                .filter(|m| *m > 0.0)
                .fold(f64::INFINITY, f64::min);
            let (lo, hi) = decades(lo, y_top / 1.1);
            let mut chart = ChartBuilder::on(&plot)
                .margin(15)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(x_range, (lo..hi).log_scale())
                .map_err(err)?;
            draw_mesh(&mut chart, "offered load (requests/s)", y_desc)?;
            draw_groups(&mut chart, &groups, self.kind, &series)
        } else {
            let mut chart = ChartBuilder::on(&plot)
                .margin(15)
                .x_label_area_size(55)
                .y_label_area_size(80)
                .build_cartesian_2d(x_range, 0f64..y_top)
                .map_err(err)?;
            draw_mesh(&mut chart, "offered load (requests/s)", y_desc)?;
            if self.kind == SweepKind::Throughput {
                chart
                    .draw_series(DashedLineSeries::new(
                        // Ends inside the frame: a point past it is clamped
                        // and bends the line off throughput = offered.
                        vec![(0.0, 0.0), (x_max.min(y_top), x_max.min(y_top))],
                        6,
                        6,
                        RGBColor(150, 150, 150).stroke_width(1),
                    ))
                    .map_err(err)?;
            }
            if self.kind == SweepKind::Bottleneck {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(0.0, 100.0), (x_max * 1.05, 100.0)],
                        8,
                        6,
                        BLACK.stroke_width(1),
                    ))
                    .map_err(err)?;
            }
            draw_groups(&mut chart, &groups, self.kind, &series)?;
            if self.kind == SweepKind::Bottleneck {
                // Name the bottleneck at the first point and wherever it
                // changes (a tier at low load, a machine's CPU at high, ...),
                // each label where it crosses no line and no other label.
                let (xs, ys) = chart.plotting_area().get_pixel_range();
                let mut placer = LabelPlacer::new(xs, ys);
                let pixel = |p: &PointResult| match (p.offered_rps.mean, p.bottleneck_utilization) {
                    (Some(x), Some(u)) => Some(chart.backend_coord(&(x, u * 100.0))),
                    _ => None,
                };
                for (_, list) in &groups {
                    let line: Vec<(i32, i32)> = list.iter().filter_map(|p| pixel(p)).collect();
                    placer.avoid_line(&line);
                }
                // Each run of points with one bottleneck gets one label, by
                // whichever of its points has room (the first that does).
                let mut labels: Vec<Label<'_>> = Vec::new();
                for (i, (_, list)) in groups.iter().enumerate() {
                    let mut last: Option<&str> = None;
                    for p in list {
                        let (Some(at), Some(name)) = (pixel(p), p.bottleneck.as_deref()) else {
                            continue;
                        };
                        match labels.last_mut() {
                            Some((j, run, _)) if *j == i && last == Some(name) => run.push(at),
                            _ => labels.push((i, vec![at], name)),
                        }
                        last = Some(name);
                    }
                }
                for (i, run, name) in labels {
                    let c = color(i);
                    let font = tick_font().color(&c);
                    let size = plot.estimate_text_size(name, &font).map_err(err)?;
                    let (x, y) = placer.place_near(&run, size);
                    root.draw(&Text::new(
                        name.to_string(),
                        (x, y),
                        font.pos(Pos::new(HPos::Left, VPos::Top)),
                    ))
                    .map_err(err)?;
                }
            }
            Ok(())
        }
    }
}

/// A label to place: the variant's index, the pixels of the run of points
/// it names, the name.
type Label<'a> = (usize, Vec<(i32, i32)>, &'a str);

/// The mark of a point with no steady state.
const UNSTABLE: RGBColor = RGBColor(200, 30, 30);

/// Draws each variant's lines and markers.
fn draw_groups<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    groups: &[(String, Vec<&PointResult>)],
    kind: SweepKind,
    series: &dyn Fn(&PointResult) -> Vec<Estimate>,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, (_, list)) in groups.iter().enumerate() {
        let xs: Vec<f64> = list
            .iter()
            .map(|p| p.offered_rps.mean.unwrap_or(f64::NAN))
            .collect();
        let lines: Vec<Vec<Estimate>> = list.iter().map(|p| series(p)).collect();
        for k in 0..lines.first().map_or(0, Vec::len) {
            let pts: Vec<(f64, Estimate)> =
                xs.iter().zip(&lines).map(|(x, l)| (*x, l[k])).collect();
            if kind == SweepKind::Latency && k == 0 {
                let line: Vec<(f64, f64)> = pts
                    .iter()
                    .filter(|(_, e)| e.mean.is_finite())
                    .map(|(x, e)| (*x, e.mean))
                    .collect();
                chart
                    .draw_series(DashedLineSeries::new(line, 6, 4, color(i).stroke_width(2)))
                    .map_err(err)?;
            } else {
                draw_estimate_line(chart, &pts, color(i), 2)?;
            }
            chart
                .draw_series(
                    pts.iter()
                        .filter(|(_, e)| e.mean.is_finite())
                        .map(|(x, e)| Circle::new((*x, e.mean), 3, color(i).filled())),
                )
                .map_err(err)?;
            if kind == SweepKind::Latency {
                // A point with no steady state: its figure is not the stack's.
                chart
                    .draw_series(
                        pts.iter()
                            .zip(list.iter())
                            .filter(|((_, e), p)| e.mean.is_finite() && !p.unstable.is_empty())
                            .map(|((x, e), _)| {
                                Cross::new((*x, e.mean), 6, UNSTABLE.stroke_width(2))
                            }),
                    )
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}
