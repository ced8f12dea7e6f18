//! The utilization law across windows: a component's CPU in each window
//! against the requests it served there. `cores = background + rate x cpu`,
//! so the slope is CPU seconds per request and the intercept the cores it
//! burns with no traffic. One load level cannot tell the two apart.

use crate::stats::t_quantile_975;

/// An ordinary least-squares line through (requests/s, cores) points.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuLine {
    /// Windows used.
    pub n: usize,
    /// CPU seconds per request.
    pub per_request_s: f64,
    /// Half-width of its 95% interval.
    pub per_request_hw: f64,
    /// Cores used at zero traffic (background).
    pub background_cores: f64,
    /// Half-width of its 95% interval.
    pub background_hw: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Lowest and highest rate among the windows (requests/s).
    pub rate_range: (f64, f64),
    /// Whether the rates spread enough to separate slope from intercept
    /// (highest at least 1.5 times the lowest, and three windows or more).
    pub separable: bool,
    /// The points: (requests/s, cores).
    pub points: Vec<(f64, f64)>,
}

/// Fits the line; `None` below two points.
pub fn cpu_line(points: Vec<(f64, f64)>) -> Option<CpuLine> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let lo = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let separable = n >= 3 && sxx > 0.0 && hi >= 1.5 * lo.max(1e-9);
    let (slope, intercept) = if separable {
        let b = sxy / sxx;
        (b, my - b * mx)
    } else {
        // One level: all the CPU is charged to the requests.
        (if mx > 0.0 { my / mx } else { 0.0 }, 0.0)
    };
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { f64::NAN };
    let (mut hw_b, mut hw_a) = (f64::NAN, f64::NAN);
    if separable && n > 2 {
        let s2 = sse / (nf - 2.0);
        let t = t_quantile_975(n - 2);
        hw_b = t * (s2 / sxx).sqrt();
        hw_a = t * (s2 * (1.0 / nf + mx * mx / sxx)).sqrt();
    }
    Some(CpuLine {
        n,
        per_request_s: slope,
        per_request_hw: hw_b,
        background_cores: intercept,
        background_hw: hw_a,
        r2,
        rate_range: (lo, hi),
        separable,
        points,
    })
}

/// A tier's CPU split into CPU per visit and CPU per wake-up (`wakeup`):
/// `cores - quiet = rate x (cpu + wakeup x P)`, P the share of visits that
/// wake a thread or worker in each window.
#[derive(Debug, Clone, PartialEq)]
pub struct WakeFit {
    /// Windows used.
    pub n: usize,
    /// CPU seconds per visit besides wake-ups, and its 95% half-width.
    pub per_visit_s: (f64, f64),
    /// CPU seconds per wake-up, and its 95% half-width.
    pub wakeup_s: (f64, f64),
    /// Lowest and highest share of visits that woke it.
    pub share_range: (f64, f64),
    /// Whether the windows separate the two: shares at least
    /// [`WAKE_SPREAD`] apart, four windows or more, and both figures
    /// positive at 95%.
    pub separable: bool,
}

/// The spread of wake shares across windows below which a wake-up cost is
/// not told from CPU per visit.
pub const WAKE_SPREAD: f64 = 0.1;

/// Fits `y = rate x cpu + rate x P x wakeup` (no intercept) to points
/// (rate, share P, cores less the quiet-spell CPU); `None` below three.
pub fn wake_fit(points: &[(f64, f64, f64)]) -> Option<WakeFit> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let (mut a, mut b, mut c, mut d, mut e) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(r, p, y) in points {
        let (x1, x2) = (r, r * p);
        a += x1 * x1;
        b += x1 * x2;
        c += x2 * x2;
        d += x1 * y;
        e += x2 * y;
    }
    let det = a * c - b * b;
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if det.is_nan() || det <= 1e-12 * a * c {
        return Some(WakeFit {
            n,
            per_visit_s: (f64::NAN, f64::NAN),
            wakeup_s: (f64::NAN, f64::NAN),
            share_range: (lo, hi),
            separable: false,
        });
    }
    let s = (c * d - b * e) / det;
    let w = (a * e - b * d) / det;
    let sse: f64 = points
        .iter()
        .map(|&(r, p, y)| (y - r * s - r * p * w).powi(2))
        .sum();
    let t = t_quantile_975(n - 2);
    let s2 = sse / (n as f64 - 2.0);
    let hw_s = t * (s2 * c / det).sqrt();
    let hw_w = t * (s2 * a / det).sqrt();
    Some(WakeFit {
        n,
        per_visit_s: (s, hw_s),
        wakeup_s: (w, hw_w),
        share_range: (lo, hi),
        separable: n >= 4 && hi - lo >= WAKE_SPREAD && s - hw_s > 0.0 && w - hw_w > 0.0,
    })
}

impl WakeFit {
    /// What the fit says, for the report.
    pub fn sentence(&self, tier: &str) -> String {
        let (s, hs) = self.per_visit_s;
        let (w, hw) = self.wakeup_s;
        let (lo, hi) = self.share_range;
        let spread = hi - lo >= WAKE_SPREAD;
        let fit = if s.is_finite() && w.is_finite() && spread {
            format!(
                "{:.3} ± {:.3} ms a visit plus {:.3} ± {:.3} ms a wake-up; ",
                s * 1e3,
                hs * 1e3,
                w * 1e3,
                hw * 1e3
            )
        } else {
            String::new()
        };
        if self.separable {
            format!(
                "tier {tier}: CPU falls with load as wake-ups amortize: {fit}over {} windows in which {:.0}% to {:.0}% of visits woke it",
                self.n,
                lo * 100.0,
                hi * 100.0
            )
        } else {
            format!(
                "tier {tier}: a wake-up cost cannot be told from CPU per visit in these logs ({fit}{:.0}% to {:.0}% of visits woke it over {} windows, a spread of {:.0} points{}); the utilization-law line is used",
                lo * 100.0,
                hi * 100.0,
                self.n,
                (hi - lo) * 100.0,
                if !spread {
                    format!(
                        ", below the {:.0} needed: logs nearer the tier's saturation would tell",
                        WAKE_SPREAD * 100.0
                    )
                } else {
                    String::new()
                }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_wakeup_cost_where_the_shares_spread_and_refuses_where_they_do_not() {
        // 0.8 ms a visit and 0.4 ms a wake-up; the share falls from 0.95 to
        // 0.45 as the rate rises.
        let pts: Vec<(f64, f64, f64)> = [(100.0, 0.95), (300.0, 0.8), (600.0, 0.6), (900.0, 0.45)]
            .iter()
            .map(|&(r, p)| (r, p, r * (0.8e-3 + 0.4e-3 * p)))
            .collect();
        let f = wake_fit(&pts).unwrap();
        assert!(f.separable);
        assert!((f.per_visit_s.0 - 0.8e-3).abs() < 1e-9);
        assert!((f.wakeup_s.0 - 0.4e-3).abs() < 1e-9);
        // Shares within a few points of each other: the two are collinear.
        let flat: Vec<(f64, f64, f64)> =
            [(100.0, 0.99), (300.0, 0.97), (600.0, 0.96), (900.0, 0.95)]
                .iter()
                .map(|&(r, p)| {
                    (
                        r,
                        p,
                        r * (0.8e-3 + 0.4e-3 * p) * (1.0 + 0.01 * (r / 300.0_f64).sin()),
                    )
                })
                .collect();
        let f = wake_fit(&flat).unwrap();
        assert!(!f.separable);
        assert!(
            f.sentence("app").contains("cannot be told"),
            "{}",
            f.sentence("app")
        );
    }

    #[test]
    fn recovers_a_line_and_refuses_one_level() {
        let pts: Vec<(f64, f64)> = [100.0, 200.0, 400.0, 800.0]
            .iter()
            .map(|&x| (x, 0.15 + 0.001 * x))
            .collect();
        let l = cpu_line(pts).unwrap();
        assert!(l.separable);
        assert!((l.per_request_s - 0.001).abs() < 1e-12);
        assert!((l.background_cores - 0.15).abs() < 1e-9);
        assert!((l.r2 - 1.0).abs() < 1e-12);
        let one = cpu_line(vec![(400.0, 0.55), (410.0, 0.56), (395.0, 0.54)]).unwrap();
        assert!(!one.separable);
        assert_eq!(one.background_cores, 0.0);
    }
}
