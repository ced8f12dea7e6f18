//! Failures, health checks, failover, timeouts and retries.

use stacksim::analysis::Stability;
use stacksim::stats::{Cause, RepObs};

use crate::support::*;

fn assert_conserved(name: &str, reps: &[RepObs]) {
    for (i, r) in reps.iter().enumerate() {
        let c = &r.conservation;
        assert_eq!(
            c.arrived,
            c.completed + c.failed + c.in_flight,
            "{name} rep {i}: {c:?}"
        );
        assert!(
            c.attempts >= c.arrived,
            "{name}: every request makes at least one attempt"
        );
        for cl in r.classes.iter().chain([&r.overall]) {
            assert_eq!(
                cl.arrived,
                cl.completed + cl.failed_total() + cl.in_flight,
                "{name} rep {i}"
            );
        }
    }
}

#[test]
fn availability_of_one_component_matches_mtbf_over_mtbf_plus_mttr() {
    // Exponential up times (mean 20 s) and repairs (mean 5 s): the long-run
    // fraction of time up is 20 / 25 = 0.8, and Poisson arrivals see the
    // time average (PASTA), so 80% of requests find it up.
    let s = parse(
        r#"
[simulation]
duration = "4000s"
warmup = "0s"
replications = 20
sample_every = "10s"
[workload]
rate = 10
[[tier]]
name = "web"
workers = 4
service = "exp(1ms)"
failures = { time_to_failure = "exp(20s)", time_to_repair = "exp(5s)" }
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("mtbf", &reps);
    let up = stacksim::stats::Estimate::from_values(
        reps.iter()
            .map(|r| 1.0 - r.pools[0].down_ns / r.window_ns as f64),
    );
    assert_agrees("time up", &up, 0.8, 0.02);
    assert_agrees("request availability", &sum.overall.availability, 0.8, 0.02);
    // Requests sent to a dead instance, or in service when it crashed: nothing else.
    let by = |c: Cause| sum.overall.failed_by_cause[c.index()];
    assert_eq!(
        by(Cause::BackendDown) + by(Cause::Crash),
        sum.overall.failed
    );
}

#[test]
fn health_checks_detect_within_fall_intervals_and_stop_errors() {
    // web#0 crashes at 30 s for 60 s. Checks every 2 s (random phase),
    // timeout 0.5 s, fall 3, rise 2: the third failed check starts within
    // [2 x 2, 3 x 2) s of the crash and fails 0.5 s later.
    let s = parse(
        r#"
[simulation]
duration = "120s"
warmup = "0s"
replications = 20
[workload]
rate = 200
[[tier]]
name = "lb"
kind = "load-balancer"
service = "exp(100us)"
health_check = { interval = "2s", timeout = "500ms", fall = 3, rise = 2 }
[[tier]]
name = "web"
instances = 2
workers = 8
service = "exp(5ms)"
[[fault]]
at = "30s"
duration = "60s"
tier = "web"
instance = 0
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("health", &reps);
    for (i, r) in reps.iter().enumerate() {
        let when = |event: &str| {
            r.timeline
                .iter()
                .find(|e| e.component == "web#0" && e.event.as_str() == event)
                .map(|e| e.time_s)
        };
        let down = when("marked_down").expect("marked down");
        let detect = down - 30.0;
        assert!(
            (4.5..=6.5).contains(&detect),
            "rep {i}: detection after {detect} s"
        );
        let up = when("marked_up").expect("marked up after repair");
        let back = up - 90.0;
        // Repair at 90 s; the second passed check comes within [1 x 2, 2 x 2] s.
        assert!(
            (2.0..=4.0).contains(&back),
            "rep {i}: marked up {back} s after repair"
        );
        // Once marked down, no request goes to web#0: errors stop.
        let errors_after: u64 = r
            .series
            .iter()
            .filter(|x| x.start_ns as f64 / 1e9 >= down.ceil() && (x.start_ns as f64 / 1e9) < 89.0)
            .map(|x| x.errors.iter().sum::<u64>())
            .sum();
        assert_eq!(
            errors_after, 0,
            "rep {i}: errors after the instance was marked down"
        );
    }
    // Before detection about half the requests hit the dead instance for ~5.5 s.
    assert!(sum.overall.failed > 0);
}

#[test]
fn primary_failover_window_is_detection_plus_promotion_and_reads_go_on() {
    let s = shipped("scenarios/primary-failover.toml");
    let mut short = s.clone();
    short.simulation.duration_ns = 200_000_000_000;
    short.simulation.replications = 4;
    let (reps, sum) = run(&short);
    assert_conserved("failover", &reps);
    for r in &reps {
        assert_eq!(r.write_outages.len(), 1, "{:?}", r.write_outages);
        let o = &r.write_outages[0];
        // Crash at exactly 120 s; detection 10 s, promotion 20 s.
        assert_eq!(o.start_s, 120.0);
        assert_eq!(o.end_s, Some(150.0));
        let events: Vec<&str> = r.timeline.iter().map(|e| e.event.as_str()).collect();
        for e in ["down", "primary_lost", "failover_detected", "promoted"] {
            assert!(events.contains(&e), "{events:?}");
        }
    }
    assert!((sum.write_outage_s.mean - 30.0).abs() < 1e-9);
    let read = &sum.classes[0];
    assert_eq!(read.failed, 0, "the read path is unaffected");
    let write = &sum.classes[1];
    assert!(write.failed_by_cause[Cause::NoPrimary.index()] > 0);
}

#[test]
fn without_a_replica_writes_fail_until_the_primary_is_repaired() {
    let s = parse(
        r#"
[simulation]
duration = "60s"
warmup = "0s"
replications = 3
[workload]
rate = 100
classes = [ { name = "read", share = 0.5 }, { name = "write", share = 0.5 } ]
[[tier]]
name = "db"
kind = "database"
reads = "primary"
primary = { workers = 4, service = "exp(2ms)" }
[[fault]]
at = "10s"
duration = "20s"
tier = "db"
role = "primary"
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("no replica", &reps);
    for r in &reps {
        assert_eq!(r.write_outages.len(), 1);
        assert_eq!(
            (r.write_outages[0].start_s, r.write_outages[0].end_s),
            (10.0, Some(30.0))
        );
    }
    // Reads routed to the primary fail too; about a third of the window.
    for c in &sum.classes {
        assert!(c.failed_by_cause[Cause::NoPrimary.index()] > 0);
    }
}

#[test]
fn writes_can_wait_for_the_primary() {
    let s = parse(
        r#"
[simulation]
duration = "60s"
warmup = "0s"
replications = 3
[workload]
rate = 50
classes = [ { name = "write", share = 1 } ]
[[tier]]
name = "db"
kind = "database"
writes_during_outage = "wait"
primary = { workers = 4, service = "exp(2ms)" }
[[fault]]
at = "10s"
duration = "5s"
tier = "db"
role = "primary"
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("wait", &reps);
    // Only writes in service at the crash fail; the rest wait up to 5 s.
    assert!(sum.overall.failed_by_cause[Cause::NoPrimary.index()] == 0);
    assert!(
        sum.overall.latency_p999_ms.mean > 1000.0,
        "some writes waited for the repair"
    );
}

#[test]
fn timeouts_end_attempts_and_count_wasted_work() {
    // One slow worker (mean 50 ms) at 90% load with a 100 ms client timeout:
    // many attempts time out while queued; the server still serves them.
    let s = parse(
        r#"
[simulation]
duration = "60s"
warmup = "5s"
replications = 4
[workload]
rate = 18
timeout = "100ms"
[[tier]]
name = "api"
service = "exp(50ms)"
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("timeouts", &reps);
    let t = sum.overall.failed_by_cause[Cause::Timeout.index()];
    assert!(t > 0 && t == sum.overall.failed);
    assert!(
        sum.pools[0].wasted_fraction.mean > 0.0,
        "timed-out work is still done"
    );
    // No attempt completes later than the timeout.
    assert!(sum.overall.latency_p999_ms.mean <= 100.0);
}

#[test]
fn retries_respect_the_attempt_limit() {
    let s = shipped("scenarios/retry-storm.toml");
    let (reps, sum) = run(&s);
    assert_conserved("retry-storm", &reps);
    // 5 attempts at most per request (also asserted in the model on every attempt).
    for r in &reps {
        assert!(r.conservation.attempts <= 5 * r.conservation.arrived);
    }
    assert!(
        sum.overall.attempts_per_request.mean > 3.0,
        "a storm retries a lot"
    );
}

/// Completed / offered over the last minute of the window, per replication.
fn final_minute_goodput(rel: &str) -> stacksim::stats::Estimate {
    let s = shipped(rel);
    let (reps, _) = run(&s);
    stacksim::stats::Estimate::from_values(reps.iter().map(|r| {
        let end = r.window_start_ns + r.window_ns;
        let last: Vec<_> = r
            .series
            .iter()
            .filter(|x| x.start_ns >= end - 60_000_000_000)
            .collect();
        let done: u64 = last.iter().map(|x| x.completed).sum();
        let offered: u64 = last.iter().map(|x| x.offered).sum();
        done as f64 / offered as f64
    }))
}

#[test]
fn retry_storm_persists_with_retries_and_recovers_without() {
    let storm = final_minute_goodput("scenarios/retry-storm.toml");
    let budget = final_minute_goodput("scenarios/retry-storm-budget.toml");
    let none = final_minute_goodput("scenarios/retry-storm-no-retries.toml");
    // The slowdown ended at 70 s; by 180-240 s the stack either recovered or not.
    assert!(storm.mean < 0.05, "storm goodput {storm:?}");
    assert!(budget.mean > 0.95, "budget goodput {budget:?}");
    assert!(none.mean > 0.95, "no-retry goodput {none:?}");
    let s = shipped("scenarios/retry-storm.toml");
    let (_, verdicts, _) = run_with_verdicts(&s);
    assert!(
        matches!(verdicts[0].stability, Stability::Unstable { .. }),
        "the storm is flagged: {verdicts:?}"
    );
}

/// When most requests fail, the verdict leads with the failure, and the
/// latency figures say they are of the completed requests only.
#[test]
fn a_failing_run_leads_with_its_failures_and_labels_latency_as_of_completed_requests() {
    let dir = std::env::temp_dir().join(format!("stacksim-failing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |scenario: Option<&str>, out: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_stacksim"));
        c.arg("run");
        if let Some(s) = scenario {
            c.arg(s);
        }
        let o = c
            .args(["--replications", "3", "--out"])
            .arg(dir.join(out))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    let table = run(Some("scenarios/retry-storm.toml"), "storm");
    assert!(
        table.contains("latency columns: completed requests only (25."),
        "{table}"
    );
    assert!(table.contains("seen p50 ms  seen p99 ms"), "{table}");
    let md = std::fs::read_to_string(dir.join("storm/report.md")).unwrap();
    let bullets: Vec<&str> = md.lines().filter(|l| l.starts_with("- ")).collect();
    assert!(
        bullets[0].starts_with("- 72.") && bullets[0].contains("% of requests failed (timeout"),
        "{bullets:?}"
    );
    assert!(
        bullets
            .iter()
            .any(|b| b.starts_with("- Of the 25.") && b.contains("leave out every failed")),
        "{bullets:?}"
    );
    assert!(
        bullets
            .iter()
            .any(|b| b.starts_with("- Users saw a median of")),
        "{bullets:?}"
    );
    // The unstable bottleneck's wait is no figure: it measures the run.
    assert!(
        bullets
            .iter()
            .any(|b| b.starts_with("- The api tier") && b.contains("its queue grows without bound")),
        "{bullets:?}"
    );
    // Failed requests on the requests axis, attempts as their own series;
    // the intervals with no completion marked on the latency chart.
    let tp = std::fs::read_to_string(dir.join("storm/throughput.svg")).unwrap();
    assert!(tp.contains("failed attempts/s") && tp.contains("(attempts/s: dashed)"));
    let lat = std::fs::read_to_string(dir.join("storm/latency.svg")).unwrap();
    assert!(lat.contains("no request completed"));
    let ts = std::fs::read_to_string(dir.join("storm/timeseries.csv")).unwrap();
    let head: Vec<&str> = ts.lines().next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (offered, failed, attempts) = (
        col("offered_rps"),
        col("failed_rps"),
        col("failed_attempts_rps"),
    );
    let last: Vec<f64> = ts
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    // In the storm nearly every request fails, each after about four attempts.
    assert!(last[failed] <= last[offered] * 1.2, "{last:?}");
    assert!(last[attempts] > 2.0 * last[failed], "{last:?}");
    let cdf = std::fs::read_to_string(dir.join("storm/latency-cdf.svg")).unwrap();
    assert!(
        cdf.contains("latency of completed requests") && cdf.contains("all, 25."),
        "the CDF names the completed share"
    );
    // A healthy run keeps its latency first and needs no label.
    let table = run(None, "ok");
    assert!(!table.contains("latency columns:"), "{table}");
    let md = std::fs::read_to_string(dir.join("ok/report.md")).unwrap();
    assert!(md.contains("the median completed request takes"), "{md}");
    assert!(!md.contains("% of requests failed ("));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Classes and end to end that pass through an unstable pool carry
/// `stable: false` and the pools in summary.json, and are marked in the table.
#[test]
fn classes_through_an_unstable_pool_are_marked_unstable() {
    let dir = std::env::temp_dir().join(format!("stacksim-unstable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |scenario: &str, out: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_stacksim"))
            .args([
                "run",
                scenario,
                "--duration",
                "60s",
                "--replications",
                "3",
                "--no-charts",
                "--out",
            ])
            .arg(dir.join(out))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.success());
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(out).join("summary.json")).unwrap())
                .unwrap();
        (String::from_utf8(o.stdout).unwrap(), json)
    };
    let (table, json) = run("scenarios/write-heavy.toml", "wh");
    let classes = json["end_to_end"]["classes"].as_array().unwrap();
    let write = classes.iter().find(|c| c["name"] == "write").unwrap();
    assert_eq!(write["stable"], false);
    assert!(
        write["reason"]
            .as_str()
            .unwrap()
            .contains("passes through unstable app, db primary"),
        "{write}"
    );
    assert_eq!(json["end_to_end"]["overall"]["stable"], false);
    assert!(
        table.contains("write (unstable)") && table.contains("all (unstable)"),
        "{table}"
    );
    let (table, json) = run("scenarios/secured-web-stack.toml", "ref");
    assert_eq!(json["end_to_end"]["overall"]["stable"], true);
    assert!(!table.contains("(unstable)"), "{table}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Requests still open when the window closes are their own category: a
/// backlog the drain serves later does not make an unstable stack read as
/// available. One M/M/1 at 120/s against 100/s of service: its backlog grows
/// by 20/s, so at the close of a 40 s window (after 5 s of warm-up) about
/// 20 x 45 = 900 requests are open, about 900 / 4,800 = 19% of the window's
/// arrivals; the drain (as long as the run) serves them all, so the
/// drained availability is 100%. Per replication exactly: the window's
/// arrivals = completed before the close + failed before it + open at it.
/// Stable at 50/s the open share is the few in flight, L = 50 x 20 ms = 1
/// of 2,000.
#[test]
fn requests_open_when_the_window_closes_are_counted_apart() {
    let mm1 = |rate: f64| {
        parse(&format!(
            r#"
[simulation]
duration = "40s"
warmup = "5s"
replications = 10
seed = 3

[workload]
rate = {rate}

[[tier]]
name = "one"
workers = 1
service = "exp(10ms)"
"#
        ))
    };
    let (reps, sum) = run(&mm1(120.0));
    for r in &reps {
        let o = &r.overall;
        assert_eq!(o.failed_total(), 0);
        assert_eq!(o.completed_by_end + o.open_at_end, o.arrived, "{o:?}");
        assert_eq!(o.completed, o.arrived, "the drain serves the backlog");
    }
    let all = &sum.overall;
    assert_eq!(all.availability.mean, 1.0);
    assert!(
        all.unfinished_at_window_end.mean > 0.12 && all.unfinished_at_window_end.mean < 0.26,
        "{:?}",
        all.unfinished_at_window_end
    );
    let sum_parts = all.availability_at_window_end.mean + all.unfinished_at_window_end.mean;
    assert!((sum_parts - 1.0).abs() < 1e-12, "{sum_parts}");
    let (_, calm) = run(&mm1(50.0));
    assert!(
        calm.overall.unfinished_at_window_end.mean < 0.002,
        "{:?}",
        calm.overall.unfinished_at_window_end
    );
    // The report: the drained figure marked, the one at the close beside it.
    let s = mm1(120.0);
    let a = Assessed::of(&s, &sum, "mm1.toml");
    let text = stacksim::report::render_table(&a.report(&s, &sum));
    assert!(text.contains("served by window end %"), "{text}");
    assert!(text.contains("all (unstable)  100 ± 0 (drained)"), "{text}");
    assert!(text.contains("were open when it closed"), "{text}");
}

/// The latency users saw counts a failed request at the time its error
/// came. 20 requests/s against one worker with a constant 30 ms service and
/// a 100 ms client timeout, no retries: utilization 0.6, so most complete
/// in 30 ms and up (the M/D/1 wait), and those that wait over 70 ms time
/// out at exactly 100 ms. Completed latencies are all under 100 ms; failed
/// ones are all 100 ms; the "seen" figures hold both, so their p99 is 100 ms
/// when more than 1% fail, and every replication's two histograms hold
/// exactly its completed and failed requests.
#[test]
fn the_latency_users_saw_counts_failures_at_their_error() {
    let s = parse(
        r#"
[simulation]
duration = "120s"
warmup = "5s"
replications = 5
[workload]
rate = 20
timeout = "100ms"
[[tier]]
name = "api"
service = "const(30ms)"
"#,
    );
    let (reps, sum) = run(&s);
    for r in &reps {
        let o = &r.overall;
        assert_eq!(o.latency.count(), o.completed);
        assert_eq!(o.failed_latency.count(), o.failed_total());
        assert!(o.failed_latency.quantile_ns(0.0) >= 100e6 * 0.999);
        assert!(o.failed_latency.quantile_ns(1.0) <= 100e6 * 1.001);
    }
    let all = &sum.overall;
    assert!(all.error_rate.mean > 0.01, "{:?}", all.error_rate);
    assert!(all.latency_p99_ms.mean < 100.0);
    assert!(
        (all.seen_p99_ms.mean - 100.0).abs() < 0.1,
        "{:?}",
        all.seen_p99_ms
    );
    assert!(all.seen_mean_ms.mean > all.latency_mean_ms.mean);
}

/// A scripted outage of the only instance splits the window in three, each
/// with known figures: every request that arrives while it is down fails
/// (no other backend, no retry), every one that arrives after the repair
/// completes (the crash took its queue with it), and the offered rate is
/// the workload's in each phase, within the run's own intervals.
#[test]
fn a_scripted_outage_is_told_before_during_and_after() {
    let s = parse(
        r#"
[simulation]
duration = "60s"
warmup = "5s"
replications = 5
[workload]
rate = 200
[[tier]]
name = "app"
workers = 4
service = "exp(5ms)"
[[fault]]
at = "25s"
duration = "20s"
tier = "app"
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("outage phases", &reps);
    assert_eq!(sum.fault_phases.len(), 1);
    let [before, during, after] = &sum.fault_phases[0];
    assert_eq!((before.start_s, before.end_s), (5.0, 25.0));
    assert_eq!((during.start_s, during.end_s), (25.0, 45.0));
    assert_eq!((after.start_s, after.end_s), (45.0, 65.0));
    for p in [before, during, after] {
        let hw = p.offered_rps.half_width.unwrap();
        assert!(
            (p.offered_rps.mean - 200.0).abs() <= hw.max(1.0) * 2.0,
            "offered {} ± {hw}",
            p.offered_rps.mean
        );
    }
    // Every arrival during the outage fails; every one after completes.
    assert_eq!(during.availability.mean, 0.0);
    assert_eq!(during.error_rate.mean, 1.0);
    assert_eq!(after.availability.mean, 1.0);
    // Before: only the few in service or queued at the crash fail.
    assert!(before.availability.mean > 0.99, "{:?}", before.availability);
    // Per replication, the phases hold every request the window counted.
    for r in &reps {
        let arrived: u64 = r.phases[0].iter().map(|p| p.arrived).sum();
        let failed: u64 = r.phases[0].iter().map(|p| p.failed).sum();
        assert_eq!(arrived, r.overall.arrived);
        assert_eq!(failed, r.overall.failed.iter().sum::<u64>());
    }
}

/// Random failures split the window by the stack's state: with one app
/// instance and no retries, every request that arrives while it is down
/// fails and nearly every other completes; the time spent down agrees with
/// the instance's own down time (a separate accumulator) to the
/// nanosecond, and its share with the alternating renewal process's
/// E[repair] / (E[failure] + E[repair]) = 2 / 12 within the run's interval.
#[test]
fn random_failures_are_told_while_any_instance_is_down_and_not() {
    let s = parse(
        r#"
[simulation]
duration = "200s"
warmup = "5s"
replications = 10
[workload]
rate = 100
[[tier]]
name = "app"
workers = 4
service = "exp(5ms)"
failures = { time_to_failure = "exp(10s)", time_to_repair = "exp(2s)" }
"#,
    );
    let (reps, sum) = run(&s);
    assert_conserved("random failure states", &reps);
    let [up, down] = sum.down_split.as_ref().expect("random failures split");
    assert_eq!(down.requests.availability.mean, 0.0);
    assert_eq!(down.requests.error_rate.mean, 1.0);
    assert!(
        up.requests.availability.mean > 0.999,
        "{:?}",
        up.requests.availability
    );
    let share = &down.time_share;
    let hw = share.half_width.unwrap();
    assert!(
        (share.mean - 2.0 / 12.0).abs() <= hw,
        "down {} ± {hw}, expected 0.1667",
        share.mean
    );
    assert!((up.time_share.mean + share.mean - 1.0).abs() < 1e-12);
    for r in &reps {
        let split = r.down_split.as_ref().unwrap();
        assert_eq!(split.time_ns[0] + split.time_ns[1], r.window_ns);
        assert_eq!(split.time_ns[1] as f64, r.pools[0].down_ns);
        let arrived: u64 = split.arrived_in.iter().map(|p| p.arrived).sum();
        let failed: u64 = split.arrived_in.iter().map(|p| p.failed).sum();
        assert_eq!(arrived, r.overall.arrived);
        assert_eq!(failed, r.overall.failed.iter().sum::<u64>());
    }
    // Offered load does not depend on the state: the same rate in both.
    for st in [up, down] {
        let o = &st.requests.offered_rps;
        let hw = o.half_width.unwrap().max(1.0);
        assert!(
            (o.mean - 100.0).abs() <= 2.0 * hw,
            "offered {} ± {hw}",
            o.mean
        );
    }
}

/// A fault that starts before the window or outlasts it leaves an empty
/// phase, said as such rather than shown as a rate over no time.
#[test]
fn a_phase_outside_the_window_is_empty() {
    let s = parse(
        r#"
[simulation]
duration = "30s"
warmup = "5s"
replications = 3
[workload]
rate = 100
[[tier]]
name = "app"
workers = 4
service = "exp(5ms)"
[[fault]]
at = "20s"
duration = "60s"
tier = "app"
"#,
    );
    let (_, sum) = run(&s);
    let [before, during, after] = &sum.fault_phases[0];
    assert!(!before.is_empty() && !during.is_empty());
    assert!(after.is_empty(), "{after:?}");
    assert_eq!((during.start_s, during.end_s), (20.0, 35.0));
}

/// A scripted fault can take down one replica of a database
/// (`role = "replicas", instance = K`): with three replicas picked at
/// random and no health check, a third of the reads meet the dead one and
/// fail; the primary and the other replicas serve on. An index past the
/// replicas is refused, with the way to name one.
#[test]
fn one_replica_of_a_database_can_be_taken_down() {
    let src = r#"
[simulation]
duration = "60s"
warmup = "0s"
replications = 5
[workload]
rate = 200
classes = [ { name = "read", share = 1, access = "read" } ]
[[tier]]
name = "db"
kind = "database"
primary = { workers = 8, service = "exp(2ms)" }
replicas = { count = 3, workers = 8, service = "exp(2ms)" }
[[fault]]
at = "0s"
duration = "1h"
tier = "db"
role = "replicas"
instance = 1
"#;
    let s = parse(src);
    assert_eq!(s.fault_label(0), "crash of db replica#1 at 0s for 1h");
    let (reps, sum) = run(&s);
    assert_conserved("one replica", &reps);
    let read = &sum.classes[0];
    assert_agrees(
        "reads failed with one replica of three down",
        &read.error_rate,
        1.0 / 3.0,
        0.1,
    );
    assert_eq!(
        read.failed,
        read.failed_by_cause[Cause::BackendDown.index()],
        "every failure is the dead replica's"
    );
    // Past the replicas: refused, with the way to name one.
    let bad = src.replace("instance = 1", "instance = 3");
    let e = stacksim::scenario::parse(&bad, "bad.toml", None).unwrap_err();
    let text = e.render(false);
    assert!(text.contains("tier `db` has no replicas 3"), "{text}");
    assert!(text.contains("its replicas are numbered 0 to 2"), "{text}");
    // `instance` alone on a database names the primary, and says how to
    // name a replica.
    let bad = src.replace("role = \"replicas\"\n", "");
    let e = stacksim::scenario::parse(&bad, "bad.toml", None).unwrap_err();
    let text = e.render(false);
    assert!(
        text.contains("one replica is `role = \"replicas\", instance = K` (0 to 2)"),
        "{text}"
    );
}

#[test]
fn pauses_need_every_part_and_a_slowdown_of_at_least_one() {
    let base = "[workload]\nrate = 10\n[[tier]]\nname = \"s\"\nservice = \"1ms\"\n";
    for (pauses, key, says) in [
        (
            "{ every = \"exp(1m)\", slowdown = 5 }",
            "tier.s.pauses",
            "`pauses` needs `length`",
        ),
        (
            "{ every = \"exp(1m)\", length = \"1s\", slowdown = 0.5 }",
            "tier.s.pauses.slowdown",
            "at least 1",
        ),
        (
            "{ every = \"exp(1m)\", length = \"1s\", slowdown = 5, often = 2 }",
            "tier.s.pauses.often",
            "",
        ),
    ] {
        let src = format!("{base}pauses = {pauses}\n");
        let e = match stacksim::scenario::parse(&src, "bad.toml", None) {
            Ok(_) => panic!("should be rejected:\n{src}"),
            Err(e) => e,
        };
        let d = e
            .diagnostics
            .iter()
            .find(|d| d.key == key)
            .unwrap_or_else(|| panic!("{key} not flagged: {e}"));
        assert!(d.message.contains(says), "{key}: {}", d.message);
        assert!(
            e.line_col(d.span.start).0 == 6,
            "{key} is located on its line"
        );
    }
}
