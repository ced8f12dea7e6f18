//! `stacksim capacity`: the highest arrival rate at which every SLO holds.

use std::path::PathBuf;

use std::sync::Mutex;

use clap::Args;
use indicatif::ProgressBar;

use super::{EXIT_INVALID, EXIT_OK, SimFlags, arrivals_replaced, invalid, plan_init, progress};
use stacksim::analysis::slo::Slo;
use stacksim::plan::capacity::{
    CapacityError, CapacityOptions, Probe, SearchObserver, find_capacity,
};
use stacksim::scenario::Arrivals;

#[derive(Args, Debug)]
pub(crate) struct CapacityArgs {
    /// Scenario file with an open workload: a rate, or a schedule or
    /// replayed arrivals (as calibrate writes), which each probe replaces.
    file: PathBuf,
    /// An objective, e.g. "p99<250ms", "mean<40ms", "errors<0.1%", "availability>99.9%" (repeatable).
    #[arg(long, required = true)]
    slo: Vec<String>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    sim: SimFlags,
    /// Stop when the bracket is this narrow, relative.
    #[arg(long, default_value_t = 0.01)]
    precision: f64,
    /// Most probes in all.
    #[arg(long, default_value_t = 40)]
    max_probes: usize,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the search as a report to DIR: capacity.json (every
    /// probe's figures with their intervals), capacity.md, capacity.html and
    /// the charts (latency and throughput against the rate, with the SLOs
    /// and the bracket).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print only the result.
    #[arg(long, short)]
    quiet: bool,
}

/// A rate as printed: one decimal, thousands grouped.
fn rps(v: f64) -> String {
    stacksim::units::grouped(&format!("{v:.1}"))
}

/// A probe as one line: rate, verdict, what the judge said.
fn probe_line(p: &Probe) -> String {
    format!(
        "  {:>10} requests/s  {:<9}  {}",
        rps(p.rate_rps),
        format!("{:?}", p.outcome).to_lowercase(),
        p.detail
    )
}

/// The search as it runs: a progress bar over each probe's replications
/// (hidden with --quiet or when stderr is not a terminal), then its line.
struct Live {
    quiet: bool,
    /// Standard output and error are both this terminal.
    one_screen: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl SearchObserver for Live {
    fn probe_started(&self, index: usize, rate_rps: f64, replications: u64) {
        let what = format!(
            "replications of probe {} at {} requests/s",
            index + 1,
            rps(rate_rps)
        );
        let bar = progress(replications, &what, self.quiet);
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }

    fn replication_done(&self) {
        if let Ok(b) = self.bar.lock()
            && let Some(b) = b.as_ref()
        {
            b.inc(1);
        }
    }

    fn probe_finished(&self, p: &Probe) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(b) = b.take()
        {
            b.finish_and_clear();
        }
        // On one terminal the table after the search lists every probe:
        // each is printed once. Elsewhere (a log), each line as it ends.
        if !self.quiet && !self.one_screen {
            eprintln!("{}", probe_line(p));
        }
    }
}

pub(crate) fn capacity(a: &CapacityArgs) -> u8 {
    let slos = match a
        .slo
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --slo {e}");
            return EXIT_INVALID;
        }
    };
    let init = match plan_init(Some(&a.file), &a.set, &a.sim) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let base = init.scenario();
    if matches!(base.arrivals, Arrivals::Closed { .. }) {
        eprintln!(
            "error: capacity searches `workload.rate`, and this workload is closed (users = ...): give it an open one (rate = ...)"
        );
        return EXIT_INVALID;
    }
    if let (Some(what), false) = (arrivals_replaced(&base.arrivals), a.quiet || a.json) {
        eprintln!(
            "note: each probe replaces the workload's {what} with constant (Poisson) arrivals at the probe's rate; the search starts from its peak, {:.1}/s",
            base.arrivals.peak_rate().unwrap_or(0.0)
        );
    }
    if !(a.precision > 0.0 && a.precision < 1.0) {
        eprintln!("error: --precision must be between 0 and 1");
        return EXIT_INVALID;
    }
    let quiet = a.quiet || a.json;
    super::warn_settings(&init, quiet);
    // The report folder is locked before the search.
    let folder = match &a.out {
        Some(dir) => match stacksim::report::output::OutFolder::open(
            dir,
            stacksim::report::output::results_rule(),
        ) {
            Ok(f) => Some(f),
            Err(e) => return super::output_error(&e),
        },
        None => None,
    };
    use std::io::IsTerminal;
    let live = Live {
        quiet,
        one_screen: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        bar: Mutex::new(None),
    };
    if !quiet {
        eprintln!(
            "searching the arrival rate of {} for: {}",
            base.name,
            a.slo.join(", ")
        );
    }
    let result = match find_capacity(
        &init,
        &slos,
        CapacityOptions {
            precision: a.precision,
            max_probes: a.max_probes,
        },
        &live,
    ) {
        Ok(r) => r,
        Err(CapacityError::Invalid(e)) => return invalid(&e),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    if let Some(folder) = folder {
        let source = std::fs::read_to_string(&a.file).unwrap_or_default();
        let prov = stacksim::report::Provenance::new(
            &super::command_line(),
            &a.file.display().to_string(),
            &source,
        );
        if let Err(e) = stacksim::report::capacity::write(folder, &base.name, &slos, &result, &prov)
        {
            eprintln!("error: {e}");
            return super::EXIT_FAILURE;
        }
    }
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
        return EXIT_OK;
    }
    // The probes by rate (they ran in search order, printed above as they
    // finished): one precision per column.
    let mut probes: Vec<&Probe> = result.probes.iter().collect();
    probes.sort_by(|x, y| x.rate_rps.total_cmp(&y.rate_rps));
    outln!("probes, by rate ({}):", probes.len());
    for p in probes {
        outln!("{}", probe_line(p));
    }
    for line in stacksim::report::capacity::answer_lines(&result, &a.slo.join(", ")) {
        outln!("{line}");
    }
    EXIT_OK
}
