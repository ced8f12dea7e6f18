//! `summary.json`: everything the table shows, with intervals, verdicts,
//! the bottleneck and provenance. No wall-clock values, so the same seed
//! gives the same bytes.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::RunReport;
use crate::scenario::{Access, Arrivals};
use crate::units::ns_to_s;

/// Builds the summary document.
pub fn summary_json(r: &RunReport<'_>) -> Value {
    let s = r.scenario;
    let sim = &s.simulation;
    let workload = match &s.arrivals {
        Arrivals::Poisson { rate_rps } => json!({ "type": "poisson", "rate_rps": rate_rps }),
        Arrivals::Schedule(p) => json!({
            "type": "schedule",
            "points": p.iter().map(|p| json!({ "at_s": ns_to_s(p.at_ns), "rate_rps": p.rate_rps, "ramp": p.ramp })).collect::<Vec<_>>(),
        }),
        Arrivals::Closed { users, think } => {
            json!({ "type": "closed", "users": users, "think_mean_ms": think.mean() / 1e6 })
        }
        Arrivals::Replay(rep) => json!({
            "type": "replay",
            "path": rep.path,
            "arrivals": rep.times_ns.len(),
        }),
    };
    let mut pools = Vec::new();
    for (p, load) in r.pool_rows() {
        let tier = &s.tiers[load.tier];
        let pool = &tier.pools[load.pool];
        let instances: Vec<Value> = r
            .summary
            .instances
            .iter()
            .filter(|i| i.pool == p)
            .map(|i| json!({ "index": i.index, "arrival_rps": i.arrival_rps, "utilization": i.utilization }))
            .collect();
        pools.push(json!({
            "label": load.label,
            "tier": tier.name,
            "kind": tier.kind.as_str(),
            "role": pool.role.as_str(),
            "instances": pool.instances,
            "workers_per_instance": pool.workers,
            "queue_per_instance": pool.queue,
            "hold": tier.hold,
            "balance_to_next": tier.balance.as_str(),
            "traffic": load.traffic,
            "offered_arrival_rps": load.arrival_rps,
            "offered_utilization": load.utilization,
            "stats": r.summary.pools[p],
            "per_instance": instances,
        }));
    }
    let mut overall = json!(r.summary.overall);
    merge(&mut overall, stability_of(r, None));
    let classes: Vec<Value> = s
        .classes
        .iter()
        .zip(&r.summary.classes)
        .enumerate()
        .map(|(ci, (c, cs))| {
            let mut v = json!({
                "name": c.name,
                "share": c.share,
                "access": if c.access == Access::Write { "write" } else { "read" },
                "route": c.route.iter().map(|st| s.tiers[st.tier].name.clone()).collect::<Vec<_>>(),
            });
            merge(&mut v, json!(cs));
            merge(&mut v, stability_of(r, Some(ci)));
            v
        })
        .collect();
    let mut v = json!({
        "stacksim_version": r.provenance.version,
        "scenario": {
            "name": s.name,
            "path": r.provenance.scenario_path,
            "seed": sim.seed,
            "replications": sim.replications,
            "duration_s": ns_to_s(sim.duration_ns),
            "warmup_s": ns_to_s(sim.warmup_ns()),
            "sample_every_s": ns_to_s(sim.sample_every_ns),
            "drain_s": ns_to_s(sim.drain_ns),
            "workload": workload,
        },
        "settings": r.settings,
        "method": {
            "analysis": "replication/deletion: independent replications, warm-up deleted, requests counted by arrival in the window",
            "interval": "95% Student-t across replications (percentiles: per replication, then the interval)",
            "replications": r.summary.replications,
        },
        "pools": pools,
        "end_to_end": { "classes": classes, "overall": overall },
        "hosts": r.scenario.hosts.iter().zip(&r.summary.hosts).map(|(h, s)| json!({
            "name": h.name, "machines": h.instances, "cores_each": h.cores,
            "utilization": s.utilization, "monitoring_share": s.monitoring, "per_machine_utilization": s.machines,
            "core_wait_ms": s.core_wait_ms,
        })).collect::<Vec<_>>(),
        "conservation": r.summary.conservation,
        "stopped_early": r.summary.stopped_early.iter().map(|(rep, o)| json!({
            "replication": rep, "at_s": o.at_ns as f64 / 1e9, "in_flight": o.in_flight,
            "arrived": o.arrived, "limit": o.limit,
        })).collect::<Vec<_>>(),
        "failure_causes": crate::stats::Cause::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "write_outage_s": r.summary.write_outage_s,
        "write_outages": r.summary.write_outages,
        "faults": r.summary.timelines,
        "verdicts": r.verdicts,
        "bottleneck": r.bottleneck,
        "events": r.summary.events,
        "resolved_scenario": s.document,
        "provenance": r.provenance,
    });
    // Scripted faults: the requests before, during and after each (absent
    // without one, so a scenario without faults writes what it did).
    if !r.summary.fault_phases.is_empty() {
        merge(
            &mut v,
            json!({"fault_phases": r.summary.fault_phases.iter().enumerate().map(|(i, ph)| json!({
                "fault": super::table::fault_label(r, i),
                "before": ph[0], "during": ph[1], "after": ph[2],
            })).collect::<Vec<_>>()}),
        );
    }
    if let (Some(c), Some(cap)) = (&r.summary.client, r.scenario.client.connections) {
        merge(
            &mut v,
            json!({"client": {
                "connections": cap.limit,
                "when_busy": if cap.refuse { "refuse" } else { "wait" },
                "summary": c,
            }}),
        );
    }
    if !r.summary.replication.is_empty() {
        merge(
            &mut v,
            json!({"replication": r.summary.replication.iter().map(|x| {
                let classes: serde_json::Map<String, Value> = r
                    .scenario
                    .classes
                    .iter()
                    .zip(&x.stale_share)
                    .map(|(c, e)| (c.name.clone(), json!(e)))
                    .collect();
                let ryw = r.scenario.tiers.iter().any(|t| {
                    t.name == x.database
                        && t.replication.as_ref().is_some_and(|p| p.read_your_writes_ns.is_some())
                });
                let mut one = json!({
                    "database": x.database,
                    "lag_mean_ms": x.lag_mean_ms,
                    "lag_p99_ms": x.lag_p99_ms,
                    "stale_read_share": x.stale_share_all,
                    "stale_read_share_by_class": classes,
                    "lost_writes": x.lost_writes,
                    "promotions": x.promotions,
                    "semi_sync_ack_mean_ms": x.ack_mean_ms,
                    "backlog_at_end": x.backlog_at_end,
                });
                if ryw {
                    merge(&mut one, json!({"read_your_writes_share": x.own_write_share}));
                }
                one
            }).collect::<Vec<_>>()}),
        );
    }
    if let Some([up, down]) = &r.summary.down_split {
        merge(
            &mut v,
            json!({"random_failure_states": {"every_instance_up": up, "any_instance_down": down}}),
        );
    }
    v
}

fn merge(a: &mut Value, b: Value) {
    if let (Value::Object(a), Value::Object(b)) = (a, b) {
        a.extend(b);
    }
}

/// Writes `summary.json`, pretty-printed, with a final newline.
pub fn write_summary_json(r: &RunReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &summary_json(r))?;
    w.write_all(b"\n")
}

/// `stable` and, when not, the `reason`: the unstable pools passed through.
fn stability_of(r: &RunReport<'_>, class: Option<usize>) -> Value {
    let through = r.unstable_through(class);
    if through.is_empty() {
        json!({ "stable": true })
    } else {
        json!({
            "stable": false,
            "reason": format!(
                "passes through unstable {}: its latency figures measure the run length, not the stack",
                through.join(", ")
            ),
        })
    }
}
