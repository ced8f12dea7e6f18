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
