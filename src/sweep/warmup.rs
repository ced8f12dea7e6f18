//! `warmup = "auto"`: a pilot run with no warm-up, MSER-5 on each
//! replication's per-interval mean latency, and the longest truncation.

use crate::model::Model;
use crate::scenario::Scenario;
use crate::stats::mser::mser5;

use super::run_replications;

/// The warm-up the pilot chose.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WarmupChoice {
    /// The longest truncation over the replications (ns).
    pub warmup_ns: u64,
    /// Each replication's truncation (ns).
    pub per_replication_ns: Vec<u64>,
}

/// Runs the pilot and chooses; an error when some replication's series is
/// too short (or never settles) for MSER-5 to choose.
pub fn choose_warmup(s: &Scenario) -> Result<WarmupChoice, String> {
    let mut pilot = s.clone();
    pilot.simulation.warmup_ns = 0;
    let reps = run_replications(&Model::build(&pilot), pilot.simulation.replications, &|| {});
    let dt = pilot.simulation.sample_every_ns;
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
        let d = mser5(&series).ok_or_else(|| {
            format!(
                "warmup = \"auto\": replication {} is too short for MSER-5 to choose a warm-up (its latency has not settled within the first half of {} intervals); run longer or give warmup a duration",
                i + 1,
                series.len()
            )
        })?;
        per.push((r.series.len() - series.len() + d) as u64 * dt);
    }
    Ok(WarmupChoice {
        warmup_ns: per.iter().copied().max().unwrap_or(0),
        per_replication_ns: per,
    })
}
