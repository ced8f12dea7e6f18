//! `stacksim compare`: two or more designs side by side, each against the
//! first, with paired differences (common random numbers). The terminal
//! text, `compare.json`, `compare.csv`, `compare.md` and `compare.html`
//! (paired latency CDFs, utilization in pairs, each design's verdicts).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::RunOutputError;
use super::charts::{self, RenderedChart};
use super::html::{CSS, html_table, html_text_table, md_table};
use super::narrative::verdict_sentences;
use super::output::{OutFolder, OutputError};
pub use super::pairing::{CompareReport, Design, Pairing, Presence, RowComparison};
use super::topology::xml_escape;
use crate::stats::Difference;

/// `12.3 ± 0.4`, or `12.3` with no interval, `-` with no value.
fn est(e: &crate::stats::Estimate, unit: &str) -> String {
    if !e.mean.is_finite() {
        return "-".into();
    }
    let digits = precision(e.mean, unit);
    match e.half_width {
        Some(h) => format!("{:.*} ± {:.*}", digits, e.mean, digits, h),
        None => format!("{:.*}", digits, e.mean),
    }
}

use crate::units::compare_decimals as precision;

/// `B - A` as `-10.5 ± 0.1 (-49%)` (shares in points, with no relative
/// change), with `*` when material (significant and at least the
/// threshold) and `~` when significant but smaller.
fn delta(d: &Difference) -> String {
    if !d.difference.mean.is_finite() {
        return "-".into();
    }
    let digits = precision(d.difference.mean.abs().max(d.a.mean.abs()), d.unit);
    let mut s = match d.difference.half_width {
        Some(h) => format!("{:+.*} ± {:.*}", digits, d.difference.mean, digits, h),
        None => format!("{:+.*}", digits, d.difference.mean),
    };
    // A share's change reads in points; a relative change of a share misleads.
    if d.unit != "%"
        && let Some(r) = d.relative.filter(|r| r.is_finite() && r.abs() >= 0.0005)
    {
        let _ = write!(s, " ({:+.1}%)", r * 100.0);
    }
    if d.material {
        s.push_str(" *");
    } else if d.significant {
        s.push_str(" ~");
    }
    s
}

/// What `*` and `~` mean, for a table's caption.
fn marks_legend(p: &Pairing) -> String {
    let t = crate::units::percent_of(p.threshold);
    format!(
        "* = the paired 95% interval excludes 0 and the change is at least {t} of A's figure; ~ = it excludes 0 but the change is under {t} (or rounds to 0)"
    )
}

fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    }
}

/// The end-to-end table of a pairing.
fn end_to_end_rows(c: &CompareReport<'_>, p: &Pairing) -> Vec<Vec<String>> {
    let (a, b) = (c.label(0), c.label(p.variant));
    let mut rows = vec![vec![
        "end to end".to_string(),
        a.to_string(),
        b.to_string(),
        format!("{b} - {a} (paired)"),
    ]];
    for d in &p.end_to_end {
        rows.push(vec![
            format!("{}{}", d.metric, unit_suffix(d.unit)),
            est(&d.a, d.unit),
            est(&d.b, d.unit),
            delta(d),
        ]);
    }
    rows
}

/// Which rows of a pairing a per-row table shows.
#[derive(Clone, Copy, PartialEq)]
enum Rows {
    /// Rows in both designs, every figure.
    Both,
    /// Rows in both designs, material figures only.
    Material,
    /// Rows in one design only (removed or added components).
    OneSide,
}

/// The per-row table of a pairing: components in both designs (every
/// figure, or only the material ones), or the components one design lacks.
fn row_rows(c: &CompareReport<'_>, p: &Pairing, which: Rows) -> Vec<Vec<String>> {
    let (a, b) = (c.label(0), c.label(p.variant));
    let mut rows = vec![vec![
        "component".to_string(),
        "figure".to_string(),
        a.to_string(),
        b.to_string(),
    ]];
    if which != Rows::OneSide {
        rows[0].push(format!("{b} - {a} (paired)"));
    }
    for r in &p.rows {
        if (r.presence == Presence::Both) == (which == Rows::OneSide) {
            continue;
        }
        let mark = |i: usize| if r.unstable[i] { " (unstable)" } else { "" };
        for d in &r.metrics {
            if which == Rows::Material && !d.material {
                continue;
            }
            let side = |present: bool, e: &crate::stats::Estimate, i: usize| {
                if present {
                    format!("{}{}", est(e, d.unit), mark(i))
                } else {
                    "absent".to_string()
                }
            };
            let mut row = vec![
                format!("{} {}", r.scope, r.name),
                format!("{}{}", d.metric, unit_suffix(d.unit)),
                side(r.presence != Presence::OnlyVariant, &d.a, 0),
                side(r.presence != Presence::OnlyBaseline, &d.b, 1),
            ];
            if which != Rows::OneSide {
                row.push(delta(d));
            }
            rows.push(row);
        }
    }
    rows
}

fn diff_rows(c: &CompareReport<'_>, p: &Pairing) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "key".to_string(),
        c.label(0).to_string(),
        c.label(p.variant).to_string(),
    ]];
    for k in &p.scenario_diff {
        let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(absent)".into());
        rows.push(vec![k.key.clone(), v(&k.a), v(&k.b)]);
    }
    rows
}

fn capacity_rows(c: &CompareReport<'_>, p: &Pairing) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        String::new(),
        c.label(0).to_string(),
        c.label(p.variant).to_string(),
    ]];
    let rate = |x: Option<f64>| {
        x.map_or("-".into(), |r| {
            format!("{} requests/s", crate::units::whole(r))
        })
    };
    rows.push(vec![
        "saturates at (analytic)".into(),
        rate(p.saturation_rps[0]),
        rate(p.saturation_rps[1]),
    ]);
    let name = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
    rows.push(vec![
        "saturates first".into(),
        name(&p.saturates_at[0]),
        name(&p.saturates_at[1]),
    ]);
    let b = |x: &Option<(String, f64)>| {
        x.as_ref()
            .map_or("-".into(), |(l, u)| format!("{l} ({:.0}%)", u * 100.0))
    };
    rows.push(vec![
        "bottleneck (simulated)".into(),
        b(&p.bottleneck[0]),
        b(&p.bottleneck[1]),
    ]);
    rows
}

/// Rows for the terminal and the reports, as text lines of the verdict.
fn pairing_heading(c: &CompareReport<'_>, p: &Pairing) -> String {
    format!(
        "{} ({}) against {} ({})",
        c.label(p.variant),
        c.designs[p.variant].path,
        c.label(0),
        c.designs[0].path
    )
}

/// The terminal text: scenario diff first, then each pairing's verdict,
/// end-to-end table, capacity, findings and significant per-row changes.
pub fn render_compare_text(c: &CompareReport<'_>) -> String {
    let mut o = String::new();
    for (i, d) in c.designs.iter().enumerate() {
        let _ = writeln!(
            o,
            "{} = {}{}",
            d.label,
            d.path,
            if i == 0 { " (baseline)" } else { "" }
        );
    }
    let _ = writeln!(o, "{}", c.settings_line);
    for p in c.pairings {
        let _ = writeln!(o, "\n== {} ==", pairing_heading(c, p));
        if p.scenario_diff.is_empty() {
            let _ = writeln!(o, "The two scenarios are the same, key for key.");
        } else {
            let _ = writeln!(
                o,
                "What differs ({} key{}):",
                p.scenario_diff.len(),
                if p.scenario_diff.len() == 1 { "" } else { "s" }
            );
            let shown = 40;
            for k in p.scenario_diff.iter().take(shown) {
                let _ = match (&k.a, &k.b) {
                    (Some(a), Some(b)) => writeln!(o, "  ~ {}: {a} -> {b}", k.key),
                    (Some(a), None) => writeln!(o, "  - {} = {a}  (only in {})", k.key, c.label(0)),
                    (None, Some(b)) => {
                        writeln!(o, "  + {} = {b}  (only in {})", k.key, c.label(p.variant))
                    }
                    (None, None) => Ok(()),
                };
            }
            if p.scenario_diff.len() > shown {
                let _ = writeln!(
                    o,
                    "  ... and {} more (all in compare.json with --out)",
                    p.scenario_diff.len() - shown
                );
            }
        }
        if let Some(w) = &p.workload_warning {
            let _ = writeln!(o, "WARNING: {w}");
        }
        o.push('\n');
        for v in &p.verdict {
            let _ = writeln!(o, "{v}");
        }
        o.push('\n');
        o.push_str(&super::text_grid(&end_to_end_rows(c, p)));
        o.push('\n');
        o.push_str(&super::text_grid(&capacity_rows(c, p)));
        for (name, list) in [
            ("Findings fixed", &p.findings_fixed),
            ("Findings added", &p.findings_added),
        ] {
            if !list.is_empty() {
                let _ = writeln!(o, "\n{name} ({}):", list.len());
                for f in list {
                    let _ = writeln!(o, "  - {f}");
                }
            }
        }
        let rows = row_rows(c, p, Rows::Material);
        let both = row_rows(c, p, Rows::Both);
        let all = both.len() - 1;
        let small = p
            .rows
            .iter()
            .filter(|r| r.presence == Presence::Both)
            .flat_map(|r| &r.metrics)
            .filter(|d| d.significant && !d.material)
            .count();
        let t = crate::units::percent_of(p.threshold);
        o.push('\n');
        if rows.len() > 1 {
            let _ = writeln!(
                o,
                "Per component, differences of {t} or more ({} of {all} figures; * = the paired 95% interval excludes 0):",
                rows.len() - 1,
            );
            o.push_str(&super::text_grid(&rows));
        } else {
            let _ = writeln!(
                o,
                "Per component: no difference of {t} or more in any of {all} figures."
            );
        }
        if small > 0 {
            let _ = writeln!(
                o,
                "{small} more figure{} excluded 0 but changed by less than {t} (every figure is in compare.html).",
                if small == 1 { "" } else { "s" }
            );
        }
        let one_side = row_rows(c, p, Rows::OneSide);
        if one_side.len() > 1 {
            let _ = writeln!(o, "\nIn one design only (not compared):");
            o.push_str(&super::text_grid(&one_side));
        }
    }
    o
}

/// `compare.json`: the designs, the settings and every pairing.
pub fn compare_json(c: &CompareReport<'_>) -> serde_json::Value {
    serde_json::json!({
        "stacksim_version": crate::VERSION,
        "command_line": c.command_line,
        "settings": c.settings_line,
        "designs": c.designs.iter().map(|d| serde_json::json!({
            "label": d.label,
            "path": d.path,
            "settings": d.run.settings,
            "verdicts": verdict_sentences(&d.run),
            "lints": d.run.lints.iter().map(|l| format!("{}: {}", l.id, l.message)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "pairings": c.pairings.iter().map(|p| serde_json::json!({
            "baseline": c.label(0),
            "variant": c.label(p.variant),
            "comparison": p,
        })).collect::<Vec<_>>(),
    })
}

/// `compare.csv`: one row per compared figure.
pub fn write_compare_csv(c: &CompareReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut out = ::csv::Writer::from_writer(w);
    let head = [
        "baseline",
        "variant",
        "scope",
        "name",
        "metric",
        "unit",
        "presence",
        "baseline_value",
        "baseline_hw95",
        "variant_value",
        "variant_hw95",
        "difference",
        "difference_hw95",
        "relative",
        "significant",
        "material",
    ];
    out.write_record(head)?;
    let num = |x: f64| {
        if x.is_finite() {
            x.to_string()
        } else {
            String::new()
        }
    };
    let hw = |x: Option<f64>| x.map_or(String::new(), num);
    for p in c.pairings {
        let end = p
            .end_to_end
            .iter()
            .map(|d| ("end to end", "all", Presence::Both, d));
        let rows = p.rows.iter().flat_map(|r| {
            r.metrics
                .iter()
                .map(move |d| (r.scope, r.name.as_str(), r.presence, d))
        });
        for (scope, name, presence, d) in end.chain(rows) {
            let presence = match presence {
                Presence::Both => "both",
                Presence::OnlyBaseline => "baseline only",
                Presence::OnlyVariant => "variant only",
            };
            out.write_record([
                c.label(0).to_string(),
                c.label(p.variant).to_string(),
                scope.to_string(),
                name.to_string(),
                d.metric.clone(),
                d.unit.to_string(),
                presence.to_string(),
                num(d.a.mean),
                hw(d.a.half_width),
                num(d.b.mean),
                hw(d.b.half_width),
                num(d.difference.mean),
                hw(d.difference.half_width),
                d.relative.map_or(String::new(), num),
                d.significant.to_string(),
                d.material.to_string(),
            ])?;
        }
    }
    out.flush()
}

/// A report section: its title, its table (header first) and a note
/// under it.
type Section<'a> = (&'static str, Vec<Vec<String>>, Option<&'a str>);

/// `compare.md` and `compare.html` side by side.
fn write_reports(
    c: &CompareReport<'_>,
    charts: &[RenderedChart],
    md: &mut String,
    html: &mut String,
) {
    let title = format!(
        "Comparison: {}",
        c.designs
            .iter()
            .map(|d| d.run.scenario.name.as_str())
            .collect::<Vec<_>>()
            .join(" vs ")
    );
    let _ = writeln!(md, "# {title}\n");
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{0}</title><style>{CSS}</style></head><body><h1>{0}</h1>",
        xml_escape(&title)
    );
    let mut designs = vec![vec!["design".to_string(), "scenario".into(), "name".into()]];
    for d in &c.designs {
        designs.push(vec![
            d.label.clone(),
            d.path.clone(),
            d.run.scenario.name.clone(),
        ]);
    }
    let _ = writeln!(md, "{}\n{}\n", md_table(&designs), c.settings_line);
    let _ = write!(
        html,
        "{}<p class=\"meta\">{}</p>",
        html_table(&designs),
        xml_escape(&c.settings_line)
    );
    for p in c.pairings {
        let head = pairing_heading(c, p);
        let _ = writeln!(md, "## {head}\n");
        let _ = write!(html, "<h2>{}</h2>", xml_escape(&head));
        if let Some(w) = &p.workload_warning {
            let _ = writeln!(md, "**Warning:** {w}\n");
            let _ = write!(
                html,
                "<p><strong>Warning:</strong> {}</p>",
                super::html::text_html(w)
            );
        }
        html.push_str("<ul>");
        for v in &p.verdict {
            let _ = writeln!(md, "- {v}");
            let _ = write!(html, "<li>{}</li>", super::html::text_html(v));
        }
        html.push_str("</ul>");
        md.push('\n');
        let legend = marks_legend(p);
        let sections: [Section<'_>; 5] = [
            ("What differs in the scenario", diff_rows(c, p), None),
            ("End to end", end_to_end_rows(c, p), Some(&legend)),
            ("Capacity and bottleneck", capacity_rows(c, p), None),
            (
                "Per tier, database role, host, class and cause",
                row_rows(c, p, Rows::Both),
                Some(&legend),
            ),
            (
                "In one design only (not compared)",
                row_rows(c, p, Rows::OneSide),
                None,
            ),
        ];
        for (name, rows, note) in sections {
            if rows.len() <= 1 && name.starts_with("In one design") {
                continue;
            }
            let _ = writeln!(md, "### {name}\n");
            let _ = write!(html, "<h3>{name}</h3>");
            if rows.len() <= 1 {
                let _ = writeln!(md, "Nothing.\n");
                html.push_str("<p>Nothing.</p>");
                continue;
            }
            let _ = writeln!(md, "{}", md_table(&rows));
            if name.starts_with("What differs") {
                html.push_str(&html_text_table(&rows));
            } else {
                html.push_str(&html_table(&rows));
            }
            if let Some(n) = note {
                let _ = writeln!(md, "{n}\n");
                let _ = write!(html, "<p class=\"meta\">{}</p>", xml_escape(n));
            }
        }
        for (name, list) in [
            ("Findings fixed", &p.findings_fixed),
            ("Findings added", &p.findings_added),
        ] {
            let _ = writeln!(md, "### {name} ({})\n", list.len());
            let _ = write!(html, "<h3>{name} ({})</h3><ul>", list.len());
            for f in list {
                let _ = writeln!(md, "- {f}");
                let _ = write!(html, "<li>{}</li>", super::html::text_html(f));
            }
            html.push_str("</ul>");
            md.push('\n');
        }
    }
    let _ = writeln!(md, "## Charts\n");
    html.push_str("<h2>Charts</h2>");
    for ch in charts {
        let _ = writeln!(md, "![{}]({}.png)\n", ch.title, ch.name);
        let _ = write!(
            html,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            ch.svg,
            xml_escape(&ch.title)
        );
    }
    let _ = writeln!(md, "## Each design's verdicts\n");
    html.push_str("<h2>Each design's verdicts</h2>");
    for d in &c.designs {
        let _ = writeln!(md, "### {} ({})\n", d.label, d.path);
        let _ = write!(
            html,
            "<h3>{} ({})</h3><ul>",
            xml_escape(&d.label),
            xml_escape(&d.path)
        );
        for v in verdict_sentences(&d.run) {
            let _ = writeln!(md, "- {v}");
            let _ = write!(html, "<li>{}</li>", super::html::text_html(&v));
        }
        html.push_str("</ul>");
        md.push('\n');
    }
    let _ = writeln!(md, "---\nstacksim {}; `{}`", crate::VERSION, c.command_line);
    let _ = write!(
        html,
        "<p class=\"meta\">stacksim {}; <code>{}</code></p></body></html>",
        crate::VERSION,
        xml_escape(&c.command_line)
    );
}

/// Writes the comparison folder (opened, and locked, before the runs)
/// whole, then moves it into place: compare.json, compare.csv, compare.md,
/// compare.html and the charts.
pub fn write_compare(folder: OutFolder, c: &CompareReport<'_>) -> Result<(), RunOutputError> {
    let out = |e: OutputError| RunOutputError::Output(e);
    let layout = folder.layout();
    let charts = charts::render_compare(c).map_err(RunOutputError::Chart)?;
    for ch in &charts {
        layout
            .write_atomic(&layout.chart_png(ch.name), |w| w.write_all(&ch.png))
            .map_err(out)?;
        layout
            .write_atomic(&layout.chart_svg(ch.name), |w| {
                w.write_all(ch.svg.as_bytes())
            })
            .map_err(out)?;
    }
    let json = serde_json::to_string_pretty(&compare_json(c)).unwrap_or_default();
    layout
        .write_atomic(&layout.dir().join("compare.json"), |w| {
            w.write_all(json.as_bytes())
        })
        .map_err(out)?;
    layout
        .write_atomic(&layout.dir().join("compare.csv"), |w| {
            write_compare_csv(c, w)
        })
        .map_err(out)?;
    let (mut md, mut html) = (String::new(), String::new());
    write_reports(c, &charts, &mut md, &mut html);
    layout
        .write_atomic(&layout.dir().join("compare.md"), |w| {
            w.write_all(md.as_bytes())
        })
        .map_err(out)?;
    layout
        .write_atomic(&layout.dir().join("compare.html"), |w| {
            w.write_all(html.as_bytes())
        })
        .map_err(out)?;
    folder.commit().map_err(out)
}
