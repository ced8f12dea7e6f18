//! `Model::build`: the scenario turned into runtime definitions, in parts:
//! machines, then stations and pools (instances dealt to machines), then
//! databases, class routes, scripted faults.

use super::{
    ClassDef, CpuPart, DbDef, FaultDef, HostDef, Model, PoolDef, StationDef, StepDef, Target,
};
use super::{HostId, IdVec, PoolId, StationId};
use crate::engine::stream_id;
use crate::scenario::{
    Arrivals, BACKGROUND_BURST_NS, Balance, Cpu, FaultTarget, IDLE_BURST_NS, Kind, Role, Scenario,
};

/// Stations and pools, with each tier's global pool indices.
struct Stations {
    stations: IdVec<StationId, StationDef>,
    pools: IdVec<PoolId, PoolDef>,
    /// `(tier, pool in tier)` -> global pool.
    pool_index: Vec<Vec<PoolId>>,
}

impl Stations {
    /// Every station of tier `t`.
    fn of_tier(&self, t: usize) -> Vec<StationId> {
        self.pool_index[t]
            .iter()
            .flat_map(|&p| self.pools[p].stations())
            .collect()
    }
}

impl Model {
    /// Builds the model. The scenario is already validated, so this cannot fail.
    pub fn build(s: &Scenario) -> Model {
        let (hosts, host_first) = machines(s);
        let mut st = stations(s, &host_first);
        let (dbs, db_of_tier) = databases(s, &st);
        let classes = classes(s, &mut st, &db_of_tier);
        let faults = faults(s, &st, &host_first);
        let think = match &s.arrivals {
            Arrivals::Closed { think, .. } => Some(think.sampler()),
            _ => None,
        };
        Model {
            stations: st.stations,
            pools: st.pools,
            classes,
            dbs,
            faults,
            client: s.client,
            off_path: s
                .hosts
                .iter()
                .enumerate()
                .filter(|(_, h)| h.off_path_cpu_ns > 0.0)
                .map(|(g, h)| (host_first[g], h.instances))
                .collect(),
            hosts,
            arrivals: s.arrivals.clone(),
            peak: s
                .arrivals
                .peak_rate_until(s.simulation.window_end_ns())
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
            sharded: s.tiers.iter().any(|t| t.shards > 1),
            by_client: s.tiers.iter().any(|t| {
                t.replication
                    .as_ref()
                    .is_some_and(|r| r.read_your_writes_ns.is_some())
            }),
        }
    }
}

/// Every machine of every host group, and each group's first machine.
fn machines(s: &Scenario) -> (IdVec<HostId, HostDef>, Vec<u32>) {
    let mut hosts = IdVec::default();
    let mut host_first = Vec::new();
    for (g, h) in s.hosts.iter().enumerate() {
        host_first.push(hosts.len() as u32);
        for i in 0..h.instances {
            hosts.push(HostDef {
                stream: stream_id(&format!("monitoring/{}/{i}", h.name)),
                background: (h.background_cores > 0.0
                    || h.off_path_cpu_ns > 0.0
                    || h.idle_background_cores > 0.0)
                    .then(|| {
                        (
                            if h.background_cores > 0.0 {
                                BACKGROUND_BURST_NS / h.background_cores
                            } else {
                                f64::INFINITY
                            },
                            stream_id(&format!("background/{}/{i}", h.name)),
                        )
                    }),
                idle_gap_ns: if h.idle_background_cores > 0.0 {
                    IDLE_BURST_NS / h.idle_background_cores
                } else {
                    f64::INFINITY
                },
                idle_backlog: (h.idle_background_cores * 1e9 / IDLE_BURST_NS).ceil() as u32,
                off_path_ns: h.off_path_cpu_ns,
                ps: h.scheduling != crate::scenario::Scheduling::Fifo,
                cfs: match h.scheduling {
                    crate::scenario::Scheduling::Cfs(p) => Some(p),
                    _ => None,
                },
                eevdf: match h.scheduling {
                    crate::scenario::Scheduling::Eevdf { base_slice_ns } => Some(base_slice_ns),
                    _ => None,
                },
                switch_ns: h.switch_cost_ns.unwrap_or(0),
                pauses: h.pauses.as_ref().map(|x| {
                    (
                        x.every.sampler(),
                        x.length.sampler(),
                        x.slowdown,
                        stream_id(&format!("pauses/host/{}/{i}", h.name)),
                    )
                }),
                cores: h.cores,
                group: g as u32,
                monitoring: h
                    .monitoring
                    .as_ref()
                    .map(|m| (m.interval_ns, m.cost.sampler())),
            });
        }
    }
    (hosts, host_first)
}

/// A station per instance, a pool per (tier, pool). Machines are dealt to a
/// tier's instances in turn, pool after pool: a database's primary on the
/// first, its replicas on the next.
fn stations(s: &Scenario, host_first: &[u32]) -> Stations {
    let mut out = Stations {
        stations: IdVec::default(),
        pools: IdVec::default(),
        pool_index: Vec::new(),
    };
    for tier in &s.tiers {
        let mut idx = Vec::new();
        for (pi, p) in tier.pools.iter().enumerate() {
            let pool = out.pools.next_id();
            idx.push(pool);
            let first = out.stations.next_id();
            let per_shard = p.instances / tier.shards.max(1);
            for i in 0..p.instances {
                let label = match p.role {
                    Role::Instances if p.instances == 1 => tier.name.clone(),
                    Role::Instances => format!("{}#{i}", tier.name),
                    Role::Primary if tier.shards > 1 => format!("{} shard#{i} primary", tier.name),
                    Role::Primary => format!("{} primary", tier.name),
                    Role::Replicas if tier.shards > 1 => format!(
                        "{} shard#{} replica#{}",
                        tier.name,
                        i / per_shard,
                        i % per_shard
                    ),
                    Role::Replicas => format!("{} replica#{i}", tier.name),
                };
                let host = p.host.map(|g| {
                    HostId(host_first[g] + tier.machine_index(pi, i, s.hosts[g].instances))
                });
                out.stations.push(StationDef {
                    pool,
                    ps_host: p
                        .host
                        .filter(|&g| s.hosts[g].scheduling != crate::scenario::Scheduling::Fifo)
                        .and(host),
                    workers: p.workers,
                    queue_cap: p.queue,
                    index_in_pool: i,
                    threads: p.threads,
                    gated: p.host.is_some() || p.threads.is_some(),
                    streams: [
                        "service", "tls", "network", "failures", "health", "cpu", "pauses",
                    ]
                    .map(|c| stream_id(&format!("{c}/{}/{}/{i}", tier.name, pi))),
                    health_check: None,
                    label,
                    host,
                    extra_ns: u64::from(tier.costs.rules).saturating_mul(tier.costs.rule_ns),
                    wakeup_ns: p.wakeup_ns.unwrap_or(0),
                    tls: tier.costs.tls.clone(),
                    conntrack: tier.costs.conntrack,
                    network: tier.costs.network.as_ref().map(|d| d.sampler()),
                });
            }
            out.pools.push(PoolDef {
                first_station: first,
                count: p.instances,
                service: p.service.iter().map(|d| d.sampler()).collect(),
                // Empty when every class keeps all of its service on the
                // core: the hot path then skips the split.
                cpu: if p.cpu.iter().all(|c| *c == Cpu::All) {
                    Vec::new()
                } else {
                    p.cpu
                        .iter()
                        .map(|c| match c {
                            Cpu::All => CpuPart::All,
                            Cpu::Fraction(f) => CpuPart::Fraction(*f),
                            Cpu::Dist(d) => CpuPart::Dist(d.sampler()),
                        })
                        .collect()
                },
                failures: p
                    .failures
                    .as_ref()
                    .map(|f| (f.time_to_failure.sampler(), f.time_to_repair.sampler())),
                pauses: p
                    .pauses
                    .as_ref()
                    .map(|x| (x.every.sampler(), x.length.sampler(), x.slowdown)),
            });
        }
        out.pool_index.push(idx);
    }
    out
}

/// The database tiers, in tier order, and each tier's database index.
fn databases(s: &Scenario, st: &Stations) -> (Vec<DbDef>, Vec<Option<u32>>) {
    let mut dbs = Vec::new();
    let mut db_of_tier = vec![None; s.tiers.len()];
    let mut replicating = 0;
    for (ti, tier) in s
        .tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == Kind::Database)
    {
        let (pp, rp) = (st.pool_index[ti][0], st.pool_index[ti][1]);
        db_of_tier[ti] = Some(dbs.len() as u32);
        // One database per shard: its primary, its replicas, its failover.
        let shards = tier.shards.max(1);
        let per_shard = st.pools[rp].count / shards;
        let replication = tier.replication.as_ref().map(|r| {
            replicating += 1;
            super::replication::ReplDef {
                apply: r.apply.iter().map(|d| d.sampler()).collect(),
                appliers: r.appliers,
                receive: r.receive.as_ref().map(|d| d.sampler()),
                semi_sync: r.semi_sync,
                stale_after_ns: r.stale_after_ns,
                read_your_writes_ns: r.read_your_writes_ns,
                slot: replicating - 1,
            }
        });
        for k in 0..shards {
            dbs.push(DbDef {
                name: if shards > 1 {
                    format!("{} shard#{k}", tier.name)
                } else {
                    tier.name.clone()
                },
                primary: st.pools[pp].station(k),
                replicas: (k * per_shard..(k + 1) * per_shard)
                    .map(|i| st.pools[rp].station(i))
                    .collect(),
                primary_pool: pp,
                replica_pool: rp,
                reads: tier.reads,
                failover: tier.failover,
                writes_wait: tier.writes_wait,
                tier_name: tier.name.clone(),
                replication: replication.clone(),
            });
        }
    }
    (dbs, db_of_tier)
}

/// Each class's cumulative share and route. A tier's health checks go on
/// the stations it sends to (the first checker of a station wins).
fn classes(s: &Scenario, st: &mut Stations, db_of_tier: &[Option<u32>]) -> Vec<ClassDef> {
    let mut cum = 0.0;
    let mut classes = Vec::new();
    for (ci, c) in s.classes.iter().enumerate() {
        cum += c.share;
        let mut steps = Vec::new();
        for (i, step) in c.route.iter().enumerate() {
            let tier = &s.tiers[step.tier];
            let target = match db_of_tier[step.tier] {
                Some(db) => Target::Db {
                    db,
                    access: c.access,
                    shards: tier.shard_keys.get(ci).map(|k| {
                        let mut cum = 0.0;
                        let mut v: Vec<f64> = k
                            .weights(tier.shards)
                            .into_iter()
                            .map(|w| {
                                cum += w;
                                cum
                            })
                            .collect();
                        if let Some(last) = v.last_mut() {
                            *last = f64::INFINITY; // no draw falls past the last shard
                        }
                        v.into_boxed_slice()
                    }),
                },
                None => Target::Stations(st.of_tier(step.tier)),
            };
            let sender = i.checked_sub(1).map(|prev| &s.tiers[c.route[prev].tier]);
            if let Some(hc) = sender.and_then(|t| t.health_check) {
                for station in st.of_tier(step.tier) {
                    st.stations[station].health_check.get_or_insert(hc);
                }
            }
            steps.push(StepDef {
                tier: step.tier as u16,
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
    classes
}

/// Scripted faults resolved to the stations they hit.
fn faults(s: &Scenario, st: &Stations, host_first: &[u32]) -> Vec<FaultDef> {
    s.faults
        .iter()
        .map(|f| {
            let tier = &s.tiers[f.tier];
            let stations = match f.target {
                FaultTarget::Host { group, machine } => {
                    let first = host_first[group];
                    let n = s.hosts[group].instances;
                    st.stations
                        .enumerate()
                        .filter(|(_, d)| {
                            d.host.is_some_and(|HostId(h)| {
                                h >= first
                                    && h < first + n
                                    && machine.is_none_or(|m| h == first + m)
                            })
                        })
                        .map(|(i, _)| i)
                        .collect()
                }
                FaultTarget::Tier => st.of_tier(f.tier),
                FaultTarget::Shard { shard, role } => {
                    let mut v = Vec::new();
                    for (pi, p) in tier.pools.iter().enumerate() {
                        if role.is_some_and(|r| r != p.role) {
                            continue;
                        }
                        let per = p.instances / tier.shards.max(1);
                        let pool = &st.pools[st.pool_index[f.tier][pi]];
                        v.extend((shard * per..(shard + 1) * per).map(|i| pool.station(i)));
                    }
                    v
                }
                FaultTarget::Instance(i) => {
                    vec![StationId(
                        st.pools[st.pool_index[f.tier][0]].first_station.0 + i,
                    )]
                }
                FaultTarget::Replica(i) => tier
                    .pools
                    .iter()
                    .position(|p| p.role == Role::Replicas)
                    .map(|pi| {
                        let first = st.pools[st.pool_index[f.tier][pi]].first_station.0;
                        vec![StationId(first + i)]
                    })
                    .unwrap_or_default(),
                FaultTarget::Role(role) => tier
                    .pools
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.role == role)
                    .flat_map(|(pi, _)| st.pools[st.pool_index[f.tier][pi]].stations())
                    .collect(),
            };
            FaultDef {
                at_ns: f.at_ns,
                duration_ns: f.duration_ns,
                stations,
                kind: f.kind,
            }
        })
        .collect()
}
