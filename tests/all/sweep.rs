//! Sweeps, shards, resume, capacity and compare, through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::assert_ok;

fn bin(args: &[&str], threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("the binary runs")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stacksim-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const SCENARIO: &str = "scenarios/validation/mmc.toml";
const FAST: [&str; 6] = ["--duration", "20s", "--warmup", "2s", "--replications", "3"];

fn sweep(out: &Path, extra: &[&str], threads: &str) -> Output {
    let mut args = vec![
        "sweep",
        SCENARIO,
        "--vary",
        "workload.rate=100..400:100",
        "--vary",
        "tier.server.workers=4,5",
        "--quiet",
        "--out",
    ];
    let o = out.to_str().unwrap();
    args.push(o);
    args.extend(FAST);
    args.extend(extra);
    let r = bin(&args, threads);
    assert_ok(&r);
    r
}

fn results(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(dir.join("sweep.csv")).unwrap(),
        std::fs::read(dir.join("sweep.json")).unwrap(),
    )
}

#[test]
fn sweep_writes_every_point_identically_across_thread_counts() {
    let (a, b) = (temp("t1"), temp("t3"));
    sweep(&a, &["--no-charts"], "1");
    sweep(&b, &[], "3");
    let (csv, json) = results(&a);
    assert_eq!(
        (csv.clone(), json),
        results(&b),
        "thread count changed the sweep"
    );
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 8, "4 rates x 2 worker counts");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with("workload.rate,tier.server.workers,offered_rps")
    );
    let lines = std::fs::read_to_string(a.join("points.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        8,
        "each point appended as it finished"
    );
    for f in [
        "sweep-latency.png",
        "sweep-throughput.svg",
        "sweep-bottleneck.png",
        "report.html",
    ] {
        assert!(b.join(f).exists(), "{f}");
    }
    // The bottleneck chart names the resource it plots.
    let svg = std::fs::read_to_string(b.join("sweep-bottleneck.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(
        doc.descendants()
            .filter_map(|n| n.text())
            .any(|t| t.trim() == "server"),
        "bottleneck named on the chart"
    );
    // Common random numbers: the same rate gives the same arrivals at every worker count.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("sweep.json")).unwrap()).unwrap();
    let offered = |i: usize| json["points"][i]["offered_rps"]["mean"].as_f64().unwrap();
    assert_eq!(offered(0), offered(1), "rate 100 with 4 and with 5 workers");
    for d in [a, b] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn merged_shards_equal_the_unsharded_run_and_resume_finishes_the_rest() {
    let (full, s1, s2, merged, resumed) = (
        temp("full"),
        temp("s1"),
        temp("s2"),
        temp("merged"),
        temp("resumed"),
    );
    sweep(&full, &["--no-charts"], "2");
    sweep(&s1, &["--shard", "1/2"], "2");
    sweep(&s2, &["--shard", "2/2"], "2");
    assert!(!s1.join("sweep.csv").exists(), "a shard writes points only");
    let m = bin(
        &[
            "merge",
            "--no-charts",
            "--out",
            merged.to_str().unwrap(),
            s1.to_str().unwrap(),
            s2.to_str().unwrap(),
        ],
        "2",
    );
    assert_ok(&m);
    assert_eq!(
        results(&full),
        results(&merged),
        "merged shards differ from the single run"
    );
    // An interrupted sweep: shard 1's points, with the last line torn.
    std::fs::create_dir_all(&resumed).unwrap();
    std::fs::copy(s1.join("sweep-meta.json"), resumed.join("sweep-meta.json")).unwrap();
    let mut kept = std::fs::read_to_string(s1.join("points.jsonl")).unwrap();
    kept.push_str("{\"index\": 7, \"values\": [[\"workload.rate\"");
    std::fs::write(resumed.join("points.jsonl"), kept).unwrap();
    sweep(&resumed, &["--no-charts", "--resume"], "2");
    // The 4 finished points were kept and only the other 4 run: 8 lines, not 12.
    let lines = std::fs::read_to_string(resumed.join("points.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 8, "{lines}");
    let note = bin(
        &[
            "sweep",
            SCENARIO,
            "--vary",
            "workload.rate=100..400:100",
            "--vary",
            "tier.server.workers=4,5",
            "--no-charts",
            "--resume",
            "--out",
            resumed.to_str().unwrap(),
            "--duration",
            "20s",
            "--warmup",
            "2s",
            "--replications",
            "3",
        ],
        "2",
    );
    assert!(
        String::from_utf8_lossy(&note.stderr).contains("8 points already done, 0 to run"),
        "{}",
        String::from_utf8_lossy(&note.stderr)
    );
    assert_eq!(
        results(&full),
        results(&resumed),
        "resume changed the result"
    );
    let other = bin(
        &[
            "sweep",
            SCENARIO,
            "--vary",
            "workload.rate=100,200",
            "--resume",
            "--out",
            resumed.to_str().unwrap(),
        ],
        "2",
    );
    assert_eq!(
        other.status.code(),
        Some(2),
        "resuming a different sweep is refused"
    );
    for d in [full, s1, s2, merged, resumed] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn sweep_rejects_a_bad_point_before_running_anything() {
    let out = temp("bad");
    let r = bin(
        &[
            "sweep",
            SCENARIO,
            "--vary",
            "tier.server.workers=2,0",
            "--out",
            out.to_str().unwrap(),
        ],
        "2",
    );
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("--vary tier.server.workers=0") && err.contains("must be at least 1"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    let r = bin(
        &[
            "run",
            SCENARIO,
            "--set",
            "tier.server.wokers=3",
            "--set",
            "workload.rate=fast",
        ],
        "2",
    );
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("unknown key `wokers`") && err.contains("did you mean `workers`"),
        "{err}"
    );
    assert!(err.contains("`workload.rate`: expected a number"), "{err}");
}

#[test]
fn capacity_of_an_mm1_is_found_within_its_stated_interval() {
    // M/M/1 with S = 10 ms: mean response 1/(mu - lambda) < 50 ms holds up to
    // lambda = mu - 1/X = 100 - 20 = 80 requests/s exactly.
    let dir = temp("cap");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mm1.toml");
    std::fs::write(&file, "[simulation]\nduration = \"200s\"\nwarmup = \"10s\"\nreplications = 10\n[workload]\nrate = 50\n[[tier]]\nname = \"s\"\nservice = \"exp(10ms)\"\n").unwrap();
    let r = bin(
        &[
            "capacity",
            file.to_str().unwrap(),
            "--slo",
            "mean<50ms",
            "--json",
        ],
        "2",
    );
    assert_ok(&r);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let lo = v["capacity_rps"].as_f64().unwrap();
    let hi = v["failing_rps"].as_f64().unwrap();
    assert!(lo <= 80.0 && 80.0 <= hi, "exact 80 outside [{lo}, {hi}]");
    assert!(
        hi / lo < 1.15,
        "the interval [{lo}, {hi}] is too wide to mean much"
    );
    assert!(
        v["probes"].as_array().unwrap().len() < 30,
        "a search, not a grid"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_of_a_scenario_with_itself_reports_no_difference() {
    let r = bin(
        &[
            "compare",
            SCENARIO,
            SCENARIO,
            "--duration",
            "20s",
            "--replications",
            "4",
            "--json",
        ],
        "2",
    );
    assert_ok(&r);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("B: no difference"),
        "{}",
        v["verdict"]
    );
    for d in v["differences"].as_array().unwrap() {
        assert_eq!(
            d["difference"]["mean"].as_f64().unwrap(),
            0.0,
            "common random numbers make every pair equal"
        );
    }
    // And a real change is found: five workers instead of four.
    let r = bin(
        &[
            "compare",
            SCENARIO,
            SCENARIO,
            "--set",
            "workload.rate=350",
            "--duration",
            "20s",
            "--replications",
            "4",
        ],
        "2",
    );
    assert_eq!(r.status.code(), Some(0));
}
