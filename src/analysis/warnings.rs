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
        for i in 0..t.pools[r].instances {
            if let (Some(a), Some(b)) = (
                super::machine_of(s, ti, p, 0),
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
