//! Fitting a service-time distribution to logged times, honestly about
//! their resolution.
//!
//! Candidates (exponential, lognormal, gamma) are moment-matched: the mean
//! as observed, the variance less what the timer's resolution adds. A timer
//! that subtracts two clock readings truncated to `r` (HAProxy's and Nginx's
//! 1 ms) reports `k r` for a true time `t` with probability
//! `max(0, 1 - |t / r - k|)` (the triangular kernel), which adds `r^2 / 6`
//! to the variance and nothing to the mean. Each candidate is then judged
//! by a chi-square test on the binned counts, its expected counts computed
//! through that same kernel, so quantized data are neither smoothed nor
//! blamed on the fit. The rule, stated in every report: the candidate with
//! the smallest chi-square per degree of freedom is used when its p-value is
//! at least 0.01 or its largest CDF gap over the bins is at most 0.02 (at
//! hundreds of thousands of samples every model is rejected, and a gap of
//! 2% is below what a capacity figure can feel); otherwise the empirical
//! distribution (100 quantiles) is used.

use crate::dist::Dist;
use crate::stats::LatencyHistogram;

/// A p-value at or above this accepts a fit.
pub const P_ACCEPT: f64 = 0.01;
/// A largest CDF gap at or below this accepts a fit at any p-value.
pub const GAP_ACCEPT: f64 = 0.02;

/// One candidate's verdict.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `exp`, `lognormal`, `gamma`.
    pub name: &'static str,
    /// The moment-matched distribution.
    pub dist: Dist,
    /// Chi-square statistic.
    pub chi2: f64,
    /// Degrees of freedom.
    pub df: u32,
    /// Its p-value.
    pub p: f64,
    /// Largest gap between the binned empirical and fitted CDFs.
    pub gap: f64,
}

/// The fit of one tier and class.
#[derive(Debug, Clone)]
pub struct Fit {
    /// Samples.
    pub n: u64,
    /// Mean, ns.
    pub mean_ns: f64,
    /// Coefficient of variation after the resolution correction.
    pub cv: f64,
    /// Timer resolution, ns.
    pub resolution_ns: f64,
    /// Whether the resolution dominates (mean below two quanta).
    pub resolution_dominates: bool,
    /// Every candidate, best first.
    pub candidates: Vec<Candidate>,
    /// What the scenario uses.
    pub chosen: Dist,
    /// `lognormal (chi2/df 1.3, p 0.21)`, `empirical (every fit rejected: ...)`.
    pub how: String,
    /// Points of the empirical CDF for charts: (ns, fraction at or below).
    pub ecdf: Vec<(f64, f64)>,
}

// ---- special functions ----

/// ln Γ(x) for x > 0 (Lanczos, g = 7).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = crate::dist::LANCZOS;
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized lower incomplete gamma P(a, x) (series below a + 1,
/// continued fraction above; Numerical Recipes' split).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let lead = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum.ln() + lead).exp().min(1.0)
    } else {
        // Lentz's continued fraction for Q.
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (1.0 - (lead.exp() * h)).clamp(0.0, 1.0)
    }
}

/// The standard normal CDF (erfc by its Chebyshev fit, |error| < 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = t
        * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erfc = if x >= 0.0 { y } else { 2.0 - y };
    1.0 - 0.5 * erfc
}

/// The upper tail of the chi-square distribution.
pub fn chi2_sf(x: f64, df: u32) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    1.0 - gamma_p(df as f64 / 2.0, x / 2.0)
}

/// The CDF of a candidate at `x` ns.
pub fn cdf(d: &Dist, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    match *d {
        Dist::Exponential { mean } => 1.0 - (-x / mean).exp(),
        Dist::LogNormal { mean, cv } => {
            let s2 = (1.0 + cv * cv).ln();
            let mu = mean.ln() - s2 / 2.0;
            normal_cdf((x.ln() - mu) / s2.sqrt())
        }
        Dist::Gamma { mean, cv } => {
            let k = 1.0 / (cv * cv);
            gamma_p(k, x * k / mean)
        }
        Dist::Constant(v) => f64::from(u8::from(x >= v)),
        _ => f64::NAN,
    }
}

// ---- binning ----

/// One bin of observed counts: values in `[lo, hi)` ns (quantized data: the
/// single value `lo`).
#[derive(Debug, Clone, Copy)]
struct Bin {
    lo: f64,
    hi: f64,
    observed: f64,
}

/// Counts at each quantum `k r` from 0 up to the 99.9th percentile (at most
/// 20,000 quanta); the last bin holds everything from there on.
fn quantized_bins(h: &LatencyHistogram, r: f64) -> Vec<Bin> {
    let k_cap = ((h.quantile_ns(0.999) / r).round() as usize).clamp(1, 20_000);
    let mut bins: Vec<Bin> = (0..=k_cap)
        .map(|k| Bin {
            lo: k as f64 * r,
            hi: (k + 1) as f64 * r,
            observed: 0.0,
        })
        .collect();
    for (v, n) in h.recorded() {
        let k = ((v as f64 / r).round() as usize).min(k_cap);
        bins[k].observed += n as f64;
    }
    bins
}

/// About 40 bins of equal observed probability, for fine-resolution data.
fn quantile_bins(h: &LatencyHistogram) -> Vec<Bin> {
    let total = h.count() as f64;
    let target = (total / 40.0).max(5.0);
    let mut bins = Vec::new();
    let mut cur = Bin {
        lo: 0.0,
        hi: 0.0,
        observed: 0.0,
    };
    for (v, n) in h.recorded() {
        if cur.observed >= target {
            cur.hi = v as f64;
            bins.push(cur);
            cur = Bin {
                lo: v as f64,
                hi: 0.0,
                observed: 0.0,
            };
        }
        cur.observed += n as f64;
    }
    cur.hi = f64::INFINITY;
    bins.push(cur);
    bins
}

/// `g[j] = (1/r) * integral_0^{j r} F(t) dt` for j = 0..=k_max + 1, by
/// Simpson's rule on 16 panels per quantum.
fn integrated_cdf(d: &Dist, k_max: usize, r: f64) -> Vec<f64> {
    const PANELS: usize = 16;
    let h = 1.0 / PANELS as f64;
    let mut g = Vec::with_capacity(k_max + 2);
    g.push(0.0);
    let mut prev = cdf(d, 0.0);
    for j in 0..=k_max {
        let mut s = prev;
        for i in 1..PANELS {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            s += w * cdf(d, (j as f64 + i as f64 * h) * r);
        }
        let end = cdf(d, (j + 1) as f64 * r);
        s += end;
        prev = end;
        g.push(g[j] + s * h / 3.0);
    }
    g
}

/// Expected probability of each bin under `d`.
fn expected(d: &Dist, bins: &[Bin], r: f64, quantized: bool) -> Vec<f64> {
    let mut e: Vec<f64> = if quantized {
        // P(k) = G(k+1) - 2 G(k) + G(k-1), G the integrated CDF in quanta.
        let k_max = bins.last().map_or(0, |b| (b.lo / r) as usize);
        let g = integrated_cdf(d, k_max, r);
        bins.iter()
            .map(|b| {
                let k = (b.lo / r) as usize;
                let below = if k == 0 { 0.0 } else { g[k - 1] };
                (g[k + 1] - 2.0 * g[k] + below).max(0.0)
            })
            .collect()
    } else {
        bins.iter().map(|b| cdf(d, b.hi) - cdf(d, b.lo)).collect()
    };
    // The last bin takes the tail.
    let head: f64 = e[..e.len() - 1].iter().sum();
    if let Some(last) = e.last_mut() {
        *last = (1.0 - head).max(0.0);
    }
    e
}

/// What a timer of resolution `r` would report under `d`: the cumulative
/// probability of reading at most `k r`, for k = 0..=k_max (the triangular
/// kernel above), to set beside a quantized empirical CDF.
pub fn reported_cdf(d: &Dist, r: f64, k_max: usize) -> Vec<(f64, f64)> {
    let g = integrated_cdf(d, k_max, r);
    let mut acc = 0.0;
    (0..=k_max)
        .map(|k| {
            let below = if k == 0 { 0.0 } else { g[k - 1] };
            acc += (g[k + 1] - 2.0 * g[k] + below).max(0.0);
            (k as f64 * r, acc.min(1.0))
        })
        .collect()
}

/// Whether times of this mean at this resolution are treated as quantized.
pub fn is_quantized(mean_ns: f64, resolution_ns: f64) -> bool {
    resolution_ns >= mean_ns / 50.0
}

/// Chi-square (bins merged until each expects at least 5), its degrees of
/// freedom (2 parameters fitted) and the largest CDF gap.
fn judge(observed: &[f64], expected_p: &[f64], n: f64) -> (f64, u32, f64) {
    let mut chi2 = 0.0;
    let mut bins = 0u32;
    let (mut o, mut e) = (0.0, 0.0);
    let (mut co, mut ce, mut gap) = (0.0, 0.0, 0.0f64);
    for (i, (&ob, &p)) in observed.iter().zip(expected_p).enumerate() {
        o += ob;
        e += p * n;
        co += ob / n;
        ce += p;
        gap = gap.max((co - ce).abs());
        let last = i + 1 == observed.len();
        if e >= 5.0 || last {
            if e > 0.0 {
                chi2 += (o - e) * (o - e) / e;
                bins += 1;
            }
            o = 0.0;
            e = 0.0;
        }
    }
    (chi2, bins.saturating_sub(3), gap)
}

/// Fits the recorded times; `resolution_ns` is the timer's quantum (1 ms
/// for HAProxy and Nginx, 1 us for the slow log).
pub fn fit(h: &LatencyHistogram, resolution_ns: f64) -> Option<Fit> {
    let n = h.count();
    if n < 2 {
        return None;
    }
    let mean = h.mean_ns();
    let mut var = 0.0;
    for (v, c) in h.recorded() {
        let x = (v as f64 / resolution_ns).round() * resolution_ns;
        var += c as f64 * (x - mean) * (x - mean);
    }
    var /= (n - 1) as f64;
    let quantized = is_quantized(mean, resolution_ns);
    let corrected = if quantized {
        (var - resolution_ns * resolution_ns / 6.0).max(0.0)
    } else {
        var
    };
    let mean = mean.max(resolution_ns / 100.0);
    let cv = (corrected.sqrt() / mean).clamp(0.05, 20.0);
    let bins = if quantized {
        quantized_bins(h, resolution_ns)
    } else {
        quantile_bins(h)
    };
    let observed: Vec<f64> = bins.iter().map(|b| b.observed).collect();
    let mut candidates: Vec<Candidate> = [
        ("exp", Dist::Exponential { mean }),
        ("lognormal", Dist::LogNormal { mean, cv }),
        ("gamma", Dist::Gamma { mean, cv }),
    ]
    .into_iter()
    .map(|(name, dist)| {
        let e = expected(&dist, &bins, resolution_ns, quantized);
        let (chi2, df, gap) = judge(&observed, &e, n as f64);
        Candidate {
            name,
            p: chi2_sf(chi2, df),
            dist,
            chi2,
            df,
            gap,
        }
    })
    .collect();
    candidates.sort_by(|a, b| {
        let ka = a.chi2 / f64::from(a.df.max(1));
        let kb = b.chi2 / f64::from(b.df.max(1));
        ka.total_cmp(&kb)
    });
    let best = &candidates[0];
    let accepted = best.df > 0 && (best.p >= P_ACCEPT || best.gap <= GAP_ACCEPT);
    let resolution_dominates = mean < 2.0 * resolution_ns;
    let (chosen, how) = if resolution_dominates {
        // Below two quanta the counts cannot tell shapes apart (and an
        // empirical list of quanta would be a two-point artefact of the
        // timer): the mean is kept, the shape is a stated assumption.
        let d = if corrected > 0.0 {
            Dist::Gamma { mean, cv }
        } else {
            Dist::Exponential { mean }
        };
        let what = if corrected > 0.0 {
            "gamma by moments"
        } else {
            "exponential with the observed mean"
        };
        (
            d,
            format!(
                "{what}: below two timer quanta ({:.3} ms) the shape cannot be told from the counts",
                resolution_ns / 1e6
            ),
        )
    } else if accepted {
        (
            best.dist.clone(),
            format!(
                "{} (chi2/df {:.2}, p {}, largest CDF gap {:.3})",
                best.name,
                best.chi2 / f64::from(best.df.max(1)),
                fmt_p(best.p),
                best.gap
            ),
        )
    } else {
        let qs: Vec<f64> = (0..100)
            .map(|i| h.quantile_ns((i as f64 + 0.5) / 100.0).max(1.0))
            .collect();
        (
            Dist::Empirical(qs.into()),
            format!(
                "empirical, 100 quantiles (best fit {} rejected: chi2/df {:.2}, p {}, largest CDF gap {:.3})",
                best.name,
                best.chi2 / f64::from(best.df.max(1)),
                fmt_p(best.p),
                best.gap
            ),
        )
    };
    let mut ecdf = Vec::new();
    let mut acc = 0u64;
    for (v, c) in h.recorded() {
        acc += c;
        let x = if quantized {
            (v as f64 / resolution_ns).round() * resolution_ns
        } else {
            v as f64
        };
        ecdf.push((x, acc as f64 / n as f64));
    }
    ecdf.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 = b.1;
            true
        } else {
            false
        }
    });
    // The cv reported is the one the scenario gets.
    let cv = match chosen {
        Dist::Exponential { .. } => 1.0,
        _ => cv,
    };
    Some(Fit {
        n,
        mean_ns: mean,
        cv,
        resolution_ns,
        resolution_dominates,
        candidates,
        chosen,
        how,
        ecdf,
    })
}

/// A p-value for people: `< 0.001` or three decimals.
pub fn fmt_p(p: f64) -> String {
    if p.is_nan() {
        "n/a".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::Distribution;

    #[test]
    fn special_functions_match_known_values() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // P(1, x) = 1 - e^-x
        for x in [0.1, 1.0, 3.0, 10.0] {
            assert!((gamma_p(1.0, x) - (1.0 - (-x).exp())).abs() < 1e-12);
        }
        assert!((normal_cdf(1.959_963_985) - 0.975).abs() < 1e-6);
        // chi-square with 2 df: sf(x) = e^(-x/2)
        assert!((chi2_sf(3.0, 2) - (-1.5f64).exp()).abs() < 1e-12);
    }

    /// Gamma samples truncated the way a millisecond timer reports them:
    /// the fit recovers the mean and cv, accepts a gamma, and rejects the
    /// exponential.
    #[test]
    fn quantized_gamma_is_recovered() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        let g = rand_distr::Gamma::new(4.0, 0.75e6).unwrap(); // mean 3 ms, cv 0.5
        let mut h = LatencyHistogram::new(3);
        let r = 1e6;
        for _ in 0..20_000 {
            let t: f64 = g.sample(&mut rng);
            let phase: f64 = rand::RngExt::random::<f64>(&mut rng) * r;
            let obs = ((t + phase) / r).floor() - (phase / r).floor();
            h.record((obs * r) as u64);
        }
        let f = fit(&h, r).unwrap();
        assert!((f.mean_ns - 3e6).abs() < 0.03e6, "mean {}", f.mean_ns);
        assert!((f.cv - 0.5).abs() < 0.03, "cv {}", f.cv);
        assert_eq!(f.candidates[0].name, "gamma", "{:?}", f.candidates);
        assert!(f.candidates[0].p > 0.001, "{:?}", f.candidates[0]);
        assert!(f.candidates.iter().any(|c| c.name == "exp" && c.p < 1e-6));
    }
}
