//! Observations to a calibration: rates, mix, each tier's own time and its
//! distribution, CPU per request and background CPU, and what the user must
//! check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::config::{self, HaproxyConfig, NginxConfig};
use super::cpu::{CpuProblems, CpuSeries, read_cpu_csv_on, series_key};
use super::fit::{self, Fit, chi2_sf};
use super::machines::{self, HostCal, ONE_MACHINE};
use super::observe::{FileLines, LogInputs, Observations, Window, observe};
use super::regress::CpuLine;
use super::role::Role;
use super::{CalibrateError, time::NS};
use crate::dist::{Dist, Samples};
use crate::stats::Moments;

/// Everything `stacksim calibrate` was given.
#[derive(Debug, Clone)]
pub struct CalibrateInput {
    /// The scenario's name.
    pub name: String,
    /// The logs.
    pub logs: LogInputs,
    /// The CPU counter CSVs: one, or one per machine (named after the
    /// file, unless its rows have a `host` column).
    pub cpu: Vec<PathBuf>,
    /// `--host NAME=comp,comp`: the machine of counters that do not say.
    pub hosts: Vec<(String, Vec<String>)>,
    /// `component=tier` for counters whose names do not start with a tier's.
    pub components: Vec<(String, String)>,
    /// `tier=N` worker counts the user knows.
    pub workers: Vec<(String, u32)>,
    /// Every machine's cores (`--cores N`).
    pub cores: Option<u32>,
    /// One machine's cores (`--cores NAME=N`).
    pub host_cores: Vec<(String, u32)>,
    /// haproxy.cfg.
    pub haproxy_config: Option<PathBuf>,
    /// nginx.conf (one is enough when the instances are alike).
    pub nginx_config: Option<PathBuf>,
    /// The application server's config (gunicorn, uWSGI, PHP-FPM, Puma):
    /// its worker count.
    pub app_config: Option<PathBuf>,
    /// The database's config (`my.cnf`): `max_connections`.
    pub db_config: Option<PathBuf>,
    /// OTLP JSON trace files (one TracesData object per line).
    pub otlp: Vec<PathBuf>,
    /// Jaeger JSON exports.
    pub jaeger: Vec<PathBuf>,
    /// The replay file's name as the scenario should refer to it, when the
    /// logged arrivals are to be replayed (`--arrivals`).
    pub replay_as: Option<String>,
}

/// A number in the scenario and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    /// The value written.
    pub value: T,
    /// Where it came from.
    pub source: String,
    /// Whether the user must check it (not read from any input).
    pub check: bool,
}

pub(super) fn read<T>(value: T, source: impl Into<String>) -> Sourced<T> {
    Sourced {
        value,
        source: source.into(),
        check: false,
    }
}

pub(super) fn check<T>(value: T, source: impl Into<String>) -> Sourced<T> {
    Sourced {
        value,
        source: source.into(),
        check: true,
    }
}

/// One class's time at one tier.
#[derive(Debug, Clone)]
pub struct ClassTime {
    /// The class.
    pub class: String,
    /// What the scenario uses.
    pub dist: Dist,
    /// Mean, ns.
    pub mean_ns: f64,
    /// Coefficient of variation.
    pub cv: f64,
    /// Requests behind it.
    pub n: u64,
    /// How it was obtained.
    pub how: String,
    /// The fit, where per-request times were available.
    pub fit: Option<Fit>,
    /// Warnings (resolution, floors).
    pub flags: Vec<String>,
}

/// A tier of the calibrated scenario.
#[derive(Debug, Clone)]
pub struct TierCal {
    /// Tier name (`lb`, `web`, `app`, `db` from logs; a service's name
    /// from traces).
    pub name: String,
    /// Its kind.
    pub kind: Role,
    /// Instances.
    pub instances: Sourced<u32>,
    /// Requests held at once per instance.
    pub workers: Sourced<u32>,
    /// Cores used at once per instance (event-loop servers).
    pub threads: Option<Sourced<u32>>,
    /// Time per class.
    pub times: Vec<ClassTime>,
    /// CPU per visit, seconds, and where it came from.
    pub cpu_per_visit_s: Option<Sourced<f64>>,
    /// Its CPU split into CPU per visit and per wake-up, when the CPU
    /// counters cover it: used (`wakeup`) when the windows separate them.
    pub wake: Option<super::regress::WakeFit>,
    /// The part of its time on a core (0..1).
    pub cpu_fraction: Option<f64>,
    /// The `[[host]]` group it runs on, when the CPU counters place it.
    pub host: Option<String>,
    /// The network hop into it (a round trip, ns), when it crosses
    /// machines and an input measures it.
    pub network_ns: Option<Sourced<f64>>,
    /// Why its worker waits for the tiers after it (a synchronous call),
    /// when it does.
    pub hold: Option<String>,
}

/// One component of the CPU counters.
#[derive(Debug, Clone)]
pub struct ComponentCpu {
    /// Its name in the CSV.
    pub component: String,
    /// The machine it ran on, when the counters say.
    pub host: Option<String>,
    /// The tier it belongs to; `None` for work no log covers.
    pub tier: Option<String>,
    /// The utilization-law line against the requests it served.
    pub line: Option<CpuLine>,
    /// Its CPU while no request was in flight, when the logs hold such
    /// quiet spells.
    pub idle: Option<IdleCpu>,
    /// Counter resets seen.
    pub resets: u32,
}

/// A component's CPU measured over the CPU sample intervals in which no
/// logged request or statement was in progress (between the first and the
/// last of them).
#[derive(Debug, Clone, PartialEq)]
pub struct IdleCpu {
    /// Cores used.
    pub cores: f64,
    /// Seconds of quiet measured.
    pub seconds: f64,
    /// Sample intervals they span.
    pub intervals: u32,
}

/// One window, observed.
#[derive(Debug, Clone)]
pub struct WindowRow {
    /// Start, ns since the epoch.
    pub start_ns: i64,
    /// Arrivals per second at the entry tier.
    pub rate_rps: f64,
    /// Requests per class.
    pub class_counts: Vec<u64>,
    /// End-to-end (entry tier) quantiles, ms: p50, p90, p99.
    pub e2e_ms: [f64; 3],
    /// End-to-end mean, ms.
    pub e2e_mean_ms: f64,
    /// Errors (5xx and aborted).
    pub errors: u64,
    /// Own time per tier (lb, web, app, db), mean ms over all classes;
    /// NaN where not observed.
    pub own_ms: [f64; 4],
    /// Cores used per component in the window.
    pub cores: Vec<(String, f64)>,
    /// Dispersion index of the arrivals within the window (1 for Poisson).
    pub dispersion: f64,
    /// The clients' concurrent connections as HAProxy's `%fc` logged
    /// them: mean and most over the window's requests (None without it).
    pub conns: Option<(f64, u32)>,
}

/// The arrival process.
#[derive(Debug, Clone)]
pub struct Arrivals {
    /// Mean requests/s over the full windows.
    pub mean_rps: f64,
    /// Whether the rate varies between windows beyond Poisson noise
    /// (chi-square dispersion test, p < 0.01): then the scenario gets a
    /// schedule.
    pub varies: bool,
    /// The test's p-value.
    pub constant_p: f64,
    /// Median dispersion index within windows (1-second counts).
    pub dispersion: f64,
}

/// A finished calibration.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// Scenario name.
    pub name: String,
    /// Window length, s.
    pub window_s: f64,
    /// How the window was chosen, when `--window` was not given and the
    /// default was too long for the logs.
    pub window_note: Option<String>,
    /// The files read.
    pub files: Vec<FileLines>,
    /// The full windows used.
    pub windows: Vec<WindowRow>,
    /// Windows dropped because a log did not cover them whole.
    pub partial_windows: usize,
    /// Classes: (name, share, access is write, requests).
    pub classes: Vec<(String, f64, bool, u64)>,
    /// Arrivals.
    pub arrivals: Arrivals,
    /// Tiers in request order.
    pub tiers: Vec<TierCal>,
    /// Database statements per request of each class.
    pub db_calls: Vec<f64>,
    /// Per class: (tier, calls per visiting request, their variance) for
    /// the tiers called other than once (from traces).
    pub class_calls: Vec<Vec<(String, f64, f64)>>,
    /// Per class: the tiers it visits, when not every tier (from traces).
    pub routes: Vec<Option<Vec<String>>>,
    /// CPU components.
    pub components: Vec<ComponentCpu>,
    /// The machines, as `[[host]]` groups: their cores, background CPU
    /// and CPU off the request's path (none without CPU counters or
    /// `--cores`).
    pub hosts: Vec<HostCal>,
    /// CPU counter rows skipped or mended, per file.
    pub cpu_problems: Vec<(String, CpuProblems)>,
    /// What the user should know.
    pub warnings: Vec<String>,
    /// The configs read.
    pub haproxy_config: Option<HaproxyConfig>,
    /// The Nginx config read.
    pub nginx_config: Option<NginxConfig>,
    /// The inputs, for provenance comments.
    pub input: CalibrateInput,
    /// Logged arrivals in the full windows, when kept: (seconds from the
    /// first full window's start, class rule index), in time order.
    pub logged_arrivals: Vec<(f64, u16)>,
    /// Pause episodes in the full windows' seconds (logs only).
    pub pauses: Option<super::pauses::PauseReport>,
}

pub(super) fn input_err(message: impl Into<String>, hint: impl Into<String>) -> CalibrateError {
    CalibrateError::Input {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Reads every input and calibrates.
pub fn calibrate(input: &CalibrateInput) -> Result<Calibration, CalibrateError> {
    let traces = !input.otlp.is_empty() || !input.jaeger.is_empty();
    if traces {
        // Logs given with traces join them by the trace context each
        // record carries.
        return super::from_traces::calibrate_traces(input);
    }
    if input.logs.haproxy.is_empty() && input.logs.nginx.is_empty() {
        return Err(input_err(
            "no request log given",
            "pass --haproxy FILE or --nginx FILE (or both): arrivals and times come from them",
        ));
    }
    let cpu = read_cpu(&input.cpu, &input.hosts)?;
    let (obs, window_note) = observe_auto(&input.logs, cpu.as_ref().map(|c| &c.0))?;
    let Configs {
        haproxy: hcfg,
        nginx: ncfg,
        app: acfg,
        db_max,
    } = read_configs(input)?;
    let mut c = build(input, obs, cpu, hcfg, ncfg, (acfg, db_max))?;
    c.window_note = window_note;
    Ok(c)
}

/// What the configs given say.
pub(super) struct Configs {
    pub haproxy: Option<HaproxyConfig>,
    pub nginx: Option<NginxConfig>,
    pub app: Option<config::AppConfig>,
    pub db_max: Option<u32>,
}

/// Reads the configs given (`--haproxy-config`, `--nginx-config`,
/// `--app-config`, `--db-config`); a config without what it is read for is
/// an error.
pub(super) fn read_configs(input: &CalibrateInput) -> Result<Configs, CalibrateError> {
    let hcfg = match &input.haproxy_config {
        Some(p) => Some(config::haproxy(&read_text(p)?)),
        None => None,
    };
    let ncfg = match &input.nginx_config {
        Some(p) => Some(config::nginx(&read_text(p)?)),
        None => None,
    };
    let acfg = match &input.app_config {
        Some(p) => Some(config::app(&read_text(p)?).ok_or_else(|| {
            input_err(
                format!("{}: no worker count in it", p.display()),
                "gunicorn's `workers = N`, uWSGI's `processes = N`, PHP-FPM's `pm.max_children = N` or Puma's `workers N` are read (an expression is not evaluated); or give --workers app=N",
            )
        })?),
        None => None,
    };
    let db_max = match &input.db_config {
        Some(p) => Some(
            config::mysql_max_connections(&read_text(p)?).ok_or_else(|| {
                input_err(
                    format!(
                        "{}: no max_connections under [mysqld], [mariadb] or [server]",
                        p.display()
                    ),
                    "give the config that sets it, or --workers db=N",
                )
            })?,
        ),
        None => None,
    };
    Ok(Configs {
        haproxy: hcfg,
        nginx: ncfg,
        app: acfg,
        db_max,
    })
}

/// Full windows the regressions and the constant-rate test want at least.
pub const WANT_WINDOWS: usize = 12;

/// Window lengths an automatic choice takes, in seconds.
const NICE_WINDOWS_S: [i64; 8] = [1, 2, 5, 10, 15, 20, 30, 60];

/// Reads the logs; when the window was not given and the logs hold fewer
/// than [`WANT_WINDOWS`] full ones, reads them again with the longest
/// window that gives that many (and spans at least three CPU samples), and
/// says so.
fn observe_auto(
    logs: &LogInputs,
    cpu: Option<&BTreeMap<String, CpuSeries>>,
) -> Result<(Observations, Option<String>), CalibrateError> {
    let obs = observe(logs)?;
    if !logs.window_auto || full_windows(&obs).0.len() >= WANT_WINDOWS {
        return Ok((obs, None));
    }
    let Some(span) = overlap(&obs).map(|(lo, hi)| hi - lo).filter(|s| *s > 0) else {
        return Ok((obs, None));
    };
    let sample = cpu.and_then(cpu_interval_ns);
    let shortest = sample.map_or(NS, |i| (3 * i).max(NS));
    // One more window than wanted: the first and last are partial.
    let fits = |w: i64| w >= shortest && span / w > WANT_WINDOWS as i64;
    let chosen = NICE_WINDOWS_S
        .iter()
        .rev()
        .map(|s| s * NS)
        .find(|&w| fits(w))
        .or_else(|| {
            NICE_WINDOWS_S
                .iter()
                .map(|s| s * NS)
                .find(|&w| w >= shortest)
        })
        .filter(|&w| w < obs.window_ns);
    let Some(w) = chosen else {
        return Ok((obs, None));
    };
    let again = LogInputs {
        window_ns: w,
        ..logs.clone()
    };
    let obs = observe(&again)?;
    let note = format!(
        "--window not given: {} s windows, {} full ones over the {:.0} s the logs share{}; 60 s windows would give {}; pass --window to choose",
        w / NS,
        full_windows(&obs).0.len(),
        span as f64 / NS as f64,
        sample.map_or(String::new(), |i| format!(
            " (CPU sampled every {:.1} s)",
            i as f64 / NS as f64
        )),
        span / (60 * NS)
    );
    Ok((obs, Some(note)))
}

/// The span of time every request log covers.
fn overlap(obs: &Observations) -> Option<(i64, i64)> {
    let spans: Vec<(i64, i64)> = obs
        .files
        .iter()
        .filter(|f| f.kind != "mysql-slow" && f.kind != "postgres")
        .filter_map(|f| f.span)
        .collect();
    let lo = spans.iter().map(|s| s.0).max()?;
    let hi = spans.iter().map(|s| s.1).min()?;
    (hi > lo).then_some((lo, hi))
}

/// The median time between a counter's samples, over every component.
fn cpu_interval_ns(cpu: &BTreeMap<String, CpuSeries>) -> Option<i64> {
    let mut gaps: Vec<i64> = cpu
        .values()
        .flat_map(|s| s.samples.windows(2).map(|w| w[1].0 - w[0].0))
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    Some(gaps[gaps.len() / 2])
}

/// A log that gave no record: why (its first line that did not parse,
/// with its number, or the time range), and which flag fixes it.
fn no_records(f: &super::observe::FileLines) -> CalibrateError {
    let why = if f.out_of_range > 0 {
        format!("{} records fell outside --since/--until", f.out_of_range)
    } else {
        match f.skipped_examples.first() {
            Some((n, t)) => format!("line {n} does not match the format: {t}"),
            None => "the file is empty".into(),
        }
    };
    input_err(
        format!("{}: no {} records ({why})", f.path.display(), f.kind),
        match f.kind {
            "haproxy" => "give the log-format that wrote it with --haproxy-format",
            "nginx" => "give the log_format that wrote it with --nginx-format",
            "postgres" => {
                "set log_min_duration_statement = 0, with the default log_line_prefix '%m [%p] ' and stderr format"
            }
            _ => "set long_query_time = 0 and log to a file (log_output = FILE)",
        },
    )
}

/// Every CPU counter file, read and parsed, with the problems of each:
/// one machine's counters when one file without a `host` column is given;
/// a machine per file (named after it) when several are; `--host` names
/// the machine of the counters that still have none.
pub(super) type CpuInput = (BTreeMap<String, CpuSeries>, Vec<(String, CpuProblems)>);

pub(super) fn read_cpu(
    files: &[PathBuf],
    hosts: &[(String, Vec<String>)],
) -> Result<Option<CpuInput>, CalibrateError> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut all: BTreeMap<String, CpuSeries> = BTreeMap::new();
    let mut problems = Vec::new();
    for p in files {
        let label = (files.len() > 1).then(|| machine_of_file(p));
        let (series, pr) = read_cpu_csv_on(&read_text(p)?, label.as_deref()).map_err(|m| {
            CalibrateError::Format {
                flag: format!("--cpu {}", p.display()),
                message: m,
            }
        })?;
        for (_, mut s) in series {
            if s.host.is_none()
                && let Some((h, _)) = hosts.iter().find(|(_, cs)| cs.contains(&s.component))
            {
                s.host = Some(h.clone());
            }
            let key = series_key(&s.component, s.host.as_deref());
            if all.contains_key(&key) {
                return Err(input_err(
                    format!(
                        "{}: component {key} is also in an earlier --cpu file",
                        p.display()
                    ),
                    "give each machine's counters once (a host column, or one file per machine)",
                ));
            }
            all.insert(key, s);
        }
        problems.push((p.display().to_string(), pr));
    }
    for (h, cs) in hosts {
        for c in cs {
            if !all.values().any(|s| &s.component == c) {
                return Err(input_err(
                    format!("--host {h}={}: no CPU counter is named {c}", cs.join(",")),
                    format!(
                        "the counters name: {}",
                        all.values()
                            .map(|s| s.component.as_str())
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    Ok(Some((all, problems)))
}

/// The machine a counter file is of, when one file per machine is given:
/// its folder's name for a file named like `cpu.csv` (`db1/cpu.csv`),
/// else its own stem without a `cpu` prefix or suffix (`web1.csv`,
/// `cpu-web1.csv`).
pub fn machine_of_file(p: &Path) -> String {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trimmed = stem
        .trim_start_matches("cpu")
        .trim_end_matches("cpu")
        .trim_matches(|c: char| c == '-' || c == '_' || c == '.');
    if trimmed.is_empty() {
        if let Some(dir) = p.parent().and_then(|d| d.file_name()) {
            return dir.to_string_lossy().into_owned();
        }
        return stem;
    }
    trimmed.to_string()
}

/// A counter CSV or config read whole: a regular file (a FIFO would wait
/// forever, `/dev/zero` never ends) of at most 256 MiB.
fn read_text(p: &Path) -> Result<String, CalibrateError> {
    let bytes = crate::scenario::files::read_capped(p, 256 << 20, true).map_err(|m| {
        CalibrateError::Input {
            message: m,
            hint: "give the path of a regular file".into(),
        }
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The windows every request log covers whole.
fn full_windows(obs: &Observations) -> (Vec<i64>, usize) {
    // No overlap: (0, 0) holds no window of logged (positive) times.
    let (lo, hi) = overlap(obs).unwrap_or((0, 0));
    let w = obs.window_ns;
    let mut full = Vec::new();
    let mut partial = 0;
    for &k in obs.windows.keys() {
        if k * w >= lo && (k + 1) * w <= hi {
            full.push(k);
        } else {
            partial += 1;
        }
    }
    (full, partial)
}

/// The role of a CPU counter's tier: as `--component` says; else by a
/// name that starts with a logs' tier name (`web1`); else by a well-known
/// process name in it (`nginx`, `gunicorn`, `mariadbd`, `php-fpm8.2`).
pub(super) fn tier_of(component: &str, explicit: &[(String, String)]) -> Option<Role> {
    if let Some((_, t)) = explicit.iter().find(|(c, _)| c == component) {
        return Role::of_tier(t);
    }
    if let Some(r) = Role::ALL
        .into_iter()
        .find(|r| component.starts_with(r.tier()))
    {
        return Some(r);
    }
    Role::of_process(component)
}

pub(super) fn merged(accs: impl Iterator<Item = Moments>) -> Moments {
    let mut m = Moments::default();
    accs.for_each(|a| m.merge(&a));
    m
}

/// Requests per window that each tier served.
fn tier_count(w: &Window, tier: &str, has_lb: bool) -> u64 {
    match Role::of_tier(tier) {
        Some(Role::Balancer) => w.lb.iter().map(|a| a.total.count()).sum(),
        Some(Role::Web) => w.web.iter().map(|a| a.total.count()).sum(),
        Some(Role::App) => w.app.iter().map(|a| a.total.count()).sum(),
        Some(Role::Database) => w.db[0].count() + w.db[1].count(),
        None => w.entry_count(has_lb),
    }
}

pub(super) fn dispersion(bins: &[u32]) -> f64 {
    let n = bins.len() as f64;
    if bins.len() < 2 {
        return f64::NAN;
    }
    let mean = bins.iter().map(|&b| f64::from(b)).sum::<f64>() / n;
    if mean <= 0.0 {
        return f64::NAN;
    }
    let var = bins
        .iter()
        .map(|&b| (f64::from(b) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    var / mean
}

/// The observed figures of each full window, for the report and `validate`.
pub fn window_rows(
    obs: &Observations,
    keys: &[i64],
    cpu: Option<&BTreeMap<String, CpuSeries>>,
) -> Vec<WindowRow> {
    let w_ns = obs.window_ns;
    let secs = w_ns as f64 / NS as f64;
    keys.iter()
        .map(|k| {
            let w = &obs.windows[k];
            let entry = if obs.has_lb { &w.lb } else { &w.web };
            let class_counts: Vec<u64> = entry.iter().map(|a| a.total.count()).collect();
            let n: u64 = class_counts.iter().sum();
            let q = w.e2e.quantiles_ns([0.5, 0.9, 0.99]);
            let lb = merged(w.lb.iter().map(|a| a.total));
            let web = merged(w.web.iter().map(|a| a.total));
            let web_own = merged(w.web.iter().map(|a| a.own));
            let app = merged(w.app.iter().map(|a| a.total));
            let db = merged(w.db[..2].iter().copied());
            let app_own = app.mean() - db.sum() / app.count().max(1) as f64;
            let own = [
                lb.mean() - web.mean(),
                web_own.mean(),
                if obs.has_db { app_own } else { app.mean() },
                db.mean(),
            ];
            let cores = cpu
                .map(|c| {
                    c.iter()
                        .filter_map(|(name, s)| {
                            s.used_between(k * w_ns, (k + 1) * w_ns)
                                .map(|u| (name.clone(), u / secs))
                        })
                        .collect()
                })
                .unwrap_or_default();
            WindowRow {
                start_ns: k * w_ns,
                rate_rps: n as f64 / secs,
                class_counts,
                e2e_ms: [q[0] / 1e6, q[1] / 1e6, q[2] / 1e6],
                e2e_mean_ms: w.e2e.mean_ns() / 1e6,
                errors: w.errors,
                own_ms: own.map(|v| v / 1e6),
                cores,
                dispersion: dispersion(&w.arrivals),
                conns: (w.conns.1 > 0).then(|| (w.conns.0 as f64 / w.conns.1 as f64, w.conns.2)),
            }
        })
        .collect()
}

/// The arrival process of the full windows: mean rate, whether it varies
/// beyond Poisson noise, its burstiness.
pub(super) fn arrivals_of(rows: &[WindowRow], secs: f64, warnings: &mut Vec<String>) -> Arrivals {
    let counts: Vec<f64> = rows.iter().map(|r| r.rate_rps * secs).collect();
    let mean_count = counts.iter().sum::<f64>() / counts.len() as f64;
    let chi2: f64 = counts
        .iter()
        .map(|c| (c - mean_count).powi(2) / mean_count.max(1e-9))
        .sum();
    let constant_p = chi2_sf(chi2, (counts.len() as u32).saturating_sub(1));
    // The median over windows: a window that holds a change of rate (a
    // load step, a pause) has a huge index of its own.
    let mut disp: Vec<f64> = rows
        .iter()
        .map(|r| r.dispersion)
        .filter(|d| d.is_finite())
        .collect();
    disp.sort_by(f64::total_cmp);
    let arrivals = Arrivals {
        mean_rps: mean_count / secs,
        varies: counts.len() > 1 && constant_p < 0.01,
        constant_p,
        dispersion: disp.get(disp.len() / 2).copied().unwrap_or(f64::NAN),
    };
    if arrivals.dispersion > 1.5 {
        warnings.push(format!(
            "arrivals are burstier than Poisson (dispersion index {:.2} in 1 s counts; Poisson gives 1): the scenario's Poisson arrivals will understate queueing",
            arrivals.dispersion
        ));
    }
    arrivals
}

/// The classes seen in the full windows: (name, share, writes, requests),
/// the rule indices kept, and the requests per rule.
pub(super) type Classes = (Vec<(String, f64, bool, u64)>, Vec<usize>, Vec<u64>);

/// The class mix over the full windows.
pub(super) fn classes_of(rows: &[WindowRow], rules: &[super::ClassRule]) -> Classes {
    let nclass = rules.len();
    let mut class_n = vec![0u64; nclass];
    for r in rows {
        for (c, n) in r.class_counts.iter().enumerate() {
            class_n[c] += n;
        }
    }
    let total: u64 = class_n.iter().sum();
    let classes = rules
        .iter()
        .zip(&class_n)
        .filter(|(_, n)| **n > 0)
        .map(|(rule, &n)| {
            (
                rule.name.clone(),
                n as f64 / total as f64,
                !rule.reads_only(),
                n,
            )
        })
        .collect();
    let kept = (0..nclass).filter(|&c| class_n[c] > 0).collect();
    (classes, kept, class_n)
}

/// What the user should know about the files read: lines skipped, cut,
/// unfinished, unclassified.
pub(super) fn file_warnings(files: &[FileLines]) -> Vec<String> {
    let mut warnings = Vec::new();
    for f in files {
        if f.skipped > 0 {
            warnings.push(format!(
                "{}: {} of {} lines skipped (not records of the format; first at line {})",
                f.path.display(),
                f.skipped,
                f.lines,
                f.skipped_examples.first().map_or(0, |e| e.0)
            ));
        }
        if f.cut > 0 {
            warnings.push(format!(
                "{}: {} lines longer than {} KiB were read cut to that length",
                f.path.display(),
                f.cut,
                super::source::MAX_LINE >> 10
            ));
        }
        if f.truncated_last {
            warnings.push(format!(
                "{}: the last line has no newline (cut mid-write) and was skipped",
                f.path.display()
            ));
        }
        if f.unclassified > 0 {
            warnings.push(format!(
                "{}: {} requests matched no --class rule and were left out",
                f.path.display(),
                f.unclassified
            ));
        }
    }
    warnings
}

fn build(
    input: &CalibrateInput,
    obs: Observations,
    cpu: Option<CpuInput>,
    hcfg: Option<HaproxyConfig>,
    ncfg: Option<NginxConfig>,
    (acfg, db_max): (Option<config::AppConfig>, Option<u32>),
) -> Result<Calibration, CalibrateError> {
    let mut warnings = Vec::new();
    for f in &obs.files {
        if f.records == 0 {
            return Err(no_records(f));
        }
    }
    warnings.extend(obs.nginx_format_note.clone());
    if let Some(j) = obs.ids
        && (j.lb_only > 0 || j.web_only > 0)
    {
        warnings.push(format!(
            "request ids: {} requests joined across HAProxy and Nginx; {} HAProxy lines and {} Nginx lines carry ids that join nothing (HAProxy's unique-id-header must reach Nginx, which logs it as $http_x_request_id)",
            j.joined, j.lb_only, j.web_only
        ));
    }
    warnings.extend(file_warnings(&obs.files));
    if let Some((_, problems)) = &cpu {
        for (file, p) in problems {
            warnings.extend(p.warnings(file));
        }
    }
    let (keys, partial) = full_windows(&obs);
    if keys.is_empty() {
        return Err(input_err(
            "the logs share no full window of time",
            format!(
                "the request logs must overlap for at least one {} s window; check that they come from the same period, or pass a shorter --window",
                obs.window_ns / NS
            ),
        ));
    }
    if keys.len() < 2 {
        warnings.push(
            "only one full window: no interval on the rate, and CPU cannot be split into per-request and background; collect a longer log or pass a shorter --window".into(),
        );
    }
    let cpu_map = cpu.as_ref().map(|c| &c.0);
    let rows = window_rows(&obs, &keys, cpu_map);
    let secs = obs.window_ns as f64 / NS as f64;

    let arrivals = arrivals_of(&rows, secs, &mut warnings);
    let (classes, kept, class_n) = classes_of(&rows, &obs.classes);

    // Per-class moments over the full windows.
    let sum_class = |f: &dyn Fn(&Window) -> &Vec<super::observe::TierAcc>, own: bool, c: usize| {
        merged(keys.iter().map(|k| {
            let a = &f(&obs.windows[k])[c];
            if own { a.own } else { a.total }
        }))
    };
    let db_kind = |k: usize| merged(keys.iter().map(|w| obs.windows[w].db[k]));
    let db_m = [db_kind(0), db_kind(1)];

    // Statements per request of each class: a class's share of its access
    // kind's statements.
    let requests_of_access = |write: bool| -> u64 {
        kept.iter()
            .filter(|&&c| obs.classes[c].reads_only() != write)
            .map(|&c| class_n[c])
            .sum()
    };
    let db_calls: Vec<f64> = kept
        .iter()
        .map(|&c| {
            if !obs.has_db {
                return 0.0;
            }
            let write = !obs.classes[c].reads_only();
            let k = usize::from(write);
            db_m[k].count() as f64 / requests_of_access(write).max(1) as f64
        })
        .collect();

    let mut tiers = Vec::new();
    let web_instances = obs.web_files.max(1) as u32;
    if obs.has_lb {
        let mut times = Vec::new();
        for (i, &c) in kept.iter().enumerate() {
            let ta = sum_class(&|w| &w.lb, false, c);
            // Joined by request id: the balancer's own time of each request.
            let joined = &obs.whole.lb_own[c];
            if joined.count() >= 100 && 2 * joined.count() >= ta.count() {
                times.push(fitted_time(
                    &classes[i].0,
                    joined,
                    1e6,
                    "HAProxy Ta minus Nginx $request_time of the same request (joined by request id), per request",
                ));
                continue;
            }
            let (mean, var, how) = if obs.web_files > 0 {
                let rt = sum_class(&|w| &w.web, false, c);
                (
                    ta.mean() - rt.mean(),
                    ta.variance() - rt.variance(),
                    "HAProxy Ta minus Nginx $request_time: means and variances (one line holds one of the two)",
                )
            } else {
                (
                    ta.mean(),
                    ta.variance(),
                    "HAProxy Ta (no Nginx log: everything behind the balancer counts as its own)",
                )
            };
            times.push(moment_time(&classes[i].0, mean, var, ta.count(), how, 1e6));
        }
        let threads = hcfg
            .as_ref()
            .and_then(|h| h.nbthread)
            .map(|n| read(n, "haproxy.cfg nbthread"))
            .unwrap_or_else(|| {
                check(
                    1,
                    "HAProxy's default nbthread is one per core in 2.x; not in any input",
                )
            });
        let workers = hcfg
            .as_ref()
            .and_then(|h| h.maxconn)
            .map(|n| read(n, "haproxy.cfg maxconn"))
            .unwrap_or_else(|| check(2000, "not in any input (HAProxy's connection limit)"));
        tiers.push(TierCal {
            name: Role::Balancer.tier().into(),
            kind: Role::Balancer,
            instances: read(1, "one HAProxy log"),
            workers,
            threads: Some(threads),
            times,
            cpu_per_visit_s: None,
            wake: None,
            cpu_fraction: None,
            host: None,
            network_ns: None,
            hold: None,
        });
    }
    if obs.web_files > 0 {
        let times = kept
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let h = &obs.whole.web_own[c];
                fitted_time(
                    &classes[i].0,
                    h,
                    1e6,
                    "Nginx $request_time minus $upstream_response_time, per request",
                )
            })
            .collect();
        let (workers, threads) = match &ncfg {
            Some(n) => (
                n.worker_connections
                    .map(|w| {
                        read(
                            w * n.worker_processes.unwrap_or(1),
                            "nginx.conf worker_connections x worker_processes",
                        )
                    })
                    .unwrap_or_else(|| {
                        check(
                            512,
                            "nginx.conf has no worker_connections (Nginx's default is 512)",
                        )
                    }),
                n.worker_processes
                    .map(|w| read(w, "nginx.conf worker_processes"))
                    .unwrap_or_else(|| check(1, "worker_processes auto: one per core")),
            ),
            None => (
                check(1024, "not in any input (Nginx's worker_connections)"),
                check(1, "not in any input (Nginx's worker_processes)"),
            ),
        };
        tiers.push(TierCal {
            name: Role::Web.tier().into(),
            kind: Role::Web,
            instances: read(web_instances, format!("{} Nginx logs", obs.web_files)),
            workers,
            threads: Some(threads),
            times,
            cpu_per_visit_s: None,
            wake: None,
            cpu_fraction: None,
            host: None,
            network_ns: None,
            hold: None,
        });
        // The application: upstream time less the database's.
        let mut times = Vec::new();
        let mut peak_conc = 0.0f64;
        for k in &keys {
            let s: f64 = obs.windows[k].app.iter().map(|a| a.total.sum()).sum();
            peak_conc = peak_conc.max(s / obs.window_ns as f64);
        }
        for (i, &c) in kept.iter().enumerate() {
            let up = sum_class(&|w| &w.app, false, c);
            let write = !obs.classes[c].reads_only();
            let dbk = &db_m[usize::from(write)];
            let calls = db_calls[i];
            let (mean, var, how) = if obs.has_db && calls > 0.0 && dbk.count() > 1 {
                (
                    up.mean() - calls * dbk.mean(),
                    up.variance() - calls * dbk.variance(),
                    "Nginx $upstream_response_time minus the slow log's time per request: means and variances",
                )
            } else {
                (
                    up.mean(),
                    up.variance(),
                    "Nginx $upstream_response_time (no slow log: the database's time counts as the app's)",
                )
            };
            times.push(moment_time(&classes[i].0, mean, var, up.count(), how, 1e6));
        }
        let workers = input
            .workers
            .iter()
            .find(|(t, _)| t == Role::App.tier())
            .map(|(_, n)| read(*n, "from the command line: --workers app"))
            .or_else(|| {
                let (a, p) = acfg.as_ref().zip(input.app_config.as_ref())?;
                Some(read(a.workers, format!("{}: {}", p.display(), a.source)))
            })
            .unwrap_or_else(|| {
                check(
                    (peak_conc.ceil() as u32).max(1),
                    format!("not in any input: the busiest window held {peak_conc:.1} requests in the app at once on average (Little's law); set your server's worker count with --workers app=N"),
                )
            });
        tiers.push(TierCal {
            name: Role::App.tier().into(),
            kind: Role::App,
            instances: check(1, "one application upstream assumed"),
            workers,
            threads: None,
            times,
            cpu_per_visit_s: None,
            wake: None,
            cpu_fraction: None,
            host: None,
            network_ns: None,
            hold: Some("an app worker waits for the database's answer".into()),
        });
    }
    if obs.has_db {
        let fits = [
            fit::fit(&obs.whole.db[0], 1e3),
            fit::fit(&obs.whole.db[1], 1e3),
        ];
        let mut times = Vec::new();
        for (i, &c) in kept.iter().enumerate() {
            let write = !obs.classes[c].reads_only();
            let k = usize::from(write);
            let label = if write { "write" } else { "read" };
            let t = match &fits[k] {
                Some(f) => ClassTime {
                    class: classes[i].0.clone(),
                    dist: f.chosen.clone(),
                    mean_ns: f.mean_ns,
                    cv: f.cv,
                    n: f.n,
                    how: if input.logs.mysql_slow.is_empty() {
                        format!("PostgreSQL log durations of {label} statements: {}", f.how)
                    } else {
                        format!("slow log Query_time of {label} statements: {}", f.how)
                    },
                    fit: Some(f.clone()),
                    flags: Vec::new(),
                },
                None => {
                    warnings.push(format!(
                        "class {}: the slow log holds no {label} statements; its database time is a placeholder",
                        classes[i].0
                    ));
                    ClassTime {
                        class: classes[i].0.clone(),
                        dist: Dist::Exponential { mean: 1e6 },
                        mean_ns: 1e6,
                        cv: 1.0,
                        n: 0,
                        how: "no statements of this kind: a placeholder".into(),
                        fit: None,
                        flags: vec!["CHECK: placeholder".into()],
                    }
                }
            };
            times.push(t);
        }
        let app_workers = tiers
            .iter()
            .find(|t| t.kind == Role::App)
            .map_or(16, |t| t.workers.value);
        let workers = input
            .workers
            .iter()
            .find(|(t, _)| t == Role::Database.tier())
            .map(|(_, n)| read(*n, "from the command line: --workers db"))
            .or_else(|| {
                let (m, p) = db_max.zip(input.db_config.as_ref())?;
                Some(read(
                    m.min(app_workers),
                    format!(
                        "{}: max_connections = {m}; a thread per connection, at most one per app worker ({app_workers})",
                        p.display()
                    ),
                ))
            })
            .unwrap_or_else(|| {
                check(
                    app_workers,
                    "not in any input: one connection per app worker assumed (a MySQL thread per connection)",
                )
            });
        tiers.push(TierCal {
            name: Role::Database.tier().into(),
            kind: Role::Database,
            instances: read(1, "one primary (the slow log's server)"),
            workers,
            threads: None,
            times,
            cpu_per_visit_s: None,
            wake: None,
            cpu_fraction: None,
            host: None,
            network_ns: None,
            hold: None,
        });
        for (i, calls) in db_calls.iter().enumerate() {
            if (calls - 1.0).abs() > 0.05 {
                warnings.push(format!(
                    "class {}: {calls:.2} database statements per request; the scenario makes one call of the summed time",
                    classes[i].0
                ));
            }
        }
    }
    for t in &mut tiers {
        if let Some((_, n)) = input.workers.iter().find(|(n, _)| *n == t.name)
            && t.kind != Role::App
            && t.kind != Role::Database
        {
            t.workers = read(*n, format!("from the command line: --workers {}", t.name));
        }
    }

    // Own times measured under load hold queueing for cores and workers
    // that the simulation adds again: each tier's mean is taken where the
    // own time meets zero load (a weighted line over the windows), when it
    // grows with load.
    for t in &mut tiers {
        for (i, &c) in kept.iter().enumerate() {
            let write = !obs.classes[c].reads_only();
            let pts: Vec<(f64, f64, f64)> = keys
                .iter()
                .zip(&rows)
                .filter_map(|(k, row)| {
                    let w = &obs.windows[k];
                    let (own, n) = match t.kind {
                        Role::Balancer => (
                            w.lb[c].total.mean() - w.web[c].total.mean(),
                            w.lb[c].total.count(),
                        ),
                        Role::Web => (w.web[c].own.mean(), w.web[c].own.count()),
                        Role::App => (
                            w.app[c].total.mean()
                                - db_calls[i] * w.db[usize::from(write)].mean().max(0.0),
                            w.app[c].total.count(),
                        ),
                        _ => (
                            w.db[usize::from(write)].mean(),
                            w.db[usize::from(write)].count(),
                        ),
                    };
                    (own.is_finite() && n > 0).then_some((row.rate_rps, own, n as f64))
                })
                .collect();
            to_zero_load(&mut t.times[i], &pts);
        }
    }

    // CPU: the utilization law per component and per tier, the machines.
    let mut components = Vec::new();
    let mut hosts = Vec::new();
    if let Some((series, _)) = &cpu {
        let names: Vec<String> = tiers.iter().map(|t| t.name.clone()).collect();
        let entry_rps: Vec<f64> = rows.iter().map(|r| r.rate_rps).collect();
        let tier_rps =
            |t: &str, i: usize| tier_count(&obs.windows[&keys[i]], t, obs.has_lb) as f64 / secs;
        let m = machines::estimate(
            series,
            &names,
            &|c| tier_of(c, &input.components).map(|r| r.tier().to_string()),
            &machines::WindowLoad {
                keys: &keys,
                window_ns: obs.window_ns,
                entry_rps: &entry_rps,
                tier_rps: &tier_rps,
                activity: &obs.activity,
            },
            input.cores,
            &input.host_cores,
        );
        let known: BTreeSet<&str> = series.values().filter_map(|s| s.host.as_deref()).collect();
        if let Some((h, _)) = input
            .host_cores
            .iter()
            .find(|(h, _)| !known.contains(h.as_str()))
        {
            return Err(input_err(
                format!("--cores {h}=N: no CPU counter is of a machine named {h}"),
                if known.is_empty() {
                    "the counters are of one machine: give --cores N (or a host column, a file per machine, --host NAME=COMP)".to_string()
                } else {
                    format!(
                        "the machines are: {}",
                        known.into_iter().collect::<Vec<_>>().join(", ")
                    )
                },
            ));
        }
        warnings.extend(m.warnings);
        for t in &mut tiers {
            if let Some((h, n)) = m.placement.get(&t.name) {
                t.host = Some(h.clone());
                if *n > t.instances.value && t.instances.check {
                    t.instances = read(
                        *n,
                        format!("its processes ran on {n} machines (the CPU counters)"),
                    );
                }
            }
        }
        // The hop's network leaves the app's time before its CPU share of
        // that time is taken.
        network_into_app(&mut tiers, &obs, &mut warnings);
        for (t, line) in &m.tier_lines {
            let Some(tier) = tiers.iter_mut().find(|x| &x.name == t) else {
                continue;
            };
            if let Some(w) = cpu_per_visit(tier, line, &classes) {
                warnings.push(w);
            }
        }
        components = m.components;
        hosts = m.hosts;
        for (t, line) in &m.tier_lines {
            wake_up_cost(
                t,
                line,
                &rows,
                &mut tiers,
                &components,
                &mut hosts,
                &classes,
            );
        }
    } else if let Some(c) = input.cores {
        hosts.push(one_machine(c, &mut tiers));
    }

    let logged_arrivals = logged_arrivals(&obs.arrivals, &keys, obs.window_ns);
    let mut pauses = {
        let w = obs.window_ns / NS;
        let (a, b) = (keys[0] * w, (keys[keys.len() - 1] + 1) * w);
        super::pauses::detect(&obs.seconds, a, b)
    };
    pause_slowdowns(&mut pauses, &rows, secs, &tiers, &components, &hosts);
    Ok(Calibration {
        pauses: Some(pauses),
        window_note: None,
        logged_arrivals,
        name: input.name.clone(),
        window_s: secs,
        files: obs.files.clone(),
        windows: rows,
        partial_windows: partial,
        classes,
        arrivals,
        tiers,
        db_calls,
        class_calls: Vec::new(),
        routes: Vec::new(),
        components,
        hosts,
        cpu_problems: cpu.map(|c| c.1).unwrap_or_default(),
        warnings,
        haproxy_config: hcfg,
        nginx_config: ncfg,
        input: input.clone(),
    })
}

/// Splits a tier's CPU into CPU per visit and CPU per wake-up (`wakeup`)
/// across the windows, the share of visits that wake a thread or worker in
/// each from Erlang C at the tier's occupancy there: its CPU (a thread
/// cap: the threads run it) or its visits times their own time (workers,
/// the database's time added where the worker waits for it). Where the
/// windows separate the two, the tier gets the wake-up cost, CPU per visit
/// without it, and its intercept leaves the host's `idle_background` (the
/// wake-ups are that overhead).
fn wake_up_cost(
    t: &str,
    line: &CpuLine,
    rows: &[WindowRow],
    tiers: &mut [TierCal],
    components: &[ComponentCpu],
    hosts: &mut [HostCal],
    classes: &[(String, f64, bool, u64)],
) {
    if line.points.len() != rows.len() || !line.separable {
        return;
    }
    let Some(ti) = tiers.iter().position(|x| x.name == t) else {
        return;
    };
    let quiet: f64 = components
        .iter()
        .filter(|c| c.tier.as_deref() == Some(t))
        .filter_map(|c| c.idle.as_ref().map(|q| q.cores))
        .sum();
    let tier = &tiers[ti];
    let inst = f64::from(tier.instances.value.max(1));
    let slot = match tier.kind {
        Role::Balancer => 0,
        Role::Web => 1,
        Role::App => 2,
        Role::Database => 3,
    };
    let threads = tier.threads.as_ref().filter(|_| tier.host.is_some());
    let servers = u64::from(threads.map_or(tier.workers.value, |x| x.value).max(1));
    let points: Vec<(f64, f64, f64)> = line
        .points
        .iter()
        .zip(rows)
        .map(|(&(rate, cores), row)| {
            let busy = if threads.is_some() {
                cores / inst
            } else {
                let mut hold_ms = row.own_ms[slot];
                if tier.hold.is_some() && slot == 2 && row.own_ms[3].is_finite() {
                    hold_ms += row.own_ms[3];
                }
                rate * hold_ms.max(0.0) / 1e3 / inst
            };
            let share = if busy.is_finite() {
                1.0 - crate::stats::erlang_c(servers, busy.max(0.0))
            } else {
                f64::NAN
            };
            (rate, share, cores - quiet)
        })
        .filter(|p| p.1.is_finite())
        .collect();
    let Some(fit) = super::regress::wake_fit(&points) else {
        return;
    };
    if fit.separable {
        let (s, w) = (fit.per_visit_s.0, fit.wakeup_s.0);
        let flowing = (line.background_cores - quiet).max(0.0);
        let tier = &mut tiers[ti];
        let mut as_line = line.clone();
        as_line.per_request_s = s;
        cpu_per_visit(tier, &as_line, classes);
        if let Some(c) = &mut tier.cpu_per_visit_s {
            c.source = format!(
                "{:.4} ms a visit besides wake-ups over {} windows (the utilization law's slope, {:.4} ms, holds them)",
                s * 1e3,
                fit.n,
                line.per_request_s * 1e3
            );
        }
        let host = tier.host.clone();
        if let Some(h) = hosts
            .iter_mut()
            .find(|h| Some(&h.name) == host.as_ref() || host.is_none())
            && let Some(ib) = &mut h.idle_background
        {
            ib.value = (ib.value - flowing / h.machines.len().max(1) as f64).max(0.0);
            ib.source.push_str(&format!(
                "; less tier {t}'s {flowing:.3} cores, its wake-ups ({:.3} ms each)",
                w * 1e3
            ));
        }
    }
    tiers[ti].wake = Some(fit);
}

/// Each episode's slowdown, from the utilization of what its tier runs on
/// in the window that holds the episode's start: its machine's cores when
/// the CPU counters place it, else its workers (the rate times its own
/// time over them).
fn pause_slowdowns(
    p: &mut super::pauses::PauseReport,
    rows: &[WindowRow],
    secs: f64,
    tiers: &[TierCal],
    components: &[ComponentCpu],
    hosts: &[HostCal],
) {
    for e in &mut p.episodes {
        let Some(name) = e.tier.as_deref() else {
            continue;
        };
        let Some(t) = tiers.iter().find(|t| t.name == name) else {
            continue;
        };
        let start_ns = e.start_s * NS;
        let Some(row) = rows
            .iter()
            .find(|r| r.start_ns <= start_ns && start_ns < r.start_ns + (secs * 1e9) as i64)
        else {
            continue;
        };
        let on_host = t.host.as_ref().and_then(|h| {
            let host = hosts.iter().find(|x| &x.name == h)?;
            // Counters name a component `name@machine` when several
            // machines' files were given.
            let busy: f64 = row
                .cores
                .iter()
                .filter(|(c, _)| match c.split_once('@') {
                    Some((_, m)) => host.machines.iter().any(|x| x == m),
                    None => components
                        .iter()
                        .any(|x| &x.component == c && x.host.as_ref().is_none_or(|xh| xh == h)),
                })
                .map(|(_, v)| v)
                .sum();
            let cores = f64::from(host.cores.value) * host.machines.len().max(1) as f64;
            Some(busy / cores)
        });
        let slot = match t.kind {
            Role::Balancer => 0,
            Role::Web => 1,
            Role::App => 2,
            Role::Database => 3,
        };
        let rho = on_host.unwrap_or_else(|| {
            let workers = f64::from(t.workers.value) * f64::from(t.instances.value);
            row.rate_rps * row.own_ms[slot] / 1e3 / workers
        });
        let excess_s = (e.peak_median_ms - e.baseline_ms) / 1e3;
        e.slowdown = super::pauses::slowdown(rho, excess_s, f64::from(e.seconds));
    }
}

/// The network between Nginx and the application when they are on
/// different machines: Nginx's `$upstream_connect_time` is a TCP handshake,
/// one round trip; a request that opens its connection (Nginx's default
/// without `keepalive` upstream) then spends one more on the request and
/// its answer. Both are inside `$upstream_response_time`, so they leave the
/// application's time and become the hop's `network`.
fn network_into_app(tiers: &mut [TierCal], obs: &Observations, warnings: &mut Vec<String>) {
    let host = |r: Role| {
        tiers
            .iter()
            .find(|t| t.kind == r)
            .and_then(|t| t.host.clone())
    };
    let (Some(web), Some(app)) = (host(Role::Web), host(Role::App)) else {
        return;
    };
    let c = &obs.upstream_connect;
    if web == app {
        return;
    }
    if c.count() == 0 {
        warnings.push(format!(
            "Nginx ({web}) and the app ({app}) are on different machines, but the Nginx log has no $upstream_connect_time: the network between them stays inside the app's time"
        ));
        return;
    }
    let rtt = c.mean().max(0.0);
    let net = 2.0 * rtt;
    let Some(t) = tiers.iter_mut().find(|t| t.kind == Role::App) else {
        return;
    };
    for ct in &mut t.times {
        if ct.mean_ns > net {
            let k = (ct.mean_ns - net) / ct.mean_ns;
            ct.mean_ns -= net;
            ct.dist = scale(&ct.dist, k);
            ct.flags
                .push(format!("less {:.3} ms of network (the hop's)", net / 1e6));
        }
    }
    t.network_ns = Some(read(
        net,
        format!(
            "two round trips of {:.3} ms, the mean Nginx $upstream_connect_time over {} requests: the connection's handshake and the request's (set keepalive upstream and it is one)",
            rtt / 1e6,
            c.count()
        ),
    ));
}

/// A tier's CPU per visit from its line, as a fraction of its time; its
/// time raised to its CPU where the timers understate it (a warning).
pub(super) fn cpu_per_visit(
    tier: &mut TierCal,
    line: &CpuLine,
    classes: &[(String, f64, bool, u64)],
) -> Option<String> {
    let mean_own: f64 = tier
        .times
        .iter()
        .zip(classes)
        .map(|(ct, c)| ct.mean_ns * c.1)
        .sum::<f64>()
        / 1e9;
    let per_visit = line.per_request_s.max(0.0);
    let frac = per_visit / mean_own.max(1e-12);
    let mut warning = None;
    if frac > 1.0 {
        warning = Some(format!(
            "tier {}: {:.3} ms of CPU per request against {:.3} ms of measured time; its time is raised to its CPU (the timers' resolution or the moment subtraction understate it)",
            tier.name,
            per_visit * 1e3,
            mean_own * 1e3
        ));
        let k = per_visit / mean_own.max(1e-12);
        for ct in &mut tier.times {
            ct.mean_ns *= k;
            ct.dist = scale(&ct.dist, k);
            ct.flags
                .push(format!("raised x{k:.2} to its CPU per request"));
        }
    }
    tier.cpu_fraction = Some(frac.min(1.0));
    tier.cpu_per_visit_s = Some(Sourced {
        value: per_visit,
        source: format!(
            "utilization law over {} windows: slope {:.4} ms/request, intercept {:.3} cores, R^2 {:.3}",
            line.n,
            line.per_request_s * 1e3,
            line.background_cores,
            line.r2
        ),
        check: !line.separable,
    });
    warning
}

/// Own time measured under load holds queueing for cores and workers that
/// the simulation adds again: the mean is taken where the own time per
/// window (`(rate, own, weight)` points) meets zero load, when it grows
/// with load, and said in the time's flags.
pub(super) fn to_zero_load(ct: &mut ClassTime, pts: &[(f64, f64, f64)]) {
    if let Some((at_zero, slope)) = zero_load(pts)
        && at_zero > 0.0
        && at_zero < 0.97 * ct.mean_ns
    {
        let k = at_zero / ct.mean_ns;
        ct.flags.push(format!(
            "mean {:.3} ms over all windows holds queueing: {:.3} ms at zero load (the quieter half of the windows, {:+.4} ms per 100 requests/s) is used",
            ct.mean_ns / 1e6,
            at_zero / 1e6,
            slope * 100.0 / 1e6
        ));
        ct.mean_ns = at_zero;
        ct.dist = scale(&ct.dist, k);
    }
}

/// The one machine `--cores N` names when no counter says more: every
/// tier on it.
pub(super) fn one_machine(cores: u32, tiers: &mut [TierCal]) -> HostCal {
    for t in tiers.iter_mut() {
        t.host = Some(ONE_MACHINE.into());
    }
    HostCal {
        name: ONE_MACHINE.into(),
        machines: Vec::new(),
        cores: read(cores, "from the command line: --cores"),
        background: None,
        idle_background: None,
        off_path_s: None,
        tiers: tiers.iter().map(|t| t.name.clone()).collect(),
    }
}

/// The arrivals kept (`--arrivals`) in the full windows: seconds from the
/// first full window's start, and the class, in time order.
pub(super) fn logged_arrivals(
    arrivals: &[(i64, u16)],
    keys: &[i64],
    window_ns: i64,
) -> Vec<(f64, u16)> {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Vec::new();
    };
    let (from, to) = (first * window_ns, (last + 1) * window_ns);
    let mut out: Vec<(f64, u16)> = arrivals
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|&(t, c)| ((t - from) as f64 / NS as f64, c))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The own time (ns) at zero load: weighted least squares of own time on
/// rate over the quieter half of the windows (above it queueing bends the
/// curve up), `(value at zero rate, slope per request/s)`; the quieter
/// half's mean with slope 0 when the line would cross zero. `None` below
/// three windows or without a spread of rates.
pub(super) fn zero_load(all: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    let mut rates: Vec<f64> = all.iter().map(|p| p.0).collect();
    rates.sort_by(f64::total_cmp);
    let median = *rates.get(rates.len() / 2)?;
    let pts: Vec<(f64, f64, f64)> = all.iter().copied().filter(|p| p.0 <= median).collect();
    if pts.len() < 3 {
        return None;
    }
    let sw: f64 = pts.iter().map(|p| p.2).sum();
    let mx = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / sw;
    let my = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / sw;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let lo = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    if sxx <= 0.0 || hi < 1.5 * lo {
        return None;
    }
    let b = sxy / sxx;
    let a = my - b * mx;
    Some(if a > 0.0 { (a, b) } else { (my, 0.0) })
}

/// A distribution with its time scale multiplied by `k`.
pub(super) fn scale(d: &Dist, k: f64) -> Dist {
    match d {
        Dist::Constant(v) => Dist::Constant(v * k),
        Dist::Exponential { mean } => Dist::Exponential { mean: mean * k },
        Dist::Uniform { min, max } => Dist::Uniform {
            min: min * k,
            max: max * k,
        },
        Dist::LogNormal { mean, cv } => Dist::LogNormal {
            mean: mean * k,
            cv: *cv,
        },
        Dist::Gamma { mean, cv } => Dist::Gamma {
            mean: mean * k,
            cv: *cv,
        },
        Dist::Weibull { shape, scale } => Dist::Weibull {
            shape: *shape,
            scale: scale * k,
        },
        Dist::Empirical(v) => Dist::Empirical(Samples {
            values: v.iter().map(|x| x * k).collect(),
            file: None,
        }),
    }
}

/// A time known only by its mean and variance (a difference of two logs'
/// timers): a gamma with that mean and cv, floored where the difference
/// comes out at or below zero.
pub(super) fn moment_time(
    class: &str,
    mean: f64,
    var: f64,
    n: u64,
    how: &str,
    res: f64,
) -> ClassTime {
    let mut flags = Vec::new();
    let floor = res / 20.0;
    let m = if mean.is_finite() && mean > floor {
        mean
    } else {
        flags.push(format!(
            "the difference came out at {:.3} ms: floored at {:.3} ms",
            mean / 1e6,
            floor / 1e6
        ));
        floor
    };
    let cv = if var.is_finite() && var > 0.0 {
        (var.sqrt() / m).clamp(0.1, 10.0)
    } else {
        flags.push("variance not identifiable from the difference: cv 1 assumed".into());
        1.0
    };
    if m < 2.0 * res {
        flags.push(format!(
            "below two timer quanta ({:.0} ms): resolution dominates, the mean is trustworthy only over many requests",
            res / 1e6
        ));
    }
    ClassTime {
        class: class.to_string(),
        dist: Dist::Gamma { mean: m, cv },
        mean_ns: m,
        cv,
        n,
        how: format!("{how}; gamma by moments (no per-request data to fit)"),
        fit: None,
        flags,
    }
}

pub(super) fn fitted_time(
    class: &str,
    h: &crate::stats::LatencyHistogram,
    res: f64,
    how: &str,
) -> ClassTime {
    match fit::fit(h, res) {
        Some(f) => {
            let mut flags = Vec::new();
            if f.resolution_dominates {
                flags.push(format!(
                    "mean {:.3} ms is below two timer quanta: resolution dominates",
                    f.mean_ns / 1e6
                ));
            }
            let (dist, mean) = if f.mean_ns < res / 20.0 {
                flags.push(format!(
                    "floored at {:.3} ms: nearly every request measured 0",
                    res / 20.0 / 1e6
                ));
                (Dist::Exponential { mean: res / 20.0 }, res / 20.0)
            } else {
                (f.chosen.clone(), f.mean_ns)
            };
            ClassTime {
                class: class.to_string(),
                dist,
                mean_ns: mean,
                cv: f.cv,
                n: f.n,
                how: format!("{how}: {}", f.how),
                fit: Some(f),
                flags,
            }
        }
        None => ClassTime {
            class: class.to_string(),
            dist: Dist::Exponential { mean: res / 20.0 },
            mean_ns: res / 20.0,
            cv: 1.0,
            n: h.count(),
            how: format!("{how}: too few requests to fit"),
            fit: None,
            flags: vec!["CHECK: too few requests".into()],
        },
    }
}

/// Every value of the scenario that no input held, as `tier app workers = 4:
/// why`.
pub fn checks(c: &Calibration) -> Vec<String> {
    let mut out = Vec::new();
    for t in &c.tiers {
        let mut one = |what: &str, v: &Sourced<u32>| {
            if v.check {
                out.push(format!(
                    "tier {} {what} = {}: {}",
                    t.name, v.value, v.source
                ));
            }
        };
        one("instances", &t.instances);
        one("workers", &t.workers);
        if let Some(th) = &t.threads {
            one("threads", th);
        }
        if let Some(cpu) = &t.cpu_per_visit_s
            && cpu.check
        {
            out.push(format!("tier {} cpu: {}", t.name, cpu.source));
        }
        for ct in &t.times {
            for f in ct.flags.iter().filter(|f| f.starts_with("CHECK")) {
                out.push(format!("tier {} class {}: {f}", t.name, ct.class));
            }
        }
    }
    for h in &c.hosts {
        if h.cores.check {
            out.push(format!(
                "host {} cores = {}: {}",
                h.name, h.cores.value, h.cores.source
            ));
        }
    }
    out
}

/// Held-out logs as observed windows, for `stacksim validate`.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Window length, s.
    pub window_s: f64,
    /// Class names in rule order.
    pub classes: Vec<String>,
    /// The full windows.
    pub windows: Vec<WindowRow>,
    /// The files read.
    pub files: Vec<FileLines>,
    /// Whether the entry tier is HAProxy (else Nginx).
    pub entry_is_lb: bool,
    /// How the window was chosen, when `--window` was not given.
    pub window_note: Option<String>,
    /// Pause episodes in the full windows (request logs only).
    pub pauses: Option<super::pauses::PauseReport>,
}

/// Reads held-out logs and counters into full windows.
pub fn observe_windows(
    logs: &LogInputs,
    cpu: &[PathBuf],
    hosts: &[(String, Vec<String>)],
) -> Result<Observed, CalibrateError> {
    if logs.haproxy.is_empty() && logs.nginx.is_empty() {
        return Err(input_err(
            "no request log given",
            "pass --haproxy FILE or --nginx FILE: the observed windows come from them",
        ));
    }
    let series = read_cpu(cpu, hosts)?.map(|c| c.0);
    let (obs, window_note) = observe_auto(logs, series.as_ref())?;
    for f in &obs.files {
        if f.records == 0 {
            return Err(no_records(f));
        }
    }
    let (keys, _) = full_windows(&obs);
    if keys.is_empty() {
        return Err(input_err(
            "the logs share no full window of time",
            "the request logs must overlap for at least one window; pass a shorter --window",
        ));
    }
    let w = obs.window_ns / NS;
    let pauses = super::pauses::detect(&obs.seconds, keys[0] * w, (keys[keys.len() - 1] + 1) * w);
    Ok(Observed {
        pauses: Some(pauses),
        window_note,
        window_s: obs.window_ns as f64 / NS as f64,
        classes: obs.classes.iter().map(|c| c.name.clone()).collect(),
        windows: window_rows(&obs, &keys, series.as_ref()),
        files: obs.files.clone(),
        entry_is_lb: obs.has_lb,
    })
}

#[cfg(test)]
mod tests {
    use super::tier_of;

    #[test]
    fn components_map_to_tiers_by_flag_prefix_or_process_name() {
        let explicit = [("worker".to_string(), "app".to_string())];
        for (name, tier) in [
            ("worker", Some("app")),
            ("web2", Some("web")),
            ("lb", Some("lb")),
            ("nginx", Some("web")),
            ("nginx.service", Some("web")),
            ("gunicorn", Some("app")),
            ("php-fpm8.2", Some("app")),
            ("mariadbd", Some("db")),
            ("MySQLd", Some("db")),
            ("postgres", Some("db")),
            ("haproxy", Some("lb")),
            ("loadgen", None),
            ("prometheus", None),
        ] {
            assert_eq!(tier_of(name, &explicit).map(|r| r.tier()), tier, "{name}");
        }
    }

    #[test]
    fn a_wakeup_cost_the_windows_separate_is_written_and_leaves_idle_background() {
        use super::*;
        // An app of 2 workers (no thread cap) on one machine: 0.6 ms of CPU
        // a visit plus 0.5 ms a wake-up, its occupancy rate x 1.5 ms, at
        // loads from 100 to 1,200 visits/s (shares of visits that wake a
        // worker 0.99 down to 0.5).
        let servers = 2u64;
        let own_ms = 1.5;
        let rates = [100.0, 300.0, 500.0, 700.0, 900.0, 1_100.0, 1_200.0];
        let mut points = Vec::new();
        let mut rows = Vec::new();
        for (i, &r) in rates.iter().enumerate() {
            let share = 1.0 - crate::stats::erlang_c(servers, r * own_ms / 1e3);
            let cores = 0.01 + r * (0.6e-3 + 0.5e-3 * share);
            points.push((r, cores));
            rows.push(WindowRow {
                start_ns: i as i64 * 10 * NS,
                rate_rps: r,
                class_counts: vec![r as u64 * 10],
                e2e_ms: [2.0, 3.0, 5.0],
                e2e_mean_ms: 2.0,
                errors: 0,
                own_ms: [f64::NAN, f64::NAN, own_ms, f64::NAN],
                cores: vec![("app".into(), cores)],
                dispersion: 1.0,
                conns: None,
            });
        }
        let line = crate::calibrate::regress::cpu_line(points).unwrap();
        let time = ClassTime {
            class: "all".into(),
            dist: Dist::Exponential { mean: 1.5e6 },
            mean_ns: 1.5e6,
            cv: 1.0,
            n: 1000,
            how: "test".into(),
            fit: None,
            flags: Vec::new(),
        };
        let mut tiers = vec![TierCal {
            name: "app".into(),
            kind: Role::App,
            instances: read(1, "test"),
            workers: read(2, "test"),
            threads: None,
            times: vec![time],
            cpu_per_visit_s: None,
            wake: None,
            cpu_fraction: None,
            host: Some("server".into()),
            network_ns: None,
            hold: None,
        }];
        let components = vec![ComponentCpu {
            component: "app".into(),
            host: None,
            tier: Some("app".into()),
            line: Some(line.clone()),
            idle: Some(IdleCpu {
                cores: 0.01,
                seconds: 5.0,
                intervals: 5,
            }),
            resets: 0,
        }];
        let flowing = line.background_cores - 0.01;
        let mut hosts = vec![HostCal {
            name: "server".into(),
            machines: Vec::new(),
            cores: read(2, "test"),
            background: Some(read(0.01, "test")),
            idle_background: Some(read(flowing + 0.05, "test")),
            off_path_s: None,
            tiers: vec!["app".into()],
        }];
        let classes = vec![("all".to_string(), 1.0, false, 1000)];
        wake_up_cost(
            "app",
            &line,
            &rows,
            &mut tiers,
            &components,
            &mut hosts,
            &classes,
        );
        let w = tiers[0].wake.as_ref().expect("fitted");
        assert!(w.separable, "{w:?}");
        assert!((w.wakeup_s.0 - 0.5e-3).abs() < 1e-9, "{w:?}");
        assert!((w.per_visit_s.0 - 0.6e-3).abs() < 1e-9, "{w:?}");
        // The tier's CPU is the per-visit part, its intercept leaves the
        // yielding background, and the scenario says `wakeup`.
        let cpu = tiers[0].cpu_per_visit_s.as_ref().unwrap().value;
        assert!((cpu - 0.6e-3).abs() < 1e-9, "{cpu}");
        let ib = hosts[0].idle_background.as_ref().unwrap().value;
        assert!((ib - 0.05).abs() < 1e-9, "{ib}");
        let mut out = String::new();
        super::super::emit::tier_block_for_test(&mut out, &tiers[0]);
        assert!(out.contains("wakeup = \"500us\""), "{out}");
    }
}
