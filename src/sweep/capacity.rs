//! The capacity search: the highest arrival rate at which every SLO holds
//! with 95% confidence, found by expanding then bisecting (not a grid).
//!
//! Each probe runs all replications at one rate. Its outcome is three-valued:
//! the SLOs hold with confidence (`Pass`), fail with confidence (`Fail`), or
//! the interval straddles a limit (`Uncertain`). The answer is the highest
//! passing rate found, and its stated interval reaches up to the lowest
//! rate found to fail: the exact capacity lies between them.

use crate::scenario::{Arrivals, Scenario};
use crate::stats::{RepObs, Summary, summarize};

use super::run_replications;
use crate::model::Model;

/// A probe's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every SLO holds with 95% confidence.
    Pass,
    /// Some SLO's interval straddles its limit.
    Uncertain,
    /// Some SLO fails with 95% confidence (or the stack is unstable).
    Fail,
}

/// One probe of the search.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Probe {
    /// Arrival rate (requests/s).
    pub rate_rps: f64,
    /// Verdict.
    pub outcome: Outcome,
    /// What the judge said (the failing SLO, the bottleneck).
    pub detail: String,
}

/// Search settings.
#[derive(Clone, Copy, Debug)]
pub struct CapacityOptions {
    /// Stop when the bracket is this narrow, relative (e.g. 0.01).
    pub precision: f64,
    /// Most probes in all.
    pub max_probes: usize,
}

/// The search's answer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CapacityResult {
    /// Highest rate found where every SLO holds with 95% confidence (0 if none).
    pub capacity_rps: f64,
    /// Lowest rate found where some SLO fails with confidence (None if none).
    pub failing_rps: Option<f64>,
    /// Every probe, in the order run.
    pub probes: Vec<Probe>,
}

fn with_rate(base: &Scenario, rate: f64) -> Scenario {
    let mut s = base.clone();
    s.arrivals = Arrivals::Poisson { rate_rps: rate };
    s
}

/// Turns a probe's scenario, summary and replications into a verdict and a detail line.
pub type Judge<'a> = dyn Fn(&Scenario, &Summary, &[RepObs]) -> (Outcome, String) + Sync + 'a;

/// Searches the Poisson rate of `base`. `judge` turns a probe's scenario and
/// summary into an outcome and a detail line.
pub fn find_capacity(
    base: &Scenario,
    opts: CapacityOptions,
    judge: &Judge<'_>,
    on_probe: &(dyn Fn(&Probe) + Sync),
) -> CapacityResult {
    let mut probes: Vec<Probe> = Vec::new();
    let probe = |rate: f64, probes: &mut Vec<Probe>| -> Outcome {
        let s = with_rate(base, rate);
        let reps = run_replications(&Model::build(&s), s.simulation.replications, &|| {});
        let summary = summarize(&reps);
        let (outcome, detail) = judge(&s, &summary, &reps);
        let p = Probe {
            rate_rps: rate,
            outcome,
            detail,
        };
        on_probe(&p);
        probes.push(p);
        outcome
    };
    let start = base
        .arrivals
        .mean_rate(0, 1)
        .filter(|r| *r > 0.0)
        .unwrap_or(100.0);
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
            if r < 1e-3 {
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
    CapacityResult {
        capacity_rps: best,
        failing_rps: lowest_fail(&probes),
        probes,
    }
}
