//! `warmup = "auto"`: a pilot run with no warm-up, MSER-5 on each
//! replication's per-interval mean latency, and the longest truncation.

use crate::model::Model;
use crate::scenario::Scenario;
use crate::stats::mser::mser5;
use crate::sweep::run_replications;

/// The warm-up the pilot chose.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WarmupChoice {
    /// The longest truncation over the replications (ns).
    pub warmup_ns: u64,
    /// Each replication's truncation (ns).
    pub per_replication_ns: Vec<u64>,
}

/// Why the pilot could not choose a warm-up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WarmupError {
    /// The replication (0-based) whose series was too short.
    pub replication: u32,
    /// Intervals in its series.
    pub intervals: usize,
}

impl std::fmt::Display for WarmupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "warmup = \"auto\": replication {} is too short for MSER-5 to choose a warm-up (its latency has not settled within the first half of {} intervals); run longer or give warmup a duration",
            self.replication + 1,
            self.intervals
        )
    }
}

impl std::error::Error for WarmupError {}

/// Runs the pilot (the scenario as it is, deleting nothing: its warm-up is
/// still `Auto`) and chooses.
pub(super) fn choose(
    s: &Scenario,
    on_rep: &(dyn Fn() + Sync),
) -> Result<WarmupChoice, WarmupError> {
    debug_assert_eq!(s.simulation.warmup_ns(), 0);
    let reps = run_replications(&Model::build(s), 0, s.simulation.replications, on_rep);
    let dt = s.simulation.sample_every_ns;
    let mut per = Vec::with_capacity(reps.len());
    for (i, r) in reps.iter().enumerate() {
        // Intervals with no completion carry the previous interval's mean.
        let mut last = f64::NAN;
        let series: Vec<f64> = r
            .series
            .iter()
            .map(|x| {
                if x.mean_ns.is_finite() {
                    last = x.mean_ns;
                }
                last
            })
            .skip_while(|x| !x.is_finite())
            .collect();
        let d = mser5(&series).ok_or(WarmupError {
            replication: i as u32,
            intervals: series.len(),
        })?;
        per.push((r.series.len() - series.len() + d) as u64 * dt);
    }
    Ok(WarmupChoice {
        warmup_ns: per.iter().copied().max().unwrap_or(0),
        per_replication_ns: per,
    })
}
