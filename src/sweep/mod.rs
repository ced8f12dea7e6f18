//! Parallel replications (and, later, sweep points): the only rayon user.
//!
//! Replications run in parallel and are gathered in index order, then
//! reduced sequentially, so results are the same bytes whatever the number
//! of threads.

use rayon::prelude::*;

use crate::model::{Model, run_replication};
use crate::stats::RepObs;

/// Runs replications `0..n` of `model` in parallel; `on_done` is called once
/// per finished replication (from worker threads) for progress display.
pub fn run_replications(model: &Model, n: u32, on_done: &(dyn Fn() + Sync)) -> Vec<RepObs> {
    (0..n)
        .into_par_iter()
        .map(|rep| {
            let obs = run_replication(model, rep);
            on_done();
            obs
        })
        .collect()
}
