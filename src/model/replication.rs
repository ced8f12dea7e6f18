//! Replication of a database's writes to its replicas (`replication`): each
//! replica receives the primary's committed writes in commit order, after
//! `receive`, and applies them with its applier threads, so its lag is a
//! queue. A read it serves while a write committed more than `stale_after`
//! earlier is unapplied is stale. With `semi_sync` a commit waits for the
//! first live replica's acknowledgement. A failover promotes the live
//! replica that received the most and loses what it never received.
//!
//! Its own state, events and observations; the event loop calls in at a
//! write's commit, a read's arrival at a replica, a station's crash and
//! repair, and a promotion. Absent (`None` in the state) when no database
//! replicates, so other scenarios pay one branch.

use std::collections::VecDeque;

use rand::SeedableRng;

use super::state::{Event, Sim};
use super::{Id, Model, StationId, Target};
use crate::dist::Sampler;
use crate::engine::{SimRng, stream, stream_id};
use crate::scenario::Access;
use crate::stats::{LatencyHistogram, ReplicationObs};

/// The runnable form of a database tier's `replication`.
#[derive(Clone, Debug)]
pub(crate) struct ReplDef {
    /// Apply time per class.
    pub apply: Vec<Sampler>,
    pub appliers: u32,
    pub receive: Option<Sampler>,
    pub semi_sync: bool,
    pub stale_after_ns: u64,
    pub read_your_writes_ns: Option<u64>,
    /// Its tier's index among the replicating database tiers.
    pub slot: usize,
}

/// A write on its way to a replica.
#[derive(Clone, Copy)]
struct Sent {
    /// When the replica holds it.
    due: u64,
    commit: u64,
    class: u16,
    /// When its client was told it succeeded: at the commit, or with
    /// `semi_sync` at the first replica's acknowledgement.
    acked: u64,
}

/// One replica's stream of writes.
pub(super) struct ReplicaState {
    /// Sent, not yet received, in commit order; dues never fall.
    sent: VecDeque<Sent>,
    /// Received, waiting for an applier: (commit time, class).
    received: VecDeque<(u64, u16)>,
    /// Per applier: the write it applies (commit time, class).
    slots: Vec<Option<(u64, u16)>>,
    /// A [`Event::Received`] is pending.
    armed: bool,
    /// Bumped when its applies in progress are lost (a crash, a promotion).
    generation: u16,
    rng: SimRng,
}

impl ReplicaState {
    /// The commit time of its oldest write not yet applied.
    fn oldest_unapplied(&self) -> Option<u64> {
        let applying = self.slots.iter().flatten().map(|w| w.0).min();
        let waiting = self.received.front().map(|w| w.0);
        let unsent = self.sent.front().map(|w| w.commit);
        [applying, waiting, unsent].into_iter().flatten().min()
    }

    /// Writes committed and not yet applied.
    fn backlog(&self) -> usize {
        self.sent.len() + self.received.len() + self.slots.iter().flatten().count()
    }
}

/// Every replica's stream, and what replication observed.
pub(super) struct Replication {
    /// Per station (a station of no replicating database keeps an unused one).
    pub replicas: Vec<ReplicaState>,
    /// Per station: its database (`u32::MAX`: none that replicates).
    pub db_of: Vec<u32>,
    pub obs: Vec<ReplicationObs>,
    /// Per replicating tier with read-your-writes routing: each client's
    /// last write's commit (`u64::MAX`: none yet); empty for the others.
    pub last_write: Vec<Vec<u64>>,
}

impl Replication {
    /// The replication state of a model, or `None` when nothing replicates.
    pub(super) fn new(m: &Model, seed: u64, rep: u32) -> Option<Box<Replication>> {
        let tiers = m.dbs.iter().filter_map(|d| d.replication.as_ref()).fold(
            Vec::<(usize, String)>::new(),
            |mut v, r| {
                if !v.iter().any(|x| x.0 == r.slot) {
                    v.push((r.slot, String::new()));
                }
                v
            },
        );
        if tiers.is_empty() {
            return None;
        }
        let mut db_of = vec![u32::MAX; m.stations.len()];
        let mut names = vec![String::new(); tiers.len()];
        let mut appliers = vec![0u32; m.stations.len()];
        for (i, d) in m.dbs.iter().enumerate() {
            let Some(r) = &d.replication else { continue };
            names[r.slot] = d.tier_name.clone();
            for s in std::iter::once(d.primary).chain(d.replicas.iter().copied()) {
                db_of[s.ix()] = i as u32;
                appliers[s.ix()] = r.appliers;
            }
        }
        let classes = m.classes.len();
        let clients = match (&m.client.clients, &m.arrivals) {
            (Some(n), _) => *n as usize,
            (None, crate::scenario::Arrivals::Closed { users, .. }) => *users as usize,
            _ => 0,
        };
        let mut last_write = vec![Vec::new(); tiers.len()];
        for d in &m.dbs {
            if let Some(r) = d
                .replication
                .as_ref()
                .filter(|r| r.read_your_writes_ns.is_some())
            {
                last_write[r.slot] = vec![u64::MAX; clients];
            }
        }
        Some(Box::new(Replication {
            last_write,
            replicas: m
                .stations
                .iter()
                .enumerate()
                .map(|(i, d)| ReplicaState {
                    sent: VecDeque::new(),
                    received: VecDeque::new(),
                    slots: vec![None; appliers[i] as usize],
                    armed: false,
                    generation: 0,
                    rng: if db_of[i] == u32::MAX {
                        SimRng::seed_from_u64(0)
                    } else {
                        stream(seed, rep, stream_id(&format!("replication/{}", d.label)))
                    },
                })
                .collect(),
            db_of,
            obs: names
                .into_iter()
                .map(|database| ReplicationObs {
                    database,
                    lag: LatencyHistogram::new(3),
                    reads: vec![0; classes],
                    stale: vec![0; classes],
                    own_writes: vec![0; classes],
                    lost_writes: 0,
                    promotions: 0,
                    acks: LatencyHistogram::new(3),
                    backlog_at_end: 0,
                })
                .collect(),
        }))
    }
}

impl<'m, const PS: bool> Sim<'m, PS> {
    /// A service of `req` ended on `s`: when it is a write committed by a
    /// replicating primary, its replicas get it. Returns true when the
    /// commit waits for a replica's acknowledgement (`semi_sync`): the
    /// worker stays busy and [`Event::Acked`] ends the service.
    #[cold]
    #[inline(never)]
    pub(super) fn on_commit(&mut self, s: StationId, req: u32, tag: u32) -> bool {
        let m = self.m;
        let Some(repl) = self.repl.as_deref_mut() else {
            return false;
        };
        let db = repl.db_of[s.ix()];
        if db == u32::MAX {
            return false;
        }
        let r = &self.slab[req as usize];
        let step = &m.classes[r.class as usize].steps[r.step as usize];
        let is_write = matches!(
            step.target,
            Target::Db {
                access: Access::Write,
                ..
            }
        );
        let d = &self.dbs[db as usize];
        if !is_write || !d.primary.contains(&s) {
            return false;
        }
        let def = m.dbs[db as usize]
            .replication
            .as_ref()
            .expect("replicating");
        let now = self.q.now();
        let class = r.class;
        if let Some(w) = repl.last_write[def.slot].get_mut(r.client as usize) {
            *w = now;
        }
        let mut first_ack: Option<u64> = None;
        for &x in &d.replicas {
            let st = &mut repl.replicas[x.ix()];
            let delay = def.receive.as_ref().map_or(0, |d| d.sample(&mut st.rng));
            let due = st
                .sent
                .back()
                .map_or(now, |w| w.due)
                .max(now.saturating_add(delay));
            st.sent.push_back(Sent {
                due,
                commit: now,
                class,
                acked: now,
            });
            if !st.armed {
                st.armed = true;
                let front = st.sent.front().map_or(due, |w| w.due);
                self.q.schedule(front, Event::Received(x));
            }
            if self.stations[x].up {
                first_ack = Some(first_ack.map_or(due, |a| a.min(due)));
            }
        }
        if !def.semi_sync {
            return false;
        }
        // No live replica: the primary gives up waiting and commits
        // asynchronously (MySQL's semi-sync falls back after its timeout;
        // here at once).
        let Some(at) = first_ack else {
            return false;
        };
        for &x in &d.replicas {
            if let Some(w) = repl.replicas[x.ix()].sent.back_mut() {
                w.acked = at;
            }
        }
        if self.observing {
            repl.obs[def.slot].acks.record(at - now);
        }
        self.q.schedule(
            at,
            Event::Acked {
                station: s,
                req,
                tag,
            },
        );
        true
    }

    /// The database (shard) request `req`'s current step reads, with its
    /// replication, when it reads one that replicates.
    fn read_target(&self, req: u32) -> Option<&'m ReplDef> {
        let m: &'m Model = self.m;
        let r = &self.slab[req as usize];
        let step = &m.classes[r.class as usize].steps[r.step as usize];
        let Target::Db {
            db,
            access: Access::Read,
            shards,
        } = &step.target
        else {
            return None;
        };
        let db = match shards {
            None => *db,
            Some(cum) => *db + super::route::shard_of(cum, r.key),
        };
        m.dbs[db as usize].replication.as_ref()
    }

    /// Whether request `req`, at a read of a database with read-your-writes
    /// routing, comes from a client whose last write there is recent: the
    /// read goes to the primary (and is counted, once per visit, by `pick`).
    #[cold]
    #[inline(never)]
    pub(super) fn reads_own_write(&self, req: u32) -> bool {
        let (Some(repl), Some(def)) = (self.repl.as_deref(), self.read_target(req)) else {
            return false;
        };
        let Some(window) = def.read_your_writes_ns else {
            return false;
        };
        let client = self.slab[req as usize].client as usize;
        repl.last_write[def.slot]
            .get(client)
            .is_some_and(|&w| w != u64::MAX && self.q.now().saturating_sub(w) < window)
    }

    /// A read sent to the primary by read-your-writes routing.
    #[cold]
    #[inline(never)]
    pub(super) fn note_own_write_read(&mut self, req: u32) {
        let Some(def) = self.read_target(req).filter(|_| self.observing) else {
            return;
        };
        let class = self.slab[req as usize].class as usize;
        if let Some(repl) = self.repl.as_deref_mut() {
            repl.obs[def.slot].own_writes[class] += 1;
        }
    }

    /// A read arrives at `s`: counted, and stale when `s` is a replica
    /// behind by more than the bound.
    #[cold]
    #[inline(never)]
    pub(super) fn note_read(&mut self, s: StationId, class: u16) {
        if !self.observing {
            return;
        }
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        let db = repl.db_of[s.ix()];
        if db == u32::MAX || !self.dbs[db as usize].replicas.contains(&s) {
            return;
        }
        let def = self.m.dbs[db as usize]
            .replication
            .as_ref()
            .expect("replicating");
        let now = self.q.now();
        let o = &mut repl.obs[def.slot];
        o.reads[class as usize] += 1;
        if repl.replicas[s.ix()]
            .oldest_unapplied()
            .is_some_and(|c| now.saturating_sub(c) >= def.stale_after_ns)
        {
            o.stale[class as usize] += 1;
        }
    }

    /// Writes due at replica `s` arrive (unless it is down, or its primary
    /// is gone: the stream waits for it to come back, or is lost at a
    /// promotion).
    pub(super) fn on_received(&mut self, s: StationId) {
        let now = self.q.now();
        let up = self.stations[s].up;
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        let db = repl.db_of[s.ix()] as usize;
        let st = &mut repl.replicas[s.ix()];
        st.armed = false;
        if !up || self.dbs[db].primary.is_empty() {
            return;
        }
        while let Some(&w) = st.sent.front() {
            if w.due > now {
                st.armed = true;
                self.q.schedule(w.due, Event::Received(s));
                break;
            }
            st.sent.pop_front();
            st.received.push_back((w.commit, w.class));
        }
        self.start_applies(s);
    }

    /// Free appliers of a live replica take the next received writes.
    fn start_applies(&mut self, s: StationId) {
        if !self.stations[s].up {
            return;
        }
        let slow = self.stations[s].slow;
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        let db = repl.db_of[s.ix()] as usize;
        let def = self.m.dbs[db].replication.as_ref().expect("replicating");
        let st = &mut repl.replicas[s.ix()];
        for slot in 0..st.slots.len() {
            if st.slots[slot].is_some() {
                continue;
            }
            let Some((commit, class)) = st.received.pop_front() else {
                break;
            };
            st.slots[slot] = Some((commit, class));
            let mut dur = def.apply[class as usize].sample(&mut st.rng);
            if slow != 1.0 {
                dur = (dur as f64 * slow) as u64;
            }
            let code = (slot as u32) | (u32::from(st.generation) << 16);
            self.q.schedule_in(dur, Event::Applied { station: s, code });
        }
    }

    /// An applier of `s` finished its write: the lag it had is recorded.
    pub(super) fn on_applied(&mut self, s: StationId, code: u32) {
        let now = self.q.now();
        let observing = self.observing;
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        let st = &mut repl.replicas[s.ix()];
        if (code >> 16) as u16 != st.generation {
            return; // lost with a crash or a promotion
        }
        let Some((commit, _)) = st.slots[(code & 0xFFFF) as usize].take() else {
            return;
        };
        let db = repl.db_of[s.ix()] as usize;
        let slot = self.m.dbs[db]
            .replication
            .as_ref()
            .expect("replicating")
            .slot;
        if observing {
            repl.obs[slot].lag.record(now - commit);
        }
        self.start_applies(s);
    }

    /// A replica crashed: the writes it was applying are applied again
    /// when it is back (from its relay log).
    pub(super) fn replica_down(&mut self, s: StationId) {
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        let st = &mut repl.replicas[s.ix()];
        let mut lost: Vec<(u64, u16)> = st.slots.iter_mut().filter_map(Option::take).collect();
        lost.sort_unstable();
        for w in lost.into_iter().rev() {
            st.received.push_front(w);
        }
        st.generation = st.generation.wrapping_add(1);
    }

    /// A replica is back: it receives what it missed, its appliers resume.
    pub(super) fn replica_up(&mut self, s: StationId) {
        let now = self.q.now();
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        arm(&mut repl.replicas[s.ix()], s, now, &mut self.q);
        self.start_applies(s);
    }

    /// Database `db`'s primary is back before any promotion: its stream to
    /// every replica resumes.
    pub(super) fn stream_resumes(&mut self, db: u32) {
        let now = self.q.now();
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        for &x in &self.dbs[db as usize].replicas {
            arm(&mut repl.replicas[x.ix()], x, now, &mut self.q);
        }
    }

    /// Of database `db`'s live replicas, the one that received the most
    /// (the most up to date), as a position in its replica list.
    pub(super) fn most_up_to_date(&self, db: u32) -> Option<usize> {
        let d = &self.dbs[db as usize];
        let live = d
            .replicas
            .iter()
            .enumerate()
            .filter(|&(_, &r)| self.stations[r].up);
        match self.repl.as_deref() {
            None => live.map(|(i, _)| i).next(),
            Some(repl) => live
                .min_by_key(|&(i, &r)| (repl.replicas[r.ix()].sent.len(), i))
                .map(|(i, _)| i),
        }
    }

    /// Replica `s` of database `db` became its primary: the writes it never
    /// received whose clients were told they succeeded before the old
    /// primary failed are lost (the others' clients saw the crash's error);
    /// every other replica's copies of them go with the old primary's
    /// stream. Its own backlog is taken as applied within the promotion.
    pub(super) fn promoted(&mut self, db: u32, s: StationId) {
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        let def = self.m.dbs[db as usize]
            .replication
            .as_ref()
            .expect("replicating");
        let crash = self.dbs[db as usize].outage_start.unwrap_or(u64::MAX);
        let lost = repl.replicas[s.ix()]
            .sent
            .iter()
            .filter(|w| w.acked <= crash)
            .count() as u64;
        let o = &mut repl.obs[def.slot];
        o.lost_writes += lost;
        o.promotions += 1;
        for &x in self.dbs[db as usize].replicas.iter().chain([&s]) {
            let st = &mut repl.replicas[x.ix()];
            st.sent.clear();
            if x == s {
                st.received.clear();
                st.slots.iter_mut().for_each(|x| *x = None);
                st.generation = st.generation.wrapping_add(1);
            }
        }
    }

    /// As the window closes: writes committed and not yet applied, summed
    /// over the replicas.
    pub(super) fn count_backlog(&mut self) {
        let Some(repl) = self.repl.as_deref_mut() else {
            return;
        };
        for (i, d) in self.m.dbs.iter().enumerate() {
            let Some(def) = &d.replication else { continue };
            let backlog: usize = self.dbs[i]
                .replicas
                .iter()
                .map(|r| repl.replicas[r.ix()].backlog())
                .sum();
            repl.obs[def.slot].backlog_at_end += backlog as u64;
        }
    }

    /// What replication observed.
    pub(super) fn finish_replication(&mut self) -> Vec<ReplicationObs> {
        self.repl.take().map_or_else(Vec::new, |r| r.obs)
    }
}

/// Schedules the next receipt of a replica's stream, unless one is due.
fn arm(st: &mut ReplicaState, s: StationId, now: u64, q: &mut crate::engine::EventQueue<Event>) {
    if st.armed {
        return;
    }
    if let Some(w) = st.sent.front() {
        st.armed = true;
        q.schedule(w.due.max(now), Event::Received(s));
    }
}
