//! Hosts (a pool of cores shared by co-located components), monitoring
//! agents, TLS and firewall costs, connection tracking, network hops.

use stacksim::stats::Cause;

use crate::support::*;

const TWO_TIERS: &str = r#"
[simulation]
duration = "400s"
warmup = "10s"
replications = 20
[workload]
rate = 60
classes = [ { name = "a", share = 0.5, route = ["a"] }, { name = "b", share = 0.5, route = ["b"] } ]
[[tier]]
name = "a"
workers = 100
service = "exp(10ms)"
HOST
[[tier]]
name = "b"
workers = 100
service = "exp(10ms)"
HOST
"#;

#[test]
fn colocation_slows_a_neighbour_as_a_shared_core_predicts() {
    // Apart, each tier has 100 workers for 30 requests/s: no waiting, 10 ms.
    // On one single-core host the core is one M/M/1 at 60/s with mu = 100/s:
    // every request takes 1/(mu - lambda) = 25 ms, and the core is 60% busy.
    // (Processor sharing gives the same mean.)
    let apart = parse(&TWO_TIERS.replace("HOST", ""));
    let (_, a) = run(&apart);
    assert_agrees("apart", &a.classes[0].latency_mean_ms, 10.0, 0.02);
    let shared = parse(&format!(
        "[[host]]\nname = \"box\"\ncores = 1\n{}",
        TWO_TIERS.replace("HOST", "host = \"box\"")
    ));
    let (_, b) = run(&shared);
    assert_agrees("co-located a", &b.classes[0].latency_mean_ms, 25.0, 0.02);
    assert_agrees("co-located b", &b.classes[1].latency_mean_ms, 25.0, 0.02);
    assert_agrees("core utilization", &b.hosts[0].utilization, 0.6, 0.01);
    // The wait for the core is the M/M/1's: rho / (mu - lambda) = 15 ms.
    assert_agrees("core wait", &b.hosts[0].core_wait_ms, 15.0, 0.03);
}

#[test]
fn tls_cost_moves_utilization_by_the_computed_amount() {
    // Extra per request: 100 us + (0.5 x 0.2 ms + 0.5 x 2 ms) / 4 = 0.375 ms.
    // Utilization at 400/s over 4 workers: 400 x (1 + 0.375) ms / 4 = 0.1375.
    let src = r#"
[simulation]
duration = "100s"
warmup = "5s"
replications = 10
[workload]
rate = 400
[[tier]]
name = "lb"
kind = "load-balancer"
workers = 4
tls = "terminate"
tls_cost = { per_request = "100us", full_handshake = "2ms", resumed_handshake = "200us", resumption = 0.5, requests_per_connection = 4 }
service = "exp(1ms)"
"#;
    let s = parse(src);
    let (_, sum) = run(&s);
    assert_agrees(
        "utilization with TLS",
        &sum.pools[0].utilization,
        0.1375,
        0.01,
    );
    assert!((s.tiers[0].costs.tls.as_ref().unwrap().mean_ns() - 375_000.0).abs() < 1e-6);
}

#[test]
fn a_full_conntrack_table_drops_exactly_the_connections_beyond_its_limit() {
    // 10 users, each retrying 1 ms after a failure; the firewall tracks at
    // most 5 connections and every admitted request stays 10 s at the app,
    // so in 5 s exactly 5 reach the app and every other attempt is dropped.
    let src = r#"
[simulation]
duration = "5s"
warmup = "0s"
replications = 2
drain = "0s"
[workload]
users = 10
think = "const(1ms)"
[[tier]]
name = "fw"
kind = "firewall"
conntrack = 5
rules = 100
rule_cost = "100ns"
service = "const(10us)"
[[tier]]
name = "app"
workers = 100
service = "const(10s)"
"#;
    let (reps, sum) = run(&parse(src));
    for r in &reps {
        assert_eq!(r.pools[1].arrivals, 5, "admitted");
        assert_eq!(
            r.pools[0].drops,
            r.pools[0].arrivals - 5,
            "every other new connection dropped"
        );
        assert_eq!(
            r.conservation.arrived,
            r.conservation.completed + r.conservation.failed + r.conservation.in_flight
        );
    }
    assert_eq!(
        sum.overall.failed_by_cause[Cause::ConntrackFull.index()],
        sum.overall.failed
    );
}

#[test]
fn monitoring_agents_cost_their_cpu_and_network_hops_add_their_latency() {
    // An agent takes 100 ms of one of 2 cores every second: 5% of the host.
    // A constant 5 ms network hop adds exactly 5 ms to a constant 2 ms service.
    let src = r#"
[simulation]
duration = "100s"
warmup = "5s"
replications = 3
[workload]
rate = 10
[[host]]
name = "box"
cores = 2
monitoring = { interval = "1s", cost = "const(100ms)" }
[[tier]]
name = "web"
workers = 8
host = "box"
network = "const(5ms)"
service = "const(2ms)"
"#;
    let (_, sum) = run(&parse(src));
    assert!(
        (sum.hosts[0].monitoring.mean - 0.05).abs() < 0.002,
        "{:?}",
        sum.hosts[0].monitoring
    );
    // Requests can wait behind an agent for a core: at least 7 ms, on average a little more.
    let mean = sum.overall.latency_mean_ms.mean;
    assert!((7.0..7.2).contains(&mean), "{mean}");
    // The median request never waits: 7 ms, to the histogram's 3 digits.
    assert!(
        (sum.overall.latency_p50_ms.mean - 7.0).abs() < 0.01,
        "{:?}",
        sum.overall.latency_p50_ms
    );
}

/// The analytic CPU of every machine (the service, rules and TLS of the
/// instances dealt to it, plus its agent) is what the simulation measures:
/// on the reference design, both servers, judged by the run's intervals.
#[test]
fn machine_cpu_from_the_traffic_equations_matches_the_simulation() {
    let mut s = shipped("scenarios/secured-web-stack.toml");
    s.simulation.duration_ns = 120_000_000_000;
    s.simulation.replications = 10;
    let loads = stacksim::analysis::offered_load(&s);
    let rate = s.arrivals.peak_rate().unwrap();
    let machines = stacksim::analysis::machine_loads(&s, &loads, rate);
    assert_eq!(machines.len(), 2);
    // The machine with the primary works harder.
    assert!(machines[0].utilization > machines[1].utilization + 0.03);
    let (_, summary) = run(&s);
    for m in &machines {
        let e = &summary.hosts[m.group].machines[m.machine as usize];
        assert_agrees(&m.label, e, m.utilization, 0.02);
    }
}

/// The analytic model queues for a machine's cores too: two tiers sharing
/// one core are one M/M/1 at 60/s with 10 ms services, 25 ms end to end
/// (10 ms apart), as the simulation measures in
/// `colocation_slows_a_neighbour_as_a_shared_core_predicts`.
#[test]
fn analytic_model_waits_for_a_shared_core() {
    let model = |src: &str| stacksim::analysis::queueing::analytic_model(&parse(src)).unwrap();
    let apart = model(&TWO_TIERS.replace("HOST", ""));
    assert!((apart.end_to_end_with_cores_ms - 10.0).abs() < 1e-6);
    assert!((apart.end_to_end_ms - 10.0).abs() < 1e-6);
    let shared = model(&format!(
        "[[host]]\nname = \"box\"\ncores = 1\n{}",
        TWO_TIERS.replace("HOST", "host = \"box\"")
    ));
    let with = shared.end_to_end_with_cores_ms;
    assert!((with - 25.0).abs() < 1e-6, "{with}");
    assert!((shared.end_to_end_ms - 10.0).abs() < 1e-6);
    assert!((shared.machines[0].core_wait_ms - 15.0).abs() < 1e-6);
    assert!((shared.machines[0].saturation_rps - 100.0).abs() < 1e-6);
}
