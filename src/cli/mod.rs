//! Command-line interface: arguments, progress, exit codes. The only code
//! that knows about the terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Prints a line to stdout; a closed pipe (`stacksim ... | head`) ends the
/// program quietly instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// Prints to stdout, like [`outln!`] without the newline.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod capacity;
mod compare;
mod perf;
mod review;
mod sweep;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use stacksim::analysis;
use stacksim::model::Model;
use stacksim::report::{self, OutputLayout, Provenance, RunReport};
use stacksim::scenario::{self, LoadError, Override, REFERENCE_PATH, REFERENCE_TOML, Scenario};
use stacksim::stats;
use stacksim::units::parse_duration;

/// Exit code for success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code for a failure while running (I/O and the like).
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code for invalid input or usage.
pub(crate) const EXIT_INVALID: u8 = 2;

/// stacksim: a discrete-event capacity simulator for web stacks.
#[derive(Parser, Debug)]
#[command(name = "stacksim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate a scenario and report throughput, latency, utilization and the bottleneck.
    Run(RunArgs),
    /// Validate a scenario without running it.
    Check {
        /// Scenario file.
        file: PathBuf,
        /// Override a scenario key, e.g. --set workload.rate=900 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Run a scenario over a grid of settings, points and replications in parallel.
    Sweep(sweep::SweepArgs),
    /// Combine the outputs of a sharded sweep into the single-machine result.
    Merge(sweep::MergeArgs),
    /// Find the highest arrival rate at which every SLO holds with 95% confidence.
    Capacity(capacity::CapacityArgs),
    /// Compare two scenarios with common random numbers: paired differences.
    Compare(compare::CompareArgs),
    /// Review a design: lints and an analytic capacity model (with --simulate, beside the simulation).
    Review(review::ReviewArgs),
    /// Measure simulated requests/s, events/s and peak memory for a scenario.
    Perf(perf::PerfArgs),
    /// Write the reference scenario out as a starting point.
    Init {
        /// Where to write it.
        #[arg(default_value = "secured-web-stack.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Scenario file; the built-in reference scenario when omitted.
    file: Option<PathBuf>,
    /// Override a scenario key, e.g. --set workload.rate=900 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Output folder (default: output/<scenario name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    sim: SimFlags,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Print the summary as JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Skip the charts and the reports (faster).
    #[arg(long)]
    no_charts: bool,
    /// Add replications until the 95% half-widths of end-to-end mean and p99
    /// latency and throughput are within this fraction of their means (e.g. 0.02).
    #[arg(long, value_name = "FRACTION")]
    precision: Option<f64>,
    /// The most replications --precision may run.
    #[arg(long, default_value_t = 200)]
    max_replications: u32,
    /// Write an Nginx-style access log (combined format plus $request_time)
    /// of replication 1's requests through the web tier, at most a million lines.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
}

/// Run-length flags shared by every command that simulates.
#[derive(Args, Debug, Clone)]
pub(crate) struct SimFlags {
    /// Master seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of independent replications.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: Option<u32>,
    /// Observed simulated time per replication, e.g. 60s, 5m.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Warm-up deleted before observing, e.g. 30s, or auto (MSER-5 from a pilot run).
    #[arg(long, value_name = "DURATION")]
    pub warmup: Option<String>,
}

/// Parses arguments and runs the command; returns the exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(&args),
        Command::Check { file, set } => check(&file, &set),
        Command::Init { path, force } => init(&path, force),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Capacity(args) => capacity::capacity(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Perf(args) => perf::perf(&args),
        Command::Review(args) => review::review(&args),
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub(crate) fn progress(total: u64, what: &str, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    let template = format!("{{bar:30}} {{pos}}/{{len}} {what}  {{elapsed}} (ETA {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// A run report's provenance for this process.
pub(crate) fn provenance(path: &str, source: &str) -> Provenance {
    Provenance::new(
        &std::env::args().collect::<Vec<_>>().join(" "),
        path,
        source,
    )
}

pub(crate) fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Parses `--set` arguments; a malformed one is a usage error.
pub(crate) fn overrides(set: &[String]) -> Result<Vec<Override>, u8> {
    set.iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            eprintln!("error: --set {e}");
            EXIT_INVALID
        })
}

/// Loads a scenario (or the built-in one) with overrides; on problems,
/// prints them and returns the exit code.
pub(crate) fn load(file: Option<&Path>, set: &[String]) -> Result<(Scenario, String, String), u8> {
    let ovs = overrides(set)?;
    let (result, path) = match file {
        Some(f) => (scenario::load_with(f, &ovs), f.display().to_string()),
        None => (
            scenario::parse_with(REFERENCE_TOML, REFERENCE_PATH, None, &ovs)
                .map(|s| (s, REFERENCE_TOML.to_string()))
                .map_err(LoadError::from),
            REFERENCE_PATH.to_string(),
        ),
    };
    match result {
        Ok((s, src)) => Ok((s, src, path)),
        Err(LoadError::Invalid(e)) => {
            eprint!("{}", e.render(color()));
            Err(EXIT_INVALID)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(EXIT_INVALID)
        }
    }
}

fn check(file: &Path, set: &[String]) -> u8 {
    match load(Some(file), set) {
        Ok((s, _, path)) => {
            let loads = analysis::offered_load(&s);
            outln!(
                "{path}: ok - {} tier{}, {} class{}, {} replications × {} observed",
                s.tiers.len(),
                if s.tiers.len() == 1 { "" } else { "s" },
                s.classes.len(),
                if s.classes.len() == 1 { "" } else { "es" },
                s.simulation.replications,
                stacksim::units::format_duration(s.simulation.duration_ns)
            );
            for l in loads
                .iter()
                .filter(|l| l.servers > 0 && l.utilization >= 1.0)
            {
                outln!(
                    "note: {} has offered utilization {:.2}: {}",
                    l.label,
                    l.utilization,
                    if l.bounded {
                        "it will drop"
                    } else {
                        "it will be unstable"
                    }
                );
            }
            EXIT_OK
        }
        Err(code) => code,
    }
}

fn init(path: &Path, force: bool) -> u8 {
    if path.exists() && !force {
        eprintln!(
            "error: {} exists; use --force to overwrite it",
            path.display()
        );
        return EXIT_INVALID;
    }
    match std::fs::write(path, REFERENCE_TOML) {
        Ok(()) => {
            outln!(
                "wrote {}; run it with: stacksim run {}",
                path.display(),
                path.display()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            EXIT_FAILURE
        }
    }
}

/// Applies the run-length flags to a scenario.
pub(crate) fn apply_sim_flags(s: &mut Scenario, a: &SimFlags) -> Result<(), String> {
    let sim = &mut s.simulation;
    if let Some(seed) = a.seed {
        sim.seed = seed;
    }
    if let Some(r) = a.replications {
        sim.replications = r;
    }
    let dur = |flag: &str, v: &str| -> Result<u64, String> {
        parse_duration(v)
            .map(|x| x.round() as u64)
            .map_err(|e| format!("--{flag} {v}: {e}"))
    };
    if let Some(d) = &a.duration {
        let old = sim.duration_ns;
        sim.duration_ns = dur("duration", d)?;
        if sim.duration_ns == 0 {
            return Err("--duration must be longer than zero".into());
        }
        if sim.drain_ns == old {
            sim.drain_ns = sim.duration_ns;
        }
    }
    if let Some(w) = &a.warmup {
        if w == "auto" {
            sim.auto_warmup = true;
            sim.warmup_ns = 0;
        } else {
            sim.warmup_ns = dur("warmup", w)?;
            sim.auto_warmup = false;
        }
    }
    Ok(())
}

fn run(a: &RunArgs) -> u8 {
    let (mut scenario, source, path) = match load(a.file.as_deref(), &a.set) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = apply_sim_flags(&mut scenario, &a.sim) {
        eprintln!("error: {e}");
        return EXIT_INVALID;
    }
    let layout = OutputLayout::new(a.out.as_deref(), &scenario.name);
    if let Err(e) = layout.prepare() {
        eprintln!("error: {e}");
        return EXIT_FAILURE;
    }
    if scenario.simulation.auto_warmup {
        match stacksim::sweep::choose_warmup(&scenario) {
            Ok(c) => {
                scenario.simulation.warmup_ns = c.warmup_ns;
                if !a.quiet {
                    eprintln!(
                        "warm-up: auto chose {} (MSER-5 on per-interval mean latency of a pilot run, the longest of {} replications)",
                        stacksim::units::format_duration(c.warmup_ns),
                        c.per_replication_ns.len()
                    );
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_INVALID;
            }
        }
    }
    let series_note = scenario.simulation.cap_series().map(|w| {
        format!(
            "time series: one interval every {} (at most {} intervals per replication)",
            stacksim::units::format_duration(w),
            stacksim::scenario::MAX_SERIES_INTERVALS
        )
    });
    let loads = analysis::offered_load(&scenario);
    if !a.quiet {
        for l in loads
            .iter()
            .filter(|l| l.servers > 0 && !l.bounded && l.utilization >= 1.0)
        {
            eprintln!(
                "warning: {} offered utilization {:.2} >= 1 with an unbounded queue: it has no steady state",
                l.label, l.utilization
            );
        }
    }
    let model =
        Model::build(&scenario).with_access_log(if a.access_log.is_some() { 1_000_000 } else { 0 });
    let reps = scenario.simulation.replications;
    let bar = progress(u64::from(reps), "replications", a.quiet);
    let started = Instant::now();
    let mut observations = stacksim::sweep::run_replications(&model, reps, &|| bar.inc(1));
    bar.finish_and_clear();
    let mut notes = Vec::new();
    if let Some(target) = a.precision {
        // Stop at precision: double the replications until the key figures'
        // relative half-widths meet the target, or the cap is reached.
        loop {
            let s = stats::summarize(&observations);
            let worst = [
                s.overall.latency_mean_ms,
                s.overall.latency_p99_ms,
                s.overall.throughput_rps,
            ]
            .iter()
            .map(|e| e.relative_half_width().unwrap_or(f64::INFINITY))
            .fold(0.0, f64::max);
            let n = observations.len() as u32;
            if worst <= target {
                notes.push(format!("precision: converged after {n} replications (every 95% half-width of mean and p99 latency and throughput within {:.1}%; the widest is {:.2}%)", target * 100.0, worst * 100.0));
                break;
            }
            if n >= a.max_replications {
                notes.push(format!("precision: NOT converged: after {n} replications (the cap) the widest half-width is {:.2}%, above the {:.1}% target", worst * 100.0, target * 100.0));
                break;
            }
            let next = (n * 2).clamp(n + 1, a.max_replications);
            observations.extend(stacksim::sweep::run_more_replications(
                &model,
                n,
                next,
                &|| {},
            ));
        }
        scenario.simulation.replications = observations.len() as u32;
    }
    if scenario.simulation.auto_warmup {
        notes.push(format!(
            "warm-up: chosen automatically by MSER-5: {}",
            stacksim::units::format_duration(scenario.simulation.warmup_ns)
        ));
    }
    let wall = started.elapsed();
    let summary = stats::summarize(&observations);
    let (verdicts, bottleneck) = analysis::verdicts(&scenario, &loads, &summary);
    let mut provenance = provenance(&path, &source);
    provenance.notes = notes;
    if let Some(w) = series_note {
        provenance.notes.push(w);
    }
    let rr = RunReport {
        scenario: &scenario,
        loads: &loads,
        summary: &summary,
        verdicts: &verdicts,
        bottleneck: bottleneck.as_ref(),
        provenance: &provenance,
    };
    let writes = [
        (
            layout.summary_json(),
            report::write_summary_json as fn(&RunReport<'_>, &mut dyn Write) -> std::io::Result<()>,
        ),
        (layout.summary_csv(), report::write_summary_csv),
        (layout.timeseries_csv(), report::write_timeseries_csv),
        (layout.faults_csv(), report::write_faults_csv),
    ];
    for (file, writer) in writes {
        if let Err(e) = layout.write_atomic(&file, |w| writer(&rr, w)) {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    }
    if let Some(path) = &a.access_log {
        let records = observations.first().map_or(&[][..], |r| &r.access_log[..]);
        if let Err(e) =
            layout.write_atomic(path, |w| report::write_access_log(&scenario, records, w))
        {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    }
    let mut chart_secs = None;
    if !a.no_charts {
        let started = Instant::now();
        let charts = match report::charts::render_all(&rr) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
        };
        for c in &charts {
            let png = layout.write_atomic(&layout.chart_png(c.name), |w| w.write_all(&c.png));
            let svg =
                layout.write_atomic(&layout.chart_svg(c.name), |w| w.write_all(c.svg.as_bytes()));
            if let Err(e) = png.and(svg) {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
        }
        let topology = report::topology_svg(&rr);
        let written = layout
            .write_atomic(&layout.topology_svg(), |w| w.write_all(topology.as_bytes()))
            .and_then(|()| {
                layout.write_atomic(&layout.report_html(), |w| {
                    report::write_report_html(&rr, &charts, w)
                })
            })
            .and_then(|()| {
                layout.write_atomic(&layout.report_md(), |w| {
                    report::write_report_md(&rr, &charts, w)
                })
            });
        if let Err(e) = written {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
        chart_secs = Some(started.elapsed().as_secs_f64());
    }
    if a.json {
        let mut out = std::io::stdout().lock();
        if report::write_summary_json(&rr, &mut out).is_err() {
            return EXIT_FAILURE;
        }
    } else if !a.quiet {
        out!("{}", report::render_table(&rr));
        let requests = summary.conservation.arrived;
        let charts = chart_secs.map_or(String::new(), |s| format!("; charts and reports {s:.2}s"));
        eprintln!(
            "\nwrote {} ({} requests, {} events simulated in {:.2}s wall{charts})",
            layout.dir().display(),
            requests,
            summary.events,
            wall.as_secs_f64()
        );
    }
    EXIT_OK
}
