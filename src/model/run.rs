//! One replication: the event loop, requests moving through stations, and
//! the bookkeeping of observations. Failures, health checks and failover
//! live in `faults.rs`, on the same state.

use std::collections::VecDeque;

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use super::{Model, NONE, StepDef, Target};
use crate::engine::{EventQueue, SimRng, stream, stream_id};
use crate::scenario::{Access, Arrivals, Balance, MAX_STEPS, ReadsTo};
use crate::stats::{
    Cause, ClassObs, Conservation, InstanceObs, LatencyHistogram, N_CAUSES, PoolObs, RepObs,
    SampleObs, TimelineEvent, WriteOutage,
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
    Done { station: u32, req: u32, tag: u32 },
    /// Close a time-series interval. Emitted at start and by its own handler.
    Sample,
    /// Start observing: snapshot counters. Emitted at start.
    WindowStart,
    /// Stop observing and stop arrivals. Emitted at start.
    WindowEnd,
    /// A random failure of a station. Emitted at start and on repair.
    Fail(u32),
    /// A random repair. Emitted on failure.
    Repair(u32),
    /// A scripted fault begins. Emitted at start.
    FaultStart(u32),
    /// A scripted fault ends. Emitted at start.
    FaultEnd(u32),
    /// A health check of a station. Emitted at start and by itself.
    HealthCheck(u32),
    /// A health check of a dead station has timed out. Emitted by HealthCheck.
    CheckFailed(u32),
    /// A database's primary loss is detected. Emitted on the loss.
    FailoverDetected { db: u32, epoch: u32 },
    /// A replica becomes the primary. Emitted on detection.
    Promoted { db: u32, epoch: u32 },
    /// A deadline of an attempt (client or tier timeout). Emitted when the
    /// attempt starts or enters a tier with a timeout.
    Timeout { req: u32, epoch: u32 },
    /// A failed attempt is tried again. Emitted on failure, after backoff.
    Retry { req: u32, epoch: u32 },
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
    pub station: u32,
    pub phase: Phase,
    /// Per step: the station whose last call this request finished (open
    /// connection; a held worker where the step holds), or NONE.
    pub inst: [u32; MAX_STEPS],
}

/// Run-time state of one station. Counters are cumulative from time zero;
/// the window is a difference of snapshots.
pub(super) struct Station {
    pub busy: u32,
    /// Of the busy workers, those held waiting on later tiers.
    pub held: u32,
    /// Requests that entered and have not been answered end to end (leastconn).
    pub open: u32,
    pub queue: VecDeque<Waiting>,
    pub last_ns: u64,
    pub busy_area: u128,
    pub held_area: u128,
    pub queue_area: u128,
    pub down_area: u128,
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
    pub service_pool: u32,
}

/// An entry of an accept queue. A request whose attempt ended while it
/// waited (a timeout) stays queued: the server does not know its client
/// gave up, so it is still served, as wasted work.
#[derive(Clone, Copy)]
pub(super) struct Waiting {
    pub req: u32,
    pub epoch: u32,
    pub class: u16,
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
}

impl Counters {
    fn minus(&self, o: &Counters) -> Counters {
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
        }
    }
}

/// A database's changing roles.
pub(super) struct DbState {
    /// The current primary (zero or one station).
    pub primary: Vec<u32>,
    /// Stations serving reads as replicas.
    pub replicas: Vec<u32>,
    /// Primary and replicas (reads = "any").
    pub any: Vec<u32>,
    /// The station that last held the primary role.
    pub last_primary: u32,
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
    fn add(&mut self, t: f64, y: f64) {
        self.n += 1.0;
        self.st += t;
        self.sy += y;
        self.stt += t * t;
        self.sty += t * y;
    }
    fn slope(&self) -> f64 {
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
    Station(u32),
    Fail(Cause),
    /// A write waits for database `db` to have a primary.
    Wait(u32),
}

pub(super) struct Sim<'m> {
    pub m: &'m Model,
    pub q: EventQueue<Event>,
    pub stations: Vec<Station>,
    pub slab: Vec<Request>,
    pub free: Vec<u32>,
    pub rr: Vec<u64>,
    pub dbs: Vec<DbState>,
    pub rng_arrivals: SimRng,
    pub rng_class: SimRng,
    pub rng_calls: SimRng,
    pub rng_balance: SimRng,
    pub rng_think: SimRng,
    pub rng_fail: SimRng,
    pub rng_retry: SimRng,
    pub retry_tokens: f64,
    pub window_start: u64,
    pub window_end: u64,
    pub observing: bool,
    pub accepting: bool,
    // observations
    pub pool_hist: Vec<LatencyHistogram>,
    pub classes: Vec<ClassObs>,
    pub overall: ClassObs,
    pub cons: Conservation,
    pub timeline: Vec<TimelineEvent>,
    pub outages: Vec<WriteOutage>,
    // current time-series interval
    bucket_start: u64,
    bucket: SampleObs,
    bucket_hist: LatencyHistogram,
    bucket_class_hist: Vec<LatencyHistogram>,
    prev_pool_busy: Vec<u128>,
    prev_pool_queue: Vec<u128>,
    series: Vec<SampleObs>,
    trends: Vec<Trend>,
    present_at_end: Vec<u64>,
    events: u64,
}

/// The epoch bits carried by a `Done` event (24: a slot would need 16
/// million attempt ends within one service time to alias).
const EPOCH_MASK: u32 = 0x00FF_FFFF;

/// Reserve of the retry budget: retries allowed before any deposit.
const RETRY_RESERVE: f64 = 10.0;

/// Runs replication `rep` of the model and returns what it observed.
pub fn run_replication(m: &Model, rep: u32) -> RepObs {
    let seed = m.sim.seed;
    let s = |name: &str| stream(seed, rep, stream_id(name));
    let n_pools = m.pools.len();
    let window_start = m.sim.warmup_ns;
    let window_end = m.sim.window_end_ns();
    let n_samples = window_end.div_ceil(m.sim.sample_every_ns) as usize;
    let dbs = m
        .dbs
        .iter()
        .map(|d| {
            let mut any = vec![d.primary];
            any.extend(&d.replicas);
            DbState {
                primary: vec![d.primary],
                replicas: d.replicas.clone(),
                any,
                last_primary: d.primary,
                pending: VecDeque::new(),
                epoch: 0,
                outage_start: None,
            }
        })
        .collect();
    let mut sim = Sim {
        m,
        q: EventQueue::with_capacity(1024),
        stations: m
            .stations
            .iter()
            .map(|d| Station {
                busy: 0,
                held: 0,
                open: 0,
                queue: VecDeque::new(),
                last_ns: 0,
                busy_area: 0,
                held_area: 0,
                queue_area: 0,
                down_area: 0,
                c: Counters::default(),
                at_start: Counters::default(),
                rng: stream(seed, rep, d.stream),
                up: true,
                down_reasons: 0,
                crashes: 0,
                orphans: 0,
                wasted_acc: 0,
                marked_up: true,
                fail_row: 0,
                pass_row: 0,
                slow: 1.0,
                service_pool: d.pool,
            })
            .collect(),
        slab: Vec::with_capacity(1024),
        free: Vec::with_capacity(1024),
        rr: vec![0; m.rr_slots],
        dbs,
        rng_arrivals: s("arrivals"),
        rng_class: s("classes"),
        rng_calls: s("calls"),
        rng_balance: s("balance"),
        rng_think: s("think"),
        rng_fail: s("failures"),
        rng_retry: s("retry"),
        retry_tokens: RETRY_RESERVE,
        window_start,
        window_end,
        observing: false,
        accepting: true,
        pool_hist: (0..n_pools).map(|_| LatencyHistogram::new(3)).collect(),
        classes: (0..m.classes.len()).map(|_| ClassObs::new()).collect(),
        overall: ClassObs::new(),
        cons: Conservation::default(),
        timeline: Vec::new(),
        outages: Vec::new(),
        bucket_start: 0,
        bucket: SampleObs::default(),
        bucket_hist: LatencyHistogram::new(2),
        bucket_class_hist: (0..m.classes.len())
            .map(|_| LatencyHistogram::new(2))
            .collect(),
        prev_pool_busy: vec![0; n_pools],
        prev_pool_queue: vec![0; n_pools],
        series: Vec::with_capacity(n_samples),
        trends: vec![Trend::default(); n_pools],
        present_at_end: vec![0; n_pools],
        events: 0,
    };
    sim.run();
    sim.finish()
}

impl<'m> Sim<'m> {
    fn run(&mut self) {
        self.q.schedule(self.window_start, Event::WindowStart);
        self.q.schedule(self.window_end, Event::WindowEnd);
        self.q.schedule(
            self.m.sim.sample_every_ns.min(self.window_end),
            Event::Sample,
        );
        self.schedule_faults();
        match &self.m.arrivals {
            Arrivals::Closed { users, .. } => {
                for u in 0..*users {
                    let t = self.think_time();
                    self.q.schedule(t, Event::Wake(u));
                }
            }
            _ => {
                if let Some(t) = self.next_arrival_after(0) {
                    self.q.schedule(t, Event::Arrival);
                }
            }
        }
        let stop = self.window_end.saturating_add(self.m.sim.drain_ns);
        while let Some(t) = self.q.peek_time() {
            // Stop at the drain limit, or once every request has left after
            // the window (periodic events such as health checks never end).
            if t > stop || (!self.accepting && self.live() == 0 && t > self.window_end) {
                break;
            }
            let Some((_, ev)) = self.q.pop() else { break };
            self.events += 1;
            match ev {
                Event::Arrival => self.on_arrival(),
                Event::Wake(user) => {
                    if self.accepting {
                        self.new_request(user);
                    }
                }
                Event::Done { station, req, tag } => self.on_done(station, req, tag),
                Event::Sample => self.on_sample(),
                Event::WindowStart => self.on_window_start(),
                Event::WindowEnd => self.on_window_end(),
                Event::Fail(s) => self.on_random_failure(s),
                Event::Repair(s) => self.on_random_repair(s),
                Event::FaultStart(f) => self.on_fault(f, true),
                Event::FaultEnd(f) => self.on_fault(f, false),
                Event::HealthCheck(s) => self.on_health_check(s),
                Event::CheckFailed(s) => self.on_check_failed(s),
                Event::FailoverDetected { db, epoch } => self.on_failover_detected(db, epoch),
                Event::Promoted { db, epoch } => self.on_promoted(db, epoch),
                Event::Timeout { req, epoch } => {
                    if self.slab[req as usize].epoch == epoch {
                        self.fail_attempt(req, Cause::Timeout);
                    }
                }
                Event::Retry { req, epoch } => {
                    if self.slab[req as usize].epoch == epoch {
                        self.start_attempt(req);
                    }
                }
            }
        }
    }

    /// Requests in the slab (attempts in flight or waiting to retry).
    fn live(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    fn think_time(&mut self) -> u64 {
        match &self.m.think {
            Some(s) => s.sample(&mut self.rng_think),
            None => 0,
        }
    }

    /// The next arrival after `t` of the open process (thinning for schedules).
    fn next_arrival_after(&mut self, t: u64) -> Option<u64> {
        let peak = self.m.arrivals.peak_rate()?;
        if peak <= 0.0 {
            return None;
        }
        let mean_gap_ns = 1e9 / peak;
        let mut now = t;
        loop {
            let e: f64 = Exp1.sample(&mut self.rng_arrivals);
            now = now.saturating_add((e * mean_gap_ns + 0.5) as u64);
            if now >= self.window_end {
                return None;
            }
            match &self.m.arrivals {
                Arrivals::Poisson { .. } => return Some(now),
                a => {
                    let rate = a.rate_at(now).unwrap_or(0.0);
                    let u: f64 = self.rng_arrivals.random();
                    if u * peak < rate {
                        return Some(now);
                    }
                }
            }
        }
    }

    fn on_arrival(&mut self) {
        if !self.accepting {
            return;
        }
        let now = self.q.now();
        if let Some(t) = self.next_arrival_after(now) {
            self.q.schedule(t, Event::Arrival);
        }
        self.new_request(NONE);
    }

    fn new_request(&mut self, user: u32) {
        let now = self.q.now();
        let u: f64 = self.rng_class.random();
        let class = self
            .m
            .classes
            .iter()
            .position(|c| u < c.cum_share)
            .unwrap_or(0);
        let r = Request {
            class: class as u16,
            step: 0,
            calls_left: 0,
            user,
            epoch: 0,
            attempt: 0,
            born: now,
            at_station: now,
            service_start: now,
            station: NONE,
            phase: Phase::Transit,
            inst: [NONE; MAX_STEPS],
        };
        let id = match self.free.pop() {
            Some(id) => {
                let epoch = self.slab[id as usize].epoch;
                self.slab[id as usize] = Request { epoch, ..r };
                id
            }
            None => {
                self.slab.push(r);
                (self.slab.len() - 1) as u32
            }
        };
        self.cons.arrived += 1;
        if self.in_window(now) {
            self.classes[class].arrived += 1;
            self.overall.arrived += 1;
        }
        self.bucket.offered += 1;
        if let Some(b) = self.m.client.retry.and_then(|r| r.budget) {
            self.retry_tokens = (self.retry_tokens + b).min(RETRY_RESERVE + 1e6);
        }
        self.start_attempt(id);
    }

    /// Starts (or restarts) an attempt at the first step.
    pub(super) fn start_attempt(&mut self, req: u32) {
        let now = self.q.now();
        let r = &mut self.slab[req as usize];
        r.attempt += 1;
        debug_assert!(
            r.attempt <= self.m.client.retry.map_or(1, |x| x.attempts),
            "attempts over the limit"
        );
        r.phase = Phase::Transit;
        let (epoch, born, class) = (r.epoch, r.born, r.class as usize);
        self.cons.attempts += 1;
        if self.in_window(born) {
            self.classes[class].attempts += 1;
            self.overall.attempts += 1;
        }
        if let Some(t) = self.m.client.timeout_ns {
            self.q
                .schedule(now.saturating_add(t), Event::Timeout { req, epoch });
        }
        self.enter_step(req, 0);
    }

    #[inline]
    pub(super) fn in_window(&self, t: u64) -> bool {
        t >= self.window_start && t < self.window_end
    }

    #[inline]
    fn step_def(&self, req: u32) -> &'m StepDef {
        let r = &self.slab[req as usize];
        let m: &'m Model = self.m;
        &m.classes[r.class as usize].steps[r.step as usize]
    }

    fn enter_step(&mut self, req: u32, step: usize) {
        let class = self.slab[req as usize].class as usize;
        let m: &'m Model = self.m;
        let steps = &m.classes[class].steps;
        if step >= steps.len() {
            self.complete(req);
            return;
        }
        let calls = steps[step].calls.sample(&mut self.rng_calls);
        let r = &mut self.slab[req as usize];
        r.step = step as u16;
        r.calls_left = calls;
        if let Some(t) = steps[step].timeout_ns {
            let epoch = r.epoch;
            self.q.schedule_in(t, Event::Timeout { req, epoch });
        }
        self.visit(req);
    }

    pub(super) fn visit(&mut self, req: u32) {
        match self.pick(req) {
            Pick::Station(s) => self.arrive(s, req),
            Pick::Fail(cause) => self.fail_attempt(req, cause),
            Pick::Wait(db) => {
                let r = &mut self.slab[req as usize];
                r.phase = Phase::Pending;
                let epoch = r.epoch;
                self.dbs[db as usize].pending.push_back((req, epoch));
            }
        }
    }

    /// Picks the instance for the request's current step, among those the
    /// health checks have not marked down.
    fn pick(&mut self, req: u32) -> Pick {
        let step = self.step_def(req);
        let prev = {
            let r = &self.slab[req as usize];
            match r.step.checked_sub(1).map(|k| r.inst[k as usize]) {
                Some(s) if s != NONE => self.m.stations[s as usize].index_in_pool as usize,
                _ => 0,
            }
        };
        let cands: &[u32] = match candidates(self.m, &self.dbs, step) {
            Ok(c) => c,
            Err(p) => return p,
        };
        let n = cands.len();
        let stations = &self.stations;
        let usable = |s: u32| stations[s as usize].marked_up;
        let open = |s: u32| stations[s as usize].open;
        let first = if n == 1 {
            0
        } else {
            match step.policy {
                Balance::Random => self.rng_balance.random_range(0..n),
                Balance::RoundRobin => {
                    let c = &mut self.rr[step.rr_slot];
                    *c += 1;
                    ((*c - 1) % n as u64) as usize
                }
                Balance::LeastConn => {
                    let c = &mut self.rr[step.rr_slot];
                    let start = (*c % n as u64) as usize;
                    *c += 1;
                    let mut best = start;
                    for k in 1..n {
                        let i = (start + k) % n;
                        let better = !usable(cands[best]) || open(cands[i]) < open(cands[best]);
                        if usable(cands[i]) && better {
                            best = i;
                        }
                    }
                    best
                }
                Balance::PowerOfTwo => {
                    let a = self.rng_balance.random_range(0..n);
                    let b = (a + 1 + self.rng_balance.random_range(0..n - 1)) % n;
                    let b_better = open(cands[b]) < open(cands[a]);
                    if usable(cands[b]) && (b_better || !usable(cands[a])) {
                        b
                    } else {
                        a
                    }
                }
                Balance::Same => prev % n,
            }
        };
        (0..n)
            .map(|k| cands[(first + k) % n])
            .find(|&s| usable(s))
            .map_or(Pick::Fail(Cause::NoBackend), Pick::Station)
    }

    /// Brings a station's time integrals up to now.
    #[inline]
    pub(super) fn touch(&mut self, s: u32) {
        let now = self.q.now();
        let st = &mut self.stations[s as usize];
        let dt = u128::from(now - st.last_ns);
        st.busy_area += u128::from(st.busy) * dt;
        st.held_area += u128::from(st.held) * dt;
        st.queue_area += st.queue.len() as u128 * dt;
        st.down_area += u128::from(!st.up) * dt;
        st.last_ns = now;
    }

    fn arrive(&mut self, s: u32, req: u32) {
        let mut s = s;
        if !self.stations[s as usize].up {
            // Connection refused. With `retries` and `redispatch` the sender
            // tries the next instances the health checks still show up.
            let tries = self.step_def(req).redispatch;
            let next = match candidates(self.m, &self.dbs, self.step_def(req)) {
                Ok(c) => {
                    let n = c.len();
                    let at = c.iter().position(|&x| x == s).unwrap_or(0);
                    (1..n)
                        .map(|k| c[(at + k) % n])
                        .filter(|&x| self.stations[x as usize].marked_up)
                        .take(tries as usize)
                        .find(|&x| self.stations[x as usize].up)
                }
                Err(_) => None,
            };
            match next {
                Some(x) => s = x,
                None => {
                    self.fail_attempt(req, Cause::BackendDown);
                    return;
                }
            }
        }
        let now = self.q.now();
        let def = &self.m.stations[s as usize];
        let (workers, cap) = (def.workers, def.queue_cap);
        self.touch(s);
        let st = &mut self.stations[s as usize];
        st.c.arrivals += 1;
        let r = &mut self.slab[req as usize];
        r.at_station = now;
        r.station = s;
        let w = Waiting {
            req,
            epoch: r.epoch,
            class: r.class,
        };
        if st.busy < workers {
            st.open += 1;
            self.start(s, w);
        } else if (st.queue.len() as u64) < u64::from(cap) {
            st.open += 1;
            st.queue.push_back(w);
            r.phase = Phase::Queued;
        } else {
            st.c.drops += 1;
            self.fail_attempt(req, Cause::QueueFull);
        }
    }

    fn start(&mut self, s: u32, w: Waiting) {
        let now = self.q.now();
        let Waiting { req, epoch, class } = w;
        let class = class as usize;
        let r = &mut self.slab[req as usize];
        let st = &mut self.stations[s as usize];
        st.busy += 1;
        if r.epoch == epoch {
            r.phase = Phase::InService;
            r.station = s;
            r.service_start = now;
            st.c.waits += 1;
            st.c.wait_sum += u128::from(now - r.at_station);
        } else {
            // Served for a client that already left.
            st.orphans += 1;
            st.wasted_acc -= i128::from(now);
        }
        let mut dur = self.m.pools[st.service_pool as usize].service[class].sample(&mut st.rng);
        if st.slow != 1.0 {
            dur = (dur as f64 * st.slow) as u64;
        }
        let tag = (epoch & EPOCH_MASK) | ((st.crashes & 0xFF) << 24);
        self.q.schedule(
            now.saturating_add(dur),
            Event::Done {
                station: s,
                req,
                tag,
            },
        );
    }

    /// Frees one worker of `s` and starts the next waiting request, if any.
    pub(super) fn release(&mut self, s: u32) {
        self.touch(s);
        let st = &mut self.stations[s as usize];
        st.busy -= 1;
        if let Some(next) = st.queue.pop_front() {
            self.start(s, next);
        }
    }

    fn on_done(&mut self, s: u32, req: u32, tag: u32) {
        let st = &mut self.stations[s as usize];
        if tag >> 24 != st.crashes & 0xFF {
            return; // the service was lost when the station crashed
        }
        let now = self.q.now();
        st.c.completions += 1;
        if self.slab[req as usize].epoch & EPOCH_MASK != tag & EPOCH_MASK {
            // The attempt ended elsewhere (timeout, failure): wasted work.
            st.orphans -= 1;
            st.wasted_acc += i128::from(now);
            self.release(s);
            return;
        }
        let pool = self.m.stations[s as usize].pool as usize;
        if self.observing {
            let sojourn = now - self.slab[req as usize].at_station;
            self.pool_hist[pool].record(sojourn);
        }
        let r = &mut self.slab[req as usize];
        r.phase = Phase::Transit;
        r.calls_left -= 1;
        let step = r.step as usize;
        let last_call = r.calls_left == 0;
        let holds = self.m.classes[r.class as usize].steps[step].holds;
        if last_call {
            r.inst[step] = s;
        }
        if last_call && holds {
            self.touch(s);
            self.stations[s as usize].held += 1;
        } else {
            self.release(s);
        }
        if !last_call {
            self.stations[s as usize].open -= 1;
            self.visit(req);
        } else {
            self.enter_step(req, step + 1);
        }
    }

    /// Closes the request's open connections and held workers, innermost first.
    fn unwind(&mut self, req: u32) {
        let r = self.slab[req as usize];
        let steps = &self.m.classes[r.class as usize].steps;
        for step in (0..steps.len()).rev() {
            let s = r.inst[step];
            if s == NONE {
                continue;
            }
            self.stations[s as usize].open -= 1;
            // A crashed station has already let go of its workers.
            if steps[step].holds && self.stations[s as usize].up {
                self.touch(s);
                self.stations[s as usize].held -= 1;
                self.release(s);
            }
        }
    }

    fn complete(&mut self, req: u32) {
        self.unwind(req);
        let now = self.q.now();
        let r = self.slab[req as usize];
        let latency = now - r.born;
        self.cons.completed += 1;
        if self.in_window(r.born) {
            let c = &mut self.classes[r.class as usize];
            c.completed += 1;
            c.latency.record(latency);
            self.overall.completed += 1;
            self.overall.latency.record(latency);
        }
        if self.in_window(now) {
            self.classes[r.class as usize].finished_in_window += 1;
            self.overall.finished_in_window += 1;
        }
        if now < self.window_end {
            self.bucket.completed += 1;
            self.bucket_hist.record(latency);
            self.bucket_class_hist[r.class as usize].record(latency);
        }
        self.free_request(req, r.user);
    }

    /// Ends the current attempt with `cause`: detaches it from wherever it
    /// is, releases what it holds, then retries or fails the user request.
    pub(super) fn fail_attempt(&mut self, req: u32, cause: Cause) {
        let r = self.slab[req as usize];
        match r.phase {
            // A queued or running service goes on without its client: it is
            // served anyway, and its Done finds the attempt gone (wasted work).
            Phase::Queued => self.stations[r.station as usize].open -= 1,
            Phase::InService => {
                let st = &mut self.stations[r.station as usize];
                st.open -= 1;
                if st.up {
                    st.orphans += 1;
                    st.wasted_acc -= i128::from(r.service_start);
                }
            }
            Phase::Pending => {
                for d in &mut self.dbs {
                    d.pending.retain(|&(x, g)| !(x == req && g == r.epoch));
                }
            }
            Phase::Transit | Phase::Backoff | Phase::Free => {}
        }
        self.unwind(req);
        let now = self.q.now();
        if now < self.window_end {
            self.bucket.errors[cause.index()] += 1;
        }
        if let Some(delay) = self.retry_delay(&r) {
            let slot = &mut self.slab[req as usize];
            slot.epoch = slot.epoch.wrapping_add(1);
            slot.inst = [NONE; MAX_STEPS];
            slot.phase = Phase::Backoff;
            let epoch = slot.epoch;
            self.q.schedule_in(delay, Event::Retry { req, epoch });
            return;
        }
        self.cons.failed += 1;
        if self.in_window(r.born) {
            self.classes[r.class as usize].failed[cause.index()] += 1;
            self.overall.failed[cause.index()] += 1;
        }
        self.free_request(req, r.user);
    }

    /// The backoff before another attempt, if the client retries this one.
    fn retry_delay(&mut self, r: &Request) -> Option<u64> {
        let retry = self.m.client.retry?;
        if r.attempt >= retry.attempts {
            return None;
        }
        if retry.budget.is_some() {
            if self.retry_tokens < 1.0 {
                return None;
            }
            self.retry_tokens -= 1.0;
        }
        let exp = (r.attempt - 1).min(62);
        let cap = (retry.backoff_ns as f64 * (1u64 << exp) as f64).min(retry.max_backoff_ns as f64);
        let wait = if retry.jitter {
            cap * self.rng_retry.random::<f64>()
        } else {
            cap
        };
        Some(wait as u64)
    }

    fn free_request(&mut self, req: u32, user: u32) {
        let slot = &mut self.slab[req as usize];
        slot.epoch = slot.epoch.wrapping_add(1);
        slot.phase = Phase::Free;
        self.free.push(req);
        if user != NONE && self.accepting {
            let t = self.think_time();
            self.q.schedule_in(t, Event::Wake(user));
        }
    }

    /// Closes every station's integrals at now and sums them per pool.
    fn pool_areas(&mut self) -> (Vec<u128>, Vec<u128>) {
        for s in 0..self.stations.len() as u32 {
            self.touch(s);
        }
        let n = self.m.pools.len();
        let (mut busy, mut queue) = (vec![0u128; n], vec![0u128; n]);
        for (st, def) in self.stations.iter().zip(&self.m.stations) {
            busy[def.pool as usize] += st.busy_area;
            queue[def.pool as usize] += st.queue_area;
        }
        (busy, queue)
    }

    fn present(&self, p: usize) -> u64 {
        let pool = &self.m.pools[p];
        (0..pool.count)
            .map(|i| {
                let st = &self.stations[(pool.first_station + i) as usize];
                u64::from(st.busy) + st.queue.len() as u64
            })
            .sum()
    }

    fn on_sample(&mut self) {
        let now = self.q.now();
        let width = now - self.bucket_start;
        let (busy, queue) = self.pool_areas();
        let mut util = Vec::with_capacity(busy.len());
        let mut qlen = Vec::with_capacity(busy.len());
        for (p, pool) in self.m.pools.iter().enumerate() {
            let workers: u64 = (0..pool.count)
                .map(|i| u64::from(self.m.stations[(pool.first_station + i) as usize].workers))
                .sum();
            let db = (busy[p] - self.prev_pool_busy[p]) as f64;
            let dq = (queue[p] - self.prev_pool_queue[p]) as f64;
            let w = width.max(1) as f64;
            util.push(if workers > 0 {
                db / (workers as f64 * w)
            } else {
                f64::NAN
            });
            qlen.push(dq / w);
            if self.observing || now == self.window_end {
                let present = self.present(p);
                self.trends[p].add((now - self.window_start) as f64 / 1e9, present as f64);
            }
        }
        self.prev_pool_busy = busy;
        self.prev_pool_queue = queue;
        let obs = SampleObs {
            start_ns: self.bucket_start,
            width_ns: width,
            offered: self.bucket.offered,
            completed: self.bucket.completed,
            errors: self.bucket.errors,
            p50_ns: self.bucket_hist.quantile_ns(0.5),
            p95_ns: self.bucket_hist.quantile_ns(0.95),
            p99_ns: self.bucket_hist.quantile_ns(0.99),
            class_latency: self
                .bucket_class_hist
                .iter()
                .map(|h| [h.quantile_ns(0.5), h.quantile_ns(0.95), h.quantile_ns(0.99)])
                .collect(),
            utilization: util,
            queue: qlen,
        };
        self.series.push(obs);
        self.bucket = SampleObs::default();
        self.bucket_hist.reset();
        for h in &mut self.bucket_class_hist {
            h.reset();
        }
        self.bucket_start = now;
        if now < self.window_end {
            let next = (now + self.m.sim.sample_every_ns).min(self.window_end);
            self.q.schedule(next, Event::Sample);
        }
    }

    fn snapshot(&mut self) {
        let now = self.q.now();
        for s in 0..self.stations.len() as u32 {
            self.touch(s);
        }
        for st in &mut self.stations {
            st.c.wasted = st.wasted_acc + i128::from(st.orphans) * i128::from(now);
            st.c.busy_area = st.busy_area;
            st.c.held_area = st.held_area;
            st.c.queue_area = st.queue_area;
            st.c.down_area = st.down_area;
        }
    }

    fn on_window_start(&mut self) {
        self.snapshot();
        for st in &mut self.stations {
            st.at_start = st.c;
        }
        self.observing = true;
    }

    fn on_window_end(&mut self) {
        self.snapshot();
        self.observing = false;
        self.accepting = false;
        for p in 0..self.m.pools.len() {
            self.present_at_end[p] = self.present(p);
        }
        // Freeze the window: from here on `at_start` holds the window's share.
        for st in &mut self.stations {
            st.at_start = st.c.minus(&st.at_start);
        }
    }

    fn finish(mut self) -> RepObs {
        let window_ns = self.window_end - self.window_start;
        if self.accepting {
            // Cannot happen (the window end is always scheduled before the
            // stop); kept so the accounting stays total.
            self.on_window_end();
        }
        for (d, def) in self.dbs.iter().zip(&self.m.dbs) {
            if let Some(start) = d.outage_start {
                self.outages.push(WriteOutage {
                    database: def.name.clone(),
                    start_s: start as f64 / 1e9,
                    end_s: None,
                });
            }
        }
        // Whatever is still in the slab is in flight (or waiting to retry).
        self.cons.in_flight = self.live() as u64;
        for i in 0..self.slab.len() {
            let r = self.slab[i];
            if r.phase != Phase::Free && self.in_window(r.born) {
                self.classes[r.class as usize].in_flight += 1;
                self.overall.in_flight += 1;
            }
        }
        let mut pools: Vec<PoolObs> = self
            .pool_hist
            .into_iter()
            .enumerate()
            .map(|(p, sojourn)| PoolObs {
                workers: 0,
                instances: self.m.pools[p].count,
                arrivals: 0,
                completions: 0,
                drops: 0,
                busy_ns: 0.0,
                held_ns: 0.0,
                wasted_ns: 0.0,
                down_ns: 0.0,
                failures: 0,
                queue_ns: 0.0,
                wait_sum_ns: 0.0,
                waits: 0,
                sojourn,
                backlog_slope_per_s: self.trends[p].slope(),
                present_at_end: self.present_at_end[p],
            })
            .collect();
        let mut instances = Vec::with_capacity(self.stations.len());
        for (st, def) in self.stations.iter().zip(&self.m.stations) {
            let w = &st.at_start; // the window's share, frozen at window end
            let p = &mut pools[def.pool as usize];
            p.workers += def.workers;
            p.arrivals += w.arrivals;
            p.completions += w.completions;
            p.drops += w.drops;
            p.busy_ns += w.busy_area as f64;
            p.held_ns += w.held_area as f64;
            p.wasted_ns += w.wasted.max(0) as f64;
            p.down_ns += w.down_area as f64;
            p.failures += w.failures;
            p.queue_ns += w.queue_area as f64;
            p.wait_sum_ns += w.wait_sum as f64;
            p.waits += w.waits;
            instances.push(InstanceObs {
                pool: def.pool as usize,
                workers: def.workers,
                arrivals: w.arrivals,
                drops: w.drops,
                busy_ns: w.busy_area as f64,
            });
        }
        RepObs {
            window_start_ns: self.window_start,
            window_ns,
            pools,
            instances,
            classes: self.classes,
            overall: self.overall,
            conservation: self.cons,
            series: self.series,
            timeline: self.timeline,
            write_outages: self.outages,
            events: self.events,
        }
    }
}

/// The stations a request at `step` may be sent to, or why there are none.
fn candidates<'a>(m: &'a Model, dbs: &'a [DbState], step: &'a StepDef) -> Result<&'a [u32], Pick> {
    match &step.target {
        Target::Stations(c) => Ok(c),
        Target::Db { db, access } => {
            let def = &m.dbs[*db as usize];
            let d = &dbs[*db as usize];
            let set: &[u32] = match (access, def.reads) {
                (Access::Write, _) | (Access::Read, ReadsTo::Primary) => &d.primary,
                (Access::Read, ReadsTo::Replicas) if !d.replicas.is_empty() => &d.replicas,
                (Access::Read, ReadsTo::Replicas) => &d.primary,
                (Access::Read, ReadsTo::Any) => &d.any,
            };
            if set.is_empty() {
                if *access == Access::Write && def.writes_wait {
                    return Err(Pick::Wait(*db));
                }
                return Err(Pick::Fail(Cause::NoPrimary));
            }
            Ok(set)
        }
    }
}

/// Failure causes have fixed indices; keep the array sizes in step.
const _: () = assert!(N_CAUSES == Cause::ALL.len());
