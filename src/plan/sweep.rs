//! A sweep's lifecycle: every grid point a [`PlanInit`] validated before
//! anything runs, the slice a shard holds, the points a resume still needs,
//! and the points run in parallel through [`crate::sweep::run_points`].

use super::{Plan, PlanInit, WarmupError};
use crate::report::Provenance;
use crate::report::sweep::{PointResult, SweepMeta};
use crate::scenario::{Axis, Override, ScenarioError, axis};
use crate::sweep::{PointJob, run_points};

/// `--shard K/N`: slice K (1-based) of N holds the points `i` with `i % N == K - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This slice, 1-based.
    pub k: usize,
    /// Slices in all.
    pub n: usize,
}

impl Shard {
    /// Parses `K/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text}: write K/N, e.g. 2/4"))?;
        let num = |x: &str, what: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("--shard {text}: {what} is not a number"))
        };
        let (k, n) = (num(k, "K")?, num(n, "N")?);
        if n == 0 || k == 0 || k > n {
            return Err(format!("--shard {text}: need 1 <= K <= N"));
        }
        Ok(Shard { k, n })
    }

    /// Whether grid point `index` belongs to this slice.
    pub fn holds(&self, index: usize) -> bool {
        index % self.n == self.k - 1
    }
}

/// Why a sweep cannot start.
#[derive(Debug)]
#[non_exhaustive]
pub enum SweepError {
    /// No axes, or an axis that does not expand.
    Axes(String),
    /// A grid point makes the scenario invalid; nothing was run.
    Point {
        /// `KEY=VALUE, ...` of the point.
        at: String,
        /// Its problems.
        error: ScenarioError,
    },
}

/// Every point of a sweep, validated.
#[derive(Debug)]
pub struct SweepPlan {
    /// Each point's `(key, value)` settings, in grid order.
    pub grid: Vec<Vec<(String, String)>>,
    /// Each point's lifecycle, stage 1.
    pub points: Vec<PlanInit>,
    /// What shapes every point, for the outputs and for resume and merge checks.
    pub meta: SweepMeta,
}

impl SweepPlan {
    /// Expands `axes` over `base` (its overrides and run flags applied at
    /// every point) and validates every point before anything runs.
    pub fn new(base: &PlanInit, axes: Vec<Axis>) -> Result<SweepPlan, SweepError> {
        if axes.is_empty() {
            return Err(SweepError::Axes(
                "nothing to sweep: give --vary KEY=SPEC or a [sweep] table".into(),
            ));
        }
        let grid = axis::grid(&axes).map_err(SweepError::Axes)?;
        let mut points = Vec::with_capacity(grid.len());
        for values in &grid {
            let ovs: Vec<Override> = values
                .iter()
                .map(|(k, v)| Override::from_flag("--vary", k, v))
                .collect();
            let init = base
                .with_overrides(&ovs)
                .map_err(|error| SweepError::Point {
                    at: values
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    error,
                })?;
            points.push(init);
        }
        let first = points[0].scenario();
        let meta = SweepMeta {
            version: crate::VERSION.to_string(),
            scenario: base.scenario().name.clone(),
            scenario_source: base.input().text.clone(),
            overrides: base.overrides().iter().map(Override::shown).collect(),
            axes,
            points: grid.len(),
            seed: first.simulation.seed,
            replications: first.simulation.replications,
        };
        Ok(SweepPlan { grid, points, meta })
    }

    /// The grid indices still to run: in the shard (if any), not done.
    pub fn pending(&self, shard: Option<Shard>, done: &[PointResult]) -> Vec<usize> {
        (0..self.points.len())
            .filter(|&i| shard.is_none_or(|s| s.holds(i)))
            .filter(|i| !done.iter().any(|p| p.index == *i))
            .collect()
    }

    /// Replications the points at `indices` will run.
    pub fn replications(&self, indices: &[usize]) -> u64 {
        indices
            .iter()
            .map(|&i| u64::from(self.points[i].scenario().simulation.replications))
            .sum()
    }

    /// Runs the points at `indices`: each one's warm-up chosen first (its
    /// pilot when `auto`; `on_pilot` per pilot replication), then every
    /// replication of every point in parallel. `on_point` gets each point's
    /// result as it finishes (from a worker thread, in any order).
    pub fn run(
        &self,
        indices: &[usize],
        on_pilot: &(dyn Fn() + Sync),
        on_rep: &(dyn Fn() + Sync),
        on_point: &(dyn Fn(PointResult) + Sync),
    ) -> Result<(), WarmupError> {
        let plans: Vec<Plan> = indices
            .iter()
            .map(|&i| self.points[i].clone().build(on_pilot))
            .collect::<Result<_, _>>()?;
        let jobs: Vec<PointJob<'_>> = indices
            .iter()
            .zip(&plans)
            .map(|(&index, plan)| PointJob {
                index,
                model: plan.model(),
            })
            .collect();
        run_points(&jobs, on_rep, &|index, reps| {
            let k = indices.iter().position(|&i| i == index).unwrap_or(0);
            let result = plans[k].finish(reps, None);
            let prov = Provenance::new("", "", "");
            let p = PointResult::from_run(
                index,
                self.grid[index].clone(),
                &result.report(&prov),
                result.settings.clone(),
            );
            on_point(p);
        });
        Ok(())
    }
}
