//! A machine whose cores follow Linux's completely fair scheduler
//! (`scheduling = "cfs"`), reduced to what decides who waits for a core:
//!
//! - every runnable burst has a virtual runtime (`v`, ns of a core: all
//!   tasks weigh the same, nice 0); a running one's grows with the time it
//!   runs, and the cores run the bursts with the least;
//! - the machine's `min_vruntime` follows the least `v` runnable, never
//!   going back;
//! - a burst that starts is placed as the kernel places a waking task
//!   (`place_entity` with `GENTLE_FAIR_SLEEPERS`): at its process's own
//!   virtual runtime, but no further back than half `sched_latency` behind
//!   `min_vruntime`. A process that slept long (a proxy between requests, a
//!   database thread between statements) thus comes in ahead of one that
//!   has been running (an app worker busy on its backlog);
//! - a waking burst preempts the running one whose `v` leads its own by
//!   more than `sched_wakeup_granularity` (`check_preempt_wakeup`; with
//!   several cores, the one that leads most);
//! - a running burst whose slice is used up, `max(sched_latency / n,
//!   sched_min_granularity)` for n runnable per core, gives its core to a
//!   waiting one with less `v` (`check_preempt_tick`).
//!
//! The process of a burst is its station: the workers of one instance share
//! one virtual runtime (the last its bursts reached), an approximation of
//! the kernel's one per thread that keeps no per-worker state. Background
//! work and monitoring agents are timer wake-ups, placed as long sleepers.
//! The cores share one run queue (the kernel balances per-CPU queues).

use super::state::{CfsEntry, Event, Sim};
use super::{HostId, StationId};

/// A core with nothing on it.
const IDLE: usize = usize::MAX;

impl<const PS: bool> Sim<'_, PS> {
    /// The fair scheduler's tunables of machine `h`.
    fn cfs_params(&self, h: HostId) -> crate::scenario::CfsParams {
        self.m.hosts[h].cfs.expect("a fair-scheduled machine")
    }

    /// `v` of the burst on core `k` now (both Linux disciplines).
    pub(super) fn cfs_v_running(&self, h: HostId, k: usize) -> i64 {
        let c = &self.hosts[h].cfs;
        let core = &c.cores[k];
        core.v0 + (self.q.now() - core.start_ns) as i64
    }

    /// Brings `min_vruntime` up to the least `v` runnable.
    fn cfs_update_min(&mut self, h: HostId) {
        let least_running = (0..self.hosts[h].cfs.cores.len())
            .filter(|&k| self.hosts[h].cfs.cores[k].entry != IDLE)
            .map(|k| self.cfs_v_running(h, k))
            .min();
        let c = &mut self.hosts[h].cfs;
        let least_queued = c.queue.peek().map(|r| r.0.0);
        let least = match (least_running, least_queued) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(x) => x,
                None => return,
            },
        };
        c.min_v = c.min_v.max(least);
    }

    /// A burst of `work_ns` joins machine `h`'s fair scheduling; `event`
    /// follows when its work is done.
    #[cold]
    #[inline(never)]
    pub(super) fn cfs_start(&mut self, h: HostId, work_ns: u64, event: Event, station: StationId) {
        let p = self.cfs_params(h);
        self.cfs_update_min(h);
        let floor = self.hosts[h].cfs.min_v - (p.latency_ns / 2) as i64;
        let (v, crashes) = if station == StationId::NONE {
            (floor, 0)
        } else {
            let own = self.cfs_v[station.0 as usize];
            (own.max(floor), self.stations[station].crashes)
        };
        let now = self.q.now();
        let entry = CfsEntry {
            event,
            station,
            crashes,
            work_ns,
            left_ns: work_ns,
            v,
            deadline: 0,
            since: now,
        };
        let e = self.shared_alloc(h, entry);
        if let Some(k) = self.shared_idle_core(h) {
            self.cfs_run(h, k, e);
            return;
        }
        // Every core is taken: preempt the one that leads most, if it leads
        // by more than the wake-up granularity.
        let (k, lead) = (0..self.hosts[h].cfs.cores.len())
            .map(|k| (k, self.cfs_v_running(h, k) - v))
            .max_by_key(|&(k, lead)| (lead, std::cmp::Reverse(k)))
            .expect("a machine has a core");
        if lead > p.wakeup_granularity_ns as i64 {
            self.cfs_preempt(h, k);
            self.cfs_run(h, k, e);
        } else {
            self.cfs_enqueue(h, e);
        }
    }

    fn cfs_enqueue(&mut self, h: HostId, e: usize) {
        let c = &mut self.hosts[h].cfs;
        let key = (c.entries[e].v, c.seq, e);
        c.seq += 1;
        c.queue.push(std::cmp::Reverse(key));
    }

    /// Takes the burst on core `k` off it, back to the run queue with the
    /// work it has left.
    fn cfs_preempt(&mut self, h: HostId, k: usize) {
        let e = self.shared_take_off(h, k);
        self.cfs_enqueue(h, e);
    }

    /// A new burst's slot on machine `h` (made, with the cores, on the
    /// first): shared by the fair scheduler and EEVDF.
    pub(super) fn shared_alloc(&mut self, h: HostId, entry: CfsEntry) -> usize {
        let c = &mut self.hosts[h].cfs;
        if c.cores.is_empty() {
            c.cores = vec![Default::default(); self.m.hosts[h].cores as usize];
        }
        match c.free.pop() {
            Some(i) => {
                c.entries[i] = entry;
                i
            }
            None => {
                c.entries.push(entry);
                c.entries.len() - 1
            }
        }
    }

    /// The core a `CfsTick` with `code` is for, unless it is stale (the
    /// core's burst or its generation changed since).
    pub(super) fn shared_tick_core(&self, h: HostId, code: u32) -> Option<usize> {
        let k = (code >> 24) as usize;
        let core = &self.hosts[h].cfs.cores[k];
        (core.entry != IDLE && core.generation & 0xFF_FFFF == code & 0xFF_FFFF).then_some(k)
    }

    /// Burst `x` has done its work at `now`: unless its station crashed
    /// meanwhile, its wait for a core is counted and its event follows.
    pub(super) fn shared_finish(&mut self, h: HostId, x: CfsEntry, now: u64) {
        let dead = x.station != StationId::NONE && self.stations[x.station].crashes != x.crashes;
        if !dead {
            if self.observing && x.station != StationId::NONE {
                let host = &mut self.hosts[h];
                host.core_grants += 1;
                host.core_wait_ns += u128::from((now - x.since).saturating_sub(x.work_ns));
            }
            self.q.schedule(now, x.event);
        }
    }

    /// A core of machine `h` with nothing on it, if any.
    pub(super) fn shared_idle_core(&self, h: HostId) -> Option<usize> {
        self.hosts[h].cfs.cores.iter().position(|x| x.entry == IDLE)
    }

    /// Takes the burst on core `k` off it (the core idles), with the work
    /// it has left and the virtual runtime it reached; returns it.
    pub(super) fn shared_take_off(&mut self, h: HostId, k: usize) -> usize {
        let now = self.q.now();
        let c = &mut self.hosts[h].cfs;
        let core = &mut c.cores[k];
        let ran = now - core.start_ns;
        let v = core.v0 + ran as i64;
        let e = std::mem::replace(&mut core.entry, IDLE);
        core.generation = core.generation.wrapping_add(1);
        let x = &mut c.entries[e];
        x.left_ns -= ran.min(x.left_ns);
        x.v = v;
        // An involuntary switch: the burst finds its caches cold when it
        // runs again (`switch_cost`).
        let switch = self.m.hosts[h].switch_ns;
        if switch > 0 && x.left_ns > 0 {
            x.left_ns += switch;
            x.work_ns += switch;
            if self.observing {
                c.preemptions += 1;
            }
        }
        e
    }

    /// Station `s` crashed: the bursts of it running on machine `h`'s cores
    /// are dropped (their crash count is the one before the crash); returns
    /// the cores that freed.
    pub(super) fn shared_drop_running(&mut self, h: HostId, s: StationId) -> Vec<usize> {
        let before = self.stations[s].crashes.wrapping_sub(1);
        let c = &mut self.hosts[h].cfs;
        let mut freed = Vec::new();
        for (k, core) in c.cores.iter_mut().enumerate() {
            if core.entry == IDLE {
                continue;
            }
            let x = &c.entries[core.entry];
            if x.station == s && x.crashes == before {
                c.free.push(core.entry);
                core.entry = IDLE;
                core.generation = core.generation.wrapping_add(1);
                freed.push(k);
            }
        }
        freed
    }

    /// The slice a burst gets now: `sched_latency` shared among the
    /// runnable bursts per core, at least `sched_min_granularity`.
    fn cfs_slice(&self, h: HostId) -> u64 {
        let p = self.cfs_params(h);
        let c = &self.hosts[h].cfs;
        let running = c.cores.iter().filter(|x| x.entry != IDLE).count();
        let per_core = (running + c.queue.len()).div_ceil(c.cores.len()).max(1) as u64;
        (p.latency_ns / per_core).max(p.min_granularity_ns)
    }

    /// Burst `e` runs on core `k` until its work or its slice ends.
    fn cfs_run(&mut self, h: HostId, k: usize, e: usize) {
        let slice = self.cfs_slice(h);
        let now = self.q.now();
        let c = &mut self.hosts[h].cfs;
        let core = &mut c.cores[k];
        core.entry = e;
        core.start_ns = now;
        core.v0 = c.entries[e].v;
        core.generation = core.generation.wrapping_add(1);
        let code = (k as u32) << 24 | (core.generation & 0xFF_FFFF);
        let run = c.entries[e].left_ns.min(slice);
        self.q.schedule_in(run, Event::CfsTick(h, code));
    }

    /// Core `k`'s burst finished its work or its slice (stale unless the
    /// generation in `code` is the core's).
    #[cold]
    #[inline(never)]
    pub(super) fn on_cfs_tick(&mut self, h: HostId, code: u32) {
        let Some(k) = self.shared_tick_core(h, code) else {
            return;
        };
        let v = self.cfs_v_running(h, k);
        let now = self.q.now();
        let c = &mut self.hosts[h].cfs;
        let e = c.cores[k].entry;
        let ran = now - c.cores[k].start_ns;
        if ran < c.entries[e].left_ns {
            // The slice is used up: a waiting burst with less `v` takes the
            // core (the running one goes back with what it has left).
            self.cfs_update_min(h);
            if self.hosts[h].cfs.queue.peek().is_some_and(|r| r.0.0 < v) {
                self.cfs_preempt(h, k);
                self.cfs_next(h, k);
            } else {
                let x = &mut self.hosts[h].cfs.entries[e];
                x.left_ns -= ran;
                x.v = v;
                self.cfs_run(h, k, e);
            }
            return;
        }
        let x = c.entries[e];
        c.cores[k].entry = IDLE;
        c.free.push(e);
        if x.station != StationId::NONE {
            self.cfs_v[x.station.0 as usize] = v;
        }
        self.cfs_update_min(h);
        self.cfs_next(h, k);
        self.shared_finish(h, x, now);
    }

    /// Idle core `k` takes the waiting burst with the least `v`, if any.
    fn cfs_next(&mut self, h: HostId, k: usize) {
        if let Some(std::cmp::Reverse((_, _, e))) = self.hosts[h].cfs.queue.pop() {
            self.cfs_run(h, k, e);
        }
    }

    /// Station `s` crashed: its bursts, running or waiting, are dropped
    /// (their crash count is the one before the crash); the cores they held
    /// go to the waiting ones.
    #[cold]
    pub(super) fn cfs_lose_station(&mut self, h: HostId, s: StationId) {
        let before = self.stations[s].crashes.wrapping_sub(1);
        let c = &mut self.hosts[h].cfs;
        let is_dead = |x: &CfsEntry| x.station == s && x.crashes == before;
        let entries = &c.entries;
        let queue: Vec<_> = std::mem::take(&mut c.queue).into_vec();
        let (dead, live): (Vec<_>, Vec<_>) =
            queue.into_iter().partition(|r| is_dead(&entries[r.0.2]));
        c.free.extend(dead.iter().map(|r| r.0.2));
        c.queue = live.into();
        for k in self.shared_drop_running(h, s) {
            self.cfs_next(h, k);
        }
    }
}
