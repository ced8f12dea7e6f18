//! `stacksim capacity`: the highest arrival rate at which every SLO holds.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INVALID, EXIT_OK, SimFlags, apply_sim_flags, load};
use stacksim::analysis::slo::{Slo, SloVerdict};
use stacksim::analysis::{self, Stability};
use stacksim::scenario::{Arrivals, Scenario};
use stacksim::stats::{Estimate, RepObs, Summary};
use stacksim::sweep::{CapacityOptions, Outcome, Probe, find_capacity};

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

/// Judges one probe: every SLO with its interval, and stability.
pub(crate) fn judge(
    slos: &[Slo],
    s: &Scenario,
    summary: &Summary,
    reps: &[RepObs],
) -> (Outcome, String) {
    let loads = analysis::offered_load(s);
    let (verdicts, bottleneck) = analysis::verdicts(s, &loads, summary);
    let mut outcome = Outcome::Pass;
    let mut parts = Vec::new();
    for slo in slos {
        let pct = |q: f64| {
            Some(Estimate::from_values(
                reps.iter().map(|r| r.overall.latency.quantile_ns(q) / 1e6),
            ))
        };
        let Some(e) = slo.estimate(&summary.overall, pct) else {
            continue;
        };
        let v = slo.judge(&e);
        let scale = if slo.text.contains('%') { 100.0 } else { 1.0 };
        parts.push(format!(
            "{}: {:.3}{} ± {:.3}",
            slo.text,
            e.mean * scale,
            if scale > 1.0 { "%" } else { " ms" },
            e.half_width.unwrap_or(0.0) * scale
        ));
        outcome = match (outcome, v) {
            (_, SloVerdict::Broken) | (Outcome::Fail, _) => Outcome::Fail,
            (_, SloVerdict::Uncertain) | (Outcome::Uncertain, _) => Outcome::Uncertain,
            _ => Outcome::Pass,
        };
    }
    let unstable: Vec<&str> = verdicts
        .iter()
        .filter(|v| matches!(v.stability, Stability::Unstable { .. }))
        .map(|v| v.label.as_str())
        .collect();
    if !unstable.is_empty() {
        outcome = Outcome::Fail;
        parts.push(format!("unstable: {}", unstable.join(", ")));
    }
    if let Some(b) = bottleneck {
        parts.push(format!(
            "bottleneck {} at {:.0}%",
            b.label,
            b.utilization * 100.0
        ));
    }
    (outcome, parts.join("; "))
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
    let (mut base, _, _) = match load(Some(&a.file), &a.set) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = apply_sim_flags(&mut base, &a.sim) {
        eprintln!("error: {e}");
        return EXIT_INVALID;
    }
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
    let result = find_capacity(
        &base,
        CapacityOptions {
            precision: a.precision,
            max_probes: a.max_probes,
        },
        &|s, sum, reps| judge(&slos, s, sum, reps),
        &on_probe,
    );
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
        return EXIT_OK;
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
