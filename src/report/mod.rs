//! Everything that leaves the program: the terminal table, `summary.json`,
//! `summary.csv`, `timeseries.csv`, the charts, `topology.svg`,
//! `report.html` and `report.md`. Writers take `impl Write` so tests can
//! check the bytes; [`OutputLayout`] is the only place that names files and
//! writes them (atomically: temporary name, then rename).

mod access_log;
pub mod calibration;
pub mod capacity;
pub mod capacity_result;
pub mod charts;
pub mod compare;
mod csv;
mod html;
mod json;
mod markdown;
mod narrative;
pub mod openmetrics;
pub mod output;
mod pairing;
mod points;
mod review;
mod run;
mod settings;
pub mod sweep;
mod table;
mod topology;
pub mod validation;

pub use access_log::{is_simulated_access_log, write_access_log};
pub use csv::{write_faults_csv, write_summary_csv, write_timeseries_csv};
pub use html::write_report_html;
pub use json::{summary_json, write_summary_json};
pub use markdown::write_report_md;
pub use narrative::verdict_sentences;
pub use output::{
    FileTarget, FolderRule, OutFolder, OutputError, OutputLayout, Overwrite, write_new_file,
};
pub use review::{render_review, render_write_options};
pub use run::{RunFiles, RunOutputError, write_run};
pub use settings::RunSettings;
pub use table::render_table;

/// Left-aligned first column, right-aligned rest: the terminal table layout.
pub fn text_grid(rows: &[Vec<String>]) -> String {
    table::grid(rows)
}
pub use topology::topology_svg;

use crate::analysis::lints::Lint;
use crate::analysis::queueing::AnalyticModel;
use crate::analysis::{Bottleneck, PoolLoad, Verdict};
use crate::scenario::Scenario;
use crate::stats::Summary;

/// Where a run came from, written next to its results.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Provenance {
    /// stacksim version.
    pub version: String,
    /// The command line.
    pub command_line: String,
    /// Scenario file path (or the built-in name).
    pub scenario_path: String,
    /// The scenario text as read (before command-line overrides).
    pub scenario_source: String,
    /// How the run was shaped: an automatic warm-up, stopping at precision.
    pub notes: Vec<String>,
    /// The data files the scenario read, by path, size and SHA-256 (their
    /// values are not written out).
    pub data_files: Vec<crate::scenario::DataFile>,
    /// The files a command read besides the scenario (logs, traces,
    /// counters), by path, size and SHA-256.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<crate::dist::SampleFile>,
}

impl Provenance {
    /// This stacksim's provenance for a run from `command_line` on
    /// `scenario_path` (empty strings where there is none, as for a sweep point).
    pub fn new(command_line: &str, scenario_path: &str, scenario_source: &str) -> Provenance {
        Provenance {
            version: crate::VERSION.to_string(),
            command_line: command_line.to_string(),
            scenario_path: scenario_path.to_string(),
            scenario_source: scenario_source.to_string(),
            notes: Vec::new(),
            data_files: Vec::new(),
            inputs: Vec::new(),
        }
    }

    /// The provenance section of a report, as Markdown and as HTML: the
    /// version, the command line, the scenario and every input file with
    /// its size and SHA-256.
    pub(crate) fn section(&self) -> (String, String) {
        use std::fmt::Write as _;
        let mut md = String::from("\n## Provenance\n\n");
        let mut html = String::from("<h2 id=\"provenance\">Provenance</h2><table>");
        let mut rows = vec![
            ("stacksim", self.version.clone()),
            ("command line", self.command_line.clone()),
        ];
        if !self.scenario_path.is_empty() {
            rows.push(("scenario", self.scenario_path.clone()));
        }
        for (k, v) in rows {
            let _ = writeln!(md, "- {k}: `{v}`");
            let _ = write!(
                html,
                "<tr><td>{k}</td><td class=\"text\"><code>{}</code></td></tr>",
                topology::xml_escape(&v)
            );
        }
        html.push_str("</table>");
        if !self.inputs.is_empty() {
            let mut t = vec![vec!["input".to_string(), "bytes".into(), "SHA-256".into()]];
            for f in &self.inputs {
                t.push(vec![
                    f.path.clone(),
                    crate::units::thousands(f.bytes),
                    f.sha256.clone(),
                ]);
            }
            let _ = write!(md, "\n{}", html::md_table(&t));
            html.push_str(&html::html_table_wrapping(&t, 0));
        }
        (md, html)
    }
}

/// Everything a report needs about one run.
pub struct RunReport<'a> {
    /// The scenario as run (overrides applied).
    pub scenario: &'a Scenario,
    /// Traffic-equation loads per pool.
    pub loads: &'a [PoolLoad],
    /// The estimates.
    pub summary: &'a Summary,
    /// Stability per pool.
    pub verdicts: &'a [Verdict],
    /// The most utilized pool.
    pub bottleneck: Option<&'a Bottleneck>,
    /// The design review's findings (computed before reporting).
    pub lints: &'a [Lint],
    /// The analytic queueing model (none for closed workloads).
    pub analytic: Option<&'a AnalyticModel>,
    /// The settings it ran with.
    pub settings: &'a RunSettings,
    /// Where it came from.
    pub provenance: &'a Provenance,
}

impl RunReport<'_> {
    /// `(tier index, pool index)` for each global pool index, skipping none.
    pub(crate) fn pool_rows(&self) -> impl Iterator<Item = (usize, &PoolLoad)> {
        self.loads.iter().enumerate().filter(|(_, l)| l.servers > 0)
    }

    /// The unstable pools requests of `class` pass through (every class:
    /// `None`). Their latency then measures the run length, not the stack.
    pub(crate) fn unstable_through(&self, class: Option<usize>) -> Vec<String> {
        let s = self.scenario;
        let passes = |c: &crate::scenario::Class, tier: usize, pool: usize| {
            c.route.iter().any(|st| st.tier == tier)
                && s.tiers[tier].pools_for(c.access).contains(&pool)
        };
        self.verdicts
            .iter()
            .filter(|v| matches!(v.stability, crate::analysis::Stability::Unstable { .. }))
            .filter(|v| {
                let l = &self.loads[v.pool];
                match class {
                    Some(c) => passes(&s.classes[c], l.tier, l.pool),
                    None => s.classes.iter().any(|c| passes(c, l.tier, l.pool)),
                }
            })
            .map(|v| v.label.clone())
            .collect()
    }
}

/// A column-name-safe form of a label: `db primary` -> `db_primary`.
pub(crate) fn slug(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes a command's report into its folder (opened, and locked, before
/// the work) whole, then moves it into place: the charts' PNGs, then
/// `STEM.md`, `STEM.html` and `STEM.json` (pretty, with a final newline).
pub(crate) fn write_report_folder(
    folder: output::OutFolder,
    charts: &[charts::RenderedChart],
    stem: &str,
    md: &str,
    html: &str,
    json: &serde_json::Value,
) -> Result<(), RunOutputError> {
    let layout = folder.layout();
    for ch in charts {
        layout
            .write_atomic(&layout.chart_png(ch.name), |w| w.write_all(&ch.png))
            .map_err(RunOutputError::Output)?;
    }
    let json = serde_json::to_string_pretty(json).unwrap_or_default() + "\n";
    for (ext, text) in [("md", md), ("html", html), ("json", json.as_str())] {
        layout
            .write_atomic(&layout.dir().join(format!("{stem}.{ext}")), |w| {
                w.write_all(text.as_bytes())
            })
            .map_err(RunOutputError::Output)?;
    }
    folder.commit().map_err(RunOutputError::Output)
}
