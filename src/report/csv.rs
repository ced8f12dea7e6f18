//! `summary.csv` (a row per pool and per class) and `timeseries.csv` (a row
//! per sample interval). Units are in every column name; every estimate has
//! a `_hw95` column with its 95% half-width (empty with one replication).
//! Written with the `csv` crate: quoting and headers by the library.

use std::io::{self, Write};

use csv::Writer;

use super::{RunReport, slug};
use crate::stats::{Cause, Estimate, SeriesPoint};

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        String::new()
    }
}

fn cells(e: &Estimate) -> [String; 2] {
    [num(e.mean), e.half_width.map_or(String::new(), num)]
}

const SUMMARY_COLUMNS: [&str; 34] = [
    "arrival_rps",
    "throughput_rps",
    "utilization",
    "service_utilization",
    "queue_mean",
    "wait_mean_ms",
    "drops_rps",
    "drop_fraction",
    "availability",
    "availability_at_window_end",
    "unfinished_at_window_end",
    "error_rate",
    "error_rate_queue_full",
    "error_rate_timeout",
    "error_rate_backend_down",
    "error_rate_no_backend",
    "error_rate_no_primary",
    "error_rate_crash",
    "error_rate_conntrack_full",
    "attempts_per_request",
    "wasted_fraction",
    "down_fraction",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_p999_ms",
    "seen_mean_ms",
    "seen_p50_ms",
    "seen_p99_ms",
    "backlog_growth_rps",
    "offered_utilization",
    "little_ratio",
];

/// Writes `summary.csv`: `scope` is `pool` or `class` (`all` for the total).
/// Each row names its values by column, so a column can never shift.
pub fn write_summary_csv(r: &RunReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut header = vec!["scope".to_string(), "name".to_string()];
    for c in SUMMARY_COLUMNS {
        header.push(c.to_string());
        header.push(format!("{c}_hw95"));
    }
    let mut w = Writer::from_writer(w);
    w.write_record(&header)?;
    for (p, load) in r.pool_rows() {
        let ps = &r.summary.pools[p];
        let offered = Estimate {
            mean: load.utilization,
            half_width: None,
            n: 1,
        };
        let row = [
            ("arrival_rps", ps.arrival_rps),
            ("throughput_rps", ps.throughput_rps),
            ("utilization", ps.utilization),
            ("service_utilization", ps.service_utilization),
            ("queue_mean", ps.queue_mean),
            ("wait_mean_ms", ps.wait_mean_ms),
            ("drops_rps", ps.drops_rps),
            ("drop_fraction", ps.drop_fraction),
            ("latency_p50_ms", ps.latency_p50_ms),
            ("latency_p99_ms", ps.latency_p99_ms),
            ("backlog_growth_rps", ps.backlog_growth_rps),
            ("offered_utilization", offered),
            ("little_ratio", ps.little_ratio),
            ("wasted_fraction", ps.wasted_fraction),
            ("down_fraction", ps.down_fraction),
        ];
        write_row(&mut w, "pool", &load.label, &row)?;
    }
    let classes = r
        .scenario
        .classes
        .iter()
        .map(|c| c.name.as_str())
        .zip(&r.summary.classes);
    for (name, cs) in classes.chain(std::iter::once(("all", &r.summary.overall))) {
        let row = [
            ("arrival_rps", cs.offered_rps),
            ("throughput_rps", cs.throughput_rps),
            ("availability", cs.availability),
            ("availability_at_window_end", cs.availability_at_window_end),
            ("unfinished_at_window_end", cs.unfinished_at_window_end),
            ("error_rate", cs.error_rate),
            (
                "error_rate_queue_full",
                cs.error_rate_by_cause[Cause::QueueFull.index()],
            ),
            (
                "error_rate_timeout",
                cs.error_rate_by_cause[Cause::Timeout.index()],
            ),
            (
                "error_rate_backend_down",
                cs.error_rate_by_cause[Cause::BackendDown.index()],
            ),
            (
                "error_rate_no_backend",
                cs.error_rate_by_cause[Cause::NoBackend.index()],
            ),
            (
                "error_rate_no_primary",
                cs.error_rate_by_cause[Cause::NoPrimary.index()],
            ),
            (
                "error_rate_crash",
                cs.error_rate_by_cause[Cause::Crash.index()],
            ),
            (
                "error_rate_conntrack_full",
                cs.error_rate_by_cause[Cause::ConntrackFull.index()],
            ),
            ("attempts_per_request", cs.attempts_per_request),
            ("latency_mean_ms", cs.latency_mean_ms),
            ("latency_p50_ms", cs.latency_p50_ms),
            ("latency_p90_ms", cs.latency_p90_ms),
            ("latency_p95_ms", cs.latency_p95_ms),
            ("latency_p99_ms", cs.latency_p99_ms),
            ("latency_p999_ms", cs.latency_p999_ms),
            ("seen_mean_ms", cs.seen_mean_ms),
            ("seen_p50_ms", cs.seen_p50_ms),
            ("seen_p99_ms", cs.seen_p99_ms),
        ];
        write_row(&mut w, "class", name, &row)?;
    }
    w.flush()
}

fn write_row(
    w: &mut Writer<&mut dyn Write>,
    scope: &str,
    name: &str,
    row: &[(&str, Estimate)],
) -> io::Result<()> {
    debug_assert!(
        row.iter().all(|(c, _)| SUMMARY_COLUMNS.contains(c)),
        "unknown column"
    );
    let mut out = vec![scope.to_string(), name.to_string()];
    for col in SUMMARY_COLUMNS {
        match row.iter().find(|(c, _)| *c == col) {
            Some((_, e)) => out.extend(cells(e)),
            None => out.extend([String::new(), String::new()]),
        }
    }
    w.write_record(&out)?;
    Ok(())
}

/// The time-series columns shared by every run, each with its value.
type SeriesColumn = (&'static str, fn(&SeriesPoint) -> &Estimate);
const SERIES_COLUMNS: [SeriesColumn; 7] = [
    ("offered_rps", |s| &s.offered_rps),
    ("completed_rps", |s| &s.completed_rps),
    ("failed_rps", |s| &s.failed_rps),
    ("failed_attempts_rps", |s| &s.failed_attempts_rps),
    ("latency_p50_ms", |s| &s.latency_p50_ms),
    ("latency_p95_ms", |s| &s.latency_p95_ms),
    ("latency_p99_ms", |s| &s.latency_p99_ms),
];

/// Writes `timeseries.csv`: one row per interval, warm-up included
/// (`phase` says which), then per-class latency and per-pool utilization
/// and queue columns.
pub fn write_timeseries_csv(r: &RunReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    let warmup_s = r.scenario.simulation.warmup_ns() as f64 / 1e9;
    let classes: Vec<String> = r.scenario.classes.iter().map(|c| slug(&c.name)).collect();
    let pools: Vec<(usize, String)> = r.pool_rows().map(|(p, l)| (p, slug(&l.label))).collect();
    let mut names: Vec<String> = SERIES_COLUMNS.iter().map(|(n, _)| n.to_string()).collect();
    names.extend(
        Cause::ALL
            .iter()
            .map(|c| format!("failed_{}_rps", c.as_str())),
    );
    for c in &classes {
        names.extend(["p50", "p95", "p99"].map(|q| format!("latency_{q}_ms_{c}")));
    }
    for (_, p) in &pools {
        names.push(format!("utilization_{p}"));
        names.push(format!("queue_{p}"));
    }
    let mut header = vec!["time_s".to_string(), "phase".to_string()];
    for n in names {
        let hw = format!("{n}_hw95");
        header.extend([n, hw]);
    }
    let mut w = Writer::from_writer(w);
    w.write_record(&header)?;
    for s in &r.summary.series {
        let phase = if s.start_s < warmup_s {
            "warmup"
        } else {
            "observe"
        };
        let mut row = vec![num(s.start_s), phase.to_string()];
        for (_, get) in SERIES_COLUMNS {
            row.extend(cells(get(s)));
        }
        for e in &s.errors_rps {
            row.extend(cells(e));
        }
        for c in 0..classes.len() {
            for e in &s.class_latency_ms[c] {
                row.extend(cells(e));
            }
        }
        for (p, _) in &pools {
            row.extend(cells(&s.utilization[*p]));
            row.extend(cells(&s.queue[*p]));
        }
        debug_assert_eq!(row.len(), header.len());
        w.write_record(&row)?;
    }
    w.flush()
}

/// Writes `faults.csv`: every component event of every replication (a
/// header alone when nothing failed).
pub fn write_faults_csv(r: &RunReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut w = Writer::from_writer(w);
    w.write_record(["replication", "time_s", "component", "event"])?;
    for (rep, events) in r.summary.timelines.iter().enumerate() {
        for e in events {
            w.write_record([
                rep.to_string(),
                num(e.time_s),
                e.component.clone(),
                e.event.as_str().to_string(),
            ])?;
        }
    }
    w.flush()
}
