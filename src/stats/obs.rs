//! What one replication observed, in raw counts and integrals. The model
//! fills these in; [`super::summary`] turns R of them into estimates.

use super::hist::LatencyHistogram;

/// Observations of one pool (a tier, or a database role) over the window.
#[derive(Clone, Debug)]
pub struct PoolObs {
    /// Workers across the pool's instances.
    pub workers: u32,
    /// Visits arriving in the window (each call counts).
    pub arrivals: u64,
    /// Services completed in the window.
    pub completions: u64,
    /// Visits refused because the accept queue was full.
    pub drops: u64,
    /// Integral of busy workers over the window (worker-ns).
    pub busy_ns: f64,
    /// Of `busy_ns`, the part where workers were held waiting on later tiers.
    pub held_ns: f64,
    /// Integral of waiting requests over the window (request-ns).
    pub queue_ns: f64,
    /// Sum of waits of services that started in the window (ns).
    pub wait_sum_ns: f64,
    /// Services that started in the window.
    pub waits: u64,
    /// Time from arrival at the pool to end of service, per completion (ns).
    pub sojourn: LatencyHistogram,
    /// Least-squares slope of requests present at the pool over the window (per s).
    pub backlog_slope_per_s: f64,
    /// Requests present (waiting + in service + held) at the end of the window.
    pub present_at_end: u64,
}

/// Observations of one instance, where instances of a pool may differ.
#[derive(Clone, Debug, Default)]
pub struct InstanceObs {
    /// Index of the pool it belongs to.
    pub pool: usize,
    /// Workers.
    pub workers: u32,
    /// Visits arriving in the window.
    pub arrivals: u64,
    /// Drops in the window.
    pub drops: u64,
    /// Integral of busy workers over the window.
    pub busy_ns: f64,
}

/// End-to-end observations of one class (or all), by arrival in the window.
#[derive(Clone, Debug)]
pub struct ClassObs {
    /// User requests that arrived in the window.
    pub arrived: u64,
    /// Of those, completed (possibly after the window, while draining).
    pub completed: u64,
    /// User requests completed inside the window, whenever they arrived:
    /// the throughput numerator.
    pub finished_in_window: u64,
    /// Of those, dropped somewhere (a full queue).
    pub dropped: u64,
    /// Of those, still in flight when the run stopped.
    pub in_flight: u64,
    /// End-to-end latency of the completed ones.
    pub latency: LatencyHistogram,
}

impl ClassObs {
    /// An empty record.
    pub fn new() -> Self {
        ClassObs {
            arrived: 0,
            completed: 0,
            finished_in_window: 0,
            dropped: 0,
            in_flight: 0,
            latency: LatencyHistogram::new(3),
        }
    }
}

impl Default for ClassObs {
    fn default() -> Self {
        Self::new()
    }
}

/// Exact request accounting over the whole run (warm-up included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    /// Every user request created.
    pub arrived: u64,
    /// Completed end to end.
    pub completed: u64,
    /// Dropped at a full queue.
    pub dropped: u64,
    /// Still in the system when the run stopped.
    pub in_flight: u64,
}

/// One time-series interval `[start, start + width)`.
#[derive(Clone, Debug, Default)]
pub struct SampleObs {
    /// Interval start (ns from the beginning of the run).
    pub start_ns: u64,
    /// Interval width (ns); the last one may be shorter.
    pub width_ns: u64,
    /// User requests arriving in the interval.
    pub offered: u64,
    /// User requests completing in the interval.
    pub completed: u64,
    /// User requests dropped in the interval.
    pub dropped: u64,
    /// Median end-to-end latency of completions in the interval (ns, NaN if none).
    pub p50_ns: f64,
    /// 95th percentile of the same (ns, NaN if none).
    pub p95_ns: f64,
    /// 99th percentile of the same (ns, NaN if none).
    pub p99_ns: f64,
    /// Per class: p50, p95, p99 of completions in the interval (ns, NaN if none).
    pub class_latency: Vec<[f64; 3]>,
    /// Per pool: time-average busy workers / workers.
    pub utilization: Vec<f64>,
    /// Per pool: time-average waiting requests.
    pub queue: Vec<f64>,
}

/// Everything one replication observed.
#[derive(Clone, Debug)]
pub struct RepObs {
    /// Observation window length (ns).
    pub window_ns: u64,
    /// Per pool, in (tier, pool) order.
    pub pools: Vec<PoolObs>,
    /// Per instance, in pool order.
    pub instances: Vec<InstanceObs>,
    /// Per class, end to end.
    pub classes: Vec<ClassObs>,
    /// All classes together.
    pub overall: ClassObs,
    /// Whole-run accounting.
    pub conservation: Conservation,
    /// The time series, warm-up included.
    pub series: Vec<SampleObs>,
    /// Events processed (for speed figures).
    pub events: u64,
}
