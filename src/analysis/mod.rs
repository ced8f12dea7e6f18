//! Analytic checks beside the simulation: the traffic equations (offered
//! utilization per pool, before the run), stability verdicts and the
//! bottleneck (after it).

pub mod defaults;
pub mod lints;
pub mod queueing;
pub mod slo;
pub mod warnings;
pub mod write_scaling;

use serde::Serialize;

use crate::scenario::{Role, Scenario};
use crate::stats::Summary;

/// Offered load on one pool from the traffic equations.
#[derive(Clone, Debug, Serialize)]
pub struct PoolLoad {
    /// Tier index.
    pub tier: usize,
    /// Pool index within the tier.
    pub pool: usize,
    /// `web`, `db primary`, ...
    pub label: String,
    /// Instances x workers.
    pub servers: u64,
    /// Visits per second offered to the pool (NaN for closed workloads).
    pub arrival_rps: f64,
    /// Offered utilization: arrival rate x mean service / servers. For a
    /// holding tier it also counts the downstream service time, without
    /// queueing, so it is a lower bound. For a sharded database, the
    /// hottest shard's. NaN for closed workloads.
    pub utilization: f64,
    /// Offered utilization from the pool's own service alone (no holding).
    pub service_utilization: f64,
    /// True if the worker is held while later tiers answer.
    pub holds: bool,
    /// True if the accept queue is bounded (overload drops instead of growing).
    pub bounded: bool,
    /// Which accesses reach the pool: "reads", "writes", "reads and writes".
    pub traffic: String,
    /// CPU the pool's own service needs, core-seconds per second: the `cpu`
    /// part of its service, firewall rules and TLS included (what it asks of
    /// its host). NaN for closed workloads.
    pub cpu: f64,
    /// Of `cpu` (and of the busy workers), the wake-up CPU (`wakeup`),
    /// core-seconds per second: it vanishes as the pool saturates, so the
    /// saturation rate leaves it out.
    #[serde(skip)]
    pub wakeup_cores: f64,
    /// A sharded database's pool: each shard's offered utilization, holding
    /// included (`utilization` is the largest); empty otherwise.
    #[serde(skip)]
    pub shard_utilization: Vec<f64>,
}

/// Mean extra CPU per visit of a tier: firewall rules and TLS (ns).
pub fn extra_cpu_ns(tier: &crate::scenario::Tier) -> f64 {
    f64::from(tier.costs.rules) * tier.costs.rule_ns as f64
        + tier.costs.tls.as_ref().map_or(0.0, |t| t.mean_ns())
}

/// The offered CPU load of one machine of a host group.
#[derive(Clone, Debug, Serialize)]
pub struct MachineLoad {
    /// Host group index.
    pub group: usize,
    /// Machine within the group.
    pub machine: u32,
    /// `host server#0` (or `host server` for a group of one).
    pub label: String,
    /// Offered CPU utilization: busy cores / cores, agents included.
    pub utilization: f64,
    /// Of it, the monitoring agent's (independent of the request rate).
    pub agents: f64,
    /// Of it, the background load's (`background`, independent of the rate).
    pub background: f64,
    /// Of it, the yielding background's (`idle_background`): what of it
    /// finds idle cores, so it shrinks to nothing at saturation and takes no
    /// part in it.
    pub idle: f64,
    /// Services started on it per second (visits to its instances).
    pub visits_rps: f64,
    /// Monitoring samples per second.
    pub agent_rps: f64,
    /// Background and off-path CPU bursts per second.
    pub background_rps: f64,
    /// Per pool with instances on it (in the scenario's order), for a
    /// discipline that serves bursts by who they are (`scheduling = "cfs"`).
    pub streams: Vec<Stream>,
}

/// The bursts one pool puts on a machine: `(tier, pool, busy cores,
/// bursts per second)`.
pub type Stream = (usize, usize, f64, f64);

/// Offered CPU utilization of every machine: the service (with its extra
/// CPU) of the instances placed on it, dealt to machines as the model does
/// (a tier's instances in turn, pool after pool), plus its monitoring agent,
/// its background load and its share of the off-path CPU of the `lambda`
/// requests per second entering the stack.
pub fn machine_loads(s: &Scenario, loads: &[PoolLoad], lambda: f64) -> Vec<MachineLoad> {
    // Per machine: (CPU of its instances' services, their visits per second).
    let mut work: Vec<Vec<(f64, f64)>> = s
        .hosts
        .iter()
        .map(|h| vec![(0.0, 0.0); h.instances as usize])
        .collect();
    let mut streams: Vec<Vec<Vec<Stream>>> = s
        .hosts
        .iter()
        .map(|h| vec![Vec::new(); h.instances as usize])
        .collect();
    for (ti, tier) in s.tiers.iter().enumerate() {
        for (pi, pool) in tier.pools.iter().enumerate() {
            let Some(load) = loads.iter().find(|l| l.tier == ti && l.pool == pi) else {
                continue;
            };
            let each = f64::from(pool.instances.max(1));
            for i in 0..pool.instances {
                if let Some((g, m)) = machine_of(s, ti, pi, i) {
                    let w = &mut work[g][m as usize];
                    w.0 += load.cpu / each;
                    w.1 += load.arrival_rps / each;
                    let st = &mut streams[g][m as usize];
                    match st.iter_mut().find(|x| (x.0, x.1) == (ti, pi)) {
                        Some(x) => {
                            x.2 += load.cpu / each;
                            x.3 += load.arrival_rps / each;
                        }
                        None => st.push((ti, pi, load.cpu / each, load.arrival_rps / each)),
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for (g, ((h, per), mut streams)) in s.hosts.iter().zip(work).zip(streams).enumerate() {
        let cores = f64::from(h.cores.max(1));
        // The agent: its CPU (core-s per s) and samples per second.
        let (agent, agent_rps) = h.monitoring.as_ref().map_or((0.0, 0.0), |m| {
            (
                m.cost.mean() / m.interval_ns as f64,
                1e9 / m.interval_ns as f64,
            )
        });
        let background = h.background_cores;
        // Off-path CPU: each request's burst on one machine of the group.
        let off_rps = lambda / f64::from(h.instances.max(1));
        let off_cpu = off_rps * h.off_path_cpu_ns / 1e9;
        for (m, (cpu, visits_rps)) in per.into_iter().enumerate() {
            let (cpu, off_rps) = if h.off_path_cpu_ns > 0.0 {
                (cpu + off_cpu, off_rps)
            } else {
                (cpu, 0.0)
            };
            let others = (cpu + agent + background) / cores;
            let idle = (h.idle_background_cores / cores).min((1.0 - others).max(0.0));
            out.push(MachineLoad {
                group: g,
                machine: m as u32,
                label: machine_label(&h.name, h.instances, m),
                utilization: others + idle,
                agents: agent / cores,
                background: background / cores,
                idle,
                visits_rps,
                agent_rps,
                background_rps: background * 1e9 / crate::scenario::BACKGROUND_BURST_NS + off_rps,
                streams: std::mem::take(&mut streams[m]),
            });
        }
    }
    out
}

/// A machine's name: `server#0`, or `server` when its group has one
/// machine. Shown as `host server#0` where it stands beside tiers
/// ([`MachineLabel::with_kind`]) and as `server#0` where the context says
/// it is a machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineLabel {
    /// Host group name.
    pub group: String,
    /// The machine's index, when the group has more than one.
    pub machine: Option<usize>,
}

impl MachineLabel {
    /// Machine `m` of a group of `machines` named `name`.
    pub fn new(name: &str, machines: u32, m: usize) -> MachineLabel {
        MachineLabel {
            group: name.to_string(),
            machine: (machines > 1).then_some(m),
        }
    }

    /// `host server#0`: the name among tiers and pools.
    pub fn with_kind(&self) -> String {
        format!("host {self}")
    }
}

impl std::fmt::Display for MachineLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.machine {
            Some(m) => write!(f, "{}#{m}", self.group),
            None => write!(f, "{}", self.group),
        }
    }
}

/// The machine instance `i` of pool `pool` of tier `tier` runs on, as
/// (host group, machine): a tier's instances go round the group's machines
/// in turn, pool after pool (as the model places them).
pub fn machine_of(s: &Scenario, tier: usize, pool: usize, i: u32) -> Option<(usize, u32)> {
    let t = &s.tiers[tier];
    let g = t.pools[pool].host?;
    Some((g, t.machine_index(pool, i, s.hosts[g].instances)))
}

/// `host server#0`, or `host server` when the group has one machine.
pub fn machine_label(name: &str, machines: u32, m: usize) -> String {
    MachineLabel::new(name, machines, m).with_kind()
}

/// Settings that are valid but probably not meant, for `stacksim check`:
/// a `cpu` part longer than its service, a thread cap above the host's cores.
pub fn setting_notes(s: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    for t in &s.tiers {
        for (pi, p) in t.pools.iter().enumerate() {
            for (ci, (cpu, service)) in p.cpu.iter().zip(&p.service).enumerate() {
                if let crate::scenario::Cpu::Dist(d) = cpu
                    && d.mean() > service.mean()
                {
                    out.push(format!(
                        "{} (class {}): its cpu part averages {:.3} ms, more than its service's {:.3} ms; the service then lasts as long as its CPU burst",
                        t.pool_label(pi),
                        s.classes[ci].name,
                        d.mean() / 1e6,
                        service.mean() / 1e6
                    ));
                }
            }
            if let (Some(threads), Some(h)) = (p.threads, p.host)
                && threads > s.hosts[h].cores
            {
                out.push(format!(
                    "{}: threads = {threads} is more than host `{}`'s {} cores; it can use at most {} at once",
                    t.pool_label(pi),
                    s.hosts[h].name,
                    s.hosts[h].cores,
                    s.hosts[h].cores
                ));
            }
        }
    }
    out
}

/// Solves the traffic equations at the mean arrival rate over the window.
pub fn offered_load(s: &Scenario) -> Vec<PoolLoad> {
    let lambda = s
        .arrivals
        .mean_rate(s.simulation.warmup_ns(), s.simulation.window_end_ns())
        .unwrap_or(f64::NAN);
    let mut out = Vec::new();
    for (ti, tier) in s.tiers.iter().enumerate() {
        for (pi, pool) in tier.pools.iter().enumerate() {
            let mut rate = 0.0;
            let mut work = 0.0;
            let mut own_work = 0.0;
            let mut cpu_work = 0.0;
            let extra = extra_cpu_ns(tier);
            let (mut reads, mut writes) = (false, false);
            // A sharded database: each shard's part of the pool, as work
            // scaled to the whole pool (the hottest shard sets the figure).
            let shards = tier.shards.max(1) as usize;
            let mut shard_work = vec![0.0; shards];
            let mut shard_own = vec![0.0; shards];
            for (ci, class) in s.classes.iter().enumerate() {
                let pools = tier.pools_for(class.access);
                if !pools.contains(&pi) {
                    continue;
                }
                let candidates: u32 = pools.iter().map(|&p| tier.pools[p].instances).sum();
                let frac = pool.instances as f64 / candidates.max(1) as f64;
                for (i, step) in class
                    .route
                    .iter()
                    .enumerate()
                    .filter(|(_, st)| st.tier == ti)
                {
                    let visits = lambda * class.share * step.calls.mean() * frac;
                    let service = pool.service[ci].mean();
                    let mut hold_ns = service + extra;
                    own_work += visits * hold_ns / 1e9;
                    cpu_work += visits * (pool.cpu[ci].mean_ns(service) + extra) / 1e9;
                    if tier.hold {
                        hold_ns += downstream_service_ns(s, ci, i);
                    }
                    rate += visits;
                    work += visits * hold_ns / 1e9;
                    if let Some(key) = tier.shard_keys.get(ci) {
                        for (k, w) in key.weights(tier.shards).into_iter().enumerate() {
                            let scale = w * shards as f64;
                            shard_work[k] += scale * visits * hold_ns / 1e9;
                            shard_own[k] += scale * visits * (service + extra) / 1e9;
                        }
                    }
                    match class.access {
                        crate::scenario::Access::Read => reads = true,
                        crate::scenario::Access::Write => writes = true,
                    }
                }
            }
            let mut wakeup_cores = 0.0;
            if let Some(w) = pool.wakeup_ns.filter(|_| rate > 0.0) {
                // The wake-up CPU, paid by the share of visits that find
                // their thread (or worker) idle.
                wakeup_cores =
                    rate * w as f64 * wakeup_share(pool, rate, own_work, cpu_work, w) / 1e9;
                own_work += wakeup_cores;
                work += wakeup_cores;
                cpu_work += wakeup_cores;
            }
            let servers = u64::from(pool.instances) * u64::from(pool.workers);
            let mut shard_utilization = Vec::new();
            if shards > 1 && rate > 0.0 && servers > 0 {
                shard_utilization = shard_work
                    .iter()
                    .map(|w| (w + wakeup_cores) / servers as f64)
                    .collect();
                // Each shard's own servers: its work as if the whole pool
                // ran that hot (the wake-up CPU is spread evenly).
                let hottest = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
                work = hottest(&shard_work) + wakeup_cores;
                own_work = hottest(&shard_own) + wakeup_cores;
            }
            out.push(PoolLoad {
                tier: ti,
                pool: pi,
                label: tier.pool_label(pi),
                servers,
                arrival_rps: rate,
                utilization: if servers > 0 {
                    work / servers as f64
                } else {
                    0.0
                },
                service_utilization: if servers > 0 {
                    own_work / servers as f64
                } else {
                    0.0
                },
                cpu: cpu_work,
                wakeup_cores,
                shard_utilization,
                holds: tier.hold,
                bounded: pool.queue.is_some(),
                traffic: match (reads, writes) {
                    (true, true) => "reads and writes",
                    (false, true) => "writes",
                    (true, false) => "reads",
                    _ => "no traffic",
                }
                .to_string(),
            });
        }
    }
    out
}

/// The share of a pool's visits that wake their thread (under `threads`) or
/// worker from idle and pay its `wakeup` (`w_ns`): one minus the
/// probability that all are busy, by Erlang C at the load the wake-ups
/// themselves add, solved by iteration. Exact for one server (Welch's
/// exceptional first service: P0 = (1 - rho) / (1 - rho + rho0)); with
/// threads it counts a thread busy for its CPU burst only, not while it
/// waits for a core, so near a machine's saturation it overstates the
/// wake-ups (a conservative capacity). Zero once the servers saturate.
fn wakeup_share(pool: &crate::scenario::Pool, rate: f64, own: f64, cpu: f64, w_ns: u64) -> f64 {
    let (k, busy) = match pool.threads {
        Some(t) => (u64::from(t), cpu),
        None => (u64::from(pool.workers), own),
    };
    let per_instance = rate / f64::from(pool.instances.max(1));
    // Busy servers per instance without the wake-ups, and the wake-up work
    // per visit (s).
    let base = busy / f64::from(pool.instances.max(1));
    let w = w_ns as f64 / 1e9;
    let mut share = 1.0;
    for _ in 0..200 {
        let a = base + per_instance * w * share;
        let next = if a >= k as f64 {
            0.0
        } else {
            1.0 - queueing::erlang_c(k, a)
        };
        if (next - share).abs() < 1e-12 {
            return next;
        }
        // Damped: the map is a contraction near its fixed point.
        share = 0.5 * (share + next);
    }
    share
}

/// Mean service time a request of class `ci` spends after step `i` (no queueing).
fn downstream_service_ns(s: &Scenario, ci: usize, i: usize) -> f64 {
    let class = &s.classes[ci];
    class.route[i + 1..]
        .iter()
        .map(|step| {
            let tier = &s.tiers[step.tier];
            let pools = tier.pools_for(class.access);
            let n: u32 = pools.iter().map(|&p| tier.pools[p].instances).sum();
            let mean: f64 = pools
                .iter()
                .map(|&p| tier.pools[p].service[ci].mean() * tier.pools[p].instances as f64)
                .sum::<f64>()
                / n.max(1) as f64;
            mean * step.calls.mean()
        })
        .sum()
}

/// Whether a pool has a steady state.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Stability {
    /// Offered load below capacity and no growing backlog.
    Stable,
    /// Offered load at or above capacity with a bounded queue: it drops.
    Overloaded,
    /// No steady state: the backlog grows without bound.
    Unstable {
        /// Backlog growth measured over the window (requests/s).
        growth_rps: f64,
        /// Offered utilization at or above 1 before the run.
        predicted: bool,
    },
}

/// The stability verdict for one pool, in words and numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Pool index (global, (tier, pool) order).
    pub pool: usize,
    /// Pool label.
    pub label: String,
    /// Offered utilization from the traffic equations.
    pub offered_utilization: f64,
    /// The verdict.
    pub stability: Stability,
    /// One plain sentence.
    pub message: String,
}

/// A resource that can saturate: a pool's workers or a machine's cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// A pool (index in (tier, pool) order).
    Pool(usize),
    /// A machine: host group index and machine within it.
    Host {
        /// Host group index.
        group: usize,
        /// Machine within the group.
        machine: u32,
    },
}

/// The busiest resource, which saturates first as load grows: the pool
/// whose own service keeps its workers busiest, or a machine whose cores
/// are busier still (components sharing it compete for them). Held time (a
/// worker waiting on a later tier) is left out: a tier blocked behind the
/// database is a symptom, the database is the cause.
#[derive(Clone, Debug, Serialize)]
pub struct Bottleneck {
    /// What it is.
    pub resource: Resource,
    /// Label: `db primary (writes)`, `host server#0`.
    pub label: String,
    /// The machine, when the bottleneck is one.
    #[serde(skip)]
    pub machine: Option<MachineLabel>,
    /// Measured utilization (0..1).
    pub utilization: f64,
    /// One line: `bottleneck: db primary (writes) at 97% utilization`.
    pub message: String,
}

impl Bottleneck {
    /// The pool, when the bottleneck is one (for marking it in charts).
    pub fn pool(&self) -> Option<usize> {
        match self.resource {
            Resource::Pool(p) => Some(p),
            Resource::Host { .. } => None,
        }
    }
}

/// A client with a connection cap holds the backlog a fully open one
/// would leave in the stack: its queue grows (or it refuses) while every
/// pool's stays bounded. The busiest pool, which would have grown, takes
/// the verdict, so that whatever asks "is this run in steady state?" (the
/// capacity search, the reports) hears no.
fn client_backlog(c: &crate::stats::ClientSummary, summary: &Summary, out: &mut [Verdict]) {
    let g = &c.backlog_growth_rps;
    let arrivals = c.arrival_rps.mean.max(0.0);
    let growing =
        g.half_width.is_some_and(|h| g.mean - h > 0.0) && g.mean > (0.005 * arrivals).max(0.1);
    let refusing = c.refused_share.mean > 0.01;
    if !growing && !refusing {
        return;
    }
    let Some(v) = out
        .iter_mut()
        .filter(|v| matches!(v.stability, Stability::Stable))
        .max_by(|a, b| {
            let u = |v: &Verdict| summary.pools[v.pool].service_utilization.mean;
            u(a).total_cmp(&u(b))
        })
    else {
        return;
    };
    let u = summary.pools[v.pool].service_utilization.mean;
    if growing {
        v.stability = Stability::Unstable {
            growth_rps: g.mean,
            predicted: false,
        };
        v.message = format!(
            "{}: serving {:.0}% - unstable: the client's queue grows ~{:.0} requests/s (every connection busy); the stack is offered more than it serves, and the end-to-end latency only measures the run length (the latency from send stays bounded)",
            v.label,
            u * 100.0,
            g.mean
        );
    } else {
        v.stability = Stability::Overloaded;
        v.message = format!(
            "{}: serving {:.0}% - overloaded: the client refuses {:.1}% of arrivals (every connection busy)",
            v.label,
            u * 100.0,
            c.refused_share.mean * 100.0
        );
    }
}

/// Stability verdicts for every pool with instances, and the bottleneck.
pub fn verdicts(
    s: &Scenario,
    loads: &[PoolLoad],
    summary: &Summary,
) -> (Vec<Verdict>, Option<Bottleneck>) {
    let mut out = Vec::new();
    // A client that refuses when its connections are busy bounds every
    // queue in the stack, as a queue limit bounds one pool's.
    let refusing = s.client.connections.is_some_and(|c| c.refuse);
    for (p, (load, ps)) in loads.iter().zip(&summary.pools).enumerate() {
        if load.servers == 0 {
            continue;
        }
        let bounded_load;
        let via_client = refusing && !load.bounded;
        let load = if via_client {
            bounded_load = PoolLoad {
                bounded: true,
                ..load.clone()
            };
            &bounded_load
        } else {
            load
        };
        let g = ps.backlog_growth_rps;
        // A trend counts when its interval excludes zero and it is material:
        // more than 0.5% of the arrival rate and more than one request per
        // ten seconds (a drifting few requests is noise, not overload).
        let arrivals = ps.arrival_rps.mean.max(0.0);
        let growing =
            g.half_width.is_some_and(|h| g.mean - h > 0.0) && g.mean > (0.005 * arrivals).max(0.1);
        let predicted = !load.bounded && load.utilization >= 1.0;
        let stability = if predicted || (growing && !load.bounded) {
            Stability::Unstable {
                growth_rps: g.mean,
                predicted,
            }
        } else if load.bounded && (load.utilization >= 1.0 || ps.drop_fraction.mean > 0.01) {
            Stability::Overloaded
        } else {
            Stability::Stable
        };
        let offered = if load.utilization.is_finite() {
            format!("offered utilization {:.2}", load.utilization)
        } else {
            "closed workload".to_string()
        };
        let message = match &stability {
            Stability::Unstable {
                predicted: true, ..
            } if !growing => format!(
                "{}: {offered} - unstable: it is offered more work than it can serve; the backlog builds up in the tiers that wait on it",
                load.label
            ),
            Stability::Unstable { growth_rps, .. } => format!(
                "{}: {offered} - unstable, backlog grows ~{growth_rps:.0} requests/s{}; its latency figures only measure the run length",
                load.label,
                if load.holds && ps.service_utilization.mean < 0.9 * ps.utilization.mean {
                    " (its workers are held waiting on the tiers below)"
                } else {
                    ""
                }
            ),
            Stability::Overloaded if via_client => format!(
                "{}: {offered} - overloaded: the client refuses {:.1}% of arrivals (every connection busy)",
                load.label,
                summary
                    .client
                    .as_ref()
                    .map_or(f64::NAN, |c| c.refused_share.mean * 100.0)
            ),
            Stability::Overloaded if ps.drop_fraction.mean.is_finite() => format!(
                "{}: {offered} - overloaded, its bounded queue drops {:.1}% of visits",
                load.label,
                ps.drop_fraction.mean * 100.0
            ),
            Stability::Overloaded => format!(
                "{}: {offered} - overloaded: its bounded queue will drop (no visit was observed)",
                load.label
            ),
            Stability::Stable => format!("{}: {offered} - stable", load.label),
        };
        out.push(Verdict {
            pool: p,
            label: load.label.clone(),
            offered_utilization: load.utilization,
            stability,
            message,
        });
    }
    if let Some(c) = &summary.client {
        client_backlog(c, summary, &mut out);
    }
    // A sharded pool is as busy as its hottest shard: (shard, its share
    // of the pool's work, as a factor on the pool's mean).
    let hottest_shard = |p: usize, l: &PoolLoad| -> Option<(usize, f64)> {
        if s.tiers[l.tier].shards <= 1 {
            return None;
        }
        let per = s.tiers[l.tier].pools[l.pool].instances / s.tiers[l.tier].shards;
        let mut by_shard = vec![0.0; s.tiers[l.tier].shards as usize];
        for i in summary.instances.iter().filter(|i| i.pool == p) {
            by_shard[i.index / per.max(1) as usize] += i.utilization.mean;
        }
        let mean = by_shard.iter().sum::<f64>() / by_shard.len() as f64;
        by_shard
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .filter(|_| mean > 0.0)
            .map(|(k, u)| (k, u / mean))
    };
    let busy = |p: usize, l: &PoolLoad, u: f64| hottest_shard(p, l).map_or(u, |(_, f)| u * f);
    let bottleneck = loads
        .iter()
        .zip(&summary.pools)
        .enumerate()
        .filter(|(_, (l, ps))| l.servers > 0 && ps.service_utilization.mean.is_finite())
        .max_by(|a, b| {
            busy(a.0, a.1.0, a.1.1.service_utilization.mean).total_cmp(&busy(
                b.0,
                b.1.0,
                b.1.1.service_utilization.mean,
            ))
        })
        .map(|(p, (l, ps))| {
            let shard = hottest_shard(p, l);
            let label = match shard {
                Some((k, _)) => format!("{} ({}, shard#{k}, the hottest)", l.label, l.traffic),
                None if l.label.contains(Role::Primary.as_str())
                    || l.label.contains(Role::Replicas.as_str()) =>
                {
                    format!("{} ({})", l.label, l.traffic)
                }
                None => l.label.clone(),
            };
            let f = shard.map_or(1.0, |(_, f)| f);
            let u = ps.service_utilization.mean * f;
            let total = ps.utilization.mean * f;
            let held = if total - u > 0.01 {
                format!(
                    " serving ({:.0}% counting workers held on the tiers below)",
                    total * 100.0
                )
            } else {
                String::new()
            };
            Bottleneck {
                resource: Resource::Pool(p),
                message: format!("bottleneck: {label} at {:.0}% utilization{held}", u * 100.0),
                label,
                machine: None,
                utilization: u,
            }
        });
    // The busiest machine, if its cores are busier than that pool's workers.
    let machine = summary
        .hosts
        .iter()
        .enumerate()
        .flat_map(|(g, h)| {
            h.machines
                .iter()
                .enumerate()
                .map(move |(m, e)| (g, m, e.mean))
        })
        .filter(|x| x.2.is_finite())
        .max_by(|a, b| a.2.total_cmp(&b.2));
    let bottleneck = match (machine, bottleneck) {
        (Some((g, m, u)), b) if b.as_ref().is_none_or(|b| u > b.utilization) => {
            let host = &s.hosts[g];
            let machine = MachineLabel::new(&host.name, host.instances, m);
            let label = machine.with_kind();
            let runs: Vec<&str> = s
                .tiers
                .iter()
                .filter(|t| t.pools.iter().any(|p| p.host == Some(g)))
                .map(|t| t.name.as_str())
                .collect();
            let busiest = b.map_or(String::new(), |b| {
                format!(
                    "; busiest tier: {} at {:.0}%",
                    b.label,
                    b.utilization * 100.0
                )
            });
            Some(Bottleneck {
                resource: Resource::Host {
                    group: g,
                    machine: m as u32,
                },
                message: format!(
                    "bottleneck: CPU of {label} at {:.0}% ({} cores shared by {}){busiest}",
                    u * 100.0,
                    host.cores,
                    runs.join(", ")
                ),
                label,
                machine: Some(machine),
                utilization: u,
            })
        }
        (_, b) => b,
    };
    (out, bottleneck)
}
