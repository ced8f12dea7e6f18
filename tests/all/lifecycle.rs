//! Every simulating command goes through the one run lifecycle: each
//! honours `warmup = "auto"` (its MSER-5 pilot runs and the chosen warm-up
//! is stated) and the time-series cap (at most 10,000 intervals per
//! replication), seen from the command's own output.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{assert_ok, shipped_plan};

/// M/M/1 at rho 0.7 for 30 s sampled every 1 ms: 30,000 intervals, so the
/// cap must widen the interval to 3 ms; the warm-up is left to MSER-5.
const LIFECYCLE: [&str; 8] = [
    "--duration",
    "30s",
    "--warmup",
    "auto",
    "--replications",
    "2",
    "--set",
    "simulation.sample_every=1ms",
];
const MM1: &str = "scenarios/validation/mm1.toml";

fn stacksim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn with_lifecycle<'a>(head: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend(LIFECYCLE);
    v
}

fn json(o: &Output) -> Value {
    assert_ok(o);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stacksim-life-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The settings a command stated: the auto warm-up and the capped series.
#[track_caller]
fn assert_lifecycle(settings: &Value) {
    assert_eq!(settings["warmup"], "auto", "{settings}");
    assert_eq!(settings["series_capped"], true, "{settings}");
    // At most 10,000 intervals over warm-up and window together, so at
    // least 3 ms for 30 s (more when the chosen warm-up lengthens the run).
    let dt = settings["sample_every_s"].as_f64().unwrap();
    let run = settings["warmup_s"].as_f64().unwrap() + settings["duration_s"].as_f64().unwrap();
    assert!(dt >= 0.003 && (run / dt).ceil() <= 10_000.0, "{settings}");
}

#[test]
fn run_honours_auto_warmup_and_the_series_cap() {
    let out = temp("run");
    let o = stacksim(&with_lifecycle(&[
        "run",
        MM1,
        "--json",
        "--no-charts",
        "--out",
        out.to_str().unwrap(),
    ]));
    let doc = json(&o);
    assert_lifecycle(&doc["settings"]);
    let notes = doc["provenance"]["notes"].to_string();
    assert!(notes.contains("chosen automatically by MSER-5"), "{notes}");
    assert!(notes.contains("time series: one interval every"), "{notes}");
    // The series on disk has the capped interval: 30 s / 3 ms = 10,000 rows
    // (plus the header) at most, warm-up included.
    let rows = std::fs::read_to_string(out.join("timeseries.csv"))
        .unwrap()
        .lines()
        .count();
    assert!(rows > 1000 && rows <= 10_001, "{rows} rows");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn sweep_honours_auto_warmup_and_the_series_cap_at_every_point() {
    let out = temp("sweep");
    let o = stacksim(&with_lifecycle(&[
        "sweep",
        MM1,
        "--vary",
        "workload.rate=50,60",
        "--no-charts",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_ok(&o);
    let points = std::fs::read_to_string(out.join("points.jsonl")).unwrap();
    let points: Vec<Value> = points
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(points.len(), 2);
    for p in &points {
        assert_lifecycle(&p["settings"]);
    }
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("warmup_s"), "{csv}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn capacity_honours_auto_warmup_and_the_series_cap_at_every_probe() {
    let o = stacksim(&with_lifecycle(&[
        "capacity",
        MM1,
        "--slo",
        "p99<200ms",
        "--precision",
        "0.2",
        "--max-probes",
        "4",
        "--json",
    ]));
    let doc = json(&o);
    let probes = doc["probes"].as_array().unwrap();
    assert!(!probes.is_empty());
    for p in probes {
        assert_lifecycle(&p["settings"]);
    }
}

#[test]
fn compare_honours_auto_warmup_and_the_series_cap_for_both_designs() {
    let o = stacksim(&with_lifecycle(&["compare", MM1, MM1, "--json"]));
    let doc = json(&o);
    assert_lifecycle(&doc["designs"][0]["settings"]);
    assert_lifecycle(&doc["designs"][1]["settings"]);
    // The same scenario against itself: every paired difference exactly 0.
    for d in doc["pairings"][0]["comparison"]["end_to_end"]
        .as_array()
        .unwrap()
    {
        assert_eq!(d["difference"]["mean"], 0.0, "{d}");
    }
}

#[test]
fn review_simulate_honours_auto_warmup_and_the_series_cap() {
    let o = stacksim(&with_lifecycle(&["review", MM1, "--simulate", "--json"]));
    let doc = json(&o);
    assert_lifecycle(&doc["simulated"]["settings"]);
}

#[test]
fn perf_honours_auto_warmup_and_the_series_cap() {
    let o = stacksim(&with_lifecycle(&["perf", MM1]));
    assert_ok(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("time series: one interval every") && text.contains("(capped)"),
        "{text}"
    );
    assert!(text.contains("(auto, MSER-5)"), "{text}");
}

#[test]
fn the_resolved_scenario_runs_again_to_the_same_summary() {
    // summary.json's resolved scenario (the TOML with every override and
    // flag applied) reads back as a scenario, and running it again gives the
    // same results: everything in summary.json but where it came from.
    let first = temp("resolved-a");
    let o = stacksim(&[
        "run",
        "scenarios/secured-web-stack.toml",
        "--set",
        "workload.rate=700",
        "--set",
        "tier.app.workers=24",
        "--duration",
        "15s",
        "--warmup",
        "auto",
        "--set",
        "simulation.sample_every=100ms",
        "--replications",
        "3",
        "--seed",
        "9",
        "--quiet",
        "--no-charts",
        "--out",
        first.to_str().unwrap(),
    ]);
    assert_ok(&o);
    let a: Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("summary.json")).unwrap())
            .unwrap();
    let toml_file = first.join("resolved.toml");
    let doc: toml::Table = serde_json::from_value(a["resolved_scenario"].clone()).unwrap();
    assert_eq!(doc["workload"]["rate"].as_integer(), Some(700));
    std::fs::write(&toml_file, toml::to_string(&doc).unwrap()).unwrap();
    let second = temp("resolved-b");
    let o = stacksim(&[
        "run",
        toml_file.to_str().unwrap(),
        "--quiet",
        "--no-charts",
        "--out",
        second.to_str().unwrap(),
    ]);
    assert_ok(&o);
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(second.join("summary.json")).unwrap())
            .unwrap();
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    for (k, v) in a {
        match k.as_str() {
            "provenance" => {
                assert_eq!(v["notes"], b[k]["notes"]);
            }
            "scenario" => {
                let mut x = v.clone();
                let mut y = b[k].clone();
                x["path"] = Value::Null;
                y["path"] = Value::Null;
                assert_eq!(x, y);
            }
            _ => assert_eq!(v, &b[k], "summary.json's `{k}` differs when run again"),
        }
    }
    // The scenario.toml written beside the results is the same document.
    let beside: toml::Table =
        toml::from_str(&std::fs::read_to_string(first.join("scenario.toml")).unwrap()).unwrap();
    assert_eq!(beside, doc);
    std::fs::remove_dir_all(&first).unwrap();
    std::fs::remove_dir_all(&second).unwrap();
}

#[test]
fn the_resolved_scenario_spells_values_as_the_scenario_does() {
    // One spelling per value: `leastconn` in the TOML is `leastconn` in the
    // resolved scenario, not `least-conn`.
    let init = shipped_plan("scenarios/secured-web-stack.toml", &[]);
    let text = init.scenario().document_toml();
    assert!(text.contains("balance = \"leastconn\""), "{text}");
    let json = serde_json::to_string(&init.scenario().tiers).unwrap();
    assert!(!json.contains("least-conn") && !json.contains("round-robin"));
}
