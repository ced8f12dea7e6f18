//! Latency histograms: HDR histograms of nanoseconds, three significant
//! digits, constant memory whatever the number of samples.

use hdrhistogram::Histogram;

/// Highest value tracked exactly: one hour in ns. Longer values saturate.
const MAX_NS: u64 = 3_600_000_000_000;

/// An HDR histogram of durations in nanoseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
    sum_ns: f64,
}

impl LatencyHistogram {
    /// A histogram with `sigfig` significant digits (1 to 5).
    pub fn new(sigfig: u8) -> Self {
        let h = Histogram::new_with_bounds(1, MAX_NS, sigfig.clamp(1, 5))
            .or_else(|_| Histogram::new(3))
            .unwrap_or_else(|_| unreachable_histogram());
        LatencyHistogram { h, sum_ns: 0.0 }
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.h.saturating_record(ns.max(1));
        self.sum_ns += ns as f64;
    }

    /// The recorded buckets, ascending: (the lowest value the bucket holds in
    /// ns, how many values it holds).
    pub fn recorded(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.h.iter_recorded().map(|v| {
            (
                self.h.lowest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// Exact mean of the recorded values (ns), NaN when empty.
    pub fn mean_ns(&self) -> f64 {
        if self.count() == 0 {
            f64::NAN
        } else {
            self.sum_ns / self.count() as f64
        }
    }

    /// The `q` quantile (0..=1) in ns, NaN when empty.
    pub fn quantile_ns(&self, q: f64) -> f64 {
        if self.count() == 0 {
            f64::NAN
        } else {
            self.h.value_at_quantile(q) as f64
        }
    }

    /// Several quantiles (ascending) in one pass over the counts; each is
    /// what [`quantile_ns`](Self::quantile_ns) gives. NaN when empty.
    pub fn quantiles_ns<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        let mut out = [f64::NAN; N];
        if self.count() > 0 {
            for (o, v) in out.iter_mut().zip(self.h.value_at_quantiles(qs)) {
                *o = v as f64;
            }
        }
        out
    }

    /// Fraction of recorded values at or below `ns`.
    pub fn cdf(&self, ns: u64) -> f64 {
        if self.count() == 0 {
            return f64::NAN;
        }
        self.h.count_between(0, ns) as f64 / self.count() as f64
    }

    /// Forgets every value, keeping the memory.
    pub fn reset(&mut self) {
        self.h.reset();
        self.sum_ns = 0.0;
    }

    /// Adds another histogram's values.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds by construction, so `add` cannot fail; ignore the impossible error.
        let _ = self.h.add(&other.h);
        self.sum_ns += other.sum_ns;
    }
}

#[cold]
fn unreachable_histogram() -> Histogram<u64> {
    // Histogram::new(3) only fails for sigfig > 5; kept total instead of panicking.
    Histogram::new_with_max(2, 1).unwrap_or_else(|_| std::process::abort())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every quantile is within the stated relative error of the exact
        /// order statistic (the slow, obvious twin: sort and index).
        #[test]
        fn quantiles_within_three_digits(mut xs in proptest::collection::vec(1u64..10_000_000_000, 1..500), q in 0.0f64..=1.0) {
            let mut h = LatencyHistogram::new(3);
            for &x in &xs { h.record(x); }
            xs.sort_unstable();
            let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
            let exact = xs[rank - 1] as f64;
            let got = h.quantile_ns(q);
            prop_assert!((got - exact).abs() <= exact * 1e-3 + 1.0, "q={} got={} exact={}", q, got, exact);
        }

        /// Merging is the same as recording everything in one histogram.
        #[test]
        fn merge_is_concatenation(a in proptest::collection::vec(1u64..1_000_000, 0..100), b in proptest::collection::vec(1u64..1_000_000, 0..100)) {
            let (mut ha, mut hb, mut hall) = (LatencyHistogram::new(3), LatencyHistogram::new(3), LatencyHistogram::new(3));
            for &x in &a { ha.record(x); hall.record(x); }
            for &x in &b { hb.record(x); hall.record(x); }
            ha.merge(&hb);
            prop_assert_eq!(ha.count(), hall.count());
            prop_assert_eq!(ha.quantile_ns(0.99).to_bits(), hall.quantile_ns(0.99).to_bits());
        }
    }

    proptest! {
        /// One pass gives what three separate lookups give.
        #[test]
        fn quantiles_in_one_pass_match(xs in proptest::collection::vec(1u64..10_000_000_000, 1..300)) {
            let mut h = LatencyHistogram::new(2);
            for &x in &xs { h.record(x); }
            let one = h.quantiles_ns([0.5, 0.95, 0.99]);
            let each = [h.quantile_ns(0.5), h.quantile_ns(0.95), h.quantile_ns(0.99)];
            prop_assert_eq!(one.map(f64::to_bits), each.map(f64::to_bits));
        }
    }

    #[test]
    fn empty_histogram_is_nan() {
        let h = LatencyHistogram::new(3);
        assert!(h.mean_ns().is_nan() && h.quantile_ns(0.5).is_nan());
        assert!(h.quantiles_ns([0.5, 0.99]).iter().all(|q| q.is_nan()));
    }
}
