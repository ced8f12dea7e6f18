//! `report.md`: the report for a pull request, charts linked as PNG files.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::RunReport;
use super::charts::RenderedChart;
use super::narrative::verdict_sentences;
use super::table::{
    class_table, client_table, component_cpu_table, conservation_line, failure_lines,
    failure_table, fault_phase_table, host_table, pause_table, pool_table, run_line, wakeup_table,
};

fn md_table(rows: &[Vec<String>]) -> String {
    let mut o = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
        if i == 0 {
            let align: Vec<&str> = (0..row.len())
                .map(|k| if k == 0 { "---" } else { "---:" })
                .collect();
            let _ = writeln!(o, "| {} |", align.join(" | "));
        }
    }
    o
}

/// Writes the Markdown report; `charts` are linked by their PNG names.
pub fn write_report_md(
    r: &RunReport<'_>,
    charts: &[RenderedChart],
    w: &mut dyn Write,
) -> io::Result<()> {
    let p = r.provenance;
    let mut o = String::new();
    let _ = writeln!(o, "# stacksim report: {}\n", r.scenario.name);
    let _ = writeln!(
        o,
        "{}  \nevery figure: mean ± 95% half-width across replications\n",
        run_line(r)
    );
    let _ = writeln!(o, "## Verdicts\n");
    for s in verdict_sentences(r) {
        let _ = writeln!(o, "- {s}");
    }
    let _ = writeln!(o, "\n## Topology\n\n![topology](topology.svg)\n");
    let _ = writeln!(o, "## Summary\n");
    o.push_str(&md_table(&pool_table(r)));
    if let Some(t) = host_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    if let Some(t) = component_cpu_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    if let Some(t) = wakeup_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    if let Some(t) = pause_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    if let Some(t) = super::table::replication_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    o.push('\n');
    o.push_str(&md_table(&class_table(r)));
    if let Some(t) = client_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    if let Some(t) = failure_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    if let Some(t) = fault_phase_table(r) {
        o.push('\n');
        o.push_str(&md_table(&t));
    }
    for line in failure_lines(r) {
        let _ = writeln!(o, "\n{line}");
    }
    let _ = writeln!(o, "\n{}\n", conservation_line(r));
    if !charts.is_empty() {
        let _ = writeln!(o, "## Charts\n");
        for c in charts {
            let _ = writeln!(o, "![{}]({}.png)\n", c.title, c.name);
        }
    }
    let _ = writeln!(o, "## Provenance\n");
    let _ = writeln!(
        o,
        "- stacksim {}\n- seed {}\n- command line: `{}`\n- scenario: `{}`\n",
        p.version, r.scenario.simulation.seed, p.command_line, p.scenario_path
    );
    let _ = writeln!(
        o,
        "<details><summary>scenario file as read</summary>\n\n```toml\n{}\n```\n\n</details>",
        p.scenario_source.trim_end()
    );
    w.write_all(o.as_bytes())
}
