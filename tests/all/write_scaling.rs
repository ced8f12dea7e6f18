//! Write scaling: sharded databases (`shards`, `shard_key`), each shard
//! its own primary and replicas, a class's keys spread by a stated
//! distribution; replication as a queue (`replication`): lag, stale reads,
//! semi-synchronous commits, writes lost at a failover. Judged by the
//! simulation's own intervals against closed forms.

use stacksim::scenario::ShardKey;

use crate::support::*;

/// A write-only stack in front of a database of `shards` shards whose
/// primaries have `workers` workers of exp(10ms); `key` and `extra` are
/// added to the database table and the scenario's end.
fn sharded(rate: f64, shards: u32, workers: u32, key: &str, extra: &str) -> String {
    format!(
        r#"name = "sharded"
[simulation]
duration = "200s"
warmup = "10s"
replications = 8
seed = 11
[workload]
rate = {rate}
classes = [ {{ name = "read", share = 0.25 }}, {{ name = "write", share = 0.75 }} ]
[[tier]]
name = "db"
kind = "database"
shards = {shards}
{key}
primary  = {{ workers = {workers}, service = {{ read = "exp(2ms)", write = "exp(10ms)" }} }}
replicas = {{ count = 1, workers = 8, service = "exp(2ms)" }}
{extra}"#
    )
}

/// The primaries' instance summaries, in shard order.
fn primaries(sum: &stacksim::stats::Summary) -> Vec<&stacksim::stats::InstanceSummary> {
    let mut v: Vec<_> = sum.instances.iter().filter(|i| i.pool == 0).collect();
    v.sort_by_key(|i| i.index);
    v
}

#[test]
fn equal_shards_with_uniform_keys_are_independent_queues_at_their_share() {
    // 400 requests/s, 300 of them writes over 3 shards: each primary an
    // M/M/2 at 100/s with S = 10 ms (rho 0.5). Reads go to each shard's
    // replica: an M/M/8 at 100/3 per second with S = 2 ms.
    let s = parse(&sharded(400.0, 3, 2, "", ""));
    assert_eq!(s.tiers[0].pools[0].instances, 3, "a primary per shard");
    assert_eq!(s.tiers[0].pools[1].instances, 3, "a replica per shard");
    let (_, sum) = run(&s);
    let write = mmc_mean_response(100.0, 0.010, 2) * 1000.0;
    assert_agrees(
        "writes: M/M/2 at lambda/3",
        &sum.classes[1].latency_mean_ms,
        write,
        0.02,
    );
    let read = mmc_mean_response(100.0 / 3.0, 0.002, 8) * 1000.0;
    assert_agrees(
        "reads: M/M/8 at lambda/3",
        &sum.classes[0].latency_mean_ms,
        read,
        0.02,
    );
    for p in primaries(&sum) {
        let what = format!("shard#{} primary", p.index);
        assert_agrees(&what, &p.arrival_rps, 100.0, 0.02);
        assert_agrees(&what, &p.utilization, 0.5, 0.02);
    }
}

#[test]
fn zipf_keys_load_each_shard_in_proportion_to_its_keys_weights() {
    // zipf(1.0) over 10 keys, key k on shard k mod 4: the shards' shares
    // are sums of 1/k over their keys, computed here on their own.
    let s = parse(&sharded(
        200.0,
        4,
        4,
        r#"shard_key = "zipf(1.0, keys = 10)""#,
        "",
    ));
    assert_eq!(
        s.tiers[0].shard_keys[1],
        ShardKey::Zipf { s: 1.0, keys: 10 }
    );
    let h: Vec<f64> = (1..=10).map(|k| 1.0 / f64::from(k)).collect();
    let total: f64 = h.iter().sum();
    let share = |shard: usize| h.iter().skip(shard).step_by(4).sum::<f64>() / total;
    let (_, sum) = run(&s);
    let writes = 150.0;
    for p in primaries(&sum) {
        let w = share(p.index);
        let what = format!("shard#{} primary ({:.3} of the keys)", p.index, w);
        assert_agrees(&what, &p.arrival_rps, writes * w, 0.02);
        assert_agrees(&what, &p.utilization, writes * w * 0.010 / 4.0, 0.03);
    }
    // Shard 0 holds keys 1, 5 and 9: 1.311 of 2.929, twice shard 3's.
    assert!((share(0) - 0.4476).abs() < 1e-3, "{}", share(0));
    // Every shard is an M/M/4 at its share (Poisson thinning): review's
    // analytic model, each shard's Erlang C weighted by its visits, is
    // exact here.
    let model = stacksim::analysis::queueing::analytic_model(&s).expect("open workload");
    let exact: f64 = 0.25 * mmc_mean_response(50.0 / 4.0, 0.002, 8) * 1000.0
        + 0.75
            * (0..4)
                .map(|k| share(k) * mmc_mean_response(writes * share(k), 0.010, 4) * 1000.0)
                .sum::<f64>();
    assert!(
        (model.end_to_end_ms - exact).abs() < 1e-6 * exact,
        "analytic {} against {exact}",
        model.end_to_end_ms
    );
    assert_agrees(
        "end to end against the per-shard M/M/c",
        &sum.overall.latency_mean_ms,
        exact,
        0.02,
    );
}

#[test]
fn a_hot_shard_is_the_bottleneck_and_unstable_though_the_pool_is_not() {
    // Weights 2:1:1 of 240 writes/s (320 requests/s) with one worker of
    // 10 ms per primary: the hot shard is offered 120/s (rho 1.2), the
    // others 60/s (0.6); the pool's mean, 0.8, would call it stable.
    let s = parse(&sharded(
        320.0,
        3,
        1,
        r#"shard_key = { write = [2, 1, 1] }"#,
        "",
    ));
    let loads = stacksim::analysis::offered_load(&s);
    assert!(
        (loads[0].utilization - 1.2).abs() < 1e-9,
        "the primary pool's offered utilization is its hottest shard's: {}",
        loads[0].utilization
    );
    let (sum, verdicts, bottleneck) = run_with_verdicts(&s);
    let mean_util = sum.pools[0].utilization.mean;
    assert!(
        mean_util < 0.95,
        "the pool's mean utilization stays below one: {mean_util}"
    );
    let v = verdicts.iter().find(|v| v.pool == 0).unwrap();
    assert!(
        matches!(v.stability, stacksim::analysis::Stability::Unstable { .. }),
        "{}",
        v.message
    );
    let b = bottleneck.expect("a bottleneck");
    assert!(b.label.contains("shard#0"), "{}", b.message);
    assert!(b.utilization > 0.97, "{}", b.message);
}

#[test]
fn a_shards_crash_fails_exactly_its_keys_writes() {
    // Shard 1 of three (weights 1:2:1, so half the writes) loses its
    // primary from 20 s to 120 s, no failover: during the crash, writes
    // to it fail, everything else is served.
    let s = parse(&sharded(
        200.0,
        3,
        4,
        r#"shard_key = [1, 2, 1]"#,
        r#"[[fault]]
at = "20s"
duration = "100s"
tier = "db"
shard = 1
role = "primary"
"#,
    ));
    let (reps, sum) = run(&s);
    let during = &sum.fault_phases[0][1];
    // Reads go to every shard's replica, up throughout.
    assert_eq!(sum.classes[0].failed, 0, "no read fails");
    // Every failed write is a write to shard 1: arriving with no primary,
    // or in service on it when it crashed (at most its 4 workers' worth).
    for (r, rep) in reps.iter().enumerate() {
        let by = |c: stacksim::stats::Cause| rep.classes[1].failed[c as usize];
        let failed: u64 = rep.classes[1].failed.iter().sum();
        let (no_primary, crash) = (
            by(stacksim::stats::Cause::NoPrimary),
            by(stacksim::stats::Cause::Crash),
        );
        assert_eq!(
            failed,
            no_primary + crash,
            "replication {r}: a write failed otherwise"
        );
        assert!(
            crash <= 4,
            "replication {r}: {crash} writes lost in the crash"
        );
        assert!(no_primary > 0, "replication {r}: no write failed");
    }
    // Writes are three quarters of the requests and half of them reach
    // shard 1: 37.5% of the requests arriving during the crash fail.
    assert_agrees(
        "failed share during the crash",
        &during.error_rate,
        0.375,
        0.05,
    );
    assert_eq!(sum.write_outages.iter().flatten().count(), reps.len());
    assert!(
        sum.write_outages
            .iter()
            .flatten()
            .all(|o| o.database == "db shard#1"),
        "the outage is shard 1's"
    );
}

#[test]
fn a_shards_failover_promotes_its_own_replica() {
    // Shard 2's primary crashes at 30 s; after detection and promotion
    // (5 s), its replica takes its writes; the other shards never notice.
    let s = parse(&sharded(
        200.0,
        3,
        4,
        r#"failover = { detection = "3s", promotion = "2s" }"#,
        r#"[[fault]]
at = "30s"
duration = "60s"
tier = "db"
shard = 2
role = "primary"
"#,
    ));
    let (_, sum) = run(&s);
    assert_agrees("write outage", &sum.write_outage_s, 5.0, 0.01);
    let failed: u64 = sum.classes[1].failed;
    assert!(failed > 0, "writes failed during detection and promotion");
    // 5 s of 50 writes/s to shard 2 (a third of 150): about 250 each run.
    let per_rep = failed as f64 / f64::from(s.simulation.replications);
    assert!(
        (150.0..350.0).contains(&per_rep),
        "{per_rep} failed writes per replication"
    );
}

#[test]
fn sharding_mistakes_are_located_with_hints() {
    use stacksim::scenario;
    let bad = |extra_db: &str, extra: &str| {
        let src = sharded(100.0, 1, 1, extra_db, extra).replace("shards = 1\n", "");
        match scenario::parse(&src, "bad.toml", None) {
            Ok(_) => panic!("should be rejected:\n{src}"),
            Err(e) => e.render(false),
        }
    };
    let e = bad(r#"shard_key = "uniform""#, "");
    assert!(
        e.contains("tier.db.shard_key") && e.contains("without `shards`"),
        "{e}"
    );
    let e = bad(
        "",
        r#"[[fault]]
at = "1s"
duration = "1s"
tier = "db"
shard = 0
"#,
    );
    assert!(
        e.contains("fault[0].shard") && e.contains("has no shards"),
        "{e}"
    );
    let src = sharded(
        100.0,
        3,
        1,
        r#"shard_key = { write = [1, 2], read = "zipf(x)" }"#,
        "",
    );
    let e = match scenario::parse(&src, "bad.toml", None) {
        Ok(_) => panic!("should be rejected"),
        Err(e) => e,
    };
    let keys: Vec<&str> = e.diagnostics.iter().map(|d| d.key.as_str()).collect();
    assert!(keys.contains(&"tier.db.shard_key.write"), "{keys:?}");
    assert!(keys.contains(&"tier.db.shard_key.read"), "{keys:?}");
    let text = e.render(false);
    assert!(text.contains("2 weights for 3 shards"), "{text}");
    assert!(text.contains("unknown shard key `zipf(x)`"), "{text}");
}

/// A database of one primary (`pworkers` workers; writes exp(`write`))
/// and `replicas` replicas, with `replication` and `extra` added.
#[allow(clippy::too_many_arguments)]
fn replicated(
    rate: f64,
    writes: f64,
    pworkers: u32,
    replicas: u32,
    repl: &str,
    extra: &str,
) -> String {
    format!(
        r#"name = "replicated"
[simulation]
duration = "300s"
warmup = "10s"
replications = 10
seed = 5
[workload]
rate = {rate}
classes = [ {{ name = "read", share = {reads} }}, {{ name = "write", share = {writes} }} ]
[[tier]]
name = "db"
kind = "database"
primary  = {{ workers = {pworkers}, service = {{ read = "exp(2ms)", write = "exp(4ms)" }} }}
replicas = {{ count = {replicas}, workers = 64, service = "exp(1ms)" }}
replication = {repl}
{extra}"#,
        reads = 1.0 - writes,
    )
}

#[test]
fn replication_lag_of_one_applier_is_an_mm1_sojourn_and_stale_reads_its_busy_share() {
    // 100 writes/s applied by one thread in exp(5ms): an M/M/1 at rho 0.5.
    // A write's lag (commit to applied) is its sojourn there, exponential
    // with rate mu - lambda = 100/s: mean 10 ms, p99 ln(100)/100 s. Reads
    // arrive as Poisson, so (PASTA) the share that finds a write unapplied
    // is the applier's busy share, rho.
    let s = parse(&replicated(
        200.0,
        0.5,
        16,
        1,
        r#"{ apply = "exp(5ms)" }"#,
        "",
    ));
    let (_, sum) = run(&s);
    let x = &sum.replication[0];
    assert_eq!(x.database, "db");
    assert_agrees("lag mean (ms)", &x.lag_mean_ms, 10.0, 0.02);
    assert_agrees("lag p99 (ms)", &x.lag_p99_ms, 10.0 * 100f64.ln(), 0.04);
    assert_agrees("stale share of reads", &x.stale_share[0], 0.5, 0.02);
    assert!(
        x.stale_share[1].mean.is_nan(),
        "no write is served by a replica"
    );
    assert_eq!(x.lost_writes.mean, 0.0);
}

#[test]
fn a_semi_synchronous_commit_waits_for_the_first_of_its_replicas() {
    // Two replicas, each receiving a write exp(0.2ms) after its commit:
    // the commit waits for the first, exp with mean 0.1 ms. A primary of
    // 64 workers at 20 writes/s never queues (M/G/inf): a write's latency
    // is its service plus that wait, 4.1 ms.
    let s = parse(&replicated(
        40.0,
        0.5,
        64,
        2,
        r#"{ apply = "exp(1ms)", receive = "exp(0.2ms)", semi_sync = true }"#,
        "",
    ));
    let (_, sum) = run(&s);
    let x = &sum.replication[0];
    assert_agrees("commit wait (ms)", &x.ack_mean_ms, 0.1, 0.03);
    assert_agrees(
        "write latency (ms)",
        &sum.classes[1].latency_mean_ms,
        4.1,
        0.02,
    );
    // The same without semi_sync: the commit does not wait.
    let s = parse(&replicated(
        40.0,
        0.5,
        64,
        2,
        r#"{ apply = "exp(1ms)", receive = "exp(0.2ms)" }"#,
        "",
    ));
    let (_, sum) = run(&s);
    assert!(sum.replication[0].ack_mean_ms.mean.is_nan());
    assert_agrees(
        "write latency, asynchronous (ms)",
        &sum.classes[1].latency_mean_ms,
        4.0,
        0.02,
    );
}

#[test]
fn a_failover_loses_the_writes_its_new_primary_had_not_received() {
    // Writes at 50/s reach the one replica 200 ms after their commit: at
    // the primary's crash, the writes of the last 200 ms are on their way,
    // Poisson with mean 10, and the promoted replica never gets them.
    let crash = |semi_sync: bool, replications: u32| {
        let mut s = parse(&replicated(
            100.0,
            0.5,
            16,
            1,
            &format!(
                r#"{{ apply = "exp(1ms)", receive = "const(200ms)", semi_sync = {semi_sync} }}"#
            ),
            r#"failover = { detection = "2s", promotion = "1s" }
[[fault]]
at = "100s"
duration = "300s"
tier = "db"
role = "primary"
"#,
        ));
        s.simulation.replications = replications;
        run(&s).1
    };
    let sum = crash(false, 40);
    let x = &sum.replication[0];
    assert_eq!(x.promotions.mean, 1.0, "one promotion each run");
    assert_agrees("writes lost at the promotion", &x.lost_writes, 10.0, 0.2);
    // With semi_sync the replica holds every acknowledged write.
    let sum = crash(true, 10);
    assert_eq!(
        sum.replication[0].lost_writes.mean, 0.0,
        "semi-sync loses none"
    );
}

#[test]
fn review_models_its_own_advice_for_a_single_primary() {
    // write-heavy: 360 writes/s at 12 ms on 4 connections (1.08 offered).
    // The same file with 2 and 4 shards halves and quarters each primary's
    // load; the option's scenario is what the key in the file gives.
    let s = shipped("scenarios/write-heavy.toml");
    let options = stacksim::analysis::write_scaling::write_options(&s);
    let shards: Vec<u32> = options.iter().map(|x| x.shards).collect();
    assert_eq!(shards, [1, 2, 4]);
    for (x, expect) in options.iter().zip([1.08, 0.54, 0.27]) {
        assert!(
            (x.primary_utilization - expect).abs() < 1e-9,
            "{}: {}",
            x.design,
            x.primary_utilization
        );
        assert!((x.primary_saturation_rps * expect - 600.0).abs() < 1e-6);
    }
    let text = std::fs::read_to_string(root().join("scenarios/write-heavy.toml")).unwrap();
    let from_file =
        parse(&text.replace("reads = \"replicas\"", "reads = \"replicas\"\nshards = 2"));
    assert_eq!(
        format!("{:?}", from_file.tiers),
        format!("{:?}", options[1].scenario.tiers),
        "the option is the file with `shards = 2`"
    );
    let o = stacksim(&["review", "scenarios/write-heavy.toml"]);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("write scaling of `db`"), "{out}");
    assert!(out.contains("2 shards") && out.contains("1,111"), "{out}");
    assert!(
        out.contains("[HIGH] single-primary") && out.contains("shards = 3"),
        "{out}"
    );
}

#[test]
fn a_hot_shard_is_linted_from_its_key_weights() {
    let s = parse(&sharded(
        100.0,
        3,
        4,
        r#"shard_key = { write = [2, 1, 1] }"#,
        "",
    ));
    let lints = stacksim::analysis::lints::lint(&s);
    let hot = lints
        .iter()
        .find(|l| l.id == "hot-shard")
        .expect("a hot-shard finding");
    assert!(hot.message.contains("shard#0 takes 50%"), "{}", hot.message);
    assert!(
        !lints.iter().any(|l| l.id == "write-ceiling"),
        "a sharded database has no single write ceiling"
    );
    // Zipf over many keys spreads the heat: no finding.
    let s = parse(&sharded(
        100.0,
        3,
        4,
        r#"shard_key = "zipf(0.8, keys = 100000)""#,
        "",
    ));
    assert!(
        !stacksim::analysis::lints::lint(&s)
            .iter()
            .any(|l| l.id == "hot-shard")
    );
}

#[test]
fn read_your_writes_sends_a_clients_reads_to_the_primary_for_a_while_after_its_write() {
    // 100 writes/s from 50 clients: each client commits as a Poisson
    // stream of 2/s (the departures of a primary that never queues, M/G/inf,
    // thinned), independent of its reads. A read within 100 ms of its
    // client's last commit goes to the primary: 1 - exp(-2 x 0.1) of them.
    let src = replicated(
        200.0,
        0.5,
        64,
        1,
        r#"{ apply = "exp(1ms)", read_your_writes = "100ms" }"#,
        "",
    )
    .replace("[workload]\n", "[workload]\nclients = 50\n");
    let s = parse(&src);
    let (_, sum) = run(&s);
    let x = &sum.replication[0];
    assert_agrees(
        "reads sent to the primary",
        &x.own_write_share,
        1.0 - (-0.2f64).exp(),
        0.02,
    );
    // The primary serves them: its arrivals are the writes and those reads.
    assert_agrees(
        "primary arrivals",
        &sum.pools[0].arrival_rps,
        100.0 + 100.0 * (1.0 - (-0.2f64).exp()),
        0.01,
    );
    // Without `clients` an open workload cannot say whose read it is.
    let e = match stacksim::scenario::parse(&src.replace("clients = 50\n", ""), "bad.toml", None) {
        Ok(_) => panic!("should be rejected"),
        Err(e) => e.render(false),
    };
    assert!(
        e.contains("tier.db.replication.read_your_writes") && e.contains("clients = 10000"),
        "{e}"
    );
}
