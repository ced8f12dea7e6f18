//! `stacksim compare A B`: a paired run with common random numbers.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INVALID, EXIT_OK, SimFlags, invalid, plan_build, plan_init, progress};
use stacksim::stats::{Estimate, RepObs};

#[derive(Args, Debug)]
pub(crate) struct CompareArgs {
    /// The baseline scenario.
    a: PathBuf,
    /// The variant.
    b: PathBuf,
    /// Override a key in both (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    sim: SimFlags,
    /// Print the differences as JSON.
    #[arg(long)]
    json: bool,
}

type Metric = (&'static str, &'static str, fn(&RepObs) -> f64);

const METRICS: [Metric; 5] = [
    ("throughput", "requests/s", |r| {
        r.overall.finished_in_window as f64 / (r.window_ns as f64 / 1e9)
    }),
    ("mean", "ms", |r| r.overall.latency.mean_ns() / 1e6),
    ("p50", "ms", |r| r.overall.latency.quantile_ns(0.5) / 1e6),
    ("p99", "ms", |r| r.overall.latency.quantile_ns(0.99) / 1e6),
    ("errors", "%", |r| {
        100.0 * r.overall.failed_total() as f64 / r.overall.arrived.max(1) as f64
    }),
];

/// One metric's paired comparison.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Difference {
    metric: &'static str,
    unit: &'static str,
    a: Estimate,
    b: Estimate,
    /// B - A, paired by replication.
    difference: Estimate,
    /// (B - A) / A.
    relative: Option<f64>,
    relative_half_width: Option<f64>,
    significant: bool,
}

/// Paired differences of B against A, replication by replication.
pub(crate) fn differences(a: &[RepObs], b: &[RepObs]) -> Vec<Difference> {
    METRICS
        .iter()
        .map(|(metric, unit, f)| {
            let ea = Estimate::from_values(a.iter().map(f));
            let eb = Estimate::from_values(b.iter().map(f));
            let d = Estimate::from_values(a.iter().zip(b).map(|(x, y)| f(y) - f(x)));
            let rel = (ea.mean.abs() > 0.0).then(|| d.mean / ea.mean);
            let rel_hw = d.half_width.zip(rel).map(|(h, _)| h / ea.mean.abs());
            let significant = d.half_width.is_some_and(|h| d.mean.abs() > h) && d.mean != 0.0;
            Difference {
                metric,
                unit,
                a: ea,
                b: eb,
                difference: d,
                relative: rel,
                relative_half_width: rel_hw,
                significant,
            }
        })
        .collect()
}

/// "B: p99 38% lower (±4%), throughput unchanged".
pub(crate) fn verdict(diffs: &[Difference]) -> String {
    let parts: Vec<String> = diffs
        .iter()
        .map(|d| match (d.significant, d.relative) {
            (true, Some(r)) => format!(
                "{} {:.1}% {} (±{:.1}%)",
                d.metric,
                r.abs() * 100.0,
                if r < 0.0 { "lower" } else { "higher" },
                d.relative_half_width.unwrap_or(0.0) * 100.0
            ),
            (true, None) => format!("{} {:+.3} {}", d.metric, d.difference.mean, d.unit),
            _ => format!("{} unchanged", d.metric),
        })
        .collect();
    if diffs.iter().all(|d| !d.significant) {
        format!("B: no difference ({})", parts.join(", "))
    } else {
        format!("B: {}", parts.join(", "))
    }
}

pub(crate) fn compare(args: &CompareArgs) -> u8 {
    let init_a = match plan_init(Some(&args.a), &args.set, &args.sim) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Pairing needs the same replications, seed and run length: B runs with A's.
    let init_b = match plan_init(Some(&args.b), &args.set, &SimFlags::default())
        .and_then(|b| b.with_simulation_of(&init_a).map_err(|e| invalid(&e)))
    {
        Ok(x) => x,
        Err(code) => return code,
    };
    let n = init_a.scenario().simulation.replications;
    let seed = init_a.scenario().simulation.seed;
    if n < 2 {
        eprintln!("error: a paired comparison needs at least 2 replications");
        return EXIT_INVALID;
    }
    let bar = progress(2 * u64::from(n), "replications", args.json);
    let mut runs = Vec::new();
    for init in [init_a, init_b] {
        match plan_build(init, args.json) {
            Ok(plan) => runs.push(plan.replicate(&|| bar.inc(1))),
            Err(code) => return code,
        }
    }
    bar.finish_and_clear();
    let diffs = differences(&runs[0].observations, &runs[1].observations);
    if args.json {
        let doc = serde_json::json!({ "a": args.a, "b": args.b, "replications": n, "seed": seed, "settings": { "a": runs[0].settings, "b": runs[1].settings }, "differences": diffs, "verdict": verdict(&diffs) });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return EXIT_OK;
    }
    outln!(
        "A = {} , B = {} ({} paired replications, seed {}, common random numbers)",
        args.a.display(),
        args.b.display(),
        n,
        seed
    );
    for d in &diffs {
        outln!(
            "  {:<10} A {:>14}  B {:>14}  B - A {:>16} {}",
            d.metric,
            fmt(&d.a),
            fmt(&d.b),
            fmt(&d.difference),
            d.unit
        );
    }
    outln!("{}", verdict(&diffs));
    EXIT_OK
}

fn fmt(e: &Estimate) -> String {
    match e.half_width {
        Some(h) => format!("{:.3} ± {:.3}", e.mean, h),
        None => format!("{:.3}", e.mean),
    }
}
