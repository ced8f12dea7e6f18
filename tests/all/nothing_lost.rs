//! Nothing lost, whatever the command: a command killed at any point leaves
//! its destination holding the previous result whole or the new one whole,
//! and the next command succeeds; outputs never replace an input, a device
//! or a file the user did not give up; a second writer is refused at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::support::{SMALL_SWEEP, root, temp_dir};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacksim"));
    c.env_remove("RAYON_NUM_THREADS");
    c
}

fn stacksim(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn rig(f: &str) -> PathBuf {
    root().join("tests/data/rig").join(f)
}

/// Every file under `dir` (hidden ones too), by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Names in `dir` that a command of ours leaves only while it runs.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".stacksim-"))
        .collect()
}

/// What a killed command left at `dest`: the folder, or, when the kill
/// fell between a commit's two renames (the folder is missing for that
/// instant), the previous result kept whole under the hidden `old` name
/// beside it, which the next command puts back.
fn result_after_kill(dest: &Path) -> BTreeMap<String, Vec<u8>> {
    if dest.exists() {
        return tree(dest);
    }
    let parent = dest.parent().unwrap();
    let name = dest.file_name().unwrap().to_string_lossy();
    let olds: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!(".{name}.stacksim-old-"))
        })
        .collect();
    assert_eq!(
        olds.len(),
        1,
        "{} is missing and nothing keeps it",
        dest.display()
    );
    tree(&olds[0])
}

/// `stacksim run SCENARIO` briefly (10 s, 2 replications, quiet), then `extra`.
fn short_run(scenario: &Path, extra: &[&str]) -> Output {
    let mut v = vec![
        "run",
        s(scenario),
        "--duration",
        "10s",
        "--replications",
        "2",
        "--quiet",
    ];
    v.extend_from_slice(extra);
    stacksim(&v)
}

/// Delays after which a command is killed: from before it has read its
/// input to while it writes its last file.
const KILL_AT_MS: [u64; 8] = [5, 30, 80, 160, 300, 500, 800, 1300];

/// Starts `args`, kills it (SIGKILL) after `ms`, waits for it.
fn kill_after(args: &[String], ms: u64) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn ok(args: &[String]) {
    let o = bin().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The shared shape of the folder commands: A written whole, B written
/// whole (the references), then B killed at every delay over a folder
/// holding A: the folder must equal A or B exactly, and B must then run.
fn kill_test(work: &Path, dest: &Path, a: &[String], b: &[String]) {
    ok(a);
    let ref_a = tree(dest);
    ok(b);
    let ref_b = tree(dest);
    assert_ne!(
        ref_a, ref_b,
        "the two results must differ for the test to tell them apart"
    );
    let mut seen = [0, 0];
    for ms in KILL_AT_MS {
        copy_tree_from_map_fresh(&ref_a, dest);
        kill_after(b, ms);
        let now = result_after_kill(dest);
        if now == ref_a {
            seen[0] += 1;
        } else if now == ref_b {
            seen[1] += 1;
        } else {
            let diff: Vec<&String> = now
                .keys()
                .chain(ref_a.keys())
                .filter(|k| now.get(*k) != ref_a.get(*k) && now.get(*k) != ref_b.get(*k))
                .collect();
            panic!(
                "killed after {ms} ms: {} mixes two results: {diff:?}",
                dest.display()
            );
        }
        ok(b);
        same(
            &tree(dest),
            &ref_b,
            &format!("the run after a kill at {ms} ms"),
        );
        assert!(leftovers(work).is_empty(), "{:?}", leftovers(work));
    }
    eprintln!(
        "{}: previous whole {} times, new whole {} times",
        dest.display(),
        seen[0],
        seen[1]
    );
}

fn copy_tree_from_map(t: &BTreeMap<String, Vec<u8>>, to: &Path) {
    for (rel, bytes) in t {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn a_killed_run_leaves_the_previous_folder_or_the_new_one() {
    let work = temp_dir("lost", "run");
    let dest = work.join("out");
    let run = |seed: &str| {
        strings(&[
            "run",
            s(&root().join("scenarios/secured-web-stack.toml")),
            "--duration",
            "40s",
            "--warmup",
            "2s",
            "--replications",
            "3",
            "--seed",
            seed,
            "--quiet",
            "--out",
            s(&dest),
        ])
    };
    kill_test(&work, &dest, &run("1"), &run("2"));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_killed_merge_leaves_a_whole_folder() {
    let work = temp_dir("lost", "merge");
    let scenario = root().join("scenarios/validation/mmc.toml");
    let shards: Vec<PathBuf> = (1..=2).map(|k| work.join(format!("shard{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        let mut args = strings(&["sweep", s(&scenario)]);
        args.extend(strings(&SMALL_SWEEP));
        args.extend(strings(&[
            "--duration",
            "20s",
            "--replications",
            "2",
            "--shard",
            &format!("{}/2", k + 1),
            "--quiet",
            "--out",
            s(dir),
        ]));
        ok(&args);
    }
    let dest = work.join("merged");
    let merge = |charts: bool| {
        let mut v = strings(&["merge", "--out", s(&dest), "--quiet"]);
        if !charts {
            v.push("--no-charts".into());
        }
        v.extend(shards.iter().map(|p| s(p).to_string()));
        v
    };
    kill_test(&work, &dest, &merge(false), &merge(true));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_killed_validate_leaves_a_whole_report() {
    let work = temp_dir("lost", "validate");
    let scenario = work.join("rig.toml");
    ok(&strings(&[
        "calibrate",
        "--haproxy",
        s(&rig("haproxy.log.gz")),
        "--window",
        "10s",
        "--out",
        s(&scenario),
        "--no-report",
        "--quiet",
    ]));
    let dest = work.join("val");
    let validate = |reps: &str| {
        strings(&[
            "validate",
            s(&scenario),
            "--haproxy",
            s(&rig("haproxy.log.gz")),
            "--window",
            "10s",
            "--replications",
            reps,
            "--duration",
            "10s",
            "--warmup",
            "2s",
            "--no-knee",
            "--quiet",
            "--out",
            s(&dest),
        ])
    };
    kill_test(&work, &dest, &validate("2"), &validate("3"));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_killed_sweep_never_shows_two_sweeps() {
    let work = temp_dir("lost", "sweep");
    let dest = work.join("sw");
    let sweep = |seed: &str| {
        let mut v = strings(&["sweep", s(&root().join("scenarios/validation/mmc.toml"))]);
        v.extend(strings(&SMALL_SWEEP));
        v.extend(strings(&[
            "--duration",
            "60s",
            "--replications",
            "2",
            "--seed",
            seed,
            "--quiet",
            "--out",
            s(&dest),
        ]));
        v
    };
    ok(&sweep("1"));
    let ref_a = tree(&dest);
    ok(&sweep("2"));
    let ref_b = tree(&dest);
    let meta = |t: &BTreeMap<String, Vec<u8>>| t.get("sweep-meta.json").cloned();
    for ms in KILL_AT_MS {
        copy_tree_from_map_fresh(&ref_a, &dest);
        kill_after(&sweep("2"), ms);
        // A write cut short leaves a hidden temporary file, never a torn
        // result; the next command removes it.
        let mut now = result_after_kill(&dest);
        now.retain(|k, _| !k.ends_with(".stacksim-tmp"));
        // A sweep's folder outlives a kill (for --resume): it holds A whole,
        // or B's record with only B's finished files, never files of both.
        if finished_of(&now) != finished_of(&ref_a) {
            assert_eq!(
                meta(&now),
                meta(&ref_b),
                "killed after {ms} ms: {:?}",
                now.keys()
            );
            for (name, bytes) in &now {
                if name == "points.jsonl" {
                    continue;
                }
                assert_eq!(
                    Some(bytes),
                    ref_b.get(name),
                    "killed after {ms} ms: {name} is not B's"
                );
            }
            // What B finished is kept: the resume completes it.
            let mut resume = sweep("2");
            resume.push("--resume".into());
            ok(&resume);
            same(
                &finished(&dest),
                &finished_of(&ref_b),
                &format!("resumed after a kill at {ms} ms"),
            );
        }
        ok(&sweep("2"));
        same(
            &finished(&dest),
            &finished_of(&ref_b),
            &format!("the sweep after a kill at {ms} ms"),
        );
        assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
    }
    std::fs::remove_dir_all(&work).unwrap();
}

/// A sweep folder with its points log's lines sorted: they are appended
/// in the order the points finish, which parallel runs do not fix.
fn finished(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    finished_of(&tree(dir))
}

fn finished_of(t: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    t.iter()
        .map(|(k, v)| {
            if k != "points.jsonl" {
                return (k.clone(), v.clone());
            }
            let mut lines: Vec<&[u8]> = v.split(|&b| b == b'\n').collect();
            lines.sort_unstable();
            (k.clone(), lines.join(&b'\n'))
        })
        .collect()
}

/// Two folders' files equal, or a failure naming the files that differ.
fn same(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differ: Vec<&String> = got
        .keys()
        .chain(want.keys())
        .filter(|k| got.get(*k) != want.get(*k))
        .collect();
    let sizes: Vec<(usize, usize)> = differ
        .iter()
        .map(|k| {
            (
                got.get(*k).map_or(0, Vec::len),
                want.get(*k).map_or(0, Vec::len),
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: these files differ: {differ:?} (bytes got, wanted: {sizes:?})"
    );
}

fn copy_tree_from_map_fresh(t: &BTreeMap<String, Vec<u8>>, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    copy_tree_from_map(t, to);
}

/// calibrate writes three things: the scenario, the arrivals it replays
/// and the report folder. Killed anywhere, each is the old or the new
/// whole, and a scenario never replays another calibration's arrivals
/// unnoticed: it pins them by SHA-256 and refuses a changed file.
#[test]
fn a_killed_calibrate_never_replays_the_wrong_arrivals() {
    let work = temp_dir("lost", "calibrate");
    let (out, arr, report) = (work.join("c.toml"), work.join("arr.csv"), work.join("rep"));
    let cal = |window: &str| {
        strings(&[
            "calibrate",
            "--haproxy",
            s(&rig("haproxy.log.gz")),
            "--cpu",
            s(&rig("cpu.csv")),
            "--window",
            window,
            "--out",
            s(&out),
            "--arrivals",
            s(&arr),
            "--report",
            s(&report),
            "--force",
            "--quiet",
        ])
    };
    let snapshot = || {
        (
            std::fs::read(&out).ok(),
            std::fs::read(&arr).ok(),
            result_after_kill(&report),
        )
    };
    // Windows of 10 s and 7 s start the replayed arrivals at other times.
    ok(&cal("10s"));
    let a = snapshot();
    ok(&cal("7s"));
    let b = snapshot();
    assert!(a.0 != b.0, "scenarios differ");
    assert!(a.1 != b.1, "arrivals differ");
    assert!(a.2 != b.2, "reports differ");
    let mut mixed_refused = 0;
    for ms in KILL_AT_MS {
        std::fs::write(&out, a.0.as_ref().unwrap()).unwrap();
        std::fs::write(&arr, a.1.as_ref().unwrap()).unwrap();
        copy_tree_from_map_fresh(&a.2, &report);
        kill_after(&cal("7s"), ms);
        let now = snapshot();
        assert!(
            now.0 == a.0 || now.0 == b.0,
            "killed after {ms} ms: scenario torn"
        );
        assert!(
            now.1 == a.1 || now.1 == b.1,
            "killed after {ms} ms: arrivals torn"
        );
        assert!(
            now.2 == a.2 || now.2 == b.2,
            "killed after {ms} ms: report mixes two"
        );
        assert!(
            !(now.0 == b.0 && now.1 == a.1),
            "the new scenario is put in place last"
        );
        if now.0 == a.0 && now.1 == b.1 {
            let o = stacksim(&["check", s(&out)]);
            assert_eq!(
                o.status.code(),
                Some(2),
                "the old scenario must refuse new arrivals"
            );
            assert!(String::from_utf8_lossy(&o.stderr).contains("has changed since"));
            mixed_refused += 1;
        }
        ok(&cal("7s"));
        assert!(snapshot() == b, "the calibration after a kill at {ms} ms");
        assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
    }
    eprintln!(
        "calibrate: an old scenario met new arrivals {mixed_refused} times, refused each time"
    );
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn an_input_is_never_an_output_and_existing_files_need_force() {
    let work = temp_dir("lost", "inputs");
    let scenario = work.join("my.toml");
    std::fs::copy(root().join("scenarios/validation/mm1.toml"), &scenario).unwrap();
    let before = std::fs::read(&scenario).unwrap();
    let run = |extra: &[&str]| short_run(&scenario, extra);
    let out = work.join("out");
    for force in [false, true] {
        let mut extra = vec!["--out", s(&out), "--access-log", s(&scenario)];
        if force {
            extra.push("--force");
        }
        let o = run(&extra);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("is an input of this command"));
        assert!(!out.exists(), "refused before any work");
    }
    assert_eq!(std::fs::read(&scenario).unwrap(), before);
    // An existing file the user did not give up.
    let log = work.join("access.log");
    std::fs::write(&log, b"someone's real log\n").unwrap();
    let o = run(&["--out", s(&out), "--access-log", s(&log)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --force"));
    assert_eq!(std::fs::read(&log).unwrap(), b"someone's real log\n");
    assert!(
        run(&["--out", s(&out), "--access-log", s(&log), "--force"])
            .status
            .success()
    );
    assert_ne!(std::fs::read(&log).unwrap(), b"someone's real log\n");
    // A log stacksim wrote (of a scenario with a web tier) is its own:
    // replaced by the next run without --force.
    let web = root().join("scenarios/secured-web-stack.toml");
    let sim = work.join("sim.log");
    for _ in 0..2 {
        let o = stacksim(&[
            "run",
            s(&web),
            "--duration",
            "5s",
            "--warmup",
            "1s",
            "--replications",
            "2",
            "--quiet",
            "--out",
            s(&out),
            "--access-log",
            s(&sim),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // A folder of real logs is not replaced; one stacksim wrote is.
    let logs = work.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("haproxy.log"), b"real\n").unwrap();
    let o = run(&["--out", s(&out), "--logs", s(&logs)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(logs.join("haproxy.log")).unwrap(), b"real\n");
    let sim = work.join("sim-logs");
    assert!(run(&["--out", s(&out), "--logs", s(&sim)]).status.success());
    assert!(run(&["--out", s(&out), "--logs", s(&sim)]).status.success());
    assert!(sim.join("stacksim-logs.txt").exists());
    // `init` over an existing file, with and without --force.
    let o = stacksim(&["init", s(&scenario)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&scenario).unwrap(), before);
    std::fs::remove_dir_all(&work).unwrap();
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_planted_links() {
    use std::os::unix::fs::{FileTypeExt, symlink};
    let work = temp_dir("lost", "nodes");
    let scenario = root().join("scenarios/validation/mm1.toml");
    let run = |extra: &[&str]| short_run(&scenario, extra);
    let out = work.join("out");
    // A character device of our own (the null device's numbers), as root.
    let dev = work.join("null");
    let made = Command::new("mknod")
        .args([s(&dev), "c", "1", "3"])
        .status();
    if made.is_ok_and(|s| s.success()) {
        let o = run(&["--out", s(&out), "--access-log", s(&dev)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            std::fs::metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    } else {
        eprintln!(
            "mknod not permitted here: the device case is covered by the unit test on /dev/null"
        );
    }
    // A FIFO no one reads: an error at once, not a hang, and no file made.
    let fifo = work.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let o = run(&["--out", s(&out), "--access-log", s(&fifo)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no process is reading"));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A FIFO someone reads receives the log (of a scenario with a web tier).
    let web = root().join("scenarios/secured-web-stack.toml");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    std::thread::sleep(Duration::from_millis(200));
    let o = stacksim(&[
        "run",
        s(&web),
        "--duration",
        "5s",
        "--warmup",
        "1s",
        "--replications",
        "2",
        "--quiet",
        "--out",
        s(&out),
        "--access-log",
        s(&fifo),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!reader.join().unwrap().is_empty());
    // The process's own standard output: written in place.
    let o = stacksim(&[
        "run",
        s(&web),
        "--duration",
        "5s",
        "--warmup",
        "1s",
        "--replications",
        "2",
        "--quiet",
        "--out",
        s(&out),
        "--access-log",
        "/dev/stdout",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("10.0.0.0 - - ["));
    // A link planted in the output folder is replaced, never followed.
    let victim = work.join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let _ = std::fs::remove_file(out.join("summary.csv"));
    symlink(&victim, out.join("summary.csv")).unwrap();
    assert!(run(&["--out", s(&out)]).status.success());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // --out a link to a folder: the folder it leads to is written, the link kept.
    let real = work.join("real");
    std::fs::create_dir(&real).unwrap();
    let link = work.join("link");
    symlink(&real, &link).unwrap();
    assert!(run(&["--out", s(&link)]).status.success());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(real.join("summary.json").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_second_writer_is_refused_before_any_work() {
    let work = temp_dir("lost", "lock");
    let out = work.join("out");
    let long = bin()
        .args([
            "run",
            s(&root().join("scenarios/secured-web-stack.toml")),
            "--duration",
            "3000s",
            "--replications",
            "4",
            "--quiet",
            "--out",
            s(&out),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut long = long;
    // Wait until the first holds the lock (its staging folder exists).
    let deadline = Instant::now() + Duration::from_secs(30);
    while leftovers(&work).iter().all(|n| !n.contains("stage")) {
        assert!(
            Instant::now() < deadline,
            "the first run never started writing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = stacksim(&[
        "run",
        s(&root().join("scenarios/validation/mm1.toml")),
        "--quiet",
        "--out",
        s(&out),
    ]);
    let _ = long.kill();
    let _ = long.wait();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("being written by another stacksim command")
    );
    // The killed holder's leftovers do not stop the next run.
    assert!(
        stacksim(&[
            "run",
            s(&root().join("scenarios/validation/mm1.toml")),
            "--quiet",
            "--duration",
            "10s",
            "--out",
            s(&out)
        ])
        .status
        .success()
    );
    assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_resume_after_a_data_file_changed_is_refused_naming_it() {
    let work = temp_dir("lost", "resume");
    let scenario = work.join("emp.toml");
    let samples = work.join("service.csv");
    std::fs::write(&samples, "ms\n1.0\n2.0\n3.0\n2.5\n1.5\n").unwrap();
    std::fs::write(
        &scenario,
        "name = \"emp\"\n[simulation]\nduration = \"20s\"\nreplications = 2\n[workload]\nrate = 100\n[[tier]]\nname = \"server\"\nworkers = 1\nservice = \"empirical(file = \\\"service.csv\\\", unit = \\\"ms\\\")\"\n",
    )
    .unwrap();
    let out = work.join("sw");
    let sweep = |resume: bool| {
        let mut v = vec![
            "sweep",
            s(&scenario),
            "--vary",
            "workload.rate=100,200",
            "--quiet",
            "--no-charts",
            "--out",
            s(&out),
        ];
        if resume {
            v.push("--resume");
        }
        stacksim(&v)
    };
    let o = sweep(false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&samples, "ms\n10.0\n20.0\n30.0\n25.0\n15.0\n").unwrap();
    let o = sweep(true);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("data file service.csv has changed"), "{err}");
    std::fs::remove_dir_all(&work).unwrap();
}

/// A damaged `sweep-meta.json` (a shard 0/0, a grid its axes do not give)
/// is a located refusal for merge and resume, never a panic.
#[test]
fn a_damaged_sweep_record_is_refused_not_a_panic() {
    let work = temp_dir("lost", "damaged");
    let scenario = root().join("scenarios/validation/mmc.toml");
    let dirs: Vec<PathBuf> = (1..=2).map(|k| work.join(format!("s{k}"))).collect();
    for (k, d) in dirs.iter().enumerate() {
        let shard = format!("{}/2", k + 1);
        let o = stacksim(&[
            "sweep",
            s(&scenario),
            "--vary",
            "workload.rate=100..400:100",
            "--duration",
            "10s",
            "--replications",
            "2",
            "--shard",
            &shard,
            "--quiet",
            "--out",
            s(d),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let meta = dirs[0].join("sweep-meta.json");
    let good = std::fs::read_to_string(&meta).unwrap();
    let mut j: serde_json::Value = serde_json::from_str(&good).unwrap();
    for damage in [
        serde_json::json!({"shard": {"k": 0, "n": 0}}),
        serde_json::json!({"shard": {"k": 7, "n": 2}}),
        serde_json::json!({"points": 1_000_000_000_000u64}),
    ] {
        for (k, v) in damage.as_object().unwrap() {
            j[k] = v.clone();
        }
        std::fs::write(&meta, j.to_string()).unwrap();
        let o = stacksim(&[
            "merge",
            "--out",
            s(&work.join("m")),
            s(&dirs[0]),
            s(&dirs[1]),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{damage}: {err}");
        assert!(err.contains("is damaged"), "{err}");
        assert!(!err.contains("panicked"));
        j = serde_json::from_str(&good).unwrap();
    }
    std::fs::remove_dir_all(&work).unwrap();
}

/// The working folder is written in place, never moved away under the
/// user's shell, even when it holds only an earlier run's results.
#[cfg(unix)]
#[test]
fn the_working_folder_is_written_in_place() {
    use std::os::unix::fs::MetadataExt;
    let work = temp_dir("lost", "cwd");
    let here = work.join("results");
    std::fs::create_dir(&here).unwrap();
    let ino = std::fs::metadata(&here).unwrap().ino();
    for out in [".", "../results"] {
        let o = bin()
            .current_dir(&here)
            .args([
                "run",
                s(&root().join("scenarios/validation/mm1.toml")),
                "--duration",
                "10s",
                "--replications",
                "2",
                "--quiet",
                "--out",
                out,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::metadata(&here).unwrap().ino(), ino, "--out {out}");
        assert!(here.join("summary.json").exists());
    }
    // A sweep into the working folder over an earlier sweep: in place too.
    let sw = work.join("sw");
    std::fs::create_dir(&sw).unwrap();
    let ino = std::fs::metadata(&sw).unwrap().ino();
    for seed in ["1", "2"] {
        let o = bin()
            .current_dir(&sw)
            .args([
                "sweep",
                s(&root().join("scenarios/validation/mmc.toml")),
                "--vary",
                "workload.rate=100,200",
                "--duration",
                "10s",
                "--replications",
                "2",
                "--seed",
                seed,
                "--no-charts",
                "--quiet",
                "--out",
                ".",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            std::fs::metadata(&sw).unwrap().ino(),
            ino,
            "sweep --seed {seed}"
        );
    }
    assert!(!sw.join(".stacksim-previous").exists());
    assert!(leftovers(&work).is_empty(), "{:?}", leftovers(&work));
    std::fs::remove_dir_all(&work).unwrap();
}
