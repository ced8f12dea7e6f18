//! Workload shapes, routing, holding and verdicts.

use crate::support::*;
use stacksim::analysis::Stability;

#[test]
fn rate_schedule_is_a_correct_nonhomogeneous_poisson_process() {
    // Steps 100 -> 300/s at 20 s, then a ramp to 500/s at 40 s, holding
    // after. Counts per one-second interval are Poisson with mean equal to
    // the integral of the rate over the interval; summed over replications
    // and interval groups they must sit within 4 sd of that integral.
    let s = parse(
        r#"
[simulation]
duration = "59s"
warmup = "1s"
replications = 20
sample_every = "1s"
[workload]
schedule = [
  { at = "0s", rate = 100 },
  { at = "20s", rate = 300 },
  { at = "40s", rate = 500, ramp = true },
]
[[tier]]
name = "s"
workers = 64
service = "exp(1ms)"
"#,
    );
    let (reps, _) = run(&s);
    let rate = |t: f64| {
        if t < 20.0 {
            100.0
        } else if t < 40.0 {
            300.0 + (t - 20.0) * 10.0
        } else {
            500.0
        }
    };
    // The ramp point at 40 s rises linearly from the point before it (300 at
    // 20 s) to 500 at 40 s.
    for (from, to) in [(0u64, 20u64), (20, 30), (30, 40), (40, 60)] {
        let observed: u64 = reps
            .iter()
            .flat_map(|r| {
                r.series.iter().filter(|x| {
                    x.start_ns >= from * 1_000_000_000 && x.start_ns < to * 1_000_000_000
                })
            })
            .map(|x| x.offered)
            .sum();
        let n = 2000;
        let dt = (to - from) as f64 / n as f64;
        let expected = reps.len() as f64
            * (0..n)
                .map(|i| rate(from as f64 + (i as f64 + 0.5) * dt) * dt)
                .sum::<f64>();
        let sd = expected.sqrt();
        assert!(
            (observed as f64 - expected).abs() <= 4.0 * sd,
            "[{from}s, {to}s): {observed} arrivals vs {expected:.0} expected (sd {sd:.0})"
        );
    }
}

#[test]
fn closed_workload_matches_exact_mva() {
    // 10 users, exponential think 100 ms, one exponential server of 10 ms.
    // Exact MVA: R(n) = S (1 + Q(n-1)), X(n) = n / (R(n) + Z), Q(n) = X(n) R(n).
    let (s_ms, z_ms, users) = (10.0, 100.0, 10);
    let (mut q, mut r, mut x) = (0.0, 0.0, 0.0);
    for n in 1..=users {
        r = s_ms * (1.0 + q);
        x = f64::from(n) / (r + z_ms);
        q = x * r;
    }
    let s = parse(
        r#"
[simulation]
duration = "5m"
warmup = "10s"
replications = 20
[workload]
users = 10
think = "exp(100ms)"
[[tier]]
name = "s"
service = "exp(10ms)"
"#,
    );
    let (_, sum) = run(&s);
    assert_agrees(
        "closed throughput",
        &sum.overall.throughput_rps,
        x * 1000.0,
        0.01,
    );
    assert_agrees("closed response", &sum.overall.latency_mean_ms, r, 0.02);
}

#[test]
fn geometric_calls_multiply_visits() {
    // Each page makes geometric(mean 3) database calls: db visits = 3 x 100/s.
    let s = parse(
        r#"
[simulation]
duration = "2m"
warmup = "5s"
replications = 10
[workload]
rate = 100
classes = [ { name = "page", share = 1, calls = { db = "geometric(mean = 3)" } } ]
[[tier]]
name = "app"
workers = 8
service = "exp(2ms)"
[[tier]]
name = "db"
kind = "database"
primary = { workers = 8, service = "exp(1ms)" }
"#,
    );
    let (_, sum) = run(&s);
    assert_agrees("app visits", &sum.pools[0].arrival_rps, 100.0, 0.01);
    assert_agrees("db visits", &sum.pools[1].arrival_rps, 300.0, 0.01);
}

/// Visits to each instance of `pool` in one replication's window.
fn arrivals_per_instance(r: &stacksim::stats::RepObs, pool: usize) -> Vec<u64> {
    r.instances
        .iter()
        .filter(|i| i.pool == pool)
        .map(|i| i.arrivals)
        .collect()
}

#[test]
fn round_robin_alternates_exactly() {
    let s = parse(
        r#"
[simulation]
duration = "30s"
warmup = "0s"
replications = 2
[workload]
rate = 200
[[tier]]
name = "lb"
kind = "load-balancer"
balance = "roundrobin"
service = "exp(100us)"
[[tier]]
name = "web"
instances = 3
workers = 4
service = "exp(5ms)"
"#,
    );
    let (reps, _) = run(&s);
    for r in &reps {
        let a = arrivals_per_instance(r, 1);
        let (lo, hi) = (a.iter().min().unwrap(), a.iter().max().unwrap());
        assert!(hi - lo <= 1, "round robin counts {a:?}");
    }
}

/// `balance = "same"`: a request leaving web#i goes to app#i, so the two
/// tiers' instances see the same arrivals, while the balancer's random pick
/// spreads them unevenly (a random pick at web would differ by tens).
#[test]
fn same_balance_keeps_a_request_on_its_instance_index() {
    let s = parse(
        r#"
[simulation]
duration = "30s"
warmup = "0s"
replications = 2
[workload]
rate = 200
[[tier]]
name = "lb"
kind = "load-balancer"
balance = "random"
service = "exp(100us)"
[[tier]]
name = "web"
instances = 3
workers = 4
balance = "same"
service = "exp(2ms)"
[[tier]]
name = "app"
instances = 3
workers = 4
service = "exp(2ms)"
"#,
    );
    let (reps, _) = run(&s);
    for r in &reps {
        let per = |pool: usize| arrivals_per_instance(r, pool);
        // Equal but for the few requests between web and app when the
        // window closes (200/s x ~2 ms of web service).
        for (w, a) in per(1).iter().zip(per(2)) {
            assert!(
                w.abs_diff(a) <= 3,
                "web {:?} against app {:?}",
                per(1),
                per(2)
            );
        }
        let web = per(1);
        assert!(
            web.iter().max() != web.iter().min(),
            "random is uneven: {web:?}"
        );
    }
}

#[test]
fn holding_workers_are_busy_for_the_downstream_response() {
    // app holds its worker while the database answers: the app's worker time
    // per request is S_app + (db response), so U_app = lambda (S_app + W_db) / c,
    // with the database an M/M/2 at 100/s and S = 8 ms (W_db from Erlang C).
    let s = parse(
        r#"
[simulation]
duration = "6m"
warmup = "10s"
replications = 10
[workload]
rate = 100
[[tier]]
name = "app"
workers = 50
hold = true
service = "exp(4ms)"
[[tier]]
name = "db"
kind = "database"
primary = { workers = 2, service = "exp(8ms)" }
"#,
    );
    let (_, sum) = run(&s);
    let w_db = mmc_mean_response(100.0, 0.008, 2);
    assert_agrees(
        "holding app utilization",
        &sum.pools[0].utilization,
        100.0 * (0.004 + w_db) / 50.0,
        0.01,
    );
    assert_agrees(
        "app service utilization",
        &sum.pools[0].service_utilization,
        100.0 * 0.004 / 50.0,
        0.01,
    );
}

#[test]
fn write_heavy_flags_the_saturated_primary() {
    let mut s = shipped("scenarios/write-heavy.toml");
    s.simulation.duration_ns = 60_000_000_000;
    s.simulation.replications = 5;
    let (_, verdicts, bottleneck) = run_with_verdicts(&s);
    let primary = verdicts
        .iter()
        .find(|v| v.label == "db primary")
        .expect("a primary verdict");
    assert!(
        matches!(
            primary.stability,
            Stability::Unstable {
                predicted: true,
                ..
            }
        ),
        "{primary:?}"
    );
    assert!(primary.offered_utilization > 1.0);
    let b = bottleneck.expect("a bottleneck");
    assert_eq!(b.label, "db primary (writes)");
    assert!(
        b.message.starts_with("bottleneck: db primary (writes) at"),
        "{}",
        b.message
    );
    for v in verdicts
        .iter()
        .filter(|v| ["edge-firewall", "lb", "web", "db replicas"].contains(&v.label.as_str()))
    {
        assert_eq!(v.stability, Stability::Stable, "{v:?}");
    }
}

/// Everything shares two 8-core servers in the reference, and the one
/// with the primary is busier than any tier's workers: its CPU is the
/// bottleneck, the primary the busiest tier. Given machines of their own
/// (the improved design), the primary's workers are what saturates first.
#[test]
fn reference_design_is_stable_with_a_shared_server_as_bottleneck() {
    let mut s = shipped("scenarios/secured-web-stack.toml");
    s.simulation.duration_ns = 60_000_000_000;
    s.simulation.replications = 5;
    let (summary, verdicts, bottleneck) = run_with_verdicts(&s);
    assert!(
        verdicts.iter().all(|v| v.stability == Stability::Stable),
        "{verdicts:?}"
    );
    let b = bottleneck.expect("a bottleneck");
    assert_eq!(b.label, "host server#0");
    assert_eq!(
        b.resource,
        stacksim::analysis::Resource::Host {
            group: 0,
            machine: 0
        }
    );
    assert!(b.pool().is_none());
    assert!(
        b.message.contains("busiest tier: db primary (writes)"),
        "{}",
        b.message
    );
    // Busier than every pool's own service, as measured.
    let top_pool = summary
        .pools
        .iter()
        .map(|p| p.service_utilization.mean)
        .filter(|u| u.is_finite())
        .fold(0.0, f64::max);
    assert!(b.utilization > top_pool, "{} vs {top_pool}", b.utilization);

    let mut s = shipped("scenarios/secured-web-stack-improved.toml");
    s.simulation.duration_ns = 60_000_000_000;
    s.simulation.replications = 5;
    let (_, _, bottleneck) = run_with_verdicts(&s);
    let b = bottleneck.expect("a bottleneck");
    assert_eq!(b.label, "db primary (writes)");
    assert!(b.pool().is_some());
}

#[test]
fn unstable_unbounded_station_is_detected_from_its_backlog() {
    // Offered utilization 1.2 on an unbounded single server: the backlog
    // grows at about lambda - mu = 20/s.
    let s = parse(
        r#"
[simulation]
duration = "60s"
warmup = "5s"
replications = 5
[workload]
rate = 120
[[tier]]
name = "s"
service = "exp(10ms)"
"#,
    );
    let (sum, verdicts, _) = run_with_verdicts(&s);
    assert!(matches!(verdicts[0].stability, Stability::Unstable { .. }));
    let g = &sum.pools[0].backlog_growth_rps;
    assert!(g.mean > 15.0 && g.mean < 25.0, "growth {g:?}");
}

#[test]
fn bounded_overload_is_stable_and_drops() {
    let s = parse(
        r#"
[simulation]
duration = "30s"
warmup = "2s"
replications = 3
[workload]
rate = 150
[[tier]]
name = "s"
queue = 10
service = "exp(10ms)"
"#,
    );
    let (_, verdicts, _) = run_with_verdicts(&s);
    assert_eq!(verdicts[0].stability, Stability::Overloaded);
}

#[test]
fn automatic_warmup_chooses_a_truncation_or_refuses() {
    // A stable M/M/1 at rho 0.7: MSER-5 chooses a truncation within the first
    // half of the run in every replication.
    let init = shipped_plan(
        "scenarios/validation/mm1.toml",
        &[
            "simulation.replications=5",
            "simulation.duration=300s",
            "simulation.warmup=auto",
        ],
    );
    let plan = init.build(&|| {}).expect("a stable run settles");
    let c = plan.warmup_choice().expect("auto was asked for").clone();
    assert_eq!(
        plan.scenario().simulation.warmup,
        stacksim::scenario::Warmup::Fixed(c.warmup_ns)
    );
    assert_eq!(c.per_replication_ns.len(), 5);
    assert!(c.warmup_ns <= 150_000_000_000, "{c:?}");
    assert_eq!(c.warmup_ns, *c.per_replication_ns.iter().max().unwrap());
    // An unstable stack never settles: auto refuses instead of guessing.
    let w = shipped_plan(
        "scenarios/write-heavy.toml",
        &[
            "simulation.replications=2",
            "simulation.duration=60s",
            "simulation.warmup=auto",
        ],
    );
    let e = w.build(&|| {}).unwrap_err().to_string();
    assert!(e.contains("too short for MSER-5"), "{e}");
}

#[test]
fn a_schedule_past_the_run_is_an_error_in_the_file_but_not_when_a_flag_shortens_the_run() {
    // flash-sale's schedule runs to 3 minutes. Its own settings cover it; a
    // file whose duration stops before the last point is told so; the same
    // run shortened by --duration (an override of simulation.duration)
    // simply stops early.
    let ok = shipped_plan("scenarios/examples/flash-sale.toml", &[]);
    assert!(matches!(
        ok.scenario().arrivals,
        stacksim::scenario::Arrivals::Schedule(_)
    ));
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples/flash-sale.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let short = text.replacen("[simulation]", "[simulation]\nduration = \"20s\"", 1);
    let short = short.replacen("duration = \"4m\"\n", "", 1);
    let e = stacksim::scenario::parse(&short, "short.toml", None).unwrap_err();
    assert!(e.to_string().contains("after the end of the run"), "{e}");
    let flag = stacksim::scenario::Override::from_flag("--duration", "simulation.duration", "20s");
    let input = stacksim::plan::ScenarioInput::read(&path).unwrap();
    let init = stacksim::plan::PlanInit::new(&input, &[flag]).unwrap();
    assert_eq!(init.scenario().simulation.duration_ns, 20_000_000_000);
}
