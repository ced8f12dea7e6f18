//! Observation: time-series samples, the window's snapshots, and the
//! replication's final record.

use super::state::{Event, Phase, Sim};
use super::{Id, PoolId};
use crate::stats::{ClassObs, HostObs, InstanceObs, PoolObs, RepObs, SampleObs, WriteOutage};

impl<const PS: bool> Sim<'_, PS> {
    /// Closes every station's integrals at now and sums them per pool.
    fn pool_areas(&mut self) -> (Vec<u128>, Vec<u128>) {
        let now = self.q.now();
        let n = self.m.pools.len();
        let (mut busy, mut queue) = (vec![0u128; n], vec![0u128; n]);
        for (st, def) in self.stations.iter().zip(&self.m.stations) {
            let [b, _, q, _] = st.areas(now);
            busy[def.pool.ix()] += b;
            queue[def.pool.ix()] += q;
        }
        (busy, queue)
    }

    fn present(&self, p: PoolId) -> u64 {
        let pool = &self.m.pools[p];
        (0..pool.count)
            .map(|i| {
                let st = &self.stations[pool.station(i)];
                u64::from(st.busy) + st.queue.len() as u64
            })
            .sum()
    }

    pub(super) fn on_sample(&mut self) {
        let now = self.q.now();
        let width = now - self.bucket_start;
        let (busy, queue) = self.pool_areas();
        let mut util = Vec::with_capacity(busy.len());
        let mut qlen = Vec::with_capacity(busy.len());
        for (p, pool) in self.m.pools.iter().enumerate() {
            let workers: u64 = (0..pool.count)
                .map(|i| u64::from(self.m.stations[pool.station(i)].workers))
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
                let present = self.present(PoolId::at(p));
                self.trends[p].add((now - self.window_start) as f64 / 1e9, present as f64);
            }
        }
        if let Some(c) = &mut self.client
            && (self.observing || now == self.window_end)
        {
            c.trend
                .add((now - self.window_start) as f64 / 1e9, c.queue.len() as f64);
        }
        self.prev_pool_busy = busy;
        self.prev_pool_queue = queue;
        let [p50_ns, p95_ns, p99_ns] = self.bucket_hist.quantiles_ns([0.5, 0.95, 0.99]);
        let obs = SampleObs {
            start_ns: self.bucket_start,
            width_ns: width,
            offered: self.bucket.offered,
            completed: self.bucket.completed,
            errors: self.bucket.errors,
            failed: self.bucket.failed,
            mean_ns: self.bucket_hist.mean_ns(),
            p50_ns,
            p95_ns,
            p99_ns,
            class_latency: self
                .bucket_class_hist
                .iter()
                .map(|h| h.quantiles_ns([0.5, 0.95, 0.99]))
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
        for st in &mut self.stations {
            st.c.wasted = st.wasted_acc + i128::from(st.orphans) * i128::from(now);
            [
                st.c.busy_area,
                st.c.held_area,
                st.c.queue_area,
                st.c.down_area,
            ] = st.areas(now);
        }
    }

    pub(super) fn on_window_start(&mut self) {
        self.snapshot();
        for st in &mut self.stations {
            st.at_start = st.c;
        }
        let now = self.q.now();
        for p in self.pauses.iter_mut().chain(&mut self.host_pauses) {
            p.at_start = p.so_far(now);
        }
        for h in self.hosts.ids() {
            self.touch_host(h);
            let host = &mut self.hosts[h];
            host.window = (host.busy_area, host.agent_area);
        }
        self.observing = true;
    }

    pub(super) fn on_window_end(&mut self) {
        self.snapshot();
        let now = self.q.now();
        for p in self.pauses.iter_mut().chain(&mut self.host_pauses) {
            let (n, area) = p.so_far(now);
            p.window = (n - p.at_start.0, area - p.at_start.1);
        }
        self.observing = false;
        self.accepting = false;
        if self.repl.is_some() {
            self.count_backlog();
        }
        for p in self.m.pools.ids() {
            self.present_at_end[p.ix()] = self.present(p);
        }
        // Requests of the window still open as it closes (once per run).
        for i in 0..self.slab.len() {
            let r = self.slab[i];
            if r.phase != Phase::Free && self.in_window(r.born) {
                self.classes[r.class as usize].open_at_end += 1;
            }
        }
        if let Some(c) = &self.client {
            // Arrivals still waiting for a client connection are open too.
            for &(born, class) in &c.queue {
                if born >= self.window_start && born < self.window_end {
                    self.classes[class as usize].open_at_end += 1;
                }
            }
        }
        // Freeze the window: from here on `at_start` holds the window's share.
        for st in &mut self.stations {
            st.at_start = st.c.minus(&st.at_start);
        }
        for h in self.hosts.ids() {
            self.touch_host(h);
            let host = &mut self.hosts[h];
            host.window = (
                host.busy_area - host.window.0,
                host.agent_area - host.window.1,
            );
        }
    }

    pub(super) fn finish(mut self) -> RepObs {
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
        let replication = self.finish_replication();
        // Whatever is still in the slab is in flight (or waiting to retry).
        self.cons.in_flight = self.live() as u64;
        for i in 0..self.slab.len() {
            let r = self.slab[i];
            if r.phase != Phase::Free && self.in_window(r.born) {
                self.classes[r.class as usize].in_flight += 1;
            }
        }
        // Arrivals still waiting for a client connection were never sent
        // (the conservation counts the stack's requests): they arrived and
        // did not finish.
        let client = self.client.take().map(|mut c| {
            for &(born, class) in &c.queue {
                if born >= self.window_start && born < self.window_end {
                    let k = &mut self.classes[class as usize];
                    k.arrived += 1;
                    k.in_flight += 1;
                    c.obs.waiting_at_end += 1;
                }
            }
            c.obs.backlog_slope_per_s = c.trend.slope();
            c.obs
        });
        let mut pools: Vec<PoolObs> = self
            .pool_hist
            .into_iter()
            .enumerate()
            .map(|(p, sojourn)| PoolObs {
                workers: 0,
                instances: self.m.pools[PoolId::at(p)].count,
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
                cpu_services: 0,
                cpu_ns: 0.0,
                off_core_ns: 0.0,
                wakeups: None,
                pauses: None,
            })
            .collect();
        let mut instances = Vec::with_capacity(self.stations.len());
        for (si, (st, def)) in self.stations.iter().zip(&self.m.stations).enumerate() {
            let w = &st.at_start; // the window's share, frozen at window end
            let p = &mut pools[def.pool.ix()];
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
            p.cpu_services += st.cpu_services;
            p.cpu_ns += st.cpu_ns as f64;
            p.off_core_ns += st.off_core_ns as f64;
            if def.wakeup_ns > 0 {
                *p.wakeups.get_or_insert(0) += w.wakeups;
            }
            if self.m.pools[def.pool].pauses.is_some() {
                let (n, ns) = self.pauses[si].window;
                let acc = p.pauses.get_or_insert((0, 0.0));
                acc.0 += n;
                acc.1 += ns as f64;
            }
            instances.push(InstanceObs {
                pool: def.pool.ix(),
                workers: def.workers,
                arrivals: w.arrivals,
                drops: w.drops,
                busy_ns: w.busy_area as f64,
            });
        }
        let groups = self
            .m
            .hosts
            .iter()
            .map(|h| h.group as usize + 1)
            .max()
            .unwrap_or(0);
        let mut hosts = vec![HostObs::default(); groups];
        for (hi, (state, def)) in self.hosts.iter().zip(&self.m.hosts).enumerate() {
            let g = &mut hosts[def.group as usize];
            if def.pauses.is_some() {
                let (n, ns) = self.host_pauses[hi].window;
                let acc = g.pauses.get_or_insert((0, 0.0));
                acc.0 += n;
                acc.1 += ns as f64;
            }
            g.cores += def.cores;
            g.busy_ns += state.window.0 as f64;
            g.agent_ns += state.window.1 as f64;
            g.machine_busy_ns.push(state.window.0 as f64);
            g.core_grants += state.core_grants;
            g.core_wait_ns += state.core_wait_ns as f64;
            if def.switch_ns > 0 {
                let n = state.cfs.preemptions;
                let s = g.switches.get_or_insert((0, 0.0));
                s.0 += n;
                s.1 += n as f64 * def.switch_ns as f64;
            }
        }
        // The overall record is the sum of the classes' (kept out of the
        // hot path: one histogram record less per request).
        let mut overall = ClassObs::new();
        for c in &self.classes {
            overall.add(c);
        }
        RepObs {
            window_start_ns: self.window_start,
            window_ns,
            pools,
            instances,
            classes: self.classes,
            overall,
            conservation: self.cons,
            series: self.series,
            timeline: self.timeline,
            write_outages: self.outages,
            hosts,
            access_log: self.access_log,
            events: self.events,
            overflow: self.overflow,
            phases: self.phases,
            down_split: self.down_split.map(|mut d| {
                let (ws, we) = (self.window_start, self.window_end);
                d.spend(
                    usize::from(self.stations_down > 0),
                    self.down_since,
                    we,
                    ws,
                    we,
                );
                d
            }),
            client,
            replication,
        }
    }
}
