//! `stacksim compare A B`: a paired run with common random numbers.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INVALID, EXIT_OK, SimFlags, invalid, plan_build, plan_init, progress};
use stacksim::plan::compare::{differences, verdict};
use stacksim::stats::Estimate;

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
    super::warn_settings(&init_a, args.json);
    super::warn_settings(&init_b, args.json);
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
