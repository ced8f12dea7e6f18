//! `stacksim perf`: simulated requests per second and peak memory for any
//! scenario, on one core and on all of them.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::{EXIT_FAILURE, EXIT_OK, SimFlags, plan_build, plan_init, progress};

#[derive(Args, Debug)]
pub(crate) struct PerfArgs {
    /// Scenario file; the built-in reference scenario when omitted.
    file: Option<PathBuf>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    sim: SimFlags,
    /// Also time the replications on every core, for the parallel speed-up.
    #[arg(long)]
    parallel: bool,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long, short)]
    quiet: bool,
}

/// Peak resident memory of this process (Linux: VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub(crate) fn perf(a: &PerfArgs) -> u8 {
    let init = match plan_init(a.file.as_deref(), &a.set, &a.sim) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let path = init.input().path.clone();
    let plan = match plan_build(init, a.quiet) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Some(w) = plan.series_cap() {
        outln!(
            "time series: one interval every {} (capped)",
            stacksim::units::format_duration(w)
        );
    }
    if let Some(w) = plan.warmup_choice() {
        outln!(
            "warm-up: {} (auto, MSER-5)",
            stacksim::units::format_duration(w.warmup_ns)
        );
    }
    let s = plan.scenario();
    let n = s.simulation.replications;
    // One core: the replications one after another on this thread.
    let bar = progress(u64::from(n), "replications on one core", a.quiet);
    let started = Instant::now();
    let reps = plan.observe_serially(&|| bar.inc(1));
    let one = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let requests: u64 = reps.iter().map(|r| r.conservation.arrived).sum();
    let events: u64 = reps.iter().map(|r| r.events).sum();
    drop(reps);
    if one <= 0.0 {
        eprintln!("error: the run was too short to time");
        return EXIT_FAILURE;
    }
    use stacksim::units::{count, thousands};
    outln!(
        "scenario: {path} ({} of {} simulated)",
        count(n, "replication"),
        stacksim::units::format_duration(s.simulation.window_end_ns())
    );
    outln!(
        "one core: {} requests, {} events in {one:.2} s",
        thousands(requests),
        thousands(events)
    );
    outln!(
        "  {:.3} million simulated requests/s, {:.2} million events/s",
        requests as f64 / one / 1e6,
        events as f64 / one / 1e6
    );
    if a.parallel {
        let threads = stacksim::sweep::threads();
        let bar = progress(
            u64::from(n),
            &format!("replications on {threads} threads"),
            a.quiet,
        );
        let started = Instant::now();
        let reps = plan.observe(&|| bar.inc(1));
        let all = started.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let check: u64 = reps.iter().map(|r| r.conservation.arrived).sum();
        outln!(
            "{threads} threads: {} requests in {all:.2} s: speed-up {:.2}x",
            thousands(check),
            one / all
        );
    }
    match peak_rss_mib() {
        Some(m) => outln!("peak resident memory: {m:.1} MiB"),
        None => outln!("peak resident memory: not available on this system"),
    }
    EXIT_OK
}
