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

#[cfg(test)]
mod tests {
    use super::*;

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
