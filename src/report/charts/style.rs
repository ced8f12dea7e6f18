//! The one chart style: fonts, colours, the legend panel, bands, warm-up
//! shading and the empty state.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{ChartError, err};
use crate::stats::Estimate;

/// Width of the legend panel on the right of every chart, so a legend never
/// covers data.
pub(crate) const LEGEND_WIDTH: u32 = 230;

/// Tableau-10 colours: distinct, and readable for most colour vision.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the i-th series.
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Caption font.
pub(crate) fn title_font() -> TextStyle<'static> {
    TextStyle::from(("sans-serif", 26, FontStyle::Bold).into_font())
}

/// Axis title font.
pub(crate) fn axis_font() -> TextStyle<'static> {
    TextStyle::from(("sans-serif", 18).into_font())
}

/// Tick label font.
pub(crate) fn tick_font() -> TextStyle<'static> {
    TextStyle::from(("sans-serif", 15).into_font())
}

/// One legend entry.
pub(crate) struct LegendItem {
    pub label: String,
    pub color: RGBColor,
    /// The mark drawn beside the label: the plot's own for the series.
    pub mark: Mark,
}

/// A legend entry's mark, matching how its series is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Mark {
    /// A line (a series drawn as a line).
    Line,
    /// A filled box (bars, shaded bands).
    Box,
    /// A filled dot (points).
    Dot,
    /// A cross (simulated means with their interval bars).
    Cross,
}

/// Splits off the legend panel and draws the entries in it.
pub(crate) fn with_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
    let font = TextStyle::from(("sans-serif", 16).into_font());
    let mut y = 70;
    for item in items {
        match item.mark {
            Mark::Box => legend
                .draw(&Rectangle::new(
                    [(8, y - 7), (30, y + 7)],
                    item.color.filled(),
                ))
                .map_err(err)?,
            Mark::Line => legend
                .draw(&PathElement::new(
                    vec![(6, y), (32, y)],
                    item.color.stroke_width(3),
                ))
                .map_err(err)?,
            Mark::Dot => legend
                .draw(&Circle::new((19, y), 4, item.color.filled()))
                .map_err(err)?,
            Mark::Cross => legend
                .draw(&Cross::new((19, y), 5, item.color.stroke_width(2)))
                .map_err(err)?,
        }
        let label: String = if item.label.chars().count() > 24 {
            item.label.chars().take(23).chain(['…']).collect()
        } else {
            item.label.clone()
        };
        legend
            .draw(&Text::new(label, (40, y - 9), font.clone()))
            .map_err(err)?;
        y += 26;
    }
    Ok(plot)
}

/// Points `(x, mean)` split into runs of finite values, so gaps stay gaps.
pub(crate) fn segments(points: impl Iterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (x, y) in points {
        if y.is_finite() {
            if let Some(last) = out.last_mut() {
                last.push((x, y));
            }
        } else if out.last().is_some_and(|l| !l.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Draws a mean line with its 95% band for each run of finite values.
pub(crate) fn draw_estimate_line<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    points: &[(f64, Estimate)],
    color: RGBColor,
    width: u32,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let band: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|(_, e)| e.mean.is_finite())
        .map(|(x, e)| {
            let h = e.half_width.unwrap_or(0.0);
            (*x, (e.mean - h).max(0.0), e.mean + h)
        })
        .collect();
    for seg in segments(points.iter().map(|(x, e)| (*x, e.mean))) {
        let (lo, hi) = (seg[0].0, seg[seg.len() - 1].0);
        let part: Vec<&(f64, f64, f64)> = band
            .iter()
            .filter(|(x, _, _)| *x >= lo && *x <= hi)
            .collect();
        if part.len() > 1 {
            let mut poly: Vec<(f64, f64)> = part.iter().map(|(x, _, u)| (*x, *u)).collect();
            poly.extend(part.iter().rev().map(|(x, l, _)| (*x, *l)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    color.mix(0.18).filled(),
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(seg, color.stroke_width(width)))
            .map_err(err)?;
    }
    Ok(())
}

/// Shades the warm-up `[0, warmup_s)` and labels it.
pub(crate) fn shade_warmup<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    warmup_s: f64,
    y_top: f64,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    if warmup_s <= 0.0 {
        return Ok(());
    }
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (warmup_s, y_top)],
            RGBColor(232, 232, 232).filled(),
        )))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Text::new(
            "warm-up",
            (warmup_s * 0.05, y_top * 0.97),
            tick_font(),
        )))
        .map_err(err)?;
    Ok(())
}

/// A chart with nothing to show: its title, an empty frame and a message.
pub(crate) fn draw_empty<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), ChartError> {
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(title.to_string(), (30, 20), title_font()))
        .map_err(err)?;
    root.draw(&Rectangle::new(
        [(60, 80), (w as i32 - 60, h as i32 - 60)],
        RGBColor(180, 180, 180).stroke_width(1),
    ))
    .map_err(err)?;
    let font = TextStyle::from(("sans-serif", 24).into_font()).color(&RGBColor(110, 110, 110));
    let x = (w as i32 / 2) - (message.chars().count() as i32 * 6);
    root.draw(&Text::new(
        message.to_string(),
        (x.max(70), h as i32 / 2),
        font,
    ))
    .map_err(err)?;
    Ok(())
}

/// Upper end of an axis showing `values` (mean + half-width), with headroom.
pub(crate) fn y_max<'a>(values: impl Iterator<Item = &'a Estimate>) -> f64 {
    let m = values
        .filter(|e| e.mean.is_finite())
        .map(|e| e.mean + e.half_width.unwrap_or(0.0))
        .fold(0.0, f64::max);
    if m > 0.0 { m * 1.12 } else { 1.0 }
}

/// A percentage with its 95% half-width and the unit after both:
/// `79.5 ± 3.0%`; a half-width that rounds away at the figure's precision
/// reads `± <0.1%`, never a bare `± 0.0`.
pub(crate) fn percent_label(total: f64, hw: f64) -> String {
    let d = crate::units::decimals(total.abs().max(hw)).max(1);
    if hw <= 0.0 || !hw.is_finite() {
        return format!("{total:.d$}%");
    }
    let step = 10f64.powi(-(d as i32));
    if hw < step / 2.0 {
        format!("{total:.d$} ± <{step:.d$}%")
    } else {
        format!("{total:.d$} ± {hw:.d$}%")
    }
}

/// Height of a chart of `rows` horizontal bars, `per_row` pixels each, with
/// room for the title, the axis and a legend of five entries.
pub(crate) fn rows_height(rows: usize, per_row: u32) -> u32 {
    (150 + per_row * rows as u32).max(240)
}

/// The whole decades around `[lo, hi]` (both positive) for a log axis, so
/// its frame starts and ends at a labelled power of ten and no line runs
/// into the frame above the last tick.
pub(crate) fn decades(lo: f64, hi: f64) -> (f64, f64) {
    let lo = if lo > 0.0 && lo.is_finite() { lo } else { 0.1 };
    let hi = if hi >= lo && hi.is_finite() {
        hi
    } else {
        lo * 10.0
    };
    let a = 10f64.powf(lo.log10().floor());
    // Just above a power of ten (1,000.4) is read as that power.
    let b = 10f64.powf((hi.log10() - 1e-9).ceil());
    (a, if b > a { b } else { a * 10.0 })
}

/// `c` blended towards white by `f` (0 = unchanged, 1 = white): an opaque
/// lighter shade that looks the same in PNG, SVG and the legend.
pub(crate) fn lighten(c: RGBColor, f: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * f).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Tick labels without needless decimals, thousands grouped: `600`, `2.5`,
/// `0.04`, `4,500`.
pub(crate) fn tick_label(v: &f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    crate::units::grouped(&s)
}

/// A period to shade on time charts.
pub(crate) struct Band {
    pub start_s: f64,
    pub end_s: f64,
    pub kind: BandKind,
    /// What was down, slow or without a primary (`db primary`, `web#1`).
    pub what: String,
}

/// What a band shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BandKind {
    Down,
    MarkedDown,
    WriteOutage,
    Slow,
}

impl BandKind {
    pub(crate) const ALL: [BandKind; 4] = [
        BandKind::Down,
        BandKind::MarkedDown,
        BandKind::WriteOutage,
        BandKind::Slow,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            BandKind::Down => "down",
            BandKind::MarkedDown => "marked down",
            BandKind::WriteOutage => "no primary",
            BandKind::Slow => "slowdown",
        }
    }

    pub(crate) fn color(self) -> RGBColor {
        match self {
            BandKind::Down => RGBColor(245, 183, 177),
            BandKind::MarkedDown => RGBColor(250, 215, 160),
            BandKind::WriteOutage => RGBColor(215, 189, 226),
            BandKind::Slow => RGBColor(174, 214, 241),
        }
    }
}

/// The fault periods of the first replication, from its timeline.
pub(crate) fn fault_bands(r: &crate::report::RunReport<'_>) -> Vec<Band> {
    let end = r.scenario.simulation.window_end_ns() as f64 / 1e9;
    let mut out = Vec::new();
    let Some(events) = r.summary.timelines.first() else {
        return out;
    };
    use crate::stats::ComponentEvent as E;
    let pairs = [
        (E::Down, E::Up, BandKind::Down),
        (E::MarkedDown, E::MarkedUp, BandKind::MarkedDown),
        (E::SlowStart, E::SlowEnd, BandKind::Slow),
    ];
    for (open, close, kind) in pairs {
        let mut started: Vec<(&str, f64)> = Vec::new();
        for e in events {
            if e.event == open {
                started.push((&e.component, e.time_s));
            } else if e.event == close
                && let Some(i) = started.iter().position(|(c, _)| *c == e.component)
            {
                let (c, t) = started.remove(i);
                out.push(Band {
                    start_s: t,
                    end_s: e.time_s.min(end),
                    kind,
                    what: c.to_string(),
                });
            }
        }
        out.extend(started.into_iter().map(|(c, t)| Band {
            start_s: t,
            end_s: end,
            kind,
            what: c.to_string(),
        }));
    }
    if let Some(outages) = r.summary.write_outages.first() {
        out.extend(outages.iter().map(|o| Band {
            start_s: o.start_s,
            end_s: o.end_s.unwrap_or(end).min(end),
            kind: BandKind::WriteOutage,
            what: o.database.clone(),
        }));
    }
    out.retain(|b| b.start_s < end);
    out
}

/// Legend entries for the band kinds present, each naming what it shows
/// (`db primary down`, or how many components) in replication 1.
pub(crate) fn band_legend(bands: &[Band]) -> Vec<LegendItem> {
    BandKind::ALL
        .iter()
        .filter(|k| bands.iter().any(|b| b.kind == **k))
        .map(|k| {
            let mut what: Vec<&str> = bands
                .iter()
                .filter(|b| b.kind == *k)
                .map(|b| b.what.as_str())
                .collect();
            what.sort_unstable();
            what.dedup();
            let label = match what.as_slice() {
                [one] if *k == BandKind::WriteOutage => format!("{one}: no primary (rep. 1)"),
                [one] => format!("{one} {} (rep. 1)", k.label()),
                many => format!("{} {} (rep. 1)", many.len(), k.label()),
            };
            LegendItem {
                label,
                color: k.color(),
                mark: Mark::Box,
            }
        })
        .collect()
}

/// The backdrop of a chart over simulated time: axes and grid, the warm-up
/// shaded and labelled, the fault bands.
pub(crate) fn time_backdrop<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    y_desc: &str,
    warmup_s: f64,
    bands: &[Band],
    y_top: f64,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    draw_mesh(chart, "simulated time (s)", y_desc)?;
    shade_warmup(chart, warmup_s, y_top)?;
    draw_bands(chart, bands, y_top)
}

/// Shades the fault bands across the full height.
pub(crate) fn draw_bands<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    bands: &[Band],
    y_top: f64,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for b in bands {
        let end = b.end_s.max(b.start_s + 0.2);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(b.start_s, 0.0), (end, y_top)],
                b.kind.color().mix(0.55).filled(),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// The mesh in the house style: axis titles and tick labels in the house
/// fonts, numbers grouped by thousands on both axes, and a light grid of at
/// most one line between labelled ones (a finer grid greys out a panel).
/// Callers add their titles and any axis-specific formatter, then draw.
pub(crate) fn mesh<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut m = chart.configure_mesh();
    m.axis_desc_style(axis_font())
        .label_style(tick_font())
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .light_line_style(RGBColor(240, 240, 240))
        .max_light_lines(2);
    m
}

/// Draws the axes, grid, axis titles and tick labels in the house style.
pub(crate) fn draw_mesh<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), ChartError>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    mesh(chart)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(err)
}

/// Puts short labels beside points, in pixels: each goes to the first of a
/// few spots around its point that stays inside the plot, crosses no drawn
/// line and covers no earlier label (or, when none is clear, the spot that
/// breaks the fewest of those).
pub(crate) struct LabelPlacer {
    /// The plotting area: left, top, right, bottom.
    area: [i32; 4],
    segments: Vec<[(i32, i32); 2]>,
    placed: Vec<[i32; 4]>,
}

impl LabelPlacer {
    pub(crate) fn new(x: std::ops::Range<i32>, y: std::ops::Range<i32>) -> LabelPlacer {
        LabelPlacer {
            area: [x.start, y.start, x.end, y.end],
            segments: Vec::new(),
            placed: Vec::new(),
        }
    }

    /// A drawn polyline labels must not cross.
    pub(crate) fn avoid_line(&mut self, points: &[(i32, i32)]) {
        self.segments
            .extend(points.windows(2).map(|w| [w[0], w[1]]));
    }

    /// The top-left corner for a label of `size` beside one of `anchors`
    /// (points it may name equally well, in order of preference): the first
    /// clear spot beside the earliest anchor that has one.
    pub(crate) fn place_near(&mut self, anchors: &[(i32, i32)], size: (u32, u32)) -> (i32, i32) {
        let (w, h) = (size.0 as i32, size.1 as i32);
        let g = 6;
        let spots = anchors.iter().flat_map(|&(ax, ay)| {
            [
                (ax - g - w, ay - g - h),
                (ax + g, ay + g),
                (ax + g, ay - g - h),
                (ax - g - w, ay + g),
                (ax + g, ay - h / 2),
                (ax - g - w, ay - h / 2),
                (ax + g, ay + g + h),
                (ax + g, ay - g - 2 * h),
                (ax + g, ay + g + 2 * h),
                (ax - w / 2, ay + g + h),
                (ax - w / 2, ay - g - 2 * h),
            ]
        });
        let spots: Vec<(i32, i32)> = spots.collect();
        if spots.is_empty() {
            return (self.area[0], self.area[1]);
        }
        let [l, t, r, b] = self.area;
        let cost = |&(x, y): &(i32, i32)| -> u32 {
            let rect = [x, y, x + w, y + h];
            let outside = u32::from(rect[0] < l || rect[1] < t || rect[2] > r || rect[3] > b);
            let crossings = self
                .segments
                .iter()
                .filter(|s| segment_meets_rect(s[0], s[1], rect))
                .count() as u32;
            let overlaps = self
                .placed
                .iter()
                .filter(|p| p[0] < rect[2] && rect[0] < p[2] && p[1] < rect[3] && rect[1] < p[3])
                .count() as u32;
            outside * 1000 + overlaps * 100 + crossings
        };
        // The first spot of least cost (spots are in order of preference).
        let mut best = spots[0];
        let mut best_cost = cost(&best);
        for s in &spots[1..] {
            if best_cost == 0 {
                break;
            }
            let c = cost(s);
            if c < best_cost {
                best = *s;
                best_cost = c;
            }
        }
        self.placed.push([best.0, best.1, best.0 + w, best.1 + h]);
        best
    }
}

/// Whether the segment from `a` to `b` meets the rectangle (left, top,
/// right, bottom): Liang-Barsky clipping.
fn segment_meets_rect(a: (i32, i32), b: (i32, i32), rect: [i32; 4]) -> bool {
    let (x0, y0) = (f64::from(a.0), f64::from(a.1));
    let (dx, dy) = (f64::from(b.0) - x0, f64::from(b.1) - y0);
    let [l, t, r, bt] = rect.map(f64::from);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, x0 - l), (dx, r - x0), (-dy, y0 - t), (dy, bt - y0)] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let u = q / p;
            if p < 0.0 {
                lo = lo.max(u);
            } else {
                hi = hi.min(u);
            }
            if lo > hi {
                return false;
            }
        }
    }
    true
}

/// An interval's bar and its mean's cross.
pub(crate) type IntervalMarks = (PathElement<(f64, f64)>, Cross<(f64, f64), i32>);

/// A simulated estimate at `x`: its 95% interval as a bar (clipped at
/// `floor` for log axes) and a cross at the mean.
pub(crate) fn interval(
    x: f64,
    e: &crate::stats::Estimate,
    floor: f64,
    c: RGBColor,
) -> IntervalMarks {
    let h = e.half_width.unwrap_or(0.0);
    (
        PathElement::new(
            vec![(x, (e.mean - h).max(floor)), (x, e.mean + h)],
            c.stroke_width(2),
        ),
        Cross::new((x, e.mean), 5, c.stroke_width(2)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_carry_their_unit_and_no_bare_zero_interval() {
        assert_eq!(percent_label(79.5, 3.04), "79.5 ± 3.0%");
        assert_eq!(percent_label(3.02, 1.27), "3.02 ± 1.27%");
        assert_eq!(percent_label(100.0, 0.001), "100.0 ± <0.1%");
        assert_eq!(percent_label(42.0, 0.0), "42.0%");
    }

    #[test]
    fn log_axes_span_whole_decades() {
        assert_eq!(decades(5.2, 31_000.0), (1.0, 100_000.0));
        assert_eq!(decades(0.04, 9.0), (0.01, 10.0));
        assert_eq!(decades(1.0, 1000.0), (1.0, 1000.0));
        assert_eq!(decades(20.0, 20.0), (10.0, 100.0));
        assert_eq!(decades(0.0, f64::NAN), (0.1, 1.0));
    }

    #[test]
    fn tick_labels_group_thousands_and_drop_needless_decimals() {
        assert_eq!(tick_label(&4500.0), "4,500");
        assert_eq!(tick_label(&100_000.0), "100,000");
        assert_eq!(tick_label(&2.5), "2.5");
        assert_eq!(tick_label(&0.04), "0.04");
        assert_eq!(tick_label(&0.0), "0");
    }

    #[test]
    fn segments_meet_rectangles_only_where_they_pass_through() {
        let rect = [10, 10, 20, 20];
        assert!(segment_meets_rect((0, 0), (30, 30), rect));
        assert!(segment_meets_rect((15, 15), (16, 16), rect));
        assert!(!segment_meets_rect((0, 0), (30, 0), rect));
        assert!(!segment_meets_rect((0, 30), (9, 0), rect));
        assert!(segment_meets_rect((15, 0), (15, 30), rect));
    }

    #[test]
    fn a_label_goes_where_no_line_or_label_is() {
        let mut p = LabelPlacer::new(0..400, 0..300);
        // A line rising to the right from (100, 200): above-left is clear.
        p.avoid_line(&[(100, 200), (300, 50)]);
        assert_eq!(p.place_near(&[(100, 200)], (60, 14)), (34, 180));
        // At the left edge: above-left would leave the plot, so below-right.
        let at = p.place_near(&[(5, 250)], (60, 14));
        assert_eq!(at, (11, 256));
        // A second label at the same point must not cover the first.
        let again = p.place_near(&[(5, 250)], (60, 14));
        assert_ne!(again, at);
        assert!(again.0 >= 0 && again.1 >= 0 && again.0 + 60 <= 400 && again.1 + 14 <= 300);
        // Of several points it may name, the first with a clear spot.
        let mut q = LabelPlacer::new(0..400, 0..300);
        for y in (60..=160).step_by(10) {
            q.avoid_line(&[(0, y), (400, y)]);
        }
        let far = q.place_near(&[(50, 110), (200, 200)], (60, 14));
        assert_eq!(far, (134, 180));
    }
}
