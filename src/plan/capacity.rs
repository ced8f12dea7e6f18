//! The capacity search: the highest arrival rate at which every SLO holds
//! with 95% confidence, found by expanding then bisecting (not a grid).
//!
//! Each probe runs all replications at one rate. Its outcome is three-valued:
//! the SLOs hold with confidence (`Pass`), fail with confidence (`Fail`), or
//! the interval straddles a limit (`Uncertain`). The answer is the highest
//! passing rate found, and its stated interval reaches up to the lowest
//! rate found to fail: the exact capacity lies between them.

use super::{PlanInit, RunResult, WarmupError};
use crate::analysis::Stability;
use crate::analysis::slo::{Slo, SloMetric, SloVerdict};
pub use crate::report::capacity_result::{
    CapacityResult, Outcome, Probe, ProbeFigures, stated_capacity,
};
use crate::scenario::{Override, ScenarioError};
use crate::stats::Estimate;
use crate::units::{decimals, grouped};

/// A probe's figures from its run.
fn figures_of(run: &RunResult) -> ProbeFigures {
    let o = &run.summary.overall;
    ProbeFigures {
        throughput_rps: o.throughput_rps,
        latency_p50_ms: o.latency_p50_ms,
        latency_p90_ms: o.latency_p90_ms,
        latency_p99_ms: o.latency_p99_ms,
        error_rate: o.error_rate,
        unstable: run
            .verdicts
            .iter()
            .any(|v| matches!(v.stability, Stability::Unstable { .. })),
        bottleneck: run
            .bottleneck
            .as_ref()
            .map(|b| (b.label.clone(), b.utilization)),
    }
}

/// Search settings.
#[derive(Clone, Copy, Debug)]
pub struct CapacityOptions {
    /// Stop when the bracket is this narrow, relative (e.g. 0.01).
    pub precision: f64,
    /// Most probes in all.
    pub max_probes: usize,
}

/// Why the search stopped before an answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum CapacityError {
    /// A probe's rate made the scenario invalid.
    Invalid(ScenarioError),
    /// A probe's `warmup = "auto"` pilot could not choose.
    Warmup(WarmupError),
}

impl std::fmt::Display for CapacityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CapacityError::Invalid(e) => write!(f, "{e}"),
            CapacityError::Warmup(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CapacityError {}

/// Judges one probe: every SLO with its interval, and stability.
pub fn judge(slos: &[Slo], run: &RunResult) -> (Outcome, String) {
    let mut outcome = Outcome::Pass;
    let mut parts = Vec::new();
    let unstable = run
        .verdicts
        .iter()
        .any(|v| matches!(v.stability, Stability::Unstable { .. }));
    for slo in slos {
        let pct = |q: f64| {
            Some(Estimate::from_values(
                run.observations
                    .iter()
                    .map(|r| r.overall.latency.quantile_ns(q) / 1e6),
            ))
        };
        let Some(e) = slo.estimate(&run.summary.overall, pct) else {
            continue;
        };
        let v = slo.judge(&e);
        let latency = matches!(slo.metric, SloMetric::Percentile(_) | SloMetric::Mean);
        if unstable && latency && slo.below {
            // A latency with no steady state grows with the run: no figure.
            parts.push(format!(
                "{}: broken (no steady state; a latency would measure the run length)",
                slo.text
            ));
            outcome = Outcome::Fail;
            continue;
        }
        let scale = if slo.text.contains('%') { 100.0 } else { 1.0 };
        // One precision per SLO, from its limit, so a column of probes
        // lines up: p99<100ms gives 62.0 ± 0.2 ms at every rate.
        let d = decimals(slo.limit.abs() * scale) + 1;
        let fig = |v: f64| grouped(&format!("{v:.d$}"));
        parts.push(format!(
            "{}: {} ± {}{}",
            slo.text,
            fig(e.mean * scale),
            fig(e.half_width.unwrap_or(0.0) * scale),
            if scale > 1.0 { "%" } else { " ms" },
        ));
        outcome = match (outcome, v) {
            (_, SloVerdict::Broken) | (Outcome::Fail, _) => Outcome::Fail,
            (_, SloVerdict::Uncertain) | (Outcome::Uncertain, _) => Outcome::Uncertain,
            _ => Outcome::Pass,
        };
    }
    let unstable: Vec<&str> = run
        .verdicts
        .iter()
        .filter(|v| matches!(v.stability, Stability::Unstable { .. }))
        .map(|v| v.label.as_str())
        .collect();
    if !unstable.is_empty() {
        outcome = Outcome::Fail;
        parts.push(format!("unstable: {}", unstable.join(", ")));
    }
    // A probe that misses with a scripted fault inside its window: what the
    // requests saw during the fault against before it, so that the fault,
    // not the busiest resource, reads as the cause when it is.
    if outcome != Outcome::Pass {
        for (i, ph) in run.summary.fault_phases.iter().enumerate() {
            if ph[1].is_empty() {
                continue;
            }
            let figs: Vec<String> = ph
                .iter()
                .map(|p| {
                    if p.is_empty() || !p.availability.mean.is_finite() {
                        "-".to_string()
                    } else {
                        format!(
                            "{:.1}% {} ms",
                            p.availability.mean * 100.0,
                            grouped(&format!("{:.0}", p.seen_p99_ms.mean))
                        )
                    }
                })
                .collect();
            parts.push(format!(
                "fault {i} ({}), available and p99 seen before / during / after it: {}",
                run.scenario.fault_label(i),
                figs.join(" / ")
            ));
        }
    }
    if let Some(b) = &run.bottleneck {
        parts.push(format!(
            "bottleneck {} at {:.0}%",
            b.label,
            b.utilization * 100.0
        ));
    }
    (outcome, parts.join("; "))
}

/// What a search reports as it goes, for a progress display; every method
/// does nothing unless implemented (`&()` observes nothing).
pub trait SearchObserver: Sync {
    /// Probe `index` (from 0) at `rate_rps` starts: `replications` to run,
    /// counting a `warmup = "auto"` pilot's.
    fn probe_started(&self, _index: usize, _rate_rps: f64, _replications: u64) {}
    /// One replication of the running probe (pilot or measured) finished.
    fn replication_done(&self) {}
    /// A probe finished with its verdict.
    fn probe_finished(&self, _probe: &Probe) {}
}

impl SearchObserver for () {}

/// The probe's plan: the base with `workload.rate` set, through the whole
/// lifecycle (its own warm-up when `auto`).
fn probe_run(
    base: &PlanInit,
    rate: f64,
    index: usize,
    observer: &dyn SearchObserver,
) -> Result<RunResult, CapacityError> {
    let ov = Override::from_flag("capacity", "workload.rate", &format!("{rate:?}"));
    let init = base.with_overrides(&[ov]).map_err(CapacityError::Invalid)?;
    let sim = &init.scenario().simulation;
    let pilot = sim.warmup == crate::scenario::Warmup::Auto;
    let reps = u64::from(sim.replications) * if pilot { 2 } else { 1 };
    observer.probe_started(index, rate, reps);
    let done = || observer.replication_done();
    let plan = init.build(&done).map_err(CapacityError::Warmup)?;
    Ok(plan.replicate(&done))
}

/// The fewest requests per replication's window a probe may expect: the
/// search goes no lower.
const MIN_REQUESTS: f64 = 100.0;

/// Searches the Poisson rate (`workload.rate`) of `base` for the highest
/// rate at which every SLO holds with 95% confidence. A schedule or
/// replayed arrivals (a calibrated scenario's) are replaced by each probe's
/// constant rate; the search starts from their peak.
pub fn find_capacity(
    base: &PlanInit,
    slos: &[Slo],
    opts: CapacityOptions,
    observer: &dyn SearchObserver,
) -> Result<CapacityResult, CapacityError> {
    let mut probes: Vec<Probe> = Vec::new();
    let mut failed = None;
    let mut probe = |rate: f64, probes: &mut Vec<Probe>| -> Outcome {
        if failed.is_some() {
            return Outcome::Uncertain;
        }
        // A rate already probed (bisection can land on one) is not run twice.
        if let Some(p) = probes
            .iter()
            .find(|p| (p.rate_rps - rate).abs() <= rate * 1e-9)
        {
            return p.outcome;
        }
        let run = match probe_run(base, rate, probes.len(), observer) {
            Ok(r) => r,
            Err(e) => {
                failed = Some(e);
                return Outcome::Uncertain;
            }
        };
        let (outcome, detail) = judge(slos, &run);
        let p = Probe {
            rate_rps: rate,
            outcome,
            detail,
            settings: run.settings.clone(),
            figures: figures_of(&run),
        };
        observer.probe_finished(&p);
        probes.push(p);
        outcome
    };
    // From the workload's own rate: a constant one, or the peak of a
    // schedule or of replayed arrivals (which each probe replaces).
    let start = base
        .scenario()
        .arrivals
        .peak_rate()
        .filter(|r| *r > 0.0)
        .unwrap_or(100.0);
    let window_s = base.scenario().simulation.duration_ns as f64 / 1e9;
    // 1. Bracket the highest passing rate.
    let (mut pass, mut not_pass) = (None::<f64>, None::<f64>);
    let mut r = start;
    for _ in 0..40 {
        if probes.len() >= opts.max_probes {
            break;
        }
        if probe(r, &mut probes) == Outcome::Pass {
            pass = Some(r);
            if not_pass.is_some() {
                break;
            }
            r *= 2.0;
        } else {
            not_pass = Some(r);
            if pass.is_some() {
                break;
            }
            r /= 2.0;
            // Below a hundred requests a replication, a p99 is the maximum
            // and a 99% availability one request: nothing to judge.
            if r * window_s < MIN_REQUESTS {
                break;
            }
        }
    }
    // 2. Bisect between them on "pass".
    if let (Some(mut lo), Some(mut hi)) = (pass, not_pass) {
        while (hi - lo) / lo > opts.precision && probes.len() < opts.max_probes {
            let mid = (lo + hi) / 2.0;
            if probe(mid, &mut probes) == Outcome::Pass {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        pass = Some(lo);
    }
    // 3. The lowest failing rate above the capacity: bisect on "fail".
    let lowest_fail = |probes: &[Probe]| {
        probes
            .iter()
            .filter(|p| p.outcome == Outcome::Fail)
            .map(|p| p.rate_rps)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))))
    };
    if let Some(lo) = pass {
        let mut fail = lowest_fail(&probes);
        let mut r = probes
            .iter()
            .filter(|p| p.outcome != Outcome::Pass)
            .map(|p| p.rate_rps)
            .fold(lo * 2.0, f64::min);
        while fail.is_none() && probes.len() < opts.max_probes && r < lo * 1e6 {
            if probe(r, &mut probes) == Outcome::Fail {
                fail = Some(r);
            }
            r *= 2.0;
        }
        if let Some(mut hi) = fail {
            let mut low = probes
                .iter()
                .filter(|p| p.outcome != Outcome::Fail && p.rate_rps < hi)
                .map(|p| p.rate_rps)
                .fold(lo, f64::max);
            while (hi - low) / low > opts.precision && probes.len() < opts.max_probes {
                let mid = (low + hi) / 2.0;
                if probe(mid, &mut probes) == Outcome::Fail {
                    hi = mid;
                } else {
                    low = mid;
                }
            }
        }
    }
    let best = probes
        .iter()
        .filter(|p| p.outcome == Outcome::Pass)
        .map(|p| p.rate_rps)
        .fold(0.0, f64::max);
    if let Some(e) = failed {
        return Err(e);
    }
    let failing_rps = lowest_fail(&probes);
    let resolution = failing_rps.map_or(best * opts.precision, |f| f - best);
    Ok(CapacityResult {
        capacity_rps: best,
        stated_rps: stated_capacity(best, resolution),
        faults: faults_in_window(base.scenario()),
        failing_rps,
        probes,
    })
}

/// The scripted faults that touch the observed window, as labelled in the
/// run table: every probe runs with them.
fn faults_in_window(s: &crate::scenario::Scenario) -> Vec<String> {
    let (from, to) = (s.simulation.warmup_ns(), s.simulation.window_end_ns());
    s.faults
        .iter()
        .enumerate()
        .filter(|(_, f)| f.at_ns < to && f.at_ns.saturating_add(f.duration_ns) > from)
        .map(|(i, _)| format!("fault {i}: {}", s.fault_label(i)))
        .collect()
}
