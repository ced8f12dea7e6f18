//! The validated scenario: every value checked, every name resolved to an index.
//! Serializes (durations in ns) as the resolved scenario in `summary.json`.

use serde::Serialize;

pub use super::faults::{
    Client, Failover, Failures, Fault, FaultKind, FaultTarget, HealthCheck, Pauses, Retry,
};
pub use super::hosts::{
    BACKGROUND_BURST_NS, CfsParams, Host, IDLE_BURST_NS, Monitoring, Scheduling, TlsCost,
};
use crate::dist::{Calls, Dist};

/// The longest route a class may have (steps), so request state stays inline.
pub const MAX_STEPS: usize = 16;

/// A validated scenario, ready to build a model from.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    /// Scenario name, used for the output folder.
    pub name: String,
    /// Run length, replications, seed.
    pub simulation: Simulation,
    /// How requests arrive.
    pub arrivals: Arrivals,
    /// Request classes; shares sum to 1.
    pub classes: Vec<Class>,
    /// Tiers in declaration order.
    pub tiers: Vec<Tier>,
    /// Client timeout and retries.
    pub client: Client,
    /// Scripted outages and slowdowns.
    pub faults: Vec<Fault>,
    /// Sweep axes from a `[sweep]` table (used by `stacksim sweep`).
    pub sweep: Vec<super::Axis>,
    /// Host groups the tiers run on.
    pub hosts: Vec<Host>,
    /// The scenario as a TOML document: the file with every override and
    /// run flag applied, in the file's own keys and spellings. Reads back as
    /// this scenario (empirical sample files are named relative to the
    /// original scenario's folder). Code that edits the fields above after
    /// parsing leaves it behind: the run lifecycle edits through overrides.
    #[serde(skip)]
    pub document: toml::Table,
    /// The data files it read (empirical samples, replayed arrivals), each
    /// by path, size and digest.
    pub data_files: Vec<DataFile>,
    /// What the overrides did beyond setting a key, to tell the user:
    /// `--set workload.rate=900` replacing a schedule, `2x` resolved
    /// against the workload's peak.
    #[serde(skip)]
    pub override_notes: Vec<String>,
}

/// A data file a scenario read, recorded so that a result says which data
/// it came from (the values themselves are not written out).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataFile {
    /// The key that names it, e.g. `tier.web.service`.
    pub key: String,
    /// Path, size and SHA-256 as read.
    #[serde(flatten)]
    pub file: crate::dist::SampleFile,
    /// Where it was found (absolute).
    pub resolved: String,
    /// Values (or arrivals) read from it.
    pub rows: usize,
    /// What the values are like, to recognise the data without it.
    pub summary: DataSummary,
}

/// Summary statistics of a data file's values.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum DataSummary {
    /// Sampled durations, in milliseconds.
    Samples {
        /// Smallest value.
        min_ms: f64,
        /// Mean.
        mean_ms: f64,
        /// Median (nearest rank).
        p50_ms: f64,
        /// 99th percentile (nearest rank).
        p99_ms: f64,
        /// Largest value.
        max_ms: f64,
    },
    /// Replayed arrival times: the span they cover and their mean rate.
    Arrivals {
        /// First arrival, seconds from the file's zero.
        first_s: f64,
        /// Last arrival.
        last_s: f64,
        /// Arrivals per second between the first and the last.
        mean_rate_rps: f64,
    },
}

impl DataSummary {
    /// Of sampled durations in nanoseconds (any order).
    pub fn of_samples(values_ns: &[f64]) -> DataSummary {
        let mut v: Vec<f64> = values_ns
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        let ms = |x: f64| x / 1e6;
        let at = |q: f64| {
            if v.is_empty() {
                0.0
            } else {
                // Nearest rank.
                let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
                ms(v[i])
            }
        };
        let mean = if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        };
        DataSummary::Samples {
            min_ms: v.first().copied().map_or(0.0, ms),
            mean_ms: ms(mean),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: v.last().copied().map_or(0.0, ms),
        }
    }

    /// Of sorted arrival times in nanoseconds.
    pub fn of_arrivals(times_ns: &[u64]) -> DataSummary {
        let first = times_ns.first().copied().unwrap_or(0) as f64 / 1e9;
        let last = times_ns.last().copied().unwrap_or(0) as f64 / 1e9;
        let span = last - first;
        DataSummary::Arrivals {
            first_s: first,
            last_s: last,
            mean_rate_rps: if span > 0.0 {
                (times_ns.len() - 1) as f64 / span
            } else {
                0.0
            },
        }
    }
}

impl Scenario {
    /// [`Scenario::document`] as TOML text, which reads back as this scenario.
    pub fn document_toml(&self) -> String {
        // A table of plain values always serializes.
        toml::to_string(&self.document).unwrap_or_default()
    }
}

/// Run control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Simulation {
    /// Observed simulated time per replication (ns).
    pub duration_ns: u64,
    /// Simulated time deleted before observing.
    pub warmup: Warmup,
    /// Independent replications.
    pub replications: u32,
    /// Master seed.
    pub seed: u64,
    /// Time-series resolution (ns).
    pub sample_every_ns: u64,
    /// How long after the window in-flight requests may still finish (ns).
    pub drain_ns: u64,
}

/// The warm-up deleted before observing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warmup {
    /// A fixed duration (ns).
    Fixed(u64),
    /// `warmup = "auto"`: chosen by MSER-5 from a pilot run. The run
    /// lifecycle (`plan::Plan`) replaces it with the `Fixed` duration it chose
    /// before building the model, so a model never runs with it unresolved
    /// but for the pilot itself, which deletes nothing.
    Auto,
}

/// Most time-series intervals a replication keeps: longer runs sample less
/// often, so memory does not grow with the run's length.
pub const MAX_SERIES_INTERVALS: u64 = 10_000;

impl Simulation {
    /// The warm-up deleted (ns): an unresolved `Auto` deletes nothing (the pilot run).
    pub fn warmup_ns(&self) -> u64 {
        match self.warmup {
            Warmup::Fixed(ns) => ns,
            Warmup::Auto => 0,
        }
    }

    /// End of the observation window (ns from the start).
    pub fn window_end_ns(&self) -> u64 {
        self.warmup_ns() + self.duration_ns
    }

    /// Widens `sample_every` so the run has at most
    /// [`MAX_SERIES_INTERVALS`] intervals; returns the new width if it changed.
    pub fn cap_series(&mut self) -> Option<u64> {
        let end = self.window_end_ns();
        if end.div_ceil(self.sample_every_ns) <= MAX_SERIES_INTERVALS {
            return None;
        }
        // Whole milliseconds, as short as the cap allows.
        let ms = 1_000_000;
        self.sample_every_ns = end.div_ceil(MAX_SERIES_INTERVALS).div_ceil(ms) * ms;
        Some(self.sample_every_ns)
    }
}

/// The arrival process.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Open Poisson arrivals at a constant rate.
    Poisson {
        /// Requests per second.
        rate_rps: f64,
    },
    /// Open non-homogeneous Poisson arrivals following a schedule.
    Schedule(Vec<RatePoint>),
    /// Open arrivals replayed from a file of logged arrival times and
    /// classes (`replay = "arrivals.csv"`), as they really came.
    Replay(Replay),
    /// A closed population: each user thinks, sends, waits for the answer.
    Closed {
        /// Number of users.
        users: u32,
        /// Think time between a response and the next request.
        think: Dist,
    },
}

/// Logged arrivals: times from the start of the run and class indices.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replay {
    /// The file, as the scenario names it.
    pub path: String,
    /// Arrival times (ns from the start of the run), non-decreasing.
    #[serde(skip)]
    pub times_ns: Vec<u64>,
    /// Each arrival's class index.
    #[serde(skip)]
    pub classes: Vec<u16>,
}

impl Replay {
    /// Arrivals in `[from, to)`.
    pub fn count_between(&self, from_ns: u64, to_ns: u64) -> usize {
        let a = self.times_ns.partition_point(|&t| t < from_ns);
        let b = self.times_ns.partition_point(|&t| t < to_ns);
        b - a
    }
}

/// One point of a rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatePoint {
    /// Time from the start of the run (ns).
    pub at_ns: u64,
    /// Rate from this point on (requests/s).
    pub rate_rps: f64,
    /// If true, the rate rises linearly from the previous point to this one.
    pub ramp: bool,
}

impl Arrivals {
    /// The arrival rate at time `t_ns` (open workloads); `None` for closed ones.
    pub fn rate_at(&self, t_ns: u64) -> Option<f64> {
        match self {
            Arrivals::Poisson { rate_rps } => Some(*rate_rps),
            Arrivals::Schedule(points) => Some(schedule_rate(points, t_ns)),
            // The rate over the second around `t`.
            Arrivals::Replay(r) => {
                Some(r.count_between(t_ns.saturating_sub(500_000_000), t_ns + 500_000_000) as f64)
            }
            Arrivals::Closed { .. } => None,
        }
    }

    /// Mean arrival rate over `[from, to)` (open workloads).
    pub fn mean_rate(&self, from_ns: u64, to_ns: u64) -> Option<f64> {
        match self {
            Arrivals::Poisson { rate_rps } => Some(*rate_rps),
            Arrivals::Schedule(_) => {
                // Piecewise linear: integrate numerically on a fine grid.
                let n = 10_000u64;
                let span = to_ns.saturating_sub(from_ns).max(1);
                let sum: f64 = (0..n)
                    .map(|i| {
                        self.rate_at(from_ns + span * (2 * i + 1) / (2 * n))
                            .unwrap_or(0.0)
                    })
                    .sum();
                Some(sum / n as f64)
            }
            Arrivals::Replay(r) => {
                let span = to_ns.saturating_sub(from_ns).max(1) as f64 / 1e9;
                Some(r.count_between(from_ns, to_ns) as f64 / span)
            }
            Arrivals::Closed { .. } => None,
        }
    }

    /// The highest rate the process reaches before `end_ns` (open
    /// workloads): what sets a run's cost, so a schedule's later peak does
    /// not slow a run that ends before it.
    pub fn peak_rate_until(&self, end_ns: u64) -> Option<f64> {
        match self {
            // Piecewise linear: the highest in [0, end) is at a point
            // inside it or just before the end (a ramp still climbing).
            Arrivals::Schedule(p) => p
                .iter()
                .filter(|p| p.at_ns < end_ns)
                .map(|p| p.rate_rps)
                .chain(self.rate_at(end_ns.saturating_sub(1)))
                .reduce(f64::max),
            _ => self.peak_rate(),
        }
    }

    /// The highest rate the process ever reaches (open workloads).
    pub fn peak_rate(&self) -> Option<f64> {
        match self {
            Arrivals::Poisson { rate_rps } => Some(*rate_rps),
            Arrivals::Schedule(p) => p.iter().map(|p| p.rate_rps).reduce(f64::max),
            // The busiest second.
            Arrivals::Replay(r) => {
                let mut best = 0usize;
                let mut j = 0;
                for i in 0..r.times_ns.len() {
                    while r.times_ns[i] - r.times_ns[j] >= 1_000_000_000 {
                        j += 1;
                    }
                    best = best.max(i + 1 - j);
                }
                Some(best as f64)
            }
            Arrivals::Closed { .. } => None,
        }
    }
}

fn schedule_rate(points: &[RatePoint], t: u64) -> f64 {
    let mut rate = 0.0;
    for (i, p) in points.iter().enumerate() {
        if t < p.at_ns {
            if p.ramp && i > 0 {
                let prev = &points[i - 1];
                let f = (t - prev.at_ns) as f64 / (p.at_ns - prev.at_ns) as f64;
                return prev.rate_rps + f * (p.rate_rps - prev.rate_rps);
            }
            return rate;
        }
        rate = p.rate_rps;
    }
    rate
}

/// Whether a request reads or writes the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Served by replicas, the primary or any, as the database says.
    Read,
    /// Always served by the primary.
    Write,
}

/// A request class.
#[derive(Clone, Debug, Serialize)]
pub struct Class {
    /// Class name.
    pub name: String,
    /// Fraction of arrivals in this class.
    pub share: f64,
    /// Read or write, for database routing.
    pub access: Access,
    /// The tiers visited in order.
    pub route: Vec<Step>,
}

/// One step of a route.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Index into [`Scenario::tiers`].
    pub tier: usize,
    /// Calls to this tier per visit.
    pub calls: Calls,
}

/// What a tier stands for (labels, defaults, later lints); the queueing is the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A generic server.
    Server,
    /// A packet filter.
    Firewall,
    /// An HAProxy-style balancer.
    LoadBalancer,
    /// An Nginx-style web server.
    Web,
    /// An application server.
    App,
    /// A MySQL-style database with a primary and replicas.
    Database,
}

impl Kind {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Firewall => "firewall",
            Kind::LoadBalancer => "load-balancer",
            Kind::Web => "web",
            Kind::App => "app",
            Kind::Database => "database",
        }
    }
}

/// How a request leaving a tier picks an instance of the next tier on its route.
/// Spelled one way everywhere: [`Balance::as_str`], which the scenario reader
/// accepts and every output writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    /// Instances in turn.
    RoundRobin,
    /// The instance with the fewest open requests (ties: in turn).
    LeastConn,
    /// Uniformly at random.
    Random,
    /// Two distinct instances at random; the one with fewer open requests.
    PowerOfTwo,
    /// The instance with the same index as the one being left (modulo the
    /// count): components that share a server.
    Same,
}

impl Serialize for Balance {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Balance {
    /// Every algorithm, in the order the docs list them.
    pub const ALL: [Balance; 5] = [
        Balance::RoundRobin,
        Balance::LeastConn,
        Balance::Random,
        Balance::PowerOfTwo,
        Balance::Same,
    ];

    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Balance::RoundRobin => "roundrobin",
            Balance::LeastConn => "leastconn",
            Balance::Random => "random",
            Balance::PowerOfTwo => "p2c",
            Balance::Same => "same",
        }
    }
}

/// Where a database sends reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadsTo {
    /// The replicas (the primary when there are none).
    Replicas,
    /// The primary only.
    Primary,
    /// Any of the primary and the replicas.
    Any,
}

/// What a tier does with the client's TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    /// Passes traffic on as it came.
    None,
    /// TLS ends here: the hop onward carries plaintext.
    Terminate,
    /// TLS ends here and the hop onward is encrypted again.
    Reencrypt,
}

impl Scenario {
    /// What a scripted fault does, to what, and when: `crash of app#0 at 60s
    /// for 60s`.
    pub fn fault_label(&self, i: usize) -> String {
        let f = &self.faults[i];
        let tier = self.tiers.get(f.tier).map_or("?", |t| t.name.as_str());
        let what = match f.target {
            FaultTarget::Tier => format!("every {tier} instance"),
            FaultTarget::Instance(k) => format!("{tier}#{k}"),
            FaultTarget::Role(Role::Primary) => format!("{tier} primary"),
            FaultTarget::Role(Role::Replicas) => format!("{tier} replicas"),
            FaultTarget::Role(Role::Instances) => tier.to_string(),
            FaultTarget::Replica(k) => format!("{tier} replica#{k}"),
            FaultTarget::Shard { shard, role } => match role {
                None => format!("{tier} shard#{shard}"),
                Some(r) => format!("{tier} shard#{shard} {}", r.as_str()),
            },
            FaultTarget::Host { group, machine } => {
                let h = self.hosts.get(group).map_or("?", |h| h.name.as_str());
                match machine {
                    Some(m) => format!("host {h}#{m}"),
                    None => format!("every {h} machine"),
                }
            }
        };
        let kind = match f.kind {
            FaultKind::Down => "crash of".to_string(),
            FaultKind::Slow(x) => format!("{x}x slowdown of"),
        };
        format!(
            "{kind} {what} at {} for {}",
            crate::units::format_duration(f.at_ns),
            crate::units::format_duration(f.duration_ns)
        )
    }

    /// Whether the hop into tier `i` (from the users for `i = 0`) is
    /// encrypted, following the tiers in declaration order; `None` when no
    /// tier says anything about TLS.
    pub fn hop_encrypted(&self, i: usize) -> Option<bool> {
        if self.tiers.iter().all(|t| t.tls == Tls::None) {
            return None;
        }
        let mut encrypted = true;
        for t in &self.tiers[..i.min(self.tiers.len())] {
            match t.tls {
                Tls::Terminate => encrypted = false,
                Tls::Reencrypt => encrypted = true,
                Tls::None => {}
            }
        }
        Some(encrypted)
    }
}

/// A pool's role in its tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The instances of an ordinary tier.
    Instances,
    /// The database primary (takes every write).
    Primary,
    /// The database read replicas.
    Replicas,
}

impl Role {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Instances => "instances",
            Role::Primary => "primary",
            Role::Replicas => "replicas",
        }
    }
}

/// A tier: one or more pools of identical instances.
#[derive(Clone, Debug, Serialize)]
pub struct Tier {
    /// Tier name.
    pub name: String,
    /// What it stands for.
    pub kind: Kind,
    /// How requests leaving this tier pick the next tier's instance.
    pub balance: Balance,
    /// A worker stays busy while the tiers after it answer.
    pub hold: bool,
    /// One pool, or for a database the primary then the replicas.
    pub pools: Vec<Pool>,
    /// Read routing (databases).
    pub reads: ReadsTo,
    /// What this tier does with TLS. Descriptive (diagram, report, review);
    /// its CPU cost belongs in `service`.
    pub tls: Tls,
    /// A request that entered this tier and is not answered within this
    /// time fails (HAProxy's `timeout server`), in ns.
    pub timeout_ns: Option<u64>,
    /// Health checks this tier runs on the instances it sends to.
    pub health_check: Option<HealthCheck>,
    /// Connection retries when the chosen instance is down.
    pub retries: u32,
    /// The last connection retry may go to another instance.
    pub redispatch: bool,
    /// Database failover (databases).
    pub failover: Option<Failover>,
    /// Writes wait for a primary instead of failing while there is none.
    pub writes_wait: bool,
    /// What the tier's requests cost beyond `service`.
    pub costs: Costs,
    /// Write shards of a database (`shards`): each shard its own primary
    /// with its own replicas, laid out shard after shard in the pools; 1
    /// without the key.
    #[serde(skip_serializing_if = "is_one")]
    pub shards: u32,
    /// Per class: how its keys spread over the shards (empty: one shard).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shard_keys: Vec<ShardKey>,
    /// How writes reach a database's replicas (`replication`); `None`:
    /// replicas are consistent at once, as before the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
}

/// A database's replication of writes to its replicas: each replica
/// receives the primary's committed writes in commit order and applies
/// them with its own applier threads, so its lag is a queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Replication {
    /// Time a replica takes to apply one write, per class (only writes
    /// replicate); the primary's service time unless given.
    pub apply: Vec<Dist>,
    /// Applier threads per replica (MySQL's `replica_parallel_workers`).
    pub appliers: u32,
    /// From commit until a replica holds the write (network and relay
    /// log); with `semi_sync`, until its acknowledgement is back.
    pub receive: Option<Dist>,
    /// The commit waits for the first replica's acknowledgement.
    pub semi_sync: bool,
    /// A read on a replica is stale when a write committed more than this
    /// long before it is not yet applied there (ns).
    pub stale_after_ns: u64,
    /// Reads by a client that wrote to this database less than this long
    /// ago go to the primary (read-your-writes routing), ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_your_writes_ns: Option<u64>,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// How a class's keys spread over a sharded database's shards.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardKey {
    /// Every shard alike (hashed keys).
    Uniform,
    /// `keys` keys with Zipf weights `1/k^s`, key k on shard `k mod
    /// shards` (a hash that spreads keys but not their heat).
    Zipf {
        /// The exponent.
        s: f64,
        /// Distinct keys.
        keys: u32,
    },
    /// A share per shard (a hot tenant), normalised.
    Weights(Vec<f64>),
}

impl ShardKey {
    /// Each shard's share of the class's requests, summing to 1.
    pub fn weights(&self, shards: u32) -> Vec<f64> {
        let n = shards.max(1) as usize;
        let mut w = match self {
            ShardKey::Uniform => vec![1.0; n],
            ShardKey::Zipf { s, keys } => {
                let mut w = vec![0.0; n];
                for k in 0..*keys as usize {
                    w[k % n] += 1.0 / ((k + 1) as f64).powf(*s);
                }
                w
            }
            ShardKey::Weights(v) => v.clone(),
        };
        let total: f64 = w.iter().sum();
        if total > 0.0 {
            w.iter_mut().for_each(|x| *x /= total);
        }
        w
    }

    /// The scenario spelling.
    pub fn describe(&self) -> String {
        match self {
            ShardKey::Uniform => "uniform".into(),
            ShardKey::Zipf { s, keys } => format!("zipf({s}, keys = {keys})"),
            ShardKey::Weights(v) => format!(
                "[{}]",
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// CPU and network costs of a tier beyond its service time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Costs {
    /// TLS work per request (on a terminating or re-encrypting tier).
    pub tls: Option<TlsCost>,
    /// Firewall rules evaluated per request.
    pub rules: u32,
    /// Time to evaluate one rule (ns).
    pub rule_ns: u64,
    /// Connection-tracking table size per instance: a request that would
    /// exceed it is dropped (cause `conntrack_full`).
    pub conntrack: Option<u32>,
    /// Network latency of the hop into this tier.
    pub network: Option<Dist>,
}

/// Identical instances sharing workers, queue limit and service times.
#[derive(Clone, Debug, Serialize)]
pub struct Pool {
    /// Role in the tier.
    pub role: Role,
    /// Number of instances (may be 0 for replicas).
    pub instances: u32,
    /// Workers per instance.
    pub workers: u32,
    /// Waiting room per instance; `None` is unbounded.
    pub queue: Option<u32>,
    /// Service time per class, indexed like [`Scenario::classes`].
    pub service: Vec<Dist>,
    /// Random failures of each instance.
    pub failures: Option<Failures>,
    /// The host group the instances run on (instance i on machine i modulo
    /// the group's size), an index into [`Scenario::hosts`].
    pub host: Option<usize>,
    /// The part of each service that needs a core, per class (`cpu`).
    pub cpu: Vec<Cpu>,
    /// Most cores one instance uses at once (`threads`): an event loop's
    /// thread count; `None`: a core per busy worker.
    pub threads: Option<u32>,
    /// CPU paid by a service that wakes its thread (`threads` given) or its
    /// worker (otherwise) from idle, on top of its own (`wakeup`, ns): a
    /// request that finds its thread already running, or that a worker
    /// takes from the queue as it finishes the last, pays none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wakeup_ns: Option<u64>,
    /// Random pauses of each instance (`pauses`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauses: Option<Pauses>,
}

/// The part of a service that runs on a core; the rest is off-core waiting
/// (sockets, fsync), during which the worker stays busy and holds no core.
/// The CPU burst comes first, then the wait.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cpu {
    /// All of the service (no `cpu` key).
    All,
    /// This fraction of each service time (0..=1).
    Fraction(f64),
    /// Its own distribution; the off-core part is what remains of the
    /// service time (none when the CPU part is the longer).
    Dist(Dist),
}

impl Cpu {
    /// Mean CPU time of a service whose whole time has mean `service_ns`.
    /// A CPU part with its own distribution runs in full, however long the
    /// service, as the simulation runs it.
    pub fn mean_ns(&self, service_ns: f64) -> f64 {
        match self {
            Cpu::All => service_ns,
            Cpu::Fraction(f) => f * service_ns,
            Cpu::Dist(d) => d.mean(),
        }
    }
}

impl Tier {
    /// Indices of the pools a request of `access` is served by at this tier.
    pub fn pools_for(&self, access: Access) -> Vec<usize> {
        if self.kind != Kind::Database {
            return vec![0];
        }
        let has_replicas = self.pools.get(1).is_some_and(|p| p.instances > 0);
        match (access, self.reads) {
            (Access::Write, _) | (Access::Read, ReadsTo::Primary) => vec![0],
            (Access::Read, ReadsTo::Replicas) if has_replicas => vec![1],
            (Access::Read, ReadsTo::Replicas) => vec![0],
            (Access::Read, ReadsTo::Any) if has_replicas => vec![0, 1],
            (Access::Read, ReadsTo::Any) => vec![0],
        }
    }

    /// The machine (an index among its host group's `machines`) that
    /// instance `i` of pool `pool` runs on: a tier's instances are dealt to
    /// machines in turn, pool after pool (a database's primary on the
    /// first, its replicas on the next); a sharded database's replicas
    /// start one machine after their shard's primary, so that on as many
    /// machines as shards none shares its primary's.
    pub fn machine_index(&self, pool: usize, i: u32, machines: u32) -> u32 {
        let m = machines.max(1);
        if self.shards > 1 && self.pools[pool].role == Role::Replicas {
            let per = (self.pools[pool].instances / self.shards).max(1);
            return (i / per + 1 + i % per) % m;
        }
        let slot: u32 = self.pools[..pool].iter().map(|p| p.instances).sum();
        (slot + i) % m
    }

    /// A label for one pool in reports: `web`, `db primary`, `db replicas`.
    pub fn pool_label(&self, pool: usize) -> String {
        match self.pools[pool].role {
            Role::Instances => self.name.clone(),
            r => format!("{} {}", self.name, r.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_sample_less_often() {
        let mut sim = Simulation {
            duration_ns: 1_000 * 1_000_000_000,
            warmup: Warmup::Fixed(0),
            replications: 1,
            seed: 1,
            sample_every_ns: 1_000_000_000,
            drain_ns: 0,
        };
        assert_eq!(
            sim.cap_series(),
            None,
            "1000 intervals are kept as they are"
        );
        sim.duration_ns = 125_000 * 1_000_000_000;
        assert_eq!(sim.cap_series(), Some(12_500_000_000));
        assert!(sim.window_end_ns().div_ceil(sim.sample_every_ns) <= MAX_SERIES_INTERVALS);
    }

    #[test]
    fn schedule_steps_and_ramps() {
        const S: u64 = 1_000_000_000;
        let a = Arrivals::Schedule(vec![
            RatePoint {
                at_ns: 0,
                rate_rps: 100.0,
                ramp: false,
            },
            RatePoint {
                at_ns: 10 * S,
                rate_rps: 200.0,
                ramp: false,
            },
            RatePoint {
                at_ns: 20 * S,
                rate_rps: 400.0,
                ramp: true,
            },
        ]);
        assert_eq!(a.rate_at(0), Some(100.0));
        assert_eq!(a.rate_at(9 * S), Some(100.0));
        assert_eq!(a.rate_at(10 * S), Some(200.0));
        assert_eq!(a.rate_at(15 * S), Some(300.0));
        assert_eq!(a.rate_at(20 * S), Some(400.0));
        assert_eq!(a.rate_at(1000 * S), Some(400.0));
        assert_eq!(a.peak_rate(), Some(400.0));
        // A peak after the end does not count; a ramp's value at the end does.
        assert_eq!(a.peak_rate_until(0), Some(100.0));
        assert!(
            a.peak_rate_until(15 * S)
                .is_some_and(|r| (r - 300.0).abs() < 1e-6)
        );
        // A step at the very end adds nothing inside the run.
        assert_eq!(a.peak_rate_until(10 * S), Some(100.0));
        assert_eq!(a.peak_rate_until(25 * S), Some(400.0));
        let m = a.mean_rate(10 * S, 20 * S).unwrap();
        assert!((m - 300.0).abs() < 0.1, "{m}");
    }
}

#[cfg(test)]
mod data_summary_tests {
    use super::DataSummary;

    #[test]
    fn arrivals_are_summarised_by_span_and_rate() {
        // 11 arrivals, one every 100 ms from 2 s: 10 gaps over 1 s.
        let times: Vec<u64> = (0..11).map(|i| 2_000_000_000 + i * 100_000_000).collect();
        assert_eq!(
            DataSummary::of_arrivals(&times),
            DataSummary::Arrivals {
                first_s: 2.0,
                last_s: 3.0,
                mean_rate_rps: 10.0
            }
        );
        let one = DataSummary::of_arrivals(&[5]);
        assert!(matches!(one, DataSummary::Arrivals { mean_rate_rps, .. } if mean_rate_rps == 0.0));
    }

    #[test]
    fn samples_are_summarised_by_nearest_rank() {
        // 1..=100 ms in reverse order.
        let v: Vec<f64> = (1..=100).rev().map(|i| f64::from(i) * 1e6).collect();
        assert_eq!(
            DataSummary::of_samples(&v),
            DataSummary::Samples {
                min_ms: 1.0,
                mean_ms: 50.5,
                p50_ms: 50.0,
                p99_ms: 99.0,
                max_ms: 100.0
            }
        );
    }
}
