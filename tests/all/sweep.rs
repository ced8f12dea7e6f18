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

/// The test sweep (4 rates x 2 worker counts) into `out`, with `extra` flags.
fn sweep_cmd(out: &Path, extra: &[&str], threads: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacksim"));
    c.args(["sweep", SCENARIO])
        .args(crate::support::SMALL_SWEEP)
        .arg("--out")
        .arg(out)
        .args(FAST)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RAYON_NUM_THREADS", threads);
    c
}

fn sweep(out: &Path, extra: &[&str], threads: &str) -> Output {
    let r = sweep_cmd(out, extra, threads)
        .arg("--quiet")
        .output()
        .expect("the binary runs");
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
    // An interrupted whole sweep: shard 1's points, with the last line torn.
    std::fs::create_dir_all(&resumed).unwrap();
    std::fs::copy(
        full.join("sweep-meta.json"),
        resumed.join("sweep-meta.json"),
    )
    .unwrap();
    let mut kept = std::fs::read_to_string(s1.join("points.jsonl")).unwrap();
    kept.push_str("{\"index\": 7, \"values\": [[\"workload.rate\"");
    std::fs::write(resumed.join("points.jsonl"), kept).unwrap();
    sweep(&resumed, &["--no-charts", "--resume"], "2");
    // The 4 finished points were kept and only the other 4 run: 8 lines, not 12.
    let lines = std::fs::read_to_string(resumed.join("points.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 8, "{lines}");
    let note = sweep_cmd(&resumed, &["--no-charts", "--resume"], "2")
        .output()
        .unwrap();
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

/// `capacity --out DIR` leaves the search behind: the answer and every
/// probe's figures in capacity.json (the same as `--json` prints), the
/// report and both charts; a folder it may not write is refused before the
/// search, and nothing is written.
#[test]
fn capacity_writes_its_search_as_a_report() {
    let dir = temp("cap-report");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mm1.toml");
    std::fs::write(&file, "[simulation]\nduration = \"100s\"\nwarmup = \"10s\"\nreplications = 5\n[workload]\nrate = 50\n[[tier]]\nname = \"s\"\nservice = \"exp(10ms)\"\n").unwrap();
    let out = dir.join("report");
    let r = bin(
        &[
            "capacity",
            file.to_str().unwrap(),
            "--slo",
            "mean<50ms",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
        "2",
    );
    assert_ok(&r);
    let printed: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("capacity.json")).unwrap()).unwrap();
    assert_eq!(written["capacity_rps"], printed["capacity_rps"]);
    assert_eq!(written["failing_rps"], printed["failing_rps"]);
    assert_eq!(written["slos"][0], "mean<50ms");
    let probes = written["probes"].as_array().unwrap();
    assert_eq!(probes.len(), printed["probes"].as_array().unwrap().len());
    // Each probe's measured figures, with intervals: at the passing rate
    // the mean latency SLO's own figure lies below its limit, and the
    // throughput within its interval of the offered rate.
    let cap = written["capacity_rps"].as_f64().unwrap();
    let at = probes
        .iter()
        .find(|p| p["rate_rps"].as_f64() == Some(cap))
        .unwrap();
    let f = &at["figures"];
    let thr = f["throughput_rps"]["mean"].as_f64().unwrap();
    let hw = f["throughput_rps"]["half_width"].as_f64().unwrap();
    assert!(
        (thr - cap).abs() <= 4.0 * hw.max(cap * 0.005),
        "{thr} ± {hw} at {cap}"
    );
    assert!(f["latency_p99_ms"]["mean"].as_f64().unwrap() > 0.0);
    for f in [
        "capacity.md",
        "capacity.html",
        "capacity-latency.png",
        "capacity-throughput.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let html = std::fs::read_to_string(out.join("capacity.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("Provenance"),
        "charts and provenance"
    );

    // A second search replaces the report whole (the folder is its own).
    let before = std::fs::read_to_string(out.join("capacity.json")).unwrap();
    let r = bin(
        &[
            "capacity",
            file.to_str().unwrap(),
            "--slo",
            "p99<80ms",
            "--out",
            out.to_str().unwrap(),
        ],
        "2",
    );
    assert_ok(&r);
    let after = std::fs::read_to_string(out.join("capacity.json")).unwrap();
    assert!(before != after && after.contains("p99<80ms"));
    // A file where the folder should be is refused before the search, and
    // left as it was.
    let file_out = dir.join("taken");
    std::fs::write(&file_out, "mine").unwrap();
    let r = bin(
        &[
            "capacity",
            file.to_str().unwrap(),
            "--slo",
            "mean<50ms",
            "--out",
            file_out.to_str().unwrap(),
        ],
        "2",
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("searching"),
        "refused before the search: {err}"
    );
    assert_eq!(std::fs::read_to_string(&file_out).unwrap(), "mine");
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
    let p = &v["pairings"][0]["comparison"];
    assert!(
        p["verdict"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("does not differ from A")),
        "{}",
        p["verdict"]
    );
    let rows = p["rows"].as_array().unwrap();
    let every = p["end_to_end"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rows.iter().flat_map(|r| r["metrics"].as_array().unwrap()));
    for d in every {
        // NaN (no value, e.g. no drop-free wait) serializes as null.
        if let Some(x) = d["difference"]["mean"].as_f64() {
            assert_eq!(x, 0.0, "common random numbers make every pair equal: {d}");
        }
        assert_eq!(d["significant"], false);
    }
    assert!(p["scenario_diff"].as_array().unwrap().is_empty());
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

/// `stacksim merge --no-charts --out OUT DIRS...`.
fn merge(out: &Path, dirs: &[&Path]) -> Output {
    let mut args = vec![
        "merge",
        "--no-charts",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    bin(&args, "2")
}

fn refused(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn merge_refuses_missing_torn_repeated_and_foreign_shards_and_names_what_to_rerun() {
    let dirs: Vec<PathBuf> = (1..=3).map(|k| temp(&format!("m{k}"))).collect();
    let (full, out, other, whole) = (temp("mfull"), temp("mout"), temp("mother"), temp("mwhole"));
    sweep(&full, &["--no-charts"], "2");
    // One thread: shard 2's points finish in grid order, point 1 first.
    for (k, d) in dirs.iter().enumerate() {
        sweep(d, &["--shard", &format!("{}/3", k + 1)], "1");
    }
    // Shard 2 killed after its first point, mid-way through its second line.
    let log = dirs[1].join("points.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let first = text.lines().next().unwrap();
    std::fs::write(&log, format!("{first}\n{}", &text[first.len() + 1..][..40])).unwrap();
    let e = refused(&merge(&out, &[&dirs[0], &dirs[1]]));
    assert!(!out.exists(), "a refused merge writes nothing");
    assert!(
        e.contains(&format!(
            "shard 2/3 ({}): incomplete, 1 of 3 points; missing point 4 (workload.rate=300, tier.server.workers=4), point 7 (workload.rate=400, tier.server.workers=5)",
            dirs[1].display()
        )),
        "{e}"
    );
    assert!(
        e.contains("shard 3/3: not given; it holds point 2 (workload.rate=200, tier.server.workers=4), point 5 (workload.rate=300, tier.server.workers=5)"),
        "{e}"
    );
    assert!(
        e.contains("run again: shards 2,3 (Slurm: sbatch --array=2,3"),
        "{e}"
    );
    assert!(e.contains("completion indexes 1,2"), "{e}");
    // The same shard twice, a shard of another run, a whole sweep.
    sweep(&other, &["--shard", "3/3", "--seed", "99"], "2");
    sweep(&whole, &["--no-charts"], "2");
    let e = refused(&merge(&out, &[&dirs[0], &dirs[0], &other, &whole]));
    assert!(!out.exists(), "a refused merge writes nothing");
    assert!(e.contains("shard 1/3 given twice"), "{e}");
    assert!(
        e.contains(&format!(
            "shard 3/3 ({}): not the sweep of",
            other.display()
        )),
        "{e}"
    );
    assert!(e.contains("settings:") && e.contains("--seed 99"), "{e}");
    assert!(
        e.contains(&format!(
            "{}: a whole sweep, written without --shard",
            whole.display()
        )),
        "{e}"
    );
    assert!(e.contains("shard 2/3: not given"), "{e}");
    let e = refused(&merge(&out, &[&out]));
    assert!(e.contains("not a sweep folder"), "{e}");
    // Rerun the killed shard with --resume and from scratch: both complete it.
    let scratch = temp("mscratch");
    std::fs::create_dir_all(&scratch).unwrap();
    for f in ["sweep-meta.json", "points.jsonl"] {
        std::fs::copy(dirs[1].join(f), scratch.join(f)).unwrap();
    }
    sweep(&dirs[1], &["--shard", "2/3", "--resume"], "2");
    sweep(&scratch, &["--shard", "2/3"], "2");
    for killed in [&dirs[1], &scratch] {
        let o = merge(&out, &[&dirs[0], killed, &dirs[2]]);
        assert_ok(&o);
        assert_eq!(
            results(&full),
            results(&out),
            "merge after a rerun of {}",
            killed.display()
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
    // A shard folder resumed as another shard is refused.
    let o = sweep_cmd(&scratch, &["--shard", "1/3", "--resume"], "2")
        .output()
        .unwrap();
    let e = refused(&o);
    assert!(e.contains("holds shard 2/3, not shard 1/3"), "{e}");
    for d in dirs.iter().chain([&full, &other, &whole, &scratch]) {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn shard_auto_reads_the_array_index_of_slurm_or_kubernetes() {
    let (given, slurm, k8s) = (temp("given"), temp("slurm"), temp("k8s"));
    sweep(&given, &["--shard", "2/3"], "2");
    let auto = |out: &Path, var: &str, value: &str| {
        sweep_cmd(out, &["--shard", "auto/3"], "2")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .env(var, value)
            .output()
            .expect("the binary runs")
    };
    let r = auto(&slurm, "SLURM_ARRAY_TASK_ID", "2");
    assert_ok(&r);
    assert!(String::from_utf8_lossy(&r.stderr).contains("shard 2/3 (from SLURM_ARRAY_TASK_ID=2)"));
    assert_ok(&auto(&k8s, "JOB_COMPLETION_INDEX", "1"));
    // The same points; lines come in the order points finished.
    let points = |d: &Path| {
        let text = std::fs::read_to_string(d.join("points.jsonl")).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    assert_eq!(
        points(&given),
        points(&slurm),
        "auto/3 with task 2 is shard 2/3"
    );
    assert_eq!(
        points(&given),
        points(&k8s),
        "auto/3 with index 1 is shard 2/3"
    );
    let none = temp("none");
    let r = auto(&none, "STACKSIM_UNRELATED", "1");
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("neither SLURM_ARRAY_TASK_ID"));
    assert!(!none.exists(), "nothing written");
    for d in [given, slurm, k8s] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn resume_with_other_run_flags_is_refused_naming_them() {
    let out = temp("reflags");
    sweep(&out, &["--no-charts"], "2");
    let mut args = vec!["sweep", SCENARIO];
    args.extend(crate::support::SMALL_SWEEP);
    let o = out.to_str().unwrap();
    args.extend([
        "--out",
        o,
        "--resume",
        "--duration",
        "30s",
        "--warmup",
        "2s",
        "--replications",
        "3",
    ]);
    let o = bin(&args, "2");
    let e = refused(&o);
    assert!(
        e.contains("holds a different sweep (this run vs the folder's: settings:")
            && e.contains("--duration 30s")
            && e.contains("--duration 20s"),
        "{e}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

/// `capacity` states its answer to the precision the search resolved (the
/// highest passing rate rounded down inside the bracket, no five-figure
/// claim from a 2%-wide bracket), and a scenario's own scripted fault is
/// named: every probe ran with it, and a failing probe shows what requests
/// saw before, during and after it, not only the busiest resource.
#[test]
fn capacity_states_its_precision_and_the_faults_inside_every_probe() {
    let r = bin(
        &[
            "capacity",
            "scenarios/examples/server-crash.toml",
            "--slo",
            "availability>99%",
            "--duration",
            "2m",
            "--warmup",
            "5s",
            "--replications",
            "3",
            "--json",
        ],
        "2",
    );
    assert_ok(&r);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let faults: Vec<&str> = v["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        faults,
        ["fault 0: crash of host server#0 at 1m for 1m"],
        "{v}"
    );
    // Half the machines down for half the window: no useful rate keeps 99%
    // of requests, and the probes say the fault is why (before and after
    // it, all served).
    let probes = v["probes"].as_array().unwrap();
    let useful: Vec<_> = probes
        .iter()
        .filter(|p| p["rate_rps"].as_f64().unwrap() >= 10.0)
        .collect();
    assert!(useful.len() >= 3, "{v}");
    for p in useful {
        assert_eq!(p["outcome"], "fail", "{p}");
        let d = p["detail"].as_str().unwrap();
        assert!(
            d.contains("fault 0 (crash of host server#0 at 1m for 1m), available and p99 seen before / during / after it: 100.0% "),
            "{d}"
        );
    }

    // Without the fault in the window: a bracket, and a stated figure that
    // claims no digit finer than it.
    let r = bin(
        &[
            "capacity",
            "scenarios/examples/server-crash.toml",
            "--slo",
            "p99<200ms",
            "--duration",
            "40s",
            "--warmup",
            "5s",
            "--replications",
            "3",
            "--json",
        ],
        "2",
    );
    assert_ok(&r);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["faults"].as_array().map(Vec::len), Some(0), "{v}");
    let (cap, stated, fail) = (
        v["capacity_rps"].as_f64().unwrap(),
        v["stated_rps"].as_f64().unwrap(),
        v["failing_rps"].as_f64().unwrap(),
    );
    let step = 10f64.powf((fail - cap).log10().floor());
    assert!(
        stated <= cap && cap - stated < step,
        "{stated} {cap} {fail}"
    );
    assert!(
        (stated / step - (stated / step).round()).abs() < 1e-6,
        "{stated} is not a multiple of {step}"
    );
}
