//! Machines: a pool of cores shared by every component placed on them
//! (FIFO), the monitoring agent that samples on each, and background CPU
//! (`background` queues for a core like any work; `idle_background` yields:
//! it takes only a core nothing else waits for).
//!
//! A request first takes a worker of its component, then a core of its
//! machine for its service time; while the cores are busy it waits for one
//! and keeps its worker. A worker held waiting on a later tier (`hold`)
//! holds no core.

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use super::state::{Event, HostTask, PsEntry, PsKey, Sim, Waiting};
use super::{HostId, StationId};
use crate::scenario::{BACKGROUND_BURST_NS, IDLE_BURST_NS};

impl<const PS: bool> Sim<'_, PS> {
    /// Brings a host's integrals up to now.
    pub(super) fn touch_host(&mut self, h: HostId) {
        let now = self.q.now();
        let host = &mut self.hosts[h];
        let dt = u128::from(now - host.last_ns);
        // Under processor sharing more bursts than cores may be in progress.
        let busy = if PS && self.m.hosts[h].ps {
            host.busy.min(self.m.hosts[h].cores)
        } else {
            host.busy
        };
        host.busy_area += u128::from(busy) * dt;
        host.agent_area += u128::from(host.agents) * dt;
        host.last_ns = now;
    }

    /// A service asks machine `h` for a core.
    #[inline]
    pub(super) fn acquire_core(&mut self, h: HostId, s: StationId, w: Waiting) {
        if self.hosts[h].busy < self.m.hosts[h].cores || (PS && self.m.hosts[h].ps) {
            // (a processor-sharing machine takes every burst at once)
            self.touch_host(h);
            self.hosts[h].busy += 1;
            self.grant_core(h, s, w, self.q.now());
        } else {
            let since = self.q.now();
            self.hosts[h].queue.push_back(HostTask::Service {
                station: s,
                w,
                since,
            });
        }
    }

    /// A service gets its core (it asked at `since`) and starts.
    fn grant_core(&mut self, h: HostId, s: StationId, w: Waiting, since: u64) {
        // Under processor sharing the wait is the burst's stretch, counted
        // when it ends.
        if self.observing && !(PS && self.m.hosts[h].ps) {
            let host = &mut self.hosts[h];
            host.core_grants += 1;
            host.core_wait_ns += u128::from(self.q.now() - since);
        }
        self.stations[s].cores_held += 1;
        self.begin(s, w);
    }

    /// A service on `s` gives its core back.
    #[inline]
    pub(super) fn release_core(&mut self, h: HostId, s: StationId) {
        self.touch_host(h);
        self.hosts[h].busy -= 1;
        self.stations[s].cores_held -= 1;
        self.dispatch(h);
    }

    /// Starts waiting work while machine `h` has free cores.
    pub(super) fn dispatch(&mut self, h: HostId) {
        let (cores, ps) = (self.m.hosts[h].cores, PS && self.m.hosts[h].ps);
        while self.hosts[h].busy < cores || ps {
            let Some(task) = self.hosts[h].queue.pop_front() else {
                if self.hosts[h].idle_pending > 0 {
                    self.start_idle(h);
                }
                break;
            };
            self.touch_host(h);
            self.hosts[h].busy += 1;
            match task {
                HostTask::Service { station, w, since } => self.grant_core(h, station, w, since),
                HostTask::Background(cost) => {
                    self.burst_on(h, cost, Event::BackgroundDone(h), StationId::NONE);
                }
                HostTask::Agent => {
                    self.hosts[h].agents += 1;
                    let cost = match &self.m.hosts[h].monitoring {
                        Some((_, c)) => c.sample(&mut self.agent_rng[h]),
                        None => 0,
                    };
                    self.burst_on(h, cost, Event::AgentDone(h), StationId::NONE);
                }
            }
        }
    }

    /// A station crashed: its services waiting for a core are gone, and the
    /// cores its running services held are free.
    pub(super) fn host_lose_station(&mut self, s: StationId) {
        let Some(h) = self.m.stations[s].host else {
            return;
        };
        self.touch_host(h);
        let host = &mut self.hosts[h];
        host.queue
            .retain(|t| !matches!(t, HostTask::Service { station, .. } if *station == s));
        let held = std::mem::take(&mut self.stations[s].cores_held);
        self.hosts[h].busy -= held;
        if PS && self.m.hosts[h].eevdf.is_some() {
            self.eevdf_lose_station(h, s);
        } else if PS && self.m.hosts[h].cfs.is_some() {
            self.cfs_lose_station(h, s);
        } else if PS && self.m.hosts[h].ps {
            // Its bursts stay in the heap, dead (their crash count is the
            // one before this crash); they no longer share the cores.
            self.ps_advance(h);
            let before = self.stations[s].crashes.wrapping_sub(1);
            let ps = &self.hosts[h].ps;
            let dead = ps
                .heap
                .iter()
                .filter(|e| {
                    let x = &ps.entries[e.0.2];
                    x.station == s && x.crashes == before
                })
                .count() as u32;
            self.hosts[h].ps.live -= dead;
            self.ps_reschedule(h);
        }
        self.dispatch(h);
    }

    /// Work of `work_ns` on a core of machine `h` that ends with `event`:
    /// at once on a FIFO machine (the core is held), shared on a
    /// processor-sharing one.
    #[inline]
    pub(super) fn burst_on(&mut self, h: HostId, work_ns: u64, event: Event, station: StationId) {
        if !(PS && self.m.hosts[h].ps) {
            self.q.schedule_in(work_ns, event);
        } else {
            self.shared_start(h, work_ns, event, station);
        }
    }

    /// A burst joins machine `h`'s shared cores: processor sharing, the
    /// fair scheduler or EEVDF.
    #[inline]
    pub(super) fn shared_start(
        &mut self,
        h: HostId,
        work_ns: u64,
        event: Event,
        station: StationId,
    ) {
        if self.m.hosts[h].eevdf.is_some() {
            self.eevdf_start(h, work_ns, event, station);
        } else if self.m.hosts[h].cfs.is_some() {
            self.cfs_start(h, work_ns, event, station);
        } else {
            self.ps_start(h, work_ns, event, station);
        }
    }

    /// The cores' share each burst gets now: min(1, c / n).
    fn ps_rate(&self, h: HostId) -> f64 {
        let c = self.m.hosts[h].cores;
        let n = self.hosts[h].ps.live;
        if n <= c {
            1.0
        } else {
            f64::from(c) / f64::from(n)
        }
    }

    /// Brings machine `h`'s virtual time up to now.
    fn ps_advance(&mut self, h: HostId) {
        let now = self.q.now();
        let rate = self.ps_rate(h);
        let ps = &mut self.hosts[h].ps;
        ps.v += (now - ps.last_ns) as f64 * rate;
        ps.last_ns = now;
    }

    /// Schedules the next burst's end at the current rate (the previous
    /// `PsDone` goes stale).
    fn ps_reschedule(&mut self, h: HostId) {
        let rate = self.ps_rate(h);
        let ps = &mut self.hosts[h].ps;
        ps.generation = ps.generation.wrapping_add(1);
        let generation = ps.generation;
        if let Some(std::cmp::Reverse((k, _, _))) = ps.heap.peek() {
            let dt = ((k.0 - ps.v).max(0.0) / rate).ceil() as u64;
            self.q.schedule_in(dt, Event::PsDone(h, generation));
        }
    }

    /// A burst joins machine `h`'s processor sharing.
    #[cold]
    #[inline(never)]
    pub(super) fn ps_start(&mut self, h: HostId, work_ns: u64, event: Event, station: StationId) {
        self.ps_advance(h);
        let crashes = if station == StationId::NONE {
            0
        } else {
            self.stations[station].crashes
        };
        let entry = PsEntry {
            event,
            station,
            crashes,
            work_ns,
            since: self.q.now(),
        };
        let ps = &mut self.hosts[h].ps;
        let i = match ps.free.pop() {
            Some(i) => {
                ps.entries[i] = entry;
                i
            }
            None => {
                ps.entries.push(entry);
                ps.entries.len() - 1
            }
        };
        let finish = PsKey(ps.v + work_ns as f64);
        ps.heap.push(std::cmp::Reverse((finish, ps.seq, i)));
        ps.seq += 1;
        ps.live += 1;
        self.ps_reschedule(h);
    }

    /// The bursts whose work is done end (each with its event, now); dead
    /// ones are dropped.
    #[cold]
    #[inline(never)]
    pub(super) fn on_ps_done(&mut self, h: HostId, generation: u32) {
        if generation != self.hosts[h].ps.generation {
            return;
        }
        self.ps_advance(h);
        let now = self.q.now();
        loop {
            let ps = &mut self.hosts[h].ps;
            let Some(&std::cmp::Reverse((k, _, i))) = ps.heap.peek() else {
                break;
            };
            // Within half a nanosecond of work: rounding of the schedule.
            if k.0 > ps.v + 0.5 {
                break;
            }
            ps.heap.pop();
            ps.free.push(i);
            let e = ps.entries[i];
            let dead =
                e.station != StationId::NONE && self.stations[e.station].crashes != e.crashes;
            if dead {
                continue;
            }
            self.hosts[h].ps.live -= 1;
            if self.observing && e.station != StationId::NONE {
                let host = &mut self.hosts[h];
                host.core_grants += 1;
                host.core_wait_ns += u128::from((now - e.since).saturating_sub(e.work_ns));
            }
            self.q.schedule(now, e.event);
        }
        self.ps_reschedule(h);
    }

    /// Schedules the first monitoring sample of every machine that has an
    /// agent, and the first background burst of every machine with a
    /// background load.
    pub(super) fn schedule_agents(&mut self) {
        for h in self.m.hosts.ids() {
            if let Some((interval, _)) = &self.m.hosts[h].monitoring {
                let phase = (*interval as f64 * self.agent_rng[h].random::<f64>()) as u64;
                self.q.schedule(phase, Event::AgentTick(h));
            }
            if let Some((gap, _)) = self.m.hosts[h].background
                && gap.is_finite()
            {
                let e: f64 = Exp1.sample(&mut self.background_rng[h]);
                self.q.schedule((e * gap) as u64, Event::BackgroundTick(h));
            }
            let idle = self.m.hosts[h].idle_gap_ns;
            if idle.is_finite() {
                let e: f64 = Exp1.sample(&mut self.background_rng[h]);
                self.q.schedule((e * idle) as u64, Event::IdleTick(h));
            }
        }
    }

    /// A background burst arrives: it queues for a core like any work, and
    /// the next is drawn (Poisson bursts of exponential length).
    pub(super) fn on_background_tick(&mut self, h: HostId) {
        let Some((gap, _)) = self.m.hosts[h].background else {
            return;
        };
        let rng = &mut self.background_rng[h];
        let len: f64 = Exp1.sample(rng);
        let cost = (len * BACKGROUND_BURST_NS) as u64;
        let next: f64 = Exp1.sample(rng);
        self.hosts[h].queue.push_back(HostTask::Background(cost));
        self.dispatch(h);
        self.q
            .schedule_in((next * gap) as u64, Event::BackgroundTick(h));
    }

    /// Yielding background is due: kept (up to a second's worth) until a
    /// core is free with no other work waiting for it.
    pub(super) fn on_idle_tick(&mut self, h: HostId) {
        let backlog = self.m.hosts[h].idle_backlog;
        let host = &mut self.hosts[h];
        host.idle_pending = (host.idle_pending + 1).min(backlog);
        if host.queue.is_empty() {
            self.start_idle(h);
        }
        let next: f64 = Exp1.sample(&mut self.background_rng[h]);
        let gap = self.m.hosts[h].idle_gap_ns;
        self.q.schedule_in((next * gap) as u64, Event::IdleTick(h));
    }

    /// Starts due yielding background on the free cores of machine `h`
    /// (called when nothing else waits for them).
    #[cold]
    #[inline(never)]
    fn start_idle(&mut self, h: HostId) {
        while self.hosts[h].idle_pending > 0 && self.hosts[h].busy < self.m.hosts[h].cores {
            self.touch_host(h);
            let host = &mut self.hosts[h];
            host.idle_pending -= 1;
            host.busy += 1;
            let len: f64 = Exp1.sample(&mut self.background_rng[h]);
            let cost = (len * IDLE_BURST_NS) as u64;
            self.burst_on(h, cost, Event::BackgroundDone(h), StationId::NONE);
        }
    }

    /// Off-path CPU of a request entering the stack (a log shipper, a
    /// sidecar): a burst on one machine of each such group, in turn.
    pub(super) fn charge_off_path(&mut self) {
        for g in 0..self.m.off_path.len() {
            let (first, count) = self.m.off_path[g];
            let h = HostId(first + self.off_path_next[g]);
            self.off_path_next[g] = (self.off_path_next[g] + 1) % count;
            let len: f64 = Exp1.sample(&mut self.background_rng[h]);
            let cost = (len * self.m.hosts[h].off_path_ns) as u64;
            self.hosts[h].queue.push_back(HostTask::Background(cost));
            self.dispatch(h);
        }
    }

    pub(super) fn on_background_done(&mut self, h: HostId) {
        self.touch_host(h);
        self.hosts[h].busy -= 1;
        self.dispatch(h);
    }

    pub(super) fn on_agent_tick(&mut self, h: HostId) {
        self.hosts[h].queue.push_back(HostTask::Agent);
        self.dispatch(h);
        if let Some((interval, _)) = &self.m.hosts[h].monitoring {
            self.q.schedule_in(*interval, Event::AgentTick(h));
        }
    }

    pub(super) fn on_agent_done(&mut self, h: HostId) {
        self.touch_host(h);
        let host = &mut self.hosts[h];
        host.busy -= 1;
        host.agents -= 1;
        self.dispatch(h);
    }
}
