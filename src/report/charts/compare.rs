//! A comparison's charts: the designs' end-to-end latency CDFs on one log
//! axis, and each tier's and host group's utilization as bars side by side.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Chart, ChartError, LegendItem, Mark, WIDTH, color, draw_empty, err, mesh, rows_height,
    tick_font, title_font, with_legend,
};
use crate::report::pairing::CompareReport;

/// `A (baseline)`, `B`: the report's design table names the scenarios
/// (the legend has room for about 24 characters).
fn legend_name(i: usize, label: &str) -> String {
    if i == 0 {
        format!("{label} (baseline)")
    } else {
        label.to_string()
    }
}

/// A legend label, a colour and the CDF points.
type Curve = (String, RGBColor, Vec<(f64, f64)>);

pub(crate) struct PairedCdf<'a> {
    pub c: &'a CompareReport<'a>,
}

impl Chart for PairedCdf<'_> {
    fn name(&self) -> &'static str {
        "compare-latency-cdf"
    }

    fn title(&self) -> String {
        "End-to-end latency of completed requests, each design".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let curves: Vec<Curve> = self
            .c
            .designs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                let s = &d.run.summary;
                let pts: Vec<(f64, f64)> = s
                    .latency_cdf
                    .last()?
                    .iter()
                    .copied()
                    .filter(|(x, _)| x.is_finite() && *x > 0.0)
                    .collect();
                let o = &s.overall;
                let share = if o.arrived == 0 || o.completed * 1000 >= o.arrived * 999 {
                    String::new()
                } else {
                    format!(
                        ", {:.1}% completed",
                        o.completed as f64 / o.arrived as f64 * 100.0
                    )
                };
                Some((
                    format!("{}{share}", legend_name(i, &d.label)),
                    color(i),
                    pts,
                ))
            })
            .filter(|c| !c.2.is_empty())
            .collect();
        let (lo, hi) = curves
            .iter()
            .flat_map(|c| c.2.iter())
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), (x, _)| {
                (lo.min(*x), hi.max(*x))
            });
        if curves.is_empty() || !(lo.is_finite() && hi > 0.0) {
            return draw_empty(root, &self.title(), "no request completed in any design");
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items: Vec<LegendItem> = curves
            .iter()
            .map(|(l, c, _)| LegendItem {
                label: l.clone(),
                color: *c,
                mark: Mark::Line,
            })
            .collect();
        let plot = with_legend(&area, &items)?;
        // The baseline thick, variants thinner, so an exact overlap still
        // shows both.
        let lines: Vec<super::cdf::Line<'_>> = curves
            .iter()
            .enumerate()
            .map(|(i, (_, c, pts))| (*c, if i == 0 { 4 } else { 2 }, pts.as_slice()))
            .collect();
        super::cdf::draw_cdf(&plot, (lo, hi), &lines)
    }
}

pub(crate) struct UtilizationPairs<'a> {
    pub c: &'a CompareReport<'a>,
}

/// One row: a tier, database role or host group, and each design's
/// utilization % (none where the design has no such component).
type Row = (String, Vec<Option<f64>>);

fn rows(c: &CompareReport<'_>) -> Vec<Row> {
    let mut names: Vec<String> = Vec::new();
    let mut push = |n: String| {
        if !names.contains(&n) {
            names.push(n);
        }
    };
    for d in &c.designs {
        for (_, l) in d.run.pool_rows() {
            push(l.label.clone());
        }
    }
    for d in &c.designs {
        for h in &d.run.scenario.hosts {
            push(format!("host {} cpu", h.name));
        }
    }
    let pct = |x: f64| x.is_finite().then_some(x * 100.0);
    names
        .into_iter()
        .map(|n| {
            let values = c
                .designs
                .iter()
                .map(|d| {
                    if let Some(host) = n.strip_prefix("host ").and_then(|h| h.strip_suffix(" cpu"))
                    {
                        let g = d.run.scenario.hosts.iter().position(|h| h.name == host)?;
                        pct(d.run.summary.hosts[g].utilization.mean)
                    } else {
                        let (p, _) = d.run.pool_rows().find(|(_, l)| l.label == n)?;
                        pct(d.run.summary.pools[p].utilization.mean)
                    }
                })
                .collect();
            (n, values)
        })
        .collect()
}

impl Chart for UtilizationPairs<'_> {
    fn name(&self) -> &'static str {
        "compare-utilization"
    }

    fn title(&self) -> String {
        "Utilization per tier and host group, each design".into()
    }

    fn size(&self) -> (u32, u32) {
        let per_row = 22 * self.c.designs.len().max(1) as u32 + 16;
        (WIDTH, rows_height(rows(self.c).len(), per_row))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let rows = rows(self.c);
        if rows.is_empty() {
            return draw_empty(root, &self.title(), "no tiers with instances");
        }
        let k = self.c.designs.len();
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut items: Vec<LegendItem> = self
            .c
            .designs
            .iter()
            .enumerate()
            .map(|(i, d)| LegendItem {
                label: legend_name(i, &d.label),
                color: color(i),
                mark: Mark::Box,
            })
            .collect();
        items.push(LegendItem {
            label: "100%: all busy".into(),
            color: RGBColor(90, 90, 90),
            mark: Mark::Line,
        });
        let plot = with_legend(&area, &items)?;
        let x_max = rows
            .iter()
            .flat_map(|r| r.1.iter().flatten())
            .fold(100.0f64, |m, v| m.max(*v))
            * 1.15;
        let n = rows.len();
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..x_max, 0f64..n as f64)
            .map_err(err)?;
        mesh(&mut chart)
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("utilization (% of workers, or of a host group's cores, busy; time-average)")
            .draw()
            .map_err(err)?;
        let label_font = tick_font().pos(Pos::new(HPos::Right, VPos::Center));
        let value_font = tick_font().pos(Pos::new(HPos::Left, VPos::Center));
        let band = 0.8 / k as f64;
        for (row, (name, values)) in rows.iter().enumerate() {
            let y = (n - 1 - row) as f64;
            for (i, v) in values.iter().enumerate() {
                let y1 = y + 0.9 - band * i as f64;
                let y0 = y1 - band * 0.85;
                let mid = (y0 + y1) / 2.0;
                match v {
                    Some(v) => {
                        chart
                            .draw_series(std::iter::once(Rectangle::new(
                                [(0.0, y0), (*v, y1)],
                                color(i).filled(),
                            )))
                            .map_err(err)?;
                        if k * n <= 40 {
                            chart
                                .draw_series(std::iter::once(Text::new(
                                    format!("{v:.1}%"),
                                    (v + x_max * 0.01, mid),
                                    value_font.clone(),
                                )))
                                .map_err(err)?;
                        }
                    }
                    None if k * n <= 40 => {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                "absent".to_string(),
                                (x_max * 0.01, mid),
                                value_font.clone().color(&RGBColor(120, 120, 120)),
                            )))
                            .map_err(err)?;
                    }
                    None => {}
                }
            }
            let (px, py) = chart.backend_coord(&(0.0, y + 0.5));
            root.draw(&Text::new(name.clone(), (px - 10, py), label_font.clone()))
                .map_err(err)?;
        }
        chart
            .draw_series(DashedLineSeries::new(
                vec![(100.0, 0.0), (100.0, n as f64)],
                8,
                6,
                RGBColor(90, 90, 90).stroke_width(2),
            ))
            .map_err(err)?;
        Ok(())
    }
}
