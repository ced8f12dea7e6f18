//! Paired comparison of two designs run with common random numbers:
//! replication k of A and replication k of B saw the same arrivals, so the
//! difference is estimated replication by replication (a narrower interval
//! than two independent ones), and [`per_rep`] gives the figures compared.

use serde::Serialize;

use super::ci::Estimate;
use super::obs::{ClassObs, RepObs};

/// One figure of A and of B, and their paired difference.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    /// What is compared (`p99`, `utilization`, ...).
    pub metric: String,
    /// Its unit (`ms`, `%`, `requests/s`).
    pub unit: &'static str,
    /// A's estimate.
    pub a: Estimate,
    /// B's estimate.
    pub b: Estimate,
    /// B - A, paired by replication (replications where either has no
    /// value, such as a p99 with no completion, are left out of it).
    pub difference: Estimate,
    /// (B - A) / A, when A is not zero.
    pub relative: Option<f64>,
    /// The half-width of `difference` relative to A.
    pub relative_half_width: Option<f64>,
    /// Whether the paired 95% interval excludes zero (statistical
    /// significance).
    pub significant: bool,
    /// Whether it is also large enough to matter (practical significance):
    /// significant, at least the threshold's share of A's figure (when A is
    /// not zero), and visible at the figure's display precision. Set by
    /// [`Difference::judge`]; [`DEFAULT_THRESHOLD`] until then.
    pub material: bool,
}

/// The share of the baseline's figure a difference must reach to count as
/// material when nobody says otherwise: 1%.
pub const DEFAULT_THRESHOLD: f64 = 0.01;

impl Difference {
    /// The paired comparison of per-replication values `a` and `b` (index k
    /// of each is replication k).
    pub fn paired(metric: &str, unit: &'static str, a: &[f64], b: &[f64]) -> Difference {
        let ea = Estimate::from_values(a.iter().copied());
        let eb = Estimate::from_values(b.iter().copied());
        let d = Estimate::from_values(
            a.iter()
                .zip(b)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| y - x),
        );
        let rel = (ea.mean.is_finite() && ea.mean != 0.0).then(|| d.mean / ea.mean);
        let relative_half_width = d.half_width.zip(rel).map(|(h, _)| h / ea.mean.abs());
        let significant = d.half_width.is_some_and(|h| d.mean.abs() > h) && d.mean != 0.0;
        let mut out = Difference {
            metric: metric.to_string(),
            unit,
            a: ea,
            b: eb,
            difference: d,
            relative: rel,
            relative_half_width,
            significant,
            material: false,
        };
        out.judge(DEFAULT_THRESHOLD);
        out
    }

    /// Sets [`Difference::material`] for `threshold`, a share of A's
    /// figure (0.01 = 1%): a significant difference under it, or one that
    /// rounds to zero where it is printed (`+0.00 ± 0.00`), does not count.
    pub fn judge(&mut self, threshold: f64) {
        let d = self.difference.mean.abs();
        let shown = crate::units::compare_decimals(d.max(self.a.mean.abs()), self.unit);
        // The smallest difference that prints as other than zero.
        let visible = 0.5 * 10f64.powi(-(shown as i32));
        let large = match self.relative {
            Some(r) if r.is_finite() => r.abs() >= threshold,
            _ => true,
        };
        self.material = self.significant && d >= visible && large;
    }
}

/// The figures of one replication that summaries and comparisons share,
/// so that a compared figure is the one the run table shows.
pub mod per_rep {
    use super::{ClassObs, RepObs};
    use crate::units::NS_PER_SEC;

    /// `num / den`, NaN when `den` is zero.
    pub fn ratio(num: f64, den: f64) -> f64 {
        if den > 0.0 { num / den } else { f64::NAN }
    }

    /// The window in seconds.
    pub fn secs(r: &RepObs) -> f64 {
        r.window_ns as f64 / NS_PER_SEC as f64
    }

    /// Busy workers / workers of pool `p`, held time included (0..1).
    pub fn pool_utilization(r: &RepObs, p: usize) -> f64 {
        let o = &r.pools[p];
        ratio(o.busy_ns, f64::from(o.workers) * r.window_ns as f64)
    }

    /// Mean wait before service at pool `p` (ms).
    pub fn pool_wait_ms(r: &RepObs, p: usize) -> f64 {
        ratio(r.pools[p].wait_sum_ns, r.pools[p].waits as f64) / 1e6
    }

    /// 99th percentile of time at pool `p`, wait and service (ms).
    pub fn pool_p99_ms(r: &RepObs, p: usize) -> f64 {
        r.pools[p].sojourn.quantile_ns(0.99) / 1e6
    }

    /// Visits refused by pool `p`'s full queue per second.
    pub fn pool_drops_rps(r: &RepObs, p: usize) -> f64 {
        r.pools[p].drops as f64 / secs(r)
    }

    /// Busy cores / cores of host group `h` (0..1).
    pub fn host_utilization(r: &RepObs, h: usize) -> f64 {
        ratio(
            r.hosts[h].busy_ns,
            f64::from(r.hosts[h].cores) * r.window_ns as f64,
        )
    }

    /// Mean wait of a service for a core of host group `h` (ms).
    pub fn host_core_wait_ms(r: &RepObs, h: usize) -> f64 {
        ratio(r.hosts[h].core_wait_ns / 1e6, r.hosts[h].core_grants as f64)
    }

    /// Completed / offered, the drain included.
    pub fn availability(c: &ClassObs) -> f64 {
        ratio(c.completed as f64, c.arrived as f64)
    }

    /// Completed by the window's end / offered.
    pub fn availability_at_window_end(c: &ClassObs) -> f64 {
        ratio(c.completed_by_end as f64, c.arrived as f64)
    }

    /// Failed / offered, cause `k` alone or (`None`) every cause.
    pub fn error_rate(c: &ClassObs, k: Option<usize>) -> f64 {
        let failed = k.map_or_else(|| c.failed_total(), |k| c.failed[k]);
        ratio(failed as f64, c.arrived as f64)
    }

    /// User requests completed in the window per second.
    pub fn throughput_rps(r: &RepObs, c: &ClassObs) -> f64 {
        c.finished_in_window as f64 / secs(r)
    }

    /// Latency percentile `q` of completed requests (ms).
    pub fn latency_ms(c: &ClassObs, q: f64) -> f64 {
        c.latency.quantile_ns(q) / 1e6
    }

    /// Latency percentile `q` of what users saw, failures at the time of
    /// their error included (ms).
    pub fn seen_ms(c: &ClassObs, q: f64) -> f64 {
        let mut h = c.latency.clone();
        h.merge(&c.failed_latency);
        h.quantile_ns(q) / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::Difference;

    #[test]
    fn pairing_removes_the_common_noise() {
        // Replications vary a lot together; B is 1 above A in each.
        let a = [10.0, 20.0, 30.0, 40.0, 50.0];
        let b = [11.0, 21.0, 31.0, 41.0, 51.0];
        let d = Difference::paired("m", "ms", &a, &b);
        assert_eq!(d.difference.mean, 1.0);
        assert_eq!(d.difference.half_width, Some(0.0));
        assert!(d.significant);
        assert!(d.a.half_width.unwrap() > 10.0);
        assert_eq!(d.relative, Some(1.0 / 30.0));
        // A replication with no value on one side is left out of the pairs.
        let d = Difference::paired("m", "ms", &[1.0, f64::NAN, 3.0], &[2.0, 5.0, 5.0]);
        assert_eq!(d.difference.n, 2);
        assert_eq!(d.difference.mean, 1.5);
        // Equal figures are no difference.
        let d = Difference::paired("m", "ms", &[1.0, 2.0], &[1.0, 2.0]);
        assert!(!d.significant);
    }

    /// Statistical and practical significance apart: a tiny but steady
    /// change excludes zero yet is no difference a review should act on.
    #[test]
    fn a_steady_change_under_the_threshold_is_significant_but_not_material() {
        // +0.5% in every replication: significant, under the 1% default.
        let a = [100.0, 110.0, 120.0];
        let b = [100.5, 110.55, 120.6];
        let mut d = Difference::paired("p99", "ms", &a, &b);
        assert!(d.significant);
        assert!(!d.material, "{d:?}");
        d.judge(0.001);
        assert!(d.material, "0.5% counts under a 0.1% threshold");
        // A share that moves by 0.001 points prints as +0.00 ± 0.00: it is
        // not material whatever the threshold.
        let mut d = Difference::paired("utilization", "%", &[0.120, 0.121], &[0.121, 0.122]);
        assert!(d.significant);
        d.judge(0.0);
        assert!(!d.material, "{d:?}");
        // From zero (no relative change) any visible change counts.
        let d = Difference::paired("errors", "%", &[0.0, 0.0, 0.0], &[0.5, 0.6, 0.55]);
        assert!(d.significant && d.material, "{d:?}");
    }
}
