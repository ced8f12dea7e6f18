//! Service-level objectives: `p99<250ms`, `mean<=40ms`, `errors<0.1%`,
//! `availability>99.9%`, judged with the run's 95% intervals.

use crate::stats::{ClassSummary, Estimate};
use crate::units::parse_duration;

/// What an SLO measures (end to end, all classes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SloMetric {
    /// A latency percentile, as a fraction (0.99 for p99).
    Percentile(f64),
    /// Mean latency.
    Mean,
    /// Failed / offered.
    Errors,
    /// Completed / offered.
    Availability,
}

/// One objective: metric, direction, limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// What is measured.
    pub metric: SloMetric,
    /// True for `<`/`<=` (the metric must stay below the limit).
    pub below: bool,
    /// Limit in ms for latencies, as a fraction for errors and availability.
    pub limit: f64,
    /// As written.
    pub text: String,
}

/// Whether an SLO holds in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SloVerdict {
    /// Holds with 95% confidence: the whole interval is on the right side.
    Holds,
    /// The interval contains the limit.
    Uncertain,
    /// Broken with 95% confidence.
    Broken,
}

impl Slo {
    /// Parses `p99<250ms`, `mean<20ms`, `errors<0.1%`, `availability>99.9%`.
    pub fn parse(text: &str) -> Result<Slo, String> {
        let t = text.trim();
        let (pos, op) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|op| t.find(op).map(|p| (p, *op)))
            .ok_or_else(|| {
                format!("`{t}` has no comparison: write e.g. \"p99<250ms\" or \"errors<0.1%\"")
            })?;
        let name = t[..pos].trim().to_ascii_lowercase();
        let value = t[pos + op.len()..].trim();
        let below = op.starts_with('<');
        let metric = match name.as_str() {
            "mean" => SloMetric::Mean,
            "errors" | "error_rate" => SloMetric::Errors,
            "availability" => SloMetric::Availability,
            "p999" | "p99.9" => SloMetric::Percentile(0.999),
            p if p.starts_with('p') => {
                let q: f64 = p[1..]
                    .parse()
                    .map_err(|_| format!("`{name}` is not a percentile such as p50, p99, p99.9"))?;
                if !(0.0..100.0).contains(&q) || q == 0.0 {
                    return Err(format!("`{name}`: a percentile is between p0 and p100"));
                }
                SloMetric::Percentile(q / 100.0)
            }
            _ => {
                return Err(format!(
                    "unknown SLO metric `{name}`: use p50, p90, p95, p99, p99.9, mean, errors or availability"
                ));
            }
        };
        let limit = match metric {
            SloMetric::Errors | SloMetric::Availability => {
                let v = value
                    .strip_suffix('%')
                    .ok_or_else(|| format!("`{value}`: give {name} as a percentage, e.g. 0.1%"))?;
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("`{v}` is not a number"))?
                    / 100.0
            }
            _ => parse_duration(value)? / 1e6,
        };
        Ok(Slo {
            metric,
            below,
            limit,
            text: t.to_string(),
        })
    }

    /// The run's estimate of this SLO's metric (ms or fraction).
    pub fn estimate(
        &self,
        all: &ClassSummary,
        p_estimate: impl Fn(f64) -> Option<Estimate>,
    ) -> Option<Estimate> {
        match self.metric {
            SloMetric::Mean => Some(all.latency_mean_ms),
            SloMetric::Errors => Some(all.error_rate),
            SloMetric::Availability => Some(all.availability),
            SloMetric::Percentile(q) => match q {
                x if (x - 0.5).abs() < 1e-9 => Some(all.latency_p50_ms),
                x if (x - 0.9).abs() < 1e-9 => Some(all.latency_p90_ms),
                x if (x - 0.95).abs() < 1e-9 => Some(all.latency_p95_ms),
                x if (x - 0.99).abs() < 1e-9 => Some(all.latency_p99_ms),
                x if (x - 0.999).abs() < 1e-9 => Some(all.latency_p999_ms),
                x => p_estimate(x),
            },
        }
    }

    /// Judges an estimate against the limit with its interval.
    pub fn judge(&self, e: &Estimate) -> SloVerdict {
        if !e.mean.is_finite() {
            return SloVerdict::Broken; // nothing completed
        }
        let h = e.half_width.unwrap_or(0.0);
        let (lo, hi) = (e.mean - h, e.mean + h);
        let (ok, bad) = if self.below {
            (hi < self.limit, lo > self.limit)
        } else {
            (lo > self.limit, hi < self.limit)
        };
        if ok {
            SloVerdict::Holds
        } else if bad {
            SloVerdict::Broken
        } else {
            SloVerdict::Uncertain
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slos() {
        let s = Slo::parse("p99<250ms").unwrap();
        assert_eq!(
            (s.metric, s.below, s.limit),
            (SloMetric::Percentile(0.99), true, 250.0)
        );
        assert_eq!(Slo::parse("errors<0.1%").unwrap().limit, 0.001);
        assert!(!Slo::parse("availability>=99.9%").unwrap().below);
        assert_eq!(Slo::parse("mean < 2s").unwrap().limit, 2000.0);
        assert_eq!(
            Slo::parse("p99.9<1s").unwrap().metric,
            SloMetric::Percentile(0.999)
        );
        for bad in ["p99", "p99<250", "latency<3ms", "errors<0.1", "p200<1ms"] {
            assert!(Slo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn judges_with_the_interval() {
        let s = Slo::parse("p99<100ms").unwrap();
        let e = |m, h| Estimate {
            mean: m,
            half_width: Some(h),
            n: 10,
        };
        assert_eq!(s.judge(&e(90.0, 5.0)), SloVerdict::Holds);
        assert_eq!(s.judge(&e(98.0, 5.0)), SloVerdict::Uncertain);
        assert_eq!(s.judge(&e(110.0, 5.0)), SloVerdict::Broken);
        let a = Slo::parse("availability>99%").unwrap();
        assert_eq!(a.judge(&e(0.999, 0.0005)), SloVerdict::Holds);
        assert_eq!(a.judge(&e(0.95, 0.01)), SloVerdict::Broken);
    }
}
