//! The run-time state of one replication: events, requests, stations,
//! database roles, and the simulation that owns them.

use std::collections::VecDeque;

use super::Model;
use super::{HostId, IdVec, PoolId, StationId};
use crate::engine::{EventQueue, SimRng};
use crate::scenario::MAX_STEPS;
use crate::stats::{
    AccessRecord, Cause, ClassObs, Conservation, LatencyHistogram, N_CAUSES, SampleObs,
    TimelineEvent, WriteOutage,
};

/// The model's events. Each is emitted and handled as its doc says.
#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    /// Next open arrival. Emitted at start and by its own handler.
    Arrival,
    /// A closed-workload user finishes thinking. Emitted at start and when
    /// the user's request ends.
    Wake(u32),
    /// A service ends. Emitted when service starts. `tag` packs the
    /// attempt's epoch (low 24 bits: is the request still that attempt?) and
    /// the station's crash count (high 8 bits: was the service lost in a
    /// crash?), keeping the event at 16 bytes.
    Done {
        station: StationId,
        req: u32,
        tag: u32,
    },
    /// Close a time-series interval. Emitted at start and by its own handler.
    Sample,
    /// Start observing: snapshot counters. Emitted at start.
    WindowStart,
    /// Stop observing and stop arrivals. Emitted at start.
    WindowEnd,
    /// A random failure of a station. Emitted at start and on repair.
    Fail(StationId),
    /// A random repair. Emitted on failure.
    Repair(StationId),
    /// A scripted fault begins. Emitted at start.
    FaultStart(u32),
    /// A scripted fault ends. Emitted at start.
    FaultEnd(u32),
    /// A random pause of a station begins. Emitted at start and at the
    /// previous pause's end.
    PauseStart(StationId),
    /// A random pause ends. Emitted at its start.
    PauseEnd(StationId),
    /// A random pause of a machine begins (every station on it slows).
    /// Emitted at start and at the previous pause's end.
    HostPauseStart(HostId),
    /// A machine's random pause ends. Emitted at its start.
    HostPauseEnd(HostId),
    /// A health check of a station. Emitted at start and by itself.
    HealthCheck(StationId),
    /// A health check of a dead station has timed out. Emitted by HealthCheck.
    CheckFailed(StationId),
    /// A database's primary loss is detected. Emitted on the loss.
    FailoverDetected { db: u32, epoch: u32 },
    /// A replica becomes the primary. Emitted on detection.
    Promoted { db: u32, epoch: u32 },
    /// Replicated writes are due at a replica. Emitted at a commit (or
    /// when its stream resumes) for the first write it waits for.
    Received(StationId),
    /// A replica's applier finished a write (`code`: applier, and the
    /// replica's generation above bit 16). Emitted when it started.
    Applied { station: StationId, code: u32 },
    /// A semi-synchronous commit's acknowledgement is back: the write's
    /// service on the primary ends. Emitted at its commit.
    Acked {
        station: StationId,
        req: u32,
        tag: u32,
    },
    /// A deadline of an attempt (client or tier timeout). Emitted when the
    /// attempt starts or enters a tier with a timeout.
    Timeout { req: u32, epoch: u32 },
    /// A failed attempt is tried again. Emitted on failure, after backoff.
    Retry { req: u32, epoch: u32 },
    /// A client connection came free with arrivals waiting: the first is
    /// sent. Emitted when a request ends (a connection cap only).
    ClientSend,
    /// A request reaches a station after its network hop. Emitted by visit.
    Deliver {
        station: StationId,
        req: u32,
        epoch: u32,
    },
    /// A host's monitoring agent samples. Emitted at start and by itself.
    AgentTick(HostId),
    /// A monitoring sample's CPU work ends. Emitted when it gets a core.
    AgentDone(HostId),
    /// A background burst arrives on a machine. Emitted at start and by itself.
    BackgroundTick(HostId),
    /// A background burst's CPU work ends. Emitted when it gets a core.
    BackgroundDone(HostId),
    /// A burst of yielding background (`idle_background`) is due on a
    /// machine. Emitted at start and by itself.
    IdleTick(HostId),
    /// The next burst on a processor-sharing machine may end (stale unless
    /// its generation is the machine's). Emitted by the machine's PS state.
    PsDone(HostId, u32),
    /// A burst on a fair-scheduled machine ends its work or its slice
    /// (core index in the top 8 bits, the core's generation below; stale
    /// unless the generation is the core's). Emitted by `cfs_run`.
    CfsTick(HostId, u32),
    /// A service's CPU burst ends; its off-core part follows. Emitted by
    /// `begin` for a service with an off-core part on a machine or under a
    /// thread cap.
    CpuDone {
        station: StationId,
        req: u32,
        tag: u32,
    },
    /// A service ends after its off-core part (its core already released).
    /// Emitted by `CpuDone`.
    OffCoreDone {
        station: StationId,
        req: u32,
        tag: u32,
    },
}

/// Where an attempt is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The slot is free.
    Free,
    /// Between stations (never across an event).
    Transit,
    /// In a station's accept queue.
    Queued,
    /// Being served.
    InService,
    /// A write waiting for a database primary.
    Pending,
    /// Waiting to retry.
    Backoff,
}

/// A request in flight. Lives in a slab slot reused after it leaves.
#[derive(Clone, Copy)]
pub(super) struct Request {
    pub class: u16,
    pub step: u16,
    pub calls_left: u32,
    pub user: u32,
    /// Bumped whenever the slot's attempt ends: stale events compare it.
    pub epoch: u32,
    pub attempt: u32,
    /// When the user request arrived (its first attempt).
    pub born: u64,
    pub at_station: u64,
    /// When the current service started.
    pub service_start: u64,
    pub station: StationId,
    pub phase: Phase,
    /// Arrived while an instance was down (scenarios with random failures).
    pub degraded: bool,
    /// Its shard key, a uniform draw fixed for the request's life (its
    /// retries reach the same shard); 0 when nothing is sharded.
    pub key: u32,
    /// Its client, for read-your-writes routing: a closed workload's user,
    /// or one of an open workload's `clients`; 0 when nothing asks.
    pub client: u32,
    /// Per step: the station whose last call this request finished (open
    /// connection; a held worker where the step holds), or StationId::NONE.
    pub inst: [StationId; MAX_STEPS],
}

/// Run-time state of one station. Counters are cumulative from time zero;
/// the window is a difference of snapshots.
pub(super) struct Station {
    pub busy: u32,
    /// Of the busy workers, those held waiting on later tiers.
    pub held: u32,
    /// Requests that entered and have not been answered end to end (leastconn).
    pub open: u32,
    /// Visits waiting for a worker, each with the time it joined.
    pub queue: VecDeque<(u64, Waiting)>,
    /// Time integrals of busy, held, queued and down as running sums: a
    /// level that rises by one at `t` subtracts `t`, one that falls adds it,
    /// so the integral up to `now` is `acc + level * now`. Change the levels
    /// only through the methods below, which keep the sums.
    pub busy_acc: i128,
    pub held_acc: i128,
    pub queue_acc: i128,
    pub down_acc: i128,
    pub c: Counters,
    pub at_start: Counters,
    pub rng: SimRng,
    pub up: bool,
    /// Outages in force (random and scripted can overlap).
    pub down_reasons: u32,
    /// Crashes so far (its low 8 bits tag services in progress).
    pub crashes: u32,
    /// Services running for attempts that already ended (wasted work).
    pub orphans: u32,
    /// Wasted worker-ns, as a running sum: orphan ends added, their starts
    /// subtracted; `orphans x now` completes it at any instant.
    pub wasted_acc: i128,
    /// Health checks' verdict; always true when unchecked.
    pub marked_up: bool,
    pub fail_row: u32,
    pub pass_row: u32,
    /// Service-time multiplier (scripted slowdowns).
    pub slow: f64,
    /// The pool whose service times this station uses (a promoted replica
    /// serves with the primary's).
    pub service_pool: PoolId,
    /// Cores of its host this station's services hold now.
    pub cores_held: u32,
    /// Services begun while observing on a machine or under a thread cap,
    /// and their CPU and off-core time (ns).
    pub cpu_services: u64,
    pub cpu_ns: u64,
    pub off_core_ns: u64,
}

impl Station {
    /// A worker becomes busy at `now`.
    #[inline]
    pub fn occupy(&mut self, now: u64) {
        self.busy += 1;
        self.busy_acc -= i128::from(now);
    }

    /// A worker becomes free at `now`.
    #[inline]
    pub fn vacate(&mut self, now: u64) {
        self.busy -= 1;
        self.busy_acc += i128::from(now);
    }

    /// A busy worker starts (`true`) or stops holding for later tiers.
    #[inline]
    pub fn hold(&mut self, now: u64, on: bool) {
        if on {
            self.held += 1;
            self.held_acc -= i128::from(now);
        } else {
            self.held -= 1;
            self.held_acc += i128::from(now);
        }
    }

    #[inline]
    pub fn enqueue(&mut self, now: u64, w: Waiting) {
        self.queue.push_back((now, w));
        self.queue_acc -= i128::from(now);
    }

    /// The next visit to serve and how long it waited.
    #[inline]
    pub fn dequeue(&mut self, now: u64) -> Option<(Waiting, u64)> {
        let (since, w) = self.queue.pop_front()?;
        self.queue_acc += i128::from(now);
        Some((w, now - since))
    }

    /// The station goes down or comes back up.
    pub fn set_up(&mut self, now: u64, up: bool) {
        if up != self.up {
            self.up = up;
            self.down_acc += if up { 1 } else { -1 } * i128::from(now);
        }
    }

    /// A crash: every worker freed, the queue emptied.
    pub fn clear(&mut self, now: u64) {
        let t = i128::from(now);
        self.busy_acc += i128::from(self.busy) * t;
        self.held_acc += i128::from(self.held) * t;
        self.queue_acc += self.queue.len() as i128 * t;
        self.busy = 0;
        self.held = 0;
        // The waits of visits lost from the queue end here (Little's law
        // counts them in the queue until now).
        for (since, _) in self.queue.drain(..) {
            self.c.waits += 1;
            self.c.wait_sum += u128::from(now - since);
        }
    }

    /// The integrals of busy, held, queued and down up to `now` (unit-ns).
    pub fn areas(&self, now: u64) -> [u128; 4] {
        let t = i128::from(now);
        let area = |acc: i128, level: i128| (acc + level * t) as u128;
        [
            area(self.busy_acc, i128::from(self.busy)),
            area(self.held_acc, i128::from(self.held)),
            area(self.queue_acc, self.queue.len() as i128),
            area(self.down_acc, i128::from(!self.up)),
        ]
    }
}

/// An entry of an accept queue. A request whose attempt ended while it
/// waited (a timeout) stays queued: the server does not know its client
/// gave up, so it is still served, as wasted work.
#[derive(Clone, Copy)]
pub(super) struct Waiting {
    pub req: u32,
    pub epoch: u32,
    pub class: u16,
    /// Whether its service wakes a thread (or worker) from idle, and so
    /// pays the station's `wakeup` CPU; false when one still running takes
    /// it from a queue.
    pub woke: bool,
}

/// Cumulative per-station counters.
#[derive(Clone, Copy, Default)]
pub(super) struct Counters {
    pub arrivals: u64,
    pub drops: u64,
    pub completions: u64,
    pub waits: u64,
    pub failures: u64,
    pub wait_sum: u128,
    pub wasted: i128,
    pub busy_area: u128,
    pub held_area: u128,
    pub queue_area: u128,
    pub down_area: u128,
    /// Services that woke their thread or worker and paid `wakeup`.
    pub wakeups: u64,
}

impl Counters {
    pub(super) fn minus(&self, o: &Counters) -> Counters {
        Counters {
            arrivals: self.arrivals - o.arrivals,
            drops: self.drops - o.drops,
            completions: self.completions - o.completions,
            waits: self.waits - o.waits,
            failures: self.failures - o.failures,
            wait_sum: self.wait_sum - o.wait_sum,
            wasted: self.wasted - o.wasted,
            busy_area: self.busy_area - o.busy_area,
            held_area: self.held_area - o.held_area,
            queue_area: self.queue_area - o.queue_area,
            down_area: self.down_area - o.down_area,
            wakeups: self.wakeups - o.wakeups,
        }
    }
}

/// A database's changing roles.
pub(super) struct DbState {
    /// The current primary (zero or one station).
    pub primary: Vec<StationId>,
    /// Stations serving reads as replicas.
    pub replicas: Vec<StationId>,
    /// Primary and replicas (reads = "any").
    pub any: Vec<StationId>,
    /// The station that last held the primary role.
    pub last_primary: StationId,
    /// Writes waiting for a primary: (request, epoch).
    pub pending: VecDeque<(u32, u32)>,
    /// Bumped to cancel a failover in progress.
    pub epoch: u32,
    pub outage_start: Option<u64>,
}

/// Per-pool least-squares accumulators for the backlog trend.
#[derive(Clone, Copy, Default)]
pub(super) struct Trend {
    n: f64,
    st: f64,
    sy: f64,
    stt: f64,
    sty: f64,
}

impl Trend {
    pub(super) fn add(&mut self, t: f64, y: f64) {
        self.n += 1.0;
        self.st += t;
        self.sy += y;
        self.stt += t * t;
        self.sty += t * y;
    }
    pub(super) fn slope(&self) -> f64 {
        let d = self.n * self.stt - self.st * self.st;
        if self.n < 3.0 || d <= 0.0 {
            0.0
        } else {
            (self.n * self.sty - self.st * self.sy) / d
        }
    }
}

/// Where an attempt goes next.
pub(super) enum Pick {
    Station(StationId),
    Fail(Cause),
    /// A write waits for database `db` to have a primary.
    Wait(u32),
}

/// Work waiting for a core of a host.
#[derive(Clone, Copy)]
pub(super) enum HostTask {
    /// A service whose request already holds a worker at `station`,
    /// waiting for a core since `since`.
    Service {
        station: StationId,
        w: Waiting,
        since: u64,
    },
    /// A monitoring agent's sample.
    Agent,
    /// A burst of background CPU of this length (ns).
    Background(u64),
}

/// Run-time state of one machine: a pool of cores, FIFO.
pub(super) struct HostState {
    pub busy: u32,
    pub queue: VecDeque<HostTask>,
    pub last_ns: u64,
    /// Integral of busy cores (core-ns), cumulative.
    pub busy_area: u128,
    /// Of it, monitoring agents' (core-ns), cumulative.
    pub agent_area: u128,
    pub agents: u32,
    /// Yielding background bursts due and not yet run (they wait for a core
    /// no other work wants; at most the machine's `idle_backlog`).
    pub idle_pending: u32,
    /// `(busy_area, agent_area)` at the window start, then the window's share.
    pub window: (u128, u128),
    /// Services given a core while observing, and their total wait for it (ns).
    pub core_grants: u64,
    pub core_wait_ns: u128,
    /// Processor sharing (`scheduling = "ps"`): the bursts in progress
    /// (boxed: FIFO machines keep a small record).
    pub ps: Box<PsState>,
    /// The fair scheduler (`scheduling = "cfs"` or `"eevdf"`): its cores
    /// and run queue.
    pub cfs: Box<CfsState>,
}

/// A fair-scheduled machine: what runs on each core and the bursts that
/// wait, by virtual runtime (see `cfs.rs`).
#[derive(Default)]
pub(super) struct CfsState {
    /// `min_vruntime` (ns).
    pub min_v: i64,
    /// Per core (made on the first burst).
    pub cores: Vec<CfsCore>,
    /// Waiting bursts: (virtual runtime, sequence, entry), least first.
    pub queue: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u64, usize)>>,
    /// Bursts by index; a slot is reused after its burst ends.
    pub entries: Vec<CfsEntry>,
    pub free: Vec<usize>,
    pub seq: u64,
    /// EEVDF: the waiting bursts, in no order (picked by eligibility and
    /// deadline, a scan: queues are short).
    pub waiting: Vec<usize>,
    /// Preemptions while observing (each paying `switch_cost`).
    pub preemptions: u64,
}

/// One core of a fair-scheduled machine.
#[derive(Clone, Copy)]
pub(super) struct CfsCore {
    /// The entry running (`usize::MAX`: idle).
    pub entry: usize,
    /// When it started running this time, and its virtual runtime then.
    pub start_ns: u64,
    pub v0: i64,
    /// Bumped whenever the core's burst changes or is rescheduled.
    pub generation: u32,
}

impl Default for CfsCore {
    fn default() -> CfsCore {
        CfsCore {
            entry: usize::MAX,
            start_ns: 0,
            v0: 0,
            generation: 0,
        }
    }
}

/// A burst on a fair-scheduled machine.
#[derive(Clone, Copy)]
pub(super) struct CfsEntry {
    /// What to do when it ends.
    pub event: Event,
    /// The station whose service it is (`NONE` for background and agents)
    /// and its crash count then.
    pub station: StationId,
    pub crashes: u32,
    /// Its work, and what is left of it.
    pub work_ns: u64,
    pub left_ns: u64,
    /// Its virtual runtime when it last stopped running (or was placed).
    pub v: i64,
    /// Its virtual deadline (EEVDF only).
    pub deadline: i64,
    /// When it started, for the core-wait statistic.
    pub since: u64,
}

/// The bursts sharing a processor-sharing machine's cores: with n of them
/// on c cores each gets min(1, c/n) of a core. Virtual time advances at that
/// rate; a burst ends when it reaches its start plus its work (a heap keyed
/// by that finish keeps each event O(log n)).
#[derive(Default)]
pub(super) struct PsState {
    /// Work each burst has received since the start (ns of a core).
    pub v: f64,
    /// When `v` was last brought up to date.
    pub last_ns: u64,
    /// (finish in virtual time, sequence, entry index), smallest first.
    pub heap: std::collections::BinaryHeap<std::cmp::Reverse<(PsKey, u64, usize)>>,
    /// Entries by index; a slot is reused after its burst ends.
    pub entries: Vec<PsEntry>,
    pub free: Vec<usize>,
    /// Live bursts (a crashed station's are dead but stay in the heap).
    pub live: u32,
    /// Generation of the one pending `PsDone` event.
    pub generation: u32,
    pub seq: u64,
}

/// A virtual finish time, ordered (never NaN).
#[derive(Clone, Copy, PartialEq)]
pub(super) struct PsKey(pub f64);
impl Eq for PsKey {}
impl Ord for PsKey {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl PartialOrd for PsKey {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// A burst on a processor-sharing machine.
#[derive(Clone, Copy)]
pub(super) struct PsEntry {
    /// What to do when it ends.
    pub event: Event,
    /// The station whose service it is (`NONE` for background and agents)
    /// and its crash count then: a burst of a crashed station is dead.
    pub station: StationId,
    pub crashes: u32,
    /// Its work and when it started, for the core-wait statistic.
    pub work_ns: u64,
    pub since: u64,
}

/// One station's random consumers besides its service times: each its own
/// stream, so turning one on never shifts another's draws (common random
/// numbers between variants).
pub(super) struct StationStreams {
    /// TLS work per request.
    pub tls: SimRng,
    /// Network delay of the hop into the station.
    pub network: SimRng,
    /// Random failures: times to failure and to repair.
    pub failures: SimRng,
    /// The health checker's phase.
    pub health: SimRng,
    /// The CPU part, when it has its own distribution.
    pub cpu: SimRng,
}

/// A station's random pauses (`pauses`): their stream, whether one is on,
/// and the episodes and paused time so far and in the window.
pub(super) struct PauseState {
    pub rng: SimRng,
    pub on: bool,
    /// Paused time as a running sum (`acc + on x now` is the integral).
    pub acc: i128,
    /// Pauses begun so far.
    pub count: u64,
    /// Count and integral when the window opened.
    pub at_start: (u64, u128),
    /// The window's pauses begun and paused time (ns), set as it closes.
    pub window: (u64, u128),
}

impl PauseState {
    pub fn new(rng: SimRng) -> PauseState {
        PauseState {
            rng,
            on: false,
            acc: 0,
            count: 0,
            at_start: (0, 0),
            window: (0, 0),
        }
    }

    /// Pauses begun and the paused time up to `now`.
    pub fn so_far(&self, now: u64) -> (u64, u128) {
        let t = i128::from(now);
        (self.count, (self.acc + i128::from(self.on) * t) as u128)
    }
}

/// A station's CPU state beyond the hot [`Station`]: its thread cap's
/// queue, and what its services spent on and off a core. Touched only by
/// stations on a machine or under a thread cap.
#[derive(Default)]
pub(super) struct StationCpu {
    /// Requests holding or waiting for a core of the machine (at most `threads`).
    pub threads_busy: u32,
    /// Requests with a worker waiting for one of the instance's threads.
    pub thread_queue: VecDeque<Waiting>,
}

impl StationCpu {
    /// A crash: every request waiting for or holding a thread is gone.
    pub fn clear(&mut self) {
        self.thread_queue.clear();
        self.threads_busy = 0;
    }
}

/// One replication's state. `PS` is whether any machine shares its cores
/// (processor sharing): the FIFO-only build has every such branch removed,
/// so scenarios without it pay nothing for it.
pub(super) struct Sim<'m, const PS: bool> {
    pub m: &'m Model,
    pub hosts: IdVec<HostId, HostState>,
    /// Per station: its random consumers other than service (cold; kept
    /// apart from [`Station`] so the hot state stays small).
    pub aux: IdVec<StationId, StationStreams>,
    /// Per station: threads and CPU accounting (cold).
    pub cpu: IdVec<StationId, StationCpu>,
    /// Per station: its random pauses (empty when no pool pauses).
    pub pauses: Vec<PauseState>,
    /// Per machine: its random pauses (empty when no host pauses).
    pub host_pauses: Vec<PauseState>,
    /// Per station on a fair-scheduled machine: the virtual runtime its
    /// last burst reached (its workers' process, as the scheduler sees it);
    /// on an EEVDF machine, the lag it had then.
    pub cfs_v: Vec<i64>,
    /// Per slab slot: the off-core part of its current service, waited after
    /// its CPU burst (ns); beside the slab so requests stay small.
    pub off_core: Vec<u64>,
    /// Per machine: its monitoring agent's phase and CPU draws.
    pub agent_rng: IdVec<HostId, SimRng>,
    /// Per machine: its background bursts' gaps and lengths, and its
    /// off-path CPU per request.
    pub background_rng: IdVec<HostId, SimRng>,
    /// Per off-path host group: the machine that takes the next request's
    /// off-path CPU (round robin).
    pub off_path_next: Vec<u32>,
    pub q: EventQueue<Event>,
    pub stations: IdVec<StationId, Station>,
    pub slab: Vec<Request>,
    pub free: Vec<u32>,
    pub rr: Vec<u64>,
    pub dbs: Vec<DbState>,
    pub rng_arrivals: SimRng,
    pub rng_class: SimRng,
    pub rng_calls: SimRng,
    pub rng_balance: SimRng,
    pub rng_think: SimRng,
    pub rng_retry: SimRng,
    /// Shard keys (scenarios with a sharded database).
    pub rng_shard: SimRng,
    /// Clients of open arrivals (read-your-writes routing).
    pub rng_client: SimRng,
    /// Replication streams (`None` when no database replicates).
    pub repl: Option<Box<super::replication::Replication>>,
    pub retry_tokens: f64,
    pub window_start: u64,
    pub window_end: u64,
    pub observing: bool,
    pub accepting: bool,
    /// The replication stops at this time (the drain limit, or when too
    /// many requests are in flight).
    pub stop_ns: u64,
    /// Set when the replication was stopped for holding too many requests.
    pub overflow: Option<crate::stats::Overflow>,
    // observations
    pub pool_hist: Vec<LatencyHistogram>,
    pub classes: Vec<ClassObs>,
    /// Per scripted fault: requests by the phase they arrived in.
    pub phases: Vec<[crate::stats::obs::PhaseObs; 3]>,
    /// With random failures: requests by whether an instance was down.
    pub down_split: Option<crate::stats::obs::DownSplit>,
    /// Stations down now, and since when the count last left or reached 0.
    pub stations_down: u32,
    pub down_since: u64,
    /// Whether requests are counted by phase (`phases` or `down_split`).
    pub by_phase: bool,
    pub cons: Conservation,
    pub timeline: Vec<TimelineEvent>,
    pub outages: Vec<WriteOutage>,
    // current time-series interval
    pub bucket_start: u64,
    pub bucket: SampleObs,
    pub bucket_hist: LatencyHistogram,
    pub bucket_class_hist: Vec<LatencyHistogram>,
    pub prev_pool_busy: Vec<u128>,
    pub prev_pool_queue: Vec<u128>,
    pub series: Vec<SampleObs>,
    pub trends: Vec<Trend>,
    pub present_at_end: Vec<u64>,
    pub events: u64,
    /// Replication index.
    pub rep: u32,
    /// Access-log records (replication 0, up to the model's limit).
    pub access_log: Vec<AccessRecord>,
    /// Per slab slot, while the access log takes records: each step's last
    /// visit (arrival, service start, service end, station).
    pub trace: Vec<[(u64, u64, u64, StationId); MAX_STEPS]>,
    /// Whether visits are traced: replication 1 with an access log asked
    /// for (one flag on the hot path; the log's limit is checked inside).
    pub tracing: bool,
    /// The next replayed arrival (`replay` workloads).
    pub replay_next: usize,
    /// With a client connection cap: its connections, queue and records
    /// (cold: boxed, absent otherwise).
    pub client: Option<Box<ClientState>>,
}

/// The client's side of a connection cap (`workload.connections`).
pub(super) struct ClientState {
    /// Connections in use: requests sent and not yet ended, plus one
    /// reserved for each queued request whose send is scheduled.
    pub busy: u32,
    /// Arrivals waiting for a connection: arrival time and class.
    pub queue: VecDeque<(u64, u16)>,
    /// Per slab slot: how long its request waited for a connection (ns).
    pub waited_ns: Vec<u64>,
    /// The queue's length over the window, sampled as the pools' are.
    pub trend: Trend,
    pub obs: crate::stats::ClientObs,
}

/// `Request::user` of an open workload's request: no closed-loop user.
pub(super) const NO_USER: u32 = u32::MAX;

/// The epoch bits carried by a `Done` event (24: a slot would need 16
/// million attempt ends within one service time to alias).
pub(super) const EPOCH_MASK: u32 = 0x00FF_FFFF;

/// Reserve of the retry budget: retries allowed before any deposit.
pub(super) const RETRY_RESERVE: f64 = 10.0;

/// Failure causes have fixed indices; keep the array sizes in step.
const _: () = assert!(N_CAUSES == Cause::ALL.len());
