//! `stacksim validate`: how well a scenario predicts held-out logs.

use std::path::PathBuf;

use clap::Args;

use super::calibrate::LogArgs;
use super::{EXIT_FAILURE, EXIT_INVALID, EXIT_OK, progress};
use stacksim::calibrate::{self, emit::iso};
use stacksim::plan::validate::{Tolerance, ValidateOptions, Validation, validate};
use stacksim::report;

/// `stacksim validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The scenario to validate (e.g. one `stacksim calibrate` wrote).
    file: PathBuf,
    #[command(flatten)]
    logs: LogArgs,
    /// Replications per window.
    #[arg(long, default_value_t = 5)]
    replications: u32,
    /// Simulated time per window's run (observed, after the warm-up).
    #[arg(
        long = "duration",
        alias = "sim-duration",
        default_value = "30s",
        value_name = "DURATION"
    )]
    sim_duration: String,
    /// Warm-up per window's run.
    #[arg(
        long = "warmup",
        alias = "sim-warmup",
        default_value = "5s",
        value_name = "DURATION"
    )]
    sim_warmup: String,
    /// Override a scenario key in every window's run, e.g. --set
    /// tier.app.workers=8 (repeatable; the workload's rate and mix come from
    /// each window's logs).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Master seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Threads for the replications (default: one per core). Results do
    /// not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Tolerances on the mean absolute percentage error, e.g.
    /// p99=0.25,throughput=0.1,cpu=0.1 (those are the defaults).
    #[arg(long, value_name = "LIST")]
    tolerance: Option<String>,
    /// Skip the capacity search (the knee).
    #[arg(long)]
    no_knee: bool,
    /// The load generator's (or upstream pool's) connections: each window's
    /// run holds at most N requests outstanding, arrivals beyond wait, and
    /// latency is compared from send, as the logs measure it. What bounds
    /// a real stack's latency past its knee (HAProxy logs it as `%fc`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    clients: Option<u32>,
    /// Exit with code 3 when a metric is outside its tolerance (for CI);
    /// without it the exit code is 0 whenever the validation ran.
    #[arg(long)]
    fail_outside_tolerance: bool,
    /// Report folder (default: output/<scenario>-validation).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn tolerance(text: Option<&str>) -> Result<Tolerance, String> {
    let mut t = Tolerance::default();
    let Some(text) = text else { return Ok(t) };
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or(format!("`{part}`: expected METRIC=FRACTION, e.g. p99=0.25"))?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| *v > 0.0 && v.is_finite())
            .ok_or(format!("`{part}`: the tolerance must be a number above 0"))?;
        match k.trim() {
            "p99" => t.p99 = v,
            "throughput" => t.throughput = v,
            "cpu" => t.cpu = v,
            other => return Err(format!("unknown metric `{other}` (p99, throughput, cpu)")),
        }
    }
    Ok(t)
}

/// Runs `stacksim validate`.
pub fn validate_cmd(a: &ValidateArgs) -> u8 {
    match inner(a) {
        Ok(()) => EXIT_OK,
        Err(c) => c,
    }
}

fn inner(a: &ValidateArgs) -> Result<(), u8> {
    let input = super::input(Some(&a.file))?;
    let tolerance = tolerance(a.tolerance.as_deref()).map_err(|e| {
        eprintln!("error: --tolerance {e}");
        EXIT_INVALID
    })?;
    if a.replications < 2 {
        eprintln!("error: --replications must be at least 2 (intervals need two)");
        return Err(EXIT_INVALID);
    }
    let logs = a.logs.inputs()?;
    let mut overrides = super::overrides(&a.set)?;
    if let Some(o) = overrides.iter().find(|o| o.key.starts_with("workload.")) {
        eprintln!(
            "error: --set {}: validate takes each window's rate and mix from the logs; set the workload in the scenario or with `stacksim run`",
            o.text()
        );
        return Err(EXIT_INVALID);
    }
    if let Some(seed) = a.seed {
        overrides.push(stacksim::scenario::Override::from_flag(
            "--seed",
            "simulation.seed",
            &seed.to_string(),
        ));
    }
    super::use_threads(a.threads);
    // The scenario must be valid as it stands, with the overrides, before
    // any log is read.
    let flags = super::SimFlags {
        seed: a.seed,
        ..super::SimFlags::default()
    };
    let init = super::plan_init(Some(&a.file), &a.set, &flags)?;
    let name = init.scenario().name.clone();
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{name}-validation")));
    // The report folder is locked before any log is read.
    let folder = report::OutFolder::open(&dir, report::output::results_rule())
        .map_err(|e| super::output_error(&e))?;
    let observed = if a.logs.otlp.is_empty() && a.logs.jaeger.is_empty() {
        calibrate::build::observe_windows(&logs, &a.logs.cpu, &a.logs.host_map()?)
    } else {
        // From traces (and the logs joined to them by trace id): the root
        // spans give each window's rate, mix and latency.
        calibrate::from_traces::observe_windows(&calibrate::build::CalibrateInput {
            name: name.clone(),
            logs,
            cpu: a.logs.cpu.clone(),
            hosts: a.logs.host_map()?,
            components: Vec::new(),
            workers: Vec::new(),
            cores: None,
            host_cores: Vec::new(),
            haproxy_config: None,
            nginx_config: None,
            app_config: None,
            db_config: None,
            otlp: a.logs.otlp.clone(),
            jaeger: a.logs.jaeger.clone(),
            replay_as: None,
        })
    }
    .map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INVALID
    })?;
    let opts = ValidateOptions {
        duration: a.sim_duration.clone(),
        warmup: a.sim_warmup.clone(),
        replications: a.replications,
        tolerance,
        knee: !a.no_knee,
        clients: a.clients,
        overrides,
    };
    if let (Some(n), false) = (&observed.window_note, a.quiet) {
        eprintln!("window: {n}");
    }
    let bar = progress(observed.windows.len() as u64, "windows simulated", a.quiet);
    let v = validate(&input, &observed, &opts, &|_| bar.inc(1));
    bar.finish_and_clear();
    let v = v.map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INVALID
    })?;
    let mut prov = stacksim::report::Provenance::new(
        &super::command_line(),
        &a.file.display().to_string(),
        &std::fs::read_to_string(&a.file).unwrap_or_default(),
    );
    prov.inputs = a.logs.digests();
    report::validation::write(folder, &name, &v, &prov).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_FAILURE
    })?;
    if !a.quiet {
        print(&v);
        outln!("report: {}", dir.join("validation.html").display());
    }
    if a.fail_outside_tolerance && !v.pass {
        let outside: Vec<&str> = v
            .metrics
            .iter()
            .filter(|m| !m.pass)
            .map(|m| m.name)
            .collect();
        eprintln!(
            "validate: outside tolerance on {} (exit {}: --fail-outside-tolerance)",
            outside.join(", "),
            super::EXIT_OUTSIDE_TOLERANCE
        );
        return Err(super::EXIT_OUTSIDE_TOLERANCE);
    }
    Ok(())
}

fn est(e: &stacksim::stats::Estimate) -> String {
    match e.half_width {
        Some(h) => format!("{} ± {}", one(e.mean), one(h)),
        None => one(e.mean),
    }
}

/// One decimal, thousands grouped: `1,192.4`.
fn one(x: f64) -> String {
    stacksim::units::grouped(&format!("{x:.1}"))
}

fn print(v: &Validation) {
    outln!(
        "{:<20} {:>8} {:>14} {:>8} {:>16} {:>8} {:>16} {:>7} {:>14}",
        "window",
        "obs rps",
        "sim rps",
        "obs p50",
        "sim p50 ms",
        "obs p99",
        "sim p99 ms",
        "obs cpu",
        "sim cpu cores"
    );
    for w in &v.windows {
        let o = &w.observed;
        outln!(
            "{:<20} {:>8} {:>14} {:>8} {:>16} {:>8} {:>16} {:>7} {:>14}{}",
            iso(o.start_ns),
            one(o.rate_rps),
            est(&w.throughput_rps),
            one(o.e2e_ms[0]),
            est(&w.latency_ms[0]),
            one(o.e2e_ms[2]),
            est(&w.latency_ms[2]),
            if o.cores.is_empty() {
                "-".into()
            } else {
                format!("{:.2}", o.cores.iter().map(|c| c.1).sum::<f64>())
            },
            w.cores.as_ref().map_or("-".into(), |c| match c.half_width {
                Some(h) => format!("{:.2} ± {:.2}", c.mean, h),
                None => format!("{:.2}", c.mean),
            }),
            if w.stable { "" } else { "  unstable" }
        );
    }
    outln!();
    for m in &v.metrics {
        outln!(
            "{:<10} MAPE {:>6.1}%  bias {:>+6.1}%  over {} windows{}",
            m.name,
            m.mape * 100.0,
            m.bias * 100.0,
            m.n,
            match m.tolerance {
                Some(t) => format!(
                    "  tolerance {:.0}%: {}",
                    t * 100.0,
                    if m.pass { "within" } else { "OUTSIDE" }
                ),
                None if m.misplaced() => format!(
                    "  off by over {:.0}%: the time is placed in the wrong tier",
                    stacksim::calibrate::validation::OWN_TIME_FLAG * 100.0
                ),
                None => String::new(),
            }
        );
    }
    if let Some(n) = v.clients {
        outln!("{}", stacksim::report::validation::clients_line(n));
    }
    if let Some(p) = &v.pauses {
        outln!("pauses (held-out logs): {}", p.sentence());
    }
    if let Some(k) = &v.knee {
        outln!(
            "knee: predicted {} requests/s (capacity search); the logs show {} sustained{}",
            stacksim::units::whole(k.predicted_rps),
            stacksim::units::whole(k.observed_max_rps),
            if k.saturated {
                " at saturation (the measured knee)"
            } else {
                " without saturating (a lower bound on the real knee)"
            }
        );
    }
    outln!(
        "verdict: {}",
        if v.pass {
            "the scenario predicts the logs within tolerance"
        } else {
            "outside tolerance on at least one metric"
        }
    );
}
