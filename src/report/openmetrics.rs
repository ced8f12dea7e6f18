//! `run --openmetrics FILE`: the run's time series in the OpenMetrics text
//! format, so that `promtool tsdb create-blocks-from-openmetrics` puts a
//! simulated run beside a team's real metrics in the same dashboards.
//!
//! Names follow the OpenTelemetry semantic conventions as Prometheus spells
//! them where one exists (`http.server.request.duration`, a duration in
//! seconds, is `http_server_request_duration_seconds`); the rest carry a
//! `stacksim_` prefix. Every sample is the mean across replications of one
//! time-series interval, stamped at the interval's end, from `start` (Unix
//! seconds) as the run's simulated time zero. Intervals with no value (no
//! completion, so no latency) have no sample. Every series carries the
//! scenario's name as `service_name`.

use std::io::{self, Write};

use super::RunReport;
use crate::stats::{Cause, Estimate, SeriesPoint};

/// The first line of every file this writes: how a file is told to be ours
/// (so a second run may replace it without `--force`).
const FIRST: &str = "# HELP http_server_request_duration_seconds Duration of HTTP server requests, simulated by stacksim";

/// Whether `head` (a file's first bytes) is an export this wrote.
pub fn is_simulated_openmetrics(head: &[u8]) -> bool {
    head.starts_with(FIRST.as_bytes())
}

/// A label value escaped as OpenMetrics wants (`\\`, `\"`, `\n`).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A number as OpenMetrics reads it (no thousands, full precision).
fn num(x: f64) -> String {
    format!("{x}")
}

/// One family: its metadata lines, then each series' samples in time order.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    unit: Option<&'a str>,
    help: &'a str,
}

impl Family<'_> {
    fn head(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.name == "http_server_request_duration_seconds" {
            writeln!(w, "{FIRST} (end to end, mean across replications).")?;
        } else {
            writeln!(w, "# HELP {} {}", self.name, self.help)?;
        }
        writeln!(w, "# TYPE {} {}", self.name, self.kind)?;
        if let Some(u) = self.unit {
            writeln!(w, "# UNIT {} {u}", self.name)?;
        }
        Ok(())
    }
}

/// Writes the export of `r`'s time series, simulated time zero at `start`
/// (Unix seconds).
pub fn write_openmetrics(r: &RunReport<'_>, start: f64, w: &mut dyn Write) -> io::Result<()> {
    let series = &r.summary.series;
    let step = r.scenario.simulation.sample_every_ns as f64 / 1e9;
    let service = format!("service_name=\"{}\"", escape(&r.scenario.name));
    let at = |s: &SeriesPoint| start + s.start_s + step;
    // One series: `name{labels} value timestamp` per interval with a value.
    let line = |w: &mut dyn Write,
                name: &str,
                labels: &str,
                get: &dyn Fn(&SeriesPoint) -> Estimate,
                scale: f64|
     -> io::Result<()> {
        for s in series {
            let v = get(s).mean * scale;
            if v.is_finite() {
                writeln!(w, "{name}{{{labels}}} {} {}", num(v), num(at(s)))?;
            }
        }
        Ok(())
    };
    let latency = Family {
        name: "http_server_request_duration_seconds",
        kind: "summary",
        unit: Some("seconds"),
        help: "",
    };
    latency.head(w)?;
    type Get = fn(&SeriesPoint) -> Estimate;
    let quantiles: [(&str, Get); 3] = [
        ("0.5", |s| s.latency_p50_ms),
        ("0.95", |s| s.latency_p95_ms),
        ("0.99", |s| s.latency_p99_ms),
    ];
    // One MetricPoint per interval: its quantiles, then the count of
    // requests completed since the start (cumulative), at one timestamp.
    let mut done = 0.0;
    for s in series {
        let t = num(at(s));
        for (q, get) in quantiles {
            let v = get(s).mean * 1e-3;
            if v.is_finite() {
                writeln!(
                    w,
                    "{}{{{service},quantile=\"{q}\"}} {} {t}",
                    latency.name,
                    num(v)
                )?;
            }
        }
        let c = s.completed_rps.mean;
        if c.is_finite() {
            done += c * step;
        }
        writeln!(
            w,
            "{}_count{{{service}}} {} {t}",
            latency.name,
            num(done.round())
        )?;
    }
    let rates: [(&str, &str, Get); 3] = [
        (
            "stacksim_offered_requests_per_second",
            "User requests arriving per second in the interval (mean across replications).",
            |s| s.offered_rps,
        ),
        (
            "stacksim_completed_requests_per_second",
            "User requests completed per second in the interval (mean across replications).",
            |s| s.completed_rps,
        ),
        (
            "stacksim_failed_requests_per_second",
            "User requests failed for good per second in the interval, all causes (mean across replications).",
            |s| s.failed_rps,
        ),
    ];
    for (name, help, get) in rates {
        Family {
            name,
            kind: "gauge",
            unit: None,
            help,
        }
        .head(w)?;
        line(w, name, &service, &get, 1.0)?;
    }
    let name = "stacksim_failed_requests_by_cause_per_second";
    Family {
        name,
        kind: "gauge",
        unit: None,
        help: "User requests failed per second by the cause of their last attempt (mean across replications).",
    }
    .head(w)?;
    for (k, cause) in Cause::ALL.iter().enumerate() {
        line(
            w,
            name,
            &format!("{service},cause=\"{}\"", cause.as_str()),
            &|s: &SeriesPoint| s.errors_rps[k],
            1.0,
        )?;
    }
    let pools: Vec<(usize, String)> = r.pool_rows().map(|(p, l)| (p, l.label.clone())).collect();
    for (name, unit, help, scale, utilization) in [
        (
            "stacksim_utilization_ratio",
            Some("ratio"),
            "Busy workers / workers of each tier or database role, time-average over the interval (mean across replications).",
            1.0,
            true,
        ),
        (
            "stacksim_queue_length",
            None,
            "Requests waiting at each tier or database role, time-average over the interval (mean across replications).",
            1.0,
            false,
        ),
    ] {
        Family {
            name,
            kind: "gauge",
            unit,
            help,
        }
        .head(w)?;
        for (p, label) in &pools {
            let p = *p;
            let get = move |s: &SeriesPoint| {
                if utilization {
                    s.utilization[p]
                } else {
                    s.queue[p]
                }
            };
            line(
                w,
                name,
                &format!("{service},component=\"{}\"", escape(label)),
                &get,
                scale,
            )?;
        }
    }
    writeln!(w, "# EOF")
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
