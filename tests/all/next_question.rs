//! A scenario with a schedule or replayed arrivals (as `calibrate` writes
//! them) answers the next question as it is: `--set workload.rate` and
//! `--vary workload.rate` replace its arrivals with a constant rate (said
//! on stderr), `capacity` searches from its peak, and a rate may be given
//! relative to that peak (`2x`, `+50%`).

use std::path::Path;
use std::process::{Command, Output};

use super::support::{root, temp_dir};

fn stacksim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .current_dir(root())
        .env_remove("RAYON_NUM_THREADS")
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const FLASH: &str = "scenarios/examples/flash-sale.toml";
const SHORT: [&str; 6] = ["--duration", "10s", "--warmup", "1s", "--replications", "2"];

/// The `[workload]` table of a run's resolved scenario.
fn workload(dir: &Path) -> toml::Table {
    let text = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    doc["workload"].as_table().unwrap().clone()
}

#[test]
fn a_rate_replaces_a_schedule_and_may_be_relative_to_its_peak() {
    let work = temp_dir("next", "schedule");
    // flash-sale's schedule peaks at 1,200/s.
    for (value, want) in [("900", 900.0), ("2x", 2400.0), ("+50%", 1800.0)] {
        let out = work.join(value.replace(['%', '+'], "p"));
        let set = format!("workload.rate={value}");
        let mut args = vec!["run", FLASH, "--set", &set, "--no-charts", "--out", s(&out)];
        args.extend(SHORT);
        let o = stacksim(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{value}: {err}");
        assert!(
            err.contains("replaces the workload's rate schedule with constant (Poisson) arrivals"),
            "{value}: {err}"
        );
        let w = workload(&out);
        assert!(w.get("schedule").is_none(), "{value}: {w:?}");
        let rate = w["rate"]
            .as_float()
            .or(w["rate"].as_integer().map(|i| i as f64));
        assert_eq!(rate, Some(want), "{value}");
    }
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_rate_replaces_replayed_arrivals() {
    let work = temp_dir("next", "replay");
    let scenario = work.join("cal.toml");
    let o = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&root().join("tests/data/rig/haproxy.log.gz")),
        "--window",
        "10s",
        "--out",
        s(&scenario),
        "--arrivals",
        s(&work.join("arr.csv")),
        "--no-report",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = work.join("run");
    let mut args = vec![
        "run",
        s(&scenario),
        "--set",
        "workload.rate=0.5x",
        "--no-charts",
        "--out",
        s(&out),
    ];
    args.extend(SHORT);
    let o = stacksim(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("replaces the workload's replayed arrivals"),
        "{err}"
    );
    assert!(err.contains("0.5 × the workload's peak"), "{err}");
    let w = workload(&out);
    assert!(w.get("replay").is_none() && w.get("replay_sha256").is_none());
    let rate = w["rate"]
        .as_float()
        .or(w["rate"].as_integer().map(|i| i as f64));
    assert!(rate.is_some_and(|r| r > 0.0), "{w:?}");
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn capacity_and_sweep_run_on_a_schedule() {
    let work = temp_dir("next", "capacity");
    let mut args = vec!["capacity", FLASH, "--slo", "p99<100ms", "--json"];
    args.extend(SHORT);
    let o = stacksim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The search starts from the schedule's peak.
    let probes = j["probes"].as_array().unwrap();
    assert_eq!(probes[0]["rate_rps"].as_f64(), Some(1200.0), "{j}");
    assert!(j["capacity_rps"].as_f64().is_some_and(|c| c > 0.0), "{j}");
    let out = work.join("sweep");
    let mut args = vec![
        "sweep",
        FLASH,
        "--vary",
        "workload.rate=0.5x,1x",
        "--no-charts",
        "--out",
        s(&out),
    ];
    args.extend(SHORT);
    let o = stacksim(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("replaces the workload's rate schedule"),
        "{err}"
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let offered: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(offered.len(), 2, "{csv}");
    assert!(
        (offered[0] - 600.0).abs() < 60.0 && (offered[1] - 1200.0).abs() < 120.0,
        "{csv}"
    );
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_relative_rate_on_a_closed_workload_is_a_located_error() {
    let o = stacksim(&[
        "check",
        "scenarios/examples/closed-users.toml",
        "--set",
        "workload.rate=2x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("a closed workload has none"), "{err}");
    assert!(err.contains("--set workload.rate=2x"), "{err}");
}

/// `validate` takes `--set`, `--seed`, `--threads`, `--duration` and
/// `--warmup` like every command; the workload stays the logs'.
#[test]
fn validate_takes_the_run_flags_of_every_command() {
    let work = temp_dir("next", "validate");
    let scenario = work.join("cal.toml");
    let log = root().join("tests/data/rig/haproxy.log.gz");
    let o = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&log),
        "--window",
        "10s",
        "--out",
        s(&scenario),
        "--no-report",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let validate = |extra: &[&str], out: &str| {
        let dir = work.join(out);
        let mut args = vec![
            "validate",
            s(&scenario),
            "--haproxy",
            s(&log),
            "--window",
            "10s",
            "--replications",
            "2",
            "--duration",
            "5s",
            "--warmup",
            "1s",
            "--no-knee",
            "--quiet",
            "--out",
            s(&dir),
        ];
        args.extend_from_slice(extra);
        let o = stacksim(&args);
        (o, dir)
    };
    let windows = |dir: &Path| {
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("validation.json")).unwrap())
                .unwrap();
        j["windows"].clone()
    };
    let (a, da) = validate(&["--seed", "1", "--threads", "1"], "a");
    let (b, db) = validate(&["--seed", "1", "--threads", "2"], "b");
    let (c, dc) = validate(&["--seed", "2"], "c");
    for o in [&a, &b, &c] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(windows(&da), windows(&db), "threads change nothing");
    assert_ne!(windows(&da), windows(&dc), "the seed is used");
    let (d, dd) = validate(&["--seed", "1", "--set", "tier.lb.workers=1"], "d");
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    assert_ne!(windows(&da), windows(&dd), "--set reaches every window");
    let (e, _) = validate(&["--set", "workload.rate=5"], "e");
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("each window's rate and mix"));
    std::fs::remove_dir_all(&work).unwrap();
}

/// A scenario calibrated from the two-machine rig's traces (a schedule,
/// two hosts, tiers named after services) answers the same questions:
/// `capacity`, `--set workload.rate`, and `sweep --vary workload.rate`.
#[test]
fn capacity_rate_and_sweep_run_on_a_scenario_calibrated_from_traces() {
    let work = temp_dir("next", "traces");
    let scenario = work.join("traced.toml");
    let data = root().join("tests/data/rig-multi");
    let o = stacksim(&[
        "calibrate",
        "--otlp",
        s(&data.join("traces.jsonl.gz")),
        "--cpu",
        s(&data.join("back.csv")),
        "--cpu",
        s(&data.join("front.csv")),
        "--workers",
        "app=4",
        "--out",
        s(&scenario),
        "--no-report",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        text.contains("schedule = ["),
        "the traced loads vary: {text}"
    );
    // capacity: from the schedule's peak, a knee found.
    let mut args = vec!["capacity", s(&scenario), "--slo", "p99<100ms", "--json"];
    args.extend(SHORT);
    let o = stacksim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["capacity_rps"].as_f64().is_some_and(|c| c > 0.0), "{j}");
    // --set workload.rate=2x: twice the logged peak, constant.
    let out = work.join("run");
    let mut args = vec![
        "run",
        s(&scenario),
        "--set",
        "workload.rate=2x",
        "--no-charts",
        "--out",
        s(&out),
    ];
    args.extend(SHORT);
    let o = stacksim(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 × the workload's peak"), "{err}");
    assert!(workload(&out).get("schedule").is_none());
    // sweep --vary workload.rate over two relative rates.
    let out = work.join("sweep");
    let mut args = vec![
        "sweep",
        s(&scenario),
        "--vary",
        "workload.rate=0.5x,1x",
        "--no-charts",
        "--out",
        s(&out),
    ];
    args.extend(SHORT);
    let o = stacksim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    std::fs::remove_dir_all(&work).unwrap();
}
