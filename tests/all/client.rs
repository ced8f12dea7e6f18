//! The client loop: a cap on requests outstanding (a load generator's or a
//! connection pool's connections), against closed forms.

use crate::support::*;
use stacksim::scenario::{self, ScenarioError};

/// One exponential server at `rate` (service mean 1 ms, mu = 1,000/s) behind
/// a client with `n` connections that waits or refuses when all are busy.
fn capped(rate: f64, n: u32, when_busy: &str) -> stacksim::scenario::Scenario {
    parse(&format!(
        r#"
[simulation]
duration = "5m"
warmup = "10s"
replications = 10
seed = 7
[workload]
rate = {rate}
connections = {n}
when_busy = "{when_busy}"
[[tier]]
name = "server"
workers = 1
service = "exp(1ms)"
"#
    ))
}

#[test]
fn a_cap_that_refuses_is_an_mm1n_loss_system() {
    // M/M/1/N with rho = 0.9, N = 5: p_n = rho^n (1 - rho) / (1 - rho^6);
    // the arrivals that find 5 outstanding are refused (PASTA).
    let (rho, n) = (0.9f64, 5);
    let (_, sum) = run(&capped(900.0, n, "refuse"));
    let norm = (1.0 - rho) / (1.0 - rho.powi(n as i32 + 1));
    let p = |k: i32| rho.powi(k) * norm;
    let loss = p(n as i32);
    let c = sum.client.as_ref().expect("a capped client is summarized");
    assert_agrees("M/M/1/5 refused share", &c.refused_share, loss, 0.02);
    let accepted = 900.0 * (1.0 - loss);
    assert_agrees(
        "M/M/1/5 throughput",
        &sum.overall.throughput_rps,
        accepted,
        0.01,
    );
    // Little over the accepted: L = sum n p_n, W = L / lambda_accepted.
    let l: f64 = (0..=n as i32).map(|k| f64::from(k) * p(k)).sum();
    assert_agrees(
        "M/M/1/5 response",
        &sum.overall.latency_mean_ms,
        1000.0 * l / accepted,
        0.02,
    );
    // Nothing waits when the client refuses.
    assert_eq!(c.waited_share.mean, 0.0);
    assert_agrees("M/M/1/5 arrivals", &c.arrival_rps, 900.0, 0.01);
}

#[test]
fn a_cap_that_waits_keeps_mm1_end_to_end_and_bounds_what_the_stack_sees() {
    // One FIFO server: waiting in the client keeps arrival order, so end to
    // end (from the arrival) it is M/M/1: W = 1/(mu - lambda) = 10 ms. The
    // stack holds min(Q, N) of the M/M/1's Q, whose mean is
    // sum_{k<N} P(Q > k) = rho (1 - rho^N) / (1 - rho); by Little the latency
    // from send is that over lambda. An arrival waits when Q >= N: rho^N.
    let (rho, n) = (0.9f64, 5);
    let (_, sum) = run(&capped(900.0, n, "wait"));
    let c = sum.client.as_ref().expect("a capped client is summarized");
    assert_agrees("M/M/1 end to end", &sum.overall.latency_mean_ms, 10.0, 0.03);
    let in_stack = rho * (1.0 - rho.powi(n as i32)) / (1.0 - rho);
    assert_agrees(
        "latency from send",
        &c.sent_latency_mean_ms,
        1000.0 * in_stack / 900.0,
        0.02,
    );
    assert_agrees("waited share", &c.waited_share, rho.powi(n as i32), 0.02);
    // The wait and the latency from send add up to the end-to-end mean.
    assert_agrees(
        "wait + from send",
        &c.wait_mean_ms,
        10.0 - 1000.0 * in_stack / 900.0,
        0.05,
    );
    assert_eq!(c.refused_share.mean, 0.0);
    assert_agrees("utilization", &sum.pools[0].utilization, rho, 0.01);
}

#[test]
fn past_capacity_the_latency_from_send_stays_bounded() {
    // Offered 1,200/s to a 1,000/s server with 5 connections: the server
    // always holds 5, so a request sent joins 4 before it and waits for 5
    // exponential services: Erlang(5, mu), mean 5 ms, p99 from its
    // quantile; throughput is mu. The client's own queue grows (the arrivals
    // still waiting when the run stops are counted, not lost).
    let mut s = capped(1200.0, 5, "wait");
    s.simulation.drain_ns = 0;
    let (reps, sum) = run(&s);
    let c = sum.client.as_ref().expect("a capped client is summarized");
    assert_agrees("from send mean", &c.sent_latency_mean_ms, 5.0, 0.01);
    assert_agrees(
        "throughput at capacity",
        &sum.overall.throughput_rps,
        1000.0,
        0.01,
    );
    // Erlang(5, 1/ms) p99: solve P(N(t) < 5) = 0.01 for a Poisson count.
    let tail = |t: f64| {
        (0..5)
            .map(|k| (-t).exp() * t.powi(k) / (1..=k).map(f64::from).product::<f64>())
            .sum::<f64>()
    };
    let (mut lo, mut hi) = (0.0f64, 50.0f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if tail(mid) > 0.01 { lo = mid } else { hi = mid }
    }
    assert_agrees("from send p99", &c.sent_latency_ms[2], lo, 0.02);
    // A fifth of the window's arrivals cannot have been served: about
    // 200/s x 5 min are still waiting at the end, counted as in flight.
    for r in &reps {
        let k = r.client.as_ref().expect("every replication has a client");
        assert!(k.waiting_at_end > 0, "the backlog is kept");
        let cl = &r.classes[0];
        assert_eq!(
            cl.arrived,
            cl.completed + cl.failed_total() + cl.in_flight,
            "the waiting arrivals are in flight, not lost"
        );
        assert_eq!(cl.arrived, k.arrived, "every client arrival is a request");
        let c = &r.conservation;
        assert_eq!(c.arrived, c.completed + c.failed + c.in_flight);
    }
    assert!(
        sum.overall.latency_p99_ms.mean > 10_000.0,
        "end to end, the client's queue shows: {:?}",
        sum.overall.latency_p99_ms
    );
}

#[test]
fn retries_and_timeouts_keep_their_connection_and_every_request_is_counted() {
    // A retried request keeps its connection; one that times out frees it.
    let s = parse(
        r#"
[simulation]
duration = "30s"
warmup = "2s"
replications = 3
seed = 3
[workload]
rate = 1500
connections = 6
timeout = "4ms"
retry = { attempts = 3, backoff = "1ms", max_backoff = "4ms" }
[[tier]]
name = "server"
workers = 2
queue = 16
service = "exp(1.5ms)"
"#,
    );
    let (reps, _) = run(&s);
    for r in &reps {
        let k = r.client.as_ref().expect("a capped client");
        let c = &r.conservation;
        assert_eq!(c.arrived, c.completed + c.failed + c.in_flight, "{c:?}");
        assert!(c.failed > 0, "the scenario must fail some requests: {c:?}");
        let cl = &r.overall;
        assert_eq!(cl.arrived, cl.completed + cl.failed_total() + cl.in_flight);
        assert_eq!(cl.arrived, k.arrived - k.refused);
        assert!(
            k.waited > 0,
            "some arrivals waited ({} of {})",
            k.waited,
            k.arrived
        );
    }
}

fn errors(src: &str) -> ScenarioError {
    match scenario::parse(src, "bad.toml", None) {
        Ok(_) => panic!("should be rejected:\n{src}"),
        Err(e) => e,
    }
}

#[test]
fn a_cap_is_an_open_workloads_and_its_mode_is_spelled_out() {
    let tier = "[[tier]]\nname = \"s\"\nservice = \"1ms\"\n";
    for (workload, key, says) in [
        (
            "users = 5\nthink = \"1s\"\nconnections = 3",
            "workload.connections",
            "closed one has one per user",
        ),
        (
            "rate = 10\nwhen_busy = \"wait\"",
            "workload.when_busy",
            "connections",
        ),
        (
            "rate = 10\nconnections = 3\nwhen_busy = \"drop\"",
            "workload.when_busy",
            "unknown `when_busy`",
        ),
        (
            "rate = 10\nconnections = 0",
            "workload.connections",
            "at least 1",
        ),
    ] {
        let e = errors(&format!("[workload]\n{workload}\n{tier}"));
        let d = e
            .diagnostics
            .iter()
            .find(|d| d.key == key)
            .unwrap_or_else(|| panic!("{key} not flagged: {e}"));
        assert!(d.message.contains(says), "{key}: {}", d.message);
        assert!(
            d.hint.is_some() || key == "workload.connections",
            "{key} has a hint"
        );
    }
}

#[test]
fn a_growing_client_queue_is_no_steady_state_and_refusals_are_overload() {
    // Two workers on one core at 1.2 times the core's capacity: the pool's
    // own queue is capped by the client's 4 connections, so only the
    // client's queue can tell that the stack is offered more than it
    // serves. A refusing client makes the same load an overload.
    for (when_busy, unstable) in [("wait", true), ("refuse", false)] {
        let s = parse(&format!(
            r#"
[simulation]
duration = "1m"
warmup = "5s"
replications = 5
seed = 4
[workload]
rate = 1200
connections = 4
when_busy = "{when_busy}"
[[host]]
name = "box"
cores = 1
[[tier]]
name = "server"
workers = 8
host = "box"
service = "exp(1ms)"
"#
        ));
        let (_, verdicts, _) = run_with_verdicts(&s);
        let v = &verdicts[0];
        match (unstable, &v.stability) {
            (true, stacksim::analysis::Stability::Unstable { predicted, .. }) => {
                assert!(!predicted, "the pool alone is below its capacity");
                assert!(v.message.contains("client's queue grows"), "{}", v.message);
            }
            (false, stacksim::analysis::Stability::Overloaded) => {
                assert!(v.message.contains("refuses"), "{}", v.message);
            }
            (_, other) => panic!("{when_busy}: {other:?}: {}", v.message),
        }
    }
}
