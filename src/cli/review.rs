//! `stacksim review`: lints and an analytic capacity model of a scenario,
//! optionally beside the simulated figures.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_OK, SimFlags, plan_build, plan_init, progress};
use stacksim::analysis::lints::lint;
use stacksim::analysis::queueing::analytic_model;

#[derive(Args, Debug)]
pub(crate) struct ReviewArgs {
    /// Scenario file; the built-in reference scenario when omitted.
    file: Option<PathBuf>,
    /// Override a scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also simulate, and print the simulated figures beside the analytic ones.
    #[arg(long)]
    simulate: bool,
    #[command(flatten)]
    sim: SimFlags,
    /// Print the review as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn review(a: &ReviewArgs) -> u8 {
    let init = match plan_init(a.file.as_deref(), &a.set, &a.sim) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let path = init.input().path.clone();
    let s = init.scenario().clone();
    let lints = lint(&s);
    let model = analytic_model(&s);
    let simulated = if a.simulate {
        let plan = match plan_build(init, a.quiet) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let bar = progress(
            u64::from(plan.scenario().simulation.replications),
            "replications",
            a.quiet,
        );
        let r = plan.replicate(&|| bar.inc(1));
        bar.finish_and_clear();
        Some((r.summary, r.bottleneck, r.settings))
    } else {
        None
    };
    if a.json {
        let doc = serde_json::json!({
            "scenario": path,
            "lints": lints,
            "analytic": model,
            "simulated": simulated.as_ref().map(|(sum, b, settings)| serde_json::json!({
                "pools": sum.pools, "end_to_end_mean_ms": sum.overall.latency_mean_ms, "bottleneck": b,
                "settings": settings,
            })),
        });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return EXIT_OK;
    }
    let simulated = simulated.as_ref().map(|(sum, b, _)| (sum, b.as_ref()));
    out!(
        "{}",
        stacksim::report::render_review(&s.name, &path, &lints, model.as_ref(), simulated)
    );
    EXIT_OK
}
