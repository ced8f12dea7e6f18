//! `stacksim capacity`: the highest arrival rate at which every SLO holds.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INVALID, EXIT_OK, SimFlags, invalid, plan_init};
use stacksim::analysis::slo::Slo;
use stacksim::plan::capacity::{CapacityError, CapacityOptions, Probe, find_capacity};
use stacksim::scenario::Arrivals;

#[derive(Args, Debug)]
pub(crate) struct CapacityArgs {
    /// Scenario file (an open Poisson workload: `workload.rate`).
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
    /// Print only the result.
    #[arg(long, short)]
    quiet: bool,
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
    if !matches!(base.arrivals, Arrivals::Poisson { .. }) {
        eprintln!(
            "error: capacity searches `workload.rate`: give the scenario an open Poisson workload (rate = ...)"
        );
        return EXIT_INVALID;
    }
    if !(a.precision > 0.0 && a.precision < 1.0) {
        eprintln!("error: --precision must be between 0 and 1");
        return EXIT_INVALID;
    }
    let quiet = a.quiet || a.json;
    super::warn_settings(&init, quiet);
    let on_probe = |p: &Probe| {
        if !quiet {
            eprintln!(
                "  {:>10.1} requests/s  {:<9}  {}",
                p.rate_rps,
                format!("{:?}", p.outcome).to_lowercase(),
                p.detail
            );
        }
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
        &on_probe,
    ) {
        Ok(r) => r,
        Err(CapacityError::Invalid(e)) => return invalid(&e),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
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
        outln!(
            "  {:>10.1} requests/s  {:<9}  {}",
            p.rate_rps,
            format!("{:?}", p.outcome).to_lowercase(),
            p.detail
        );
    }
    let failing = result
        .failing_rps
        .and_then(|r| result.probes.iter().find(|p| p.rate_rps == r));
    if result.capacity_rps > 0.0 {
        outln!(
            "capacity: {:.1} requests/s: every SLO ({}) holds there with 95% confidence",
            result.capacity_rps,
            a.slo.join(", ")
        );
    } else {
        outln!(
            "capacity: no rate tried meets every SLO ({}) with 95% confidence",
            a.slo.join(", ")
        );
    }
    match failing {
        Some(p) => outln!(
            "interval: the capacity lies in [{:.1}, {:.1}] requests/s; at {:.1} the SLOs fail: {}",
            result.capacity_rps,
            p.rate_rps,
            p.rate_rps,
            p.detail
        ),
        None => outln!("no rate tried failed with confidence; the capacity may be higher"),
    }
    EXIT_OK
}
