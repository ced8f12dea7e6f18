//! A run's whole output folder: every file of one run, written in one
//! place, each atomically.

use std::io::Write;
use std::time::Instant;

use super::charts::{self, ChartError};
use super::{FileTarget, OutFolder, OutputError, OutputLayout, RunReport};
use crate::stats::AccessRecord;

/// Why a run's files could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunOutputError {
    /// A file could not be written.
    Output(OutputError),
    /// A chart could not be drawn.
    Chart(ChartError),
}

impl std::fmt::Display for RunOutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunOutputError::Output(e) => write!(f, "{e}"),
            RunOutputError::Chart(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunOutputError {}

impl From<OutputError> for RunOutputError {
    fn from(e: OutputError) -> Self {
        RunOutputError::Output(e)
    }
}

/// What to write besides the summaries.
#[derive(Debug)]
pub struct RunFiles<'a> {
    /// Charts, `topology.svg`, `report.html` and `report.md`.
    pub charts: bool,
    /// `--access-log FILE`: where (checked before the run), and
    /// replication 1's records.
    pub access_log: Option<(&'a FileTarget, &'a [AccessRecord])>,
    /// `--logs DIR`: the folder (locked before the run) for the balancer's,
    /// web servers' and database's logs of replication 1's records.
    pub logs: Option<(OutFolder, &'a [AccessRecord])>,
    /// `--openmetrics FILE`: where (checked before the run), and the Unix
    /// time the run's simulated time zero stands for.
    pub openmetrics: Option<(&'a FileTarget, f64)>,
}

/// The three kinds of server log, and a note saying they are simulated,
/// into `folder`, moved into place whole.
fn write_logs(
    folder: OutFolder,
    s: &crate::scenario::Scenario,
    records: &[AccessRecord],
    version: &str,
) -> Result<(), RunOutputError> {
    use super::access_log::{
        TRACES, log_files, write_haproxy_log, write_nginx_log, write_otlp, write_slow_log,
    };
    let out = folder.layout();
    let mut instance = 0;
    for name in log_files(s) {
        let path = out.dir().join(&name);
        if name == "haproxy.log" {
            out.write_atomic(&path, |w| write_haproxy_log(s, records, w))?;
        } else if name == "slow.log" {
            out.write_atomic(&path, |w| write_slow_log(s, records, w))?;
        } else if name == TRACES {
            out.write_atomic(&path, |w| write_otlp(s, records, w))?;
        } else {
            let i = instance;
            out.write_atomic(&path, |w| write_nginx_log(s, records, i, w))?;
            instance += 1;
        }
    }
    out.write_atomic(&out.dir().join(super::output::LOGS_MARKER), |w| {
        writeln!(
            w,
            "Simulated logs, not a real server's: written by stacksim {version} from scenario `{}` (replication 1).\nstacksim run --logs replaces this folder only while this file is in it.",
            s.name
        )
    })?;
    folder.commit()?;
    Ok(())
}

/// Writes `summary.json`, `summary.csv`, `timeseries.csv`, `faults.csv`,
/// the resolved `scenario.toml`, then (when asked) the charts and reports,
/// into `folder` (opened before the run), moved into place whole; then the
/// access log and the server logs. Returns the seconds spent on charts and
/// reports.
pub fn write_run(
    folder: OutFolder,
    r: &RunReport<'_>,
    files: RunFiles<'_>,
) -> Result<Option<f64>, RunOutputError> {
    let secs = write_folder(&folder.layout(), r, files.charts)?;
    folder.commit()?;
    // Files outside the folder (or inside it, by the user's choice) last, so
    // the move never takes them.
    if let Some((target, records)) = files.access_log {
        target.write(|w| super::write_access_log(r.scenario, records, w))?;
    }
    if let Some((dir, records)) = files.logs {
        write_logs(dir, r.scenario, records, &r.provenance.version)?;
    }
    if let Some((target, start)) = files.openmetrics {
        target.write(|w| super::openmetrics::write_openmetrics(r, start, w))?;
    }
    Ok(secs)
}

/// Every file of a run's folder into `layout`.
fn write_folder(
    layout: &OutputLayout,
    r: &RunReport<'_>,
    charts: bool,
) -> Result<Option<f64>, RunOutputError> {
    type Writer = fn(&RunReport<'_>, &mut dyn Write) -> std::io::Result<()>;
    let writes: [(std::path::PathBuf, Writer); 5] = [
        (layout.summary_json(), super::write_summary_json),
        (layout.summary_csv(), super::write_summary_csv),
        (layout.timeseries_csv(), super::write_timeseries_csv),
        (layout.faults_csv(), super::write_faults_csv),
        (layout.scenario_toml(), write_scenario_toml),
    ];
    for (file, writer) in writes {
        layout.write_atomic(&file, |w| writer(r, w))?;
    }
    if !charts {
        return Ok(None);
    }
    let started = Instant::now();
    let charts = charts::render_all(r).map_err(RunOutputError::Chart)?;
    for c in &charts {
        layout.write_atomic(&layout.chart_png(c.name), |w| w.write_all(&c.png))?;
        layout.write_atomic(&layout.chart_svg(c.name), |w| w.write_all(c.svg.as_bytes()))?;
    }
    let topology = super::topology_svg(r);
    layout.write_atomic(&layout.topology_svg(), |w| w.write_all(topology.as_bytes()))?;
    layout.write_atomic(&layout.report_html(), |w| {
        super::write_report_html(r, &charts, w)
    })?;
    layout.write_atomic(&layout.report_md(), |w| {
        super::write_report_md(r, &charts, w)
    })?;
    Ok(Some(started.elapsed().as_secs_f64()))
}

/// The resolved scenario as TOML: `stacksim run scenario.toml` runs it again.
pub fn write_scenario_toml(r: &RunReport<'_>, w: &mut dyn Write) -> std::io::Result<()> {
    let text = r.scenario.document_toml();
    writeln!(
        w,
        "# The scenario as run: {} with every command-line override applied.\n# stacksim {}; run it again with: stacksim run scenario.toml\n",
        r.provenance.scenario_path, r.provenance.version
    )?;
    let mut named = std::collections::BTreeSet::new();
    for f in &r.provenance.data_files {
        if named.insert(&f.file.path) {
            writeln!(
                w,
                "# It reads {} ({} bytes, SHA-256 {}), found at {}: run it from a folder where that path leads to the same file.",
                f.file.path, f.file.bytes, f.file.sha256, f.resolved
            )?;
        }
    }
    if !named.is_empty() {
        writeln!(w)?;
    }
    w.write_all(text.as_bytes())
}
