//! Sweep results: one [`PointResult`] per grid point, appended to
//! `points.jsonl` as each finishes, then `sweep.csv`, `sweep.json`, charts
//! and `report.html` built from all of them in grid order. Everything final
//! is a function of the point results alone, so resumed and merged sweeps
//! give the same bytes as one uninterrupted run.

use std::io::{self, Write};

use crate::stats::Estimate;

pub use super::points::{
    DataDigest, Est, PointResult, PoolPoint, Shard, SweepMeta, read_point_lines, write_point_line,
};
use super::{OutputError, OutputLayout};

fn num(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.6}"))
}

/// Writes `sweep.csv`: a row per point in grid order.
pub fn write_sweep_csv(
    meta: &SweepMeta,
    points: &[PointResult],
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut head: Vec<String> = meta.axes.iter().map(|a| a.key.clone()).collect();
    for c in [
        "offered_rps",
        "throughput_rps",
        "availability",
        "availability_at_window_end",
        "error_rate",
        "latency_mean_ms",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
    ] {
        head.push(c.into());
        head.push(format!("{c}_hw95"));
    }
    let labels: Vec<String> = points.first().map_or(Vec::new(), |p| {
        p.pools.iter().map(|x| x.label.clone()).collect()
    });
    for l in &labels {
        let s = super::slug(l);
        head.extend([format!("utilization_{s}"), format!("utilization_{s}_hw95")]);
    }
    head.extend([
        "warmup_s".into(),
        "bottleneck".into(),
        "bottleneck_utilization".into(),
        "verdict".into(),
    ]);
    let mut out = csv::Writer::from_writer(w);
    out.write_record(&head)?;
    for p in points {
        let mut row: Vec<String> = p.values.iter().map(|(_, v)| v.clone()).collect();
        for e in [
            p.offered_rps,
            p.throughput_rps,
            p.availability,
            p.availability_at_window_end,
            p.error_rate,
            p.latency_mean_ms,
            p.latency_p50_ms,
            p.latency_p95_ms,
            p.latency_p99_ms,
        ] {
            row.extend([num(e.mean), num(e.hw)]);
        }
        for l in &labels {
            let e = p
                .pools
                .iter()
                .find(|x| &x.label == l)
                .map(|x| x.utilization);
            row.extend([num(e.and_then(|e| e.mean)), num(e.and_then(|e| e.hw))]);
        }
        row.push(num(Some(p.settings.warmup_s)));
        row.push(p.bottleneck.clone().unwrap_or_default());
        row.push(num(p.bottleneck_utilization));
        row.push(p.verdict());
        out.write_record(&row)?;
    }
    out.flush()
}

/// Writes `sweep.json`: the sweep's definition and every point.
pub fn write_sweep_json(
    meta: &SweepMeta,
    points: &[PointResult],
    w: &mut dyn Write,
) -> io::Result<()> {
    let doc = serde_json::json!({ "sweep": meta, "points": points });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    w.write_all(b"\n")
}

fn pm(e: Est, scale: f64) -> String {
    super::table::pm(
        &Estimate {
            mean: e.mean.map_or(f64::NAN, |m| m),
            half_width: e.hw,
            n: 2,
        },
        scale,
    )
}

/// The sweep as a table, header first.
pub(crate) fn sweep_rows(meta: &SweepMeta, points: &[PointResult]) -> Vec<Vec<String>> {
    let mut head: Vec<String> = meta.axes.iter().map(|a| a.key.clone()).collect();
    head.extend(
        [
            "offered/s",
            "throughput/s",
            "available %",
            "p50 ms",
            "p99 ms",
            "bottleneck",
            "verdict",
        ]
        .map(String::from),
    );
    let mut rows = vec![head];
    for p in points {
        let mut row: Vec<String> = p.values.iter().map(|(_, v)| v.clone()).collect();
        // An unstable point: served by the window's end, and no latency
        // (it measures the run's length).
        let stable = p.unstable.is_empty();
        let latency = |e: Est| {
            if stable {
                pm(e, 1.0)
            } else {
                "unstable".into()
            }
        };
        row.extend([
            pm(p.offered_rps, 1.0),
            pm(p.throughput_rps, 1.0),
            if stable {
                pm(p.availability, 100.0)
            } else {
                format!("{} by window end", pm(p.availability_at_window_end, 100.0))
            },
            latency(p.latency_p50_ms),
            latency(p.latency_p99_ms),
            match (&p.bottleneck, p.bottleneck_utilization) {
                (Some(b), Some(u)) => format!("{b} {:.0}%", u * 100.0),
                _ => "-".into(),
            },
            p.verdict(),
        ]);
        rows.push(row);
    }
    rows
}

/// The sweep table for the terminal.
pub fn render_sweep_table(meta: &SweepMeta, points: &[PointResult]) -> String {
    let mut out = format!(
        "stacksim {} · sweep of {} · {} × {} · seed {}\nevery figure: mean ± 95% half-width across replications\n\n",
        meta.version,
        meta.scenario,
        crate::units::count(meta.points as u64, "point"),
        crate::units::count(meta.replications, "replication"),
        meta.seed
    );
    out.push_str(&super::table::grid(&sweep_rows(meta, points)));
    out
}

/// Writes the sweep's `report.html`: table, charts inline, definition.
pub fn write_sweep_html(
    meta: &SweepMeta,
    points: &[PointResult],
    charts: &[super::charts::RenderedChart],
    w: &mut dyn Write,
) -> io::Result<()> {
    use super::topology::xml_escape;
    let mut o = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stacksim sweep: {0}</title><style>{1}</style></head><body><h1>stacksim sweep: {0}</h1>",
        xml_escape(&meta.scenario),
        super::html::CSS
    );
    let axes: Vec<String> = meta
        .axes
        .iter()
        .map(|a| format!("{} ∈ {{{}}}", a.key, a.values.join(", ")))
        .collect();
    o.push_str(&format!(
        "<p class=\"meta\">stacksim {} · {} × {} · seed {} · every figure: mean ± 95% half-width<br>{}</p>",
        xml_escape(&meta.version),
        crate::units::count(meta.points as u64, "point"),
        crate::units::count(meta.replications, "replication"),
        meta.seed,
        xml_escape(&axes.join("; "))
    ));
    // A wide table scrolls in its own box, the page keeps its width.
    o.push_str("<h2>Points</h2>");
    // The bottleneck and the verdict are words: they wrap in their cells.
    let rows = sweep_rows(meta, points);
    let words = rows[0].len().saturating_sub(2);
    o.push_str(&super::html::html_table_wrapping(&rows, words));
    o.push_str("<h2>Charts</h2>");
    for c in charts {
        o.push_str(&format!("<figure id=\"chart-{0}\">{1}<figcaption>{2} (<a href=\"{0}.png\">{0}.png</a>)</figcaption></figure>", c.name, c.svg, xml_escape(&c.title)));
    }
    o.push_str(&format!(
        "<h2>Provenance</h2><p>overrides at every point: {}</p><details><summary>scenario file as read</summary><pre>{}</pre></details></body></html>\n",
        xml_escape(&if meta.overrides.is_empty() { "none".to_string() } else { meta.overrides.join(" ") }),
        xml_escape(&meta.scenario_source)
    ));
    w.write_all(o.as_bytes())
}

/// A sweep's output folder: `sweep-meta.json`, the points log
/// (`points.jsonl`, appended as points finish), and the final files.
#[derive(Clone, Debug)]
pub struct SweepFolder {
    layout: OutputLayout,
}

/// The points log, open for appending; shared by the worker threads.
#[derive(Debug)]
pub struct PointsLog {
    path: std::path::PathBuf,
    file: std::sync::Mutex<std::fs::File>,
}

impl PointsLog {
    /// Appends one point and flushes it, so an interrupted sweep keeps it.
    pub fn append(&self, p: &PointResult) -> Result<(), OutputError> {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        write_point_line(p, &mut *f)
            .and_then(|()| f.flush())
            .map_err(|e| OutputError::File(self.path.clone(), e))
    }
}

/// Why a sweep folder cannot be resumed or merged.
#[derive(Debug)]
#[non_exhaustive]
pub enum FolderError {
    /// No `sweep-meta.json` (not a sweep folder, or nothing to resume).
    Missing(std::path::PathBuf, io::Error),
    /// `sweep-meta.json` does not parse.
    Unreadable(std::path::PathBuf, serde_json::Error),
    /// `sweep-meta.json` parses but cannot describe a sweep.
    Inconsistent(std::path::PathBuf, Vec<String>),
}

impl std::fmt::Display for FolderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FolderError::Missing(p, e) => write!(f, "{}: no sweep here ({e})", p.display()),
            FolderError::Unreadable(p, e) => {
                write!(f, "{}: unreadable sweep-meta.json ({e})", p.display())
            }
            FolderError::Inconsistent(p, why) => write!(
                f,
                "{} is damaged: {}; run the sweep again without --resume",
                p.display(),
                why.join("; ")
            ),
        }
    }
}

impl std::error::Error for FolderError {}

/// Whether a file name is one a sweep writes into its folder.
pub fn is_sweep_file(name: &str) -> bool {
    matches!(
        name,
        "sweep-meta.json" | "points.jsonl" | "sweep.csv" | "sweep.json" | "report.html"
    ) || (name.starts_with("sweep-") && (name.ends_with(".png") || name.ends_with(".svg")))
}

impl SweepFolder {
    /// The sweep folder at `layout`.
    pub fn new(layout: OutputLayout) -> SweepFolder {
        SweepFolder { layout }
    }

    /// Its layout.
    pub fn layout(&self) -> &OutputLayout {
        &self.layout
    }

    /// The sweep recorded here.
    pub fn read_meta(&self) -> Result<SweepMeta, FolderError> {
        let path = self.layout.sweep_meta();
        let bytes = crate::scenario::files::read_capped(&path, 64 << 20, true).map_err(|e| {
            FolderError::Missing(self.layout.dir().to_path_buf(), io::Error::other(e))
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let meta: SweepMeta =
            serde_json::from_str(&text).map_err(|e| FolderError::Unreadable(path.clone(), e))?;
        let problems = meta.problems();
        if problems.is_empty() {
            Ok(meta)
        } else {
            Err(FolderError::Inconsistent(path, problems))
        }
    }

    /// The points finished here (a torn last line dropped).
    pub fn read_points(&self) -> Vec<PointResult> {
        crate::scenario::files::read_capped(&self.layout.points_log(), 4 << 30, true)
            .map(|b| read_point_lines(&String::from_utf8_lossy(&b)))
            .unwrap_or_default()
    }

    /// The files a new sweep starts with: `sweep-meta.json` and an empty
    /// points log, as (name, bytes), for [`super::OutFolder::start_over`].
    pub fn first_files(meta: &SweepMeta) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
        let text = serde_json::to_string_pretty(meta)
            .map_err(|e| OutputError::File("sweep-meta.json".into(), io::Error::other(e)))?;
        Ok(vec![
            ("sweep-meta.json", text.into_bytes()),
            ("points.jsonl", Vec::new()),
        ])
    }

    /// Opens the points log for appending.
    pub fn open_log(&self) -> Result<PointsLog, OutputError> {
        let path = self.layout.points_log();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| OutputError::File(path.clone(), e))?;
        Ok(PointsLog {
            path,
            file: std::sync::Mutex::new(file),
        })
    }

    /// Rewrites the points log with `points` only (dropping a torn line),
    /// then opens it for appending.
    pub fn keep(&self, points: &[PointResult]) -> Result<PointsLog, OutputError> {
        let path = self.layout.points_log();
        self.layout.write_atomic(&path, |w| {
            points.iter().try_for_each(|p| write_point_line(p, w))
        })?;
        self.open_log()
    }

    /// Writes `sweep.csv`, `sweep.json` and (when `charts`) the sweep charts
    /// and `report.html`, from every point in grid order.
    pub fn write_final(
        &self,
        meta: &SweepMeta,
        points: &[PointResult],
        charts: bool,
    ) -> Result<(), super::RunOutputError> {
        let l = &self.layout;
        l.write_atomic(&l.sweep_csv(), |w| write_sweep_csv(meta, points, w))?;
        l.write_atomic(&l.sweep_json(), |w| write_sweep_json(meta, points, w))?;
        if !charts {
            return Ok(());
        }
        let rendered = super::charts::render_sweep(points).map_err(super::RunOutputError::Chart)?;
        for c in &rendered {
            l.write_atomic(&l.chart_png(c.name), |w| w.write_all(&c.png))?;
            l.write_atomic(&l.chart_svg(c.name), |w| w.write_all(c.svg.as_bytes()))?;
        }
        l.write_atomic(&l.report_html(), |w| {
            write_sweep_html(meta, points, &rendered, w)
        })?;
        Ok(())
    }
}
