//! `stacksim review`: lints and an analytic capacity model of a scenario,
//! optionally beside the simulated figures.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_INVALID, EXIT_OK, SimFlags, plan_build, plan_init, progress};
use stacksim::analysis::lints::lint;
use stacksim::analysis::queueing::analytic_model;
use stacksim::analysis::write_scaling::write_options;
use stacksim::scenario::Override;

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
    let options = write_options(&s);
    let simulated = if a.simulate {
        let base = init.clone();
        let plan = match plan_build(init, a.quiet) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let bar = progress(
            u64::from(plan.scenario().simulation.replications),
            "replications",
            a.quiet,
        );
        let warmup = format!("{}ns", plan.scenario().simulation.warmup_ns());
        let r = plan.replicate(&|| bar.inc(1));
        bar.finish_and_clear();
        // Each write-scaling option: the same file with `shards = N` (and
        // the warm-up this run chose), simulated with the run's settings.
        let mut option_runs = Vec::new();
        for x in &options {
            if x.shards == 1 {
                option_runs.push(r.summary.clone());
                continue;
            }
            let flag = "(review's write scaling)";
            let more = [
                Override::from_flag(
                    flag,
                    &format!("tier.{}.shards", x.database),
                    &x.shards.to_string(),
                ),
                Override::from_flag(flag, "simulation.warmup", &warmup),
            ];
            let init = match base.with_overrides(&more) {
                Ok(i) => i,
                Err(e) => {
                    eprint!("{}", e.render(super::color()));
                    return EXIT_INVALID;
                }
            };
            let plan = match plan_build(init, true) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let n = plan.scenario().simulation.replications;
            let bar = progress(u64::from(n), &format!("{} replications", x.design), a.quiet);
            option_runs.push(plan.replicate(&|| bar.inc(1)).summary);
            bar.finish_and_clear();
        }
        Some((r.summary, r.bottleneck, r.settings, option_runs))
    } else {
        None
    };
    if a.json {
        let doc = serde_json::json!({
            "scenario": path,
            "lints": lints,
            "analytic": model,
            "simulated": simulated.as_ref().map(|(sum, b, settings, _)| serde_json::json!({
                "pools": sum.pools, "end_to_end_mean_ms": sum.overall.latency_mean_ms, "bottleneck": b,
                "settings": settings,
            })),
            "write_scaling": options.iter().enumerate().map(|(i, x)| {
                let sim = simulated.as_ref().and_then(|v| v.3.get(i));
                serde_json::json!({
                    "option": x,
                    "simulated": sim.map(|sum| serde_json::json!({
                        "end_to_end_p99_ms": sum.overall.latency_p99_ms,
                        "end_to_end_mean_ms": sum.overall.latency_mean_ms,
                        "primary_instances": sum.instances.iter().filter(|inst| inst.pool == x.primary_pool).collect::<Vec<_>>(),
                    })),
                })
            }).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return EXIT_OK;
    }
    let option_runs = simulated.as_ref().map(|x| x.3.as_slice());
    let simulated = simulated.as_ref().map(|(sum, b, _, _)| (sum, b.as_ref()));
    out!(
        "{}",
        stacksim::report::render_review(&s.name, &path, &lints, model.as_ref(), simulated)
    );
    out!(
        "{}",
        stacksim::report::render_write_options(&options, option_runs)
    );
    EXIT_OK
}
