//! The calibration report: calibration.md, calibration.html (charts inline),
//! calibration.json and the charts as PNG, in one folder.
//!
//! `report` reads the calibration's result types (a data stage, like
//! `stats`); `calibrate` never calls `report` (recorded in docs/design.md).

use std::fmt::Write as _;

use serde_json::json;

use super::charts::{self, RenderedChart};
use super::html::{CSS, html_table, md_table};
use super::output::OutFolder;
use super::run::RunOutputError;
use super::topology::xml_escape;
use crate::calibrate::Calibration;
use crate::calibrate::build::checks;
use crate::calibrate::emit::iso;
use crate::calibrate::fit::fmt_p;

/// Rows of a table, the first the header.
type Rows = Vec<Vec<String>>;

fn files_rows(c: &Calibration) -> Rows {
    let mut rows = vec![
        [
            "file",
            "kind",
            "lines",
            "records",
            "skipped",
            "outside --since/--until",
            "aborted",
            "unclassified",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for f in &c.files {
        rows.push(vec![
            f.path.display().to_string(),
            f.kind.to_string(),
            f.lines.to_string(),
            f.records.to_string(),
            f.skipped.to_string(),
            f.out_of_range.to_string(),
            f.aborted.to_string(),
            f.unclassified.to_string(),
        ]);
    }
    rows
}

fn skipped_rows(c: &Calibration) -> Rows {
    let mut rows = vec![vec![
        "file".into(),
        "line".into(),
        "text (first 160 bytes)".into(),
    ]];
    for f in &c.files {
        for (n, t) in &f.skipped_examples {
            rows.push(vec![f.path.display().to_string(), n.to_string(), t.clone()]);
        }
    }
    rows
}

fn tier_rows(c: &Calibration) -> Rows {
    let mut rows = vec![
        [
            "tier",
            "class",
            "requests",
            "mean ms",
            "cv",
            "cpu ms/request",
            "scenario uses",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &c.tiers {
        for ct in &t.times {
            rows.push(vec![
                t.name.to_string(),
                ct.class.clone(),
                ct.n.to_string(),
                format!("{:.3}", ct.mean_ns / 1e6),
                format!("{:.2}", ct.cv),
                t.cpu_fraction
                    .map_or("-".into(), |f| format!("{:.3}", ct.mean_ns * f / 1e6)),
                short(&ct.dist.spell()),
            ]);
        }
    }
    rows
}

fn short(s: &str) -> String {
    if s.len() > 60 {
        format!("{}...)", &s[..56])
    } else {
        s.to_string()
    }
}

/// How each tier and class's time was obtained, and its flags.
fn how_lines(c: &Calibration) -> Vec<String> {
    let mut out = Vec::new();
    for t in &c.tiers {
        for ct in &t.times {
            let mut l = format!("{} / {}: {}", t.name, ct.class, ct.how);
            for f in &ct.flags {
                let _ = write!(l, "; {f}");
            }
            out.push(l);
        }
    }
    out
}

fn candidate_rows(c: &Calibration) -> Rows {
    let mut rows = vec![
        [
            "tier",
            "class",
            "candidate",
            "chi2/df",
            "df",
            "p",
            "largest CDF gap",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &c.tiers {
        for ct in &t.times {
            if let Some(f) = &ct.fit {
                for k in &f.candidates {
                    rows.push(vec![
                        t.name.to_string(),
                        ct.class.clone(),
                        k.name.to_string(),
                        format!("{:.2}", k.chi2 / f64::from(k.df.max(1))),
                        k.df.to_string(),
                        fmt_p(k.p),
                        format!("{:.3}", k.gap),
                    ]);
                }
            }
        }
    }
    rows
}

fn cpu_rows(c: &Calibration) -> Rows {
    let mut rows = vec![
        [
            "component",
            "tier",
            "windows",
            "ms CPU / request of its tier",
            "intercept cores",
            "cores with no traffic",
            "R^2",
            "requests/s range",
            "separable",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let pm = |v: f64, hw: f64, k: f64, d: usize| {
        if hw.is_finite() {
            format!("{:.d$} ± {:.d$}", v * k, hw * k)
        } else {
            format!("{:.d$}", v * k)
        }
    };
    for comp in &c.components {
        let Some(l) = &comp.line else { continue };
        rows.push(vec![
            match &comp.host {
                Some(h) => format!("{} on {h}", comp.component),
                None => comp.component.clone(),
            },
            comp.tier
                .clone()
                .unwrap_or_else(|| "(none: off the path)".into()),
            l.n.to_string(),
            pm(l.per_request_s, l.per_request_hw, 1e3, 4),
            pm(l.background_cores, l.background_hw, 1.0, 3),
            comp.idle.as_ref().map_or("no quiet spell".into(), |q| {
                format!("{:.3} (over {:.1} s)", q.cores, q.seconds)
            }),
            format!("{:.3}", l.r2),
            format!("{:.0} to {:.0}", l.rate_range.0, l.rate_range.1),
            if l.separable {
                "yes"
            } else {
                "no: one load level"
            }
            .into(),
        ]);
    }
    rows
}

fn window_rows(c: &Calibration) -> Rows {
    let mut rows = vec![
        [
            "window start",
            "requests/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "errors",
            "lb own ms",
            "web own ms",
            "app own ms",
            "db ms",
            "cores (all)",
            "dispersion",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for w in &c.windows {
        rows.push(vec![
            iso(w.start_ns),
            format!("{:.1}", w.rate_rps),
            format!("{:.1}", w.e2e_ms[0]),
            format!("{:.1}", w.e2e_ms[1]),
            format!("{:.1}", w.e2e_ms[2]),
            w.errors.to_string(),
            fmt_ms(w.own_ms[0]),
            fmt_ms(w.own_ms[1]),
            fmt_ms(w.own_ms[2]),
            fmt_ms(w.own_ms[3]),
            if w.cores.is_empty() {
                "-".into()
            } else {
                format!("{:.2}", w.cores.iter().map(|x| x.1).sum::<f64>())
            },
            format!("{:.2}", w.dispersion),
        ]);
    }
    rows
}

fn fmt_ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "-".into()
    }
}

struct Section {
    title: &'static str,
    intro: String,
    table: Option<Rows>,
    list: Vec<String>,
    chart: Option<usize>,
}

fn sections(c: &Calibration) -> Vec<Section> {
    let a = &c.arrivals;
    vec![
        Section {
            title: "Inputs",
            intro: format!(
                "Windows of {} s{}; {} full windows used, {} partial dropped. The slow log's `SET timestamp` has whole seconds, so statements are windowed to within a second; HAProxy's and Nginx's timers have 1 ms resolution, handled in the fits (docs/calibrate.md).",
                c.window_s,
                c.window_note
                    .as_ref()
                    .map_or(String::new(), |n| format!(" ({n})")),
                c.windows.len(),
                c.partial_windows
            ),
            table: Some(files_rows(c)),
            list: Vec::new(),
            chart: None,
        },
        Section {
            title: "Lines skipped",
            intro: if c.files.iter().any(|f| f.skipped > 0) {
                "The first lines of each file that were not records of its format (counted, not fatal).".into()
            } else {
                "None: every line of every file was a record of its format.".into()
            },
            table: c.files.iter().any(|f| f.skipped > 0).then(|| skipped_rows(c)),
            list: Vec::new(),
            chart: None,
        },
        Section {
            title: "Arrivals",
            intro: format!(
                "{} requests/s on average; {} (constant-rate test p {}); dispersion index {:.2} in 1 s counts (Poisson gives 1).",
                crate::units::grouped(&format!("{:.1}", a.mean_rps)),
                if a.varies { "the rate varies between windows: the scenario follows it with a schedule" } else { "constant across windows" },
                fmt_p(a.constant_p),
                a.dispersion
            ),
            table: Some(window_rows(c)),
            list: c
                .classes
                .iter()
                .map(|(n, s, w, k)| format!("class {n}: {:.2}% of requests ({k}), {}", s * 100.0, if *w { "writes" } else { "reads" }))
                .collect(),
            chart: Some(0),
        },
        Section {
            title: "Each tier's own time",
            intro: "From nested timers: HAProxy Ta minus Nginx $request_time is the balancer's; $request_time minus $upstream_response_time is Nginx's; the upstream time minus the database's is the application's; the slow log's Query_time is the database's. Where one line holds both timers the difference is per request and fitted; where they sit in different logs only means and variances subtract.".into(),
            table: Some(tier_rows(c)),
            list: how_lines(c),
            chart: Some(1),
        },
        Section {
            title: "Goodness of fit",
            intro: format!(
                "Each candidate is moment-matched and judged by a chi-square test on the binned counts, expected counts computed through the timer's quantization. The candidate with the smallest chi-square per degree of freedom is used when p >= {} or its largest CDF gap <= {}; otherwise the empirical distribution.",
                crate::calibrate::fit::P_ACCEPT,
                crate::calibrate::fit::GAP_ACCEPT
            ),
            table: Some(candidate_rows(c)),
            list: Vec::new(),
            chart: None,
        },
        Section {
            title: "CPU per request and background CPU",
            intro: "Each component's cores in each window against the requests through its tier there (all requests for a component no log covers): the utilization law. The slope is CPU per request; a tier's CPU per visit sums its components (web1 + web2). The intercept is CPU not proportional to requests. Where the counters span quiet spells (a CPU sample interval with no request in flight), the CPU measured there is the background that competes with requests, and what the intercept holds above it flows only with traffic (wake-ups, idle polling): it becomes idle_background, which yields to requests and vanishes at saturation. Without quiet spells the whole intercept is background, which understates capacity if it is such overhead. Intervals are 95% (Student t).".into(),
            table: Some(cpu_rows(c)),
            list: c
                .hosts
                .iter()
                .flat_map(|h| {
                    let on = if c.hosts.len() > 1 { format!(" on {}", h.name) } else { String::new() };
                    [&h.background, &h.idle_background]
                        .into_iter()
                        .zip(["background", "idle_background"])
                        .filter_map(move |(b, k)| b.as_ref().map(|b| format!("{k}{on} = {:.3} cores: {}", b.value, b.source)))
                        .collect::<Vec<_>>()
                })
                .chain(c.tiers.iter().filter_map(|t| t.wake.as_ref().map(|w| w.sentence(&t.name))))
                .collect(),
            chart: Some(2),
        },
        Section {
            title: "Pauses",
            intro: match &c.pauses {
                Some(p) => format!(
                    "Seconds whose median latency at the entry tier is at least {}x the minute around it (and {} ms above), with no more requests than around it (20% and three Poisson deviations), are pauses: a garbage collection, a checkpoint, CPU stolen by a neighbour. {}.",
                    crate::calibrate::pauses::JUMP,
                    crate::calibrate::pauses::JUMP_FLOOR_NS / 1e6,
                    p.sentence()
                ),
                None => "Not looked for: pause detection reads request logs, not traces.".into(),
            },
            table: c.pauses.as_ref().filter(|p| !p.episodes.is_empty()).map(pause_rows),
            list: Vec::new(),
            chart: None,
        },
        Section {
            title: "Check these",
            intro: "Values no input held, marked CHECK in the scenario, and what else calibration noticed.".into(),
            table: None,
            list: checks(c).into_iter().chain(c.warnings.iter().map(|w| format!("warning: {w}"))).collect(),
            chart: None,
        },
    ]
}

fn pause_rows(p: &crate::calibrate::pauses::PauseReport) -> Rows {
    let mut rows = vec![
        [
            "start",
            "seconds",
            "peak median ms",
            "around ms",
            "load vs around",
            "tier",
            "tier time x",
            "slowdown",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in &p.episodes {
        rows.push(vec![
            iso(e.start_s * 1_000_000_000),
            e.seconds.to_string(),
            format!("{:.0}", e.peak_median_ms),
            format!("{:.1}", e.baseline_ms),
            format!("{:.2}", e.load_ratio),
            e.tier.clone().unwrap_or_else(|| "-".into()),
            e.tier_ratio.map_or("-".into(), |r| format!("{r:.1}")),
            e.slowdown.map_or("-".into(), |k| format!("{k:.2}")),
        ]);
    }
    rows
}

fn markdown(c: &Calibration, charts: &[RenderedChart], scenario: &str) -> String {
    let mut o = format!("# Calibration of `{}`\n\n", c.name);
    for s in sections(c) {
        let _ = writeln!(o, "## {}\n\n{}\n", s.title, s.intro);
        if let Some(t) = &s.table {
            o.push_str(&md_table(t));
            o.push('\n');
        }
        for l in &s.list {
            let _ = writeln!(o, "- {l}");
        }
        if !s.list.is_empty() {
            o.push('\n');
        }
        if let Some(ch) = s.chart.and_then(|i| charts.get(i)) {
            let _ = writeln!(o, "![{}]({}.png)\n", ch.title, ch.name);
        }
    }
    let _ = writeln!(o, "## The scenario written\n\n```toml\n{scenario}```");
    o
}

fn html(c: &Calibration, charts: &[RenderedChart], scenario: &str) -> String {
    let mut o = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Calibration of {0}</title><style>{CSS}</style></head><body><h1>Calibration of {0}</h1>",
        xml_escape(&c.name)
    );
    for s in sections(c) {
        let _ = write!(o, "<h2>{}</h2><p>{}</p>", s.title, xml_escape(&s.intro));
        if let Some(t) = &s.table {
            o.push_str(&html_table(t));
        }
        if !s.list.is_empty() {
            o.push_str("<ul>");
            for l in &s.list {
                let _ = write!(o, "<li>{}</li>", xml_escape(l));
            }
            o.push_str("</ul>");
        }
        if let Some(ch) = s.chart.and_then(|i| charts.get(i)) {
            let _ = write!(
                o,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                ch.svg,
                xml_escape(&ch.title)
            );
        }
    }
    let _ = write!(
        o,
        "<h2>The scenario written</h2><pre>{}</pre></body></html>",
        xml_escape(scenario)
    );
    o
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn json(c: &Calibration) -> serde_json::Value {
    json!({
        "name": c.name,
        "window_s": c.window_s,
        "arrivals": {
            "mean_rps": c.arrivals.mean_rps,
            "varies": c.arrivals.varies,
            "constant_rate_p": c.arrivals.constant_p,
            "dispersion_index": c.arrivals.dispersion,
        },
        "classes": c.classes.iter().map(|(n, s, w, k)| json!({"name": n, "share": s, "access": if *w {"write"} else {"read"}, "requests": k})).collect::<Vec<_>>(),
        "tiers": c.tiers.iter().map(|t| json!({
            "name": t.name,
            "workers": t.workers.value,
            "workers_source": t.workers.source,
            "workers_check": t.workers.check,
            "cpu_fraction": t.cpu_fraction,
            "times": t.times.iter().map(|ct| json!({
                "class": ct.class,
                "requests": ct.n,
                "mean_ms": ct.mean_ns / 1e6,
                "cv": ct.cv,
                "distribution": ct.dist.spell(),
                "how": ct.how,
                "flags": ct.flags,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "cpu": c.components.iter().filter_map(|comp| comp.line.as_ref().map(|l| json!({
            "component": comp.component,
            "host": comp.host,
            "tier": comp.tier,
            "windows": l.n,
            "cpu_ms_per_request": l.per_request_s * 1e3,
            "cpu_ms_per_request_half_width": if l.per_request_hw.is_finite() { Some(l.per_request_hw * 1e3) } else { None },
            "background_cores": l.background_cores,
            "quiet": comp.idle.as_ref().map(|q| json!({"cores": q.cores, "seconds": q.seconds, "intervals": q.intervals})),
            "r2": if l.r2.is_finite() { Some(l.r2) } else { None },
            "separable": l.separable,
        }))).collect::<Vec<_>>(),
        "windows": c.windows.iter().map(|w| json!({
            "start": iso(w.start_ns),
            "rate_rps": w.rate_rps,
            "latency_p50_ms": w.e2e_ms[0],
            "latency_p90_ms": w.e2e_ms[1],
            "latency_p99_ms": w.e2e_ms[2],
            "errors": w.errors,
            "own_ms": {"lb": finite(w.own_ms[0]), "web": finite(w.own_ms[1]), "app": finite(w.own_ms[2]), "db": finite(w.own_ms[3])},
        })).collect::<Vec<_>>(),
        "pauses": c.pauses,
        "checks": checks(c),
        "warnings": c.warnings,
    })
}

/// Writes the report folder (opened, and locked, before the work) whole,
/// then moves it into place.
pub fn write(
    folder: OutFolder,
    c: &Calibration,
    scenario: &str,
    provenance: &super::Provenance,
) -> Result<(), RunOutputError> {
    stage(&folder, c, scenario, provenance)?;
    folder.commit().map_err(RunOutputError::Output)
}

/// Writes every file of the report into the folder's staging area, leaving
/// the move into place ([`OutFolder::commit`]) to the caller, which puts
/// other files in place first.
pub fn stage(
    folder: &OutFolder,
    c: &Calibration,
    scenario: &str,
    provenance: &super::Provenance,
) -> Result<(), RunOutputError> {
    let layout = folder.layout();
    let dir = layout.dir();
    let charts = charts::render_calibration(c).map_err(RunOutputError::Chart)?;
    for ch in &charts {
        layout
            .write_atomic(&layout.chart_png(ch.name), |w| w.write_all(&ch.png))
            .map_err(RunOutputError::Output)?;
    }
    let (prov_md, prov_html) = provenance.section();
    let page = html(c, &charts, scenario);
    let page = match page.rfind("</body>") {
        Some(at) => format!("{}{prov_html}{}", &page[..at], &page[at..]),
        None => page + &prov_html,
    };
    let mut j = json(c);
    j["stacksim_version"] = provenance.version.clone().into();
    j["command_line"] = provenance.command_line.clone().into();
    j["inputs"] = serde_json::to_value(&provenance.inputs).unwrap_or_default();
    let files = [
        ("calibration.md", markdown(c, &charts, scenario) + &prov_md),
        ("calibration.html", page),
        (
            "calibration.json",
            serde_json::to_string_pretty(&j).unwrap_or_default() + "\n",
        ),
    ];
    for (name, text) in files {
        layout
            .write_atomic(&dir.join(name), |w| w.write_all(text.as_bytes()))
            .map_err(RunOutputError::Output)?;
    }
    Ok(())
}
