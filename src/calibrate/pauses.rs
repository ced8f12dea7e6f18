//! Pause episodes in the logs: seconds whose latency jumps with no rise in
//! load (a garbage collection, a checkpoint, CPU stolen by a neighbour).
//!
//! `observe` keeps one small record per second of the entry tier's
//! requests (count and a coarse latency histogram) and of each tier's time;
//! [`detect`] compares every second with the minute around it.

use std::collections::BTreeMap;

use serde::Serialize;

/// Histogram buckets per second: edges at 0.25 ms x 2^(k/2), from 0.25 ms
/// to some 12 s, so a median is known within a factor of sqrt(2), finer
/// than the factor a pause must jump by.
pub const BUCKETS: usize = 32;

/// The most seconds kept (eight days): past that, detection covers the
/// first eight days of the range and says so.
pub const MAX_SECONDS: usize = 8 * 86_400;

/// A second's median must be this many times the minute around it...
pub const JUMP: f64 = 5.0;
/// ...and above it by this much (ns): ten quanta of a millisecond timer,
/// so a jump from 1 ms to 5 ms (quantization, a short queue) is not one.
pub const JUMP_FLOOR_NS: f64 = 10e6;
/// Seconds with fewer entry requests have no median worth comparing.
pub const MIN_REQUESTS: u32 = 10;
/// The neighbourhood compared with: this many seconds either side.
pub const NEIGHBOURS_S: i64 = 30;

/// What one second of the logs saw.
#[derive(Debug, Clone)]
pub struct Second {
    /// Requests starting in it at the entry tier.
    pub n: u32,
    /// Their end-to-end times, bucketed.
    pub hist: [u32; BUCKETS],
    /// Per tier (web's own time, the app's, the database's statements):
    /// the sum of times (ns) and their count.
    pub tiers: [(f64, u32); 3],
}

impl Default for Second {
    fn default() -> Second {
        Second {
            n: 0,
            hist: [0; BUCKETS],
            tiers: [(0.0, 0); 3],
        }
    }
}

/// The per-tier slots of [`Second::tiers`].
pub const WEB: usize = 0;
/// The application's time (Nginx's upstream time).
pub const APP: usize = 1;
/// The database's statements.
pub const DB: usize = 2;
const TIER_NAMES: [&str; 3] = ["web", "app", "db"];

fn bucket(ns: u64) -> usize {
    let x = ns as f64 / 0.25e6;
    if x <= 1.0 {
        return 0;
    }
    ((2.0 * x.log2()).floor() as usize + 1).min(BUCKETS - 1)
}

/// A bucket's middle (geometric), ns.
fn bucket_mid_ns(b: usize) -> f64 {
    if b == 0 {
        return 0.125e6;
    }
    0.25e6 * 2f64.powf((b as f64 - 0.5) / 2.0)
}

/// Every second seen, by its start (s since the epoch), capped.
#[derive(Debug, Clone, Default)]
pub struct Seconds {
    /// The seconds, by start.
    pub by_second: BTreeMap<i64, Second>,
    /// Records left out once the cap was reached.
    pub dropped: u64,
}

impl Seconds {
    fn at(&mut self, t_ns: i64) -> Option<&mut Second> {
        let s = t_ns.div_euclid(1_000_000_000);
        if self.by_second.len() >= MAX_SECONDS && !self.by_second.contains_key(&s) {
            self.dropped += 1;
            return None;
        }
        Some(self.by_second.entry(s).or_default())
    }

    /// An entry-tier request starting at `t_ns` that took `ns`.
    pub fn entry(&mut self, t_ns: i64, ns: u64) {
        if let Some(s) = self.at(t_ns) {
            s.n += 1;
            s.hist[bucket(ns)] += 1;
        }
    }

    /// A tier's time for a request (or statement) starting at `t_ns`.
    pub fn tier(&mut self, t_ns: i64, tier: usize, ns: f64) {
        if let Some(s) = self.at(t_ns) {
            s.tiers[tier].0 += ns;
            s.tiers[tier].1 += 1;
        }
    }
}

fn median_ns(s: &Second) -> f64 {
    let half = s.n.div_ceil(2);
    let mut seen = 0;
    for (b, &c) in s.hist.iter().enumerate() {
        seen += c;
        if seen >= half {
            return bucket_mid_ns(b);
        }
    }
    f64::NAN
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// One pause: consecutive seconds (a one-second gap bridged) whose median
/// jumped.
#[derive(Debug, Clone, Serialize)]
pub struct Episode {
    /// Its first second (s since the epoch).
    pub start_s: i64,
    /// Its length, s.
    pub seconds: u32,
    /// The highest per-second median in it, ms.
    pub peak_median_ms: f64,
    /// The median of the minute around it, ms.
    pub baseline_ms: f64,
    /// Entry requests per second in it over those around it.
    pub load_ratio: f64,
    /// The tier whose time rose the most, where the logs time tiers apart.
    pub tier: Option<String>,
    /// Its time in the episode over its time around it.
    pub tier_ratio: Option<f64>,
    /// The slowdown that explains the episode: see [`slowdown`].
    pub slowdown: Option<f64>,
}

/// What the logs show about pauses.
#[derive(Debug, Clone, Serialize)]
pub struct PauseReport {
    /// Seconds with enough requests to judge.
    pub seconds_judged: u64,
    /// The episodes found.
    pub episodes: Vec<Episode>,
    /// Episodes per second of judged log, when any.
    pub rate_per_s: Option<f64>,
    /// Mean episode length, s, when any.
    pub mean_length_s: Option<f64>,
    /// With none found: the rate below which one would likely be missed
    /// (95%: three over the judged time), per s.
    pub upper_rate_per_s: Option<f64>,
    /// Seconds past the memory cap, not judged.
    pub dropped: u64,
}

impl PauseReport {
    /// The tier most episodes point at.
    pub fn tier(&self) -> Option<&str> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.episodes {
            if let Some(t) = &e.tier {
                *counts.entry(t.as_str()).or_default() += 1;
            }
        }
        counts.into_iter().max_by_key(|&(_, n)| n).map(|(t, _)| t)
    }

    /// One sentence for the reports.
    pub fn sentence(&self) -> String {
        match (self.rate_per_s, self.mean_length_s) {
            (Some(rate), Some(len)) => format!(
                "{} pause episode{} in {} s of logs (seconds whose median latency rose {}x or more with no rise in load): one every {:.0} s on average, {:.1} s long{}",
                self.episodes.len(),
                if self.episodes.len() == 1 { "" } else { "s" },
                self.seconds_judged,
                JUMP,
                1.0 / rate,
                len,
                self.tier()
                    .map_or(String::new(), |t| format!(", in tier {t}")),
            ),
            _ => {
                let bound = self.upper_rate_per_s.map_or(String::new(), |r| {
                    format!(
                        ": pauses rarer than one every {:.0} s would likely be missed, and a log of 3x a pause's mean interval is needed to see one (95%)",
                        1.0 / r
                    )
                });
                format!(
                    "no pause episode in {} s of logs (no second's median latency rose {}x with no rise in load); tail figures exclude pauses{}",
                    self.seconds_judged, JUMP, bound
                )
            }
        }
    }
}

/// Finds pause episodes among the seconds in `[from_s, to_s)`.
pub fn detect(seconds: &Seconds, from_s: i64, to_s: i64) -> PauseReport {
    let judged: Vec<(i64, &Second)> = seconds
        .by_second
        .range(from_s..to_s)
        .filter(|(_, s)| s.n >= MIN_REQUESTS)
        .map(|(&t, s)| (t, s))
        .collect();
    let medians: Vec<f64> = judged.iter().map(|(_, s)| median_ns(s)).collect();
    let mut flagged: Vec<(usize, f64, f64)> = Vec::new(); // (index, baseline ns, load ratio)
    for (i, &(t, s)) in judged.iter().enumerate() {
        let around: Vec<usize> = (0..judged.len())
            .filter(|&j| j != i && (judged[j].0 - t).abs() <= NEIGHBOURS_S)
            .collect();
        if around.len() < 10 {
            continue;
        }
        let base = median(around.iter().map(|&j| medians[j]).collect());
        let load = median(around.iter().map(|&j| f64::from(judged[j].1.n)).collect());
        let n = f64::from(s.n);
        // No rise in load: within 20% and three Poisson deviations.
        let calm = n <= 1.2 * load + 3.0 * load.sqrt();
        if calm && medians[i] >= JUMP * base && medians[i] >= base + JUMP_FLOOR_NS {
            flagged.push((i, base, n / load));
        }
    }
    let mut episodes: Vec<Episode> = Vec::new();
    let mut k = 0;
    while k < flagged.len() {
        let mut end = k;
        while end + 1 < flagged.len()
            && judged[flagged[end + 1].0].0 - judged[flagged[end].0].0 <= 2
        {
            end += 1;
        }
        let part = &flagged[k..=end];
        let (first, last) = (judged[part[0].0].0, judged[part[end - k].0].0);
        let peak = part.iter().map(|&(i, _, _)| medians[i]).fold(0.0, f64::max);
        let base = median(part.iter().map(|x| x.1).collect());
        let load = part.iter().map(|x| x.2).sum::<f64>() / part.len() as f64;
        let (tier, tier_ratio) = attribute(seconds, first, last);
        episodes.push(Episode {
            start_s: first,
            seconds: (last - first + 1) as u32,
            peak_median_ms: peak / 1e6,
            baseline_ms: base / 1e6,
            load_ratio: load,
            tier,
            tier_ratio,
            slowdown: None,
        });
        k = end + 1;
    }
    let t = judged.len() as f64;
    let any = !episodes.is_empty() && t > 0.0;
    PauseReport {
        seconds_judged: judged.len() as u64,
        rate_per_s: any.then(|| episodes.len() as f64 / t),
        mean_length_s: any.then(|| {
            episodes.iter().map(|e| f64::from(e.seconds)).sum::<f64>() / episodes.len() as f64
        }),
        upper_rate_per_s: (!any && t > 0.0).then(|| 3.0 / t),
        episodes,
        dropped: seconds.dropped,
    }
}

/// The slowdown by `k` of a resource at utilization `rho` for `length_s`
/// that makes the latency rise by `excess_s` by the episode's end: while
/// `rho k > 1` the backlog grows at `lambda (1 - 1 / (rho k))`, so the last
/// arrival waits `length (rho k - 1)` (a fluid queue; a slowdown that
/// leaves `rho k < 1` raises latency little). The rise is the peak
/// per-second median over the minute around, so
/// `k = (1 + excess / length) / rho`, and at least 1. The tier's own time
/// ratio would overstate it: it holds the waits the slowdown causes.
pub fn slowdown(rho: f64, excess_s: f64, length_s: f64) -> Option<f64> {
    (rho > 0.0 && rho.is_finite() && length_s > 0.0)
        .then(|| ((1.0 + excess_s.max(0.0) / length_s) / rho.min(1.0)).max(1.0))
}

/// The tier whose mean time rose most (in ms) over the episode against the
/// minute around it, and by what factor.
fn attribute(seconds: &Seconds, first: i64, last: i64) -> (Option<String>, Option<f64>) {
    let mean = |a: i64, b: i64, tier: usize, skip: bool| {
        let (mut sum, mut n) = (0.0, 0u64);
        for (&t, s) in seconds.by_second.range(a..=b) {
            if skip && (first..=last).contains(&t) {
                continue;
            }
            sum += s.tiers[tier].0;
            n += u64::from(s.tiers[tier].1);
        }
        (n > 0).then(|| sum / n as f64)
    };
    let mut rise: [Option<(f64, f64)>; 3] = [None; 3];
    for tier in [WEB, APP, DB] {
        if let (Some(during), Some(around)) = (
            mean(first, last, tier, false),
            mean(first - NEIGHBOURS_S, last + NEIGHBOURS_S, tier, true),
        ) {
            rise[tier] = Some((during - around, during / around.max(1.0)));
        }
    }
    let best = (0..3)
        .filter_map(|t| rise[t].map(|r| (t, r)))
        .max_by(|a, b| a.1.0.total_cmp(&b.1.0));
    match best {
        // The app's time (Nginx's upstream time) holds the database's: a
        // rise there that the database's own time half explains is the
        // database's.
        Some((APP, (r, _))) if r > 0.0 && rise[DB].is_some_and(|d| d.0 >= 0.5 * r) => {
            (Some(TIER_NAMES[DB].to_string()), rise[DB].map(|d| d.1))
        }
        Some((t, (r, ratio))) if r > 0.0 => (Some(TIER_NAMES[t].to_string()), Some(ratio)),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(seconds: &mut Seconds, from: i64, to: i64, n: u32, ms: f64) {
        for t in from..to {
            for _ in 0..n {
                seconds.entry(t * 1_000_000_000, (ms * 1e6) as u64);
                seconds.tier(t * 1_000_000_000, APP, ms * 1e6 * 0.8);
                seconds.tier(t * 1_000_000_000, WEB, 0.2e6);
            }
        }
    }

    #[test]
    fn buckets_cover_a_quarter_millisecond_to_seconds() {
        assert_eq!(bucket(100_000), 0);
        assert!(bucket(1_000_000) > 0);
        for ms in [0.3, 1.0, 4.0, 50.0, 400.0, 3000.0] {
            let b = bucket((ms * 1e6) as u64);
            let mid = bucket_mid_ns(b) / 1e6;
            assert!(
                mid / ms < 1.42 && ms / mid < 1.42,
                "{ms} ms in bucket {b} ({mid})"
            );
        }
    }

    #[test]
    fn a_latency_jump_without_more_load_is_a_pause_and_a_load_rise_is_not() {
        let mut s = Seconds::default();
        steady(&mut s, 0, 120, 100, 4.0);
        // Seconds 50-53: 300 ms medians at the same load; second 100: a
        // jump with twice the load (queueing, not a pause).
        for t in 50..54 {
            s.by_second.remove(&t);
        }
        steady(&mut s, 50, 54, 100, 300.0);
        s.by_second.remove(&100);
        steady(&mut s, 100, 101, 200, 300.0);
        let r = detect(&s, 0, 120);
        assert_eq!(r.episodes.len(), 1, "{:?}", r.episodes);
        let e = &r.episodes[0];
        assert_eq!((e.start_s, e.seconds), (50, 4));
        assert_eq!(e.tier.as_deref(), Some("app"));
        assert!(r.sentence().contains("1 pause episode in 120 s"));
        // None at all: the rate bound is three over the judged time.
        let mut quiet = Seconds::default();
        steady(&mut quiet, 0, 60, 100, 4.0);
        let r = detect(&quiet, 0, 60);
        assert!(r.episodes.is_empty());
        assert_eq!(r.upper_rate_per_s, Some(3.0 / 60.0));
        assert!(r.sentence().contains("one every 20 s"), "{}", r.sentence());
    }
}
