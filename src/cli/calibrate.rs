//! `stacksim calibrate`: a scenario from a real stack's logs and CPU counters.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_FAILURE, EXIT_INVALID, EXIT_OK, output_error};
use stacksim::calibrate::observe::LogInputs;
use stacksim::calibrate::{self, CalibrateInput, Calibration, ClassRule, classes, time};
use stacksim::report::{self, FileTarget, Overwrite};

/// The logs and counters, shared by `calibrate` and `validate`.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// HAProxy log (repeatable): `option httplog` lines, syslog header or not.
    #[arg(long, value_name = "FILE")]
    pub haproxy: Vec<PathBuf>,
    /// The HAProxy `log-format` that wrote the log (default: option httplog's).
    #[arg(long, value_name = "FORMAT")]
    pub haproxy_format: Option<String>,
    /// UTC offset of HAProxy's local dates, e.g. +0100 (default: +0000).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub haproxy_utc_offset: Option<String>,
    /// Nginx access log, one per instance (repeatable).
    #[arg(long, value_name = "FILE")]
    pub nginx: Vec<PathBuf>,
    /// The Nginx `log_format` that wrote the logs (default: combined plus
    /// $request_time $upstream_response_time).
    #[arg(long, value_name = "FORMAT")]
    pub nginx_format: Option<String>,
    /// MySQL / MariaDB slow query log, written with long_query_time = 0 (repeatable).
    #[arg(long, value_name = "FILE")]
    pub mysql_slow: Vec<PathBuf>,
    /// PostgreSQL server log with log_min_duration_statement = 0, the
    /// default stderr format and log_line_prefix '%m [%p] ' (repeatable):
    /// the database's statements, as a slow log gives them.
    #[arg(long = "postgres", value_name = "FILE")]
    pub postgres: Vec<PathBuf>,
    /// CPU counters: CSV of time,component,cpu_seconds (cumulative), with
    /// a host column when the stack spans machines; or one file per
    /// machine (repeatable; each named after its machine: web1.csv,
    /// db/cpu.csv).
    #[arg(long, value_name = "FILE")]
    pub cpu: Vec<PathBuf>,
    /// The machine of CPU counters that do not say, e.g.
    /// db=mariadbd,backup (repeatable).
    #[arg(long = "host", value_name = "NAME=COMP,COMP")]
    pub hosts: Vec<String>,
    /// A request class: NAME='METHODS PATTERN', e.g. read='GET|HEAD *'
    /// (repeatable; the first rule that matches wins; default read = GET
    /// and HEAD, write = the rest).
    #[arg(long = "class", value_name = "RULE")]
    pub classes: Vec<String>,
    /// Window length (default: 60s, or shorter when the logs are too short
    /// to hold 12 full windows of it: chosen, and said).
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Only requests from this time on (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only requests before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// OpenTelemetry traces in the OTLP JSON file format (one TracesData
    /// object per line, as the SDKs' and the Collector's file exporters
    /// write it); repeatable, e.g. a file per service. Every tier, its
    /// calls and its machines come from the spans; logs given with it join
    /// them by the trace id each record carries (HAProxy's captured
    /// traceparent, Nginx's $http_traceparent, sqlcommenter's comment).
    #[arg(long, value_name = "FILE")]
    pub otlp: Vec<PathBuf>,
    /// Jaeger's JSON export of traces (repeatable).
    #[arg(long, value_name = "FILE")]
    pub jaeger: Vec<PathBuf>,
}

impl LogArgs {
    /// Every input file named (logs, traces, counters), each with its size
    /// and SHA-256, for a report's provenance; a file that cannot be read
    /// again is left out (its reading already failed or succeeded).
    pub fn digests(&self) -> Vec<stacksim::dist::SampleFile> {
        [
            &self.haproxy,
            &self.nginx,
            &self.mysql_slow,
            &self.postgres,
            &self.cpu,
            &self.otlp,
            &self.jaeger,
        ]
        .into_iter()
        .flatten()
        .filter_map(|p| stacksim::dist::SampleFile::read(p).ok())
        .collect()
    }
}

impl LogArgs {
    /// `--host NAME=comp,comp` as (machine, components).
    pub fn host_map(&self) -> Result<Vec<(String, Vec<String>)>, u8> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (h, cs) in pairs("--host", &self.hosts)? {
            let comps: Vec<String> = cs
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if h.is_empty() || comps.is_empty() {
                eprintln!("error: --host {h}={cs}: expected NAME=COMPONENT,COMPONENT");
                return Err(EXIT_INVALID);
            }
            if let Some(c) = comps
                .iter()
                .find(|c| out.iter().any(|(_, o)| o.contains(c)))
            {
                eprintln!("error: --host {h}: component {c} is already on another machine");
                return Err(EXIT_INVALID);
            }
            out.push((h, comps));
        }
        Ok(out)
    }

    /// Every log and counter file given.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.haproxy
            .iter()
            .chain(&self.nginx)
            .chain(&self.mysql_slow)
            .chain(&self.postgres)
            .chain(&self.cpu)
            .chain(&self.otlp)
            .chain(&self.jaeger)
    }

    /// The library's view; a usage problem is printed and turned into the
    /// exit code.
    pub fn inputs(&self) -> Result<LogInputs, u8> {
        let usage = |m: String| {
            eprintln!("error: {m}");
            EXIT_INVALID
        };
        let window = self.window.as_deref().unwrap_or("60s");
        let window_ns = stacksim::units::parse_duration(window)
            .map_err(|e| usage(format!("--window {e}")))? as i64;
        if window_ns < 1_000_000_000 {
            return Err(usage(format!(
                "--window {window}: at least 1s (windows hold counts of requests)"
            )));
        }
        let rules = if self.classes.is_empty() {
            classes::default_rules()
        } else {
            self.classes
                .iter()
                .map(|c| ClassRule::parse(c).map_err(|e| usage(format!("--class {e}"))))
                .collect::<Result<Vec<_>, _>>()?
        };
        let when = |flag: &str, v: &Option<String>| -> Result<Option<i64>, u8> {
            v.as_ref()
                .map(|t| {
                    time::iso8601(t.as_bytes())
                        .or_else(|| time::epoch_seconds(t.as_bytes()))
                        .ok_or_else(|| {
                            usage(format!(
                                "{flag} {t}: expected RFC 3339 (2026-12-01T10:50:00Z) or Unix seconds"
                            ))
                        })
                })
                .transpose()
        };
        let offset = match &self.haproxy_utc_offset {
            Some(o) => time::offset(o.as_bytes())
                .ok_or_else(|| usage(format!("--haproxy-utc-offset {o}: expected e.g. +0100")))?,
            None => 0,
        };
        for p in self
            .haproxy
            .iter()
            .chain(&self.nginx)
            .chain(&self.mysql_slow)
            .chain(&self.postgres)
            .chain(&self.cpu)
        {
            match std::fs::metadata(p) {
                Ok(m) if m.is_file() => {}
                Ok(m) if m.is_dir() => {
                    return Err(usage(format!(
                        "{} is a folder; give the files in it (e.g. {}/*.log)",
                        p.display(),
                        p.display()
                    )));
                }
                Ok(_) => {
                    return Err(usage(format!(
                        "{} is not a regular file (a FIFO, socket or device); copy it into a file",
                        p.display()
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(usage(format!("{}: no such file", p.display())));
                }
                Err(e) => return Err(usage(format!("{}: {e}", p.display()))),
            }
        }
        Ok(LogInputs {
            haproxy: self.haproxy.clone(),
            haproxy_format: self.haproxy_format.clone(),
            haproxy_utc_offset_s: offset,
            nginx: self.nginx.clone(),
            nginx_format: self.nginx_format.clone(),
            mysql_slow: self.mysql_slow.clone(),
            postgres: self.postgres.clone(),
            window_ns,
            window_auto: self.window.is_none(),
            classes: rules,
            since_ns: when("--since", &self.since)?,
            until_ns: when("--until", &self.until)?,
            keep_arrivals: false,
        })
    }
}

/// `stacksim calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    logs: LogArgs,
    /// haproxy.cfg, for nbthread, maxconn, balance and servers.
    #[arg(long, value_name = "FILE")]
    haproxy_config: Option<PathBuf>,
    /// nginx.conf, for worker_processes and worker_connections.
    #[arg(long, value_name = "FILE")]
    nginx_config: Option<PathBuf>,
    /// The application server's config, for its worker count: gunicorn's
    /// (workers, threads), uWSGI's (processes), a PHP-FPM pool's
    /// (pm.max_children) or Puma's (workers, threads).
    #[arg(long, value_name = "FILE")]
    app_config: Option<PathBuf>,
    /// The database's config (my.cnf), for max_connections.
    #[arg(long, value_name = "FILE")]
    db_config: Option<PathBuf>,
    /// Cores of the machine the stack runs on, or of one machine of
    /// several: NAME=N (repeatable).
    #[arg(long, value_name = "N|NAME=N")]
    cores: Vec<String>,
    /// Worker count of a tier you know, e.g. app=4 (repeatable).
    #[arg(long = "workers", value_name = "TIER=N")]
    workers: Vec<String>,
    /// Which tier a CPU counter belongs to, e.g. worker=app (repeatable;
    /// by default a component belongs to the tier its name starts with, or
    /// to the tier of a well-known process it names: nginx, gunicorn,
    /// php-fpm, mariadbd, ...).
    #[arg(long = "component", value_name = "NAME=TIER")]
    components: Vec<String>,
    /// The scenario file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the logged arrivals (time, class) to FILE and make the
    /// scenario replay them (`replay = FILE`) instead of Poisson arrivals.
    #[arg(long, value_name = "FILE")]
    arrivals: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    /// The report folder (default: output/<name>-calibration).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Write no report.
    #[arg(long)]
    no_report: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// A path as a shell would need it typed: quoted when it holds anything
/// but plain characters.
fn shell_word(p: &std::path::Path) -> String {
    let t = p.display().to_string();
    if !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:,@%".contains(c))
    {
        t
    } else {
        format!("'{}'", t.replace('\'', "'\\''"))
    }
}

/// Whether two paths name one file (or would, once created).
fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    abs(a) == abs(b)
        || std::fs::canonicalize(a).is_ok_and(|x| std::fs::canonicalize(b).is_ok_and(|y| x == y))
}

/// How the scenario at `out` names the replay file: by its file name when
/// they share a folder, else by its absolute path.
fn replay_path(out: &std::path::Path, arrivals: &std::path::Path) -> String {
    let dir = |p: &std::path::Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
    };
    let same = std::fs::canonicalize(dir(out)).ok() == std::fs::canonicalize(dir(arrivals)).ok();
    match (same, arrivals.file_name()) {
        (true, Some(name)) => name.to_string_lossy().into_owned(),
        _ => std::path::absolute(arrivals)
            .unwrap_or_else(|_| arrivals.to_path_buf())
            .display()
            .to_string(),
    }
}

fn pairs(flag: &str, v: &[String]) -> Result<Vec<(String, String)>, u8> {
    v.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .ok_or_else(|| {
                    eprintln!("error: {flag} {s}: expected NAME=VALUE");
                    EXIT_INVALID
                })
        })
        .collect()
}

/// Cores of every machine (`--cores N`) and of named ones (`--cores NAME=N`).
type CoreCounts = (Option<u32>, Vec<(String, u32)>);

/// `--cores N` (every machine) and `--cores NAME=N` (one machine).
fn core_counts(v: &[String]) -> Result<CoreCounts, u8> {
    let count = |flag: &str, n: &str| {
        n.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| {
                eprintln!(
                    "error: --cores {flag}: expected a whole number of cores from 1 to 100000"
                );
                EXIT_INVALID
            })
    };
    let mut all = None;
    let mut each = Vec::new();
    for s in v {
        match s.split_once('=') {
            Some((h, n)) => each.push((h.trim().to_string(), count(s, n)?)),
            None if all.is_none() => all = Some(count(s, s)?),
            None => {
                eprintln!("error: --cores {s}: given twice; name the machine (--cores NAME=N)");
                return Err(EXIT_INVALID);
            }
        }
    }
    Ok((all, each))
}

/// Runs `stacksim calibrate`.
pub fn calibrate(a: &CalibrateArgs) -> u8 {
    match calibrate_inner(a) {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

fn calibrate_inner(a: &CalibrateArgs) -> Result<(), u8> {
    let mut logs = a.logs.inputs()?;
    logs.keep_arrivals = a.arrivals.is_some();
    // Every output is checked, and the report folder locked, before any
    // log is read; no output may be one of the inputs.
    for p in a.logs.otlp.iter().chain(&a.logs.jaeger) {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                eprintln!(
                    "error: {} is not a regular file; give the trace files",
                    p.display()
                );
                return Err(EXIT_INVALID);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("error: {}: no such file", p.display());
                return Err(EXIT_INVALID);
            }
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return Err(EXIT_INVALID);
            }
        }
    }
    let inputs: Vec<PathBuf> = a
        .logs
        .files()
        .chain(&a.haproxy_config)
        .chain(&a.nginx_config)
        .chain(&a.app_config)
        .chain(&a.db_config)
        .cloned()
        .collect();
    let rule = Overwrite {
        force: a.force,
        inputs: &inputs,
        ..Overwrite::default()
    };
    let out = FileTarget::check(&a.out, &rule).map_err(|e| output_error(&e))?;
    // An arrivals file is stacksim's own format: an earlier one (say, of a
    // run killed before its scenario was written) is replaced without --force.
    let own = Overwrite {
        own: Some(|head: &[u8]| head.starts_with(b"time_s,class\n")),
        ..rule
    };
    let arrivals = a
        .arrivals
        .as_deref()
        .map(|p| FileTarget::check(p, &own).map_err(|e| output_error(&e)))
        .transpose()?;
    if let Some(p) = &a.arrivals
        && same_path(p, &a.out)
    {
        eprintln!(
            "error: --arrivals {} is the --out scenario; give the arrivals their own file",
            p.display()
        );
        return Err(EXIT_INVALID);
    }
    let workers = pairs("--workers", &a.workers)?
        .into_iter()
        .map(|(t, n)| {
            n.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| (t.clone(), n))
                .ok_or_else(|| {
                    eprintln!("error: --workers {t}={n}: expected a whole number above 0");
                    EXIT_INVALID
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (t, _) in &workers {
        if a.logs.otlp.is_empty()
            && a.logs.jaeger.is_empty()
            && calibrate::role::Role::of_tier(t).is_none()
        {
            eprintln!("error: --workers {t}: the calibrated tiers are lb, web, app and db");
            return Err(EXIT_INVALID);
        }
    }
    let (cores, host_cores) = core_counts(&a.cores)?;
    // The scenario is named after its file, spelled as a name may be
    // (`my stack.toml` gives `my-stack`).
    let name = a
        .out
        .file_stem()
        .map(|s| stacksim::scenario::folder_name(&s.to_string_lossy()))
        .unwrap_or_else(|| "calibrated".into());
    let input = CalibrateInput {
        name: name.clone(),
        logs,
        cpu: a.logs.cpu.clone(),
        hosts: a.logs.host_map()?,
        components: pairs("--component", &a.components)?,
        workers,
        cores,
        host_cores,
        haproxy_config: a.haproxy_config.clone(),
        nginx_config: a.nginx_config.clone(),
        app_config: a.app_config.clone(),
        db_config: a.db_config.clone(),
        otlp: a.logs.otlp.clone(),
        jaeger: a.logs.jaeger.clone(),
        replay_as: a.arrivals.as_ref().map(|p| replay_path(&a.out, p)),
    };
    let dir = a
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{name}-calibration")));
    let report_folder = if a.no_report {
        None
    } else {
        Some(
            report::OutFolder::open(&dir, report::output::results_rule())
                .map_err(|e| output_error(&e))?,
        )
    };
    let cal = calibrate::calibrate(&input).map_err(|e| {
        eprintln!("error: {e}");
        match e {
            calibrate::CalibrateError::Io { .. } => EXIT_FAILURE,
            _ => EXIT_INVALID,
        }
    })?;
    let text = calibrate::emit::scenario_toml(&cal);
    // Every file is written under a temporary name first (the report into
    // its staging folder), so a full disk changes none of them; then the
    // arrivals are put in place, the scenario checked against them, the
    // report moved in, and the scenario put in place last. The scenario
    // pins the arrivals by SHA-256 (`replay_sha256`), so a kill between the
    // two leaves an old scenario that refuses the new arrivals, never one
    // that replays them.
    let fail = |e: report::OutputError| output_error(&e);
    let replay = match &arrivals {
        Some(t) => Some(
            t.prepare(calibrate::emit::arrivals_csv(&cal).into_bytes())
                .map_err(fail)?,
        ),
        None => None,
    };
    let scenario = out.prepare(text.clone().into_bytes()).map_err(fail)?;
    if let Some(folder) = &report_folder {
        let mut prov =
            report::Provenance::new(&super::command_line(), &a.out.display().to_string(), "");
        prov.inputs = a.logs.digests();
        report::calibration::stage(folder, &cal, &text, &prov).map_err(|e| {
            eprintln!("error: {e}");
            EXIT_FAILURE
        })?;
    }
    if let Some(r) = replay {
        r.place().map_err(fail)?;
    }
    // The scenario must read back: a calibration that writes an invalid
    // scenario is a bug, reported before the scenario is put in place.
    let base = a.out.parent().filter(|d| !d.as_os_str().is_empty());
    if let Err(e) = stacksim::scenario::parse(&text, &a.out.display().to_string(), base) {
        eprintln!("error: the calibrated scenario does not validate (a bug in calibrate):");
        eprint!("{}", e.render(false));
        return Err(EXIT_FAILURE);
    }
    if let Some(folder) = report_folder {
        folder.commit().map_err(fail)?;
    }
    scenario.place().map_err(fail)?;
    if !a.quiet {
        print_summary(&cal);
        outln!("wrote {}", a.out.display());
        if !a.no_report {
            outln!("report: {}", dir.join("calibration.html").display());
        }
        outln!("run it with: stacksim run {}", shell_word(&a.out));
    }
    Ok(())
}

fn print_summary(c: &Calibration) {
    if let Some(n) = &c.window_note {
        outln!("window: {n}");
    }
    let a = &c.arrivals;
    outln!(
        "arrivals: {} requests/s over {} windows of {} s ({}), dispersion index {:.2}",
        stacksim::units::grouped(&format!("{:.1}", a.mean_rps)),
        c.windows.len(),
        c.window_s,
        if a.varies {
            "varies: a rate schedule"
        } else {
            "constant"
        },
        a.dispersion
    );
    let mix: Vec<String> = c
        .classes
        .iter()
        .map(|(n, s, _, _)| format!("{n} {:.1}%", s * 100.0))
        .collect();
    outln!("classes: {}", mix.join(", "));
    outln!(
        "{:<6} {:<8} {:>9} {:>10} {:>6}  {:<14} distribution",
        "tier",
        "class",
        "requests",
        "mean ms",
        "cv",
        "cpu ms/req"
    );
    for t in &c.tiers {
        for ct in &t.times {
            let cpu = match (&t.cpu_per_visit_s, t.cpu_fraction) {
                (Some(_), Some(f)) => format!("{:.3} ({:.0}%)", ct.mean_ns * f / 1e6, f * 100.0),
                _ => "-".into(),
            };
            outln!(
                "{:<6} {:<8} {:>9} {:>10.3} {:>6.2}  {:<14} {}",
                t.name,
                ct.class,
                ct.n,
                ct.mean_ns / 1e6,
                ct.cv,
                cpu,
                ct.dist.spell().split('(').next().unwrap_or("")
            );
        }
    }
    for comp in &c.components {
        if let Some(l) = &comp.line {
            outln!(
                "cpu {:<10} {:>8.4} ms/request  intercept {:>6.3} cores  R^2 {:.3}  {}{}",
                stacksim::calibrate::cpu::series_key(&comp.component, comp.host.as_deref()),
                l.per_request_s * 1e3,
                l.background_cores,
                l.r2,
                comp.idle
                    .as_ref()
                    .map_or("no quiet spell".into(), |q| format!(
                        "quiet {:.3} cores over {:.1} s",
                        q.cores, q.seconds
                    )),
                match &comp.tier {
                    Some(t) => format!("  (tier {t})"),
                    None => "  (no log covers it: off the request path)".into(),
                }
            );
        }
    }
    let fits: Vec<_> = c
        .tiers
        .iter()
        .filter_map(|t| t.wake.as_ref().map(|w| (t, w)))
        .collect();
    if !fits.is_empty() && fits.iter().all(|(_, w)| !w.separable) {
        let shares: Vec<String> = fits
            .iter()
            .map(|(t, w)| {
                format!(
                    "{} {:.0}-{:.0}%",
                    t.name,
                    w.share_range.0 * 100.0,
                    w.share_range.1 * 100.0
                )
            })
            .collect();
        outln!(
            "wake-ups: no tier's CPU separates a wake-up cost from CPU per visit (visits that woke it: {}); the utilization-law lines are used (the report says why per tier)",
            shares.join(", ")
        );
    } else {
        for (t, w) in fits {
            outln!("wake-ups: {}", w.sentence(&t.name));
        }
    }
    if let Some(p) = &c.pauses {
        outln!("pauses: {}", p.sentence());
    }
    for w in &c.warnings {
        outln!("warning: {w}");
    }
    let checks = calibrate::build::checks(c);
    if !checks.is_empty() {
        outln!(
            "check ({} values no input held, marked CHECK in the scenario):",
            checks.len()
        );
        for ch in checks {
            outln!("  {ch}");
        }
    }
}
