//! What one replication observed, in raw counts and integrals. The model
//! fills these in; [`super::summary`] turns R of them into estimates.

use serde::Serialize;

use super::hist::LatencyHistogram;

/// Why an attempt failed. Every failed request has exactly one cause: that
/// of its last attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// An accept queue was full.
    QueueFull,
    /// The client's or a tier's timeout expired.
    Timeout,
    /// The chosen instance was down (connection refused).
    BackendDown,
    /// Every instance of the next tier was marked down by health checks.
    NoBackend,
    /// The database had no primary (a write, or a read routed to the primary).
    NoPrimary,
    /// The instance crashed while the request was in its queue, in service,
    /// or holding one of its workers.
    Crash,
    /// A firewall's connection-tracking table was full.
    ConntrackFull,
}

/// Number of causes.
pub const N_CAUSES: usize = 7;

impl Cause {
    /// Every cause, in index order.
    pub const ALL: [Cause; N_CAUSES] = [
        Cause::QueueFull,
        Cause::Timeout,
        Cause::BackendDown,
        Cause::NoBackend,
        Cause::NoPrimary,
        Cause::Crash,
        Cause::ConntrackFull,
    ];

    /// Column-safe name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::QueueFull => "queue_full",
            Cause::Timeout => "timeout",
            Cause::BackendDown => "backend_down",
            Cause::NoBackend => "no_backend",
            Cause::NoPrimary => "no_primary",
            Cause::Crash => "crash",
            Cause::ConntrackFull => "conntrack_full",
        }
    }

    /// Words for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::QueueFull => "queue full",
            Cause::Timeout => "timeout",
            Cause::BackendDown => "backend down",
            Cause::NoBackend => "no backend up",
            Cause::NoPrimary => "no primary",
            Cause::Crash => "crash",
            Cause::ConntrackFull => "conntrack table full",
        }
    }

    /// Index into per-cause arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Observations of one pool (a tier, or a database role) over the window.
#[derive(Clone, Debug)]
pub struct PoolObs {
    /// Workers across the pool's instances.
    pub workers: u32,
    /// Instances.
    pub instances: u32,
    /// Visits arriving in the window (each call counts).
    pub arrivals: u64,
    /// Services completed in the window.
    pub completions: u64,
    /// Visits refused because the accept queue was full.
    pub drops: u64,
    /// Integral of busy workers over the window (worker-ns).
    pub busy_ns: f64,
    /// Of `busy_ns`, the part where workers were held waiting on later tiers.
    pub held_ns: f64,
    /// Service time spent on requests whose user had already given up
    /// (timed out, failed elsewhere): wasted work (worker-ns).
    pub wasted_ns: f64,
    /// Integral of instances down over the window (instance-ns).
    pub down_ns: f64,
    /// Instance failures in the window.
    pub failures: u64,
    /// Integral of waiting requests over the window (request-ns).
    pub queue_ns: f64,
    /// Sum of waits of services that started in the window (ns).
    pub wait_sum_ns: f64,
    /// Services that started in the window.
    pub waits: u64,
    /// Time from arrival at the pool to end of service, per completion (ns).
    pub sojourn: LatencyHistogram,
    /// Least-squares slope of requests present at the pool over the window (per s).
    pub backlog_slope_per_s: f64,
    /// Requests present (waiting + in service + held) at the end of the window.
    pub present_at_end: u64,
    /// Services begun in the window, and their time on a core and off it (ns).
    pub cpu_services: u64,
    /// CPU time of those services (ns), TLS and firewall rules included.
    pub cpu_ns: f64,
    /// Their off-core time (ns): waiting on sockets or disks with the worker busy.
    pub off_core_ns: f64,
    /// With a `wakeup` cost: the services that began in the window and
    /// woke their thread or worker from idle (None without the cost).
    pub wakeups: Option<u64>,
    /// With random pauses: the pauses begun in the window and the paused
    /// instance-time (ns), summed over the instances (None without).
    pub pauses: Option<(u64, f64)>,
}

/// Observations of one instance, where instances of a pool may differ.
#[derive(Clone, Debug, Default)]
pub struct InstanceObs {
    /// Index of the pool it belongs to.
    pub pool: usize,
    /// Workers.
    pub workers: u32,
    /// Visits arriving in the window.
    pub arrivals: u64,
    /// Drops in the window.
    pub drops: u64,
    /// Integral of busy workers over the window.
    pub busy_ns: f64,
}

/// End-to-end observations of one class (or all), by arrival in the window.
#[derive(Clone, Debug)]
pub struct ClassObs {
    /// User requests that arrived in the window.
    pub arrived: u64,
    /// Of those, completed (possibly after the window, while draining).
    pub completed: u64,
    /// Of those, completed before the window closed.
    pub completed_by_end: u64,
    /// User requests completed inside the window, whenever they arrived:
    /// the throughput numerator.
    pub finished_in_window: u64,
    /// Of those that arrived, failed, by the cause of their last attempt.
    pub failed: [u64; N_CAUSES],
    /// Of those, still in flight (or waiting to retry) when the run stopped.
    pub in_flight: u64,
    /// Of those, neither completed nor failed when the window closed (some
    /// may finish in the drain after it).
    pub open_at_end: u64,
    /// Attempts made for them (first attempts and retries).
    pub attempts: u64,
    /// End-to-end latency of the completed ones, from their first attempt.
    pub latency: LatencyHistogram,
    /// Time from the first attempt to the error, of the failed ones: with
    /// `latency`, the latency users saw, failures included.
    pub failed_latency: LatencyHistogram,
}

impl ClassObs {
    /// An empty record.
    pub fn new() -> Self {
        ClassObs {
            arrived: 0,
            completed: 0,
            completed_by_end: 0,
            finished_in_window: 0,
            failed: [0; N_CAUSES],
            in_flight: 0,
            open_at_end: 0,
            attempts: 0,
            latency: LatencyHistogram::new(3),
            failed_latency: LatencyHistogram::new(3),
        }
    }

    /// Adds another record's counts and latencies (the overall record is
    /// the sum of the per-class ones).
    pub fn add(&mut self, o: &ClassObs) {
        self.arrived += o.arrived;
        self.completed += o.completed;
        self.completed_by_end += o.completed_by_end;
        self.finished_in_window += o.finished_in_window;
        for (a, b) in self.failed.iter_mut().zip(&o.failed) {
            *a += b;
        }
        self.in_flight += o.in_flight;
        self.open_at_end += o.open_at_end;
        self.attempts += o.attempts;
        self.latency.merge(&o.latency);
        self.failed_latency.merge(&o.failed_latency);
    }

    /// Failed requests, all causes.
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }
}

impl Default for ClassObs {
    fn default() -> Self {
        Self::new()
    }
}

/// Exact request accounting over the whole run (warm-up included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    /// Every user request sent into the stack (with a client connection
    /// cap, arrivals still waiting for a connection are not).
    pub arrived: u64,
    /// Completed end to end.
    pub completed: u64,
    /// Failed, with a cause.
    pub failed: u64,
    /// Still in the system (or waiting to retry) when the run stopped.
    pub in_flight: u64,
    /// Attempts made, retries included.
    pub attempts: u64,
}

/// One time-series interval `[start, start + width)`.
#[derive(Clone, Debug, Default)]
pub struct SampleObs {
    /// Interval start (ns from the beginning of the run).
    pub start_ns: u64,
    /// Interval width (ns); the last one may be shorter.
    pub width_ns: u64,
    /// User requests arriving in the interval.
    pub offered: u64,
    /// User requests completing in the interval.
    pub completed: u64,
    /// Failed attempts in the interval, by cause (each retry counts).
    pub errors: [u64; N_CAUSES],
    /// User requests that failed for good in the interval, by the cause of
    /// their last attempt.
    pub failed: [u64; N_CAUSES],
    /// Mean end-to-end latency of completions in the interval (ns, NaN if none).
    pub mean_ns: f64,
    /// Median end-to-end latency of completions in the interval (ns, NaN if none).
    pub p50_ns: f64,
    /// 95th percentile of the same (ns, NaN if none).
    pub p95_ns: f64,
    /// 99th percentile of the same (ns, NaN if none).
    pub p99_ns: f64,
    /// Per class: p50, p95, p99 of completions in the interval (ns, NaN if none).
    pub class_latency: Vec<[f64; 3]>,
    /// Per pool: time-average busy workers / workers.
    pub utilization: Vec<f64>,
    /// Per pool: time-average waiting requests.
    pub queue: Vec<f64>,
}

/// Something that happened to a component: the fault timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEvent {
    /// When (s from the start of the run).
    pub time_s: f64,
    /// Which component: `web#1`, `db primary`, `db`.
    pub component: String,
    /// What happened.
    pub event: ComponentEvent,
}

/// What happened to a component, as `faults.csv` and `summary.json` spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentEvent {
    /// It stopped serving (a crash, a scripted outage, its machine down).
    Down,
    /// It serves again.
    Up,
    /// A health checker took it out of rotation.
    MarkedDown,
    /// A health checker put it back.
    MarkedUp,
    /// A scripted slowdown began.
    SlowStart,
    /// The slowdown ended.
    SlowEnd,
    /// A database lost its primary.
    PrimaryLost,
    /// Failover noticed the loss.
    FailoverDetected,
    /// No replica could be promoted.
    PromotionFailed,
    /// A replica became the primary.
    Promoted,
    /// The old primary is back.
    PrimaryBack,
}

impl ComponentEvent {
    /// The spelling in `faults.csv` and `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentEvent::Down => "down",
            ComponentEvent::Up => "up",
            ComponentEvent::MarkedDown => "marked_down",
            ComponentEvent::MarkedUp => "marked_up",
            ComponentEvent::SlowStart => "slow_start",
            ComponentEvent::SlowEnd => "slow_end",
            ComponentEvent::PrimaryLost => "primary_lost",
            ComponentEvent::FailoverDetected => "failover_detected",
            ComponentEvent::PromotionFailed => "promotion_failed",
            ComponentEvent::Promoted => "promoted",
            ComponentEvent::PrimaryBack => "primary_back",
        }
    }
}

/// A period when a database took no writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WriteOutage {
    /// The database tier.
    pub database: String,
    /// Start (s from the beginning of the run).
    pub start_s: f64,
    /// End, or `None` if it lasted past the end of the run.
    pub end_s: Option<f64>,
}

/// Observations of one host group over the window.
#[derive(Clone, Debug, Default)]
pub struct HostObs {
    /// Cores across the group's machines.
    pub cores: u32,
    /// Integral of busy cores (core-ns).
    pub busy_ns: f64,
    /// Of it, monitoring agents' (core-ns).
    pub agent_ns: f64,
    /// Per machine of the group: integral of busy cores (core-ns).
    pub machine_busy_ns: Vec<f64>,
    /// Services given a core in the window.
    pub core_grants: u64,
    /// Their total wait for it (ns).
    pub core_wait_ns: f64,
    /// With a `switch_cost`: bursts preempted in the window, and the CPU
    /// the switches cost (core-ns); None without.
    pub switches: Option<(u64, f64)>,
    /// With random pauses: the pauses begun in the window and the paused
    /// machine-time (ns), summed over the machines (None without).
    pub pauses: Option<(u64, f64)>,
}

/// One visit of a logged request to a station: when it arrived, started
/// service and ended it (ns from the start).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct VisitRecord {
    /// Tier index.
    pub tier: u16,
    /// Instance index within its pool.
    pub instance: u32,
    /// Arrival at the station.
    pub arrive_ns: u64,
    /// Service start.
    pub start_ns: u64,
    /// Service end.
    pub end_ns: u64,
}

/// A user request as a web server's access log would show it.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessRecord {
    /// When the response (or the error) went out (ns from the start).
    pub end_ns: u64,
    /// From the request's arrival to then (ns): Nginx's `$request_time`.
    pub duration_ns: u64,
    /// Class index.
    pub class: u16,
    /// HTTP status: 200, or 5xx by the failure's cause.
    pub status: u16,
    /// Which web server (instance index), 0 if it never reached one.
    pub server: u32,
    /// Its visits in route order (the last call of each step), for the
    /// balancer, web and slow-query logs.
    pub visits: Vec<VisitRecord>,
}

/// Everything one replication observed.
#[derive(Clone, Debug)]
pub struct RepObs {
    /// Start of the observation window (ns).
    pub window_start_ns: u64,
    /// Observation window length (ns).
    pub window_ns: u64,
    /// Per pool, in (tier, pool) order.
    pub pools: Vec<PoolObs>,
    /// Per instance, in pool order.
    pub instances: Vec<InstanceObs>,
    /// Per class, end to end.
    pub classes: Vec<ClassObs>,
    /// All classes together.
    pub overall: ClassObs,
    /// Whole-run accounting.
    pub conservation: Conservation,
    /// The time series, warm-up included.
    pub series: Vec<SampleObs>,
    /// The fault timeline.
    pub timeline: Vec<TimelineEvent>,
    /// Periods without a write primary.
    pub write_outages: Vec<WriteOutage>,
    /// Per host group, in the scenario's order.
    pub hosts: Vec<HostObs>,
    /// Access-log records (replication 0, when asked for).
    pub access_log: Vec<AccessRecord>,
    /// Events processed (for speed figures).
    pub events: u64,
    /// Set when the replication stopped early, holding the most requests
    /// in flight a replication may (the model's `MAX_IN_FLIGHT`).
    pub overflow: Option<Overflow>,
    /// Per scripted fault (in the scenario's order): the requests that
    /// arrived before, during and after it, inside the window.
    pub phases: Vec<[PhaseObs; 3]>,
    /// With random failures: the requests split by whether any instance
    /// was down when they arrived.
    pub down_split: Option<DownSplit>,
    /// With a client connection cap: its waits, refusals and the latency
    /// from send.
    pub client: Option<ClientObs>,
    /// Per database tier with `replication`, in tier order.
    pub replication: Vec<ReplicationObs>,
}

/// What one database tier's replication did in a replication (the run's):
/// writes applied in the window and reads served by its replicas in it.
#[derive(Clone, Debug)]
pub struct ReplicationObs {
    /// The database tier.
    pub database: String,
    /// From commit on the primary to applied on a replica, per write and
    /// replica, of applies that ended in the window.
    pub lag: LatencyHistogram,
    /// Reads served by a replica, per class.
    pub reads: Vec<u64>,
    /// Of those, stale: a write committed at least `stale_after` earlier
    /// was not yet applied there.
    pub stale: Vec<u64>,
    /// Reads sent to the primary because their client wrote recently
    /// (`read_your_writes`), per class.
    pub own_writes: Vec<u64>,
    /// Writes lost at promotions: committed, never received by the
    /// promoted replica (the whole run).
    pub lost_writes: u64,
    /// Promotions (the whole run).
    pub promotions: u64,
    /// Semi-synchronous commits' wait for the first acknowledgement.
    pub acks: LatencyHistogram,
    /// Writes committed and not yet applied as the window closed, summed
    /// over the replicas.
    pub backlog_at_end: u64,
}

/// The client side of a scenario whose client caps its requests
/// outstanding (`connections`), inside the observation window by arrival.
#[derive(Clone, Debug)]
pub struct ClientObs {
    /// Arrivals in the window: sent at once, waited, or refused.
    pub arrived: u64,
    /// Of those, refused: every connection was busy (`when_busy = "refuse"`).
    pub refused: u64,
    /// Of those sent, the ones that waited for a connection.
    pub waited: u64,
    /// Time from arrival to send, of every request sent (zeros included).
    pub wait: LatencyHistogram,
    /// Latency of the completed ones from their send, as the stack's own
    /// logs see it (the end-to-end latency counts from the arrival).
    pub sent_latency: LatencyHistogram,
    /// Of the arrivals, still waiting for a connection when the run stopped.
    pub waiting_at_end: u64,
    /// Growth of the client's queue over the window (least-squares slope
    /// of its sampled length, requests/s).
    pub backlog_slope_per_s: f64,
}

impl ClientObs {
    /// An empty record.
    pub fn new() -> Self {
        ClientObs {
            arrived: 0,
            refused: 0,
            waited: 0,
            wait: LatencyHistogram::new(2),
            sent_latency: LatencyHistogram::new(3),
            waiting_at_end: 0,
            backlog_slope_per_s: 0.0,
        }
    }
}

impl Default for ClientObs {
    fn default() -> Self {
        Self::new()
    }
}

/// The user requests of a scenario with random failures, split by the
/// state of the stack when they arrived: every instance up (index 0), or
/// at least one down (index 1), inside the observation window.
#[derive(Clone, Debug)]
pub struct DownSplit {
    /// Time inside the window spent in each state (ns).
    pub time_ns: [u64; 2],
    /// The requests that arrived in each state (their `start_ns` and
    /// `end_ns` are the window's: the states come and go).
    pub arrived_in: [PhaseObs; 2],
}

impl DownSplit {
    /// Empty, for the window `[ws, we)`.
    pub fn new(ws: u64, we: u64) -> DownSplit {
        let [_, a, _] = PhaseObs::around(ws, we - ws, ws, we);
        DownSplit {
            time_ns: [0, 0],
            arrived_in: [a.clone(), a],
        }
    }

    /// Adds the part of `[from, to)` inside the window `[ws, we)` to the
    /// time spent in `state`.
    pub fn spend(&mut self, state: usize, from: u64, to: u64, ws: u64, we: u64) {
        let (a, b) = (from.clamp(ws, we), to.clamp(ws, we));
        self.time_ns[state] += b.saturating_sub(a);
    }
}

/// The user requests that arrived in one phase around a scripted fault
/// (before it, while it lasts, after it), inside the observation window.
#[derive(Clone, Debug)]
pub struct PhaseObs {
    /// The phase, clipped to the window (ns from the start of the run).
    pub start_ns: u64,
    /// Its end.
    pub end_ns: u64,
    /// Arrived in it.
    pub arrived: u64,
    /// Of those, completed.
    pub completed: u64,
    /// Of those, failed.
    pub failed: u64,
    /// The latency users saw (a completion, or the time to the error),
    /// from the first attempt.
    pub seen: LatencyHistogram,
}

impl PhaseObs {
    /// The three phases of a fault from `at` for `len`, clipped to the
    /// window `[ws, we)` (a phase may be empty).
    pub fn around(at: u64, len: u64, ws: u64, we: u64) -> [PhaseObs; 3] {
        let clip = |t: u64| t.clamp(ws, we);
        let (a, b) = (clip(at), clip(at.saturating_add(len)));
        let phase = |start_ns, end_ns| PhaseObs {
            start_ns,
            end_ns,
            arrived: 0,
            completed: 0,
            failed: 0,
            seen: LatencyHistogram::new(3),
        };
        [phase(ws, a), phase(a, b), phase(b, we)]
    }

    /// Which of the three phases `t` falls in.
    #[inline]
    pub fn index(p: &[PhaseObs; 3], t: u64) -> Option<usize> {
        p.iter().position(|x| t >= x.start_ns && t < x.end_ns)
    }
}

/// A replication stopped for holding too many requests in flight.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Overflow {
    /// When (ns from the start of the run).
    pub at_ns: u64,
    /// Requests in flight then.
    pub in_flight: u64,
    /// Requests that had arrived by then.
    pub arrived: u64,
    /// The most a replication holds.
    pub limit: u64,
}
