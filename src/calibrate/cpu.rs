//! CPU counters: a CSV of cumulative CPU seconds per component over time.
//!
//! ```text
//! time,component,cpu_seconds
//! 1796122217.555,app,12.31
//! 2026-12-01T10:50:17Z,db,3.02
//! ```
//!
//! A `host` column says which machine each counter was read on (a stack
//! spread over machines); without it, every counter is of one machine,
//! unless the file is one of several (a file per machine, named after it).
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
    /// The component's name in the counters (a process, a unit, a container).
    pub component: String,
    /// The machine it ran on, when the counters say (a `host` column, a
    /// file per machine, `--host`).
    pub host: Option<String>,
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

/// The key of a component's series: its name, and `name@host` when the
/// machine is known (two machines may each run an `nginx`).
pub fn series_key(component: &str, host: Option<&str>) -> String {
    match host {
        Some(h) => format!("{component}@{h}"),
        None => component.to_string(),
    }
}

/// Reads the CSV text (the header names the columns in any order); `host`
/// is the machine of every row that has no `host` column of its own.
pub fn read_cpu_csv(text: &str) -> Result<(BTreeMap<String, CpuSeries>, CpuProblems), String> {
    read_cpu_csv_on(text, None)
}

/// [`read_cpu_csv`] for a file of one machine's counters (`host`), unless
/// its rows name their machine.
pub fn read_cpu_csv_on(
    text: &str,
    host: Option<&str>,
) -> Result<(BTreeMap<String, CpuSeries>, CpuProblems), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or(format!(
            "no `{name}` column (expected time,component,cpu_seconds and, for many machines, host)"
        ))
    };
    let (ct, cc, cs) = (col("time")?, col("component")?, col("cpu_seconds")?);
    let ch = headers.iter().position(|h| h == "host");
    // (component, machine) -> (time, value) rows.
    type Rows = BTreeMap<(String, Option<String>), Vec<(i64, f64)>>;
    let mut rows: Rows = BTreeMap::new();
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
        let h = match ch.map(|i| rec.get(i).unwrap_or("")) {
            Some(h) if !h.is_empty() => Some(h.to_string()),
            Some(_) => {
                problems.skipped.push((line, "the host is empty".into()));
                continue;
            }
            None => host.map(str::to_string),
        };
        rows.entry((c.to_string(), h)).or_default().push((t, s));
    }
    let mut series: BTreeMap<String, CpuSeries> = BTreeMap::new();
    for ((name, host), mut raw) in rows {
        problems.out_of_order += raw.windows(2).filter(|w| w[1].0 < w[0].0).count() as u64;
        // Stable: rows at one time keep their file order.
        raw.sort_by_key(|r| r.0);
        let mut e = CpuSeries {
            component: name.clone(),
            host: host.clone(),
            ..CpuSeries::default()
        };
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
        series.insert(series_key(&name, host.as_deref()), e);
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

    #[test]
    fn a_host_column_keeps_two_machines_counters_apart() {
        let text = "time,host,component,cpu_seconds\n0,web1,nginx,1\n0,web2,nginx,5\n10,web1,nginx,2\n10,web2,nginx,8\n10,,nginx,9\n";
        let (s, p) = read_cpu_csv(text).unwrap();
        assert_eq!(p.skipped.len(), 1, "a row with an empty host");
        assert_eq!(p.summed, 0, "not two processes of one machine");
        let ns = 1_000_000_000;
        let one = &s["nginx@web1"];
        assert_eq!(
            (one.component.as_str(), one.host.as_deref()),
            ("nginx", Some("web1"))
        );
        assert!((one.used_between(0, 10 * ns).unwrap() - 1.0).abs() < 1e-9);
        assert!((s["nginx@web2"].used_between(0, 10 * ns).unwrap() - 3.0).abs() < 1e-9);
        // A file of one machine's counters: its rows take the file's machine.
        let (s, _) = read_cpu_csv_on("time,component,cpu_seconds\n0,db,1\n", Some("db1")).unwrap();
        assert_eq!(s["db@db1"].host.as_deref(), Some("db1"));
    }
}
