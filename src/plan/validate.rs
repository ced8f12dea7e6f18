//! `stacksim validate`: a scenario held against held-out logs of the stack
//! it models. Each observed window is simulated at that window's rate and
//! class mix; simulated beside observed for throughput, end-to-end p50, p90
//! and p99 and the machine's cores, each simulated figure with its interval;
//! then mean absolute percentage error and bias per metric against a
//! tolerance, and the knee: `capacity`'s prediction beside the highest rate
//! the logs show sustained.

use super::capacity::{CapacityOptions, find_capacity};
use super::{PlanInit, ScenarioInput};
use crate::calibrate::build::Observed;
pub use crate::calibrate::validation::{
    Knee, MetricError, TIERS, Tolerance, ValidateOptions, Validation, WindowCompare,
};
use crate::scenario::Kind;

const OWN_NAMES: [&str; 4] = ["own lb", "own web", "own app", "own db"];
const CPU_NAMES: [&str; 4] = ["cpu lb", "cpu web", "cpu app", "cpu db"];

/// Per tier (by kind, in [`TIERS`] order): the simulated own time per
/// visit (wait for a worker and for a core, CPU, off-core; ms), weighted by
/// each pool's throughput, and the cores its services keep busy.
fn per_tier(run: &super::RunResult) -> ([f64; 4], [f64; 4]) {
    let kinds = [Kind::LoadBalancer, Kind::Web, Kind::App, Kind::Database];
    let s = &run.summary;
    let mut own = [f64::NAN; 4];
    let mut cores = [f64::NAN; 4];
    for (i, kind) in kinds.iter().enumerate() {
        let (mut w_sum, mut t_sum, mut c_sum) = (0.0, 0.0, 0.0);
        for (load, pool) in run.loads.iter().zip(&s.pools) {
            let tier = &run.scenario.tiers[load.tier];
            if tier.kind != *kind {
                continue;
            }
            let x = pool.throughput_rps.mean;
            let core_wait = tier.pools[load.pool]
                .host
                .and_then(|g| s.hosts.get(g))
                .map_or(0.0, |h| h.core_wait_ms.mean);
            let t = pool.wait_mean_ms.mean + core_wait + pool.cpu_ms.mean + pool.off_core_ms.mean;
            if x > 0.0 && t.is_finite() {
                w_sum += x;
                t_sum += x * t;
                c_sum += x * pool.cpu_ms.mean / 1e3;
            }
        }
        if w_sum > 0.0 {
            own[i] = t_sum / w_sum;
            cores[i] = c_sum;
        }
    }
    (own, cores)
}
use crate::scenario::{Override, ScenarioError, at_constant_rate};
use crate::stats::Estimate;

/// What can stop a validation.
#[derive(Debug)]
#[non_exhaustive]
pub enum ValidateError {
    /// The scenario, rewritten for a window, does not validate.
    Invalid(ScenarioError),
    /// The scenario text could not be rewritten.
    Rewrite(String),
    /// The capacity search failed.
    Capacity(String),
    /// The warm-up pilot failed.
    Warmup(String),
}

impl std::fmt::Display for ValidateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidateError::Invalid(e) => write!(f, "{}", e.render(false)),
            ValidateError::Rewrite(m) => write!(f, "the scenario could not be rewritten: {m}"),
            ValidateError::Capacity(m) => write!(f, "capacity: {m}"),
            ValidateError::Warmup(m) => write!(f, "warm-up: {m}"),
        }
    }
}

impl std::error::Error for ValidateError {}

/// The scenario at one observed rate and mix.
fn window_init(
    input: &ScenarioInput,
    observed_classes: &[String],
    counts: &[u64],
    rate: f64,
    o: &ValidateOptions,
) -> Result<PlanInit, ValidateError> {
    let total: u64 = counts.iter().sum();
    let shares: Vec<(String, f64)> = observed_classes
        .iter()
        .zip(counts)
        .map(|(n, &c)| (n.clone(), (c as f64 / total.max(1) as f64).max(1e-6)))
        .collect();
    let sum: f64 = shares.iter().map(|s| s.1).sum();
    let shares: Vec<(String, f64)> = shares.into_iter().map(|(n, s)| (n, s / sum)).collect();
    let text =
        at_constant_rate(&input.text, rate.max(1e-3), &shares).map_err(ValidateError::Rewrite)?;
    let rewritten = ScenarioInput {
        path: input.path.clone(),
        text,
        base_dir: input.base_dir.clone(),
    };
    let mut ovs = o.overrides.clone();
    if let Some(n) = o.clients {
        ovs.push(Override::from_flag(
            "--clients",
            "workload.connections",
            &n.to_string(),
        ));
    }
    ovs.extend([
        Override::from_flag("--duration", "simulation.duration", &o.duration),
        Override::from_flag("--warmup", "simulation.warmup", &o.warmup),
        Override::from_flag(
            "--replications",
            "simulation.replications",
            &o.replications.to_string(),
        ),
    ]);
    PlanInit::new(&rewritten, &ovs).map_err(ValidateError::Invalid)
}

fn metric(name: &'static str, pairs: &[(f64, f64)], tolerance: Option<f64>) -> MetricError {
    let rel: Vec<f64> = pairs
        .iter()
        .filter(|(o, s)| o.is_finite() && s.is_finite() && *o > 0.0)
        .map(|(o, s)| (s - o) / o)
        .collect();
    let n = rel.len();
    let mape = rel.iter().map(|r| r.abs()).sum::<f64>() / n.max(1) as f64;
    let bias = rel.iter().sum::<f64>() / n.max(1) as f64;
    MetricError {
        name,
        n,
        mape: if n == 0 { f64::NAN } else { mape },
        bias: if n == 0 { f64::NAN } else { bias },
        tolerance,
        pass: tolerance.is_none_or(|t| n > 0 && mape <= t),
    }
}

/// Simulates every observed window and compares.
pub fn validate(
    input: &ScenarioInput,
    observed: &Observed,
    o: &ValidateOptions,
    on_window: &(dyn Fn(usize) + Sync),
) -> Result<Validation, ValidateError> {
    let mut windows = Vec::new();
    let mut clients = None;
    for (i, w) in observed.windows.iter().enumerate() {
        let init = window_init(input, &observed.classes, &w.class_counts, w.rate_rps, o)?;
        let host_cores: Vec<f64> = init
            .scenario()
            .hosts
            .iter()
            .map(|h| f64::from(h.cores) * f64::from(h.instances))
            .collect();
        if let Some(c) = init.scenario().client.connections {
            clients = Some(c.limit);
        }
        let plan = init
            .build(&|| {})
            .map_err(|e| ValidateError::Warmup(e.to_string()))?;
        let run = plan.replicate(&|| {});
        let s = &run.summary;
        // Busy cores: each group's utilization times its cores, summed
        // (half-widths added: a conservative interval for several groups).
        let cores = (!host_cores.is_empty()).then(|| {
            s.hosts
                .iter()
                .zip(&host_cores)
                .map(|(h, c)| h.utilization.scaled(*c))
                .fold(
                    Estimate {
                        mean: 0.0,
                        half_width: Some(0.0),
                        n: s.replications,
                    },
                    |a, b| Estimate {
                        mean: a.mean + b.mean,
                        half_width: a.half_width.zip(b.half_width).map(|(x, y)| x + y),
                        n: a.n.min(b.n),
                    },
                )
        });
        let stable = !run
            .verdicts
            .iter()
            .any(|v| matches!(v.stability, crate::analysis::Stability::Unstable { .. }));
        let (own_ms, tier_cores) = per_tier(&run);
        windows.push(WindowCompare {
            own_ms,
            tier_cores,
            observed: w.clone(),
            throughput_rps: s.overall.throughput_rps,
            // With a client connection cap, from send: where the logs
            // start their clock (HAProxy's accept, Nginx's first byte).
            latency_ms: match &s.client {
                Some(c) => c.sent_latency_ms,
                None => [
                    s.overall.latency_p50_ms,
                    s.overall.latency_p90_ms,
                    s.overall.latency_p99_ms,
                ],
            },
            cores,
            stable,
        });
        on_window(i);
    }
    let t = o.tolerance;
    let pairs =
        |f: &dyn Fn(&WindowCompare) -> (f64, f64)| windows.iter().map(f).collect::<Vec<_>>();
    let mut metrics = vec![
        metric(
            "throughput",
            &pairs(&|w| (w.observed.rate_rps, w.throughput_rps.mean)),
            Some(t.throughput),
        ),
        metric(
            "p50",
            &pairs(&|w| (w.observed.e2e_ms[0], w.latency_ms[0].mean)),
            None,
        ),
        metric(
            "p90",
            &pairs(&|w| (w.observed.e2e_ms[1], w.latency_ms[1].mean)),
            None,
        ),
        metric(
            "p99",
            &pairs(&|w| (w.observed.e2e_ms[2], w.latency_ms[2].mean)),
            Some(t.p99),
        ),
    ];
    // Where the held-out logs hold pauses, p99 over the windows without
    // one as well: what the scenario misses besides them (no tolerance:
    // the verdict stands on every window).
    if let Some(p) = observed.pauses.as_ref().filter(|p| !p.episodes.is_empty()) {
        let calm: Vec<(f64, f64)> = windows
            .iter()
            .filter(|w| {
                !crate::calibrate::validation::holds_pause(
                    p,
                    w.observed.start_ns,
                    observed.window_s,
                )
            })
            .map(|w| (w.observed.e2e_ms[2], w.latency_ms[2].mean))
            .collect();
        metrics.push(metric("p99 without pauses", &calm, None));
    }
    if windows
        .iter()
        .any(|w| w.cores.is_some() && !w.observed.cores.is_empty())
    {
        metrics.push(metric(
            "cpu",
            &pairs(&|w| {
                (
                    w.observed.cores.iter().map(|c| c.1).sum(),
                    w.cores.as_ref().map_or(f64::NAN, |e| e.mean),
                )
            }),
            Some(t.cpu),
        ));
    }
    // Per tier, reported without a tolerance: the own times the logs'
    // nested timers give and each tier's CPU from the counters.
    for (i, tier) in TIERS.iter().enumerate() {
        metrics.push(metric(
            OWN_NAMES[i],
            &pairs(&|w| (w.observed.own_ms[i], w.own_ms[i])),
            None,
        ));
        if windows.iter().any(|w| !w.observed.cores.is_empty()) {
            metrics.push(metric(
                CPU_NAMES[i],
                &pairs(&|w| {
                    let obs: f64 = w
                        .observed
                        .cores
                        .iter()
                        .filter(|(c, _)| c.starts_with(tier))
                        .map(|c| c.1)
                        .sum();
                    (if obs > 0.0 { obs } else { f64::NAN }, w.tier_cores[i])
                }),
                None,
            ));
        }
    }
    metrics.retain(|m| m.n > 0);
    let knee = if o.knee {
        let total: Vec<u64> = (0..observed.classes.len())
            .map(|c| observed.windows.iter().map(|w| w.class_counts[c]).sum())
            .collect();
        let mean_rate = observed.windows.iter().map(|w| w.rate_rps).sum::<f64>()
            / observed.windows.len().max(1) as f64;
        let init = window_init(input, &observed.classes, &total, mean_rate, o)?;
        let predicted = find_capacity(
            &init,
            &[],
            CapacityOptions {
                precision: 0.02,
                max_probes: 14,
            },
            &(),
        )
        .map_err(|e| ValidateError::Capacity(e.to_string()))?;
        let top = observed
            .windows
            .iter()
            .max_by(|a, b| a.rate_rps.total_cmp(&b.rate_rps));
        // The latency the stack has without queueing: the simulated median
        // at the quietest window (the held-out windows may all be busy).
        let quiet_p50 = windows
            .iter()
            .min_by(|a, b| a.observed.rate_rps.total_cmp(&b.observed.rate_rps))
            .map_or(f64::NAN, |w| w.latency_ms[0].mean);
        Some(Knee {
            predicted_rps: predicted.capacity_rps,
            observed_max_rps: top.map_or(f64::NAN, |w| w.rate_rps),
            saturated: top.is_some_and(|w| w.e2e_ms[0] > 10.0 * quiet_p50),
        })
    } else {
        None
    };
    let pass = metrics.iter().all(|m| m.pass);
    Ok(Validation {
        windows,
        metrics,
        knee,
        pass,
        options: o.clone(),
        window_s: observed.window_s,
        clients,
        pauses: observed.pauses.clone(),
    })
}
