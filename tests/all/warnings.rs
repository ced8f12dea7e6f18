//! Settings that are valid but probably not meant (warned, on the scenario
//! after every flag) and inputs that must not hang, exhaust memory or write
//! outside the output folder (refused, located).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use stacksim::analysis::warnings::warnings;

use crate::support::parse;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stacksim-warn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stacksim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const ODD: &str = r#"
name = "odd"
[simulation]
duration = "11s"
warmup = "30s"
[workload]
rate = 5
[[host]]
name = "box"
cores = 2
[[tier]]
name = "web"
service = "exp(1ms)"
[[tier]]
name = "db"
kind = "database"
hold = true
primary = { workers = 2, host = "box", service = "exp(2ms)" }
replicas = { count = 1, host = "box", service = "exp(2ms)" }
[[fault]]
at = "10h"
duration = "1m"
tier = "web"
kind = "down"
"#;

#[test]
fn odd_settings_are_each_warned() {
    let w = warnings(&parse(ODD));
    let has = |s: &str| w.iter().any(|x| x.contains(s));
    assert!(
        has(
            "fault 0 (`web` down at 10h for 1m) starts after the run ends at 41s: it never happens"
        ),
        "{w:?}"
    );
    assert!(
        has("the warm-up (30s) is longer than the observed run (11s)"),
        "{w:?}"
    );
    assert!(has("`db` has hold = true but is the last tier"), "{w:?}");
    assert!(
        has("`db` replica#0 runs on host box, the primary's machine"),
        "{w:?}"
    );
    assert_eq!(w.len(), 4, "{w:?}");
    // `review` lists the co-located replica too.
    let lints = stacksim::analysis::lints::lint(&parse(ODD));
    assert!(lints.iter().any(|l| l.id == "replica-beside-primary"
        && l.message.contains("`db` replica#0 runs on host box")));
    // The reference design has none of these.
    assert!(warnings(&crate::support::shipped("scenarios/secured-web-stack.toml")).is_empty());
}

#[test]
fn a_fault_in_the_warm_up_or_past_the_end_is_warned_as_far_as_it_is_seen() {
    let src = |at: &str, len: &str| {
        format!(
            "[simulation]\nduration = \"60s\"\nwarmup = \"10s\"\n[workload]\nrate = 5\n[[tier]]\nname = \"a\"\ninstances = 2\nservice = \"exp(1ms)\"\n[[fault]]\nat = \"{at}\"\nduration = \"{len}\"\ntier = \"a\"\ninstance = 0\nkind = \"down\"\n"
        )
    };
    let one = |at: &str, len: &str| warnings(&parse(&src(at, len))).join("\n");
    assert!(one("2s", "5s").contains("ends within the warm-up (the first 10s)"));
    assert!(
        one("5s", "10s")
            .contains("starts within the warm-up (the first 10s): only its last 5s is observed")
    );
    assert!(
        one("60s", "20s")
            .contains("outlasts the run, which ends at 70s: only its first 10s is observed")
    );
    assert_eq!(one("20s", "10s"), "", "inside the window: nothing to say");
    // No requests in the observed window.
    let none = "[simulation]\nduration = \"60s\"\nwarmup = \"10s\"\n[workload]\nschedule = [{ at = \"0s\", rate = 100 }, { at = \"5s\", rate = 0 }]\n[[tier]]\nname = \"a\"\nservice = \"exp(1ms)\"\n";
    assert!(
        warnings(&parse(none))
            .join("\n")
            .contains("brings no requests")
    );
}

#[test]
fn commands_warn_on_the_window_their_flags_make() {
    let dir = temp("flags");
    let root = env!("CARGO_MANIFEST_DIR");
    let file = format!("{root}/scenarios/primary-failover.toml");
    // As shipped its outage is observed (it outlasts the run: said too).
    let o = stacksim(&["check", &file], &dir);
    assert!(o.status.success());
    assert!(
        text(&o).contains("note: fault 0 (`db` down at 2m for 4m) outlasts the run"),
        "{}",
        text(&o)
    );
    // --duration 60s ends the run before the outage: run and capacity say so.
    let o = stacksim(
        &[
            "run",
            &file,
            "--duration",
            "60s",
            "--replications",
            "2",
            "--no-charts",
            "--out",
            dir.join("r").to_str().unwrap(),
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("warning: fault 0 (`db` down at 2m for 4m) starts after the run ends at 90s: it never happens"), "{}", text(&o));
    let o = stacksim(
        &[
            "capacity",
            &file,
            "--slo",
            "p99<250ms",
            "--duration",
            "10s",
            "--replications",
            "2",
            "--precision",
            "0.5",
        ],
        &dir,
    );
    assert!(
        text(&o).contains("starts after the run ends at 40s: it never happens"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_empirical_file_that_is_a_fifo_or_a_device_is_refused_not_waited_on() {
    let dir = temp("fifo");
    let fifo = dir.join("samples.csv");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for (name, path) in [("fifo", fifo.to_str().unwrap()), ("zero", "/dev/zero")] {
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!("[workload]\nrate = 5\n[[tier]]\nname = \"a\"\nservice = \"empirical(file = \\\"{path}\\\", unit = \\\"ms\\\")\"\n"),
        )
        .unwrap();
        // A FIFO nobody writes would block `check` forever: the child is
        // killed after a minute so a regression fails instead of hanging.
        let mut child = Command::new(env!("CARGO_BIN_EXE_stacksim"))
            .args(["check", file.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        assert!(
            text(&o).contains("is not a regular file"),
            "{name}: {}",
            text(&o)
        );
        assert!(
            text(&o).contains(&format!("{name}.toml:5:")),
            "located: {}",
            text(&o)
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_scenario_that_is_not_utf8_is_located_to_its_byte() {
    let dir = temp("utf8");
    let file = dir.join("latin1.toml");
    std::fs::write(
        &file,
        b"[workload]\nrate = 5\n# caf\xe9\n[[tier]]\nname = \"a\"\nservice = \"exp(1ms)\"\n",
    )
    .unwrap();
    let o = stacksim(&["check", file.to_str().unwrap()], &dir);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(
        t.contains("latin1.toml:3:6") && t.contains("not UTF-8: byte 0xe9 at offset 25"),
        "{t}"
    );
    assert!(t.contains("save the scenario as UTF-8"), "{t}");
}

#[test]
fn a_scenario_named_by_a_dotted_file_stays_inside_output() {
    let dir = temp("dots");
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/validation/mmc.toml"
    ))
    .unwrap();
    let unnamed: String = src
        .lines()
        .filter(|l| !l.starts_with("name = \"mmc\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("...toml"), unnamed).unwrap();
    let o = stacksim(
        &[
            "run",
            "...toml",
            "--duration",
            "5s",
            "--warmup",
            "1s",
            "--replications",
            "2",
            "--no-charts",
            "--quiet",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        dir.join("output/scenario/summary.json").exists(),
        "written under output/scenario"
    );
    assert!(!dir.join("summary.json").exists() && !dir.join("output/summary.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_agent_that_leaves_no_cpu_is_warned() {
    let greedy = "[workload]\nrate = 5\n[[host]]\nname = \"b\"\ncores = 2\nmonitoring = { interval = \"10ms\", cost = \"const(25ms)\" }\n[[tier]]\nname = \"a\"\nservice = \"exp(1ms)\"\nhost = \"b\"\n";
    let w = warnings(&parse(greedy)).join("\n");
    assert!(
        w.contains("host `b`: its monitoring agent and background need 2.50 of its 2 cores"),
        "{w}"
    );
}

#[test]
fn recurring_events_faster_than_a_millisecond_are_refused() {
    let src = "[workload]\nrate = 5\n[[host]]\nname = \"b\"\ncores = 1\nmonitoring = { interval = \"1ns\", cost = \"exp(1ms)\" }\n[[tier]]\nname = \"a\"\ninstances = 2\nservice = \"exp(1ms)\"\nhealth_check = { interval = \"10us\", timeout = \"1us\" }\n";
    let e = stacksim::scenario::parse(src, "p.toml", None)
        .unwrap_err()
        .render(false);
    assert!(
        e.contains("`host[0].monitoring.interval`: 1ns is shorter than 1ms"),
        "{e}"
    );
    assert!(
        e.contains("`tier.a.health_check.interval`: 10us is shorter than 1ms"),
        "{e}"
    );
}

/// A million requests a second into a stack that serves a few hundred: each
/// replication stops once it holds the most requests one may, under a
/// 1.5 GiB address-space limit, and says so; requests still balance.
#[test]
fn an_overload_that_would_exhaust_memory_stops_each_replication_and_says_so() {
    let dir = temp("overflow");
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!(
        "ulimit -v 1500000 && exec '{}' run '{root}/scenarios/write-heavy.toml' --set workload.rate=1000000 --duration 2s --replications 2 --no-charts --out '{}'",
        env!("CARGO_BIN_EXE_stacksim"),
        dir.join("out").display()
    );
    let o = Command::new("sh")
        .args(["-c", &script])
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("STOPPED EARLY: 2 of 2 replications held 1,048,576 requests in flight"),
        "{t}"
    );
    assert!(
        t.contains("2 replications × 2s planned (stopped early)"),
        "{t}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/summary.json")).unwrap()).unwrap();
    let stopped = v["stopped_early"].as_array().unwrap();
    assert_eq!(stopped.len(), 2);
    assert_eq!(stopped[0]["in_flight"].as_u64(), Some(1 << 20));
    let c = &v["conservation"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert_eq!(n("arrived"), n("completed") + n("failed") + n("in_flight"));
    // A healthy run says nothing of it.
    let o = stacksim(
        &[
            "run",
            "--duration",
            "5s",
            "--replications",
            "2",
            "--no-charts",
            "--out",
            dir.join("ok").to_str().unwrap(),
        ],
        &dir,
    );
    assert!(o.status.success());
    assert!(!text(&o).contains("STOPPED EARLY"));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ok/summary.json")).unwrap()).unwrap();
    assert_eq!(v["stopped_early"].as_array().map(Vec::len), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Instances go round a host group's machines in turn: 4 on 3 machines put
/// two on the first, which then carries twice the others' share. `check`,
/// `run` and `review` say so; 3 or 6 on 3 machines are even and say
/// nothing, and the model places them as the warning says.
#[test]
fn instances_dealt_unevenly_over_machines_are_warned() {
    let src = |n: u32| {
        format!(
            "[simulation]\nduration = \"20s\"\nreplications = 2\n[workload]\nrate = 300\n[[host]]\nname = \"server\"\ninstances = 3\ncores = 1\n[[tier]]\nname = \"web\"\ninstances = {n}\nworkers = 8\nhost = \"server\"\nservice = \"exp(1ms)\"\ncpu = 1.0\n"
        )
    };
    let uneven = parse(&src(4));
    let w = warnings(&uneven);
    assert!(
        w.iter().any(|x| x
            .contains("`web`: 4 instances on the 3 machines of `server` run 2 on host server#0 and 1 on others")),
        "{w:?}"
    );
    let lints = stacksim::analysis::lints::lint(&uneven);
    assert!(
        lints.iter().any(|l| l.id == "uneven-placement"),
        "{lints:?}"
    );
    for n in [3, 6] {
        let even = parse(&src(n));
        assert!(warnings(&even).is_empty(), "{n}: {:?}", warnings(&even));
        assert!(
            !stacksim::analysis::lints::lint(&even)
                .iter()
                .any(|l| l.id == "uneven-placement")
        );
    }
    // The simulation agrees: machine #0 runs two instances' share, half
    // the tier's CPU, the others a quarter each.
    let (_, sum) = crate::support::run(&uneven);
    let share: Vec<f64> = sum.hosts[0].machines.iter().map(|m| m.mean).collect();
    let total: f64 = share.iter().sum();
    assert!(
        (share[0] / total - 0.5).abs() < 0.05,
        "machine shares {share:?}"
    );
}

/// Defaults that carry a cost, named by `check` (and warned by `run`) when
/// they dominate a tier's load: handshakes nobody set, one worker nobody
/// chose, a core per worker for an event-loop server, a tier on no machine;
/// and a tier busy from 80% on. The same design with the values set says
/// none of it.
#[test]
fn defaults_that_dominate_a_tiers_load_are_named() {
    let dir = temp("defaults");
    let silent = r#"
name = "silent-defaults"
[workload]
rate = 500
[[host]]
name = "box"
cores = 4
[[tier]]
name = "lb"
kind = "load-balancer"
service = "exp(100us)"
tls_cost = { per_request = "20us" }
[[tier]]
name = "web"
kind = "web"
workers = 1000
host = "box"
service = "exp(5ms)"
[[tier]]
name = "app"
kind = "app"
workers = 64
service = "exp(2ms)"
"#;
    std::fs::write(dir.join("silent.toml"), silent).unwrap();
    let o = stacksim(&["check", "silent.toml"], &dir);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    let has = |s: &str| t.contains(s);
    // (0.5 x 200 us + 0.5 x 2 ms) / 1 = 1.1 ms of handshakes on a 0.1 ms
    // service and 20 us per request: 90% of lb's 1.22 ms per visit.
    assert!(
        has(
            "`tier.lb.tls_cost` leaves full_handshake = 2ms, resumed_handshake = 200us, resumption = 0.5, requests_per_connection = 1 at the defaults: their handshakes add 1.100 ms of CPU to every request, 90% of lb's work per visit"
        ),
        "{t}"
    );
    // One worker at 500/s x 1.22 ms.
    assert!(
        has(
            "`tier.lb.workers` is not set: each of lb's instances serves one request at a time (the default), which puts its offered utilization at 0.61"
        ),
        "{t}"
    );
    // 1000 workers, no thread cap, 2.5 cores of work on a 4-core machine.
    assert!(
        has(
            "`tier.web.threads` is not set: each of web's instances may use a core per busy worker (the default), and it asks for 2.5 cores of host `box`'s 4"
        ),
        "{t}"
    );
    // app asks for a core of CPU of its own while web shares `box`.
    assert!(
        has(
            "`tier.app.host` is not set: app has CPU of its own (the default) and competes with no other tier for cores while asking for 1.00 cores per instance"
        ),
        "{t}"
    );
    // web's 2.5 cores of box's 4: 0.63, not yet busy.
    assert!(!has("host box has offered CPU utilization"), "{t}");
    // `run` warns the same on stderr.
    let o = stacksim(
        &[
            "run",
            "silent.toml",
            "--duration",
            "2s",
            "--warmup",
            "1s",
            "--replications",
            "2",
            "--no-charts",
            "--out",
            "o1",
        ],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: `tier.lb.workers` is not set"),
        "{err}"
    );

    // The same design with every value chosen: no defaults named, and the
    // busy machine (2.5 + 1 cores of 4, 0.88) noted from 0.80 on.
    let chosen = silent
        .replace(
            "tls_cost = { per_request = \"20us\" }",
            "workers = 2000\nthreads = 2\nhost = \"box\"\ntls_cost = { per_request = \"20us\", full_handshake = \"1ms\", resumed_handshake = \"100us\", resumption = 0.9, requests_per_connection = 100 }",
        )
        .replace("workers = 1000\n", "workers = 1000\nthreads = 4\n")
        .replace("workers = 64\n", "workers = 64\nhost = \"box\"\n");
    std::fs::write(dir.join("chosen.toml"), chosen).unwrap();
    let o = stacksim(&["check", "chosen.toml"], &dir);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(!t.contains("is not set"), "{t}");
    assert!(!t.contains("at the defaults"), "{t}");
    assert!(
        t.contains("note: host box has offered CPU utilization 0.89: from 0.80 on, waits for a core grow steeply"),
        "{t}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
