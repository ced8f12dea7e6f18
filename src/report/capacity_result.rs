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
    /// Lowest rate found where some SLO fails with confidence (None if none).
    pub failing_rps: Option<f64>,
    /// Every probe, in the order run.
    pub probes: Vec<Probe>,
}
