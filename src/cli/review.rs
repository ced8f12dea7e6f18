//! `stacksim review`: lints and an analytic capacity model of a scenario,
//! optionally beside the simulated figures.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_OK, SimFlags, plan_build, plan_init, progress};
use stacksim::analysis::lints::{Severity, lint};
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
}

fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "unstable".into()
    }
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
        let plan = match plan_build(init, false) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let bar = progress(
            u64::from(plan.scenario().simulation.replications),
            "replications",
            false,
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
    outln!("review of {} ({path})\n", s.name);
    if lints.is_empty() {
        outln!("lints: none");
    }
    for l in &lints {
        let sev = match l.severity {
            Severity::High => "HIGH",
            Severity::Warning => "warn",
            Severity::Info => "info",
        };
        outln!("[{sev}] {}: {}\n       fix: {}", l.id, l.message, l.fix);
    }
    let Some(m) = model else {
        outln!("\nanalytic model: not available for closed workloads");
        return EXIT_OK;
    };
    outln!(
        "\nanalytic model (traffic equations, M/M/c with Erlang C per instance, Allen-Cunneen for non-exponential service):"
    );
    let mut rows = vec![vec![
        "tier".to_string(),
        "offered util %".into(),
        "P(wait)".into(),
        "wait ms".into(),
        "saturates at req/s".into(),
    ]];
    if simulated.is_some() {
        rows[0].extend(["simulated util %".to_string(), "simulated wait ms".into()]);
    }
    for (p, pm) in &m.pools {
        let mut row = vec![
            pm.label.clone(),
            format!("{:.1}", pm.utilization * 100.0),
            if pm.wait_probability.is_finite() {
                format!("{:.3}", pm.wait_probability)
            } else {
                "1".into()
            },
            ms(pm.wait_ms),
            format!("{:.0}", pm.saturation_rps),
        ];
        if let Some((sum, _, _)) = &simulated {
            let ps = &sum.pools[*p];
            row.push(format!(
                "{:.1} ± {:.1}",
                ps.utilization.mean * 100.0,
                ps.utilization.half_width.unwrap_or(0.0) * 100.0
            ));
            row.push(format!(
                "{:.2} ± {:.2}",
                ps.wait_mean_ms.mean,
                ps.wait_mean_ms.half_width.unwrap_or(0.0)
            ));
        }
        rows.push(row);
    }
    // Machines: CPU, monitoring included, and the M/M/c wait for a core.
    for mm in &m.machines {
        let mut row = vec![
            format!("{} cpu", mm.label),
            format!("{:.1}", mm.utilization * 100.0),
            "-".into(),
            ms(mm.core_wait_ms),
            format!("{:.0}", mm.saturation_rps),
        ];
        if let Some((sum, _, _)) = &simulated {
            let e = sum
                .hosts
                .get(mm.group)
                .and_then(|h| h.machines.get(mm.machine as usize));
            row.push(e.map_or("-".into(), |e| {
                format!(
                    "{:.1} ± {:.1}",
                    e.mean * 100.0,
                    e.half_width.unwrap_or(0.0) * 100.0
                )
            }));
            // Simulated core waits are per host group, in the host table.
            row.push("-".into());
        }
        rows.push(row);
    }
    out!("{}", stacksim::report::text_grid(&rows));
    outln!(
        "bottleneck (utilization law): {}; the stack saturates at {:.0} requests/s",
        m.bottleneck.as_deref().unwrap_or("-"),
        m.max_throughput_rps
    );
    if m.machines.is_empty() {
        outln!("end-to-end mean (analytic): {} ms", ms(m.end_to_end_ms));
    } else {
        outln!(
            "end-to-end mean (analytic): {} ms without waiting for cores, {} ms with each machine's cores as an M/M/c (the first a lower, the second usually an upper estimate)",
            ms(m.end_to_end_ms),
            ms(m.end_to_end_with_cores_ms)
        );
    }
    if let Some((sum, b, _)) = &simulated {
        let e = sum.overall.latency_mean_ms;
        outln!(
            "end-to-end mean (simulated): {:.2} ± {:.2} ms",
            e.mean,
            e.half_width.unwrap_or(0.0)
        );
        if let Some(b) = b {
            outln!(
                "bottleneck (simulated): {}",
                b.message.trim_start_matches("bottleneck: ")
            );
        }
        outln!(
            "where they differ, look for holding tiers (workers wait on the tiers below), bounded queues (drops), non-random balancing, failures and closed loops, which the model leaves out, and shared cores, which it brackets"
        );
    }
    EXIT_OK
}
