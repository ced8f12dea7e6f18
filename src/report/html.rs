//! `report.html`: one self-contained file (inline SVG, inline CSS, no
//! script, nothing fetched) for a design review.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::RunReport;
use super::charts::RenderedChart;
use super::narrative::verdict_sentences;
use super::table::{
    class_table, client_table, component_cpu_table, conservation_line, failure_lines,
    failure_table, fault_phase_table, host_table, pause_table, pool_table, run_line, wakeup_table,
};
use super::topology::{topology_svg, xml_escape};

pub(crate) const CSS: &str = "body{font-family:'Noto Sans','DejaVu Sans',Arial,sans-serif;max-width:1240px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:.9em;margin:.6em 0}th,td{padding:.3em .7em;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\
th:first-child,td:first-child{text-align:left}th{background:#f6f6f6}\
.meta{color:#555}.topology{overflow-x:auto}.topology svg{max-width:100%;height:auto}figure{margin:1.2em 0}figure svg{width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#555;font-size:.9em}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}\
li{margin:.35em 0}p,li,figcaption,td.text{overflow-wrap:anywhere}td.text,th.text{white-space:normal;text-align:left;min-width:8em}\
table.text{table-layout:fixed;width:100%}table.text th,table.text td{white-space:normal;text-align:left;overflow-wrap:anywhere;vertical-align:top}table.text th:first-child{width:28%}table.heads th{white-space:normal;min-width:4em}code{background:#f2f2f2;padding:0 .25em;border-radius:3px;font-size:.92em}";

/// Rows as an HTML table (the first row the header), in a box that
/// scrolls sideways when the table is wider than the page.
pub(crate) fn html_table(rows: &[Vec<String>]) -> String {
    html_table_wrapping(rows, usize::MAX)
}

/// [`html_table`] whose columns from `wrap_from` on are words (a
/// bottleneck, a verdict): they wrap in their cells, so the table fits
/// the page and no column is reached only by scrolling.
pub(crate) fn html_table_wrapping(rows: &[Vec<String>], wrap_from: usize) -> String {
    table_in_box(rows, wrap_from, "")
}

/// [`html_table`] of many numeric columns whose headers wrap (`observed
/// p50 ms` on two lines), so the columns are as wide as their figures and
/// the table fits the page.
pub(crate) fn html_table_short_heads(rows: &[Vec<String>]) -> String {
    table_in_box(rows, usize::MAX, " class=\"heads\"")
}

fn table_in_box(rows: &[Vec<String>], wrap_from: usize, table_class: &str) -> String {
    let mut o = format!("<div style=\"overflow-x:auto\"><table{table_class}>");
    for (i, row) in rows.iter().enumerate() {
        o.push_str("<tr>");
        for (j, cell) in row.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            let class = if j >= wrap_from {
                " class=\"text\""
            } else {
                ""
            };
            let _ = write!(o, "<{tag}{class}>{}</{tag}>", text_html(cell));
        }
        o.push_str("</tr>");
    }
    o.push_str("</table></div>");
    o
}

/// Rows of text as an HTML table as wide as the page: columns of fixed
/// shares, long values wrapped in their cell (a scenario diff's inline
/// tables), so that every column is on screen.
pub(crate) fn html_text_table(rows: &[Vec<String>]) -> String {
    let mut o = String::from("<table class=\"text\">");
    for (i, row) in rows.iter().enumerate() {
        o.push_str("<tr>");
        for cell in row {
            let tag = if i == 0 { "th" } else { "td" };
            let _ = write!(o, "<{tag}>{}</{tag}>", text_html(cell));
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    o
}

/// Report text as HTML: escaped, its `code` spans as `<code>`.
pub(crate) fn text_html(s: &str) -> String {
    inline_code(&xml_escape(s))
}

/// Escaped text with Markdown code spans (`` `x` ``) rendered as
/// `<code>x</code>`; an unpaired backtick stays as it is.
fn inline_code(escaped: &str) -> String {
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len() < 3 {
        return escaped.to_string();
    }
    let mut o = String::new();
    let pairs = (parts.len() - 1) / 2;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            if i <= 2 * pairs {
                o.push_str(if i % 2 == 1 { "<code>" } else { "</code>" });
            } else {
                o.push('`');
            }
        }
        o.push_str(part);
    }
    o
}

/// Rows as a Markdown table (the first row the header).
pub(crate) fn md_table(rows: &[Vec<String>]) -> String {
    let mut o = String::new();
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(o, "| {} |", r.join(" | "));
        if i == 0 {
            let _ = writeln!(o, "|{}", " --- |".repeat(r.len()));
        }
    }
    o
}

/// Writes the HTML report; `charts` are inlined in order (empty with no charts).
pub fn write_report_html(
    r: &RunReport<'_>,
    charts: &[RenderedChart],
    w: &mut dyn Write,
) -> io::Result<()> {
    let p = r.provenance;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stacksim report: {}</title><style>{CSS}</style></head><body>",
        xml_escape(&r.scenario.name)
    );
    let _ = write!(
        o,
        "<h1>stacksim report: {}</h1>",
        xml_escape(&r.scenario.name)
    );
    let _ = write!(
        o,
        "<p class=\"meta\">{}<br>every figure: mean ± 95% half-width across replications</p>",
        xml_escape(&run_line(r))
    );
    o.push_str("<h2 id=\"verdicts\">Verdicts</h2><ul>");
    for s in verdict_sentences(r) {
        let _ = write!(o, "<li>{}</li>", text_html(&s));
    }
    o.push_str("</ul>");
    o.push_str("<h2 id=\"review\">Design review</h2><ul>");
    for l in r.lints {
        let _ = write!(
            o,
            "<li><b>{:?}</b> {}: {} <i>Fix: {}</i></li>",
            l.severity,
            l.id,
            text_html(&l.message),
            text_html(&l.fix)
        );
    }
    o.push_str("</ul>");
    if let Some(m) = r.analytic {
        let mut rows = vec![
            [
                "tier",
                "offered util % (analytic)",
                "util % (simulated)",
                "wait ms (Erlang C)",
                "wait ms (simulated)",
                "saturates at req/s",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ];
        for (p, pm) in &m.pools {
            let ps = &r.summary.pools[*p];
            rows.push(vec![
                pm.label.clone(),
                format!("{:.1}", pm.utilization * 100.0),
                super::table::pm(&ps.utilization, 100.0),
                if pm.wait_ms.is_finite() {
                    format!("{:.2}", pm.wait_ms)
                } else {
                    "unstable".into()
                },
                super::table::pm(&ps.wait_mean_ms, 1.0),
                crate::units::whole(pm.saturation_rps),
            ]);
        }
        for mm in &m.machines {
            let simulated = r
                .summary
                .hosts
                .get(mm.group)
                .and_then(|h| h.machines.get(mm.machine as usize))
                .map_or("-".to_string(), |e| super::table::pm(e, 100.0));
            rows.push(vec![
                format!("{} cpu", mm.label),
                format!("{:.1}", mm.utilization * 100.0),
                simulated,
                "-".into(),
                "-".into(),
                crate::units::whole(mm.saturation_rps),
            ]);
        }
        o.push_str("<p>Analytic model: traffic equations, M/M/c per instance (Erlang C, Allen-Cunneen for general service), and each machine's CPU (its cores as an M/M/c); it leaves out holding, bounded queues and failures.</p>");
        o.push_str(&html_table(&rows));
        if let Some(t) = super::review::demand_rows(m) {
            o.push_str("<p>CPU per visit at this load for the tiers with a wake-up cost (Erlang C for the share of visits that wake a thread or worker):</p>");
            o.push_str(&html_table(&t));
        }
        let analytic = if m.machines.is_empty() {
            format!("{:.2} ms analytic", m.end_to_end_ms)
        } else {
            format!(
                "{:.2} ms analytic without waiting for cores, {:.2} ms with each machine's cores as an M/M/c",
                m.end_to_end_ms, m.end_to_end_with_cores_ms
            )
        };
        let _ = write!(
            o,
            "<p>Bottleneck by the utilization law: {}; the stack saturates at {} requests/s. End-to-end mean: {analytic}, {} ms simulated.</p>",
            xml_escape(m.bottleneck.as_deref().unwrap_or("-")),
            crate::units::whole(m.max_throughput_rps),
            xml_escape(&super::table::pm(&r.summary.overall.latency_mean_ms, 1.0))
        );
    }
    o.push_str("<h2 id=\"topology\">Topology</h2>");
    let _ = write!(o, "<div class=\"topology\">{}</div>", topology_svg(r));
    o.push_str("<h2 id=\"summary\">Summary</h2>");
    o.push_str(&html_table(&pool_table(r)));
    if let Some(t) = host_table(r) {
        o.push_str(&html_table(&t));
    }
    if let Some(t) = component_cpu_table(r) {
        o.push_str(&html_table(&t));
    }
    if let Some(t) = wakeup_table(r) {
        o.push_str(&html_table(&t));
    }
    if let Some(t) = pause_table(r) {
        o.push_str(&html_table(&t));
    }
    if let Some(t) = super::table::replication_table(r) {
        o.push_str(&html_table(&t));
    }
    o.push_str(&html_table(&class_table(r)));
    if let Some(t) = client_table(r) {
        o.push_str(&html_table(&t));
    }
    if let Some(t) = failure_table(r) {
        o.push_str(&html_table(&t));
    }
    if let Some(t) = fault_phase_table(r) {
        o.push_str(&html_table(&t));
    }
    for line in failure_lines(r) {
        let _ = write!(o, "<p>{}</p>", text_html(&line));
    }
    let _ = write!(
        o,
        "<p class=\"meta\">{}</p>",
        text_html(&conservation_line(r))
    );
    if !charts.is_empty() {
        o.push_str("<h2 id=\"charts\">Charts</h2>");
        for c in charts {
            let _ = write!(
                o,
                "<figure id=\"chart-{0}\">{1}<figcaption>{2} (<a href=\"{0}.png\">{0}.png</a>, <a href=\"{0}.svg\">{0}.svg</a>)</figcaption></figure>",
                c.name,
                c.svg,
                xml_escape(&c.title)
            );
        }
    }
    o.push_str("<h2 id=\"provenance\">Provenance</h2><table>");
    for (k, v) in [
        ("stacksim", p.version.as_str()),
        ("seed", &r.scenario.simulation.seed.to_string()),
        ("command line", p.command_line.as_str()),
        ("scenario", p.scenario_path.as_str()),
    ] {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"text\">{}</td></tr>",
            xml_escape(k),
            xml_escape(v)
        );
    }
    let _ = writeln!(
        o,
        "</table><details><summary>scenario file as read</summary><pre>{}</pre></details></body></html>",
        xml_escape(&p.scenario_source)
    );
    w.write_all(o.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::text_html;

    #[test]
    fn code_spans_become_code_and_a_lone_backtick_stays() {
        assert_eq!(
            text_html("`db` has one <primary>"),
            "<code>db</code> has one &lt;primary&gt;"
        );
        assert_eq!(text_html("a `b` c `d"), "a <code>b</code> c `d");
        assert_eq!(text_html("none"), "none");
    }
}
