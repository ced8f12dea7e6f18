//! Settings that are valid but probably not what the user meant, found
//! before anything runs: scripted faults the observed window cannot see, a
//! warm-up that deletes most of the run, `hold` with nothing below, a
//! workload that brings nothing, a replica on its primary's machine.
//! `check` prints them as notes; `run`, `sweep`, `capacity` and `compare`
//! as warnings, on the scenario after every flag (so a `--duration` that
//! moves the window is seen).

use crate::scenario::{FaultKind, FaultTarget, Kind, Role, Scenario};
use crate::units::format_duration as d;

/// Every warning for `s`, in the scenario's order.
pub fn warnings(s: &Scenario) -> Vec<String> {
    let mut out = s.override_notes.clone();
    faults_outside_the_window(s, &mut out);
    let sim = &s.simulation;
    let warmup = sim.warmup_ns();
    if warmup > sim.duration_ns {
        out.push(format!(
            "the warm-up ({}) is longer than the observed run ({}): most of each replication is deleted; shorten `warmup` or lengthen `duration`",
            d(warmup),
            d(sim.duration_ns)
        ));
    }
    if s.arrivals
        .mean_rate(warmup, sim.window_end_ns())
        .is_some_and(|r| r <= 0.0)
    {
        out.push(format!(
            "the workload brings no requests between {} and {}, the observed window: every figure will be empty",
            d(warmup),
            d(sim.window_end_ns())
        ));
    }
    for c in &s.classes {
        if let Some(last) = c.route.last()
            && s.tiers[last.tier].hold
        {
            out.push(format!(
                "`{}` has hold = true but is the last tier of class `{}`'s route: there is nothing below to wait on, so hold does nothing there",
                s.tiers[last.tier].name, c.name
            ));
        }
    }
    for h in &s.hosts {
        if let Some(m) = &h.monitoring {
            let cores = m.cost.mean() / m.interval_ns as f64 + h.background_cores;
            if cores >= f64::from(h.cores) {
                out.push(format!(
                    "host `{}`: its monitoring agent and background need {cores:.2} of its {} cores: no CPU is left for requests",
                    h.name, h.cores
                ));
            }
        }
    }
    for (tier, i, machine) in replicas_beside_primary(s) {
        out.push(format!(
            "`{tier}` replica#{i} runs on {machine}, the primary's machine: losing that machine loses both, and they compete for its cores"
        ));
    }
    for u in uneven_placements(s) {
        out.push(u.message());
    }
    out
}

/// Scripted faults wholly or partly outside `[warm-up end, run end)`.
fn faults_outside_the_window(s: &Scenario, out: &mut Vec<String>) {
    let (start, end) = (s.simulation.warmup_ns(), s.simulation.window_end_ns());
    for (i, f) in s.faults.iter().enumerate() {
        let what = match f.target {
            FaultTarget::Host { group, .. } => format!("host `{}`", s.hosts[group].name),
            _ => format!("`{}`", s.tiers[f.tier].name),
        };
        let kind = match f.kind {
            FaultKind::Down => "down",
            FaultKind::Slow(_) => "slow",
        };
        let stop = f.at_ns.saturating_add(f.duration_ns);
        let name = format!(
            "fault {i} ({what} {kind} at {} for {})",
            d(f.at_ns),
            d(f.duration_ns)
        );
        let message = if f.at_ns >= end {
            format!(
                "{name} starts after the run ends at {}: it never happens",
                d(end)
            )
        } else if stop <= start {
            format!(
                "{name} ends within the warm-up (the first {}), which is deleted: no figure shows it",
                d(start)
            )
        } else if f.at_ns < start {
            format!(
                "{name} starts within the warm-up (the first {}): only its last {} is observed",
                d(start),
                d(stop - start)
            )
        } else if stop > end {
            format!(
                "{name} outlasts the run, which ends at {}: only its first {} is observed",
                d(end),
                d(end - f.at_ns)
            )
        } else {
            continue;
        };
        out.push(message);
    }
}

/// Pools whose instances are dealt unevenly over their host group's
/// machines: some machine runs more of them than another.
pub fn uneven_placements(s: &Scenario) -> Vec<UnevenPlacement> {
    let mut out = Vec::new();
    for (ti, t) in s.tiers.iter().enumerate() {
        for (pi, p) in t.pools.iter().enumerate() {
            let Some(g) = p.host else { continue };
            let machines = s.hosts[g].instances.max(1);
            if p.instances <= 1 || machines <= 1 {
                continue;
            }
            let mut per = vec![0u32; machines as usize];
            for i in 0..p.instances {
                if let Some((_, m)) = super::machine_of(s, ti, pi, i) {
                    per[m as usize] += 1;
                }
            }
            let (max, min) = (
                per.iter().copied().max().unwrap_or(0),
                per.iter().copied().min().unwrap_or(0),
            );
            if max > min && max > 1 {
                let busiest = per.iter().position(|&n| n == max).unwrap_or(0);
                out.push(UnevenPlacement {
                    pool: t.pool_label(pi),
                    instances: p.instances,
                    host: s.hosts[g].name.clone(),
                    machines,
                    busiest: super::machine_label(&s.hosts[g].name, machines, busiest),
                    most: max,
                    least: min,
                });
            }
        }
    }
    out
}

/// A pool whose instances are dealt unevenly over its host group's
/// machines (instances go round the machines in turn).
#[derive(Clone, Debug, PartialEq)]
pub struct UnevenPlacement {
    /// The pool (`web`, `db replicas`).
    pub pool: String,
    /// Its instances.
    pub instances: u32,
    /// The host group, and its machines.
    pub host: String,
    /// Machines in the group.
    pub machines: u32,
    /// A machine that runs the most of them (`host server#0`).
    pub busiest: String,
    /// The most and the fewest instances on one machine.
    pub most: u32,
    /// The fewest.
    pub least: u32,
}

impl UnevenPlacement {
    /// One sentence.
    pub fn message(&self) -> String {
        format!(
            "`{}`: {} instances on the {} machines of `{}` run {} on {} and {} on others: the balancer spreads requests over instances, not machines, so that machine carries more of the load and saturates first: more instances can make latency worse",
            self.pool,
            self.instances,
            self.machines,
            self.host,
            self.most,
            self.busiest,
            self.least
        )
    }
}

/// Database replicas placed on their primary's machine: `(tier, replica,
/// machine label)`.
pub fn replicas_beside_primary(s: &Scenario) -> Vec<(String, u32, String)> {
    let mut out = Vec::new();
    for (ti, t) in s.tiers.iter().enumerate() {
        if t.kind != Kind::Database {
            continue;
        }
        let (Some(p), Some(r)) = (
            t.pools.iter().position(|p| p.role == Role::Primary),
            t.pools.iter().position(|p| p.role == Role::Replicas),
        ) else {
            continue;
        };
        let per_shard = (t.pools[r].instances / t.shards.max(1)).max(1);
        for i in 0..t.pools[r].instances {
            if let (Some(a), Some(b)) = (
                super::machine_of(s, ti, p, i / per_shard),
                super::machine_of(s, ti, r, i),
            ) && a == b
            {
                let h = &s.hosts[a.0];
                out.push((
                    t.name.clone(),
                    i,
                    super::machine_label(&h.name, h.instances, a.1 as usize),
                ));
            }
        }
    }
    out
}
