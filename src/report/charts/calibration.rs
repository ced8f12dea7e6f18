//! Calibration charts: fitted against empirical CDF per tier and class, the
//! CPU regressions, the arrival rate over time.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Chart, ChartError, LegendItem, Mark, color, draw_empty, err, interval, lighten, mesh,
    tick_font, title_font, with_legend,
};
use crate::calibrate::Calibration;
use crate::calibrate::fit::{cdf, reported_cdf};

/// One panel per tier and class with a per-request fit.
pub(crate) struct Fits<'a> {
    pub c: &'a Calibration,
}

impl Chart for Fits<'_> {
    fn name(&self) -> &'static str {
        "calibration-fits"
    }

    fn title(&self) -> String {
        "Fitted against observed CDF, per tier and class".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let panels: Vec<(String, &crate::calibrate::fit::Fit, &crate::dist::Dist)> = self
            .c
            .tiers
            .iter()
            .flat_map(|t| {
                t.times.iter().filter_map(move |ct| {
                    ct.fit.as_ref().map(|f| {
                        let name = ct.dist.spell();
                        let name = name.split('(').next().unwrap_or("");
                        (format!("{} / {}: {name}", t.name, ct.class), f, &ct.dist)
                    })
                })
            })
            .collect();
        if panels.is_empty() {
            return draw_empty(
                root,
                &self.title(),
                "no tier had per-request times to fit (only moments)",
            );
        }
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items = [
            LegendItem {
                label: "observed (empirical CDF)".into(),
                color: BLACK,
                mark: Mark::Line,
            },
            LegendItem {
                label: "used in the scenario".into(),
                color: color(0),
                mark: Mark::Line,
            },
            LegendItem {
                label: "the same, as the timer reports it (dashed)".into(),
                color: color(0),
                mark: Mark::Line,
            },
        ];
        let plot = with_legend(&area, &items)?;
        let cols = if panels.len() > 2 { 2 } else { panels.len() };
        let rows = panels.len().div_ceil(cols);
        let cells = plot.split_evenly((rows, cols));
        for ((label, fit, dist), cell) in panels.iter().zip(cells.iter()) {
            let hi = fit
                .ecdf
                .iter()
                .find(|p| p.1 >= 0.995)
                .map_or(fit.mean_ns * 4.0, |p| p.0)
                .max(fit.resolution_ns * 2.0)
                / 1e6;
            let mut chart = ChartBuilder::on(cell)
                .caption(label, tick_font())
                .margin(8)
                .x_label_area_size(40)
                .y_label_area_size(45)
                .build_cartesian_2d(0f64..hi, 0f64..1.0)
                .map_err(err)?;
            mesh(&mut chart)
                .x_desc("ms")
                .x_labels(6)
                .y_labels(5)
                .draw()
                .map_err(err)?;
            // Observed: a step at each logged value.
            let mut steps = Vec::new();
            let mut prev = 0.0;
            for &(x, y) in &fit.ecdf {
                let x = x / 1e6;
                if x > hi {
                    break;
                }
                steps.push((x, prev));
                steps.push((x, y));
                prev = y;
            }
            chart
                .draw_series(LineSeries::new(steps, BLACK.stroke_width(2)))
                .map_err(err)?;
            let model: Vec<(f64, f64)> = match dist {
                crate::dist::Dist::Empirical(v) => {
                    let n = v.len() as f64;
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| (x / 1e6, (i as f64 + 1.0) / n))
                        .filter(|p| p.0 <= hi)
                        .collect()
                }
                d => (0..=200)
                    .map(|i| {
                        let x = hi * i as f64 / 200.0;
                        (x, cdf(d, x * 1e6))
                    })
                    .collect(),
            };
            let quantized = crate::calibrate::fit::is_quantized(fit.mean_ns, fit.resolution_ns);
            let line = if quantized {
                lighten(color(0), 0.5)
            } else {
                color(0)
            };
            chart
                .draw_series(LineSeries::new(model, line.stroke_width(2)))
                .map_err(err)?;
            if quantized && !matches!(dist, crate::dist::Dist::Empirical(_)) {
                // What the 1 ms timer would report under the model: the step
                // to compare with the observed steps.
                let k_max = (hi * 1e6 / fit.resolution_ns).ceil() as usize;
                let mut steps = Vec::new();
                let mut prev = 0.0;
                for (x, y) in reported_cdf(dist, fit.resolution_ns, k_max) {
                    steps.push((x / 1e6, prev));
                    steps.push((x / 1e6, y));
                    prev = y;
                }
                chart
                    .draw_series(DashedLineSeries::new(steps, 8, 5, color(0).stroke_width(2)))
                    .map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Cores against requests/s per component, with the fitted lines.
pub(crate) struct CpuRegressions<'a> {
    pub c: &'a Calibration,
}

impl Chart for CpuRegressions<'_> {
    fn name(&self) -> &'static str {
        "calibration-cpu"
    }

    fn title(&self) -> String {
        "CPU per component: ms per request + background cores (utilization law)".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let comps: Vec<_> = self
            .c
            .components
            .iter()
            .filter_map(|c| c.line.as_ref().map(|l| (c, l)))
            .collect();
        if comps.is_empty() {
            return draw_empty(root, &self.title(), "no CPU counters covered a full window");
        }
        let x_hi = comps
            .iter()
            .flat_map(|(_, l)| l.points.iter().map(|p| p.0))
            .fold(0.0f64, f64::max)
            * 1.08;
        let y_hi = comps
            .iter()
            .flat_map(|(_, l)| l.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            * 1.15;
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items: Vec<LegendItem> = comps
            .iter()
            .enumerate()
            .map(|(i, (c, l))| LegendItem {
                label: format!(
                    "{} {:.3} + {:.2}",
                    crate::calibrate::cpu::series_key(&c.component, c.host.as_deref()),
                    l.per_request_s * 1e3,
                    l.background_cores
                ),
                color: color(i),
                mark: Mark::Dot,
            })
            .collect();
        let plot = with_legend(&area, &items)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_hi.max(1.0), 0f64..y_hi.max(0.01))
            .map_err(err)?;
        mesh(&mut chart)
            .x_desc("requests/s through the component's tier in the window (all requests for a component no log covers)")
            .y_desc("cores used in the window")
            .draw()
            .map_err(err)?;
        for (i, (_, l)) in comps.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(l.points.iter().map(|&p| Circle::new(p, 4, c.filled())))
                .map_err(err)?;
            let (lo, hi) = l.rate_range;
            chart
                .draw_series(LineSeries::new(
                    [lo, hi]
                        .into_iter()
                        .map(|x| (x, l.background_cores + l.per_request_s * x)),
                    c.stroke_width(2),
                ))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// CPU per request against the load, per component: each window's cores
/// over its rate (observed), and the utilization-law fit's (its intercept
/// spread over the requests): how the demand per request moves with load.
pub(crate) struct CpuPerRequest<'a> {
    pub c: &'a Calibration,
}

impl Chart for CpuPerRequest<'_> {
    fn name(&self) -> &'static str {
        "calibration-cpu-per-request"
    }

    fn title(&self) -> String {
        "CPU per request against load: observed windows and the fit".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let comps: Vec<_> = self
            .c
            .components
            .iter()
            .filter_map(|c| c.line.as_ref().map(|l| (c, l)))
            .filter(|(_, l)| l.points.iter().any(|p| p.0 > 0.0))
            .collect();
        if comps.is_empty() {
            return draw_empty(root, &self.title(), "no CPU counters covered a full window");
        }
        let per = |p: &(f64, f64)| (p.0, p.1 / p.0 * 1e3);
        let x_hi = comps
            .iter()
            .flat_map(|(_, l)| l.points.iter().map(|p| p.0))
            .fold(0.0f64, f64::max)
            * 1.08;
        // The fit drawn from the quietest window's rate up.
        let from = |l: &crate::calibrate::regress::CpuLine| {
            l.rate_range.0.max(l.rate_range.1 / 50.0).max(1e-9)
        };
        let fit = |l: &crate::calibrate::regress::CpuLine, x: f64| {
            (l.background_cores / x + l.per_request_s) * 1e3
        };
        let y_hi = comps
            .iter()
            .flat_map(|(_, l)| {
                l.points
                    .iter()
                    .filter(|p| p.0 > 0.0)
                    .map(|p| per(p).1)
                    .chain([fit(l, from(l))])
            })
            .fold(0.0f64, f64::max)
            * 1.1;
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items: Vec<LegendItem> = comps
            .iter()
            .enumerate()
            .map(|(i, (c, _))| LegendItem {
                label: crate::calibrate::cpu::series_key(&c.component, c.host.as_deref()),
                color: color(i),
                mark: Mark::Dot,
            })
            .collect();
        let plot = with_legend(&area, &items)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_hi.max(1.0), 0f64..y_hi.max(0.01))
            .map_err(err)?;
        mesh(&mut chart)
            .x_desc("requests/s through the component's tier in the window")
            .y_desc("CPU ms per request (cores / rate); line: the fit")
            .draw()
            .map_err(err)?;
        for (i, (_, l)) in comps.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(
                    l.points
                        .iter()
                        .filter(|p| p.0 > 0.0)
                        .map(|p| Circle::new(per(p), 4, c.filled())),
                )
                .map_err(err)?;
            let (lo, hi) = (from(l), l.rate_range.1);
            chart
                .draw_series(LineSeries::new(
                    (0..=40).map(|k| {
                        let x = lo + (hi - lo) * f64::from(k) / 40.0;
                        (x, fit(l, x))
                    }),
                    c.stroke_width(2),
                ))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Requests/s per window over the logged time.
pub(crate) struct Rate<'a> {
    pub c: &'a Calibration,
}

impl Chart for Rate<'_> {
    fn name(&self) -> &'static str {
        "calibration-rate"
    }

    fn title(&self) -> String {
        "Arrival rate over the logged time".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let w = &self.c.windows;
        if w.is_empty() {
            return draw_empty(root, &self.title(), "no full window");
        }
        let t0 = w[0].start_ns;
        let step = self.c.window_s;
        let x_hi = (w[w.len() - 1].start_ns - t0) as f64 / 1e9 + step;
        let y_hi = w.iter().map(|r| r.rate_rps).fold(0.0, f64::max) * 1.15;
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..x_hi, 0f64..y_hi.max(1.0))
            .map_err(err)?;
        mesh(&mut chart)
            .x_desc(format!(
                "seconds from {} (windows of {step} s)",
                crate::calibrate::emit::iso(t0)
            ))
            .y_desc("requests/s at the entry tier")
            .draw()
            .map_err(err)?;
        let mut pts = Vec::new();
        for r in w {
            let x0 = (r.start_ns - t0) as f64 / 1e9;
            pts.push((x0, r.rate_rps));
            pts.push((x0 + step, r.rate_rps));
        }
        chart
            .draw_series(LineSeries::new(pts, color(0).stroke_width(2)))
            .map_err(err)?;
        Ok(())
    }
}

/// Predicted against observed latency per window, by the window's rate.
pub(crate) struct ValidateLatency<'a> {
    pub v: &'a crate::calibrate::validation::Validation,
}

impl Chart for ValidateLatency<'_> {
    fn name(&self) -> &'static str {
        "validation-latency"
    }

    fn title(&self) -> String {
        "End-to-end latency per window: observed against simulated (95% intervals)".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let w = &self.v.windows;
        let vals = || {
            w.iter().flat_map(|x| {
                [
                    x.observed.e2e_ms[0],
                    x.observed.e2e_ms[2],
                    x.latency_ms[0].mean,
                    x.latency_ms[2].mean + x.latency_ms[2].half_width.unwrap_or(0.0),
                ]
            })
        };
        let lo = vals()
            .filter(|v| *v > 0.0 && v.is_finite())
            .fold(f64::INFINITY, f64::min);
        let hi = vals().filter(|v| v.is_finite()).fold(0.0, f64::max);
        if !(lo.is_finite() && hi > 0.0) {
            return draw_empty(root, &self.title(), "no window had completed requests");
        }
        let x_hi = w.iter().map(|x| x.observed.rate_rps).fold(0.0, f64::max) * 1.08;
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items = [
            LegendItem {
                label: "observed p50".into(),
                color: RGBColor(120, 120, 120),
                mark: Mark::Dot,
            },
            LegendItem {
                label: "observed p99".into(),
                color: BLACK,
                mark: Mark::Dot,
            },
            LegendItem {
                label: "simulated p50".into(),
                color: color(1),
                mark: Mark::Cross,
            },
            LegendItem {
                label: "simulated p99".into(),
                color: color(0),
                mark: Mark::Cross,
            },
        ];
        let plot = with_legend(&area, &items)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..x_hi.max(1.0), ((lo * 0.7)..(hi * 1.5)).log_scale())
            .map_err(err)?;
        mesh(&mut chart)
            .x_desc("observed requests/s in the window")
            .y_desc("latency (ms, log scale)")
            .draw()
            .map_err(err)?;
        for (q, obs_color, sim_color) in
            [(0, RGBColor(120, 120, 120), color(1)), (2, BLACK, color(0))]
        {
            chart
                .draw_series(w.iter().filter(|x| x.observed.e2e_ms[q] > 0.0).map(|x| {
                    Circle::new(
                        (x.observed.rate_rps, x.observed.e2e_ms[q]),
                        4,
                        obs_color.filled(),
                    )
                }))
                .map_err(err)?;
            for x in w {
                let e = &x.latency_ms[q];
                if !(e.mean.is_finite() && e.mean > 0.0) {
                    continue;
                }
                let (bar, mark) = interval(x.observed.rate_rps, e, lo * 0.7, sim_color);
                chart.draw_series(std::iter::once(bar)).map_err(err)?;
                chart.draw_series(std::iter::once(mark)).map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Predicted against observed busy cores per window.
pub(crate) struct ValidateCpu<'a> {
    pub v: &'a crate::calibrate::validation::Validation,
}

impl Chart for ValidateCpu<'_> {
    fn name(&self) -> &'static str {
        "validation-cpu"
    }

    fn title(&self) -> String {
        "Busy cores per window: observed against simulated (95% intervals)".into()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let w: Vec<_> = self
            .v
            .windows
            .iter()
            .filter(|x| x.cores.is_some() && !x.observed.cores.is_empty())
            .collect();
        if w.is_empty() {
            return draw_empty(
                root,
                &self.title(),
                "no CPU counters or no hosts in the scenario",
            );
        }
        let obs = |x: &crate::calibrate::validation::WindowCompare| {
            x.observed.cores.iter().map(|c| c.1).sum::<f64>()
        };
        let x_hi = w.iter().map(|x| x.observed.rate_rps).fold(0.0, f64::max) * 1.08;
        let y_hi = w
            .iter()
            .map(|x| {
                obs(x).max(
                    x.cores
                        .as_ref()
                        .map_or(0.0, |c| c.mean + c.half_width.unwrap_or(0.0)),
                )
            })
            .fold(0.0, f64::max)
            * 1.15;
        let area = root.titled(&self.title(), title_font()).map_err(err)?;
        let items = [
            LegendItem {
                label: "observed (CPU counters)".into(),
                color: BLACK,
                mark: Mark::Dot,
            },
            LegendItem {
                label: "simulated".into(),
                color: color(0),
                mark: Mark::Cross,
            },
        ];
        let plot = with_legend(&area, &items)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x_hi.max(1.0), 0f64..y_hi.max(0.01))
            .map_err(err)?;
        mesh(&mut chart)
            .x_desc("observed requests/s in the window")
            .y_desc("busy cores")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                w.iter()
                    .map(|x| Circle::new((x.observed.rate_rps, obs(x)), 4, BLACK.filled())),
            )
            .map_err(err)?;
        for x in &w {
            let Some(e) = &x.cores else { continue };
            let (bar, mark) = interval(x.observed.rate_rps, e, 0.0, color(0));
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            chart.draw_series(std::iter::once(mark)).map_err(err)?;
        }
        Ok(())
    }
}
