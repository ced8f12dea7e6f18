//! Confidence intervals across independent replications (Student t).

use serde::Serialize;

/// A point estimate with its 95% half-width across replications.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean of the per-replication values.
    pub mean: f64,
    /// 95% Student-t half-width; `None` with fewer than two values.
    pub half_width: Option<f64>,
    /// Number of replications that gave a value.
    pub n: usize,
}

impl Estimate {
    /// The estimate from per-replication values, ignoring non-finite ones
    /// (a replication with no completions has no latency percentile).
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Estimate {
        // Summed in order, sequentially: the same bytes whatever the thread count.
        let xs: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                half_width: None,
                n,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate {
                mean,
                half_width: None,
                n,
            };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let se = (var / n as f64).sqrt();
        Estimate {
            mean,
            half_width: Some(t_quantile_975(n - 1) * se),
            n,
        }
    }

    /// Standard error (half-width / t).
    pub fn std_error(&self) -> Option<f64> {
        self.half_width
            .map(|h| h / t_quantile_975(self.n.saturating_sub(1).max(1)))
    }

    /// Half-width relative to the mean.
    pub fn relative_half_width(&self) -> Option<f64> {
        self.half_width.map(|h| h / self.mean.abs())
    }

    /// Whether `value` lies in the interval.
    pub fn contains(&self, value: f64) -> bool {
        self.half_width
            .is_some_and(|h| (self.mean - value).abs() <= h)
    }

    /// Multiplies mean and half-width (unit changes).
    pub fn scaled(self, k: f64) -> Estimate {
        Estimate {
            mean: self.mean * k,
            half_width: self.half_width.map(|h| h * k.abs()),
            n: self.n,
        }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            // Cornish-Fisher expansion around the normal quantile.
            let z: f64 = 1.959_963_984_540_054;
            let d = df as f64;
            let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
            z + (z3 + z) / (4.0 * d)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d * d * d)
        }
    }
}

/// Erlang C: probability of waiting in an M/M/c with offered load `a`.
pub fn erlang_c(c: u64, a: f64) -> f64 {
    if a >= c as f64 {
        return 1.0;
    }
    // Iterate in a numerically stable form: B(k) = a B(k-1) / (k + a B(k-1)) (Erlang B).
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    b / (1.0 - rho + rho * b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        assert_eq!(t_quantile_975(1), 12.706);
        assert_eq!(t_quantile_975(9), 2.262);
        // Published values: df 40 -> 2.021, 60 -> 2.000, 120 -> 1.980.
        assert!((t_quantile_975(40) - 2.021).abs() < 1e-3);
        assert!((t_quantile_975(60) - 2.000).abs() < 1e-3);
        assert!((t_quantile_975(120) - 1.980).abs() < 1e-3);
    }

    #[test]
    fn estimate_of_known_values() {
        let e = Estimate::from_values([1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.mean, 3.0);
        // sd = sqrt(2.5), se = sqrt(0.5), t(4) = 2.776.
        assert!((e.half_width.unwrap() - 2.776 * 0.5f64.sqrt()).abs() < 1e-9);
        assert!(e.contains(4.9) && !e.contains(5.0));
        let one = Estimate::from_values([7.0, f64::NAN]);
        assert_eq!((one.mean, one.half_width, one.n), (7.0, None, 1));
    }
}
