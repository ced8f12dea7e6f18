//! The simulation settings a run used, stated beside its results by every
//! command (`run`, each sweep point, each capacity probe, both designs of a
//! comparison, `review --simulate`).

use serde::{Deserialize, Serialize};

use crate::scenario::Simulation;
use crate::units::ns_to_s;

/// How a run was shaped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Master seed.
    pub seed: u64,
    /// Replications run.
    pub replications: u32,
    /// Observed time per replication (s).
    pub duration_s: f64,
    /// Warm-up deleted (s).
    pub warmup_s: f64,
    /// `"fixed"`, or `"auto"` when MSER-5 chose it from a pilot run.
    pub warmup: String,
    /// Time-series interval (s).
    pub sample_every_s: f64,
    /// Whether the interval was widened to keep at most 10,000 per replication.
    pub series_capped: bool,
}

impl RunSettings {
    /// The settings of a resolved simulation.
    pub fn new(sim: &Simulation, warmup_auto: bool, series_capped: bool) -> RunSettings {
        RunSettings {
            seed: sim.seed,
            replications: sim.replications,
            duration_s: ns_to_s(sim.duration_ns),
            warmup_s: ns_to_s(sim.warmup_ns()),
            warmup: if warmup_auto { "auto" } else { "fixed" }.into(),
            sample_every_s: ns_to_s(sim.sample_every_ns),
            series_capped,
        }
    }
}
