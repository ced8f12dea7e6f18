//! CPU counters: a CSV of cumulative CPU seconds per component over time.
//!
//! ```text
//! time,component,cpu_seconds
//! 1796122217.555,app,12.31
//! 2026-12-01T10:50:17Z,db,3.02
//! ```
//!
//! `time` is Unix seconds (with a fraction) or RFC 3339; `cpu_seconds` is
//! cumulative (user + system), as cgroup `cpu.stat` (`usage_usec` / 1e6),
//! `/proc/PID/stat` (utime + stime over the clock tick) and Prometheus'
//! `process_cpu_seconds_total` give it. A counter that goes down (a restart)
//! starts a new series: the drop is not counted as negative CPU.

use std::collections::BTreeMap;

use super::time;

/// The samples of one component, in time order.
#[derive(Debug, Clone, Default)]
pub struct CpuSeries {
    /// (time ns, cumulative seconds).
    pub samples: Vec<(i64, f64)>,
    /// Counter resets seen (a restart).
    pub resets: u32,
}

impl CpuSeries {
    /// CPU seconds used between `a` and `b` (ns), by linear interpolation of
    /// the cumulative counter; `None` when the samples do not cover both
    /// ends. Resets are bridged (the increment after one is taken as zero).
    pub fn used_between(&self, a: i64, b: i64) -> Option<f64> {
        let s = &self.samples;
        if s.len() < 2 || a < s[0].0 || b > s[s.len() - 1].0 || b <= a {
            return None;
        }
        Some(self.cumulative_at(b) - self.cumulative_at(a))
    }

    /// The counter at `t` with resets bridged.
    fn cumulative_at(&self, t: i64) -> f64 {
        let mut total = 0.0;
        for w in self.samples.windows(2) {
            let ((t0, c0), (t1, c1)) = (w[0], w[1]);
            let inc = if c1 >= c0 { c1 - c0 } else { 0.0 };
            if t >= t1 {
                total += inc;
            } else {
                if t > t0 {
                    total += inc * (t - t0) as f64 / (t1 - t0) as f64;
                }
                break;
            }
        }
        total
    }
}

/// Rows that could not be read, with their line numbers, and rows that
/// were read but not as they stood.
#[derive(Debug, Clone, Default)]
pub struct CpuProblems {
    /// (line, what was wrong).
    pub skipped: Vec<(u64, String)>,
    /// Rows in all.
    pub rows: u64,
    /// Rows repeating a component's sample at the same time with the same
    /// value (a collector that wrote twice, two exports concatenated): kept once.
    pub duplicates: u64,
    /// Rows giving a component a second, different value at the same time:
    /// two counters under one name (several processes), summed.
    pub summed: u64,
    /// Rows earlier in time than a row above them for the same component:
    /// read in time order.
    pub out_of_order: u64,
}

impl CpuProblems {
    /// What was done to the rows, as warnings for the calibration report.
    pub fn warnings(&self, file: &str) -> Vec<String> {
        let mut v = Vec::new();
        if let Some((line, why)) = self.skipped.first() {
            v.push(format!(
                "{file}: {} of {} rows skipped (first at line {line}: {why})",
                self.skipped.len(),
                self.rows
            ));
        }
        if self.duplicates > 0 {
            v.push(format!(
                "{file}: {} rows repeat a sample (same component, time and value) and were read once",
                self.duplicates
            ));
        }
        if self.summed > 0 {
            v.push(format!(
                "{file}: {} rows give a component a second value at the same time; taken as several processes under one name and summed (name them apart if they are not)",
                self.summed
            ));
        }
        if self.out_of_order > 0 {
            v.push(format!(
                "{file}: {} rows are out of time order for their component and were read in time order",
                self.out_of_order
            ));
        }
        v
    }
}

/// Reads the CSV text (the header names the three columns in any order).
pub fn read_cpu_csv(text: &str) -> Result<(BTreeMap<String, CpuSeries>, CpuProblems), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or(format!(
            "no `{name}` column (expected time,component,cpu_seconds)"
        ))
    };
    let (ct, cc, cs) = (col("time")?, col("component")?, col("cpu_seconds")?);
    let mut rows: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let mut problems = CpuProblems::default();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        problems.rows += 1;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.skipped.push((line, e.to_string()));
                continue;
            }
        };
        let (Some(t), Some(c), Some(s)) = (rec.get(ct), rec.get(cc), rec.get(cs)) else {
            problems.skipped.push((line, "a column is missing".into()));
            continue;
        };
        let t = time::epoch_seconds(t.as_bytes()).or_else(|| time::iso8601(t.as_bytes()));
        let s: Option<f64> = s.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0);
        let (Some(t), Some(s)) = (t, s) else {
            problems
                .skipped
                .push((line, "time or cpu_seconds is not a number".into()));
            continue;
        };
        rows.entry(c.to_string()).or_default().push((t, s));
    }
    let mut series: BTreeMap<String, CpuSeries> = BTreeMap::new();
    for (name, mut raw) in rows {
        problems.out_of_order += raw.windows(2).filter(|w| w[1].0 < w[0].0).count() as u64;
        // Stable: rows at one time keep their file order.
        raw.sort_by_key(|r| r.0);
        let mut e = CpuSeries::default();
        let mut i = 0;
        while i < raw.len() {
            let t = raw[i].0;
            let mut at_t: Vec<f64> = Vec::new();
            while i < raw.len() && raw[i].0 == t {
                let v = raw[i].1;
                if at_t.contains(&v) {
                    problems.duplicates += 1;
                } else {
                    if !at_t.is_empty() {
                        problems.summed += 1;
                    }
                    at_t.push(v);
                }
                i += 1;
            }
            let v: f64 = at_t.iter().sum();
            if let Some(&(_, last)) = e.samples.last()
                && v < last
            {
                e.resets += 1;
            }
            e.samples.push((t, v));
        }
        series.insert(name, e);
    }
    Ok((series, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_bridges_a_reset() {
        let (s, p) = read_cpu_csv(
            "time,component,cpu_seconds\n0,app,10\n10,app,20\n20,app,1\n30,app,6\nx,app,1\n",
        )
        .unwrap();
        assert_eq!(p.skipped.len(), 1);
        let app = &s["app"];
        assert_eq!(app.resets, 1);
        let ns = 1_000_000_000;
        assert!((app.used_between(0, 10 * ns).unwrap() - 10.0).abs() < 1e-9);
        assert!((app.used_between(5 * ns, 30 * ns).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(app.used_between(0, 31 * ns), None);
    }

    #[test]
    fn duplicates_are_read_once_and_two_counters_summed() {
        // Each sample written twice, out of order: one counter, 1 core.
        let (s, p) = read_cpu_csv(
            "time,component,cpu_seconds\n10,db,20\n0,db,10\n10,db,20\n0,db,10\n20,db,30\n",
        )
        .unwrap();
        let ns = 1_000_000_000;
        assert_eq!((p.duplicates, p.out_of_order, s["db"].resets), (2, 2, 0));
        assert!((s["db"].used_between(0, 20 * ns).unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(p.warnings("cpu.csv").len(), 2, "duplicates and order");
        // Two workers under one name: 0.3 + 0.1 cores, never a reset.
        let (s, p) =
            read_cpu_csv("time,component,cpu_seconds\n0,app,10\n0,app,5\n10,app,13\n10,app,6\n")
                .unwrap();
        assert_eq!((p.summed, s["app"].resets), (2, 0));
        assert!((s["app"].used_between(0, 10 * ns).unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(p.warnings("cpu.csv").len(), 1, "summed");
    }
}
