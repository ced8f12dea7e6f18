//! Every request is accounted for, exactly: arrived = completed + failed +
//! in flight, for the whole run and for the window, per class.

use crate::support::*;
use stacksim::stats::RepObs;

fn assert_conserved(name: &str, reps: &[RepObs]) {
    for (i, r) in reps.iter().enumerate() {
        let c = &r.conservation;
        assert_eq!(
            c.arrived,
            c.completed + c.failed + c.in_flight,
            "{name} rep {i}: {c:?}"
        );
        let mut window = (0, 0, 0, 0);
        for (k, cl) in r.classes.iter().enumerate() {
            assert_eq!(
                cl.arrived,
                cl.completed + cl.failed_total() + cl.in_flight,
                "{name} rep {i} class {k}"
            );
            window.0 += cl.arrived;
            window.1 += cl.completed;
            window.2 += cl.failed_total();
            window.3 += cl.in_flight;
        }
        let o = &r.overall;
        assert_eq!(
            window,
            (o.arrived, o.completed, o.failed_total(), o.in_flight),
            "{name} rep {i}: classes sum to all"
        );
        // Drops at pools are drops of user requests (one drop ends a request).
        let pool_drops: u64 = r.pools.iter().map(|p| p.drops).sum();
        assert!(
            pool_drops <= c.failed,
            "{name}: window drops within whole-run drops"
        );
    }
}

fn short(mut s: stacksim::scenario::Scenario, secs: u64) -> stacksim::scenario::Scenario {
    s.simulation.duration_ns = secs * 1_000_000_000;
    s.simulation.warmup = stacksim::scenario::Warmup::Fixed(2_000_000_000);
    s.simulation.drain_ns = s.simulation.duration_ns;
    s.simulation.replications = 3;
    s
}

#[test]
fn shipped_scenarios_conserve_requests() {
    for rel in [
        "scenarios/secured-web-stack.toml",
        "scenarios/write-heavy.toml",
        "scenarios/bench-web.toml",
        "scenarios/validation/mmck.toml",
        "scenarios/validation/read-write-split.toml",
    ] {
        let (reps, _) = run(&short(shipped(rel), 20));
        assert_conserved(rel, &reps);
    }
}

#[test]
fn overload_without_drain_leaves_requests_in_flight_and_still_balances() {
    let mut s = short(shipped("scenarios/write-heavy.toml"), 30);
    s.simulation.drain_ns = 0;
    let (reps, _) = run(&s);
    assert_conserved("write-heavy, no drain", &reps);
    assert!(
        reps.iter().all(|r| r.conservation.in_flight > 100),
        "an unstable stack ends with a backlog"
    );
}

#[test]
fn drops_holds_calls_and_closed_users_conserve() {
    let s = parse(
        r#"
[simulation]
duration = "20s"
warmup = "1s"
replications = 3
drain = "1s"
[workload]
users = 40
think = "exp(20ms)"
classes = [
  { name = "page", share = 0.7, calls = { db = "geometric(mean = 3)" } },
  { name = "save", share = 0.3, access = "write", route = ["web", "db"] },
]
[[tier]]
name = "web"
instances = 2
workers = 2
queue = 1
balance = "p2c"
hold = true
service = "exp(2ms)"
[[tier]]
name = "db"
kind = "database"
reads = "any"
primary = { workers = 1, queue = 2, service = "exp(3ms)" }
replicas = { count = 2, workers = 1, queue = 2, service = "exp(2ms)" }
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("closed, bounded, holding", &reps);
    assert!(
        sum.overall.failed > 0,
        "the small queues must drop something"
    );
    assert!(sum.overall.completed > 0);
}

/// The same with the fair scheduler and EEVDF: bursts of a crashed instance, running
/// or waiting for a core, are dropped with it and the cores go on.
#[test]
fn fair_scheduled_hosts_with_faults_conserve_requests() {
    for scheduling in ["cfs", "eevdf"] {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/secured-web-stack.toml"
        ))
        .unwrap()
        .replace(
            "[[host]]\nname = \"server\"",
            &format!("[[host]]\nname = \"server\"\nscheduling = \"{scheduling}\""),
        );
        assert!(text.contains(&format!("scheduling = \"{scheduling}\"")));
        let text = format!(
            "{text}\n[[fault]]\nat = \"8s\"\nduration = \"5s\"\ntier = \"app\"\ninstance = 0\nkind = \"down\"\n\n[[fault]]\nat = \"12s\"\nduration = \"4s\"\nhost = \"server\"\nkind = \"slow\"\nfactor = 3\n"
        );
        let (reps, sum) = run(&short(parse(&text), 20));
        assert_conserved(&format!("reference, {scheduling}, faults"), &reps);
        assert!(sum.overall.completed > 0);
        assert!(sum.overall.failed > 0, "the app outage fails requests");
    }
}

#[test]
fn processor_sharing_hosts_with_faults_conserve_requests() {
    // The reference design with its machines time-shared, the app tier
    // down for a while and the primary's machine slowed: work in progress
    // on a shared core is lost with its instance, nothing else.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/secured-web-stack.toml"
    ))
    .unwrap()
    .replace(
        "[[host]]\nname = \"server\"",
        "[[host]]\nname = \"server\"\nscheduling = \"ps\"",
    );
    assert!(text.contains("scheduling = \"ps\""));
    let text = format!(
        "{text}\n[[fault]]\nat = \"8s\"\nduration = \"5s\"\ntier = \"app\"\ninstance = 0\nkind = \"down\"\n\n[[fault]]\nat = \"12s\"\nduration = \"4s\"\nhost = \"server\"\nkind = \"slow\"\nfactor = 3\n"
    );
    let (reps, sum) = run(&short(parse(&text), 20));
    assert_conserved("reference, PS, faults", &reps);
    assert!(sum.overall.completed > 0);
    assert!(sum.overall.failed > 0, "the app outage fails requests");
}

/// Little's law on the tier table's basis, for every pool of every shipped
/// scenario: the time-average queue L (visits waiting for a worker, whether
/// or not their client still waits) equals the rate entering it (arrivals
/// less drops) times the mean wait W of every visit that left it (to a
/// worker or lost in a crash). The two are measured apart: L as the area
/// under the queue length, W as a sum of per-visit waits. They may differ by
/// the visits straddling the window's two ends, about 2 W / T relatively
/// for a stationary queue, and by chance (4 standard errors). A pool with no
/// steady state is exempt (its queue grows: L outruns lambda W), as is one
/// where nobody ever waited.
#[test]
fn every_shipped_pool_obeys_littles_law() {
    let mut files = Vec::new();
    for sub in SHIPPED_DIRS {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(sub);
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(format!(
                    "{sub}/{}",
                    p.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut checked = 0;
    for rel in &files {
        // As shipped (its faults where it puts them), fewer replications.
        let mut s = shipped(rel);
        s.simulation.replications = 3;
        let (summary, verdicts, _) = run_with_verdicts(&s);
        let window_s = s.simulation.duration_ns as f64 / 1e9;
        for (p, ps) in summary.pools.iter().enumerate() {
            let stable = verdicts
                .iter()
                .find(|v| v.pool == p)
                .is_none_or(|v| v.stability == stacksim::analysis::Stability::Stable);
            let ratio = &ps.little_ratio;
            if !stable || !ratio.mean.is_finite() {
                continue;
            }
            let w_s = ps.wait_mean_ms.mean / 1e3;
            let se = ratio.std_error().unwrap_or(0.0);
            let tol = 4.0 * se + 2.0 * w_s / window_s;
            assert!(
                (ratio.mean - 1.0).abs() <= tol,
                "{rel} pool {p}: L / (lambda W) = {:.6} ± {:.6} (tolerance {tol:.6}); L {:.4}, W {:.4} ms",
                ratio.mean,
                ratio.half_width.unwrap_or(f64::NAN),
                ps.queue_mean.mean,
                ps.wait_mean_ms.mean
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} pools had a queue to check");
}
