//! Machines: a pool of cores shared by every component placed on them
//! (FIFO), and the monitoring agent that samples on each.
//!
//! A request first takes a worker of its component, then a core of its
//! machine for its service time; while the cores are busy it waits for one
//! and keeps its worker. A worker held waiting on a later tier (`hold`)
//! holds no core.

use rand::RngExt;
use rand_distr::{Distribution, Exp1};

use super::state::{Event, HostTask, Sim, Waiting};
use super::{HostId, StationId};
use crate::scenario::BACKGROUND_BURST_NS;

impl Sim<'_> {
    /// Brings a host's integrals up to now.
    pub(super) fn touch_host(&mut self, h: HostId) {
        let now = self.q.now();
        let host = &mut self.hosts[h];
        let dt = u128::from(now - host.last_ns);
        host.busy_area += u128::from(host.busy) * dt;
        host.agent_area += u128::from(host.agents) * dt;
        host.last_ns = now;
    }

    /// A service asks machine `h` for a core.
    #[inline]
    pub(super) fn acquire_core(&mut self, h: HostId, s: StationId, w: Waiting) {
        if self.hosts[h].busy < self.m.hosts[h].cores {
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
        if self.observing {
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
        let cores = self.m.hosts[h].cores;
        while self.hosts[h].busy < cores {
            let Some(task) = self.hosts[h].queue.pop_front() else {
                break;
            };
            self.touch_host(h);
            self.hosts[h].busy += 1;
            match task {
                HostTask::Service { station, w, since } => self.grant_core(h, station, w, since),
                HostTask::Background(cost) => {
                    self.q.schedule_in(cost, Event::BackgroundDone(h));
                }
                HostTask::Agent => {
                    self.hosts[h].agents += 1;
                    let cost = match &self.m.hosts[h].monitoring {
                        Some((_, c)) => c.sample(&mut self.agent_rng[h]),
                        None => 0,
                    };
                    self.q.schedule_in(cost, Event::AgentDone(h));
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
        self.dispatch(h);
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
