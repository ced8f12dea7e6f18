//! The end of an attempt: completion, failure with a cause, retry with
//! backoff, and freeing the request's slot.

use rand::RngExt;

use super::StationId;
use super::state::{Event, NO_USER, Phase, Request, Sim};
use crate::scenario::MAX_STEPS;
use crate::stats::{AccessRecord, Cause, VisitRecord};

impl<const PS: bool> Sim<'_, PS> {
    /// Closes the request's open connections and held workers, innermost first.
    pub(super) fn unwind(&mut self, req: u32) {
        let m = self.m;
        let steps = &m.classes[self.slab[req as usize].class as usize].steps;
        for step in (0..steps.len()).rev() {
            // Read in place: releasing a worker never touches this slot.
            let s = self.slab[req as usize].inst[step];
            if s == StationId::NONE {
                continue;
            }
            self.stations[s].open -= 1;
            // A crashed station has already let go of its workers.
            if steps[step].holds && self.stations[s].up {
                let now = self.q.now();
                self.stations[s].hold(now, false);
                self.release(s);
            }
        }
    }

    /// Keeps the times of a visit that just ended, for the logs.
    #[cold]
    pub(super) fn trace_visit(&mut self, s: StationId, req: u32, now: u64) {
        if !self.logging() {
            return;
        }
        let r = &self.slab[req as usize];
        let i = req as usize;
        if self.trace.len() <= i {
            self.trace
                .resize(i + 1, [(0, 0, 0, StationId::NONE); MAX_STEPS]);
        }
        self.trace[i][r.step as usize] = (r.at_station, r.service_start, now, s);
    }

    /// Whether the access log still takes records (replication 0, below
    /// the model's limit).
    #[inline]
    pub(super) fn logging(&self) -> bool {
        self.rep == 0 && self.access_log.len() < self.m.access_log_limit
    }

    /// Logs a user request that passed a `web` tier, as Nginx would.
    fn log_access(&mut self, req: u32, r: &Request, status: u16) {
        if !self.logging() {
            return;
        }
        let Some(step) = self.m.web_step[r.class as usize] else {
            return;
        };
        let web = r.inst.get(step).copied().filter(|&s| s != StationId::NONE);
        let steps = &self.m.classes[r.class as usize].steps;
        let visits = match self.trace.get(req as usize) {
            Some(t) => t[..steps.len().min(MAX_STEPS)]
                .iter()
                .zip(steps)
                .filter(|(v, _)| v.3 != StationId::NONE)
                .map(|(&(arrive_ns, start_ns, end_ns, s), step)| VisitRecord {
                    tier: step.tier,
                    instance: self.m.stations[s].index_in_pool,
                    arrive_ns,
                    start_ns,
                    end_ns,
                })
                .collect(),
            None => Vec::new(),
        };
        if let Some(t) = self.trace.get_mut(req as usize) {
            *t = [(0, 0, 0, StationId::NONE); MAX_STEPS];
        }
        self.access_log.push(AccessRecord {
            end_ns: self.q.now(),
            duration_ns: self.q.now() - r.born,
            class: r.class,
            status,
            server: web.map_or(0, |s| self.m.stations[s].index_in_pool),
            visits,
        });
    }

    pub(super) fn complete(&mut self, req: u32) {
        self.unwind(req);
        let now = self.q.now();
        if self.logging() {
            let r = self.slab[req as usize];
            self.log_access(req, &r, 200);
        }
        let (born, class, user) = {
            let r = &self.slab[req as usize];
            (r.born, r.class as usize, r.user)
        };
        let latency = now - born;
        self.cons.completed += 1;
        if self.in_window(born) {
            let c = &mut self.classes[class];
            c.completed += 1;
            c.completed_by_end += u64::from(now < self.window_end);
            c.latency.record(latency);
            if self.by_phase {
                self.phase_end(req, true, latency);
            }
            if self.client.is_some() {
                self.client_completed(req, latency);
            }
        }
        if self.in_window(now) {
            self.classes[class].finished_in_window += 1;
        }
        if now < self.window_end {
            self.bucket.completed += 1;
            self.bucket_hist.record(latency);
            self.bucket_class_hist[class].record(latency);
        }
        self.free_request(req, user);
    }

    /// Records a completed request's latency from its send, with a client
    /// connection cap (out of line: the hot path keeps its size).
    #[cold]
    #[inline(never)]
    fn client_completed(&mut self, req: u32, latency: u64) {
        if let Some(c) = &mut self.client {
            let waited = c.waited_ns.get(req as usize).copied().unwrap_or(0);
            c.obs.sent_latency.record(latency - waited);
        }
    }

    /// Counts a new request in the phase of each scripted fault it arrived
    /// in, and in the stack's state (every instance up or not) with random
    /// failures. Out of line: only scenarios with faults call it, and the
    /// hot path keeps its size.
    #[cold]
    #[inline(never)]
    pub(super) fn phase_arrival(&mut self, req: u32, born: u64) {
        for f in &mut self.phases {
            if let Some(i) = crate::stats::obs::PhaseObs::index(f, born) {
                f[i].arrived += 1;
            }
        }
        if let Some(d) = &mut self.down_split {
            let degraded = self.stations_down > 0;
            self.slab[req as usize].degraded = degraded;
            d.arrived_in[usize::from(degraded)].arrived += 1;
        }
    }

    /// Counts the end of a request (completed or not, with the latency its
    /// user saw) in the phases it arrived in; see `phase_arrival`.
    #[cold]
    #[inline(never)]
    pub(super) fn phase_end(&mut self, req: u32, completed: bool, latency: u64) {
        let r = &self.slab[req as usize];
        let (born, degraded) = (r.born, r.degraded);
        let count = |p: &mut crate::stats::obs::PhaseObs| {
            if completed {
                p.completed += 1;
            } else {
                p.failed += 1;
            }
            p.seen.record(latency);
        };
        for f in &mut self.phases {
            if let Some(i) = crate::stats::obs::PhaseObs::index(f, born) {
                count(&mut f[i]);
            }
        }
        if let Some(d) = &mut self.down_split {
            count(&mut d.arrived_in[usize::from(degraded)]);
        }
    }

    /// Ends the current attempt with `cause`: detaches it from wherever it
    /// is, releases what it holds, then retries or fails the user request.
    pub(super) fn fail_attempt(&mut self, req: u32, cause: Cause) {
        let r = self.slab[req as usize];
        match r.phase {
            // A queued or running service goes on without its client: it is
            // served anyway, and its Done finds the attempt gone (wasted work).
            Phase::Queued => self.stations[r.station].open -= 1,
            Phase::InService => {
                let st = &mut self.stations[r.station];
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
            slot.inst = [StationId::NONE; MAX_STEPS];
            slot.phase = Phase::Backoff;
            let epoch = slot.epoch;
            self.q.schedule_in(delay, Event::Retry { req, epoch });
            return;
        }
        self.cons.failed += 1;
        if now < self.window_end {
            self.bucket.failed[cause.index()] += 1;
        }
        let status = match cause {
            Cause::Timeout => 504,
            Cause::BackendDown | Cause::Crash => 502,
            Cause::NoPrimary => 500,
            Cause::QueueFull | Cause::NoBackend | Cause::ConntrackFull => 503,
        };
        self.log_access(req, &r, status);
        if self.in_window(r.born) {
            let c = &mut self.classes[r.class as usize];
            c.failed[cause.index()] += 1;
            c.failed_latency.record(self.q.now() - r.born);
            if self.by_phase {
                self.phase_end(req, false, now - r.born);
            }
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

    pub(super) fn free_request(&mut self, req: u32, user: u32) {
        let slot = &mut self.slab[req as usize];
        slot.epoch = slot.epoch.wrapping_add(1);
        slot.phase = Phase::Free;
        self.free.push(req);
        if self.client.is_some() {
            self.client_release();
        }
        if user != NO_USER && self.accepting {
            let t = self.think_time();
            self.q.schedule_in(t, Event::Wake(user));
        }
    }
}
