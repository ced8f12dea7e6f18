//! The capacity search as a report: `capacity.json` (the answer, every
//! probe's figures with their intervals, provenance), `capacity.md`,
//! `capacity.html` and the charts (latency and throughput against the
//! probed rate, with the SLOs and the bracket), written whole or not at all.

use std::fmt::Write as _;

use serde_json::json;

use super::Provenance;
use super::capacity_result::{CapacityResult, Outcome, Probe};
use super::charts;
use super::html::{CSS, html_table, md_table};
use super::output::OutFolder;
use super::run::RunOutputError;
use super::topology::xml_escape;
use crate::analysis::slo::Slo;
use crate::stats::Estimate;
use crate::units::grouped;

/// A rate as printed: one decimal, thousands grouped.
fn rps(v: f64) -> String {
    grouped(&format!("{v:.1}"))
}

/// A stated capacity: its digits and no more (`1,350`, `87`, `0.37`).
fn stated(v: f64) -> String {
    let mut t = format!("{v:.3}");
    while t.contains('.') && (t.ends_with('0') || t.ends_with('.')) {
        t.pop();
    }
    grouped(&t)
}

/// An estimate with its half-width, at `d` decimals.
fn est(e: &Estimate, d: usize, scale: f64) -> String {
    let v = |x: f64| grouped(&format!("{:.d$}", x * scale));
    match e.half_width {
        Some(h) => format!("{} ± {}", v(e.mean), v(h)),
        None => v(e.mean),
    }
}

/// The answer as the terminal prints it, a line each: the capacity (to
/// the precision the search resolved), the bracket and why its top fails,
/// and the scenario's faults every probe ran with.
pub fn answer_lines(r: &CapacityResult, slo_text: &str) -> Vec<String> {
    let failing = r
        .failing_rps
        .and_then(|f| r.probes.iter().find(|p| p.rate_rps == f));
    let mut out = vec![if r.capacity_rps > 0.0 {
        let how = if r.stated_rps == r.capacity_rps {
            String::new()
        } else {
            format!(
                " (the highest rate that passed, {}, to the precision the search resolved)",
                rps(r.capacity_rps)
            )
        };
        format!(
            "capacity: {} requests/s{how}: every SLO ({slo_text}) holds there with 95% confidence",
            stated(r.stated_rps)
        )
    } else {
        format!("capacity: no rate tried meets every SLO ({slo_text}) with 95% confidence")
    }];
    out.push(match failing {
        Some(p) => format!(
            "interval: the capacity lies in [{}, {}] requests/s; at {} the SLOs fail: {}",
            rps(r.capacity_rps),
            rps(p.rate_rps),
            rps(p.rate_rps),
            p.detail
        ),
        None => "no rate tried failed with confidence; the capacity may be higher".into(),
    });
    if !r.faults.is_empty() {
        out.push(format!(
            "faults: every probe ran with the scenario's scripted faults ({}): the capacity is the rate that meets the SLOs with them",
            r.faults.join("; ")
        ));
    }
    out
}

/// The answer in sentences, for the report.
pub fn answer(r: &CapacityResult, slo_text: &str) -> String {
    answer_lines(r, slo_text)
        .iter()
        .map(|l| {
            let l = l
                .strip_prefix("interval: the capacity")
                .map_or(l.to_string(), |rest| format!("It{rest}"));
            let mut c = l.chars();
            let first = c.next().map(|x| x.to_uppercase().to_string());
            format!("{}{}.", first.unwrap_or_default(), c.as_str())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn probe_rows(r: &CapacityResult) -> Vec<Vec<String>> {
    let mut probes: Vec<&Probe> = r.probes.iter().collect();
    probes.sort_by(|x, y| x.rate_rps.total_cmp(&y.rate_rps));
    let mut rows = vec![
        [
            "offered rps",
            "verdict",
            "throughput rps",
            "p50 ms",
            "p99 ms",
            "errors %",
            "bottleneck",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in probes {
        let f = &p.figures;
        let latency = |e: &Estimate| {
            if f.unstable {
                "no steady state".to_string()
            } else {
                est(e, 2, 1.0)
            }
        };
        rows.push(vec![
            rps(p.rate_rps),
            match p.outcome {
                Outcome::Pass => "pass",
                Outcome::Uncertain => "uncertain",
                Outcome::Fail => "fail",
            }
            .to_string(),
            est(&f.throughput_rps, 1, 1.0),
            latency(&f.latency_p50_ms),
            latency(&f.latency_p99_ms),
            est(&f.error_rate, 2, 100.0),
            f.bottleneck
                .as_ref()
                .map(|(l, u)| format!("{l} at {:.0}%", u * 100.0))
                .unwrap_or_default(),
        ]);
    }
    rows
}

/// Writes the report folder (opened, and locked, before the search)
/// whole, then moves it into place.
pub fn write(
    folder: OutFolder,
    name: &str,
    slos: &[Slo],
    r: &CapacityResult,
    provenance: &Provenance,
) -> Result<(), RunOutputError> {
    let charts = charts::render_capacity(r, slos).map_err(RunOutputError::Chart)?;
    let slo_text = slos
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let settings = r.probes.first().map(|p| &p.settings);
    let method = match settings {
        Some(s) => format!(
            "Each probe replaces the workload with Poisson arrivals at its rate and runs {} replications of {} s after a {} s warm-up (seed {}); a probe passes when every SLO's 95% interval is on the right side of its limit, fails when one is wholly on the wrong side or a pool has no steady state. The search doubles or halves from the workload's rate until it brackets the answer, then bisects.",
            s.replications, s.duration_s, s.warmup_s, s.seed
        ),
        None => String::new(),
    };
    let intro = answer(r, &slo_text);
    let mut md = format!("# Capacity of `{name}`\n\n{intro}\n\n{method}\n\n");
    for ch in &charts {
        let _ = writeln!(md, "![{}]({}.png)\n", ch.title, ch.name);
    }
    md.push_str("## Probes, by rate\n\n");
    md.push_str(&md_table(&probe_rows(r)));
    let (prov_md, prov_html) = provenance.section();
    md.push_str(&prov_md);
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Capacity of {0}</title><style>{CSS}</style></head><body><h1>Capacity of {0}</h1><p><strong>{1}</strong></p><p>{2}</p>",
        xml_escape(name),
        xml_escape(&intro),
        xml_escape(&method)
    );
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
        "<h2>Probes, by rate</h2>{}{prov_html}</body></html>",
        html_table(&probe_rows(r)),
    );
    let j = json!({
        "stacksim_version": provenance.version,
        "command_line": provenance.command_line,
        "scenario": {"name": name, "path": provenance.scenario_path},
        "slos": slos.iter().map(|s| s.text.clone()).collect::<Vec<_>>(),
        "capacity_rps": r.capacity_rps,
        "stated_rps": r.stated_rps,
        "failing_rps": r.failing_rps,
        "faults": r.faults,
        "probes": r.probes,
    });
    super::write_report_folder(folder, &charts, "capacity", &md, &html, &j)
}
