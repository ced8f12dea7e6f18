//! A sweep point's results and the sweep's definition: the data the sweep
//! outputs (files, charts, reports) are built from, kept apart from them so
//! the charts and the sweep report do not import each other.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::RunReport;
use crate::analysis::Stability;
use crate::scenario::Axis;
use crate::stats::Estimate;

/// An estimate that survives a JSON round trip (NaN becomes `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Est {
    /// Mean across replications.
    pub mean: Option<f64>,
    /// 95% half-width.
    pub hw: Option<f64>,
}

impl From<Estimate> for Est {
    fn from(e: Estimate) -> Est {
        Est {
            mean: e.mean.is_finite().then_some(e.mean),
            hw: e.half_width.filter(|h| h.is_finite()),
        }
    }
}

/// One pool's figures at a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolPoint {
    /// `web`, `db primary`.
    pub label: String,
    /// Utilization, held workers included.
    pub utilization: Est,
    /// Utilization serving.
    pub service_utilization: Est,
}

/// Everything the sweep outputs need about one point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Index in the full grid.
    pub index: usize,
    /// The varied keys and their values at this point.
    pub values: Vec<(String, String)>,
    /// Offered user requests/s.
    pub offered_rps: Est,
    /// Completed user requests/s.
    pub throughput_rps: Est,
    /// Completed / offered (the drain after the window included).
    pub availability: Est,
    /// Completed before the window closed / offered: the figure an
    /// unstable point is judged by (its drain serves a backlog no user
    /// waited for).
    #[serde(default)]
    pub availability_at_window_end: Est,
    /// Failed / offered.
    pub error_rate: Est,
    /// End-to-end latency (ms).
    pub latency_mean_ms: Est,
    /// Median (ms).
    pub latency_p50_ms: Est,
    /// 95th percentile (ms).
    pub latency_p95_ms: Est,
    /// 99th percentile (ms).
    pub latency_p99_ms: Est,
    /// Per pool.
    pub pools: Vec<PoolPoint>,
    /// The bottleneck's label.
    pub bottleneck: Option<String>,
    /// Its serving utilization.
    pub bottleneck_utilization: Option<f64>,
    /// Labels of pools with no steady state.
    pub unstable: Vec<String>,
    /// The settings the point ran with (its own warm-up when `auto`).
    pub settings: super::RunSettings,
}

impl PointResult {
    /// Builds a point's result from its run report.
    pub fn from_run(
        index: usize,
        values: Vec<(String, String)>,
        r: &RunReport<'_>,
        settings: super::RunSettings,
    ) -> PointResult {
        let all = &r.summary.overall;
        PointResult {
            index,
            values,
            offered_rps: all.offered_rps.into(),
            throughput_rps: all.throughput_rps.into(),
            availability: all.availability.into(),
            availability_at_window_end: all.availability_at_window_end.into(),
            error_rate: all.error_rate.into(),
            latency_mean_ms: all.latency_mean_ms.into(),
            latency_p50_ms: all.latency_p50_ms.into(),
            latency_p95_ms: all.latency_p95_ms.into(),
            latency_p99_ms: all.latency_p99_ms.into(),
            pools: r
                .pool_rows()
                .map(|(p, l)| PoolPoint {
                    label: l.label.clone(),
                    utilization: r.summary.pools[p].utilization.into(),
                    service_utilization: r.summary.pools[p].service_utilization.into(),
                })
                .collect(),
            bottleneck: r.bottleneck.map(|b| b.label.clone()),
            bottleneck_utilization: r
                .bottleneck
                .map(|b| b.utilization)
                .filter(|u| u.is_finite()),
            unstable: r
                .verdicts
                .iter()
                .filter(|v| matches!(v.stability, Stability::Unstable { .. }))
                .map(|v| v.label.clone())
                .collect(),
            settings,
        }
    }

    /// `stable` or `unstable: db primary, app`.
    pub fn verdict(&self) -> String {
        if self.unstable.is_empty() {
            "stable".into()
        } else {
            format!("unstable: {}", self.unstable.join(", "))
        }
    }

    /// The point's values except `key`, as a series label.
    pub fn variant(&self, except: &str) -> String {
        let v: Vec<String> = self
            .values
            .iter()
            .filter(|(k, _)| k != except)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if v.is_empty() {
            "all points".into()
        } else {
            v.join(", ")
        }
    }
}

/// Appends one point as a JSON line.
pub fn write_point_line(p: &PointResult, w: &mut dyn Write) -> io::Result<()> {
    let mut line = serde_json::to_vec(p)?;
    line.push(b'\n');
    w.write_all(&line)
}

/// Reads the points of a `points.jsonl`; a torn last line (an interrupted
/// write) is skipped.
pub fn read_point_lines(text: &str) -> Vec<PointResult> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// What a sweep was: for the outputs and for checking a resume or a merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepMeta {
    /// stacksim version.
    pub version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario text as read.
    pub scenario_source: String,
    /// `--set` overrides common to every point.
    pub overrides: Vec<String>,
    /// The axes.
    pub axes: Vec<Axis>,
    /// Points in the full grid.
    pub points: usize,
    /// Seed.
    pub seed: u64,
    /// Replications per point.
    pub replications: u32,
    /// The slice of the grid this folder holds (`--shard K/N`); absent for
    /// a whole sweep, so merged outputs equal the single-machine run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Every data file a point reads (empirical samples, replayed
    /// arrivals), by SHA-256: a resume or merge after one changed is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<DataDigest>,
}

/// A data file a sweep read, by path and content.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataDigest {
    /// The path as the scenario names it.
    pub path: String,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

impl SweepMeta {
    /// What makes a recorded meta impossible (a hand-edited or corrupt
    /// `sweep-meta.json`): a shard outside 1..=N, a grid size that its axes
    /// do not give.
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(s) = self.shard
            && (s.n == 0 || s.k == 0 || s.k > s.n || s.n > 1_000_000)
        {
            v.push(format!(
                "shard {}/{} is not a slice K/N with 1 <= K <= N",
                s.k, s.n
            ));
        }
        let product = self
            .axes
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
        if product != Some(self.points) || self.points == 0 {
            v.push(format!(
                "it records {} points, which its axes do not give",
                self.points
            ));
        }
        v
    }
}

/// `--shard K/N`: slice K (1-based) of N holds the grid points `i` with
/// `i % N == K - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This slice, 1-based.
    pub k: usize,
    /// Slices in all.
    pub n: usize,
}

impl Shard {
    /// Whether grid point `index` belongs to this slice.
    pub fn holds(&self, index: usize) -> bool {
        index % self.n == self.k - 1
    }

    /// The grid points of a sweep of `points` this slice holds.
    pub fn indices(&self, points: usize) -> impl Iterator<Item = usize> + use<> {
        (self.k - 1..points).step_by(self.n)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}
