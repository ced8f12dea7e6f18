//! The machines and their CPU: one estimator for every kind of input.
//!
//! Each CPU counter is a component on a machine (a `host` column, a file
//! per machine, `--host`; one unnamed machine when nothing says). Its line
//! against the requests its tier served ([`regress`](super::regress)) gives
//! CPU per request and background; the machines become the scenario's
//! `[[host]]` groups (machines running the same tiers with the same cores
//! form one group of several), and each tier lands on the group its
//! processes ran on.

use std::collections::{BTreeMap, BTreeSet};

use super::build::{ComponentCpu, IdleCpu, Sourced, check, read};
use super::cpu::CpuSeries;
use super::observe::Activity;
use super::regress::{CpuLine, cpu_line};
use super::time::NS;

/// The name of the machine when the counters do not say.
pub const ONE_MACHINE: &str = "server";

/// One `[[host]]` group of the calibrated scenario.
#[derive(Debug, Clone)]
pub struct HostCal {
    /// Its name in the scenario.
    pub name: String,
    /// The machines in it as the counters name them; empty for the one
    /// unnamed machine.
    pub machines: Vec<String>,
    /// Cores per machine.
    pub cores: Sourced<u32>,
    /// Background cores per machine that compete with requests.
    pub background: Option<Sourced<f64>>,
    /// Background cores per machine that yield to requests.
    pub idle_background: Option<Sourced<f64>>,
    /// CPU per request entering the stack of components no log covers.
    pub off_path_s: Option<Sourced<f64>>,
    /// Tiers with a component on these machines, in tier order.
    pub tiers: Vec<String>,
}

/// What the windows hold that the estimator needs.
pub struct WindowLoad<'a> {
    /// Full windows' indices.
    pub keys: &'a [i64],
    /// Window length, ns.
    pub window_ns: i64,
    /// Requests per second entering the stack, per window.
    pub entry_rps: &'a [f64],
    /// Visits per second a tier served in a window (by key index).
    pub tier_rps: &'a dyn Fn(&str, usize) -> f64,
    /// When any request was in progress.
    pub activity: &'a Activity,
}

/// What the counters say.
#[derive(Debug, Clone, Default)]
pub struct Machines {
    /// Every component with its line.
    pub components: Vec<ComponentCpu>,
    /// The host groups (none without counters).
    pub hosts: Vec<HostCal>,
    /// Per tier: its components' cores summed against its visits.
    pub tier_lines: BTreeMap<String, CpuLine>,
    /// Per tier: the host group it runs on and on how many machines its
    /// processes were seen.
    pub placement: BTreeMap<String, (String, u32)>,
    /// What the user should know.
    pub warnings: Vec<String>,
}

/// Quiet time needed before the CPU with no traffic counts as measured.
const MIN_QUIET_S: f64 = 2.0;

/// The CPU of `s` over its sample intervals with no activity.
pub fn idle_cpu(s: &CpuSeries, activity: &Activity) -> Option<IdleCpu> {
    let (lo, hi) = activity.extent()?;
    let (mut secs, mut used, mut intervals) = (0.0, 0.0, 0u32);
    for w in s.samples.windows(2) {
        let ((t0, c0), (t1, c1)) = (w[0], w[1]);
        if t0 >= lo && t1 <= hi && t1 > t0 && c1 >= c0 && activity.quiet(t0, t1) {
            secs += (t1 - t0) as f64 / NS as f64;
            used += c1 - c0;
            intervals += 1;
        }
    }
    (secs >= MIN_QUIET_S && intervals >= 2).then(|| IdleCpu {
        cores: used / secs,
        seconds: secs,
        intervals,
    })
}

/// Per machine, what its components add up to.
#[derive(Default)]
struct MachineSum {
    background: f64,
    yielding: f64,
    intercepts: f64,
    off_path: f64,
    with_line: usize,
    quiet: Vec<f64>,
    /// Cores used in the busiest window, all its components together.
    peak: f64,
    tiers: BTreeSet<usize>,
    off_path_names: Vec<String>,
}

/// Estimates every component's line, the machines and where each tier runs.
///
/// `tiers` are the calibrated tiers in request order; `tier_of` names the
/// tier a component belongs to (or none: work no log covers); `cores` the
/// cores of every machine (`--cores N`), `host_cores` per machine
/// (`--cores NAME=N`).
pub fn estimate(
    series: &BTreeMap<String, CpuSeries>,
    tiers: &[String],
    tier_of: &dyn Fn(&str) -> Option<String>,
    load: &WindowLoad<'_>,
    cores: Option<u32>,
    host_cores: &[(String, u32)],
) -> Machines {
    let mut m = Machines::default();
    let secs = load.window_ns as f64 / NS as f64;
    let mut per_tier: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut sums: BTreeMap<String, MachineSum> = BTreeMap::new();
    let named = series.values().any(|s| s.host.is_some());
    for s in series.values() {
        let tier = tier_of(&s.component).filter(|t| tiers.contains(t));
        let machine = s.host.clone().unwrap_or_else(|| ONE_MACHINE.to_string());
        let points: Vec<(f64, f64)> = load
            .keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| {
                let used = s.used_between(k * load.window_ns, (k + 1) * load.window_ns)?;
                let served = match &tier {
                    Some(t) => (load.tier_rps)(t, i),
                    None => load.entry_rps[i],
                };
                Some((served, used / secs))
            })
            .collect();
        if let Some(t) = &tier {
            let e = per_tier
                .entry(t.clone())
                .or_insert_with(|| vec![(0.0, 0.0); points.len()]);
            if e.len() == points.len() {
                for (a, p) in e.iter_mut().zip(&points) {
                    // The tier's visits once, its components' cores summed.
                    a.0 = p.0;
                    a.1 += p.1;
                }
            }
        }
        let line = cpu_line(points);
        let idle = idle_cpu(s, load.activity);
        let sum = sums.entry(machine.clone()).or_default();
        if let Some(t) = &tier
            && let Some(i) = tiers.iter().position(|x| x == t)
        {
            sum.tiers.insert(i);
        }
        if let Some(l) = &line {
            let intercept = l.background_cores.max(0.0);
            sum.with_line += 1;
            sum.intercepts += intercept;
            match &idle {
                // CPU with no traffic competes with requests; what the
                // intercept holds above it flows only with traffic.
                Some(q) => {
                    sum.background += q.cores;
                    sum.yielding += (intercept - q.cores).max(0.0);
                    sum.quiet.push(q.seconds);
                }
                None => sum.background += intercept,
            }
            if tier.is_none() {
                sum.off_path += l.per_request_s.max(0.0);
                sum.off_path_names.push(s.component.clone());
            }
        }
        m.components.push(ComponentCpu {
            component: s.component.clone(),
            host: s.host.clone(),
            tier,
            line,
            idle,
            resets: s.resets,
        });
    }
    // Peak cores per machine: its components summed per window.
    for (machine, sum) in &mut sums {
        let mut peak = 0.0f64;
        for k in load.keys {
            let used: f64 = series
                .values()
                .filter(|s| s.host.as_deref().unwrap_or(ONE_MACHINE) == machine)
                .filter_map(|s| s.used_between(k * load.window_ns, (k + 1) * load.window_ns))
                .sum();
            peak = peak.max(used / secs);
        }
        sum.peak = peak;
    }
    for (t, pts) in per_tier {
        if let Some(line) = cpu_line(pts) {
            m.tier_lines.insert(t, line);
        }
    }
    if m.components.iter().all(|c| c.line.is_none()) {
        m.warnings.push(
            "the CPU counters do not cover any full window of the logs: no CPU figures".into(),
        );
        return m;
    }
    if m.components
        .iter()
        .any(|c| c.line.as_ref().is_some_and(|l| !l.separable))
    {
        m.warnings.push(
            "the windows hold one load level: CPU per request and background CPU cannot be told apart, so all CPU is charged to the requests; collect logs at two or more load levels (a quiet hour and a busy one)".into(),
        );
    }

    // Machines running the same tiers with the same cores form one group.
    let machine_cores = |name: &str, peak: f64| -> Sourced<u32> {
        if let Some((_, n)) = host_cores.iter().find(|(h, _)| h == name) {
            return read(*n, format!("from the command line: --cores {name}={n}"));
        }
        match cores {
            Some(c) => read(c, "from the command line: --cores"),
            None => check(
                (peak.ceil() as u32).max(1),
                format!(
                    "not in any input: the busiest window used {peak:.2} cores; pass --cores N"
                ),
            ),
        }
    };
    // (tiers it runs, cores) -> machines.
    type Groups = BTreeMap<(Vec<usize>, u32), Vec<String>>;
    let mut groups: Groups = BTreeMap::new();
    for (machine, sum) in &sums {
        let c = machine_cores(machine, sum.peak).value;
        groups
            .entry((sum.tiers.iter().copied().collect(), c))
            .or_default()
            .push(machine.clone());
    }
    let mut ordered: Vec<_> = groups.into_iter().collect();
    // In request order: the group of the first tier first; machines of no
    // tier last.
    ordered.sort_by_key(|((t, _), names)| {
        (t.first().copied().unwrap_or(usize::MAX), names[0].clone())
    });
    let mut used_names = BTreeSet::new();
    for ((tier_idx, _), names) in ordered {
        let group = &names.iter().map(|n| &sums[n]).collect::<Vec<_>>();
        let n = names.len() as f64;
        let name = group_name(&names, &mut used_names);
        let peak = group.iter().map(|s| s.peak).fold(0.0, f64::max);
        let mut cores = machine_cores(&names[0], peak);
        if names.len() > 1 && cores.check {
            cores.source = format!(
                "not in any input: the busiest of its machines used {peak:.2} cores in a window; pass --cores NAME=N"
            );
        }
        let with_line = group.iter().any(|s| s.with_line > 0);
        let all_quiet = group.iter().all(|s| s.quiet.len() == s.with_line);
        let any_quiet = group.iter().any(|s| !s.quiet.is_empty());
        let background = group.iter().map(|s| s.background).sum::<f64>() / n;
        let yielding = group.iter().map(|s| s.yielding).sum::<f64>() / n;
        let intercepts = group.iter().map(|s| s.intercepts).sum::<f64>() / n;
        let per = if names.len() > 1 {
            ", per machine (the mean of its machines)"
        } else {
            ""
        };
        let background = with_line.then(|| {
            let source = if all_quiet {
                let secs = group
                    .iter()
                    .flat_map(|s| s.quiet.iter().copied())
                    .fold(f64::INFINITY, f64::min);
                format!(
                    "CPU of every component with no request in flight, measured over {secs:.1} s of quiet between the logged requests{per}"
                )
            } else if !any_quiet {
                format!("sum of the utilization-law intercepts of every component{per}")
            } else {
                format!(
                    "CPU with no request in flight where the counters show quiet spells, else the utilization-law intercept{per}"
                )
            };
            read(background, source)
        });
        let idle_background = (with_line && yielding > 0.0).then(|| {
            read(
                yielding,
                format!(
                    "the utilization-law intercepts ({intercepts:.3} cores) above the CPU with no traffic: spent only while traffic flows (wake-ups, polling), it yields to requests and vanishes at saturation{per}"
                ),
            )
        });
        if with_line && !any_quiet && intercepts > 0.0 {
            m.warnings.push(format!(
                "no quiet spell in the logs (a CPU sample interval with no request in flight){}: the utilization-law intercepts ({intercepts:.3} cores) are charged as background that competes with requests; if they are overhead that flows only with traffic, the capacity is underestimated; logs spanning a pause in traffic (seconds are enough) tell the two apart",
                if named { format!(" on {name}") } else { String::new() }
            ));
        }
        let off_path: f64 = group.iter().map(|s| s.off_path).sum();
        let off_path_s = (off_path > 0.0).then(|| {
            let mut who: Vec<&str> = group
                .iter()
                .flat_map(|s| s.off_path_names.iter().map(String::as_str))
                .collect();
            who.sort_unstable();
            who.dedup();
            read(
                off_path,
                format!(
                    "CPU per request of components no log covers ({}), off the request's path",
                    who.join(", ")
                ),
            )
        });
        m.hosts.push(HostCal {
            name,
            machines: if named { names.clone() } else { Vec::new() },
            cores,
            background,
            idle_background,
            off_path_s,
            tiers: tier_idx.iter().map(|&i| tiers[i].clone()).collect(),
        });
    }

    // A machine whose counters name no process of a tier: all its CPU is
    // off the requests' path, which is right for a log shipper's machine
    // and wrong when its processes were meant to match a tier.
    if named {
        for (machine, sum) in &sums {
            if sum.tiers.is_empty() && sum.with_line > 0 {
                m.warnings.push(format!(
                    "machine {machine}: no CPU counter of it is a process of a tier ({}); all its CPU is counted off the requests' path; name them with --component NAME=TIER if they serve requests",
                    tiers.join(", ")
                ));
            }
        }
    }

    // Each tier on the group holding most of its machines.
    for (ti, t) in tiers.iter().enumerate() {
        let mut seen: Vec<(&HostCal, usize)> = Vec::new();
        for h in &m.hosts {
            let count = if named {
                h.machines
                    .iter()
                    .filter(|n| sums[n.as_str()].tiers.contains(&ti))
                    .count()
            } else {
                usize::from(h.tiers.contains(t))
            };
            if count > 0 {
                seen.push((h, count));
            }
        }
        seen.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
        let machines: usize = seen.iter().map(|s| s.1).sum();
        match seen.first() {
            Some((h, _)) => {
                if seen.len() > 1 {
                    m.warnings.push(format!(
                        "tier {t} runs on machines of several kinds ({}): it is placed on {} alone",
                        seen.iter()
                            .map(|(h, _)| h.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        h.name
                    ));
                }
                m.placement
                    .insert(t.clone(), (h.name.clone(), machines as u32));
            }
            None if m.hosts.len() == 1 && !named => {
                m.placement
                    .insert(t.clone(), (m.hosts[0].name.clone(), 1));
            }
            None => m.warnings.push(format!(
                "tier {t}: no CPU counter is one of its processes, so it is on no machine (its workers are its cores); name its process with --component NAME={t}"
            )),
        }
    }
    m
}

/// A group's name: its one machine's; for several, what their names share
/// (`web1`, `web2` give `web`), else the first and a count.
fn group_name(names: &[String], used: &mut BTreeSet<String>) -> String {
    let base = if names.len() == 1 {
        names[0].clone()
    } else {
        let first = names[0].as_bytes();
        let mut n = first.len();
        for other in &names[1..] {
            n = n.min(
                first
                    .iter()
                    .zip(other.as_bytes())
                    .take_while(|(a, b)| a == b)
                    .count(),
            );
        }
        let shared = names[0][..n]
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '.');
        if shared.is_empty() {
            format!("{}-and-{}-more", names[0], names.len() - 1)
        } else {
            shared.to_string()
        }
    };
    let mut name = base.clone();
    let mut i = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}-{i}");
        i += 1;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::group_name;
    use std::collections::BTreeSet;

    #[test]
    fn groups_are_named_after_what_their_machines_share() {
        let mut used = BTreeSet::new();
        let n = |v: &[&str], used: &mut BTreeSet<String>| {
            group_name(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), used)
        };
        assert_eq!(n(&["web1", "web2"], &mut used), "web");
        assert_eq!(n(&["db"], &mut used), "db");
        assert_eq!(n(&["alpha", "beta"], &mut used), "alpha-and-1-more");
        // A name taken by an earlier group gets a number.
        assert_eq!(n(&["web-a", "web-b"], &mut used), "web-2");
    }
}
