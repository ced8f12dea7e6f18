//! The result of `stacksim validate` as data: per window, observed beside
//! simulated; per metric, the error against its tolerance; the knee. The
//! simulation itself is `plan::validate`'s; the report is `report`'s.

use super::build::WindowRow;
use super::role::Role;
use crate::stats::Estimate;

/// Tolerances on the mean absolute percentage error, as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// On end-to-end p99 (default 0.25).
    pub p99: f64,
    /// On throughput (default 0.10).
    pub throughput: f64,
    /// On the machine's cores (default 0.10).
    pub cpu: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            p99: 0.25,
            throughput: 0.10,
            cpu: 0.10,
        }
    }
}

/// How to simulate each window.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Observed simulated time per window's run (e.g. `30s`).
    pub duration: String,
    /// Warm-up per run (e.g. `5s`).
    pub warmup: String,
    /// Replications per window.
    pub replications: u32,
    /// Tolerances.
    pub tolerance: Tolerance,
    /// Whether to search the capacity (the knee) too.
    pub knee: bool,
    /// The load generator's connections (`--clients N`): every window's
    /// run caps its requests outstanding at N, arrivals beyond wait, and
    /// its latency is compared from send, as the logs measure it.
    pub clients: Option<u32>,
    /// The user's overrides (`--set`, `--seed`), applied to every window's
    /// scenario before the window's own run length and replications.
    pub overrides: Vec<crate::scenario::Override>,
}

/// One window, observed and simulated.
#[derive(Debug, Clone)]
pub struct WindowCompare {
    /// What the logs saw.
    pub observed: WindowRow,
    /// Simulated completions per second.
    pub throughput_rps: Estimate,
    /// Simulated end-to-end p50, p90, p99 (ms).
    pub latency_ms: [Estimate; 3],
    /// Simulated cores busy on all machines (None without hosts).
    pub cores: Option<Estimate>,
    /// Whether every simulated pool was stable.
    pub stable: bool,
    /// Per tier (lb, web, app, db, by kind): simulated own time per visit
    /// (ms: wait for a worker, wait for a core, CPU and off-core time; NaN
    /// where the scenario has no such tier or no host to account it).
    pub own_ms: [f64; 4],
    /// Per tier: simulated cores busy on its CPU (NaN without a host).
    pub tier_cores: [f64; 4],
}

/// The tiers validation compares one by one, in `own_ms` order.
pub const TIERS: [&str; 4] = [
    Role::Balancer.tier(),
    Role::Web.tier(),
    Role::App.tier(),
    Role::Database.tier(),
];

/// Error of one metric over the windows.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricError {
    /// `throughput`, `p50`, `p90`, `p99`, `cpu`.
    pub name: &'static str,
    /// Windows compared.
    pub n: usize,
    /// Mean absolute percentage error (fraction).
    pub mape: f64,
    /// Mean signed percentage error (fraction; positive: simulation high).
    pub bias: f64,
    /// Tolerance on the MAPE, where one applies.
    pub tolerance: Option<f64>,
    /// Within tolerance (true where none applies).
    pub pass: bool,
}

/// A tier's own time off by more than this share (MAPE) misplaces where
/// the time goes: `validate` flags it (no tolerance: the verdict stands on
/// the end-to-end figures).
pub const OWN_TIME_FLAG: f64 = 0.5;

impl MetricError {
    /// A per-tier own time (`own lb`, ...) off by more than
    /// [`OWN_TIME_FLAG`]: the simulation blames the wrong tier.
    pub fn misplaced(&self) -> bool {
        self.name.starts_with("own ") && self.n > 0 && self.mape > OWN_TIME_FLAG
    }
}

/// The knee: predicted against what the logs show.
#[derive(Debug, Clone)]
pub struct Knee {
    /// `capacity`'s answer: the highest rate found stable (requests/s).
    pub predicted_rps: f64,
    /// The highest window rate in the logs.
    pub observed_max_rps: f64,
    /// Whether the logs show saturation at that rate (its observed median
    /// over ten times the simulated median at the quietest window: requests
    /// queue): then the highest rate is the measured knee; otherwise only a
    /// lower bound.
    pub saturated: bool,
}

/// A finished validation.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Per window.
    pub windows: Vec<WindowCompare>,
    /// Per metric.
    pub metrics: Vec<MetricError>,
    /// The knee, when asked for.
    pub knee: Option<Knee>,
    /// Every toleranced metric within its tolerance.
    pub pass: bool,
    /// The options used.
    pub options: ValidateOptions,
    /// Window length, s.
    pub window_s: f64,
    /// The client's connections the runs had (`--clients` or the
    /// scenario's `connections`), whose latency was then compared from
    /// send; None when the client was open.
    pub clients: Option<u32>,
    /// Pause episodes in the held-out logs (request logs only).
    pub pauses: Option<super::pauses::PauseReport>,
}

/// Whether the window starting at `start_ns` and `window_s` long holds a
/// second of a pause episode.
pub fn holds_pause(p: &super::pauses::PauseReport, start_ns: i64, window_s: f64) -> bool {
    let (a, b) = (start_ns, start_ns + (window_s * 1e9) as i64);
    p.episodes.iter().any(|e| {
        let (s, t) = (
            e.start_s * 1_000_000_000,
            (e.start_s + i64::from(e.seconds)) * 1_000_000_000,
        );
        s < b && a < t
    })
}
