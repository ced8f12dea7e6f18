//! The validation report: validation.md, validation.html (charts inline),
//! validation.json and the charts as PNG.

use std::fmt::Write as _;

use serde_json::json;

use super::charts;
use super::html::{CSS, html_table, html_table_short_heads, md_table};
use super::output::OutFolder;
use super::run::RunOutputError;
use super::topology::xml_escape;
use crate::calibrate::emit::iso;
use crate::calibrate::validation::TIERS;

fn finite(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}
use crate::calibrate::validation::Validation;
use crate::stats::Estimate;
use crate::units::grouped;

fn est(e: &Estimate) -> String {
    let two = |x: f64| grouped(&format!("{x:.2}"));
    match e.half_width {
        Some(h) => format!("{} ± {}", two(e.mean), two(h)),
        None => two(e.mean),
    }
}

fn rows(v: &Validation) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "window start",
            "observed rps",
            "simulated rps",
            "observed p50 ms",
            "simulated p50 ms",
            "observed p90 ms",
            "simulated p90 ms",
            "observed p99 ms",
            "simulated p99 ms",
            "observed cores",
            "simulated cores",
            "stable",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for w in &v.windows {
        let o = &w.observed;
        rows.push(vec![
            iso(o.start_ns),
            grouped(&format!("{:.1}", o.rate_rps)),
            est(&w.throughput_rps),
            format!("{:.2}", o.e2e_ms[0]),
            est(&w.latency_ms[0]),
            format!("{:.2}", o.e2e_ms[1]),
            est(&w.latency_ms[1]),
            format!("{:.2}", o.e2e_ms[2]),
            est(&w.latency_ms[2]),
            if o.cores.is_empty() {
                "-".into()
            } else {
                format!("{:.2}", o.cores.iter().map(|c| c.1).sum::<f64>())
            },
            w.cores.as_ref().map_or("-".into(), est),
            if w.stable { "yes" } else { "no" }.into(),
        ]);
    }
    rows
}

/// The columns `keep` of `rows`: the per-window table in two, for a page
/// 1,400 px wide.
fn columns(rows: &[Vec<String>], keep: &[usize]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| keep.iter().map(|&k| r[k].clone()).collect())
        .collect()
}

fn metric_rows(v: &Validation) -> Vec<Vec<String>> {
    let mut rows = vec![
        ["metric", "windows", "MAPE", "bias", "tolerance", "verdict"]
            .map(String::from)
            .to_vec(),
    ];
    for m in &v.metrics {
        rows.push(vec![
            m.name.to_string(),
            m.n.to_string(),
            format!("{:.1}%", m.mape * 100.0),
            format!("{:+.1}%", m.bias * 100.0),
            m.tolerance
                .map_or("-".into(), |t| format!("{:.0}%", t * 100.0)),
            match m.tolerance {
                None if m.misplaced() => "misplaced (over 50%)".into(),
                None => "-".into(),
                Some(_) if m.pass => "within".into(),
                Some(_) => "outside".into(),
            },
        ]);
    }
    rows
}

fn knee_line(v: &Validation) -> String {
    match &v.knee {
        None => "The capacity search was skipped (--no-knee).".into(),
        Some(k) => format!(
            "Predicted capacity (stacksim capacity's search at the logs' mix): {} requests/s. The logs show {} requests/s sustained in their busiest window{}. Difference: {:+.1}%.",
            crate::units::whole(k.predicted_rps),
            crate::units::whole(k.observed_max_rps),
            if k.saturated {
                ", at saturation (its median over ten times the simulated median at the quietest window): the measured knee"
            } else {
                ", without saturating: a lower bound on the real knee"
            },
            (k.predicted_rps / k.observed_max_rps - 1.0) * 100.0
        ),
    }
}

fn intro(v: &Validation) -> String {
    format!(
        "Each window of {} s was simulated at its observed rate and class mix: {} replications of {} after a {} warm-up. Verdict: {}. The per-tier rows (own time from the logs' nested timers, CPU from the counters by component name) carry no tolerance: they say where a difference comes from.{}",
        v.window_s,
        v.options.replications,
        v.options.duration,
        v.options.warmup,
        if v.pass {
            "within tolerance on every metric"
        } else {
            "outside tolerance on at least one metric"
        },
        v.clients
            .map_or(String::new(), |n| format!(" {}", clients_line(n)))
            + &v.pauses.as_ref().map_or(String::new(), |p| format!(
                " Pauses in the held-out logs: {}{}.",
                p.sentence(),
                if p.episodes.is_empty() {
                    ""
                } else {
                    "; `p99 without pauses` is the p99 error over the windows that hold none"
                }
            ))
    )
}

/// What a client connection cap changes in the comparison.
pub fn clients_line(n: u32) -> String {
    format!(
        "The simulated client holds {n} connections, as the logs' did: at most {n} requests outstanding, arrivals beyond wait, and latency is compared from send, where the logs' clock starts."
    )
}

/// Writes the report folder (opened, and locked, before the work) whole,
/// then moves it into place.
pub fn write(
    folder: OutFolder,
    name: &str,
    v: &Validation,
    provenance: &super::Provenance,
) -> Result<(), RunOutputError> {
    let (prov_md, prov_html) = provenance.section();
    let charts = charts::render_validation(v).map_err(RunOutputError::Chart)?;
    let mut md = format!("# Validation of `{name}`\n\n{}\n\n", intro(v));
    md.push_str(&md_table(&metric_rows(v)));
    let _ = writeln!(md, "\n{}\n", knee_line(v));
    for ch in &charts {
        let _ = writeln!(md, "![{}]({}.png)\n", ch.title, ch.name);
    }
    md.push_str("## Per window\n\n");
    md.push_str(&md_table(&rows(v)));
    md.push_str(&prov_md);
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Validation of {0}</title><style>{CSS}</style></head><body><h1>Validation of {0}</h1><p>{1}</p>",
        xml_escape(name),
        xml_escape(&intro(v))
    );
    html.push_str(&html_table(&metric_rows(v)));
    let _ = write!(html, "<p>{}</p>", xml_escape(&knee_line(v)));
    for ch in &charts {
        let _ = write!(
            html,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            ch.svg,
            xml_escape(&ch.title)
        );
    }
    let _ = write!(
        html,
        "<h2>Per window</h2>{}<p>The same windows' CPU, and whether each was simulated stable:</p>{}{prov_html}</body></html>",
        html_table_short_heads(&columns(&rows(v), &[0, 1, 2, 3, 4, 5, 6, 7, 8])),
        html_table_short_heads(&columns(&rows(v), &[0, 1, 9, 10, 11]))
    );
    let j = json!({
        "stacksim_version": provenance.version,
        "command_line": provenance.command_line,
        "inputs": provenance.inputs,
        "scenario": name,
        "pass": v.pass,
        "window_s": v.window_s,
        "client_connections": v.clients,
        "pauses": v.pauses,
        "replications": v.options.replications,
        "tolerance": {"p99": v.options.tolerance.p99, "throughput": v.options.tolerance.throughput, "cpu": v.options.tolerance.cpu},
        "metrics": v.metrics.iter().map(|m| json!({
            "metric": m.name, "windows": m.n, "mape": m.mape, "bias": m.bias, "tolerance": m.tolerance, "pass": m.pass, "misplaced": m.misplaced(),
        })).collect::<Vec<_>>(),
        "knee": v.knee.as_ref().map(|k| json!({
            "predicted_rps": k.predicted_rps,
            "observed_max_rps": k.observed_max_rps,
            "observed_saturated": k.saturated,
        })),
        "windows": v.windows.iter().map(|w| json!({
            "start": iso(w.observed.start_ns),
            "observed_rps": w.observed.rate_rps,
            "simulated_rps": w.throughput_rps,
            "observed_latency_ms": {"p50": w.observed.e2e_ms[0], "p90": w.observed.e2e_ms[1], "p99": w.observed.e2e_ms[2]},
            "simulated_latency_ms": {"p50": w.latency_ms[0], "p90": w.latency_ms[1], "p99": w.latency_ms[2]},
            "observed_cores": if w.observed.cores.is_empty() { None } else { Some(w.observed.cores.iter().map(|c| c.1).sum::<f64>()) },
            "simulated_cores": w.cores,
            "observed_own_ms": TIERS.iter().zip(w.observed.own_ms).map(|(t, v)| (t.to_string(), finite(v))).collect::<serde_json::Map<_, _>>(),
            "simulated_own_ms": TIERS.iter().zip(w.own_ms).map(|(t, v)| (t.to_string(), finite(v))).collect::<serde_json::Map<_, _>>(),
            "simulated_tier_cores": TIERS.iter().zip(w.tier_cores).map(|(t, v)| (t.to_string(), finite(v))).collect::<serde_json::Map<_, _>>(),
            "stable": w.stable,
        })).collect::<Vec<_>>(),
    });
    super::write_report_folder(folder, &charts, "validation", &md, &html, &j)
}
