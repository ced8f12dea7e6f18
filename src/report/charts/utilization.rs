//! Utilization per pool as horizontal bars: the part spent serving, the part
//! held waiting on later tiers, then the CPU of every machine, the
//! bottleneck highlighted, a 100% line.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    Chart, ChartError, LegendItem, Mark, WIDTH, draw_empty, err, lighten, mesh, percent_label,
    rows_height, tick_font, title_font, with_legend,
};
use crate::analysis::{MachineLabel, Resource};
use crate::report::RunReport;

/// One bar: label, total %, serving %, half-width %, resource.
struct Bar {
    label: String,
    total: f64,
    serving: f64,
    hw: f64,
    resource: Resource,
}

/// Pools in route order, then machines (cores busy).
fn bars(r: &RunReport<'_>) -> Vec<Bar> {
    let finite = |x: f64| if x.is_finite() { x * 100.0 } else { 0.0 };
    let mut out: Vec<Bar> = r
        .pool_rows()
        .map(|(p, l)| {
            let ps = &r.summary.pools[p];
            Bar {
                label: l.label.clone(),
                total: finite(ps.utilization.mean),
                serving: finite(ps.service_utilization.mean),
                hw: finite(ps.utilization.half_width.unwrap_or(0.0)),
                resource: Resource::Pool(p),
            }
        })
        .collect();
    for (g, (h, hs)) in r.scenario.hosts.iter().zip(&r.summary.hosts).enumerate() {
        for (m, e) in hs.machines.iter().enumerate() {
            out.push(Bar {
                label: format!("{} cpu", MachineLabel::new(&h.name, h.instances, m)),
                total: finite(e.mean),
                serving: finite(e.mean),
                hw: finite(e.half_width.unwrap_or(0.0)),
                resource: Resource::Host {
                    group: g,
                    machine: m as u32,
                },
            });
        }
    }
    out
}

pub(crate) struct Utilization<'a> {
    pub r: &'a RunReport<'a>,
}

const SERVING: RGBColor = RGBColor(31, 119, 180);
const BOTTLENECK: RGBColor = RGBColor(214, 39, 40);

impl Chart for Utilization<'_> {
    fn name(&self) -> &'static str {
        "utilization"
    }

    fn title(&self) -> String {
        if self.r.summary.hosts.is_empty() {
            "Utilization per tier".into()
        } else {
            "Utilization per tier and machine".into()
        }
    }

    fn size(&self) -> (u32, u32) {
        (WIDTH, rows_height(bars(self.r).len(), 48))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let r = self.r;
        let rows = bars(r);
        let machines = rows
            .iter()
            .any(|b| matches!(b.resource, Resource::Host { .. }));
        if rows.is_empty() {
            return draw_empty(root, &self.title(), "no tiers with instances");
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items = [
            LegendItem {
                label: "serving".into(),
                color: SERVING,
                mark: Mark::Box,
            },
            LegendItem {
                label: "held on tiers below".into(),
                color: lighten(SERVING, 0.6),
                mark: Mark::Box,
            },
            LegendItem {
                label: "bottleneck".into(),
                color: BOTTLENECK,
                mark: Mark::Box,
            },
            LegendItem {
                label: "95% interval".into(),
                color: BLACK,
                mark: Mark::Line,
            },
            LegendItem {
                label: if machines {
                    "100%: all busy".into()
                } else {
                    "100%: every worker busy".into()
                },
                color: RGBColor(90, 90, 90),
                mark: Mark::Line,
            },
        ];
        let plot = with_legend(&area, &items)?;
        let n = rows.len();
        let x_max = rows.iter().map(|b| b.total + b.hw).fold(100.0, f64::max) * 1.15;
        // Rows from the top in route order: row i spans [n - 1 - i, n - i] on
        // y; the chart's height follows the rows (see `size`).
        let span = n;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..x_max, 0f64..span as f64)
            .map_err(err)?;
        mesh(&mut chart)
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(if machines {
                "utilization (% of workers, or of a machine's cores, busy; time-average)"
            } else {
                "utilization (% of workers busy, time-average)"
            })
            .draw()
            .map_err(err)?;
        let bottleneck = r.bottleneck.map(|b| b.resource);
        let label_font = tick_font().pos(Pos::new(HPos::Right, VPos::Center));
        for (row, bar) in rows.iter().enumerate() {
            let y = (span - 1 - row) as f64;
            let (total, serving, hw) = (bar.total, bar.serving, bar.hw);
            let c = if Some(bar.resource) == bottleneck {
                BOTTLENECK
            } else {
                SERVING
            };
            let (y0, y1, mid) = (y + 0.18, y + 0.82, y + 0.5);
            chart
                .draw_series([
                    Rectangle::new([(0.0, y0), (serving, y1)], c.filled()),
                    Rectangle::new(
                        [(serving, y0), (total.max(serving), y1)],
                        lighten(c, 0.6).filled(),
                    ),
                ])
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![((total - hw).max(0.0), mid), (total + hw, mid)],
                    BLACK.stroke_width(2),
                )))
                .map_err(err)?;
            let text = percent_label(total, hw);
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (total + hw + x_max * 0.01, mid),
                    tick_font().pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(err)?;
            let (px, py) = chart.backend_coord(&(0.0, mid));
            root.draw(&Text::new(
                bar.label.clone(),
                (px - 10, py),
                label_font.clone(),
            ))
            .map_err(err)?;
        }
        chart
            .draw_series(DashedLineSeries::new(
                vec![(100.0, 0.0), (100.0, span as f64)],
                8,
                6,
                RGBColor(90, 90, 90).stroke_width(2),
            ))
            .map_err(err)?;
        Ok(())
    }
}
