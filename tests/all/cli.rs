//! The binary as a user meets it: exit codes, files, messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{assert_ok, root};

fn stacksim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RAYON_NUM_THREADS")
        .output()
        .expect("the binary runs")
}

fn temp(name: &str) -> PathBuf {
    crate::support::temp_dir("cli", name)
}

#[test]
fn run_without_a_file_uses_the_reference_scenario() {
    let dir = temp("ref");
    let out = stacksim(
        &[
            "run",
            "--duration",
            "10s",
            "--warmup",
            "1s",
            "--replications",
            "3",
            "--out",
            "o",
        ],
        &dir,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "secured-web-stack",
        "edge-firewall",
        "db primary",
        "db replicas",
        "±",
        "p99.9 ms",
        "bottleneck: CPU of host server#0",
        "busiest tier: db primary (writes)",
    ] {
        assert!(table.contains(needle), "missing {needle} in\n{table}");
    }
    for f in ["summary.json", "summary.csv", "timeseries.csv"] {
        let p = dir.join("o").join(f);
        assert!(
            std::fs::metadata(&p)
                .map(|m| m.len() > 100)
                .unwrap_or(false),
            "{f}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("o/summary.json")).unwrap()).unwrap();
    assert_eq!(json["scenario"]["seed"], 2026);
    assert!(
        json["bottleneck"]["message"]
            .as_str()
            .unwrap()
            .starts_with("bottleneck: CPU of host server#0")
    );
    assert_eq!(json["pools"].as_array().unwrap().len(), 7);
    assert!(json["pools"][0]["stats"]["utilization"]["half_width"].is_number());
    assert!(
        json["provenance"]["scenario_source"]
            .as_str()
            .unwrap()
            .contains("[[tier]]")
    );
    // summary.csv holds the same numbers as summary.json, column by column.
    let summary_csv = std::fs::read_to_string(dir.join("o/summary.csv")).unwrap();
    let header: Vec<&str> = summary_csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = summary_csv
        .lines()
        .find(|l| l.starts_with("pool,db primary,"))
        .unwrap()
        .split(',')
        .collect();
    let pools = json["pools"].as_array().unwrap();
    let primary = pools.iter().find(|p| p["label"] == "db primary").unwrap();
    for col in [
        "utilization",
        "latency_p99_ms",
        "arrival_rps",
        "wait_mean_ms",
    ] {
        let i = header.iter().position(|h| *h == col).unwrap();
        let from_csv: f64 = row[i].parse().unwrap();
        let from_json = primary["stats"][col]["mean"].as_f64().unwrap();
        assert!(
            (from_csv - from_json).abs() < 1e-6,
            "{col}: csv {from_csv} json {from_json}"
        );
    }
    let csv = std::fs::read_to_string(dir.join("o/timeseries.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("utilization_db_primary")
    );
    assert_eq!(
        csv.lines().count(),
        1 + 11,
        "one row per second, warm-up included"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_flag_prints_the_summary_and_same_seed_gives_same_bytes() {
    let dir = temp("json");
    let scenario = root().join("scenarios/validation/mm1.toml");
    let s = scenario.to_str().unwrap();
    let args = [
        "run",
        s,
        "--json",
        "--duration",
        "20s",
        "--replications",
        "4",
        "--out",
        "o",
    ];
    let a = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(&dir)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert_eq!(a.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("stdout is JSON");
    assert_eq!(v["scenario"]["replications"], 4);
    let first = std::fs::read(dir.join("o/summary.json")).unwrap();
    let b = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(&dir)
        .env("RAYON_NUM_THREADS", "3")
        .output()
        .unwrap();
    assert_eq!(b.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(
        first,
        std::fs::read(dir.join("o/summary.json")).unwrap(),
        "summary.json differs across thread counts"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_scenario_exits_2_with_locations_and_writes_nothing() {
    let dir = temp("bad");
    std::fs::write(dir.join("bad.toml"), "name = \"bad\"\n[workload]\nrate = 0\n[[tier]]\nname = \"web\"\nwokers = 2\nservice = \"exp(2)\"\n").unwrap();
    for cmd in [vec!["check", "bad.toml"], vec!["run", "bad.toml"]] {
        let out = stacksim(&cmd, &dir);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml:3:8"), "{err}");
        assert!(err.contains("bad.toml:6:1"), "{err}");
        assert!(err.contains("bad.toml:7:11"), "{err}");
        assert!(err.contains("3 problems"), "{err}");
    }
    assert!(
        !dir.join("output").exists(),
        "nothing may be written for invalid input"
    );
    let missing = stacksim(&["check", "nope.toml"], &dir);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read nope.toml"));
    let flag = stacksim(&["run", "--duration", "5"], &dir);
    assert_eq!(flag.status.code(), Some(2));
    let flag_err = String::from_utf8_lossy(&flag.stderr);
    assert!(
        flag_err.contains("needs a unit") && flag_err.contains("--duration 5"),
        "{flag_err}"
    );
    assert!(!dir.join("output").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_accepts_every_shipped_scenario() {
    let dir = temp("check");
    let mut n = 0;
    for sub in ["scenarios", "scenarios/validation"] {
        for e in std::fs::read_dir(root().join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let out = stacksim(&["check", p.to_str().unwrap()], &dir);
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{}: {}",
                    p.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                n += 1;
            }
        }
    }
    assert!(n >= 9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn init_writes_the_reference_and_refuses_to_overwrite() {
    let dir = temp("init");
    let out = stacksim(&["init", "mine.toml"], &dir);
    assert_eq!(out.status.code(), Some(0));
    // The reference, named after its file so it has its own output folder.
    let written = std::fs::read_to_string(dir.join("mine.toml")).unwrap();
    assert_eq!(
        written,
        stacksim::scenario::REFERENCE_TOML.replacen(
            "name = \"secured-web-stack\"",
            "name = \"mine\"",
            1
        )
    );
    let s = stacksim::scenario::parse(&written, "mine.toml", None).unwrap();
    assert_eq!(s.name, "mine");
    let again = stacksim(&["init", "mine.toml"], &dir);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        stacksim(&["init", "mine.toml", "--force"], &dir)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        stacksim(&["check", "mine.toml"], &dir).status.code(),
        Some(0)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_output_fails_before_simulating() {
    let dir = temp("unwritable");
    std::fs::write(dir.join("file"), "").unwrap();
    let out = stacksim(&["run", "--out", "file/sub", "--duration", "1s"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to output folder"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(["review"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head` does
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn access_log_gives_the_rate_as_log_tools_would_count_it() {
    let dir = temp("accesslog");
    let log = dir.join("access.log");
    let out = stacksim(
        &[
            "run",
            "--duration",
            "40s",
            "--warmup",
            "0s",
            "--replications",
            "2",
            "--no-charts",
            "--quiet",
            "--out",
            "o",
            "--access-log",
            log.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let mut per_second = std::collections::BTreeMap::new();
    for line in text.lines() {
        // 10.0.0.1 - - [01/Jan/2026:00:00:07 +0000] "GET /read HTTP/1.1" 200 2048 "-" "stacksim/x" 0.007
        let parts: Vec<&str> = line.split('"').collect();
        assert_eq!(parts.len(), 7, "{line}");
        assert!(
            parts[1].starts_with("GET /read ") || parts[1].starts_with("POST /write "),
            "{line}"
        );
        let status: u16 = parts[2].split_whitespace().next().unwrap().parse().unwrap();
        assert!(status == 200 || status >= 500, "{line}");
        let request_time: f64 = parts[6].trim().parse().unwrap();
        assert!(request_time > 0.0 && request_time < 10.0, "{line}");
        let stamp = line.split('[').nth(1).unwrap().split(' ').next().unwrap();
        *per_second.entry(stamp.to_string()).or_insert(0u32) += 1;
    }
    // Poisson 600/s: over the 39 full seconds the mean count per second has
    // sd sqrt(600/39) = 3.9; allow 4 sd.
    let full: Vec<u32> = per_second.values().copied().take(39).collect();
    let mean = f64::from(full.iter().sum::<u32>()) / full.len() as f64;
    assert!((mean - 600.0).abs() < 16.0, "QPS from the log: {mean}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn precision_adds_replications_until_the_target_or_says_it_did_not_converge() {
    let dir = temp("precision");
    let mm1 = root().join("scenarios/validation/mm1.toml");
    let m = mm1.to_str().unwrap();
    let ok = stacksim(
        &[
            "run",
            m,
            "--replications",
            "3",
            "--duration",
            "60s",
            "--precision",
            "0.05",
            "--no-charts",
            "--out",
            "o",
            "--json",
        ],
        &dir,
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    let notes = v["provenance"]["notes"].as_array().unwrap();
    assert!(
        notes[0]
            .as_str()
            .unwrap()
            .starts_with("precision: converged after"),
        "{notes:?}"
    );
    let reps = v["method"]["replications"].as_u64().unwrap();
    assert!(reps >= 3);
    for key in ["latency_mean_ms", "latency_p99_ms", "throughput_rps"] {
        let e = &v["end_to_end"]["overall"][key];
        let rel = e["half_width"].as_f64().unwrap() / e["mean"].as_f64().unwrap();
        assert!(rel <= 0.05, "{key}: {rel}");
    }
    let capped = stacksim(
        &[
            "run",
            m,
            "--replications",
            "2",
            "--duration",
            "20s",
            "--precision",
            "0.001",
            "--max-replications",
            "4",
            "--no-charts",
            "--out",
            "o",
        ],
        &dir,
    );
    assert_eq!(capped.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&capped.stdout)
            .contains("precision: NOT converged: after 4 replications")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `stacksim perf` (the command docs/performance.md quotes) reports speed,
/// events, the parallel run of the same replications and peak memory; the
/// figures themselves are not asserted (shared machines), their consistency
/// is: the parallel run simulates the very same requests.
#[test]
fn perf_reports_speed_events_scaling_and_memory() {
    let out = stacksim(
        &[
            "perf",
            "scenarios/bench-web.toml",
            "--replications",
            "2",
            "--duration",
            "5s",
            "--parallel",
        ],
        &root(),
    );
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let number_before = |tail: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.contains(tail))
            .unwrap_or_else(|| panic!("no `{tail}` in\n{text}"));
        line.split(tail)
            .next()
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    let one = number_before(" requests,");
    let parallel = number_before(" requests in");
    assert!(one > 7_000, "2 x 15 s at 800/s: {one}");
    assert_eq!(
        one, parallel,
        "the parallel run simulates the same requests"
    );
    for needle in [
        "million simulated requests/s",
        "million events/s",
        "speed-up",
        "peak resident memory",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
}

/// A run's folder is written whole beside its destination and moved into
/// place: a second run into the same folder replaces the first's files
/// entirely (no chart of the first survives a `--no-charts` rerun, so the
/// folder never mixes two runs), nothing staged is left beside it, and a
/// folder holding a file stacksim did not write is written in place, that
/// file untouched.
#[test]
fn a_run_folder_is_replaced_whole_and_a_foreign_folder_is_left_its_files() {
    let dir = temp("staged");
    let out = dir.join("res");
    let out_s = out.to_str().unwrap();
    let quick = [
        "--replications",
        "2",
        "--duration",
        "5s",
        "--warmup",
        "1s",
        "-q",
    ];
    let mut args = vec!["run", "--out", out_s];
    args.extend(quick);
    assert_ok(&stacksim(&args, &root()));
    assert!(out.join("throughput.png").is_file());
    args.push("--no-charts");
    assert_ok(&stacksim(&args, &root()));
    assert!(out.join("summary.json").is_file());
    assert!(
        !out.join("throughput.png").exists(),
        "the first run's charts are gone"
    );
    assert!(!out.join("report.html").exists());
    let beside: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        beside,
        vec!["res".to_string()],
        "nothing staged left beside it"
    );
    // A folder with the user's own file in it: written in place.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    args.pop();
    assert_ok(&stacksim(&args, &root()));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(out.join("throughput.png").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empirical_file_is_recorded_by_path_size_sha256_and_statistics_not_its_samples() {
    let dir = temp("empirical-file");
    // 200,000 samples (1.4 MB): summary.json must stay small.
    let csv: String = std::iter::once("latency_ms\n".to_string())
        .chain((0..200_000).map(|i| format!("{}.{:03}\n", 1 + i % 7, i % 997)))
        .collect();
    std::fs::write(dir.join("samples.csv"), &csv).unwrap();
    std::fs::write(
        dir.join("e.toml"),
        "[workload]\nrate = 50\n[[tier]]\nname = \"web\"\nservice = \"empirical(file = \\\"samples.csv\\\", unit = \\\"ms\\\")\"\n",
    )
    .unwrap();
    let o = stacksim(
        &[
            "run",
            "e.toml",
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--replications",
            "2",
            "--no-charts",
            "--out",
            "o",
        ],
        &dir,
    );
    assert_ok(&o);
    let bytes = std::fs::read(dir.join("o/summary.json")).unwrap();
    assert!(
        bytes.len() < 200_000,
        "summary.json is {} bytes: samples written out?",
        bytes.len()
    );
    let text = String::from_utf8(bytes).unwrap();
    // Another implementation of SHA-256 says what the digest must be.
    let sum = Command::new("sha256sum")
        .arg(dir.join("samples.csv"))
        .output()
        .expect("sha256sum runs");
    let expected = String::from_utf8(sum.stdout).unwrap();
    let expected = expected.split_whitespace().next().unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files = v["provenance"]["data_files"]
        .as_array()
        .expect("data_files");
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    assert_eq!(f["key"], "tier.web.service");
    assert_eq!(f["path"], "samples.csv");
    assert_eq!(f["rows"], 200_000);
    assert_eq!(f["bytes"], csv.len() as u64);
    assert_eq!(f["sha256"], expected);
    // Summary statistics, computed here from the same values.
    let mut values: Vec<f64> = (0..200_000)
        .map(|i| f64::from(1 + i % 7) + f64::from(i % 997) / 1000.0)
        .collect();
    values.sort_by(f64::total_cmp);
    let summary = &f["summary"];
    assert_eq!(summary["of"], "samples");
    let close = |key: &str, want: f64| {
        let got = summary[key].as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-6, "{key}: {got} against {want}");
    };
    close("min_ms", values[0]);
    close("max_ms", values[values.len() - 1]);
    close("mean_ms", values.iter().sum::<f64>() / values.len() as f64);
    close("p50_ms", values[100_000 - 1]);
    close("p99_ms", values[198_000 - 1]);
    let at = std::fs::canonicalize(dir.join("samples.csv")).unwrap();
    assert_eq!(f["resolved"], at.display().to_string());
    // The resolved scenario says which file it needs and how to recognise it.
    let resolved = std::fs::read_to_string(dir.join("o/scenario.toml")).unwrap();
    assert!(resolved.contains(expected), "{resolved}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--threads N` sizes the pool (perf reports it) and changes no figure.
#[test]
fn threads_flag_sets_the_pool_and_leaves_results_alone() {
    let dir = temp("threads");
    let json = |threads: &str| {
        let o = stacksim(
            &[
                "run",
                "scenarios/retry-storm.toml",
                "--duration",
                "20s",
                "--replications",
                "4",
                "--threads",
                threads,
                "--json",
            ],
            &root(),
        );
        assert_ok(&o);
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        // Only the command line that says how it was run may differ.
        v["provenance"]["command_line"] = serde_json::Value::Null;
        v
    };
    assert_eq!(json("1"), json("3"));
    let o = stacksim(
        &[
            "perf",
            "--duration",
            "5s",
            "--replications",
            "3",
            "--parallel",
            "--threads",
            "3",
        ],
        &dir,
    );
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("3 threads:"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An unstable run's availability is marked "(drained)" only when a drain
/// served requests after the window; with `drain = "0s"` nothing was, and
/// the mark would contradict the figures.
#[test]
fn drained_is_said_only_when_there_was_a_drain() {
    let dir = temp("drained");
    let run = |drain: &str| {
        let o = stacksim(
            &[
                "run",
                "scenarios/write-heavy.toml",
                "--duration",
                "20s",
                "--warmup",
                "2s",
                "--replications",
                "2",
                "--no-charts",
                "--set",
                &format!("simulation.drain={drain}"),
                "--out",
                dir.join(drain).to_str().unwrap(),
            ],
            &root(),
        );
        assert_ok(&o);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let with = run("30s");
    let without = run("0s");
    assert!(with.contains("(drained)"), "{with}");
    assert!(!without.contains("(drained)"), "{without}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pool's "down" line says as a share of what: with two instances, one
/// down for the whole window is half of the instances' time.
#[test]
fn down_lines_say_what_was_down_and_of_what() {
    let dir = temp("down-lines");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two.toml");
    std::fs::write(
        &file,
        "[simulation]\nduration = \"20s\"\nwarmup = \"0s\"\nreplications = 2\n[workload]\nrate = 50\n[[tier]]\nname = \"app\"\ninstances = 2\nworkers = 4\nservice = \"exp(2ms)\"\n[[fault]]\nat = \"0s\"\nduration = \"1h\"\ntier = \"app\"\ninstance = 0\n",
    )
    .unwrap();
    let o = stacksim(
        &[
            "run",
            file.to_str().unwrap(),
            "--no-charts",
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
        &root(),
    );
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("app: down 50") && out.contains("of its 2 instances' time (the window's)"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Counts and rates of a thousand or more are grouped wherever they are
/// printed: `perf`'s requests and events, `review`'s saturation rates.
#[test]
fn large_figures_are_grouped_in_perf_and_review() {
    let grouped = |s: &str| {
        // A run of digits of four or more with no comma is ungrouped.
        let mut run = 0;
        for c in s.chars() {
            if c.is_ascii_digit() {
                run += 1;
                if run >= 4 {
                    return false;
                }
            } else {
                run = 0;
            }
        }
        true
    };
    let o = stacksim(
        &[
            "perf",
            "scenarios/bench-web.toml",
            "--replications",
            "2",
            "--duration",
            "20s",
        ],
        &root(),
    );
    assert_ok(&o);
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    let line = t
        .lines()
        .find(|l| l.starts_with("one core: "))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(grouped(line) && line.contains(','), "{line}");
    assert!(t.contains("(2 replications of 30s simulated)"), "{t}");
    let o = stacksim(&["review", "scenarios/secured-web-stack.toml"], &root());
    assert_ok(&o);
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(t.contains("1,284"), "{t}");
    for l in t.lines().filter(|l| l.starts_with("host server#")) {
        assert!(grouped(l), "{l}");
    }
}

/// `run --openmetrics FILE`: one family at a time (HELP, TYPE, UNIT, then
/// its samples), each series in time order, stamped from
/// `--openmetrics-start`, ending `# EOF`; the p99 samples are the run's own
/// time series (timeseries.csv) in seconds. A file stacksim did not write
/// is refused without --force; its own export is replaced.
#[test]
fn openmetrics_export_is_the_time_series_in_order() {
    let dir = temp("openmetrics");
    let om = dir.join("run.om");
    let args = |out: &str| {
        vec![
            "run".to_string(),
            "--duration".into(),
            "10s".into(),
            "--warmup".into(),
            "2s".into(),
            "--replications".into(),
            "2".into(),
            "--quiet".into(),
            "--no-charts".into(),
            "--out".into(),
            dir.join(out).display().to_string(),
            "--openmetrics".into(),
            om.display().to_string(),
            "--openmetrics-start".into(),
            "1796000000".into(),
        ]
    };
    let run = |a: Vec<String>| stacksim(&a.iter().map(String::as_str).collect::<Vec<_>>(), &root());
    std::fs::write(&om, "somebody's metrics\n").unwrap();
    let o = run(args("a"));
    assert_eq!(o.status.code(), Some(2), "a foreign file is refused");
    assert_eq!(
        std::fs::read_to_string(&om).unwrap(),
        "somebody's metrics\n"
    );
    std::fs::remove_file(&om).unwrap();
    assert_ok(&run(args("a")));
    assert_ok(&run(args("b")));
    let text = std::fs::read_to_string(&om).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Families are contiguous and every series' timestamps increase.
    let mut families: Vec<String> = Vec::new();
    let mut last: std::collections::HashMap<String, f64> = Default::default();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap().to_string();
            assert!(!families.contains(&name), "{name} twice");
            families.push(name);
            continue;
        }
        if l.starts_with('#') {
            continue;
        }
        // `series value timestamp`; label values may hold spaces.
        let mut parts = l.rsplitn(3, ' ');
        let t: f64 = parts.next().unwrap().parse().unwrap();
        let series = parts.nth(1).unwrap();
        let family = families.last().unwrap();
        assert!(
            series.starts_with(family.as_str()),
            "{series} outside {family}"
        );
        assert!(t > 1_796_000_000.0 && t <= 1_796_000_012.0, "{l}");
        if let Some(prev) = last.insert(series.to_string(), t) {
            assert!(t > prev, "{series} goes back in time");
        }
    }
    for f in [
        "http_server_request_duration_seconds",
        "stacksim_offered_requests_per_second",
        "stacksim_utilization_ratio",
        "stacksim_queue_length",
    ] {
        assert!(families.iter().any(|x| x == f), "no {f}: {families:?}");
    }
    // The p99 samples are timeseries.csv's p99, in seconds.
    let csv = std::fs::read_to_string(dir.join("b/timeseries.csv")).unwrap();
    let mut rows = csv.lines();
    let head: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = head.iter().position(|h| *h == "latency_p99_ms").unwrap();
    let csv_p99: Vec<f64> = rows
        .map(|r| r.split(',').nth(col).unwrap().parse::<f64>().unwrap())
        .collect();
    let om_p99: Vec<f64> = text
        .lines()
        .filter(|l| l.contains("quantile=\"0.99\""))
        .map(|l| l.rsplit(' ').nth(1).unwrap().parse::<f64>().unwrap())
        .collect();
    assert_eq!(om_p99.len(), csv_p99.len());
    for (a, b) in om_p99.iter().zip(&csv_p99) {
        assert!(
            (a * 1e3 - b).abs() <= 1e-6 * b.max(1.0),
            "{a} s against {b} ms"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `init --template NAME` writes each starting shape, named after its file,
/// and every one passes `check`; the default is the reference scenario as
/// before, byte for byte; an unknown template is a usage error listing them.
#[test]
fn init_writes_every_template_and_each_checks() {
    let dir = temp("templates");
    for (name, _, _) in stacksim::scenario::TEMPLATES {
        let file = dir.join(format!("my-{name}.toml"));
        let f = file.to_str().unwrap();
        assert_ok(&stacksim(&["init", f, "--template", name], &dir));
        let text = std::fs::read_to_string(&file).unwrap();
        let s = stacksim::scenario::parse(&text, f, Some(&dir)).unwrap();
        assert_eq!(s.name, format!("my-{name}"), "{name}");
        let o = stacksim(&["check", f], &dir);
        assert_ok(&o);
    }
    let file = dir.join("plain.toml");
    assert_ok(&stacksim(&["init", file.to_str().unwrap()], &dir));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        stacksim::scenario::reference_named("plain")
    );
    let o = stacksim(&["init", "x.toml", "--template", "nope"], &dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("one-box") && err.contains("closed-users"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Shell completions and man pages come from the same definition as the
/// command line: the bash script is valid bash and completes every
/// command; `man --out` writes a page per command; a reader that stops
/// early (`| head`) gets no panic.
#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = temp("man");
    let o = stacksim(&["completions", "bash"], &dir);
    assert_ok(&o);
    let script = dir.join("stacksim.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    let commands = [
        "run",
        "check",
        "sweep",
        "merge",
        "capacity",
        "compare",
        "review",
        "perf",
        "calibrate",
        "validate",
        "completions",
        "man",
        "init",
    ];
    for c in commands {
        assert!(text.contains(c), "no {c} in the completions");
    }
    let pages = dir.join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    assert_ok(&stacksim(&["man", "--out", pages.to_str().unwrap()], &dir));
    for c in commands {
        let page = std::fs::read_to_string(pages.join(format!("stacksim-{c}.1"))).unwrap();
        assert!(
            page.contains(".TH stacksim\\-") || page.contains(".TH stacksim-"),
            "{c}"
        );
    }
    let top = std::fs::read_to_string(pages.join("stacksim.1")).unwrap();
    assert!(top.contains(".SH SYNOPSIS"), "{top}");
    // A reader that goes away: no panic, no error.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} completions zsh | head -c 10 >/dev/null",
            env!("CARGO_BIN_EXE_stacksim")
        ))
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{o:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
