//! Command-line interface: arguments, progress, exit codes. The only code
//! that knows about the terminal.

use std::io::IsTerminal;
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

mod calibrate;
mod capacity;
mod compare;
mod perf;
mod review;
mod sweep;
mod validate;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use stacksim::analysis;
use stacksim::plan::{Plan, PlanInit, Precision, RunFlags, ScenarioInput};
use stacksim::report::{self, FileTarget, OutFolder, OutputLayout, Overwrite, RunFiles};
use stacksim::scenario::{Override, ScenarioError};

/// Exit code for success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code for a failure while running (I/O and the like).
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code for invalid input or usage.
pub(crate) const EXIT_INVALID: u8 = 2;
/// `validate --fail-outside-tolerance`: the validation ran, and a metric
/// is outside its tolerance (the model, not the tool, failed).
pub(crate) const EXIT_OUTSIDE_TOLERANCE: u8 = 3;

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
    /// Build a scenario from a real stack's logs (HAProxy, Nginx, MySQL slow
    /// log) and CPU counters, with a calibration report.
    Calibrate(calibrate::CalibrateArgs),
    /// Simulate each window of held-out logs at its rate and mix and compare:
    /// throughput, latency percentiles, CPU, and the knee.
    Validate(validate::ValidateArgs),
    /// Print a shell completion script: `stacksim completions bash >
    /// /etc/bash_completion.d/stacksim` (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `stacksim man | man -l -`; with --out
    /// DIR, write stacksim.1 and a page per command (stacksim-run.1, ...).
    Man {
        /// Write every page into DIR (e.g. /usr/local/share/man/man1).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write a starting scenario: the reference design, or another shape
    /// with --template.
    Init {
        /// Where to write it.
        #[arg(default_value = "secured-web-stack.toml")]
        path: PathBuf,
        /// The starting shape: reference (the secured three-server stack),
        /// improved, one-box, closed-users, page-queries or
        /// primary-failover.
        #[arg(long, default_value = "reference", value_parser = template_names())]
        template: String,
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
    /// Write the logs real servers would have written for replication 1
    /// (at most a million requests) into DIR: haproxy.log (option httplog),
    /// one Nginx log per web instance (combined plus $request_time
    /// $upstream_response_time) and slow.log (MariaDB, long_query_time = 0),
    /// as `stacksim calibrate` reads them.
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
    /// Write the run's time series as OpenMetrics text into FILE (latency
    /// as `http_server_request_duration_seconds`, rates, errors by cause,
    /// utilization and queues per tier), for `promtool tsdb
    /// create-blocks-from-openmetrics`.
    #[arg(long, value_name = "FILE")]
    openmetrics: Option<PathBuf>,
    /// The time the run's simulated time zero stands for in --openmetrics:
    /// Unix seconds, or `now` (the default).
    #[arg(long, value_name = "UNIX_SECONDS", default_value = "now", value_parser = openmetrics_start)]
    openmetrics_start: OpenMetricsStart,
    /// Replace an existing --access-log or --openmetrics file, or a --logs
    /// folder that holds other logs (one stacksim wrote is replaced without
    /// it).
    #[arg(long)]
    force: bool,
}

/// `--openmetrics-start`: a fixed Unix time, or the time of the run.
#[derive(Clone, Copy, Debug)]
enum OpenMetricsStart {
    Now,
    At(f64),
}

fn openmetrics_start(s: &str) -> Result<OpenMetricsStart, String> {
    if s == "now" {
        return Ok(OpenMetricsStart::Now);
    }
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(OpenMetricsStart::At(t)),
        _ => Err(format!(
            "`{s}` is not a Unix time in seconds (e.g. 1796000000) or `now`"
        )),
    }
}

/// Run-length flags shared by every command that simulates.
#[derive(Args, Debug, Clone, Default)]
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
    /// Threads for the replications and sweep points (default: one per
    /// core, or RAYON_NUM_THREADS). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

/// Sizes the thread pool every parallel run uses, once, before the first.
pub(crate) fn use_threads(threads: Option<u16>) {
    if let Some(n) = threads {
        stacksim::sweep::use_threads(usize::from(n));
    }
}

/// Parses arguments and runs the command; returns the exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(&args),
        Command::Check { file, set } => check(&file, &set),
        Command::Init {
            path,
            template,
            force,
        } => init(&path, &template, force),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "stacksim", &mut script);
            print_bytes(&script)
        }
        Command::Man { out: None } => {
            use clap::CommandFactory;
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(_) => EXIT_FAILURE,
            }
        }
        Command::Man { out: Some(dir) } => {
            use clap::CommandFactory;
            match clap_mangen::generate_to(Cli::command(), &dir) {
                Ok(()) => {
                    outln!("wrote the man pages into {}", dir.display());
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!(
                        "error: cannot write the man pages into {}: {e}",
                        dir.display()
                    );
                    EXIT_FAILURE
                }
            }
        }
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Capacity(args) => capacity::capacity(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Perf(args) => perf::perf(&args),
        Command::Review(args) => review::review(&args),
        Command::Calibrate(args) => calibrate::calibrate(&args),
        Command::Validate(args) => validate::validate_cmd(&args),
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub(crate) fn progress(total: u64, what: &str, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let visible = !target.is_hidden();
    let bar = ProgressBar::with_draw_target(Some(total), target);
    let template = format!("{{bar:30}} {{pos}}/{{len}} {what}  {{elapsed}} (ETA {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    if visible {
        // Drawn now and redrawn while a long replication runs, so the
        // command shows it is working from its start.
        bar.tick();
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
    }
    bar
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

impl SimFlags {
    /// The flags for the run lifecycle.
    pub(crate) fn run_flags(&self) -> RunFlags {
        RunFlags {
            seed: self.seed,
            replications: self.replications,
            duration: self.duration.clone(),
            warmup: self.warmup.clone(),
        }
    }
}

/// Reads a scenario (or the built-in one) as typed; on a problem, prints it
/// and returns the exit code.
pub(crate) fn input(file: Option<&Path>) -> Result<ScenarioInput, u8> {
    ScenarioInput::file_or_reference(file).map_err(|e| match e {
        stacksim::scenario::LoadError::Invalid(e) => invalid(&e),
        e => {
            eprintln!("error: {e}");
            EXIT_INVALID
        }
    })
}

/// Prints every problem of a scenario; the exit code for them.
pub(crate) fn invalid(e: &ScenarioError) -> u8 {
    eprint!("{}", e.render(color()));
    EXIT_INVALID
}

/// Prints the scenario's settings warnings (after every flag) to stderr.
pub(crate) fn warn_settings(init: &PlanInit, quiet: bool) {
    if quiet {
        return;
    }
    let s = init.scenario();
    let loads = analysis::offered_load(s);
    for w in analysis::warnings::warnings(s)
        .into_iter()
        .chain(analysis::defaults::costly_defaults(s, &loads))
    {
        eprintln!("warning: {w}");
    }
}

/// Stage 1 of the lifecycle: the scenario validated with `--set`, then the
/// run flags, applied. On problems, prints them and returns the exit code.
pub(crate) fn plan_init(
    file: Option<&Path>,
    set: &[String],
    flags: &SimFlags,
) -> Result<PlanInit, u8> {
    use_threads(flags.threads);
    let input = input(file)?;
    let mut ovs = overrides(set)?;
    ovs.extend(flags.run_flags().overrides());
    PlanInit::new(&input, &ovs).map_err(|e| invalid(&e))
}

/// Stage 2: the warm-up chosen (with a progress bar over the pilot when it
/// is `auto`) and the model built.
pub(crate) fn plan_build(init: PlanInit, quiet: bool) -> Result<Plan, u8> {
    let auto = init.scenario().simulation.warmup == stacksim::scenario::Warmup::Auto;
    let bar = progress(
        if auto {
            u64::from(init.scenario().simulation.replications)
        } else {
            0
        },
        "warm-up pilot replications",
        quiet || !auto,
    );
    let plan = init.build(&|| bar.inc(1));
    bar.finish_and_clear();
    let plan = plan.map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INVALID
    })?;
    if let (Some(c), false) = (plan.warmup_choice(), quiet) {
        eprintln!(
            "warm-up: auto chose {} (MSER-5 on per-interval mean latency of a pilot run, the longest of {} replications)",
            stacksim::units::format_duration(c.warmup_ns),
            c.per_replication_ns.len()
        );
    }
    Ok(plan)
}

/// Prints an output problem; a refusal (an existing file, an input, a
/// locked folder) is exit code 2, a failed write 1.
pub(crate) fn output_error(e: &report::OutputError) -> u8 {
    eprintln!("error: {e}");
    if e.is_refusal() {
        EXIT_INVALID
    } else {
        EXIT_FAILURE
    }
}

/// The files a scenario was read from: its own and every data file, which
/// no output of the command may replace.
pub(crate) fn input_files(init: &PlanInit) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = init
        .scenario()
        .data_files
        .iter()
        .map(|f| PathBuf::from(&f.resolved))
        .collect();
    v.push(PathBuf::from(&init.input().path));
    v
}

/// What a constant `workload.rate` replaces in these arrivals, if anything.
pub(crate) fn arrivals_replaced(a: &stacksim::scenario::Arrivals) -> Option<&'static str> {
    match a {
        stacksim::scenario::Arrivals::Schedule(_) => Some("rate schedule"),
        stacksim::scenario::Arrivals::Replay(_) => Some("replayed arrivals"),
        _ => None,
    }
}

/// The command line, for provenance.
pub(crate) fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Offered utilization from which `check` notes a tier or machine as busy.
/// At 0.8 one server's mean wait is four times its service, and it more than
/// doubles by 0.9: past here small errors in the inputs move the answer a
/// lot.
const BUSY: f64 = 0.8;

fn check(file: &Path, set: &[String]) -> u8 {
    match plan_init(Some(file), set, &SimFlags::default()) {
        Ok(init) => {
            let (s, path) = (init.scenario(), &init.input().path);
            let loads = analysis::offered_load(s);
            outln!(
                "{path}: ok - {} tier{}, {} class{}, {} × {} observed",
                s.tiers.len(),
                if s.tiers.len() == 1 { "" } else { "s" },
                s.classes.len(),
                if s.classes.len() == 1 { "" } else { "es" },
                stacksim::units::count(s.simulation.replications, "replication"),
                stacksim::units::format_duration(s.simulation.duration_ns)
            );
            for n in analysis::setting_notes(s)
                .into_iter()
                .chain(analysis::warnings::warnings(s))
                .chain(analysis::defaults::costly_defaults(s, &loads))
            {
                outln!("note: {n}");
            }
            for l in loads.iter().filter(|l| l.servers > 0) {
                if l.utilization >= 1.0 {
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
                } else if l.utilization >= BUSY {
                    outln!(
                        "note: {} has offered utilization {:.2}: from {BUSY:.2} on, waits grow steeply (one server's mean wait more than doubles between 0.80 and 0.90) and a burst or a slower machine tips it over",
                        l.label,
                        l.utilization
                    );
                }
            }
            let lambda = s
                .arrivals
                .mean_rate(s.simulation.warmup_ns(), s.simulation.window_end_ns())
                .unwrap_or(f64::NAN);
            for m in analysis::machine_loads(s, &loads, lambda)
                .iter()
                .filter(|m| m.utilization >= BUSY)
            {
                outln!(
                    "note: {} has offered CPU utilization {:.2}{}",
                    m.label,
                    m.utilization,
                    if m.utilization >= 1.0 {
                        ": its cores cannot keep up"
                    } else {
                        ": from 0.80 on, waits for a core grow steeply"
                    }
                );
            }
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not an
/// error worth a panic.
fn print_bytes(bytes: &[u8]) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(_) => EXIT_FAILURE,
    }
}

/// `--template`'s names, for clap's "possible values".
fn template_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        stacksim::scenario::TEMPLATES
            .iter()
            .map(|(n, what, _)| clap::builder::PossibleValue::new(*n).help(*what)),
    )
}

fn init(path: &Path, template: &str, force: bool) -> u8 {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(text) = stacksim::scenario::template_named(template, &stem) else {
        eprintln!("error: no template named `{template}`");
        return EXIT_INVALID;
    };
    match report::write_new_file(path, text.as_bytes(), force) {
        Ok(()) => {
            outln!(
                "wrote {}; run it with: stacksim run {} (results in output/{})",
                path.display(),
                path.display(),
                stacksim::scenario::folder_name(&stem)
            );
            EXIT_OK
        }
        Err(e) => output_error(&e),
    }
}

fn run(a: &RunArgs) -> u8 {
    let init = match plan_init(a.file.as_deref(), &a.set, &a.sim) {
        Ok(x) => x,
        Err(code) => return code,
    };
    warn_settings(&init, a.quiet);
    // Every output is checked, and the folders locked, before any work.
    let inputs = input_files(&init);
    let layout = OutputLayout::new(a.out.as_deref(), &init.scenario().name);
    let access_log = match a.access_log.as_deref().map(|p| {
        let rule = Overwrite {
            force: a.force,
            inputs: &inputs,
            own: Some(report::is_simulated_access_log),
            ..Overwrite::default()
        };
        FileTarget::check(p, &rule)
    }) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return output_error(&e),
    };
    let openmetrics = match a.openmetrics.as_deref().map(|p| {
        let rule = Overwrite {
            force: a.force,
            inputs: &inputs,
            own: Some(report::openmetrics::is_simulated_openmetrics),
            ..Overwrite::default()
        };
        FileTarget::check(p, &rule)
    }) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return output_error(&e),
    };
    let openmetrics_start = match a.openmetrics_start {
        OpenMetricsStart::At(t) => t,
        OpenMetricsStart::Now => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs() as f64),
    };
    let folder = match OutFolder::open(layout.dir(), report::output::results_rule()) {
        Ok(f) => f,
        Err(e) => return output_error(&e),
    };
    let logs = match a
        .logs
        .as_deref()
        .map(|d| OutFolder::open(d, report::output::logs_rule(a.force)))
    {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => return output_error(&e),
    };
    if !a.quiet {
        for l in analysis::offered_load(init.scenario())
            .iter()
            .filter(|l| l.servers > 0 && !l.bounded && l.utilization >= 1.0)
        {
            eprintln!(
                "warning: {} offered utilization {:.2} >= 1 with an unbounded queue: it has no steady state",
                l.label, l.utilization
            );
        }
    }
    let started = Instant::now();
    let plan = match plan_build(init, a.quiet) {
        Ok(p) => p.with_access_log(if a.access_log.is_some() || a.logs.is_some() {
            1_000_000
        } else {
            0
        }),
        Err(code) => return code,
    };
    let bar = progress(
        u64::from(plan.scenario().simulation.replications),
        "replications",
        a.quiet,
    );
    let result = match a.precision {
        Some(target) => plan.replicate_to_precision(
            Precision {
                target,
                max_replications: a.max_replications,
            },
            &|| {
                if bar.position() >= bar.length().unwrap_or(0) {
                    bar.inc_length(bar.length().unwrap_or(1));
                }
                bar.inc(1);
            },
        ),
        None => plan.replicate(&|| bar.inc(1)),
    };
    bar.finish_and_clear();
    let wall = started.elapsed();
    let provenance = result.provenance(&command_line());
    let rr = result.report(&provenance);
    let records = result
        .observations
        .first()
        .map_or(&[][..], |r| &r.access_log[..]);
    let files = RunFiles {
        charts: !a.no_charts,
        access_log: access_log.as_ref().map(|t| (t, records)),
        logs: logs.map(|f| (f, records)),
        openmetrics: openmetrics.as_ref().map(|t| (t, openmetrics_start)),
    };
    let chart_secs = match report::write_run(folder, &rr, files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    if a.json {
        let mut out = std::io::stdout().lock();
        if report::write_summary_json(&rr, &mut out).is_err() {
            return EXIT_FAILURE;
        }
    } else if !a.quiet {
        out!("{}", report::render_table(&rr));
        let s = &result.summary;
        let charts = chart_secs.map_or(String::new(), |s| format!("; charts and reports {s:.2}s"));
        eprintln!(
            "\nwrote {} ({} requests, {} events simulated in {:.2}s wall{charts})",
            layout.dir().display(),
            stacksim::units::thousands(s.conservation.arrived),
            stacksim::units::thousands(s.events),
            wall.as_secs_f64()
        );
    }
    EXIT_OK
}
