//! Failures on the running model: random and scripted outages, slowdowns,
//! HAProxy-style health checks, and database failover.

use rand::RngExt;

use super::state::{Event, Phase, Sim};
use super::{HostId, Id, StationId};
use crate::scenario::FaultKind;
use crate::stats::{Cause, ComponentEvent as E, TimelineEvent, WriteOutage};

impl<const PS: bool> Sim<'_, PS> {
    fn note(&mut self, component: &str, event: E) {
        self.timeline.push(TimelineEvent {
            time_s: self.q.now() as f64 / 1e9,
            component: component.to_string(),
            event,
        });
    }

    /// Schedules the first random failure of every failing station, every
    /// scripted fault, and the first health check of every checked station.
    pub(super) fn schedule_faults(&mut self) {
        let m = self.m;
        for (s, def) in m.stations.enumerate() {
            if let Some((ttf, _)) = &m.pools[def.pool].failures {
                let t = ttf.sample(&mut self.aux[s].failures);
                self.q.schedule(t, Event::Fail(s));
            }
            if let Some((every, _, _)) = &m.pools[def.pool].pauses {
                let t = every.sample(&mut self.pauses[s.ix()].rng);
                self.q.schedule(t, Event::PauseStart(s));
            }
            if let Some(hc) = def.health_check {
                let phase = (hc.interval_ns as f64 * self.aux[s].health.random::<f64>()) as u64;
                self.q.schedule(phase, Event::HealthCheck(s));
            }
        }
        self.schedule_agents();
        for (h, def) in m.hosts.enumerate() {
            if let Some((every, _, _, _)) = &def.pauses {
                let t = every.sample(&mut self.host_pauses[h.ix()].rng);
                self.q.schedule(t, Event::HostPauseStart(h));
            }
        }
        for (i, f) in m.faults.iter().enumerate() {
            self.q.schedule(f.at_ns, Event::FaultStart(i as u32));
            self.q.schedule(
                f.at_ns.saturating_add(f.duration_ns),
                Event::FaultEnd(i as u32),
            );
        }
    }

    pub(super) fn on_random_failure(&mut self, s: StationId) {
        self.go_down(s);
        let pool = self.m.stations[s].pool;
        if let Some((_, ttr)) = &self.m.pools[pool].failures {
            let t = ttr.sample(&mut self.aux[s].failures);
            self.q.schedule_in(t, Event::Repair(s));
        }
    }

    pub(super) fn on_random_repair(&mut self, s: StationId) {
        self.go_up(s);
        let pool = self.m.stations[s].pool;
        if let Some((ttf, _)) = &self.m.pools[pool].failures {
            let t = ttf.sample(&mut self.aux[s].failures);
            self.q.schedule_in(t, Event::Fail(s));
        }
    }

    /// A random pause of `s` begins or ends: its services started meanwhile
    /// run `slowdown` times longer (as a scripted slowdown's), and the next
    /// one is drawn.
    pub(super) fn on_pause(&mut self, s: StationId, starts: bool) {
        let m = self.m;
        let Some((every, length, k)) = &m.pools[m.stations[s].pool].pauses else {
            return;
        };
        let now = self.q.now();
        let p = &mut self.pauses[s.ix()];
        p.on = starts;
        let t = i128::from(now);
        let st = &mut self.stations[s];
        if starts {
            p.count += 1;
            p.acc -= t;
            st.slow *= k;
            let d = length.sample(&mut p.rng);
            self.q.schedule_in(d, Event::PauseEnd(s));
        } else {
            p.acc += t;
            st.slow /= k;
            let d = every.sample(&mut p.rng);
            self.q.schedule_in(d, Event::PauseStart(s));
        }
        self.note(
            &m.stations[s].label,
            if starts { E::SlowStart } else { E::SlowEnd },
        );
    }

    /// A random pause of machine `h` begins or ends: every station on it
    /// slows (as under its own pause), and the next one is drawn.
    pub(super) fn on_host_pause(&mut self, h: HostId, starts: bool) {
        let m = self.m;
        let Some((every, length, k, _)) = &m.hosts[h].pauses else {
            return;
        };
        let now = self.q.now();
        let p = &mut self.host_pauses[h.ix()];
        p.on = starts;
        let t = i128::from(now);
        if starts {
            p.count += 1;
            p.acc -= t;
            let d = length.sample(&mut p.rng);
            self.q.schedule_in(d, Event::HostPauseEnd(h));
        } else {
            p.acc += t;
            let d = every.sample(&mut p.rng);
            self.q.schedule_in(d, Event::HostPauseStart(h));
        }
        for (s, def) in m.stations.enumerate() {
            if def.host != Some(h) {
                continue;
            }
            let st = &mut self.stations[s];
            st.slow = if starts { st.slow * k } else { st.slow / k };
            self.note(&def.label, if starts { E::SlowStart } else { E::SlowEnd });
        }
    }

    pub(super) fn on_fault(&mut self, f: u32, starts: bool) {
        let m = self.m;
        let fault = &m.faults[f as usize];
        for &s in &fault.stations {
            match (fault.kind, starts) {
                (FaultKind::Down, true) => self.go_down(s),
                (FaultKind::Down, false) => self.go_up(s),
                (FaultKind::Slow(k), start) => {
                    let st = &mut self.stations[s];
                    st.slow = if start { st.slow * k } else { st.slow / k };
                    let label = &m.stations[s].label;
                    self.note(label, if start { E::SlowStart } else { E::SlowEnd });
                }
            }
        }
    }

    /// A station crashes: everything queued, in service or holding one of
    /// its workers fails with cause `Crash`.
    fn go_down(&mut self, s: StationId) {
        let st = &mut self.stations[s];
        st.down_reasons += 1;
        if st.down_reasons > 1 {
            return;
        }
        let now = self.q.now();
        self.count_down(now, 1);
        let st = &mut self.stations[s];
        st.set_up(now, false);
        st.crashes = st.crashes.wrapping_add(1);
        // Orphans running here stop now; what they did so far was wasted.
        st.wasted_acc += i128::from(st.orphans) * i128::from(now);
        st.orphans = 0;
        st.c.failures += 1;
        let m = self.m;
        self.note(&m.stations[s].label, E::Down);
        let victims: Vec<u32> = (0..self.slab.len() as u32)
            .filter(|&i| {
                let r = &self.slab[i as usize];
                if r.phase == Phase::Free || r.phase == Phase::Backoff {
                    return false;
                }
                let here = matches!(r.phase, Phase::Queued | Phase::InService) && r.station == s;
                let steps = &m.classes[r.class as usize].steps;
                here || (0..steps.len()).any(|k| r.inst[k] == s && steps[k].holds)
            })
            .collect();
        self.stations[s].clear(now);
        self.cpu[s].clear();
        self.host_lose_station(s);
        for v in victims {
            self.fail_attempt(v, Cause::Crash);
        }
        if self.repl.is_some() {
            self.replica_down(s);
        }
        for db in 0..self.dbs.len() {
            if self.dbs[db].primary.contains(&s) {
                self.primary_lost(db as u32);
            }
        }
    }

    fn go_up(&mut self, s: StationId) {
        let st = &mut self.stations[s];
        st.down_reasons = st.down_reasons.saturating_sub(1);
        if st.down_reasons > 0 || st.up {
            return;
        }
        let now = self.q.now();
        self.count_down(now, -1);
        self.stations[s].set_up(now, true);
        let m = self.m;
        self.note(&m.stations[s].label, E::Up);
        for db in 0..self.dbs.len() {
            let def = &m.dbs[db];
            let is_member = def.primary == s || def.replicas.contains(&s);
            if !is_member {
                continue;
            }
            let d = &mut self.dbs[db];
            if d.primary.is_empty() && d.last_primary == s {
                // The lost primary is back before any promotion: it takes
                // writes again and a failover in progress is called off.
                d.epoch = d.epoch.wrapping_add(1);
                d.primary.push(s);
                self.note(&def.name, E::PrimaryBack);
                self.primary_restored(db as u32);
                self.stream_resumes(db as u32);
            } else if !d.primary.contains(&s) && !d.replicas.contains(&s) {
                // A former primary rejoins as a replica.
                d.replicas.push(s);
                self.stations[s].service_pool = def.replica_pool;
                self.rebuild_any(db as u32);
            } else if d.replicas.contains(&s) {
                self.replica_up(s);
            }
        }
    }

    /// One more (`+1`) or one fewer (`-1`) station down at `now`: the time
    /// the stack spent all up or degraded, for the split by state.
    fn count_down(&mut self, now: u64, by: i32) {
        let before = self.stations_down;
        self.stations_down = before.saturating_add_signed(by);
        let (ws, we) = (self.window_start, self.window_end);
        if let Some(d) = &mut self.down_split
            && (before == 0) != (self.stations_down == 0)
        {
            d.spend(usize::from(before > 0), self.down_since, now, ws, we);
            self.down_since = now;
        }
    }

    fn rebuild_any(&mut self, db: u32) {
        let d = &mut self.dbs[db as usize];
        d.any.clear();
        let (p, r) = (d.primary.clone(), d.replicas.clone());
        d.any.extend(p);
        d.any.extend(r);
    }

    fn primary_lost(&mut self, db: u32) {
        let now = self.q.now();
        let m = self.m;
        let def = &m.dbs[db as usize];
        let d = &mut self.dbs[db as usize];
        d.primary.clear();
        d.outage_start.get_or_insert(now);
        d.epoch = d.epoch.wrapping_add(1);
        let epoch = d.epoch;
        self.rebuild_any(db);
        self.note(&def.name, E::PrimaryLost);
        if let Some(f) = def.failover {
            self.q
                .schedule_in(f.detection_ns, Event::FailoverDetected { db, epoch });
        }
    }

    pub(super) fn on_failover_detected(&mut self, db: u32, epoch: u32) {
        let d = &self.dbs[db as usize];
        if d.epoch != epoch || !d.primary.is_empty() {
            return;
        }
        let m = self.m;
        let def = &m.dbs[db as usize];
        self.note(&def.name, E::FailoverDetected);
        if let Some(f) = def.failover {
            self.q
                .schedule_in(f.promotion_ns, Event::Promoted { db, epoch });
        }
    }

    pub(super) fn on_promoted(&mut self, db: u32, epoch: u32) {
        let m = self.m;
        let def = &m.dbs[db as usize];
        let d = &self.dbs[db as usize];
        if d.epoch != epoch || !d.primary.is_empty() {
            return;
        }
        let Some(pos) = self.most_up_to_date(db) else {
            self.note(&def.name, E::PromotionFailed);
            return; // no live replica: writes wait for the primary's repair
        };
        let s = self.dbs[db as usize].replicas.remove(pos);
        self.promoted(db, s);
        let d = &mut self.dbs[db as usize];
        d.primary.push(s);
        d.last_primary = s;
        self.stations[s].service_pool = def.primary_pool;
        self.note(&m.stations[s].label, E::Promoted);
        self.primary_restored(db);
    }

    /// A database has a primary again: close the outage, send waiting writes.
    fn primary_restored(&mut self, db: u32) {
        self.rebuild_any(db);
        let now = self.q.now();
        let m = self.m;
        let d = &mut self.dbs[db as usize];
        if let Some(start) = d.outage_start.take() {
            self.outages.push(WriteOutage {
                database: m.dbs[db as usize].name.clone(),
                start_s: start as f64 / 1e9,
                end_s: Some(now as f64 / 1e9),
            });
        }
        let waiting: Vec<(u32, u32)> = self.dbs[db as usize].pending.drain(..).collect();
        for (req, epoch) in waiting {
            let r = &self.slab[req as usize];
            if r.epoch == epoch && r.phase == Phase::Pending {
                self.slab[req as usize].phase = Phase::Transit;
                self.visit(req);
            }
        }
    }

    pub(super) fn on_health_check(&mut self, s: StationId) {
        let Some(hc) = self.m.stations[s].health_check else {
            return;
        };
        let st = &mut self.stations[s];
        if st.up {
            st.pass_row += 1;
            st.fail_row = 0;
            if !st.marked_up && st.pass_row >= hc.rise {
                st.marked_up = true;
                let m = self.m;
                self.note(&m.stations[s].label, E::MarkedUp);
            }
        } else {
            self.q.schedule_in(hc.timeout_ns, Event::CheckFailed(s));
        }
        self.q.schedule_in(hc.interval_ns, Event::HealthCheck(s));
    }

    pub(super) fn on_check_failed(&mut self, s: StationId) {
        let Some(hc) = self.m.stations[s].health_check else {
            return;
        };
        let st = &mut self.stations[s];
        st.fail_row += 1;
        st.pass_row = 0;
        if st.marked_up && st.fail_row >= hc.fall {
            st.marked_up = false;
            let m = self.m;
            self.note(&m.stations[s].label, E::MarkedDown);
        }
    }
}
