//! Routing: which station a request goes to at its current step.

use rand::RngExt;

use super::StationId;
use super::state::{DbState, Pick, Sim};
use super::{Model, StepDef, Target};
use crate::scenario::{Access, Balance, ReadsTo};
use crate::stats::Cause;

impl<'m, const PS: bool> Sim<'m, PS> {
    /// Picks the instance for the request's current step, among those the
    /// health checks have not marked down.
    pub(super) fn pick(&mut self, req: u32) -> Pick {
        let step = self.step_def(req);
        let cands: &[StationId] = match &step.target {
            // The usual case first: no database, nothing more to read.
            Target::Stations(c) => c,
            Target::Db { .. } => {
                let key = self.slab[req as usize].key;
                let own = self.m.by_client && self.reads_own_write(req);
                if own {
                    self.note_own_write_read(req);
                }
                match candidates(self.m, &self.dbs, step, key, own) {
                    Ok(c) => c,
                    Err(p) => return p,
                }
            }
        };
        let n = cands.len();
        let stations = &self.stations;
        let usable = |s: StationId| stations[s].marked_up;
        let open = |s: StationId| stations[s].open;
        let first = if n == 1 {
            0
        } else {
            match step.policy {
                Balance::Random => self.rng_balance.random_range(0..n),
                Balance::RoundRobin => {
                    let c = &mut self.rr[step.rr_slot];
                    *c += 1;
                    ((*c - 1) % n as u64) as usize
                }
                Balance::LeastConn => {
                    let c = &mut self.rr[step.rr_slot];
                    let start = (*c % n as u64) as usize;
                    *c += 1;
                    let mut best = start;
                    for k in 1..n {
                        let i = (start + k) % n;
                        let better = !usable(cands[best]) || open(cands[i]) < open(cands[best]);
                        if usable(cands[i]) && better {
                            best = i;
                        }
                    }
                    best
                }
                Balance::PowerOfTwo => {
                    let a = self.rng_balance.random_range(0..n);
                    let b = (a + 1 + self.rng_balance.random_range(0..n - 1)) % n;
                    let b_better = open(cands[b]) < open(cands[a]);
                    if usable(cands[b]) && (b_better || !usable(cands[a])) {
                        b
                    } else {
                        a
                    }
                }
                Balance::Same => {
                    // The instance index the request used at the step before.
                    let r = &self.slab[req as usize];
                    let prev = match r.step.checked_sub(1).map(|k| r.inst[k as usize]) {
                        Some(s) if s != StationId::NONE => {
                            self.m.stations[s].index_in_pool as usize
                        }
                        _ => 0,
                    };
                    prev % n
                }
            }
        };
        // The usual case first: the chosen instance is up (no division).
        if usable(cands[first]) {
            return Pick::Station(cands[first]);
        }
        (1..n)
            .map(|k| cands[(first + k) % n])
            .find(|&s| usable(s))
            .map_or(Pick::Fail(Cause::NoBackend), Pick::Station)
    }
}

/// The stations a request at `step` may be sent to, or why there are none.
/// `key` is the request's shard key, a uniform draw (see [`shard_of`]);
/// `own_write`: a read that must see its client's recent write (the
/// primary's).
pub(super) fn candidates<'a>(
    m: &'a Model,
    dbs: &'a [DbState],
    step: &'a StepDef,
    key: u32,
    own_write: bool,
) -> Result<&'a [StationId], Pick> {
    match &step.target {
        Target::Stations(c) => Ok(c),
        Target::Db { db, access, shards } => {
            let db = &match shards {
                None => *db,
                Some(cum) => *db + shard_of(cum, key),
            };
            let def = &m.dbs[*db as usize];
            let d = &dbs[*db as usize];
            let set: &[StationId] = match (access, def.reads) {
                (Access::Write, _) | (Access::Read, ReadsTo::Primary) => &d.primary,
                (Access::Read, _) if own_write => &d.primary,
                (Access::Read, ReadsTo::Replicas) if !d.replicas.is_empty() => &d.replicas,
                (Access::Read, ReadsTo::Replicas) => &d.primary,
                (Access::Read, ReadsTo::Any) => &d.any,
            };
            if set.is_empty() {
                if *access == Access::Write && def.writes_wait {
                    return Err(Pick::Wait(*db));
                }
                return Err(Pick::Fail(Cause::NoPrimary));
            }
            Ok(set)
        }
    }
}

/// The shard a key falls on: `key / 2^32` against the class's cumulative
/// shard shares.
pub(super) fn shard_of(cum: &[f64], key: u32) -> u32 {
    let u = f64::from(key) / 4_294_967_296.0;
    cum.iter().position(|&c| u < c).unwrap_or(0) as u32
}
