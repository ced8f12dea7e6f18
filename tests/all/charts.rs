//! Charts and reports: every file there, decodable, complete.

use std::path::{Path, PathBuf};
use std::process::Command;

use stacksim::report::charts::{HEIGHT, WIDTH, render_all};
use stacksim::report::verdict_sentences;

use crate::support::*;

const CHARTS: [&str; 6] = [
    "throughput",
    "latency",
    "utilization",
    "queue",
    "utilization-over-time",
    "latency-cdf",
];

fn run_cli(scenario: Option<&str>, out: &Path) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stacksim"));
    cmd.arg("run");
    if let Some(s) = scenario {
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(s));
    }
    let o = cmd
        .args([
            "--duration",
            "20s",
            "--warmup",
            "5s",
            "--replications",
            "3",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert_ok(&o);
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stacksim-charts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

fn check_outputs(dir: &Path, axis_titles: &[(&str, &[&str])]) {
    for name in CHARTS {
        let png = dir.join(format!("{name}.png"));
        let (w, h) = png_size(&png);
        let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{name}.svg is not XML: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        // The PNG and the SVG are the same drawing, the same size.
        let attr = |a: &str| {
            doc.root_element()
                .attribute(a)
                .and_then(|v| v.parse::<u32>().ok())
        };
        assert_eq!(
            (attr("width"), attr("height")),
            (Some(w), Some(h)),
            "{name}"
        );
        assert_eq!(w, WIDTH, "{name}.png");
        if name == "utilization" {
            // Bars: the height follows the rows, so one tier is no slab.
            assert!((240..=2000).contains(&h), "{name}.png is {h} px high");
        } else {
            assert_eq!(h, HEIGHT, "{name}.png");
        }
        let text: String = doc
            .descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join(" ");
        for (chart, titles) in axis_titles {
            if *chart == name {
                for t in *titles {
                    assert!(text.contains(t), "{name}.svg lacks `{t}`");
                }
            }
        }
    }
    let topo = std::fs::read_to_string(dir.join("topology.svg")).unwrap();
    roxmltree::Document::parse(&topo).expect("topology.svg is XML");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for name in CHARTS {
        assert!(
            html.contains(&format!("id=\"chart-{name}\"")),
            "report.html lacks chart {name}"
        );
        assert!(
            html.contains(&format!("href=\"{name}.png\"")),
            "report.html lacks a link to {name}.png"
        );
    }
    for needle in [
        "<table>",
        "p99.9 ms",
        "Verdicts",
        "Provenance",
        "stacksim",
        "<svg",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    // Self-contained: nothing to fetch (the only URLs are SVG namespaces).
    assert!(
        !html.contains("src=\"http") && !html.contains("<link") && !html.contains("<img"),
        "report.html fetches something"
    );
    assert!(!html.contains("<script"), "no script");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for name in CHARTS {
        assert!(
            md.contains(&format!("({name}.png)")),
            "report.md lacks {name}.png"
        );
    }
    assert!(md.contains("| tier |") && md.contains("## Verdicts"));
}

#[test]
fn reference_run_writes_every_chart_and_report() {
    let dir = temp("ref");
    run_cli(None, &dir);
    check_outputs(
        &dir,
        &[
            (
                "throughput",
                &["simulated time (s)", "requests/s", "offered", "completed"],
            ),
            ("latency", &["latency (ms)", "p99", "class write"]),
            (
                "utilization",
                &[
                    "utilization (% of workers, or of a machine's cores, busy; time-average)",
                    "db primary",
                    "server#0 cpu",
                    "server#1 cpu",
                    "bottleneck",
                ],
            ),
            ("queue", &["requests waiting (time-average)", "db primary"]),
            (
                "utilization-over-time",
                &[
                    "utilization (% of workers busy; time-average)",
                    "db primary",
                ],
            ),
            (
                "latency-cdf",
                &[
                    "end-to-end latency (ms, log scale)",
                    "fraction of completed requests at or below",
                ],
            ),
        ],
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("It is the bottleneck"), "verdict sentence");
    assert!(html.contains("TLS ends here"), "topology marks TLS");
    assert!(
        html.contains("Design review")
            && html.contains("single-primary")
            && html.contains("Erlang C"),
        "the review is in the report"
    );
    assert!(html.contains("db primary"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn overloaded_run_renders_with_its_verdicts() {
    // An unstable run: the verdicts must say so.
    let dir = temp("wh");
    run_cli(Some("scenarios/write-heavy.toml"), &dir);
    check_outputs(&dir, &[]);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("unstable"),
        "the unstable primary is named in the report"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_with_faults_renders_fault_bands_and_failure_causes() {
    let dir = temp("faults");
    let o = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .arg("run")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/primary-failover.toml"))
        .args([
            "--duration",
            "150s",
            "--replications",
            "3",
            "--quiet",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_ok(&o);
    check_outputs(
        &dir,
        &[
            (
                "throughput",
                &[
                    "db primary down (rep. 1)",
                    "db: no primary (rep. 1)",
                    "failed: no primary",
                ],
            ),
            ("latency", &["db primary down (rep. 1)"]),
            ("queue", &["db: no primary (rep. 1)"]),
            ("utilization-over-time", &["db primary down (rep. 1)"]),
        ],
    );
    let faults = std::fs::read_to_string(dir.join("faults.csv")).unwrap();
    assert!(
        faults.contains(",db primary,down") && faults.contains(",db,failover_detected"),
        "{faults}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("Writes had no primary for 30.0 s"),
        "the outage is in the verdicts"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_charts_flag_skips_charts_and_reports() {
    let dir = temp("nocharts");
    let o = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args([
            "run",
            "--duration",
            "5s",
            "--replications",
            "2",
            "--quiet",
            "--no-charts",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(dir.join("summary.json").exists());
    assert!(!dir.join("throughput.png").exists() && !dir.join("report.html").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn charts_with_nothing_to_show_render_an_empty_state() {
    // Service takes an hour and nothing may drain: no request completes.
    let s = parse(
        r#"
[simulation]
duration = "10s"
warmup = "0s"
replications = 2
drain = "0s"
[workload]
rate = 5
[[tier]]
name = "slow"
workers = 1000
service = "const(1h)"
"#,
    );
    let (_, summary) = run(&s);
    assert_eq!(summary.overall.completed, 0);
    let parts = Assessed::of(&s, &summary, "t");
    let rr = parts.report(&s, &summary);
    let charts = render_all(&rr).expect("empty charts still render");
    let latency = charts.iter().find(|c| c.name == "latency").unwrap();
    assert!(latency.svg.contains("no request completed in this run"));
    let cdf = charts.iter().find(|c| c.name == "latency-cdf").unwrap();
    assert!(cdf.svg.contains("no request completed in this run"));
    assert!(charts.iter().all(|c| c.png.len() > 1000));
    assert!(!verdict_sentences(&rr).is_empty());
}
