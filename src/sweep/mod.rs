//! Parallel replications and sweep points: the only rayon user. The run
//! lifecycle around them (flags, warm-up, verdicts) is the `plan` module.
//!
//! Everything runs in parallel and is gathered in index order, then reduced
//! sequentially, so results are the same bytes whatever the number of
//! threads. Points share the seed, so every point draws the same random
//! numbers for the same consumers (common random numbers): differences
//! between points come from the settings, not from the draws.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::model::{Model, run_replication};
use crate::stats::RepObs;

/// Runs replications `from..to` of `model` in parallel, gathered in index
/// order; `on_done` is called once per finished replication (from worker
/// threads) for progress display. Each replication's streams depend only on
/// its index, so `0..n` then `n..m` equals `0..m`.
pub fn run_replications(
    model: &Model,
    from: u32,
    to: u32,
    on_done: &(dyn Fn() + Sync),
) -> Vec<RepObs> {
    (from..to)
        .into_par_iter()
        .map(|rep| {
            let obs = run_replication(model, rep);
            on_done();
            obs
        })
        .collect()
}

/// Sizes the thread pool every parallel run uses (`--threads N`), once,
/// before the first run; a later call (a comparison's second design)
/// finds it built with the same size and leaves it.
pub fn use_threads(n: usize) {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
}

/// Threads the parallel runs use (RAYON_NUM_THREADS, or one per core).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// One point of a sweep.
pub struct PointJob<'a> {
    /// Index in the full grid (kept through sharding and resuming).
    pub index: usize,
    /// The point's model (its replications: the model's simulation settings).
    pub model: &'a Model,
}

/// Runs every replication of every point at once, in parallel. As each
/// point's last replication finishes, `on_point` gets its index and its
/// replications in index order (from a worker thread; points finish in any
/// order). `on_rep` is called after every replication, for progress.
pub fn run_points(
    jobs: &[PointJob<'_>],
    on_rep: &(dyn Fn() + Sync),
    on_point: &(dyn Fn(usize, Vec<RepObs>) + Sync),
) {
    let slots: Vec<Mutex<(Vec<Option<RepObs>>, u32)>> = jobs
        .iter()
        .map(|j| {
            let r = j.model.simulation().replications;
            Mutex::new(((0..r).map(|_| None).collect(), r))
        })
        .collect();
    let tasks: Vec<(usize, u32)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(k, j)| (0..j.model.simulation().replications).map(move |r| (k, r)))
        .collect();
    tasks.into_par_iter().for_each(|(k, rep)| {
        let obs = run_replication(jobs[k].model, rep);
        on_rep();
        let finished = {
            let mut slot = slots[k].lock().unwrap_or_else(|e| e.into_inner());
            slot.0[rep as usize] = Some(obs);
            slot.1 -= 1;
            (slot.1 == 0).then(|| slot.0.drain(..).flatten().collect::<Vec<_>>())
        };
        if let Some(all) = finished {
            on_point(jobs[k].index, all);
        }
    });
}
