//! `stacksim review`: lints and the analytic model.

use stacksim::analysis::lints::{Severity, lint};
use stacksim::analysis::queueing::analytic_model;
use stacksim::scenario::Arrivals;

use crate::support::*;

#[test]
fn lints_name_the_reference_designs_three_weaknesses_and_not_the_improved_ones() {
    let ids = |rel: &str| -> Vec<(&'static str, Severity)> {
        lint(&shipped(rel))
            .iter()
            .map(|l| (l.id, l.severity))
            .collect()
    };
    let reference = ids("scenarios/secured-web-stack.toml");
    for id in [
        "single-primary",
        "plaintext-hops",
        "co-located",
        "no-health-check",
        "single-instance",
    ] {
        assert!(
            reference.iter().any(|(x, _)| *x == id),
            "{id} missing from {reference:?}"
        );
    }
    let improved = ids("scenarios/secured-web-stack-improved.toml");
    assert!(
        improved.iter().all(|(_, sev)| *sev == Severity::Info),
        "the improved design still has {improved:?}"
    );
    assert!(
        improved.iter().any(|(x, _)| *x == "write-ceiling"),
        "the write ceiling is a fact of one primary, not a fault"
    );
}

#[test]
fn analytic_bottleneck_matches_the_simulated_one_on_every_shipped_scenario() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for sub in SHIPPED_DIRS {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let mut s = shipped(&rel);
            // The model has no failures, retries or closed loops: skip those runs.
            if !s.faults.is_empty()
                || s.client.retry.is_some()
                || matches!(s.arrivals, Arrivals::Closed { .. })
            {
                continue;
            }
            s.simulation.duration_ns = s.simulation.duration_ns.min(60_000_000_000);
            s.simulation.replications = 3;
            let m = analytic_model(&s).expect("open workload");
            let (_, _, bottleneck) = run_with_verdicts(&s);
            // A pool or a machine's cores, on both sides.
            let simulated = bottleneck.expect("a bottleneck").resource;
            let analytic = m.bottleneck_resource.expect("an analytic bottleneck");
            assert_eq!(
                analytic, simulated,
                "{rel}: analytic {:?} vs simulated {simulated:?}",
                m.bottleneck
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} scenarios checked");
}

#[test]
fn analytic_end_to_end_agrees_with_simulation_on_a_jackson_network() {
    // bench-web is a Jackson network: the model is exact there.
    let s = shipped("scenarios/bench-web.toml");
    let m = analytic_model(&s).unwrap();
    assert!(
        (m.end_to_end_ms - 11.84).abs() < 0.01,
        "{}",
        m.end_to_end_ms
    );
}

#[test]
fn a_server_crash_takes_everything_on_it_in_the_reference_but_not_the_improved_design() {
    // One of two servers is down for 60 s of a 120 s window. In the reference
    // it runs a firewall, Nginx, an app server and the primary; without
    // health checks the balancer keeps sending there (leastconn even favours
    // the instance that fails fast), and writes have no primary.
    let mut a = shipped("scenarios/examples/server-crash.toml");
    a.simulation.replications = 4;
    let (_, sa) = run(&a);
    assert!(
        sa.overall.availability.mean < 0.7,
        "{:?}",
        sa.overall.availability
    );
    assert!(sa.write_outage_s.mean > 59.0);
    // The improved design checks its backends, redispatches, and keeps MySQL
    // on machines of its own.
    let mut b = shipped("scenarios/examples/server-crash-improved.toml");
    b.simulation.replications = 4;
    let (_, sb) = run(&b);
    assert!(
        sb.overall.availability.mean > 0.999,
        "{:?}",
        sb.overall.availability
    );
    assert_eq!(sb.write_outage_s.mean, 0.0);
}

/// A tier that ends TLS without `tls_cost` is flagged (its crypto is
/// modelled only if its service time includes it); with one, it is not.
#[test]
fn tls_without_a_cost_is_flagged() {
    let src = |extra: &str| {
        format!(
            r#"
[workload]
rate = 10
[[tier]]
name = "lb"
kind = "load-balancer"
tls = "terminate"
service = "exp(1ms)"
{extra}
[[tier]]
name = "web"
service = "exp(1ms)"
"#
        )
    };
    let has = |extra: &str| {
        lint(&parse(&src(extra)))
            .iter()
            .any(|l| l.id == "tls-uncosted")
    };
    assert!(has(""));
    assert!(!has(r#"tls_cost = { per_request = "20us" }"#));
}

/// On the reference design at 900 requests/s (server #0's cores 70% busy)
/// the simulated mean lies between the analytic model without core waits
/// and with each machine's cores as an M/M/c, interval included.
#[test]
fn shared_cores_are_bracketed_by_the_two_analytic_estimates() {
    let mut s = shipped("scenarios/secured-web-stack.toml");
    s.arrivals = Arrivals::Poisson { rate_rps: 900.0 };
    s.simulation.duration_ns = 60_000_000_000;
    s.simulation.replications = 4;
    let m = analytic_model(&s).expect("open workload");
    let (_, summary) = run(&s);
    let e = summary.overall.latency_mean_ms;
    let hw = e.half_width.expect("an interval");
    assert!(
        m.end_to_end_ms < e.mean - hw && e.mean + hw < m.end_to_end_with_cores_ms,
        "{} < {} ± {hw} < {}",
        m.end_to_end_ms,
        e.mean,
        m.end_to_end_with_cores_ms
    );
    // And the bracket is informative: within 10% of the measured mean.
    assert!(m.end_to_end_with_cores_ms - m.end_to_end_ms < 0.1 * e.mean);
}

#[test]
fn review_gives_each_wakeup_tiers_demand_at_this_load_and_at_low_load() {
    // One worker, exponential 1 ms service and a 0.5 ms wake-up at 500/s:
    // Welch's idle share P0 = (1 - rho) / (1 - rho + rho0) with rho = 0.5
    // and rho0 = 0.75 is 0.4, so a visit costs 1 + 0.5 x 0.4 = 1.2 ms of
    // CPU here against 1.5 ms at low load.
    let src = "[simulation]\nduration = \"1m\"\nreplications = 2\n[workload]\nrate = 500\n\
               [[tier]]\nname = \"server\"\nworkers = 1\nservice = \"exp(1ms)\"\nwakeup = \"0.5ms\"\n";
    let s = parse(src);
    let m = analytic_model(&s).expect("an open workload");
    let d = m.pools[0]
        .1
        .demand
        .as_ref()
        .expect("a wake-up tier has a demand");
    assert!((d.wake_share - 0.4).abs() < 1e-9, "share {}", d.wake_share);
    assert!(
        (d.cpu_ms_per_visit - 1.2).abs() < 1e-9,
        "{}",
        d.cpu_ms_per_visit
    );
    assert!((d.low_load_cpu_ms_per_visit - 1.5).abs() < 1e-9);
    assert!(
        d.regime()
            .starts_with("amortized: 60% of visits find it running, 80%")
    );
    let dir = temp_dir("review", "wakeup");
    let path = dir.join("wk.toml");
    std::fs::write(&path, src).unwrap();
    let o = stacksim(&["review", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("CPU per visit at this load") && text.contains("amortized: 60%"),
        "{text}"
    );
    // Without the key neither the figure nor the table.
    let plain = parse(&src.replace("wakeup = \"0.5ms\"\n", ""));
    let m = analytic_model(&plain).unwrap();
    assert!(m.pools[0].1.demand.is_none());
}
