//! The terminal table: per pool, per class, the verdicts and the bottleneck.

use std::fmt::Write as _;

use super::RunReport;
use crate::analysis::Stability;
use crate::stats::{Cause, Estimate};
use crate::units::format_duration;

/// Formats `mean ± half-width` with decimals suited to the magnitude.
pub(crate) fn pm(e: &Estimate, scale: f64) -> String {
    let m = e.mean * scale;
    if !m.is_finite() {
        return "-".into();
    }
    if m == 0.0 && e.half_width.is_none_or(|h| h == 0.0) {
        return "0".into();
    }
    let d = decimals(m.abs().max(e.half_width.unwrap_or(0.0) * scale));
    let g = |v: f64| crate::units::grouped(&format!("{v:.d$}"));
    match e.half_width {
        Some(h) => format!("{} ± {}", g(m), g(h * scale)),
        None => g(m),
    }
}

use crate::units::{decimals, thousands as n};

/// The per-pool table, header first; instance rows follow their pool where
/// instances differ by more than 5 utilization points.
pub(crate) fn pool_table(r: &RunReport<'_>) -> Vec<Vec<String>> {
    let head = [
        "tier",
        "arrivals/s",
        "throughput/s",
        "util %",
        "queue",
        "wait ms",
        "p50 ms",
        "p99 ms",
        "drops/s",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|h| h.to_string()).collect()];
    for (p, load) in r.pool_rows() {
        let ps = &r.summary.pools[p];
        let unstable = r
            .verdicts
            .iter()
            .any(|v| v.pool == p && matches!(v.stability, Stability::Unstable { .. }));
        let mark = if unstable { " (unstable)" } else { "" };
        rows.push(vec![
            format!("{}{mark}", load.label),
            pm(&ps.arrival_rps, 1.0),
            pm(&ps.throughput_rps, 1.0),
            pm(&ps.utilization, 100.0),
            pm(&ps.queue_mean, 1.0),
            pm(&ps.wait_mean_ms, 1.0),
            pm(&ps.latency_p50_ms, 1.0),
            pm(&ps.latency_p99_ms, 1.0),
            pm(&ps.drops_rps, 1.0),
        ]);
        let inst: Vec<_> = r.summary.instances.iter().filter(|i| i.pool == p).collect();
        let (lo, hi) = inst
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
                (lo.min(i.utilization.mean), hi.max(i.utilization.mean))
            });
        if inst.len() > 1 && hi - lo > 0.05 {
            let tier = &r.scenario.tiers[load.tier];
            let per_shard = (tier.pools[load.pool].instances / tier.shards.max(1)).max(1) as usize;
            for i in inst {
                let mut row = vec![String::new(); 9];
                row[0] = match (tier.shards > 1, per_shard) {
                    (false, _) => format!("  #{}", i.index),
                    (true, 1) => format!("  shard#{}", i.index),
                    (true, n) => format!("  shard#{} #{}", i.index / n, i.index % n),
                };
                row[1] = pm(&i.arrival_rps, 1.0);
                row[3] = pm(&i.utilization, 100.0);
                rows.push(row);
            }
        }
    }
    rows
}

/// Host groups: cores and their utilization, header first; `None` without hosts.
/// Per component on a host: its CPU and off-core time per visit, the
/// figures `pidstat` or cgroup `cpu.stat` give per request, and its cap on
/// cores at once.
pub(crate) fn component_cpu_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    if r.scenario.hosts.is_empty() {
        return None;
    }
    let mut rows = vec![
        [
            "on a host",
            "host",
            "cpu ms/visit",
            "off-core ms/visit",
            "threads",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    for (p, load) in r.pool_rows() {
        let pool = &r.scenario.tiers[load.tier].pools[load.pool];
        let Some(h) = pool.host else {
            continue;
        };
        let ps = &r.summary.pools[p];
        rows.push(vec![
            load.label.clone(),
            r.scenario.hosts[h].name.clone(),
            pm(&ps.cpu_ms, 1.0),
            pm(&ps.off_core_ms, 1.0),
            pool.threads
                .map_or("a core per worker".into(), |t| t.to_string()),
        ]);
    }
    (rows.len() > 1).then_some(rows)
}

/// The tiers with a wake-up cost: which regime each is in at this load,
/// from every visit waking its thread or worker (low load, the most CPU per
/// visit) to most finding it running (the cost amortized).
pub(crate) fn wakeup_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    let mut rows = vec![
        [
            "wake-up cost",
            "wakeup ms",
            "visits that woke it %",
            "wake-up CPU ms/visit",
            "at low load",
            "regime",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (p, load) in r.pool_rows() {
        let pool = &r.scenario.tiers[load.tier].pools[load.pool];
        let (Some(w), Some(share)) = (pool.wakeup_ns, &r.summary.pools[p].wakeup_share) else {
            continue;
        };
        let w_ms = w as f64 / 1e6;
        let regime = if !share.mean.is_finite() {
            "no visit".to_string()
        } else if share.mean >= 0.9 {
            "low load: nearly every visit wakes it".to_string()
        } else {
            format!(
                "amortized: {:.0}% of visits find it running",
                (1.0 - share.mean) * 100.0
            )
        };
        rows.push(vec![
            load.label.clone(),
            format!("{w_ms:.3}"),
            pm(share, 100.0),
            pm(&share.scaled(w_ms), 1.0),
            format!("{w_ms:.3}"),
            regime,
        ]);
    }
    (rows.len() > 1).then_some(rows)
}

/// The tiers with random pauses: what the scenario asks and what the
/// window saw.
pub(crate) fn pause_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    let mut rows = vec![
        [
            "pauses",
            "every (mean)",
            "length (mean)",
            "slowdown",
            "paused %",
            "pauses/h",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (p, load) in r.pool_rows() {
        let pool = &r.scenario.tiers[load.tier].pools[load.pool];
        let ps = &r.summary.pools[p];
        let (Some(x), Some(share), Some(rate)) =
            (&pool.pauses, &ps.paused_share, &ps.pauses_per_hour)
        else {
            continue;
        };
        rows.push(vec![
            load.label.clone(),
            crate::units::format_duration(x.every.mean() as u64),
            crate::units::format_duration(x.length.mean() as u64),
            format!("{}", x.slowdown),
            pm(share, 100.0),
            pm(rate, 1.0),
        ]);
    }
    (rows.len() > 1).then_some(rows)
}

/// Replication per database tier that has it: its lag (commit to
/// applied), stale reads, writes lost at promotions; `None` without.
pub(crate) fn replication_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    if r.summary.replication.is_empty() {
        return None;
    }
    let semi = r
        .summary
        .replication
        .iter()
        .any(|x| x.ack_mean_ms.mean.is_finite());
    let ryw = r.scenario.tiers.iter().any(|t| {
        t.replication
            .as_ref()
            .is_some_and(|x| x.read_your_writes_ns.is_some())
    });
    let mut head = vec![
        "replication",
        "appliers",
        "lag mean ms",
        "lag p99 ms",
        "stale reads %",
        "lost writes",
        "backlog at end",
    ];
    if semi {
        head.push("commit waits ms");
    }
    if ryw {
        head.push("reads to primary (own writes) %");
    }
    let mut rows = vec![head.into_iter().map(String::from).collect::<Vec<_>>()];
    for x in &r.summary.replication {
        let Some(tier) = r.scenario.tiers.iter().find(|t| t.name == x.database) else {
            continue;
        };
        let Some(rep) = &tier.replication else {
            continue;
        };
        let stale = if rep.stale_after_ns == 0 {
            String::new()
        } else {
            format!(" (> {})", crate::units::format_duration(rep.stale_after_ns))
        };
        let mut row = vec![
            format!(
                "{}{}",
                x.database,
                if rep.semi_sync { " (semi-sync)" } else { "" }
            ),
            rep.appliers.to_string(),
            pm(&x.lag_mean_ms, 1.0),
            pm(&x.lag_p99_ms, 1.0),
            format!("{}{stale}", pm(&x.stale_share_all, 100.0)),
            pm(&x.lost_writes, 1.0),
            pm(&x.backlog_at_end, 1.0),
        ];
        if semi {
            row.push(pm(&x.ack_mean_ms, 1.0));
        }
        if ryw {
            row.push(if rep.read_your_writes_ns.is_some() {
                pm(&x.own_write_share, 100.0)
            } else {
                "-".into()
            });
        }
        rows.push(row);
    }
    (rows.len() > 1).then_some(rows)
}

pub(crate) fn host_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    if r.scenario.hosts.is_empty() {
        return None;
    }
    let mut rows = vec![
        [
            "host",
            "machines",
            "cores each",
            "cpu util %",
            "core wait ms",
            "monitoring %",
            "runs",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    let switches = r.summary.hosts.iter().any(|h| h.switch_share.is_some());
    if switches {
        rows[0].insert(6, "switch cpu %".into());
    }
    let paused = r.summary.hosts.iter().any(|h| h.paused_share.is_some());
    if paused {
        rows[0].insert(6, "paused %".into());
    }
    for (h, (def, hs)) in r.scenario.hosts.iter().zip(&r.summary.hosts).enumerate() {
        let runs: Vec<String> = r
            .scenario
            .tiers
            .iter()
            .flat_map(|t| {
                t.pools
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.host == Some(h) && p.instances > 0)
                    .map(move |(pi, _)| t.pool_label(pi))
            })
            .collect();
        rows.push(vec![
            def.name.clone(),
            def.instances.to_string(),
            match def.scheduling {
                crate::scenario::Scheduling::Fifo => def.cores.to_string(),
                crate::scenario::Scheduling::ProcessorSharing => format!("{} (shared)", def.cores),
                crate::scenario::Scheduling::Cfs(_) => format!("{} (cfs)", def.cores),
                crate::scenario::Scheduling::Eevdf { .. } => format!("{} (eevdf)", def.cores),
            },
            pm(&hs.utilization, 100.0),
            pm(&hs.core_wait_ms, 1.0),
            pm(&hs.monitoring, 100.0),
            runs.join(", "),
        ]);
        if switches {
            let row = rows.last_mut().expect("just pushed");
            row.insert(
                6,
                hs.switch_share
                    .as_ref()
                    .map_or("-".into(), |e| pm(e, 100.0)),
            );
        }
        if paused {
            let row = rows.last_mut().expect("just pushed");
            row.insert(
                6,
                hs.paused_share
                    .as_ref()
                    .map_or("-".into(), |e| pm(e, 100.0)),
            );
        }
        // Machines of a group differ when different components landed on them.
        let (lo, hi) = hs
            .machines
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
                (lo.min(e.mean), hi.max(e.mean))
            });
        if hs.machines.len() > 1 && hi - lo > 0.05 {
            for (m, e) in hs.machines.iter().enumerate() {
                rows.push(vec![
                    format!("  #{m}"),
                    String::new(),
                    String::new(),
                    pm(e, 100.0),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                for _ in 0..(usize::from(switches) + usize::from(paused)) {
                    rows.last_mut().expect("just pushed").push(String::new());
                }
            }
        }
    }
    Some(rows)
}

/// The end-to-end table, header first: each class (when there are several), then all.
pub(crate) fn class_table(r: &RunReport<'_>) -> Vec<Vec<String>> {
    let head = [
        "end to end",
        "offered/s",
        "throughput/s",
        "errors %",
        "mean ms",
        "p50 ms",
        "p90 ms",
        "p95 ms",
        "p99 ms",
        "p99.9 ms",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|h| h.to_string()).collect()];
    let classes = r
        .scenario
        .classes
        .iter()
        .map(|c| c.name.as_str())
        .zip(&r.summary.classes);
    let all = std::iter::once(("all", &r.summary.overall));
    let many = r.scenario.classes.len() > 1;
    for (i, (name, c)) in classes.filter(|_| many).chain(all).enumerate() {
        let which = (many && i < r.scenario.classes.len()).then_some(i);
        let mark = if r.unstable_through(which).is_empty() {
            ""
        } else {
            " (unstable)"
        };
        rows.push(vec![
            format!("{name}{mark}"),
            pm(&c.offered_rps, 1.0),
            pm(&c.throughput_rps, 1.0),
            pm(&c.error_rate, 100.0),
            pm(&c.latency_mean_ms, 1.0),
            pm(&c.latency_p50_ms, 1.0),
            pm(&c.latency_p90_ms, 1.0),
            pm(&c.latency_p95_ms, 1.0),
            pm(&c.latency_p99_ms, 1.0),
            pm(&c.latency_p999_ms, 1.0),
        ]);
    }
    rows
}

/// Availability and errors by cause, header first; `None` when nothing failed
/// and nobody retried.
pub(crate) fn failure_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    let all = &r.summary.overall;
    let retried = r.summary.conservation.attempts > r.summary.conservation.arrived;
    // Open when the window closed: beyond a stable stack's few in flight.
    let open = all.open_at_end * 1000 > all.arrived;
    if all.failed == 0 && !retried && !open && r.summary.timelines.iter().all(Vec::is_empty) {
        return None;
    }
    let causes: Vec<Cause> = Cause::ALL
        .iter()
        .copied()
        .filter(|c| all.failed_by_cause[c.index()] > 0)
        .collect();
    let mut head: Vec<String> = vec!["availability".into(), "available %".into()];
    if open {
        head.extend([
            "served by window end %".into(),
            "open at window end %".into(),
        ]);
    }
    head.push("failed %".into());
    head.extend(causes.iter().map(|c| format!("{} %", c.describe())));
    head.push("attempts/request".into());
    // The latency users saw: a failed request counts when its error came.
    let seen = all.failed > 0;
    if seen {
        head.extend(["seen p50 ms".into(), "seen p99 ms".into()]);
    }
    let mut rows = vec![head];
    let classes = r
        .scenario
        .classes
        .iter()
        .map(|c| c.name.as_str())
        .zip(&r.summary.classes);
    let many = r.scenario.classes.len() > 1;
    for (i, (name, c)) in classes
        .filter(|_| many)
        .chain(std::iter::once(("all", all)))
        .enumerate()
    {
        let which = (name != "all").then_some(i);
        let unstable = !r.unstable_through(which).is_empty();
        // An unstable class's drained availability counts requests served
        // long after any user gave up: marked, beside the honest figure.
        let mut row = vec![
            if unstable {
                format!("{name} (unstable)")
            } else {
                name.to_string()
            },
            // Without a drain (`drain = "0s"`) nothing was served after the
            // window: no mark.
            if unstable && r.scenario.simulation.drain_ns > 0 {
                format!("{} (drained)", pm(&c.availability, 100.0))
            } else {
                pm(&c.availability, 100.0)
            },
        ];
        if open {
            row.push(pm(&c.availability_at_window_end, 100.0));
            row.push(pm(&c.unfinished_at_window_end, 100.0));
        }
        row.push(pm(&c.error_rate, 100.0));
        row.extend(
            causes
                .iter()
                .map(|k| pm(&c.error_rate_by_cause[k.index()], 100.0)),
        );
        row.push(pm(&c.attempts_per_request, 1.0));
        if seen {
            row.push(pm(&c.seen_p50_ms, 1.0));
            row.push(pm(&c.seen_p99_ms, 1.0));
        }
        rows.push(row);
    }
    Some(rows)
}

/// The client side of a connection cap: how many arrivals waited for a
/// connection or were refused, and the latency from send (what the
/// stack's own logs measure; the class table's latency counts from the
/// arrival, as users see it).
pub(crate) fn client_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    let c = r.summary.client.as_ref()?;
    let cap = r.scenario.client.connections?;
    let head = format!(
        "client ({} conn., {})",
        cap.limit,
        if cap.refuse { "refuse" } else { "wait" }
    );
    Some(vec![
        vec![
            head,
            "arrivals/s".into(),
            "waited %".into(),
            "wait ms".into(),
            "wait p99 ms".into(),
            "refused %".into(),
            "still waiting %".into(),
            "sent p50 ms".into(),
            "p90 ms".into(),
            "p99 ms".into(),
        ],
        vec![
            "all".into(),
            pm(&c.arrival_rps, 1.0),
            pm(&c.waited_share, 100.0),
            pm(&c.wait_mean_ms, 1.0),
            pm(&c.wait_p99_ms, 1.0),
            pm(&c.refused_share, 100.0),
            pm(&c.waiting_at_end_share, 100.0),
            pm(&c.sent_latency_ms[0], 1.0),
            pm(&c.sent_latency_ms[1], 1.0),
            pm(&c.sent_latency_ms[2], 1.0),
        ],
    ])
}

/// What a scripted fault does, to what, and when: `crash of app#0 at 60s
/// for 60s`.
pub(crate) fn fault_label(r: &RunReport<'_>, i: usize) -> String {
    r.scenario.fault_label(i)
}

/// Per scripted fault, the requests that arrived before, during and after
/// it: what a reviewer asks of a failure.
pub(crate) fn fault_phase_table(r: &RunReport<'_>) -> Option<Vec<Vec<String>>> {
    let phases = &r.summary.fault_phases;
    if phases.is_empty() && r.summary.down_split.is_none() {
        return None;
    }
    let mut rows = vec![
        [
            "by fault phase",
            "arrived in",
            "offered/s",
            "available %",
            "failed %",
            "seen p50 ms",
            "seen p99 ms",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (i, ph) in phases.iter().enumerate() {
        rows.push(vec![fault_label(r, i)]);
        for (name, p) in ["before", "during", "after"].iter().zip(ph) {
            if p.is_empty() {
                rows.push(vec![format!("  {name}"), "outside the window".into()]);
                continue;
            }
            rows.push(vec![
                format!("  {name}"),
                format!("{:.0}-{:.0} s", p.start_s, p.end_s),
                pm(&p.offered_rps, 1.0),
                pm(&p.availability, 100.0),
                pm(&p.error_rate, 100.0),
                pm(&p.seen_p50_ms, 1.0),
                pm(&p.seen_p99_ms, 1.0),
            ]);
        }
    }
    if let Some(split) = &r.summary.down_split {
        rows.push(vec!["random failures".into()]);
        for (name, st) in DOWN_STATES.iter().zip(split) {
            let p = &st.requests;
            rows.push(vec![
                format!("  {name}"),
                format!("{}% of the time", pm(&st.time_share, 100.0)),
                pm(&p.offered_rps, 1.0),
                pm(&p.availability, 100.0),
                pm(&p.error_rate, 100.0),
                pm(&p.seen_p50_ms, 1.0),
                pm(&p.seen_p99_ms, 1.0),
            ]);
        }
    }
    let width = rows[0].len();
    for row in &mut rows {
        row.resize(width, String::new());
    }
    Some(rows)
}

/// The two states of a stack with random failures, as the table names
/// them (the order of `Summary::down_split`).
pub(crate) const DOWN_STATES: [&str; 2] = ["every instance up", "any instance down"];

/// The run's failures in one line, for the end of its output: a run that
/// failed requests ends on them, not on its stability.
pub(crate) fn failure_verdict(r: &RunReport<'_>) -> Option<String> {
    let all = &r.summary.overall;
    if all.failed == 0 {
        return None;
    }
    let failed = all.failed as f64 / all.arrived.max(1) as f64 * 100.0;
    let scripted = r
        .summary
        .fault_phases
        .iter()
        .enumerate()
        .flat_map(|(i, ph)| {
            ["before", "during", "after"]
                .into_iter()
                .zip(ph)
                .map(move |(n, p)| (format!("{n} {}", fault_label(r, i)), p))
        });
    let random = r
        .summary
        .down_split
        .iter()
        .flat_map(|s| DOWN_STATES.iter().zip(s))
        .map(|(n, s)| (format!("with {n}"), &s.requests));
    let worst = scripted
        .chain(random)
        .filter(|(_, p)| !p.is_empty() && p.availability.mean.is_finite())
        .min_by(|a, b| a.1.availability.mean.total_cmp(&b.1.availability.mean));
    Some(match worst {
        Some((name, p)) => format!(
            "failures: {failed:.1}% of requests failed; worst {name}: {}% available",
            pm(&p.availability, 100.0)
        ),
        None => format!("failures: {failed:.1}% of requests failed"),
    })
}

/// Lines on outages and wasted work, when there were any.
pub(crate) fn failure_lines(r: &RunReport<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let all = &r.summary.overall;
    let unfinished = all.unfinished();
    if all.failed > 0 || unfinished * 1000 > all.arrived {
        let share = |n: u64| n as f64 / all.arrived as f64 * 100.0;
        out.push(format!(
            "latency columns: completed requests only ({:.1}% of those offered; {:.1}% failed{}){}",
            share(all.completed),
            share(all.failed),
            if unfinished > 0 {
                format!(
                    ", {:.1}% unfinished when the run stopped",
                    share(unfinished)
                )
            } else {
                String::new()
            },
            if all.failed > 0 {
                "; \"seen\": the latency users saw, a failure counted when its error came"
            } else {
                ""
            }
        ));
    }
    let outage = &r.summary.write_outage_s;
    if r.summary.write_outages.iter().any(|o| !o.is_empty()) {
        // A sharded database's outage is one shard's: say which.
        let mut shards: Vec<&str> = r
            .summary
            .write_outages
            .iter()
            .flatten()
            .map(|o| o.database.as_str())
            .filter(|d| d.contains(" shard#"))
            .collect();
        shards.sort_unstable();
        shards.dedup();
        let on = if shards.is_empty() {
            String::new()
        } else {
            format!(" on {}", shards.join(", "))
        };
        out.push(format!(
            "write outage: no database primary{on} for {} s per replication (inside the window)",
            pm(outage, 1.0)
        ));
    }
    for (p, load) in r.pool_rows() {
        let ps = &r.summary.pools[p];
        if ps.down_fraction.mean > 0.0 {
            // A share of instance-time: with several instances, one down for
            // the whole window is 1/n of it.
            let pool = &r.scenario.tiers[load.tier].pools[load.pool];
            let n = pool.instances;
            // After a failover the role lives on a promoted replica: this
            // is the instance that began as the primary.
            let who = if pool.role == crate::scenario::Role::Primary {
                " (the instance that began as primary)"
            } else {
                ""
            };
            let of_what = if n > 1 {
                format!("of its {n} instances' time")
            } else {
                "of the time".to_string()
            };
            out.push(format!(
                "{}{who}: down {}% {of_what} (the window's), {} failures per replication",
                load.label,
                pm(&ps.down_fraction, 100.0),
                pm(&ps.failures, 1.0)
            ));
        }
        if ps.wasted_fraction.mean > 0.0 {
            out.push(format!(
                "{}: {}% of its busy time served requests already abandoned (wasted work)",
                load.label,
                pm(&ps.wasted_fraction, 100.0)
            ));
        }
    }
    out
}

/// One line saying what the run was.
pub(crate) fn run_line(r: &RunReport<'_>) -> String {
    let sim = &r.scenario.simulation;
    format!(
        "stacksim {} · {} · {} × {} {} after {} warm-up · seed {}",
        r.provenance.version,
        r.scenario.name,
        crate::units::count(sim.replications, "replication"),
        format_duration(sim.duration_ns),
        if r.summary.stopped_early.is_empty() {
            "observed"
        } else {
            "planned (stopped early)"
        },
        format_duration(sim.warmup_ns()),
        sim.seed
    )
}

/// The request accounting in one sentence.
pub(crate) fn conservation_line(r: &RunReport<'_>) -> String {
    let c = &r.summary.conservation;
    let all = &r.summary.overall;
    let mut line = format!(
        "requests: {} arrived = {} completed + {} failed + {} in flight at the end (all replications, warm-up included); {} attempts",
        n(c.arrived),
        n(c.completed),
        n(c.failed),
        n(c.in_flight),
        n(c.attempts)
    );
    if all.open_at_end * 1000 > all.arrived {
        let _ = write!(
            line,
            "; of the {} arriving in the window, {} were open when it closed ({} then completed and {} failed in the drain after it)",
            n(all.arrived),
            n(all.open_at_end),
            n(all.completed - all.completed_by_end),
            n(all
                .open_at_end
                .saturating_sub(all.completed - all.completed_by_end)
                .saturating_sub(all.in_flight)),
        );
    }
    line
}

/// Renders the whole terminal report.
pub fn render_table(r: &RunReport<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", run_line(r));
    for n in &r.provenance.notes {
        let _ = writeln!(out, "{n}");
    }
    let _ = writeln!(
        out,
        "every figure: mean ± 95% half-width across replications\n"
    );
    out.push_str(&grid(&pool_table(r)));
    out.push('\n');
    if let Some(t) = host_table(r) {
        out.push_str(&grid(&t));
        out.push('\n');
    }
    if let Some(t) = component_cpu_table(r) {
        out.push_str(&grid(&t));
        out.push('\n');
    }
    if let Some(t) = wakeup_table(r) {
        out.push_str(&grid(&t));
        out.push('\n');
    }
    if let Some(t) = pause_table(r) {
        out.push_str(&grid(&t));
        out.push('\n');
    }
    if let Some(t) = replication_table(r) {
        out.push_str(&grid(&t));
        out.push('\n');
    }
    out.push_str(&grid(&class_table(r)));
    if let Some(t) = client_table(r) {
        out.push('\n');
        out.push_str(&grid(&t));
    }
    if let Some(t) = failure_table(r) {
        out.push('\n');
        out.push_str(&grid(&t));
    }
    if let Some(t) = fault_phase_table(r) {
        out.push('\n');
        out.push_str(&grid(&t));
    }
    for line in failure_lines(r) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n{}\n", conservation_line(r));
    for v in r
        .verdicts
        .iter()
        .filter(|v| v.stability != Stability::Stable)
    {
        let _ = writeln!(out, "{}", v.message);
    }
    if r.verdicts.iter().all(|v| v.stability == Stability::Stable) {
        let _ = writeln!(
            out,
            "every tier is stable (offered utilization below 1, no growing backlog)"
        );
    }
    if let Some(b) = r.bottleneck {
        let _ = writeln!(out, "{}", b.message);
    }
    if let Some(v) = failure_verdict(r) {
        let _ = writeln!(out, "{v}");
    }
    out
}

/// Left-aligns the first column, right-aligns the rest.
pub(crate) fn grid(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_minus_formats_by_magnitude() {
        let e = |m, h| Estimate {
            mean: m,
            half_width: h,
            n: 10,
        };
        assert_eq!(pm(&e(600.12, Some(2.3)), 1.0), "600 ± 2");
        assert_eq!(pm(&e(0.4567, Some(0.0123)), 100.0), "45.7 ± 1.2");
        assert_eq!(pm(&e(3.456, None), 1.0), "3.46");
        assert_eq!(pm(&e(f64::NAN, None), 1.0), "-");
        assert_eq!(pm(&e(0.0, Some(0.0)), 1.0), "0");
    }
}
