//! The capacity search's answer: the types the search in `plan` fills and
//! the capacity report and its charts read.

use super::RunSettings;
use crate::stats::Estimate;

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
    /// The settings the probe ran with (its own warm-up when `auto`).
    pub settings: RunSettings,
    /// What it measured, each figure with its 95% interval.
    pub figures: ProbeFigures,
}

/// What a probe measured: throughput, latency, errors, its bottleneck.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProbeFigures {
    /// Completions per second.
    pub throughput_rps: Estimate,
    /// End-to-end latency of completed requests (ms): p50, p90, p99.
    pub latency_p50_ms: Estimate,
    /// 90th percentile (ms).
    pub latency_p90_ms: Estimate,
    /// 99th percentile (ms).
    pub latency_p99_ms: Estimate,
    /// Failed / offered.
    pub error_rate: Estimate,
    /// A pool had no steady state (its latency measures the run length).
    pub unstable: bool,
    /// The most utilized resource and its utilization (0..1).
    pub bottleneck: Option<(String, f64)>,
}

/// The search's answer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CapacityResult {
    /// Highest rate found where every SLO holds with 95% confidence (0 if none).
    pub capacity_rps: f64,
    /// The capacity as a claim, to the precision the search resolved: see
    /// [`stated_capacity`].
    pub stated_rps: f64,
    /// The scenario's scripted faults inside the observed window, which
    /// every probe ran with (the capacity is the rate that meets the SLOs
    /// with them).
    pub faults: Vec<String>,
    /// Lowest rate found where some SLO fails with confidence (None if none).
    pub failing_rps: Option<f64>,
    /// Every probe, in the order run.
    pub probes: Vec<Probe>,
}

/// A capacity to the precision the search resolved: the highest passing
/// rate `pass`, rounded down to the largest power of ten no wider than
/// `resolution` (the bracket up to the lowest failing rate, or the search's
/// precision when nothing failed). 1,359.4 with 1,387.5 failing (28 wide)
/// is 1,350: the figure claims no digit the search did not resolve, and
/// rounding down keeps it a rate that was shown to hold.
pub fn stated_capacity(pass: f64, resolution: f64) -> f64 {
    if !(pass > 0.0 && resolution > 0.0 && resolution.is_finite()) {
        return pass;
    }
    let step = 10f64.powf(resolution.log10().floor());
    // The floor of a value already on a step stays (1,200 stays 1,200,
    // not 1,190 from a rounding error).
    ((pass / step) + 1e-9).floor() * step
}

#[cfg(test)]
mod tests {
    use super::stated_capacity;

    #[test]
    fn a_capacity_claims_only_the_digits_the_search_resolved() {
        assert_eq!(stated_capacity(1_359.4, 1_387.5 - 1_359.4), 1_350.0);
        assert_eq!(stated_capacity(1_246.9, 1_275.0 - 1_246.9), 1_240.0);
        assert_eq!(stated_capacity(2_421.9, 2_440.8 - 2_421.9), 2_420.0);
        assert_eq!(stated_capacity(1_200.0, 600.0), 1_200.0);
        assert_eq!(stated_capacity(87.3, 1.2), 87.0);
        assert_eq!(stated_capacity(0.0, 5.0), 0.0);
        // No bracket: the figure as found.
        assert_eq!(stated_capacity(1_246.9, f64::NAN), 1_246.9);
    }
}
