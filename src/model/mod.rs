//! The web stack as queueing stations: built once from a [`Scenario`], then
//! run for any number of independent replications.
//!
//! Every tier is pools of identical instances; every instance is one station
//! (workers, a FIFO accept queue, a service time per class). Firewalls,
//! balancers, web and app servers and the database are the same mechanism
//! with different settings: the database is a primary pool and a replica
//! pool, and reads and writes pick their stations by the class's access and
//! by which station is the primary now (failover can change it).

mod build;
mod cfs;
mod eevdf;
mod faults;
mod hosts;
mod ids;
mod lifecycle;
mod observe;
mod replication;
mod route;
mod run;
mod state;

use crate::dist::{Calls, Sampler};
use crate::scenario::{
    Access, Arrivals, Balance, Client, Failover, FaultKind, HealthCheck, ReadsTo, Simulation,
};

pub(crate) use ids::{HostId, Id, IdVec, PoolId, StationId};
pub use run::run_replication;

/// The most requests one replication holds in flight at once (about 150
/// bytes each with their events and queue entries: some 150 MiB). Past it
/// the stack is unstable at that load and the replication stops, reported
/// with what it saw so far. Fixed, not scaled by threads, so results stay
/// the same whatever the thread count.
pub const MAX_IN_FLIGHT: usize = 1 << 20;

/// One instance: the unit of queueing.
#[derive(Clone, Debug)]
pub(crate) struct StationDef {
    pub pool: PoolId,
    /// Its machine when that machine shares its cores (processor sharing).
    pub ps_host: Option<HostId>,
    pub workers: u32,
    /// Most requests waiting for a worker; `None`: unbounded.
    pub queue_cap: Option<u32>,
    pub index_in_pool: u32,
    /// Stream ids: service, TLS, network, failures, health checks, CPU
    /// part, pauses.
    pub streams: [u32; 7],
    /// Most cores the instance uses at once (`threads`).
    pub threads: Option<u32>,
    /// On a machine or under a thread cap: its services hold a core for
    /// their CPU part (the rest of the hot path skips all of that).
    pub gated: bool,
    /// Health checks run on this station by a tier that sends to it.
    pub health_check: Option<HealthCheck>,
    /// `web#1`, `db primary`: for the fault timeline.
    pub label: String,
    /// The machine it runs on (an index into [`Model::hosts`]).
    pub host: Option<HostId>,
    /// Extra CPU per request: firewall rules (ns).
    pub extra_ns: u64,
    /// CPU of a wake-up from idle (`wakeup`, ns; 0 without).
    pub wakeup_ns: u64,
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
    /// Background load: the mean gap between its CPU bursts (ns; each
    /// [`crate::scenario::BACKGROUND_BURST_NS`] long on average) and its
    /// stream id.
    pub background: Option<(f64, u32)>,
    /// Yielding background (`idle_background`): the mean gap between its
    /// bursts (ns), which take only a core no other work waits for.
    pub idle_gap_ns: f64,
    /// Yielding bursts kept due while the cores are taken: one second's
    /// worth. Below saturation that rides out every busy spell, so all of it
    /// runs, as the utilization law measures; more are dropped, since
    /// overhead that found no idle core for a second is not owed (and a
    /// saturated spell leaves no flood of it behind).
    pub idle_backlog: u32,
    /// CPU per request off the request path (ns, mean of an exponential),
    /// charged to the group's machines in turn.
    pub off_path_ns: f64,
    /// The cores are shared by a discipline (processor sharing, or the fair
    /// scheduler when `cfs` is set) instead of a FIFO pool: every burst is
    /// taken at once and the discipline decides who runs.
    pub ps: bool,
    /// The fair scheduler's tunables (`scheduling = "cfs"`).
    pub cfs: Option<crate::scenario::CfsParams>,
    /// EEVDF's base slice (`scheduling = "eevdf"`), ns.
    pub eevdf: Option<u64>,
    /// CPU a burst pays each time it is preempted (`switch_cost`), ns.
    pub switch_ns: u64,
    /// Random pauses of the machine: time between them, length, slowdown,
    /// and their stream id.
    pub pauses: Option<(Sampler, Sampler, f64, u32)>,
}

/// A pool of identical instances.
#[derive(Clone, Debug)]
pub(crate) struct PoolDef {
    pub first_station: StationId,
    pub count: u32,
    /// Service time per class.
    pub service: Vec<Sampler>,
    /// The part of it on a core, per class.
    pub cpu: Vec<CpuPart>,
    /// Random failures: time to failure, time to repair.
    pub failures: Option<(Sampler, Sampler)>,
    /// Random pauses: time between them, length, slowdown.
    pub pauses: Option<(Sampler, Sampler, f64)>,
}

/// The runnable form of [`crate::scenario::Cpu`].
#[derive(Clone, Debug)]
pub(crate) enum CpuPart {
    /// The whole service.
    All,
    /// A fraction of it.
    Fraction(f64),
    /// Its own distribution (drawn from the station's CPU stream).
    Dist(Sampler),
}

impl PoolDef {
    /// Its `i`-th station.
    pub fn station(&self, i: u32) -> StationId {
        StationId(self.first_station.0 + i)
    }

    /// Its stations, in order.
    pub fn stations(&self) -> impl Iterator<Item = StationId> + use<> {
        let first = self.first_station.0;
        (first..first + self.count).map(StationId)
    }
}

/// Where a step sends a request.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A fixed set of stations.
    Stations(Vec<StationId>),
    /// A database, whose primary and replicas can change. Sharded: `db` is
    /// the first shard's, and the request's key picks the shard by these
    /// cumulative shares.
    Db {
        db: u32,
        access: Access,
        shards: Option<Box<[f64]>>,
    },
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
    /// The scenario's tier index (for the logs; in the padding beside `holds`).
    pub tier: u16,
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
    pub primary: StationId,
    pub replicas: Vec<StationId>,
    pub primary_pool: PoolId,
    pub replica_pool: PoolId,
    pub reads: ReadsTo,
    pub failover: Option<Failover>,
    pub writes_wait: bool,
    /// Its tier's name (a shard's `name` adds the shard).
    pub tier_name: String,
    /// How its writes reach its replicas; `None`: at once.
    pub replication: Option<replication::ReplDef>,
}

/// A scripted fault resolved to stations.
#[derive(Clone, Debug)]
pub(crate) struct FaultDef {
    pub at_ns: u64,
    pub duration_ns: u64,
    pub stations: Vec<StationId>,
    pub kind: FaultKind,
}

/// The runnable model. Immutable: replications share it.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) stations: IdVec<StationId, StationDef>,
    pub(crate) pools: IdVec<PoolId, PoolDef>,
    pub(crate) classes: Vec<ClassDef>,
    pub(crate) dbs: Vec<DbDef>,
    pub(crate) faults: Vec<FaultDef>,
    pub(crate) client: Client,
    pub(crate) hosts: IdVec<HostId, HostDef>,
    /// Host groups with off-path CPU per request: (first machine, machines).
    pub(crate) off_path: Vec<(u32, u32)>,
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
    /// A database has shards: requests draw a shard key.
    pub(crate) sharded: bool,
    /// A database routes reads by their client's writes: requests carry
    /// their client.
    pub(crate) by_client: bool,
}

impl Model {
    /// Sets how many access-log records (requests that passed a `web` tier)
    /// replication 0 keeps, for `--access-log`.
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
