//! Simulated results against closed forms, judged by the simulator's own
//! intervals (../shared/VALIDATION.md): pass when within 4 standard errors
//! and the interval is narrow enough to have power.

use crate::support::*;

#[test]
fn mm1_mean_and_p99() {
    // lambda = 70/s, mu = 100/s: mean response 1/(mu - lambda) = 33.33 ms;
    // response time is exponential(mu - lambda): p99 = ln(100)/30 s = 153.5 ms.
    let s = shipped("scenarios/validation/mm1.toml");
    let (_, sum) = run(&s);
    assert_agrees(
        "M/M/1 mean",
        &sum.overall.latency_mean_ms,
        1000.0 / 30.0,
        0.02,
    );
    assert_agrees(
        "M/M/1 p99",
        &sum.overall.latency_p99_ms,
        1000.0 * 100f64.ln() / 30.0,
        0.05,
    );
    // Utilization = rho = 0.7; throughput = lambda.
    assert_agrees("M/M/1 utilization", &sum.pools[0].utilization, 0.7, 0.01);
    assert_agrees("M/M/1 throughput", &sum.overall.throughput_rps, 70.0, 0.01);
}

#[test]
fn mmc_mean_and_p99_against_erlang_c() {
    // lambda = 300/s, S = 10 ms, c = 4: a = 3, rho = 0.75.
    let s = shipped("scenarios/validation/mmc.toml");
    let (_, sum) = run(&s);
    let mean = mmc_mean_response(300.0, 0.010, 4) * 1000.0;
    assert!((mean - 15.09).abs() < 0.01, "Erlang C sanity: {mean}");
    assert_agrees("M/M/4 mean", &sum.overall.latency_mean_ms, mean, 0.02);
    let p99 = mmc_response_quantile(300.0, 0.010, 4, 0.99) * 1000.0;
    assert_agrees("M/M/4 p99", &sum.overall.latency_p99_ms, p99, 0.05);
    // Wait in queue: Wq = C / (c mu - lambda).
    let wq = erlang_c(4, 3.0) / (400.0 - 300.0) * 1000.0;
    assert_agrees("M/M/4 mean wait", &sum.pools[0].wait_mean_ms, wq, 0.03);
    // Little: Lq = lambda Wq.
    assert_agrees(
        "M/M/4 queue length",
        &sum.pools[0].queue_mean,
        300.0 * wq / 1000.0,
        0.03,
    );
}

#[test]
fn md1_against_pollaczek_khinchine() {
    // M/D/1: Wq = rho S / (2 (1 - rho)) = 0.7 x 10 / 0.6 = 11.667 ms; W = 21.667 ms.
    let s = shipped("scenarios/validation/md1.toml");
    let (_, sum) = run(&s);
    assert_agrees(
        "M/D/1 mean response",
        &sum.overall.latency_mean_ms,
        10.0 + 70.0 / 6.0,
        0.02,
    );
    assert_agrees(
        "M/D/1 mean wait",
        &sum.pools[0].wait_mean_ms,
        70.0 / 6.0,
        0.02,
    );
}

#[test]
fn jackson_tandem_end_to_end() {
    // Three M/M/1 in series at 100/s: 1/(200-100) + 1/(166.7-100) + 1/(142.9-100)
    // = 10 + 15 + 23.33 ms.
    let s = shipped("scenarios/validation/tandem.toml");
    let (_, sum) = run(&s);
    let per: Vec<f64> = [5.0, 6.0, 7.0]
        .iter()
        .map(|ms| 1000.0 / (1000.0 / ms - 100.0))
        .collect();
    assert_agrees(
        "tandem end to end",
        &sum.overall.latency_mean_ms,
        per.iter().sum(),
        0.02,
    );
    for (i, u) in [0.5, 0.6, 0.7].iter().enumerate() {
        assert_agrees(
            &format!("tandem station {i} utilization"),
            &sum.pools[i].utilization,
            *u,
            0.01,
        );
    }
}

#[test]
fn bounded_queue_against_mmck() {
    // M/M/2/5, a = 2: p_n proportional to 1, 2, 2, 2, 2, 2 for n = 0..5, so the
    // blocking probability is p_5 = 2/11 and the accepted throughput 200 x 9/11.
    let s = shipped("scenarios/validation/mmck.toml");
    let (_, sum) = run(&s);
    assert_agrees(
        "M/M/2/5 blocking",
        &sum.overall.error_rate,
        2.0 / 11.0,
        0.02,
    );
    assert_agrees(
        "M/M/2/5 throughput",
        &sum.overall.throughput_rps,
        200.0 * 9.0 / 11.0,
        0.01,
    );
    assert_agrees(
        "M/M/2/5 drops/s",
        &sum.pools[0].drops_rps,
        200.0 * 2.0 / 11.0,
        0.02,
    );
    // Mean number present L = sum n p_n = (0 + 2 + 4 + 6 + 8 + 10)/11; response by Little.
    let l = 30.0 / 11.0;
    assert_agrees(
        "M/M/2/5 response",
        &sum.overall.latency_mean_ms,
        1000.0 * l / (200.0 * 9.0 / 11.0),
        0.02,
    );
}

#[test]
fn read_write_split_per_class() {
    // Reads: 300/s split at random over two replicas -> each M/M/2 at 150/s,
    // S = 4 ms. Writes: 100/s to the primary, M/M/2 with S = 10 ms.
    let s = shipped("scenarios/validation/read-write-split.toml");
    let (_, sum) = run(&s);
    let read = mmc_mean_response(150.0, 0.004, 2) * 1000.0;
    let write = mmc_mean_response(100.0, 0.010, 2) * 1000.0;
    assert_agrees(
        "reads via replicas",
        &sum.classes[0].latency_mean_ms,
        read,
        0.02,
    );
    assert_agrees(
        "writes via primary",
        &sum.classes[1].latency_mean_ms,
        write,
        0.02,
    );
    assert_agrees("primary arrivals", &sum.pools[0].arrival_rps, 100.0, 0.01);
    assert_agrees("replica arrivals", &sum.pools[1].arrival_rps, 300.0, 0.01);
    assert_agrees("primary utilization", &sum.pools[0].utilization, 0.5, 0.01);
    assert_agrees("replica utilization", &sum.pools[1].utilization, 0.3, 0.01);
}

#[test]
fn bench_web_reproduces_its_analytic_mean() {
    // Jackson network: every station an M/M/c at its traffic-equation rate.
    let fw = mmc_mean_response(800.0, 0.0001, 1);
    let lb = mmc_mean_response(800.0, 0.0002, 1);
    let web = mmc_mean_response(400.0, 0.002, 4);
    let app = mmc_mean_response(400.0, 0.005, 8);
    let replica = mmc_mean_response(320.0, 0.003, 4);
    let primary = mmc_mean_response(160.0, 0.010, 4);
    let exact = (fw + lb + web + app + 0.8 * replica + 0.2 * primary) * 1000.0;
    assert!((exact - 11.84).abs() < 0.005, "the issue's figure: {exact}");
    let mut s = shipped("scenarios/bench-web.toml");
    s.simulation.duration_ns = 120_000_000_000;
    let (_, sum) = run(&s);
    assert_agrees(
        "bench-web end to end",
        &sum.overall.latency_mean_ms,
        exact,
        0.02,
    );
}

#[test]
fn utilization_law_holds_exactly_with_constant_service() {
    // U c T = busy time = completions x S, up to the services cut by the window
    // edges: at most `workers` services at each edge.
    let s = parse(
        r#"
[simulation]
duration = "100s"
warmup = "5s"
replications = 3
[workload]
rate = 150
[[tier]]
name = "web"
workers = 3
service = "const(12ms)"
"#,
    );
    let (reps, _) = run(&s);
    for r in &reps {
        let p = &r.pools[0];
        let s_ns = 12e6;
        let gap = (p.busy_ns - p.completions as f64 * s_ns).abs();
        assert!(
            gap <= 2.0 * 3.0 * s_ns,
            "busy {} vs X S {}",
            p.busy_ns,
            p.completions as f64 * s_ns
        );
    }
}

#[test]
fn interval_coverage_is_near_95_percent() {
    // Calibration of the interval machinery: 200 small M/M/1 studies (rho 0.5,
    // exact mean 20 ms), each 10 replications; about 95% of the intervals
    // should contain the truth. Binomial(200, 0.95) has sd 1.5%: accept 88-99%.
    let mut hits = 0;
    let n = 200;
    for seed in 0..n {
        let s = parse(&format!(
            r#"
[simulation]
duration = "60s"
warmup = "2s"
replications = 10
seed = {seed}
[workload]
rate = 50
[[tier]]
name = "s"
service = "exp(10ms)"
"#
        ));
        let (_, sum) = run(&s);
        if sum.overall.latency_mean_ms.contains(20.0) {
            hits += 1;
        }
    }
    let coverage = f64::from(hits) / f64::from(n);
    assert!((0.88..=0.99).contains(&coverage), "coverage {coverage}");
}

/// Welch's M/G/1 with an exceptional first service: a request that finds
/// the server idle (it wakes it) takes S0 = S + w, the rest S. With
/// rho = lambda E[S], rho0 = lambda E[S0]: the server is idle a share
/// P0 = (1 - rho) / (1 - rho + rho0) of the time, which is also the share of
/// arrivals that wake it (PASTA); the mean wait is
/// lambda (P0 E[S0^2] + (1 - P0) E[S^2]) / (2 (1 - rho)) (each request's
/// work integrated over its wait and service; docs/design.md derives it).
fn welch(lambda: f64, mean_s: f64, w: f64) -> (f64, f64, f64) {
    let (rho, rho0) = (lambda * mean_s, lambda * (mean_s + w));
    let p0 = (1.0 - rho) / (1.0 - rho + rho0);
    let (s2, s02) = (
        2.0 * mean_s * mean_s,
        2.0 * mean_s * mean_s + 2.0 * w * mean_s + w * w,
    );
    let wait = lambda * (p0 * s02 + (1.0 - p0) * s2) / (2.0 * (1.0 - rho));
    let response = wait + p0 * (mean_s + w) + (1.0 - p0) * mean_s;
    (p0, wait, response)
}

#[test]
fn a_wakeup_cost_is_an_exceptional_first_service() {
    // Exponential service of 1 ms and a 0.5 ms wake-up, at 200 and 500/s,
    // on a bare worker and on a one-core machine under one thread (the
    // thread sleeps and wakes instead of the worker).
    for (placement, extra) in [
        ("worker", ""),
        (
            "thread",
            "workers = 64\nthreads = 1\nhost = \"box\"\n[[host]]\nname = \"box\"\ncores = 1\n",
        ),
    ] {
        let mut cpu_per_visit = Vec::new();
        for lambda in [200.0, 500.0] {
            let workers = if extra.is_empty() {
                "workers = 1\n"
            } else {
                ""
            };
            let s = parse(&format!(
                "[simulation]\nduration = \"5m\"\nwarmup = \"20s\"\nreplications = 10\nseed = 9\n\
                 [workload]\nrate = {lambda}\n[[tier]]\nname = \"server\"\n{workers}\
                 service = \"exp(1ms)\"\nwakeup = \"0.5ms\"\n{extra}"
            ));
            let (_, sum) = run(&s);
            let (p0, wait, response) = welch(lambda, 1e-3, 0.5e-3);
            // The analytic model (review, verdicts, capacity) has the same
            // demand: exact for one server.
            let load = &stacksim::analysis::offered_load(&s)[0];
            assert!(
                (load.cpu - lambda * 1e-3 * (1.0 + 0.5 * p0)).abs() < 1e-9,
                "analytic CPU {} at {lambda}/s",
                load.cpu
            );
            // At saturation no visit finds the server idle: it saturates at
            // 1 / E[S] = 1,000/s, not at the rate the demand at this load
            // extrapolates to.
            let m = stacksim::analysis::queueing::analytic_model(&s).expect("an open workload");
            let sat = m.pools[0].1.saturation_rps;
            assert!(
                (sat - 1000.0).abs() < 1e-6,
                "{placement}: saturates at {sat}"
            );
            let p = &sum.pools[0];
            let what = |m: &str| format!("{placement} at {lambda}/s: {m}");
            let share = p.wakeup_share.as_ref().expect("a wake-up cost is reported");
            assert_agrees(&what("wake-up share"), share, p0, 0.01);
            assert_agrees(
                &what("mean response"),
                &sum.overall.latency_mean_ms,
                response * 1e3,
                0.02,
            );
            if extra.is_empty() {
                // (Under a thread cap the wait is for the thread, which the
                // worker table does not show: the response covers it.)
                assert_agrees(&what("mean wait"), &p.wait_mean_ms, wait * 1e3, 0.03);
                // Busy = 1 - P0.
                assert_agrees(&what("utilization"), &p.utilization, 1.0 - p0, 0.01);
            } else {
                assert_agrees(
                    &what("core utilization"),
                    &sum.hosts[0].utilization,
                    1.0 - p0,
                    0.01,
                );
                assert_agrees(&what("CPU per visit"), &p.cpu_ms, 1.0 + 0.5 * p0, 0.01);
            }
            cpu_per_visit.push(1.0 + 0.5 * share.mean);
        }
        // The demand falls with load: 1.36 ms a visit at 200/s, 1.20 at 500/s.
        assert!(
            cpu_per_visit[1] < cpu_per_visit[0] - 0.1,
            "{cpu_per_visit:?}"
        );
    }
}

#[test]
fn random_pauses_slow_the_services_they_catch() {
    // M/G/inf (no queueing): exponential 1 ms services at 200/s; pauses
    // every exp(4 s) after the last one's end, exp(1 s) long, slowing
    // services begun during them ten times. By renewal-reward the share of
    // time paused is 1/(4 + 1) = 0.2, and by PASTA so is the share of
    // services caught: the mean response is 1 ms x (0.8 + 10 x 0.2) = 2.8 ms,
    // with 3,600 / 5 = 720 pauses an hour.
    let s = parse(
        "[simulation]\nduration = \"10m\"\nwarmup = \"20s\"\nreplications = 10\nseed = 4\n\
         [workload]\nrate = 200\n[[tier]]\nname = \"server\"\nworkers = 100000\n\
         service = \"exp(1ms)\"\n\
         pauses = { every = \"exp(4s)\", length = \"exp(1s)\", slowdown = 10 }\n",
    );
    let (_, sum) = run(&s);
    let p = &sum.pools[0];
    let share = p.paused_share.as_ref().expect("pauses are reported");
    assert_agrees("paused share", share, 0.2, 0.1);
    let rate = p.pauses_per_hour.as_ref().expect("pauses are reported");
    assert_agrees("pauses an hour", rate, 720.0, 0.1);
    assert_agrees("mean response", &sum.overall.latency_mean_ms, 2.8, 0.1);
    // Without the key nothing of it is reported.
    let plain = parse(
        "[simulation]\nduration = \"1m\"\nreplications = 2\n[workload]\nrate = 200\n\
         [[tier]]\nname = \"server\"\nworkers = 100000\nservice = \"exp(1ms)\"\n",
    );
    let (_, sum) = run(&plain);
    assert!(sum.pools[0].paused_share.is_none() && sum.pools[0].pauses_per_hour.is_none());
}

#[test]
fn a_machines_pauses_slow_every_component_on_it() {
    // Two tiers of many workers on one machine of ample cores (no wait
    // for a core): the machine pauses every exp(4 s) for exp(1 s), slowing
    // both tiers' services ten times, so each tier's mean time is
    // 1 ms x (0.8 + 10 x 0.2) = 2.8 ms and the end to end 5.6 ms; a tier
    // off the machine is untouched.
    let s = parse(
        "[simulation]\nduration = \"10m\"\nwarmup = \"20s\"\nreplications = 10\nseed = 6\n\
         [workload]\nrate = 200\n[[host]]\nname = \"box\"\ncores = 1000\n\
         pauses = { every = \"exp(4s)\", length = \"exp(1s)\", slowdown = 10 }\n\
         [[tier]]\nname = \"a\"\nworkers = 100000\nhost = \"box\"\nservice = \"exp(1ms)\"\n\
         [[tier]]\nname = \"b\"\nworkers = 100000\nhost = \"box\"\nservice = \"exp(1ms)\"\n\
         [[tier]]\nname = \"c\"\nworkers = 100000\nservice = \"exp(1ms)\"\n",
    );
    let (_, sum) = run(&s);
    let share = sum.hosts[0]
        .paused_share
        .as_ref()
        .expect("host pauses are reported");
    assert_agrees("paused share", share, 0.2, 0.1);
    assert_agrees(
        "mean end to end",
        &sum.overall.latency_mean_ms,
        2.8 + 2.8 + 1.0,
        0.1,
    );
    assert!(
        sum.pools[2].paused_share.is_none(),
        "no tier pauses of its own"
    );
}
