//! `stacksim review` as text: the lints, the analytic model, and the
//! simulated figures beside it when there are any.

use std::fmt::Write as _;

use crate::analysis::Bottleneck;
use crate::analysis::lints::{Lint, Severity};
use crate::analysis::queueing::AnalyticModel;
use crate::stats::Summary;

macro_rules! w {
    ($o:expr, $($t:tt)*) => {{
        let _ = writeln!($o, $($t)*);
    }};
}

macro_rules! wr {
    ($o:expr, $($t:tt)*) => {{
        let _ = write!($o, $($t)*);
    }};
}

fn ms(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "unstable".into()
    }
}

/// The pools with a wake-up cost: their CPU per visit at this load against
/// low load, and the regime.
pub(crate) fn demand_rows(m: &AnalyticModel) -> Option<Vec<Vec<String>>> {
    let mut rows = vec![
        [
            "tier",
            "wakeup ms",
            "visits that wake it %",
            "CPU ms/visit",
            "at low load",
            "regime",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (_, pm) in &m.pools {
        let Some(d) = &pm.demand else {
            continue;
        };
        rows.push(vec![
            pm.label.clone(),
            format!("{:.3}", d.wakeup_ms),
            format!("{:.1}", d.wake_share * 100.0),
            format!("{:.3}", d.cpu_ms_per_visit),
            format!("{:.3}", d.low_load_cpu_ms_per_visit),
            d.regime(),
        ]);
    }
    (rows.len() > 1).then_some(rows)
}

/// The review of scenario `name` read from `path`.
pub fn render_review(
    name: &str,
    path: &str,
    lints: &[Lint],
    model: Option<&AnalyticModel>,
    simulated: Option<(&Summary, Option<&Bottleneck>)>,
) -> String {
    let mut o = String::new();
    w!(o, "review of {} ({path})\n", name);
    if lints.is_empty() {
        w!(o, "lints: none");
    }
    for l in lints {
        let sev = match l.severity {
            Severity::High => "HIGH",
            Severity::Warning => "warn",
            Severity::Info => "info",
        };
        w!(o, "[{sev}] {}: {}\n       fix: {}", l.id, l.message, l.fix);
    }
    let Some(m) = model else {
        w!(o, "\nanalytic model: not available for closed workloads");
        return o;
    };
    w!(
        o,
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
            crate::units::whole(pm.saturation_rps),
        ];
        if let Some((sum, _)) = simulated {
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
            crate::units::whole(mm.saturation_rps),
        ];
        if let Some((sum, _)) = simulated {
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
    wr!(o, "{}", super::text_grid(&rows));
    if let Some(t) = demand_rows(m) {
        w!(
            o,
            "CPU per visit at this load (wake-up costs, Erlang C for the share of visits that wake a thread or worker):"
        );
        wr!(o, "{}", super::text_grid(&t));
    }
    w!(
        o,
        "bottleneck (utilization law): {}; the stack saturates at {} requests/s",
        m.bottleneck.as_deref().unwrap_or("-"),
        crate::units::whole(m.max_throughput_rps)
    );
    if m.machines.is_empty() {
        w!(o, "end-to-end mean (analytic): {} ms", ms(m.end_to_end_ms));
    } else {
        let ps = m
            .machines
            .iter()
            .filter(|x| {
                matches!(
                    x.scheduling,
                    crate::scenario::Scheduling::ProcessorSharing
                        | crate::scenario::Scheduling::Eevdf { .. }
                )
            })
            .count();
        for x in m.machines.iter().filter(|x| !x.tier_waits.is_empty()) {
            let waits: Vec<String> = x
                .tier_waits
                .iter()
                .map(|(label, w)| format!("{label} {} ms", ms(*w)))
                .collect();
            w!(
                o,
                "{} cores under the fair scheduler (scheduling = \"cfs\"), wait per burst, shortest bursts first as preemptive priority: {}",
                x.label,
                waits.join(", ")
            );
        }
        let cfs = m
            .machines
            .iter()
            .filter(|x| !x.tier_waits.is_empty())
            .count();
        let n = m.machines.len();
        if cfs > 0 {
            w!(
                o,
                "cores: the fair scheduler on {}{}; the model takes its cores as preemptive priority by burst (waits above){}",
                if cfs == n {
                    "every machine".to_string()
                } else {
                    format!("{cfs} of {n} machines")
                },
                match (ps, n - cfs - ps) {
                    (0, 0) => String::new(),
                    (0, _) => ", FIFO pools on the rest".to_string(),
                    (p, 0) => format!(", processor sharing or EEVDF on {p}"),
                    (p, f) => format!(", processor sharing or EEVDF on {p}, FIFO pools on {f}"),
                },
                if cfs < n {
                    ", the others' as an M/M/c"
                } else {
                    ""
                }
            );
        } else {
            w!(
                o,
                "cores: {}; the model takes each machine's cores as an M/M/c, whose mean wait processor sharing keeps for exponential bursts (not its tails)",
                match ps {
                    0 => "FIFO pools on every machine, as simulated".to_string(),
                    p if p == n =>
                        "processor sharing on every machine (scheduling = \"ps\", or EEVDF, which behaves as it)".to_string(),
                    p => format!("processor sharing on {p} of {n} machines, FIFO pools on the rest"),
                }
            );
        }
        w!(
            o,
            "end-to-end mean (analytic): {} ms without waiting for cores, {} ms with {} (the first a lower, the second usually an upper estimate)",
            ms(m.end_to_end_ms),
            ms(m.end_to_end_with_cores_ms),
            if cfs > 0 {
                "each machine's cores as above"
            } else {
                "each machine's cores as an M/M/c"
            }
        );
    }
    if let Some((sum, b)) = simulated {
        let e = sum.overall.latency_mean_ms;
        w!(
            o,
            "end-to-end mean (simulated): {:.2} ± {:.2} ms",
            e.mean,
            e.half_width.unwrap_or(0.0)
        );
        if let Some(b) = b {
            w!(
                o,
                "bottleneck (simulated): {}",
                b.message.trim_start_matches("bottleneck: ")
            );
        }
        w!(
            o,
            "where they differ, look for holding tiers (workers wait on the tiers below), bounded queues (drops), non-random balancing, failures and closed loops, which the model leaves out, and shared cores, which it brackets"
        );
    }
    o
}

/// The single-primary finding's advice, modelled: each database's writes
/// on one primary beside 2 and 4 shards, analytic, and simulated (one
/// summary per option, in order) when given.
pub fn render_write_options(
    options: &[crate::analysis::write_scaling::WriteOption],
    simulated: Option<&[Summary]>,
) -> String {
    let mut o = String::new();
    if options.is_empty() {
        return o;
    }
    let mut rows = vec![
        [
            "design",
            "primary util %",
            "primaries saturate at req/s",
            "stack saturates at req/s",
            "first to saturate",
            "mean ms",
        ]
        .map(String::from)
        .to_vec(),
    ];
    if simulated.is_some() {
        rows[0].extend([
            "simulated busiest primary util %".into(),
            "simulated p99 ms".into(),
        ]);
    }
    let mut db = "";
    for (i, x) in options.iter().enumerate() {
        if x.database != db {
            db = &x.database;
            if rows.len() > 1 {
                wr!(o, "{}", super::text_grid(&rows));
                rows.truncate(1);
            }
            w!(
                o,
                "\nwrite scaling of `{db}` (the same scenario with `shards = N`, keys uniform; analytic{}):",
                if simulated.is_some() {
                    ", then simulated"
                } else {
                    "; --simulate to confirm"
                }
            );
        }
        let mut row = vec![
            x.design.clone(),
            format!("{:.1}", x.primary_utilization * 100.0),
            crate::units::whole(x.primary_saturation_rps),
            crate::units::whole(x.stack_saturation_rps),
            x.bottleneck.clone().unwrap_or_else(|| "-".into()),
            ms(x.end_to_end_ms),
        ];
        if let Some(sum) = simulated.and_then(|v| v.get(i)) {
            let busiest = sum
                .instances
                .iter()
                .filter(|inst| inst.pool == x.primary_pool)
                .max_by(|a, b| a.utilization.mean.total_cmp(&b.utilization.mean));
            row.push(busiest.map_or("-".into(), |b| {
                format!(
                    "{:.1} ± {:.1}",
                    b.utilization.mean * 100.0,
                    b.utilization.half_width.unwrap_or(0.0) * 100.0
                )
            }));
            let p99 = &sum.overall.latency_p99_ms;
            row.push(format!(
                "{:.1} ± {:.1}",
                p99.mean,
                p99.half_width.unwrap_or(0.0)
            ));
        }
        rows.push(row);
    }
    wr!(o, "{}", super::text_grid(&rows));
    w!(
        o,
        "shards multiply primaries (and their replicas and machines' load); they do not help a stack whose first saturation is elsewhere, and a request that needs several shards' keys is not modelled by this table"
    );
    o
}
