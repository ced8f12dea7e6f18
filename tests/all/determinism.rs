//! Same seed, same bytes: whatever the number of threads.

use crate::support::*;
use stacksim::model::Model;
use stacksim::report::{
    write_faults_csv, write_summary_csv, write_summary_json, write_timeseries_csv,
};
use stacksim::stats::summarize;
use stacksim::sweep::run_replications;

fn outputs(rel: &str, threads: usize) -> Vec<u8> {
    let mut s = shipped(rel);
    // Long enough for primary-failover's crash at 120 s to happen.
    s.simulation.duration_ns = 160_000_000_000;
    s.simulation.warmup = stacksim::scenario::Warmup::Fixed(2_000_000_000);
    s.simulation.replications = 4;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let model = Model::build(&s);
    let reps = pool.install(|| run_replications(&model, 0, s.simulation.replications, &|| {}));
    let summary = summarize(&reps);
    let parts = Assessed::of(&s, &summary, rel);
    let rr = parts.report(&s, &summary);
    let mut out = Vec::new();
    write_summary_json(&rr, &mut out).unwrap();
    write_summary_csv(&rr, &mut out).unwrap();
    write_timeseries_csv(&rr, &mut out).unwrap();
    write_faults_csv(&rr, &mut out).unwrap();
    out
}

#[test]
fn byte_identical_across_thread_counts() {
    for rel in [
        "scenarios/secured-web-stack.toml",
        "scenarios/write-heavy.toml",
        "scenarios/primary-failover.toml",
        "scenarios/retry-storm.toml",
    ] {
        let one = outputs(rel, 1);
        let four = outputs(rel, 4);
        assert!(one.len() > 1000);
        assert!(one == four, "{rel}: outputs differ between 1 and 4 threads");
    }
}

#[test]
fn different_seeds_differ() {
    let mut a = shipped("scenarios/validation/mm1.toml");
    a.simulation.replications = 2;
    a.simulation.duration_ns = 10_000_000_000;
    let mut b = a.clone();
    b.simulation.seed += 1;
    let (_, sa) = run(&a);
    let (_, sb) = run(&b);
    assert_ne!(
        sa.overall.latency_mean_ms.mean,
        sb.overall.latency_mean_ms.mean
    );
}

/// Two independent paths: class `a` through `x`, class `b` through `y`
/// (a network hop, random failures, health checks from `lb`), and both
/// tiers on machines with monitoring agents. `x_tls` is the `tls_cost` of
/// `x`, or nothing.
fn two_paths(x_tls: &str) -> String {
    format!(
        r#"
[simulation]
duration = "30s"
warmup = "2s"
replications = 3

[workload]
rate = 400
classes = [
  {{ name = "a", share = 0.5, route = ["x"] }},
  {{ name = "b", share = 0.5, route = ["lb", "y"] }},
]

[[host]]
name = "hx"
cores = 2
monitoring = {{ interval = "1s", cost = "exp(5ms)" }}

[[host]]
name = "hy"
cores = 4
instances = 2
monitoring = {{ interval = "1s", cost = "exp(5ms)" }}

[[tier]]
name = "x"
workers = 4
service = "exp(2ms)"
host = "hx"
{x_tls}

[[tier]]
name = "lb"
kind = "load-balancer"
workers = 64
service = "exp(100us)"
health_check = {{ interval = "2s", fall = 2, rise = 1 }}

[[tier]]
name = "y"
instances = 2
workers = 8
service = "exp(3ms)"
network = "exp(500us)"
host = "hy"
failures = {{ time_to_failure = "exp(10s)", time_to_repair = "exp(1s)" }}
"#
    )
}

#[test]
fn tls_cost_on_one_tier_leaves_every_other_consumer_unchanged() {
    // Each random consumer has its own stream: TLS on `x` draws from x's TLS
    // stream only, so `y`'s network delays, failures and health-check phases,
    // `hy`'s agents and both classes' arrivals are the same draws.
    let plain = parse(&two_paths(""));
    let tls = parse(&two_paths(
        r#"tls_cost = { per_request = "200us", full_handshake = "2ms", requests_per_connection = 4 }"#,
    ));
    let (_, a) = run(&plain);
    let (_, b) = run(&tls);
    let json = |x: &dyn erased_json::Ser| x.to_json();
    let x = plain.tiers.iter().position(|t| t.name == "x").unwrap();
    assert!(
        b.pools[x].service_utilization.mean > a.pools[x].service_utilization.mean * 1.05,
        "the TLS work must show on x"
    );
    for (p, (pa, pb)) in a.pools.iter().zip(&b.pools).enumerate() {
        if p != x {
            assert_eq!(json(pa), json(pb), "pool {p} changed when x got tls_cost");
        }
    }
    assert_eq!(json(&a.classes[1]), json(&b.classes[1]), "class b changed");
    assert_eq!(json(&a.hosts[1]), json(&b.hosts[1]), "host hy changed");
    assert_eq!(json(&a.timelines), json(&b.timelines), "failures changed");
}

mod erased_json {
    /// Anything serializable, compared by its JSON text.
    pub trait Ser {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}
