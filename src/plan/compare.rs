//! Paired comparison of two designs run with common random numbers:
//! differences replication by replication, each with its interval.

use crate::stats::{Estimate, RepObs};

type Metric = (&'static str, &'static str, fn(&RepObs) -> f64);

const METRICS: [Metric; 5] = [
    ("throughput", "requests/s", |r| {
        r.overall.finished_in_window as f64 / (r.window_ns as f64 / 1e9)
    }),
    ("mean", "ms", |r| r.overall.latency.mean_ns() / 1e6),
    ("p50", "ms", |r| r.overall.latency.quantile_ns(0.5) / 1e6),
    ("p99", "ms", |r| r.overall.latency.quantile_ns(0.99) / 1e6),
    ("errors", "%", |r| {
        100.0 * r.overall.failed_total() as f64 / r.overall.arrived.max(1) as f64
    }),
];

/// One metric's paired comparison.
#[derive(Debug, serde::Serialize)]
pub struct Difference {
    /// The metric's name.
    pub metric: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// A's estimate.
    pub a: Estimate,
    /// B's estimate.
    pub b: Estimate,
    /// B - A, paired by replication.
    pub difference: Estimate,
    /// (B - A) / A.
    pub relative: Option<f64>,
    /// The half-width of `difference`, relative to A.
    pub relative_half_width: Option<f64>,
    /// Whether the paired interval excludes zero.
    pub significant: bool,
}

/// Paired differences of B against A, replication by replication.
pub fn differences(a: &[RepObs], b: &[RepObs]) -> Vec<Difference> {
    METRICS
        .iter()
        .map(|(metric, unit, f)| {
            let ea = Estimate::from_values(a.iter().map(f));
            let eb = Estimate::from_values(b.iter().map(f));
            let d = Estimate::from_values(a.iter().zip(b).map(|(x, y)| f(y) - f(x)));
            let rel = (ea.mean.abs() > 0.0).then(|| d.mean / ea.mean);
            let rel_hw = d.half_width.zip(rel).map(|(h, _)| h / ea.mean.abs());
            let significant = d.half_width.is_some_and(|h| d.mean.abs() > h) && d.mean != 0.0;
            Difference {
                metric,
                unit,
                a: ea,
                b: eb,
                difference: d,
                relative: rel,
                relative_half_width: rel_hw,
                significant,
            }
        })
        .collect()
}

/// "B: p99 38% lower (±4%), throughput unchanged".
pub fn verdict(diffs: &[Difference]) -> String {
    let parts: Vec<String> = diffs
        .iter()
        .map(|d| match (d.significant, d.relative) {
            (true, Some(r)) => format!(
                "{} {:.1}% {} (±{:.1}%)",
                d.metric,
                r.abs() * 100.0,
                if r < 0.0 { "lower" } else { "higher" },
                d.relative_half_width.unwrap_or(0.0) * 100.0
            ),
            (true, None) => format!("{} {:+.3} {}", d.metric, d.difference.mean, d.unit),
            _ => format!("{} unchanged", d.metric),
        })
        .collect();
    if diffs.iter().all(|d| !d.significant) {
        format!("B: no difference ({})", parts.join(", "))
    } else {
        format!("B: {}", parts.join(", "))
    }
}
