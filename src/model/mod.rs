//! The web stack as queueing stations: built once from a [`Scenario`], then
//! run for any number of independent replications.
//!
//! Every tier is pools of identical instances; every instance is one station
//! (workers, a FIFO accept queue, a service time per class). Firewalls,
//! balancers, web and app servers and the database are the same mechanism
//! with different settings: the database is a primary pool and a replica
//! pool, and reads and writes pick their stations by the class's access and
//! by which station is the primary now (failover can change it).

mod faults;
mod hosts;
mod lifecycle;
mod observe;
mod route;
mod run;
mod state;

use crate::dist::{Calls, Sampler};
use crate::engine::stream_id;
use crate::scenario::{
    Access, Arrivals, Balance, Client, Failover, FaultKind, FaultTarget, HealthCheck, Kind,
    ReadsTo, Role, Scenario, Simulation,
};

pub use run::run_replication;

/// Marks an empty slot in per-step arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// One instance: the unit of queueing.
#[derive(Clone, Debug)]
pub(crate) struct StationDef {
    pub pool: u32,
    pub workers: u32,
    /// Most requests waiting for a worker; `None`: unbounded.
    pub queue_cap: Option<u32>,
    pub index_in_pool: u32,
    /// Stream ids: service, TLS, network, failures, health checks.
    pub streams: [u32; 5],
    /// Health checks run on this station by a tier that sends to it.
    pub health_check: Option<HealthCheck>,
    /// `web#1`, `db primary`: for the fault timeline.
    pub label: String,
    /// The machine it runs on (an index into [`Model::hosts`]).
    pub host: Option<u32>,
    /// Extra CPU per request: firewall rules (ns).
    pub extra_ns: u64,
    /// TLS work per request.
    pub tls: Option<crate::scenario::TlsCost>,
    /// Connection-tracking limit.
    pub conntrack: Option<u32>,
    /// Network latency of the hop into this station.
    pub network: Option<Sampler>,
}

/// One machine.
#[derive(Clone, Debug)]
pub(crate) struct HostDef {
    pub cores: u32,
    /// Index of its group in the scenario's hosts.
    pub group: u32,
    /// Monitoring agent: interval and CPU per sample.
    pub monitoring: Option<(u64, Sampler)>,
    /// The agent's stream id.
    pub stream: u32,
}

/// A pool of identical instances.
#[derive(Clone, Debug)]
pub(crate) struct PoolDef {
    pub first_station: u32,
    pub count: u32,
    /// Service time per class.
    pub service: Vec<Sampler>,
    /// Random failures: time to failure, time to repair.
    pub failures: Option<(Sampler, Sampler)>,
}

/// Where a step sends a request.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A fixed set of stations.
    Stations(Vec<u32>),
    /// A database, whose primary and replicas can change.
    Db { db: u32, access: Access },
}

/// One step of a class's route, with everything the hot loop needs resolved.
#[derive(Clone, Debug)]
pub(crate) struct StepDef {
    pub calls: Calls,
    pub target: Target,
    /// How the instance is picked (the previous tier's balance).
    pub policy: Balance,
    /// Which round-robin counter the policy uses (the sending tier's).
    pub rr_slot: usize,
    /// The worker stays busy until the request finishes the steps after this.
    pub holds: bool,
    /// The tier's own response deadline (`timeout`), ns.
    pub timeout_ns: Option<u64>,
    /// The sender retries a refused connection on another instance this often.
    pub redispatch: u32,
}

/// A class: its share and its route.
#[derive(Clone, Debug)]
pub(crate) struct ClassDef {
    pub cum_share: f64,
    pub steps: Vec<StepDef>,
}

/// A database tier: its stations and failover settings.
#[derive(Clone, Debug)]
pub(crate) struct DbDef {
    pub name: String,
    pub primary: u32,
    pub replicas: Vec<u32>,
    pub primary_pool: u32,
    pub replica_pool: u32,
    pub reads: ReadsTo,
    pub failover: Option<Failover>,
    pub writes_wait: bool,
}

/// A scripted fault resolved to stations.
#[derive(Clone, Debug)]
pub(crate) struct FaultDef {
    pub at_ns: u64,
    pub duration_ns: u64,
    pub stations: Vec<u32>,
    pub kind: FaultKind,
}

/// The runnable model. Immutable: replications share it.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) stations: Vec<StationDef>,
    pub(crate) pools: Vec<PoolDef>,
    pub(crate) classes: Vec<ClassDef>,
    pub(crate) dbs: Vec<DbDef>,
    pub(crate) faults: Vec<FaultDef>,
    pub(crate) client: Client,
    pub(crate) hosts: Vec<HostDef>,
    pub(crate) arrivals: Arrivals,
    /// Mean gap between candidate open arrivals at the peak rate (ns), and
    /// that rate: thinning draws at the peak and keeps rate(t)/peak.
    pub(crate) peak: Option<(f64, f64)>,
    pub(crate) think: Option<Sampler>,
    pub(crate) sim: Simulation,
    pub(crate) rr_slots: usize,
    /// Per class: the route step at a `web` tier, if any (for the access log).
    pub(crate) web_step: Vec<Option<usize>>,
    /// Access-log records kept from replication 0 (0: none).
    pub(crate) access_log_limit: usize,
}

impl Model {
    /// Builds the model. The scenario is already validated, so this cannot fail.
    pub fn build(s: &Scenario) -> Model {
        let mut hosts = Vec::new();
        let mut host_first = Vec::new();
        for (g, h) in s.hosts.iter().enumerate() {
            host_first.push(hosts.len() as u32);
            for i in 0..h.instances {
                hosts.push(HostDef {
                    stream: stream_id(&format!("monitoring/{}/{i}", h.name)),
                    cores: h.cores,
                    group: g as u32,
                    monitoring: h
                        .monitoring
                        .as_ref()
                        .map(|m| (m.interval_ns, m.cost.sampler())),
                });
            }
        }
        let mut stations = Vec::new();
        let mut pools = Vec::new();
        // (tier, pool) -> global pool index
        let mut pool_index: Vec<Vec<usize>> = Vec::new();
        for tier in &s.tiers {
            let mut idx = Vec::new();
            // Machines are dealt to the tier's instances in turn, pool after
            // pool: a database's primary on the first, its replicas on the next.
            let mut slot = 0u32;
            for (pi, p) in tier.pools.iter().enumerate() {
                idx.push(pools.len());
                let first = stations.len() as u32;
                for i in 0..p.instances {
                    let label = match p.role {
                        Role::Instances if p.instances == 1 => tier.name.clone(),
                        Role::Instances => format!("{}#{i}", tier.name),
                        Role::Primary => format!("{} primary", tier.name),
                        Role::Replicas => format!("{} replica#{i}", tier.name),
                    };
                    stations.push(StationDef {
                        pool: pools.len() as u32,
                        workers: p.workers,
                        queue_cap: p.queue,
                        index_in_pool: i,
                        streams: ["service", "tls", "network", "failures", "health"]
                            .map(|c| stream_id(&format!("{c}/{}/{}/{i}", tier.name, pi))),
                        health_check: None,
                        label,
                        host: p
                            .host
                            .map(|g| host_first[g] + (slot + i) % s.hosts[g].instances),
                        extra_ns: u64::from(tier.costs.rules).saturating_mul(tier.costs.rule_ns),
                        tls: tier.costs.tls.clone(),
                        conntrack: tier.costs.conntrack,
                        network: tier.costs.network.as_ref().map(|d| d.sampler()),
                    });
                }
                slot += p.instances;
                pools.push(PoolDef {
                    first_station: first,
                    count: p.instances,
                    service: p.service.iter().map(|d| d.sampler()).collect(),
                    failures: p
                        .failures
                        .as_ref()
                        .map(|f| (f.time_to_failure.sampler(), f.time_to_repair.sampler())),
                });
            }
            pool_index.push(idx);
        }
        let tier_stations = |t: usize| -> Vec<u32> {
            pool_index[t]
                .iter()
                .flat_map(|&p| pools[p].first_station..pools[p].first_station + pools[p].count)
                .collect()
        };
        // Databases, in tier order.
        let mut dbs = Vec::new();
        let mut db_of_tier = vec![None; s.tiers.len()];
        for (ti, tier) in s
            .tiers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == Kind::Database)
        {
            let (pp, rp) = (pool_index[ti][0], pool_index[ti][1]);
            db_of_tier[ti] = Some(dbs.len() as u32);
            dbs.push(DbDef {
                name: tier.name.clone(),
                primary: pools[pp].first_station,
                replicas: (pools[rp].first_station..pools[rp].first_station + pools[rp].count)
                    .collect(),
                primary_pool: pp as u32,
                replica_pool: rp as u32,
                reads: tier.reads,
                failover: tier.failover,
                writes_wait: tier.writes_wait,
            });
        }
        let mut cum = 0.0;
        let mut classes = Vec::new();
        for c in &s.classes {
            cum += c.share;
            let mut steps = Vec::new();
            for (i, step) in c.route.iter().enumerate() {
                let tier = &s.tiers[step.tier];
                let target = match db_of_tier[step.tier] {
                    Some(db) => Target::Db {
                        db,
                        access: c.access,
                    },
                    None => Target::Stations(tier_stations(step.tier)),
                };
                let sender = i.checked_sub(1).map(|prev| &s.tiers[c.route[prev].tier]);
                if let Some(hc) = sender.and_then(|t| t.health_check) {
                    for st in tier_stations(step.tier) {
                        stations[st as usize].health_check.get_or_insert(hc);
                    }
                }
                steps.push(StepDef {
                    calls: step.calls,
                    target,
                    policy: sender.map_or(Balance::Random, |t| t.balance),
                    rr_slot: i
                        .checked_sub(1)
                        .map_or(s.tiers.len(), |prev| c.route[prev].tier),
                    holds: tier.hold && i + 1 < c.route.len(),
                    timeout_ns: tier.timeout_ns,
                    redispatch: sender.filter(|t| t.redispatch).map_or(0, |t| t.retries),
                });
            }
            classes.push(ClassDef {
                cum_share: cum,
                steps,
            });
        }
        if let Some(last) = classes.last_mut() {
            last.cum_share = f64::INFINITY; // rounding can never leave a draw unassigned
        }
        let faults = s
            .faults
            .iter()
            .map(|f| {
                let tier = &s.tiers[f.tier];
                let stations = match f.target {
                    FaultTarget::Host { group, machine } => stations
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| {
                            d.host.is_some_and(|h| {
                                let first = host_first[group];
                                let n = s.hosts[group].instances;
                                h >= first
                                    && h < first + n
                                    && machine.is_none_or(|m| h == first + m)
                            })
                        })
                        .map(|(i, _)| i as u32)
                        .collect(),
                    FaultTarget::Tier => tier_stations(f.tier),
                    FaultTarget::Instance(i) => {
                        vec![pools[pool_index[f.tier][0]].first_station + i]
                    }
                    FaultTarget::Role(role) => tier
                        .pools
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.role == role)
                        .flat_map(|(pi, _)| {
                            let p = &pools[pool_index[f.tier][pi]];
                            p.first_station..p.first_station + p.count
                        })
                        .collect(),
                };
                FaultDef {
                    at_ns: f.at_ns,
                    duration_ns: f.duration_ns,
                    stations,
                    kind: f.kind,
                }
            })
            .collect();
        let think = match &s.arrivals {
            Arrivals::Closed { think, .. } => Some(think.sampler()),
            _ => None,
        };
        Model {
            stations,
            pools,
            classes,
            dbs,
            faults,
            client: s.client,
            hosts,
            arrivals: s.arrivals.clone(),
            peak: s
                .arrivals
                .peak_rate()
                .filter(|&r| r > 0.0)
                .map(|r| (1e9 / r, r)),
            think,
            sim: s.simulation.clone(),
            rr_slots: s.tiers.len() + 1,
            web_step: s
                .classes
                .iter()
                .map(|c| {
                    c.route
                        .iter()
                        .position(|st| s.tiers[st.tier].kind == Kind::Web)
                })
                .collect(),
            access_log_limit: 0,
        }
    }

    /// Keeps up to `limit` access-log records (requests that passed a `web`
    /// tier) from replication 0, for `--access-log`.
    pub fn with_access_log(mut self, limit: usize) -> Model {
        self.set_access_log(limit);
        self
    }

    /// Sets how many access-log records replication 0 keeps.
    pub fn set_access_log(&mut self, limit: usize) {
        self.access_log_limit = limit;
    }

    /// Number of pools, in (tier, pool) order.
    pub fn pool_count(&self) -> usize {
        self.pools.len()
    }

    /// The simulation settings the model runs with.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }
}
