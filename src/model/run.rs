//! One replication: the event loop and the bookkeeping of observations.

use std::collections::VecDeque;

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use super::{Model, NONE, StepDef};
use crate::engine::{EventQueue, SimRng, stream, stream_id};
use crate::scenario::{Arrivals, Balance, MAX_STEPS};
use crate::stats::{
    ClassObs, Conservation, InstanceObs, LatencyHistogram, PoolObs, RepObs, SampleObs,
};

/// The model's events. Each is emitted and handled as its doc says.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// Next open arrival. Emitted at start and by its own handler.
    Arrival,
    /// A closed-workload user finishes thinking. Emitted at start and when
    /// the user's request ends.
    Wake(u32),
    /// A service ends at a station. Emitted when service starts.
    Done { station: u32, req: u32 },
    /// Close a time-series interval. Emitted at start and by its own handler.
    Sample,
    /// Start observing: snapshot counters. Emitted at start.
    WindowStart,
    /// Stop observing and stop arrivals. Emitted at start.
    WindowEnd,
}

/// A request in flight. Lives in a slab slot reused after it leaves.
#[derive(Clone, Copy)]
struct Request {
    class: u16,
    step: u16,
    calls_left: u32,
    user: u32,
    born: u64,
    at_station: u64,
    /// Per step: the station whose last call this request finished (open
    /// connection; a held worker where the step holds), or NONE.
    inst: [u32; MAX_STEPS],
}

/// Run-time state of one station. Counters are cumulative from time zero;
/// the window is a difference of snapshots.
struct Station {
    busy: u32,
    /// Of the busy workers, those held waiting on later tiers.
    held: u32,
    /// Requests that entered and have not been answered end to end (leastconn).
    open: u32,
    queue: VecDeque<u32>,
    last_ns: u64,
    busy_area: u128,
    held_area: u128,
    queue_area: u128,
    c: Counters,
    at_start: Counters,
    rng: SimRng,
}

#[derive(Clone, Copy, Default)]
struct Counters {
    arrivals: u64,
    drops: u64,
    completions: u64,
    waits: u64,
    wait_sum: u128,
    busy_area: u128,
    held_area: u128,
    queue_area: u128,
}

/// Per-pool least-squares accumulators for the backlog trend.
#[derive(Clone, Copy, Default)]
struct Trend {
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

struct Sim<'m> {
    m: &'m Model,
    q: EventQueue<Event>,
    stations: Vec<Station>,
    slab: Vec<Request>,
    free: Vec<u32>,
    rr: Vec<u64>,
    rng_arrivals: SimRng,
    rng_class: SimRng,
    rng_calls: SimRng,
    rng_balance: SimRng,
    rng_think: SimRng,
    window_start: u64,
    window_end: u64,
    observing: bool,
    accepting: bool,
    // observations
    pool_hist: Vec<LatencyHistogram>,
    classes: Vec<ClassObs>,
    overall: ClassObs,
    cons: Conservation,
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

/// Runs replication `rep` of the model and returns what it observed.
pub fn run_replication(m: &Model, rep: u32) -> RepObs {
    let seed = m.sim.seed;
    let s = |name: &str| stream(seed, rep, stream_id(name));
    let n_pools = m.pools.len();
    let window_start = m.sim.warmup_ns;
    let window_end = m.sim.window_end_ns();
    let n_samples = window_end.div_ceil(m.sim.sample_every_ns) as usize;
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
                c: Counters::default(),
                at_start: Counters::default(),
                rng: stream(seed, rep, d.stream),
            })
            .collect(),
        slab: Vec::with_capacity(1024),
        free: Vec::with_capacity(1024),
        rr: vec![0; m.rr_slots],
        rng_arrivals: s("arrivals"),
        rng_class: s("classes"),
        rng_calls: s("calls"),
        rng_balance: s("balance"),
        rng_think: s("think"),
        window_start,
        window_end,
        observing: false,
        accepting: true,
        pool_hist: (0..n_pools).map(|_| LatencyHistogram::new(3)).collect(),
        classes: (0..m.classes.len()).map(|_| ClassObs::new()).collect(),
        overall: ClassObs::new(),
        cons: Conservation::default(),
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
            if t > stop {
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
                Event::Done { station, req } => self.on_done(station, req),
                Event::Sample => self.on_sample(),
                Event::WindowStart => self.on_window_start(),
                Event::WindowEnd => self.on_window_end(),
            }
        }
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
            born: now,
            at_station: now,
            inst: [NONE; MAX_STEPS],
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slab[id as usize] = r;
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
        self.enter_step(id, 0);
    }

    #[inline]
    fn in_window(&self, t: u64) -> bool {
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
        let steps = &self.m.classes[class].steps;
        if step >= steps.len() {
            self.complete(req);
            return;
        }
        let calls = steps[step].calls.sample(&mut self.rng_calls);
        let r = &mut self.slab[req as usize];
        r.step = step as u16;
        r.calls_left = calls;
        self.visit(req);
    }

    fn visit(&mut self, req: u32) {
        let station = self.pick(req);
        self.arrive(station, req);
    }

    /// Picks the instance for the request's current step.
    fn pick(&mut self, req: u32) -> u32 {
        let step = self.step_def(req);
        let cands = &step.candidates;
        let n = cands.len();
        if n == 1 {
            return cands[0];
        }
        match step.policy {
            Balance::Random => cands[self.rng_balance.random_range(0..n)],
            Balance::RoundRobin => {
                let c = &mut self.rr[step.rr_slot];
                let i = (*c % n as u64) as usize;
                *c += 1;
                cands[i]
            }
            Balance::LeastConn => {
                let c = &mut self.rr[step.rr_slot];
                let start = (*c % n as u64) as usize;
                *c += 1;
                let mut best = cands[start];
                for k in 1..n {
                    let s = cands[(start + k) % n];
                    if self.stations[s as usize].open < self.stations[best as usize].open {
                        best = s;
                    }
                }
                best
            }
            Balance::PowerOfTwo => {
                let a = self.rng_balance.random_range(0..n);
                let b = (a + 1 + self.rng_balance.random_range(0..n - 1)) % n;
                let (sa, sb) = (cands[a], cands[b]);
                if self.stations[sb as usize].open < self.stations[sa as usize].open {
                    sb
                } else {
                    sa
                }
            }
            Balance::Same => {
                let r = &self.slab[req as usize];
                let prev = r.inst[(r.step as usize).saturating_sub(1)];
                let idx = if r.step == 0 || prev == NONE {
                    0
                } else {
                    self.m.stations[prev as usize].index_in_pool as usize
                };
                cands[idx % n]
            }
        }
    }

    /// Brings a station's time integrals up to now.
    #[inline]
    fn touch(&mut self, s: u32) {
        let now = self.q.now();
        let st = &mut self.stations[s as usize];
        let dt = u128::from(now - st.last_ns);
        st.busy_area += u128::from(st.busy) * dt;
        st.held_area += u128::from(st.held) * dt;
        st.queue_area += st.queue.len() as u128 * dt;
        st.last_ns = now;
    }

    fn arrive(&mut self, s: u32, req: u32) {
        let now = self.q.now();
        self.slab[req as usize].at_station = now;
        let def = &self.m.stations[s as usize];
        let (workers, cap) = (def.workers, def.queue_cap);
        self.touch(s);
        let st = &mut self.stations[s as usize];
        st.c.arrivals += 1;
        if st.busy < workers {
            st.open += 1;
            self.start(s, req);
        } else if (st.queue.len() as u64) < u64::from(cap) {
            st.open += 1;
            st.queue.push_back(req);
        } else {
            st.c.drops += 1;
            self.drop_request(req);
        }
    }

    fn start(&mut self, s: u32, req: u32) {
        let now = self.q.now();
        let r = &self.slab[req as usize];
        let wait = now - r.at_station;
        let class = r.class as usize;
        let pool = self.m.stations[s as usize].pool as usize;
        let st = &mut self.stations[s as usize];
        st.busy += 1;
        st.c.waits += 1;
        st.c.wait_sum += u128::from(wait);
        let dur = self.m.pools[pool].service[class].sample(&mut st.rng);
        self.q
            .schedule(now.saturating_add(dur), Event::Done { station: s, req });
    }

    /// Frees one worker of `s` and starts the next waiting request, if any.
    fn release(&mut self, s: u32) {
        self.touch(s);
        let st = &mut self.stations[s as usize];
        st.busy -= 1;
        if let Some(next) = st.queue.pop_front() {
            self.start(s, next);
        }
    }

    fn on_done(&mut self, s: u32, req: u32) {
        let now = self.q.now();
        let pool = self.m.stations[s as usize].pool as usize;
        self.stations[s as usize].c.completions += 1;
        if self.observing {
            let sojourn = now - self.slab[req as usize].at_station;
            self.pool_hist[pool].record(sojourn);
        }
        let r = &mut self.slab[req as usize];
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
            if steps[step].holds {
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

    fn drop_request(&mut self, req: u32) {
        self.unwind(req);
        let now = self.q.now();
        let r = self.slab[req as usize];
        self.cons.dropped += 1;
        if self.in_window(r.born) {
            self.classes[r.class as usize].dropped += 1;
            self.overall.dropped += 1;
        }
        if now < self.window_end {
            self.bucket.dropped += 1;
        }
        self.free_request(req, r.user);
    }

    fn free_request(&mut self, req: u32, user: u32) {
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
                let present: u64 = (0..pool.count)
                    .map(|i| {
                        let st = &self.stations[(pool.first_station + i) as usize];
                        u64::from(st.busy) + st.queue.len() as u64
                    })
                    .sum();
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
            dropped: self.bucket.dropped,
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
        for s in 0..self.stations.len() as u32 {
            self.touch(s);
        }
        for st in &mut self.stations {
            st.c.busy_area = st.busy_area;
            st.c.held_area = st.held_area;
            st.c.queue_area = st.queue_area;
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
        for (p, pool) in self.m.pools.iter().enumerate() {
            self.present_at_end[p] = (0..pool.count)
                .map(|i| {
                    let st = &self.stations[(pool.first_station + i) as usize];
                    u64::from(st.busy) + st.queue.len() as u64
                })
                .sum();
        }
        // Freeze the window: `c - at_start` from here on is the window's share.
        for st in &mut self.stations {
            let end = st.c;
            st.at_start = Counters {
                arrivals: end.arrivals - st.at_start.arrivals,
                drops: end.drops - st.at_start.drops,
                completions: end.completions - st.at_start.completions,
                waits: end.waits - st.at_start.waits,
                wait_sum: end.wait_sum - st.at_start.wait_sum,
                busy_area: end.busy_area - st.at_start.busy_area,
                held_area: end.held_area - st.at_start.held_area,
                queue_area: end.queue_area - st.at_start.queue_area,
            };
        }
    }

    fn finish(mut self) -> RepObs {
        let window_ns = self.window_end - self.window_start;
        if self.accepting {
            // The run stopped before the window ended (cannot happen: the
            // window end is always scheduled); keep the accounting total.
            self.on_window_end();
        }
        // Whatever is still in the slab is in flight.
        let live = self.slab.len() - self.free.len();
        self.cons.in_flight = live as u64;
        let mut is_free = vec![false; self.slab.len()];
        for &f in &self.free {
            is_free[f as usize] = true;
        }
        for (i, r) in self.slab.iter().enumerate() {
            if !is_free[i] && self.in_window(r.born) {
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
                arrivals: 0,
                completions: 0,
                drops: 0,
                busy_ns: 0.0,
                held_ns: 0.0,
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
            window_ns,
            pools,
            instances,
            classes: self.classes,
            overall: self.overall,
            conservation: self.cons,
            series: self.series,
            events: self.events,
        }
    }
}
