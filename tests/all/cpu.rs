//! Where a service's time goes: its CPU part on a core, the rest off it;
//! a cap on the cores one instance uses at once (`threads`); background CPU
//! on a machine. Expected values derived in each test's comment; judged by
//! the simulator's own intervals (../shared/VALIDATION.md).

use crate::support::*;
use stacksim::analysis::Stability;
use stacksim::analysis::queueing::analytic_model;

/// One tier of `workers` on a machine of `cores`, Poisson `rate`/s,
/// exponential 10 ms services; `extra` is appended to the tier.
fn one_tier(rate: f64, workers: u32, cores: u32, host_extra: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "200s"
warmup = "10s"
replications = 10
seed = 5

[workload]
rate = {rate}

[[host]]
name = "box"
cores = {cores}
{host_extra}

[[tier]]
name = "app"
workers = {workers}
service = "exp(10ms)"
host = "box"
{extra}
"#
    )
}

#[test]
fn half_of_the_service_off_core_halves_the_machine_cpu_not_the_response() {
    // 200/s x 10 ms = 2 busy workers of 4 on 8 cores: no service ever waits
    // for a core, so moving half of each service off the core changes no
    // timing (the same draws: exactly the same response) and halves the
    // machine's CPU: 200 x 10 ms x 0.5 / 8 cores = 0.125 (from 0.25).
    let all = parse(&one_tier(200.0, 4, 8, "", ""));
    let half = parse(&one_tier(200.0, 4, 8, "", "cpu = 0.5"));
    let (_, a) = run(&all);
    let (_, h) = run(&half);
    assert_agrees(
        "machine CPU, all on core",
        &a.hosts[0].utilization,
        0.25,
        0.01,
    );
    assert_agrees(
        "machine CPU, half off core",
        &h.hosts[0].utilization,
        0.125,
        0.01,
    );
    assert_eq!(a.pools[0].latency_p50_ms, h.pools[0].latency_p50_ms);
    assert_eq!(a.overall.latency_mean_ms, h.overall.latency_mean_ms);
    assert_eq!(a.pools[0].utilization, h.pools[0].utilization);
    // The host table's figures: 5 ms on the core and 5 ms off it per visit.
    assert_agrees("cpu ms per visit", &h.pools[0].cpu_ms, 5.0, 0.01);
    assert_agrees("off-core ms per visit", &h.pools[0].off_core_ms, 5.0, 0.01);
    assert_agrees("cpu ms per visit, all", &a.pools[0].cpu_ms, 10.0, 0.01);
    assert_eq!(a.pools[0].off_core_ms.mean, 0.0);
}

#[test]
fn a_cpu_fraction_of_one_is_the_default() {
    // cpu = 1.0 puts all of every service on the core, as no `cpu` does:
    // the same events in the same order, so the same figures exactly.
    let all = parse(&one_tier(300.0, 4, 2, "", ""));
    let one = parse(&one_tier(300.0, 4, 2, "", "cpu = 1.0"));
    let (_, a) = run(&all);
    let (_, b) = run(&one);
    let json = |s: &stacksim::stats::Summary| serde_json::to_string(&s.pools).unwrap();
    assert_eq!(json(&a), json(&b));
}

#[test]
fn an_event_loop_with_one_thread_is_a_single_server_in_its_cpu() {
    // 64 workers (connections) but threads = 1 on an 8-core machine: the
    // CPU bursts queue for the one thread, an M/M/1 at 70/s with 10 ms
    // services: mean response 1/(100 - 70) s = 33.33 ms (without the cap,
    // an M/M/8 on the cores: 10.0 ms).
    // As long as the M/M/1 theory test runs, for the same power.
    let long = |t: String| {
        t.replace("duration = \"200s\"", "duration = \"600s\"")
            .replace("replications = 10", "replications = 20")
    };
    let s = parse(&long(one_tier(70.0, 64, 8, "", "threads = 1")));
    let (_, sum) = run(&s);
    assert_agrees(
        "one-thread event loop mean",
        &sum.overall.latency_mean_ms,
        1000.0 / 30.0,
        0.02,
    );
    assert_agrees(
        "one thread busy",
        &sum.hosts[0].utilization,
        0.7 / 8.0,
        0.01,
    );
    let free = parse(&one_tier(70.0, 64, 8, "", ""));
    let (_, f) = run(&free);
    assert!(
        f.overall.latency_mean_ms.mean < 10.5,
        "{:?}",
        f.overall.latency_mean_ms
    );
    // The analytic model saturates it at one thread's rate: 1 / 10 ms.
    let m = analytic_model(&s).unwrap();
    assert!(
        (m.pools[0].1.saturation_rps - 100.0).abs() < 1e-9,
        "{:?}",
        m.pools[0].1
    );
}

#[test]
fn background_load_lowers_the_saturation_rate() {
    // 2 cores, 0.5 cores of background: requests can use 1.5. With 10 ms of
    // CPU per request the machine saturates at 1.5 / 0.01 = 150/s (200/s
    // without it), in the analytic model exactly; in the simulation the
    // utilization law holds: at 100/s the cores are (100 x 0.01 + 0.5) / 2
    // = 75% busy.
    let s = parse(&one_tier(100.0, 8, 2, "background = \"0.5 cores\"", ""));
    let m = analytic_model(&s).unwrap();
    assert!(
        (m.machines[0].saturation_rps - 150.0).abs() < 1e-9,
        "{:?}",
        m.machines[0]
    );
    assert!((m.max_throughput_rps - 150.0).abs() < 1e-9);
    let none = analytic_model(&parse(&one_tier(100.0, 8, 2, "", ""))).unwrap();
    assert!((none.machines[0].saturation_rps - 200.0).abs() < 1e-9);
    let (_, sum) = run(&s);
    assert_agrees(
        "machine CPU with background",
        &sum.hosts[0].utilization,
        0.75,
        0.01,
    );
}

/// Yielding background (`idle_background`) takes only idle cores: below
/// saturation it is all delivered, at 100/s with 10 ms of CPU per request
/// on 2 cores with 0.5 cores of it the cores are (1.0 + 0.5) / 2 = 75% busy
/// (as with `background`); but it neither lowers the analytic saturation
/// rate (2 / 0.01 = 200/s, against 150/s for `background`) nor makes 180/s
/// unstable, where the same 0.5 cores as `background` (1.8 + 0.5 > 2) does;
/// there it gets at most the 0.2 cores the requests leave.
#[test]
fn idle_background_takes_idle_cores_and_yields_at_saturation() {
    let idle = "idle_background = \"0.5 cores\"";
    let s = parse(&one_tier(100.0, 8, 2, idle, ""));
    let m = analytic_model(&s).unwrap();
    assert!(
        (m.machines[0].saturation_rps - 200.0).abs() < 1e-9,
        "{:?}",
        m.machines[0]
    );
    assert!((m.machines[0].utilization - 0.75).abs() < 1e-9);
    let (_, sum) = run(&s);
    assert_agrees(
        "machine CPU with yielding background",
        &sum.hosts[0].utilization,
        0.75,
        0.01,
    );
    let busy = parse(&one_tier(180.0, 8, 2, idle, ""));
    let (sum, verdicts, _) = run_with_verdicts(&busy);
    assert_eq!(verdicts[0].stability, Stability::Stable, "{verdicts:?}");
    assert_agrees(
        "throughput at 180/s",
        &sum.overall.throughput_rps,
        180.0,
        0.01,
    );
    let u = &sum.hosts[0].utilization;
    assert!(u.mean > 0.9 && u.mean <= 1.0, "{u:?}");
    let fifo = parse(&one_tier(180.0, 8, 2, "background = \"0.5 cores\"", ""));
    let (_, verdicts, _) = run_with_verdicts(&fifo);
    assert!(
        matches!(verdicts[0].stability, Stability::Unstable { .. }),
        "{verdicts:?}"
    );
}

/// Off-path CPU per request (a log shipper) takes cores in proportion to
/// the traffic without being part of any request's service: at 100/s with
/// 10 ms of CPU per request and 2 ms off the path on 2 cores, the cores are
/// (100 x 0.012) / 2 = 60% busy, and the analytic machine saturates at
/// 2 / 0.012 = 166.7/s.
#[test]
fn off_path_cpu_grows_with_the_traffic() {
    let s = parse(&one_tier(100.0, 8, 2, "off_path_cpu = \"2ms\"", ""));
    let m = analytic_model(&s).unwrap();
    assert!(
        (m.machines[0].saturation_rps - 2.0 / 0.012).abs() < 1e-6,
        "{:?}",
        m.machines[0]
    );
    let (_, sum) = run(&s);
    assert_agrees(
        "machine CPU with off-path work",
        &sum.hosts[0].utilization,
        0.60,
        0.01,
    );
    let bad = stacksim::scenario::parse(
        &one_tier(100.0, 8, 2, "off_path_cpu = \"-1ms\"", ""),
        "x.toml",
        None,
    );
    assert!(bad.is_err());
}

#[test]
fn bad_cpu_threads_and_background_values_are_located() {
    for (extra, host_extra, want) in [
        ("cpu = 1.5", "", "a CPU fraction must lie in 0..1"),
        ("cpu = -0.2", "", "a CPU fraction must lie in 0..1"),
        (
            "cpu = true",
            "",
            "expected a fraction of the service or a distribution",
        ),
        ("threads = 0", "", "threads"),
        ("", "background = 2", "leaves no CPU"),
        ("", "background = \"-1 cores\"", "cannot be negative"),
        ("", "background = \"lots\"", "not a number of cores"),
        (
            "",
            "idle_background = 2",
            "idle_background of 2 cores leaves no CPU",
        ),
        (
            "",
            "idle_background = -0.1",
            "idle_background cannot be negative",
        ),
    ] {
        let src = one_tier(100.0, 4, 2, host_extra, extra);
        let e = stacksim::scenario::parse(&src, "bad.toml", None)
            .expect_err(&format!("{extra}{host_extra} must be refused"));
        let text = e.render(false);
        assert!(text.contains(want), "{extra}{host_extra}: {text}");
        assert!(text.contains("bad.toml:"), "located: {text}");
    }
}

#[test]
fn check_notes_a_cpu_part_longer_than_its_service_and_threads_above_the_cores() {
    let s = parse(&one_tier(
        100.0,
        4,
        2,
        "",
        "cpu = \"exp(20ms)\"\nthreads = 4",
    ));
    let notes = stacksim::analysis::setting_notes(&s);
    assert!(
        notes.iter().any(|n| n.contains("more than its service")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("threads = 4")), "{notes:?}");
    let fine = parse(&one_tier(
        100.0,
        4,
        2,
        "",
        "cpu = \"exp(2ms)\"\nthreads = 2",
    ));
    assert!(stacksim::analysis::setting_notes(&fine).is_empty());
}

#[test]
fn cpu_by_class_falls_back_to_all_of_the_service() {
    // Keyed like `service`: a class by name, then by access, then
    // `default`; a class none of them names keeps all of its service on
    // the core.
    let s = parse(
        r#"
[workload]
rate = 10
classes = [
  { name = "page", share = 0.5 },
  { name = "save", share = 0.3, access = "write" },
  { name = "feed", share = 0.2 },
]

[[tier]]
name = "app"
service = "exp(2ms)"
cpu = { save = "exp(1ms)", read = 0.25 }
"#,
    );
    use stacksim::scenario::Cpu;
    let cpu = &s.tiers[0].pools[0].cpu;
    assert_eq!(cpu[0], Cpu::Fraction(0.25));
    assert!(matches!(cpu[1], Cpu::Dist(_)));
    assert_eq!(cpu[2], Cpu::Fraction(0.25));
    let only_writes = parse(
        r#"
[workload]
rate = 10
classes = [
  { name = "page", share = 0.5 },
  { name = "save", share = 0.5, access = "write" },
]

[[tier]]
name = "app"
service = "exp(2ms)"
cpu = { write = 0.5 }
"#,
    );
    assert_eq!(
        only_writes.tiers[0].pools[0].cpu,
        vec![Cpu::All, Cpu::Fraction(0.5)]
    );
}

#[test]
fn a_service_table_must_cover_every_class() {
    // The lookup `cpu` shares with `service`, where a class left out is an
    // error (a service time cannot be guessed).
    let src = r#"
[workload]
rate = 10
classes = [
  { name = "page", share = 0.5 },
  { name = "save", share = 0.5, access = "write" },
]

[[tier]]
name = "app"
service = { read = "exp(1ms)" }
"#;
    let e = stacksim::scenario::parse(src, "t.toml", None).unwrap_err();
    let text = e.render(false);
    assert!(text.contains("no service time for class `save`"), "{text}");
    assert!(text.contains("`write = \"...\"`"), "{text}");
}

/// One core, Poisson 700/s, half the requests 0.2 ms of CPU and half
/// 1.8 ms (mean 1 ms, E[S²] = 1.64 ms², ρ = 0.7), enough workers that only
/// the core is waited for. Processor sharing (M/G/1-PS) gives each request
/// s / (1 - ρ): 0.667 ms and 6.000 ms, whatever the distribution. A FIFO
/// core (M/G/1) gives both the same wait, λE[S²] / (2(1 - ρ)) = 1.913 ms:
/// 2.113 ms and 3.713 ms: 2.913 ms over all requests against PS's 3.333 ms
/// (FIFO's mean is lower for this low-variance mix; only for exponential
/// service are the two means equal, tested below).
#[test]
fn processor_sharing_lets_short_bursts_through() {
    let src = |scheduling: &str| {
        one_core(
            scheduling,
            11,
            "rate = 700\nclasses = [{ name = \"short\", share = 0.5 }, { name = \"long\", share = 0.5 }]",
            "{ short = \"const(0.2ms)\", long = \"const(1.8ms)\" }",
        )
    };
    let rho: f64 = 0.7;
    let (_, ps) = run(&parse(&src("ps")));
    assert_agrees(
        "PS short",
        &ps.classes[0].latency_mean_ms,
        0.2 / (1.0 - rho),
        0.02,
    );
    assert_agrees(
        "PS long",
        &ps.classes[1].latency_mean_ms,
        1.8 / (1.0 - rho),
        0.02,
    );
    assert_agrees(
        "PS all",
        &ps.overall.latency_mean_ms,
        1.0 / (1.0 - rho),
        0.02,
    );
    let (_, fifo) = run(&parse(&src("fifo")));
    let w = 0.7 * 1.64 / (2.0 * (1.0 - rho));
    assert_agrees(
        "FIFO short",
        &fifo.classes[0].latency_mean_ms,
        w + 0.2,
        0.02,
    );
    assert_agrees("FIFO long", &fifo.classes[1].latency_mean_ms, w + 1.8, 0.02);
    // The machine is as busy either way.
    assert_agrees("PS utilization", &ps.hosts[0].utilization, rho, 0.01);
    let bad = stacksim::scenario::parse(&src("round-robin"), "x.toml", None);
    assert!(
        bad.unwrap_err()
            .render(false)
            .contains("unknown scheduling")
    );
}

/// M/M/1 on one core at rho = 0.8 (exp(1 ms) bursts, 800/s): FIFO and
/// processor sharing have the same mean sojourn, 1 / (mu - lambda) = 5 ms,
/// but PS's is proportional to each request's own burst.
#[test]
fn processor_sharing_and_fifo_agree_on_the_mean_of_an_mm1() {
    let src = |scheduling: &str| one_core(scheduling, 5, "rate = 800", "\"exp(1ms)\"");
    for scheduling in ["fifo", "ps"] {
        let (_, sum) = run(&parse(&src(scheduling)));
        assert_agrees(scheduling, &sum.overall.latency_mean_ms, 5.0, 0.03);
    }
}

/// One 1-core machine under `scheduling`, an app tier with workers to
/// spare (only the core is waited for), 10 replications of 200 s.
fn one_core(scheduling: &str, seed: u64, workload: &str, service: &str) -> String {
    format!(
        "[simulation]\nduration = \"200s\"\nwarmup = \"10s\"\nreplications = 10\nseed = {seed}\n\n[workload]\n{workload}\n\n[[host]]\nname = \"box\"\ncores = 1\nscheduling = \"{scheduling}\"\n\n[[tier]]\nname = \"app\"\nworkers = 1000\nservice = {service}\nhost = \"box\"\n"
    )
}

/// The fair scheduler (`scheduling = "cfs"`) with a wake-up granularity of
/// zero, one core: short bursts (exp 0.1 ms, 2,000/s, rho1 = 0.2) from a
/// proxy whose many workers sleep between requests, long ones (exp 2 ms,
/// 250/s, rho2 = 0.5) from a one-worker batch process that runs ahead of
/// it in virtual runtime. The short class sees preemptive priority,
/// E[T1] = E[S1] / (1 - rho1) = 0.125 ms, and the long class the
/// preemptive-resume low-priority M/G/1 formula, E[S2] / (1 - rho1) +
/// (l1 E[S1^2] + l2 E[S2^2]) / 2 / ((1 - rho1)(1 - rho1 - rho2)) =
/// 2.5 + 1.02 / 0.24 = 6.75 ms. The latency period is set long (1 s) so
/// that a waking proxy is never held to half of it behind the least
/// virtual runtime: at the kernel's 6 ms the batch process, waking from
/// idle, sometimes comes in first, and the short class's mean is 0.129 ms
/// (the bounded sleeper credit, as Linux has it). A FIFO core makes the
/// short bursts wait behind the long ones (a mean at least ten times as
/// long).
#[test]
fn the_fair_scheduler_gives_waking_short_bursts_preemptive_priority() {
    let src = |host: &str| {
        format!(
            r#"
[simulation]
duration = "200s"
warmup = "10s"
replications = 10
seed = 3
[workload]
rate = 2250
classes = [
  {{ name = "short", share = 0.888888888889, route = ["proxy"] }},
  {{ name = "long", share = 0.111111111111, route = ["batch"] }},
]
[[host]]
name = "box"
cores = 1
{host}
[[tier]]
name = "proxy"
workers = 1000
host = "box"
service = "exp(0.1ms)"
[[tier]]
name = "batch"
workers = 1
host = "box"
service = "exp(2ms)"
"#
        )
    };
    let (_, cfs) = run(&parse(&src(
        "scheduling = \"cfs\"\nsched_wakeup_granularity = \"0s\"\nsched_latency = \"1s\"",
    )));
    let (l1, l2, s1, s2) = (2000.0, 250.0, 0.1e-3, 2e-3);
    let (rho1, rho2) = (l1 * s1, l2 * s2);
    let short = s1 / (1.0 - rho1) * 1e3;
    let r = (l1 * 2.0 * s1 * s1 + l2 * 2.0 * s2 * s2) / 2.0;
    let long = (s2 / (1.0 - rho1) + r / ((1.0 - rho1) * (1.0 - rho1 - rho2))) * 1e3;
    assert_agrees("cfs short", &cfs.classes[0].latency_mean_ms, short, 0.02);
    assert_agrees("cfs long", &cfs.classes[1].latency_mean_ms, long, 0.05);
    assert_agrees(
        "cfs utilization",
        &cfs.hosts[0].utilization,
        rho1 + rho2,
        0.01,
    );
    let (_, fifo) = run(&parse(&src("scheduling = \"fifo\"")));
    assert!(
        fifo.classes[0].latency_mean_ms.mean > 10.0 * short,
        "FIFO short {:?}",
        fifo.classes[0].latency_mean_ms
    );
}

/// One class of identical processes, exponential bursts: the fair
/// scheduler is work-conserving and does not look at a burst's length, so
/// its mean sojourn is that of any such discipline: the M/M/1's
/// 1 / (mu - lambda) = 3.33 ms at rho = 0.7 on one core, and the M/M/2's
/// Erlang C figure on two.
#[test]
fn the_fair_scheduler_keeps_the_mean_of_an_mm1_and_an_mm2() {
    let (_, one) = run(&parse(&one_core("cfs", 7, "rate = 700", "\"exp(1ms)\"")));
    assert_agrees(
        "cfs M/M/1",
        &one.overall.latency_mean_ms,
        1.0 / (1000.0 - 700.0) * 1e3,
        0.03,
    );
    let two = one_core("cfs", 8, "rate = 1600", "\"exp(1ms)\"").replace("cores = 1", "cores = 2");
    let (_, two) = run(&parse(&two));
    let (c, a) = (2, 1.6);
    let wait = erlang_c(c, a) / (f64::from(c) * 1000.0 - 1600.0);
    assert_agrees(
        "cfs M/M/2",
        &two.overall.latency_mean_ms,
        (wait + 1e-3) * 1e3,
        0.03,
    );
}

/// The fair scheduler's tunables belong to it: on another discipline they
/// are an error naming the key and the fix; without them each takes the
/// kernel's default for the cores.
#[test]
fn the_fair_schedulers_tunables_need_it() {
    let bad = one_core("ps", 1, "rate = 10", "\"exp(1ms)\"").replace(
        "scheduling = \"ps\"",
        "scheduling = \"ps\"\nsched_wakeup_granularity = \"1ms\"",
    );
    let text = stacksim::scenario::parse(&bad, "x.toml", None)
        .unwrap_err()
        .render(false);
    assert!(
        text.contains("`sched_wakeup_granularity` is a tunable of the fair scheduler"),
        "{text}"
    );
    assert!(text.contains("scheduling = \"cfs\""), "{text}");
    let p = stacksim::scenario::CfsParams::kernel_default(2);
    assert_eq!(
        (p.latency_ns, p.min_granularity_ns, p.wakeup_granularity_ns),
        (12_000_000, 1_500_000, 2_000_000)
    );
    let p = stacksim::scenario::CfsParams::kernel_default(64);
    assert_eq!(p.latency_ns, 24_000_000);
}

/// EEVDF (`scheduling = "eevdf"`) with a slice far shorter than every
/// burst (10 us against 0.2 and 1.8 ms) runs the runnable bursts in turn,
/// a slice each in deadline order: processor sharing in the limit, so the
/// M/G/1-PS figures of `processor_sharing_lets_short_bursts_through` hold,
/// s / (1 - rho) for a burst s: 0.667 ms and 6.000 ms. With the kernel's
/// slice it keeps the M/M/1's mean, as any discipline blind to burst
/// lengths does.
#[test]
fn eevdf_with_a_short_slice_is_processor_sharing() {
    let src = one_core(
        "eevdf",
        11,
        "rate = 700\nclasses = [{ name = \"short\", share = 0.5 }, { name = \"long\", share = 0.5 }]",
        "{ short = \"const(0.2ms)\", long = \"const(1.8ms)\" }",
    )
    .replace("duration = \"200s\"", "duration = \"60s\"")
    .replace(
        "scheduling = \"eevdf\"",
        "scheduling = \"eevdf\"\nsched_base_slice = \"10us\"",
    );
    let (_, sum) = run(&parse(&src));
    let rho = 0.7;
    assert_agrees(
        "EEVDF short",
        &sum.classes[0].latency_mean_ms,
        0.2 / (1.0 - rho),
        0.05,
    );
    assert_agrees(
        "EEVDF long",
        &sum.classes[1].latency_mean_ms,
        1.8 / (1.0 - rho),
        0.05,
    );
    let (_, mm1) = run(&parse(&one_core("eevdf", 5, "rate = 800", "\"exp(1ms)\"")));
    assert_agrees("EEVDF M/M/1", &mm1.overall.latency_mean_ms, 5.0, 0.03);
    let bad = one_core("cfs", 1, "rate = 10", "\"exp(1ms)\"").replace(
        "scheduling = \"cfs\"",
        "scheduling = \"cfs\"\nsched_base_slice = \"1ms\"",
    );
    let text = stacksim::scenario::parse(&bad, "x.toml", None)
        .unwrap_err()
        .render(false);
    assert!(
        text.contains("`sched_base_slice` is a tunable of the EEVDF scheduler"),
        "{text}"
    );
}

#[test]
fn a_switch_cost_is_cpu_that_rises_with_oversubscription() {
    // Eight workers on one fair-scheduled core: below saturation a burst is
    // rarely preempted, near it often; each preemption costs 50 us of CPU.
    let at = |rate: f64, switch: bool| {
        let s = parse(&format!(
            "[simulation]\nduration = \"2m\"\nwarmup = \"10s\"\nreplications = 8\nseed = 3\n\
             [workload]\nrate = {rate}\n[[host]]\nname = \"box\"\ncores = 1\nscheduling = \"cfs\"\n{}\
             [[tier]]\nname = \"app\"\nworkers = 8\nhost = \"box\"\nservice = \"exp(1ms)\"\n",
            if switch {
                "switch_cost = \"50us\"\n"
            } else {
                ""
            }
        ));
        run(&s).1
    };
    let share = |rate: f64| {
        let with = at(rate, true);
        let without = at(rate, false);
        let sw = with.hosts[0]
            .switch_share
            .expect("a switch cost is reported");
        assert!(without.hosts[0].switch_share.is_none());
        // The switches' CPU is the rise in utilization (common random
        // numbers: the same arrivals and services in both runs).
        let (u1, u0) = (&with.hosts[0].utilization, &without.hosts[0].utilization);
        let hw = u1.half_width.unwrap() + u0.half_width.unwrap() + sw.half_width.unwrap();
        assert!(
            (u1.mean - u0.mean - sw.mean).abs() <= hw,
            "at {rate}/s: {} - {} against {} (± {hw})",
            u1.mean,
            u0.mean,
            sw.mean
        );
        sw
    };
    let (low, high) = (share(300.0), share(850.0));
    assert!(
        high.mean - high.half_width.unwrap() > 2.0 * (low.mean + low.half_width.unwrap()),
        "CPU per request rises with oversubscription: {low:?} then {high:?}"
    );
    // Only a preemptive discipline switches.
    let e = match stacksim::scenario::parse(
        "[workload]\nrate = 10\n[[host]]\nname = \"b\"\ncores = 1\nswitch_cost = \"50us\"\n\
         [[tier]]\nname = \"s\"\nhost = \"b\"\nservice = \"1ms\"\n",
        "bad.toml",
        None,
    ) {
        Ok(_) => panic!("a FIFO host with a switch cost is refused"),
        Err(e) => e,
    };
    let d = e
        .diagnostics
        .iter()
        .find(|d| d.key == "host[0].switch_cost")
        .unwrap_or_else(|| panic!("flagged: {e}"));
    assert!(d.message.contains("preemption") && d.hint.is_some());
    assert_eq!(e.diagnostics.len(), 1, "no knock-on errors: {e}");
}
