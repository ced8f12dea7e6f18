//! One replication: the event loop and requests moving through stations.
//! The state lives in `state.rs`; routing in `route.rs`; failures, health
//! checks and failover in `faults.rs`; observation in `observe.rs`.

use std::collections::VecDeque;

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use super::route::candidates;
use super::state::{
    ClientState, Counters, DbState, EPOCH_MASK, Event, HostState, NO_USER, PauseState, Phase, Pick,
    RETRY_RESERVE, Request, Sim, Station, StationCpu, StationStreams, Trend, Waiting,
};
use super::{CpuPart, Model, StepDef};
use super::{Id, StationId};
use crate::engine::{EventQueue, stream, stream_id};
use crate::scenario::{Arrivals, MAX_STEPS};
use crate::stats::{Cause, ClassObs, Conservation, LatencyHistogram, RepObs, SampleObs};

/// Runs replication `rep` of the model and returns what it observed.
pub fn run_replication(m: &Model, rep: u32) -> RepObs {
    if m.hosts.iter().any(|h| h.ps) {
        simulate::<true>(m, rep)
    } else {
        simulate::<false>(m, rep)
    }
}

/// [`run_replication`], built for machines that share their cores or not.
fn simulate<const PS: bool>(m: &Model, rep: u32) -> RepObs {
    let seed = m.sim.seed;
    let s = |name: &str| stream(seed, rep, stream_id(name));
    let n_pools = m.pools.len();
    let window_start = m.sim.warmup_ns();
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
    let mut sim = Sim::<PS> {
        m,
        hosts: m
            .hosts
            .iter()
            .map(|_| HostState {
                busy: 0,
                queue: VecDeque::new(),
                last_ns: 0,
                busy_area: 0,
                agent_area: 0,
                agents: 0,
                idle_pending: 0,
                window: (0, 0),
                core_grants: 0,
                core_wait_ns: 0,
                ps: Default::default(),
                cfs: Default::default(),
            })
            .collect(),
        aux: m
            .stations
            .iter()
            .map(|d| {
                let [_, tls, network, failures, health, cpu, _] =
                    d.streams.map(|k| stream(seed, rep, k));
                StationStreams {
                    tls,
                    network,
                    failures,
                    health,
                    cpu,
                }
            })
            .collect(),
        cpu: m.stations.iter().map(|_| StationCpu::default()).collect(),
        cfs_v: vec![0; m.stations.len()],
        pauses: if m.pools.iter().any(|p| p.pauses.is_some()) {
            m.stations
                .iter()
                .map(|d| PauseState::new(stream(seed, rep, d.streams[6])))
                .collect()
        } else {
            Vec::new()
        },
        host_pauses: if m.hosts.iter().any(|h| h.pauses.is_some()) {
            m.hosts
                .iter()
                .map(|h| PauseState::new(stream(seed, rep, h.pauses.as_ref().map_or(0, |p| p.3))))
                .collect()
        } else {
            Vec::new()
        },
        off_core: Vec::with_capacity(1024),
        agent_rng: m
            .hosts
            .iter()
            .map(|h| stream(seed, rep, h.stream))
            .collect(),
        background_rng: m
            .hosts
            .iter()
            .map(|h| stream(seed, rep, h.background.map_or(0, |b| b.1)))
            .collect(),
        off_path_next: vec![0; m.off_path.len()],
        q: EventQueue::with_capacity(1024),
        stations: m
            .stations
            .iter()
            .map(|d| Station {
                busy: 0,
                held: 0,
                open: 0,
                queue: VecDeque::new(),
                busy_acc: 0,
                held_acc: 0,
                queue_acc: 0,
                down_acc: 0,
                c: Counters::default(),
                at_start: Counters::default(),
                rng: stream(seed, rep, d.streams[0]),
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
                cores_held: 0,
                cpu_services: 0,
                cpu_ns: 0,
                off_core_ns: 0,
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
        rng_retry: s("retry"),
        rng_shard: s("shards"),
        rng_client: s("clients"),
        repl: super::replication::Replication::new(m, seed, rep),
        retry_tokens: RETRY_RESERVE,
        window_start,
        window_end,
        observing: false,
        accepting: true,
        stop_ns: window_end.saturating_add(m.sim.drain_ns),
        overflow: None,
        pool_hist: (0..n_pools).map(|_| LatencyHistogram::new(3)).collect(),
        classes: (0..m.classes.len()).map(|_| ClassObs::new()).collect(),
        phases: m
            .faults
            .iter()
            .map(|f| {
                crate::stats::obs::PhaseObs::around(
                    f.at_ns,
                    f.duration_ns,
                    window_start,
                    window_end,
                )
            })
            .collect(),
        down_split: m
            .pools
            .iter()
            .any(|p| p.failures.is_some())
            .then(|| crate::stats::obs::DownSplit::new(window_start, window_end)),
        stations_down: 0,
        down_since: 0,
        by_phase: !m.faults.is_empty() || m.pools.iter().any(|p| p.failures.is_some()),
        client: m.client.connections.map(|_| {
            Box::new(ClientState {
                busy: 0,
                queue: std::collections::VecDeque::new(),
                waited_ns: Vec::new(),
                trend: Trend::default(),
                obs: crate::stats::ClientObs::new(),
            })
        }),
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
        rep,
        access_log: Vec::new(),
        trace: Vec::new(),
        tracing: rep == 0 && m.access_log_limit > 0,
        replay_next: 0,
    };
    sim.run();
    sim.finish()
}
impl<'m, const PS: bool> Sim<'m, PS> {
    #[inline(always)]
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
            Arrivals::Replay(r) => {
                if let Some(&t) = r.times_ns.first()
                    && t < self.window_end
                {
                    self.q.schedule_beside(t, Event::Arrival);
                }
            }
            _ => {
                if let Some(t) = self.next_arrival_after(0) {
                    self.q.schedule_beside(t, Event::Arrival);
                }
            }
        }
        loop {
            // Stop at the drain limit, or once every request has left after
            // the window (periodic events such as health checks never end).
            let limit = if !self.accepting
                && self.live() == 0
                && self.client.as_ref().is_none_or(|c| c.queue.is_empty())
            {
                self.window_end
            } else {
                self.stop_ns
            };
            let Some((_, ev)) = self.q.pop_until(limit) else {
                break;
            };
            self.events += 1;
            match ev {
                Event::Arrival => self.on_arrival(),
                Event::Wake(user) => {
                    if self.accepting {
                        self.new_request(user);
                    }
                }
                Event::Done { station, req, tag } => self.on_done(station, req, tag, true),
                Event::CpuDone { station, req, tag } => self.on_cpu_done(station, req, tag),
                Event::OffCoreDone { station, req, tag } => self.on_done(station, req, tag, false),
                Event::Sample => self.on_sample(),
                Event::WindowStart => self.on_window_start(),
                Event::WindowEnd => self.on_window_end(),
                Event::Fail(s) => self.on_random_failure(s),
                Event::Repair(s) => self.on_random_repair(s),
                Event::FaultStart(f) => self.on_fault(f, true),
                Event::FaultEnd(f) => self.on_fault(f, false),
                Event::PauseStart(s) => self.on_pause(s, true),
                Event::PauseEnd(s) => self.on_pause(s, false),
                Event::HostPauseStart(h) => self.on_host_pause(h, true),
                Event::HostPauseEnd(h) => self.on_host_pause(h, false),
                Event::HealthCheck(s) => self.on_health_check(s),
                Event::CheckFailed(s) => self.on_check_failed(s),
                Event::FailoverDetected { db, epoch } => self.on_failover_detected(db, epoch),
                Event::Promoted { db, epoch } => self.on_promoted(db, epoch),
                Event::Received(s) => self.on_received(s),
                Event::Applied { station, code } => self.on_applied(station, code),
                Event::Acked { station, req, tag } => {
                    if tag >> 24 == self.stations[station].crashes & 0xFF {
                        self.end_service(station, req, tag);
                    }
                }
                Event::Timeout { req, epoch } => {
                    if self.slab[req as usize].epoch == epoch {
                        self.fail_attempt(req, Cause::Timeout);
                    }
                }
                Event::Deliver {
                    station,
                    req,
                    epoch,
                } => {
                    if self.slab[req as usize].epoch == epoch {
                        self.arrive(station, req);
                    }
                }
                Event::AgentTick(h) => self.on_agent_tick(h),
                Event::AgentDone(h) => self.on_agent_done(h),
                Event::BackgroundTick(h) => self.on_background_tick(h),
                Event::BackgroundDone(h) => self.on_background_done(h),
                Event::IdleTick(h) => self.on_idle_tick(h),
                Event::PsDone(h, generation) => self.on_ps_done(h, generation),
                Event::CfsTick(h, code) => {
                    if self.m.hosts[h].eevdf.is_some() {
                        self.on_eevdf_tick(h, code);
                    } else {
                        self.on_cfs_tick(h, code);
                    }
                }
                Event::ClientSend => self.on_client_send(),
                Event::Retry { req, epoch } => {
                    if self.slab[req as usize].epoch == epoch {
                        self.start_attempt(req);
                    }
                }
            }
        }
    }

    /// Too many requests in flight: the stack cannot keep up, and holding
    /// more would only take memory. The replication stops now; what it
    /// observed so far is its window (empty when the warm-up had not
    /// ended), and the overflow is reported with it.
    #[cold]
    #[inline(never)]
    fn overflow(&mut self) {
        let now = self.q.now();
        if self.overflow.is_none() {
            self.overflow = Some(crate::stats::Overflow {
                at_ns: now,
                in_flight: self.live() as u64,
                arrived: self.cons.arrived,
                limit: super::MAX_IN_FLIGHT as u64,
            });
        }
        if self.accepting {
            if !self.observing {
                self.window_start = now;
                self.on_window_start();
            }
            self.window_end = now;
            self.on_window_end();
        }
        self.stop_ns = now;
    }

    /// Requests in the slab (attempts in flight or waiting to retry).
    pub(super) fn live(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    pub(super) fn think_time(&mut self) -> u64 {
        match &self.m.think {
            Some(s) => s.sample(&mut self.rng_think),
            None => 0,
        }
    }

    /// The next arrival after `t` of the open process (thinning for schedules).
    fn next_arrival_after(&mut self, t: u64) -> Option<u64> {
        let (mean_gap_ns, peak) = self.m.peak?;
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
        if let Arrivals::Replay(r) = &self.m.arrivals {
            // The logged arrivals in order, each with its logged class.
            let i = self.replay_next;
            self.replay_next += 1;
            if let Some(&t) = r.times_ns.get(i + 1)
                && t < self.window_end
            {
                self.q.schedule_beside(t, Event::Arrival);
            }
            let class = r.classes.get(i).copied().unwrap_or(0);
            self.new_request_of(NO_USER, Some(class));
            return;
        }
        let now = self.q.now();
        if let Some(t) = self.next_arrival_after(now) {
            self.q.schedule_beside(t, Event::Arrival);
        }
        self.new_request(NO_USER);
    }

    fn new_request(&mut self, user: u32) {
        self.new_request_of(user, None);
    }

    /// A new request, of `class` when the arrival brought one (a replay),
    /// else of a class drawn by the shares.
    fn new_request_of(&mut self, user: u32, class: Option<u16>) {
        let now = self.q.now();
        if !self.m.off_path.is_empty() {
            self.charge_off_path();
        }
        let class = match class {
            Some(c) => c as usize,
            None => {
                let u: f64 = self.rng_class.random();
                self.m
                    .classes
                    .iter()
                    .position(|c| u < c.cum_share)
                    .unwrap_or(0)
            }
        };
        if self.client.is_some() && !self.client_admit(class, now) {
            return;
        }
        self.send(user, class, now);
    }

    /// An arrival at a client with a connection cap: true when a connection
    /// is free (taken now); else it is queued or refused.
    #[cold]
    #[inline(never)]
    fn client_admit(&mut self, class: usize, now: u64) -> bool {
        let in_window = self.in_window(now);
        let cap = self.m.client.connections.expect("a client state has a cap");
        let c = self.client.as_mut().expect("checked by the caller");
        c.obs.arrived += u64::from(in_window);
        if c.busy < cap.limit {
            c.busy += 1;
            return true;
        }
        if cap.refuse {
            c.obs.refused += u64::from(in_window);
            return false;
        }
        c.queue.push_back((now, class as u16));
        if c.queue.len() >= super::MAX_IN_FLIGHT {
            self.overflow();
        }
        false
    }

    /// A connection came free with arrivals waiting (its reservation
    /// carried over): the longest-waiting one is sent. Out of line: only a
    /// capped client sends so, and the event loop keeps its size.
    #[cold]
    #[inline(never)]
    fn on_client_send(&mut self) {
        let c = self.client.as_mut().expect("sent by a client state");
        match c.queue.pop_front() {
            Some((born, class)) => self.send(NO_USER, class as usize, born),
            None => c.busy -= 1,
        }
    }

    /// A request that ended frees its connection: to the first arrival
    /// waiting, if any (sent by an event, outside the ending's handling).
    #[cold]
    #[inline(never)]
    pub(super) fn client_release(&mut self) {
        let c = self.client.as_mut().expect("checked by the caller");
        if c.queue.is_empty() {
            c.busy -= 1;
        } else {
            self.q.schedule_in(0, Event::ClientSend);
        }
    }

    /// Records the wait of a request just sent into slot `id`.
    #[cold]
    #[inline(never)]
    fn client_sent(&mut self, id: u32, born: u64, now: u64) {
        let in_window = self.in_window(born);
        let c = self.client.as_mut().expect("checked by the caller");
        let i = id as usize;
        if c.waited_ns.len() <= i {
            c.waited_ns.resize(i + 1, 0);
        }
        let wait = now - born;
        c.waited_ns[i] = wait;
        if in_window {
            c.obs.waited += u64::from(wait > 0);
            c.obs.wait.record(wait);
        }
    }

    /// Sends a request into the stack; `born` is its arrival (earlier than
    /// now when it waited for a client connection).
    #[inline(always)]
    fn send(&mut self, user: u32, class: usize, born: u64) {
        let now = self.q.now();
        let r = Request {
            class: class as u16,
            step: 0,
            calls_left: 0,
            user,
            epoch: 0,
            attempt: 0,
            born,
            at_station: now,
            service_start: now,
            station: StationId::NONE,
            phase: Phase::Transit,
            degraded: false,
            key: 0,
            client: 0,
            inst: [StationId::NONE; MAX_STEPS],
        };
        let id = match self.free.pop() {
            Some(id) => {
                let epoch = self.slab[id as usize].epoch;
                self.slab[id as usize] = Request { epoch, ..r };
                id
            }
            None => {
                if self.slab.len() >= super::MAX_IN_FLIGHT {
                    self.overflow();
                }
                self.slab.push(r);
                (self.slab.len() - 1) as u32
            }
        };
        if self.m.sharded | self.m.by_client {
            self.draw_key_and_client(id, user);
        }
        self.cons.arrived += 1;
        if self.client.is_some() {
            self.client_sent(id, born, now);
        }
        if self.in_window(born) {
            self.classes[class].arrived += 1;
            if self.by_phase {
                self.phase_arrival(id, born);
            }
        }
        self.bucket.offered += 1;
        if let Some(b) = self.m.client.retry.and_then(|r| r.budget) {
            self.retry_tokens = (self.retry_tokens + b).min(RETRY_RESERVE + 1e6);
        }
        self.start_attempt(id);
    }

    /// A new request's shard key and client, where a database asks for
    /// them. Out of line: most scenarios need neither.
    #[cold]
    #[inline(never)]
    fn draw_key_and_client(&mut self, id: u32, user: u32) {
        let r = &mut self.slab[id as usize];
        if self.m.sharded {
            r.key = self.rng_shard.random();
        }
        if self.m.by_client {
            r.client = match self.m.client.clients {
                Some(n) => self.rng_client.random_range(0..n),
                None => user,
            };
        }
    }

    /// Starts (or restarts) an attempt at the first step.
    pub(super) fn start_attempt(&mut self, req: u32) {
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
        }
        if let Some(t) = self.m.client.timeout_ns {
            self.q.schedule_after(t, Event::Timeout { req, epoch });
        }
        self.enter_step(req, 0);
    }

    #[inline]
    pub(super) fn in_window(&self, t: u64) -> bool {
        t >= self.window_start && t < self.window_end
    }

    #[inline]
    pub(super) fn step_def(&self, req: u32) -> &'m StepDef {
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
            self.q.schedule_after(t, Event::Timeout { req, epoch });
        }
        self.visit(req);
    }

    pub(super) fn visit(&mut self, req: u32) {
        match self.pick(req) {
            Pick::Station(s) => match &self.m.stations[s].network {
                None => self.arrive(s, req),
                Some(net) => {
                    let delay = net.sample(&mut self.aux[s].network);
                    let epoch = self.slab[req as usize].epoch;
                    self.q.schedule_in(
                        delay,
                        Event::Deliver {
                            station: s,
                            req,
                            epoch,
                        },
                    );
                }
            },
            Pick::Fail(cause) => self.fail_attempt(req, cause),
            Pick::Wait(db) => {
                let r = &mut self.slab[req as usize];
                r.phase = Phase::Pending;
                let epoch = r.epoch;
                self.dbs[db as usize].pending.push_back((req, epoch));
            }
        }
    }

    fn arrive(&mut self, s: StationId, req: u32) {
        let mut s = s;
        if !self.stations[s].up {
            // Connection refused. With `retries` and `redispatch` the sender
            // tries the next instances the health checks still show up.
            let tries = self.step_def(req).redispatch;
            let key = self.slab[req as usize].key;
            let own = self.m.by_client && self.reads_own_write(req);
            let next = match candidates(self.m, &self.dbs, self.step_def(req), key, own) {
                Ok(c) => {
                    let n = c.len();
                    let at = c.iter().position(|&x| x == s).unwrap_or(0);
                    (1..n)
                        .map(|k| c[(at + k) % n])
                        .filter(|&x| self.stations[x].marked_up)
                        .take(tries as usize)
                        .find(|&x| self.stations[x].up)
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
        if self.repl.is_some() {
            let class = self.slab[req as usize].class;
            self.note_read(s, class);
        }
        let now = self.q.now();
        let def = &self.m.stations[s];
        let (workers, cap) = (def.workers, def.queue_cap);
        let st = &mut self.stations[s];
        st.c.arrivals += 1;
        if def.conntrack.is_some_and(|limit| st.open >= limit) {
            // A new connection with the tracking table full is dropped.
            st.c.drops += 1;
            self.fail_attempt(req, Cause::ConntrackFull);
            return;
        }
        let r = &mut self.slab[req as usize];
        r.at_station = now;
        r.station = s;
        let w = Waiting {
            req,
            epoch: r.epoch,
            class: r.class,
            woke: true,
        };
        if st.busy < workers {
            st.open += 1;
            self.start(s, w, 0);
        } else if cap.is_none_or(|c| st.queue.len() < c as usize) {
            st.open += 1;
            st.enqueue(now, w);
            r.phase = Phase::Queued;
        } else {
            st.c.drops += 1;
            self.fail_attempt(req, Cause::QueueFull);
        }
    }

    /// Gives a request a worker of `s` (after `waited` ns in its queue),
    /// then a core (or a place in its host's queue), then its service.
    fn start(&mut self, s: StationId, w: Waiting, waited: u64) {
        let now = self.q.now();
        let Waiting { req, epoch, .. } = w;
        let r = &mut self.slab[req as usize];
        let st = &mut self.stations[s];
        st.occupy(now);
        // Every visit's wait, its client's still there or not: the basis on
        // which the queue column obeys Little's law.
        st.c.waits += 1;
        st.c.wait_sum += u128::from(waited);
        if r.epoch == epoch {
            r.phase = Phase::InService;
            r.station = s;
            r.service_start = now;
        } else {
            // Served for a client that already left.
            st.orphans += 1;
            st.wasted_acc -= i128::from(now);
        }
        if !self.m.stations[s].gated {
            self.begin(s, w);
            return;
        }
        let mut w = w;
        if let Some(threads) = self.m.stations[s].threads {
            // Under a thread cap the threads, not the workers (connections),
            // sleep and wake: an idle thread is woken.
            let c = &mut self.cpu[s];
            if c.threads_busy >= threads {
                w.woke = false;
                c.thread_queue.push_back(w);
                return;
            }
            w.woke = true;
            c.threads_busy += 1;
        }
        self.run_on_core(s, w);
    }

    /// A service with a thread of its instance (if they are capped) asks its
    /// machine for a core, or starts at once when it has no machine.
    #[inline(always)]
    pub(super) fn run_on_core(&mut self, s: StationId, w: Waiting) {
        match self.m.stations[s].host {
            None => self.begin(s, w),
            Some(h) => self.acquire_core(h, s, w),
        }
    }

    /// The CPU burst of a service on `s` is over: its core (and its thread)
    /// go to the next service waiting for them.
    #[inline(always)]
    fn release_cpu(&mut self, s: StationId) {
        let def = &self.m.stations[s];
        if let Some(h) = def.host {
            self.release_core(h, s);
        }
        if def.threads.is_some() {
            self.release_thread(s);
        }
    }

    /// A thread of `s` is free: the next request waiting for one takes it.
    fn release_thread(&mut self, s: StationId) {
        let c = &mut self.cpu[s];
        c.threads_busy -= 1;
        if let Some(next) = c.thread_queue.pop_front() {
            c.threads_busy += 1;
            self.run_on_core(s, next);
        }
    }

    /// The service itself: its time drawn now, with the tier's extra CPU.
    pub(super) fn begin(&mut self, s: StationId, w: Waiting) {
        let def = &self.m.stations[s];
        if def.gated {
            self.begin_on_cpu(s, w);
            return;
        }
        // Neither a machine nor a thread cap: the whole service runs at once
        // (a `cpu` part changes nothing without a core to hold).
        let now = self.q.now();
        let Waiting {
            req,
            epoch,
            class,
            woke,
        } = w;
        let st = &mut self.stations[s];
        let mut dur = self.m.pools[st.service_pool].service[class as usize].sample(&mut st.rng);
        dur = dur.saturating_add(def.extra_ns);
        dur = dur.saturating_add(wakeup(def, st, woke));
        if let Some(tls) = &def.tls {
            dur = dur.saturating_add(tls_work(tls, &mut self.aux[s].tls));
        }
        if st.slow != 1.0 {
            dur = slowed(dur, st.slow);
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

    /// The service of a station on a machine or under a thread cap, which
    /// holds its core: its CPU burst first, then its off-core wait (see
    /// docs/scenario.md), each accounted.
    fn begin_on_cpu(&mut self, s: StationId, w: Waiting) {
        let Waiting {
            req,
            epoch,
            class,
            woke,
        } = w;
        let def = &self.m.stations[s];
        let st = &mut self.stations[s];
        let pool = &self.m.pools[st.service_pool];
        let service = pool.service[class as usize].sample(&mut st.rng);
        let (mut dur, mut off) = match pool.cpu.get(class as usize) {
            None | Some(CpuPart::All) => (service, 0),
            Some(CpuPart::Fraction(f)) => {
                let cpu = (service as f64 * f).round() as u64;
                (cpu, service - cpu.min(service))
            }
            Some(CpuPart::Dist(d)) => {
                let cpu = d.sample(&mut self.aux[s].cpu);
                (cpu, service.saturating_sub(cpu))
            }
        };
        dur = dur.saturating_add(def.extra_ns);
        dur = dur.saturating_add(wakeup(def, st, woke));
        if let Some(tls) = &def.tls {
            dur = dur.saturating_add(tls_work(tls, &mut self.aux[s].tls));
        }
        if st.slow != 1.0 {
            dur = slowed(dur, st.slow);
            off = slowed(off, st.slow);
        }
        let tag = (epoch & EPOCH_MASK) | ((st.crashes & 0xFF) << 24);
        if self.observing {
            st.cpu_services += 1;
            st.cpu_ns += dur;
            st.off_core_ns += off;
        }
        if off > 0 && self.slab[req as usize].epoch == epoch {
            self.begin_cpu_burst(s, req, tag, dur, off);
            return;
        }
        // Work for a client that already left keeps its core to the end.
        self.cpu_burst(
            s,
            dur.saturating_add(off),
            Event::Done {
                station: s,
                req,
                tag,
            },
        );
    }

    /// A service with an off-core part: the core is released when its CPU
    /// burst ends, and the worker waits on.
    fn begin_cpu_burst(&mut self, s: StationId, req: u32, tag: u32, dur: u64, off: u64) {
        {
            let i = req as usize;
            if self.off_core.len() <= i {
                self.off_core.resize(i + 1, 0);
            }
            self.off_core[i] = off;
        }
        self.cpu_burst(
            s,
            dur,
            Event::CpuDone {
                station: s,
                req,
                tag,
            },
        );
    }

    /// A service's CPU work on its core: on its machine's cores (FIFO or
    /// shared), or, under a thread cap alone, for its length.
    #[inline]
    fn cpu_burst(&mut self, s: StationId, work_ns: u64, event: Event) {
        match self.m.stations[s].ps_host {
            Some(h) if PS => self.shared_start(h, work_ns, event, s),
            _ => self.q.schedule_in(work_ns, event),
        }
    }

    /// A service's CPU burst ended: the core goes back, the off-core part
    /// follows on the worker.
    fn on_cpu_done(&mut self, s: StationId, req: u32, tag: u32) {
        if tag >> 24 != self.stations[s].crashes & 0xFF {
            return; // the service was lost when the station crashed
        }
        self.release_cpu(s);
        let r = &self.slab[req as usize];
        // A client that left during the burst: its off-core part is not
        // known any more (the slot may serve another request), so it ends now.
        let off = if r.epoch & EPOCH_MASK == tag & EPOCH_MASK {
            self.off_core[req as usize]
        } else {
            0
        };
        self.q.schedule_in(
            off,
            Event::OffCoreDone {
                station: s,
                req,
                tag,
            },
        );
    }

    /// Frees one worker of `s` and starts the next waiting request, if any.
    #[inline]
    pub(super) fn release(&mut self, s: StationId) {
        let now = self.q.now();
        let st = &mut self.stations[s];
        st.vacate(now);
        if let Some((mut next, waited)) = st.dequeue(now) {
            // The worker goes on to the next request without sleeping.
            next.woke = false;
            self.start(s, next, waited);
        }
    }

    /// A service ends; `on_core`: it still holds its core (no off-core part).
    #[inline(always)]
    fn on_done(&mut self, s: StationId, req: u32, tag: u32, on_core: bool) {
        let st = &mut self.stations[s];
        if tag >> 24 != st.crashes & 0xFF {
            return; // the service was lost when the station crashed
        }
        st.c.completions += 1;
        if on_core && self.m.stations[s].gated {
            self.release_cpu(s);
        }
        if self.repl.is_some()
            && self.slab[req as usize].epoch & EPOCH_MASK == tag & EPOCH_MASK
            && self.on_commit(s, req, tag)
        {
            return; // the worker waits for a replica's acknowledgement
        }
        self.end_service(s, req, tag);
    }

    /// The rest of a service's end: an attempt that ended elsewhere
    /// leaves wasted work; else the request moves on.
    #[inline(always)]
    fn end_service(&mut self, s: StationId, req: u32, tag: u32) {
        let now = self.q.now();
        let st = &mut self.stations[s];
        if self.slab[req as usize].epoch & EPOCH_MASK != tag & EPOCH_MASK {
            // The attempt ended elsewhere (timeout, failure): wasted work.
            st.orphans -= 1;
            st.wasted_acc += i128::from(now);
            self.release(s);
            return;
        }
        let pool = self.m.stations[s].pool;
        if self.observing {
            let sojourn = now - self.slab[req as usize].at_station;
            self.pool_hist[pool.ix()].record(sojourn);
        }
        if self.tracing {
            self.trace_visit(s, req, now);
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
            self.stations[s].hold(now, true);
        } else {
            self.release(s);
        }
        if !last_call {
            self.stations[s].open -= 1;
            self.visit(req);
        } else {
            self.enter_step(req, step + 1);
        }
    }
}

/// A service time under a scripted slowdown. Out of line and cold: left
/// inline, the compiler computes it on every service and selects.
#[cold]
#[inline(never)]
fn slowed(ns: u64, factor: f64) -> u64 {
    (ns as f64 * factor) as u64
}

/// Extra CPU for TLS on one request: per-request crypto, and a handshake
/// (full or resumed) once per keep-alive connection.
fn tls_work(t: &crate::scenario::TlsCost, rng: &mut crate::engine::SimRng) -> u64 {
    let mut ns = t.per_request_ns;
    if rng.random::<f64>() * t.requests_per_connection < 1.0 {
        ns += if rng.random::<f64>() < t.resumption {
            t.resumed_handshake_ns
        } else {
            t.full_handshake_ns
        };
    }
    ns
}

/// The wake-up CPU a service pays (counted), or 0: only one that woke its
/// thread or worker from idle on a station with a `wakeup` cost.
#[inline(always)]
fn wakeup(def: &super::StationDef, st: &mut Station, woke: bool) -> u64 {
    if woke && def.wakeup_ns > 0 {
        st.c.wakeups += 1;
        def.wakeup_ns
    } else {
        0
    }
}
