//! A machine whose cores follow Linux's EEVDF scheduler (6.6 and later;
//! `scheduling = "eevdf"`), reduced, as `cfs.rs` is, to what decides who
//! waits for a core:
//!
//! - every runnable burst has a virtual runtime `v` (equal weights) and a
//!   virtual deadline `v + sched_base_slice`; `V` is the average `v` of the
//!   runnable bursts, and a burst is eligible when `v <= V` (its lag, `V -
//!   v`, is not negative);
//! - a free core takes the eligible burst with the earliest deadline;
//! - a running burst keeps its core until its `v` reaches its deadline
//!   (`RUN_TO_PARITY`: a waking burst does not cut its slice short); then
//!   its deadline moves a slice on and the earliest eligible deadline,
//!   itself included, runs;
//! - a burst that starts is placed at `V` minus the lag its process had
//!   when its last burst ended (`PLACE_LAG`, scaled by `(n + 1) / n` for n
//!   runnable, clamped to two slices either way): a process that ran less
//!   than its share comes in ahead, one that ran more behind.
//!
//! The process of a burst is its station (its workers share one lag); the
//! cores share one run queue. Background and agents wake with no lag.

use super::state::{CfsEntry, Event, Sim};
use super::{HostId, StationId};

/// A core with nothing on it.
const IDLE: usize = usize::MAX;

impl<const PS: bool> Sim<'_, PS> {
    fn eevdf_slice(&self, h: HostId) -> i64 {
        self.m.hosts[h].eevdf.expect("an EEVDF machine") as i64
    }

    /// `V` and the number of runnable bursts (the last `V` when none).
    fn eevdf_avg(&mut self, h: HostId) -> (i64, usize) {
        let c = &self.hosts[h].cfs;
        let mut sum: i128 = 0;
        let mut n = 0usize;
        for k in 0..c.cores.len() {
            if c.cores[k].entry != IDLE {
                sum += i128::from(self.cfs_v_running(h, k));
                n += 1;
            }
        }
        for &e in &c.waiting {
            sum += i128::from(c.entries[e].v);
            n += 1;
        }
        let c = &mut self.hosts[h].cfs;
        if n > 0 {
            c.min_v = (sum / n as i128) as i64;
        }
        (c.min_v, n)
    }

    /// A burst of `work_ns` joins machine `h`'s EEVDF scheduling; `event`
    /// follows when its work is done.
    #[cold]
    #[inline(never)]
    pub(super) fn eevdf_start(
        &mut self,
        h: HostId,
        work_ns: u64,
        event: Event,
        station: StationId,
    ) {
        let slice = self.eevdf_slice(h);
        let (avg, n) = self.eevdf_avg(h);
        let (lag, crashes) = if station == StationId::NONE {
            (0, 0)
        } else {
            let lag = self.cfs_v[station.0 as usize];
            let lag = if n > 0 {
                (i128::from(lag) * (n as i128 + 1) / n as i128) as i64
            } else {
                lag
            };
            (lag, self.stations[station].crashes)
        };
        let v = avg - lag;
        let entry = CfsEntry {
            event,
            station,
            crashes,
            work_ns,
            left_ns: work_ns,
            v,
            deadline: v + slice,
            since: self.q.now(),
        };
        let e = self.shared_alloc(h, entry);
        if let Some(k) = self.shared_idle_core(h) {
            self.eevdf_run(h, k, e);
            return;
        }
        // Every core is taken: the waking burst preempts the running one
        // with the latest deadline if it is eligible and its own deadline is
        // earlier (`check_preempt_wakeup_fair`: it is what `pick_eevdf`
        // would choose).
        let (avg, _) = self.eevdf_avg(h);
        let c = &self.hosts[h].cfs;
        let x = c.entries[e];
        let latest = (0..c.cores.len())
            .max_by_key(|&k| (c.entries[c.cores[k].entry].deadline, std::cmp::Reverse(k)))
            .expect("a machine has a core");
        if x.v <= avg && x.deadline < c.entries[c.cores[latest].entry].deadline {
            self.eevdf_preempt(h, latest);
            self.eevdf_run(h, latest, e);
        } else {
            self.hosts[h].cfs.waiting.push(e);
        }
    }

    /// Takes the burst on core `k` off it, back to the waiting ones with
    /// the work it has left.
    fn eevdf_preempt(&mut self, h: HostId, k: usize) {
        let e = self.shared_take_off(h, k);
        self.hosts[h].cfs.waiting.push(e);
    }

    /// Burst `e` runs on core `k` until its work ends or its `v` reaches
    /// its deadline.
    fn eevdf_run(&mut self, h: HostId, k: usize, e: usize) {
        let now = self.q.now();
        let c = &mut self.hosts[h].cfs;
        let x = c.entries[e];
        let core = &mut c.cores[k];
        core.entry = e;
        core.start_ns = now;
        core.v0 = x.v;
        core.generation = core.generation.wrapping_add(1);
        let code = (k as u32) << 24 | (core.generation & 0xFF_FFFF);
        let to_deadline = (x.deadline - x.v).max(1) as u64;
        self.q
            .schedule_in(x.left_ns.min(to_deadline), Event::CfsTick(h, code));
    }

    /// Of the waiting bursts (and `also`, a burst that just used its
    /// slice), the eligible one with the earliest deadline; with none
    /// eligible, the least `v` (a free core never idles with work waiting).
    /// Returns its index in `waiting`, or `None` for `also`.
    fn eevdf_pick(&mut self, h: HostId, also: Option<usize>) -> Option<Option<usize>> {
        let (avg, _) = self.eevdf_avg(h);
        let c = &self.hosts[h].cfs;
        let key = |e: usize| {
            let x = &c.entries[e];
            (x.v > avg, if x.v > avg { x.v } else { x.deadline })
        };
        let best_waiting = (0..c.waiting.len()).min_by_key(|&i| (key(c.waiting[i]), i));
        match (best_waiting, also) {
            (None, None) => None,
            (None, Some(_)) => Some(None),
            (Some(i), None) => Some(Some(i)),
            (Some(i), Some(a)) => Some((key(c.waiting[i]) < key(a)).then_some(i)),
        }
    }

    /// Core `k`'s burst finished its work or reached its deadline (stale
    /// unless the generation in `code` is the core's).
    #[cold]
    #[inline(never)]
    pub(super) fn on_eevdf_tick(&mut self, h: HostId, code: u32) {
        let Some(k) = self.shared_tick_core(h, code) else {
            return;
        };
        let v = self.cfs_v_running(h, k);
        let now = self.q.now();
        let slice = self.eevdf_slice(h);
        let e = self.hosts[h].cfs.cores[k].entry;
        let ran = now - self.hosts[h].cfs.cores[k].start_ns;
        {
            let x = &mut self.hosts[h].cfs.entries[e];
            x.left_ns -= ran.min(x.left_ns);
            x.v = v;
        }
        if self.hosts[h].cfs.entries[e].left_ns > 0 {
            // Its slice is used: a new deadline, and the earliest eligible
            // deadline runs (itself, possibly).
            self.hosts[h].cfs.entries[e].deadline = v + slice;
            match self.eevdf_pick(h, Some(e)) {
                Some(Some(i)) => {
                    let next = self.hosts[h].cfs.waiting.swap_remove(i);
                    self.hosts[h].cfs.waiting.push(e);
                    self.eevdf_run(h, k, next);
                }
                _ => self.eevdf_run(h, k, e),
            }
            return;
        }
        // Done: the process keeps its lag for its next burst.
        let (avg, _) = self.eevdf_avg(h);
        let x = self.hosts[h].cfs.entries[e];
        if x.station != StationId::NONE {
            self.cfs_v[x.station.0 as usize] = (avg - v).clamp(-2 * slice, 2 * slice);
        }
        let c = &mut self.hosts[h].cfs;
        c.cores[k].entry = IDLE;
        c.free.push(e);
        self.eevdf_next(h, k);
        self.shared_finish(h, x, now);
    }

    /// Idle core `k` takes the eligible waiting burst with the earliest
    /// deadline, if any.
    fn eevdf_next(&mut self, h: HostId, k: usize) {
        if let Some(Some(i)) = self.eevdf_pick(h, None) {
            let next = self.hosts[h].cfs.waiting.swap_remove(i);
            self.eevdf_run(h, k, next);
        }
    }

    /// Station `s` crashed: its bursts, running or waiting, are dropped;
    /// the cores they held take waiting ones.
    #[cold]
    pub(super) fn eevdf_lose_station(&mut self, h: HostId, s: StationId) {
        let before = self.stations[s].crashes.wrapping_sub(1);
        let c = &mut self.hosts[h].cfs;
        let is_dead = |x: &CfsEntry| x.station == s && x.crashes == before;
        let mut i = 0;
        while i < c.waiting.len() {
            if is_dead(&c.entries[c.waiting[i]]) {
                let e = c.waiting.swap_remove(i);
                c.free.push(e);
            } else {
                i += 1;
            }
        }
        for k in self.shared_drop_running(h, s) {
            self.eevdf_next(h, k);
        }
    }
}
