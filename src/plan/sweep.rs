//! A sweep's lifecycle: every grid point a [`PlanInit`] validated before
//! anything runs, the slice a shard holds, the points a resume still needs,
//! and the points run in parallel through [`crate::sweep::run_points`].

use std::path::{Path, PathBuf};

use super::{Plan, PlanInit, WarmupError};
use crate::report::OutputLayout;
use crate::report::Provenance;
use crate::report::sweep::{DataDigest, PointResult, SweepFolder, SweepMeta};
use crate::scenario::{Axis, Override, ScenarioError, axis};
use crate::sweep::{PointJob, run_points};

pub use crate::report::sweep::Shard;

/// The variables `--shard auto/N` reads K from, in order: a Slurm array
/// task's index (the recipe submits `--array=1-N`, so it is K itself) and a
/// Kubernetes Indexed Job's completion index (0-based: K is it plus one).
pub const SHARD_ENV: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

/// A `--shard` flag resolved: the slice, and the variable K came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardChoice {
    /// The slice.
    pub shard: Shard,
    /// `NAME=VALUE` of the variable `auto` read, if it did.
    pub from: Option<String>,
}

/// Parses `--shard K/N` or `--shard auto/N`, `env` looking up a variable.
pub fn parse_shard(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ShardChoice, String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("--shard {text}: write K/N, e.g. 2/4, or auto/N in an array job"))?;
    let n = match n.trim().parse::<usize>() {
        Ok(n) if n > 0 => n,
        _ => {
            return Err(format!(
                "--shard {text}: N must be a whole number of shards, 1 or more"
            ));
        }
    };
    let (k, from) = if k.trim() == "auto" {
        let (k, from) = shard_from_env(text, n, env)?;
        (k, Some(from))
    } else {
        let k = k
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("--shard {text}: K is not a number (or write auto/{n})"))?;
        (k, None)
    };
    if k == 0 || k > n {
        return Err(format!("--shard {text}: need 1 <= K <= N"));
    }
    Ok(ShardChoice {
        shard: Shard { k, n },
        from,
    })
}

/// K for `--shard auto/N` from the first of [`SHARD_ENV`] that is set.
fn shard_from_env(
    text: &str,
    n: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(usize, String), String> {
    let [slurm, k8s] = SHARD_ENV;
    let (name, value) = match (env(slurm), env(k8s)) {
        (Some(v), _) => (slurm, v),
        (None, Some(v)) => (k8s, v),
        (None, None) => {
            return Err(format!(
                "--shard {text}: neither {slurm} (a Slurm array task) nor {k8s} (a Kubernetes \
                 Indexed Job) is set; outside an array job give the shard, e.g. --shard 1/{n}"
            ));
        }
    };
    let shown = format!("{name}={value}");
    let index: usize = value
        .trim()
        .parse()
        .map_err(|_| format!("--shard {text}: {shown} is not a number"))?;
    if name == slurm {
        if index == 0 || index > n {
            return Err(format!(
                "--shard {text}: {shown} is not a shard of 1..{n}; submit the array as --array=1-{n}"
            ));
        }
        Ok((index, shown))
    } else {
        if index >= n {
            return Err(format!(
                "--shard {text}: {shown} is outside 0..{}; set the Job's completions to {n}",
                n - 1
            ));
        }
        Ok((index + 1, shown))
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
            shard: None,
            data_files: data_digests(&points),
        };
        Ok(SweepPlan { grid, points, meta })
    }

    /// Restricts the sweep to one slice of its grid (recorded in its meta,
    /// so a resume of another slice and a merge can tell).
    pub fn shard(&mut self, shard: Shard) {
        self.meta.shard = Some(shard);
    }

    /// The grid indices still to run: in the shard (if any), not done.
    pub fn pending(&self, done: &[PointResult]) -> Vec<usize> {
        let shard = self.meta.shard;
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

    /// Replications the `warmup = "auto"` pilots of the points at `indices`
    /// run before them (0 with fixed warm-ups).
    pub fn pilot_replications(&self, indices: &[usize]) -> u64 {
        indices
            .iter()
            .map(|&i| self.points[i].scenario())
            .filter(|s| s.simulation.warmup == crate::scenario::Warmup::Auto)
            .map(|s| u64::from(s.simulation.replications))
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

/// Why shard folders cannot be merged. Every problem is found before
/// anything is written.
#[derive(Debug)]
#[non_exhaustive]
pub enum MergeProblem {
    /// No readable `sweep-meta.json`.
    NotASweep {
        /// The folder.
        dir: PathBuf,
        /// What reading it said.
        reason: String,
    },
    /// A whole sweep's folder (written without `--shard`).
    NotAShard {
        /// The folder.
        dir: PathBuf,
    },
    /// A shard of another sweep, or of this one run with other settings.
    Differs {
        /// The folder.
        dir: PathBuf,
        /// The folder it was compared with (the first shard given).
        first: PathBuf,
        /// What differs, each as `field: this vs first`.
        what: Vec<String>,
        /// Its shard number, K.
        k: usize,
    },
    /// The same shard in two or more folders.
    Twice {
        /// The shard number.
        k: usize,
        /// The folders.
        dirs: Vec<PathBuf>,
    },
    /// A shard no folder holds.
    Missing {
        /// The shard number.
        k: usize,
        /// The grid points it holds.
        points: Vec<usize>,
    },
    /// A shard whose folder lacks some of its points (a killed or still
    /// running task), or holds points of another shard.
    Incomplete {
        /// The shard number.
        k: usize,
        /// Its folder.
        dir: PathBuf,
        /// Points it holds of the ones it should.
        have: usize,
        /// Points it should hold and does not.
        missing: Vec<usize>,
        /// Points it holds that belong to other shards.
        stray: Vec<usize>,
    },
}

/// A refused merge: every problem, and the shards to run again.
#[derive(Debug)]
pub struct MergeRefused {
    /// Every problem found.
    pub problems: Vec<MergeProblem>,
    /// Shards in all (when any folder said).
    pub n: Option<usize>,
    /// The grid's point settings, to name points (empty when unknown).
    pub grid: Vec<Vec<(String, String)>>,
}

impl MergeRefused {
    /// The shard numbers (K, 1-based) to run again, in order.
    pub fn rerun(&self) -> Vec<usize> {
        let mut ks: Vec<usize> = self
            .problems
            .iter()
            .filter_map(|p| match p {
                MergeProblem::Missing { k, .. }
                | MergeProblem::Incomplete { k, .. }
                | MergeProblem::Differs { k, .. } => Some(*k),
                _ => None,
            })
            .collect();
        ks.sort_unstable();
        ks.dedup();
        ks
    }

    /// `point 5 (workload.rate=600)`, for up to `MAX` points, then a count.
    fn points(&self, idx: &[usize]) -> String {
        const MAX: usize = 6;
        let mut parts: Vec<String> = idx
            .iter()
            .take(MAX)
            .map(|&i| match self.grid.get(i) {
                Some(v) if !v.is_empty() => format!(
                    "point {i} ({})",
                    v.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => format!("point {i}"),
            })
            .collect();
        if idx.len() > MAX {
            parts.push(format!("and {} more", idx.len() - MAX));
        }
        parts.join(", ")
    }

    /// One line per problem, for the terminal.
    pub fn lines(&self) -> Vec<String> {
        let n = self.n.map_or_else(|| "?".to_string(), |n| n.to_string());
        self.problems
            .iter()
            .map(|p| match p {
                MergeProblem::NotASweep { dir, reason } => {
                    format!("{}: not a sweep folder ({reason})", dir.display())
                }
                MergeProblem::NotAShard { dir } => format!(
                    "{}: a whole sweep, written without --shard; merge combines shard folders",
                    dir.display()
                ),
                MergeProblem::Differs {
                    dir,
                    first,
                    what,
                    k,
                } => format!(
                    "shard {k}/{n} ({}): not the sweep of {}: {}",
                    dir.display(),
                    first.display(),
                    what.join("; ")
                ),
                MergeProblem::Twice { k, dirs } => format!(
                    "shard {k}/{n} given twice: {}; give one folder per shard",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                MergeProblem::Missing { k, points } => {
                    format!("shard {k}/{n}: not given; it holds {}", self.points(points))
                }
                MergeProblem::Incomplete {
                    k,
                    dir,
                    have,
                    missing,
                    stray,
                } => {
                    let mut text = format!(
                        "shard {k}/{n} ({}): incomplete, {have} of {} points",
                        dir.display(),
                        have + missing.len()
                    );
                    if !missing.is_empty() {
                        text.push_str(&format!("; missing {}", self.points(missing)));
                    }
                    if !stray.is_empty() {
                        text.push_str(&format!("; holds {} of other shards", self.points(stray)));
                    }
                    text
                }
            })
            .collect()
    }
}

/// Every data file the points read, once each, in order.
fn data_digests(points: &[PlanInit]) -> Vec<DataDigest> {
    let mut v: Vec<DataDigest> = points
        .iter()
        .flat_map(|p| &p.scenario().data_files)
        .map(|f| DataDigest {
            path: f.file.path.clone(),
            sha256: f.file.sha256.clone(),
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Fields of two shards' metas that differ, as `field: a vs b` (the
/// scenario text by name only).
pub fn meta_differences(a: &SweepMeta, b: &SweepMeta) -> Vec<String> {
    let list = |o: &[String]| {
        if o.is_empty() {
            "none".to_string()
        } else {
            o.join(" ")
        }
    };
    let axes = |m: &SweepMeta| {
        let each: Vec<String> = m
            .axes
            .iter()
            .map(|x| format!("{}={}", x.key, x.values.join(",")))
            .collect();
        list(&each)
    };
    let shards = |m: &SweepMeta| m.shard.map_or(0, |s| s.n).to_string();
    let fields = [
        ("stacksim version", a.version.clone(), b.version.clone()),
        ("scenario", a.scenario.clone(), b.scenario.clone()),
        (
            "scenario text",
            a.scenario_source.clone(),
            b.scenario_source.clone(),
        ),
        ("settings", list(&a.overrides), list(&b.overrides)),
        ("axes", axes(a), axes(b)),
        ("points", a.points.to_string(), b.points.to_string()),
        ("seed", a.seed.to_string(), b.seed.to_string()),
        (
            "replications",
            a.replications.to_string(),
            b.replications.to_string(),
        ),
        ("shards", shards(a), shards(b)),
    ];
    let mut out: Vec<String> = fields
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(name, x, y)| {
            if name == "scenario text" {
                format!("{name} differs")
            } else {
                format!("{name}: {x} vs {y}")
            }
        })
        .collect();
    // A data file by path: changed content, or read by one sweep only.
    let short = |s: &str| s.chars().take(12).collect::<String>();
    let find = |m: &SweepMeta, path: &str| {
        m.data_files
            .iter()
            .find(|d| d.path == path)
            .map_or("not read".to_string(), |d| {
                format!("SHA-256 {}…", short(&d.sha256))
            })
    };
    let mut paths: Vec<&str> = a
        .data_files
        .iter()
        .chain(&b.data_files)
        .map(|d| d.path.as_str())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let (x, y) = (find(a, path), find(b, path));
        if x != y {
            out.push(format!("data file {path} has changed: {x} vs {y}"));
        }
    }
    out
}

/// Reads shard folders and checks they make one whole sweep: every shard
/// of 1..N given once, each complete, all of the same sweep and settings.
/// Returns the sweep's meta (without a shard) and every point in grid
/// order, or every problem found.
pub fn merge_shards(dirs: &[PathBuf]) -> Result<(SweepMeta, Vec<PointResult>), MergeRefused> {
    let mut problems = Vec::new();
    let mut shards: Vec<(&Path, SweepMeta, Vec<PointResult>)> = Vec::new();
    for dir in dirs {
        let folder = SweepFolder::new(OutputLayout::new(Some(dir), ""));
        match folder.read_meta() {
            Err(e) => problems.push(MergeProblem::NotASweep {
                dir: dir.clone(),
                reason: e.to_string(),
            }),
            Ok(m) if m.shard.is_none() => {
                problems.push(MergeProblem::NotAShard { dir: dir.clone() })
            }
            Ok(m) => shards.push((dir, m, folder.read_points())),
        }
    }
    let Some((first_dir, first, _)) = shards.first() else {
        return Err(MergeRefused {
            problems,
            n: None,
            grid: Vec::new(),
        });
    };
    let (first_dir, first) = (first_dir.to_path_buf(), first.clone());
    let n = first.shard.map_or(1, |s| s.n);
    let grid = axis::grid(&first.axes).unwrap_or_default();
    let mut by_k: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, (dir, meta, _)) in shards.iter().enumerate() {
        let k = meta.shard.map_or(1, |s| s.k);
        let what = meta_differences(meta, &first);
        if what.is_empty() {
            by_k[k - 1].push(i);
        } else {
            problems.push(MergeProblem::Differs {
                dir: dir.to_path_buf(),
                first: first_dir.clone(),
                what,
                k,
            });
        }
    }
    let mut points = Vec::with_capacity(first.points);
    for (slot, held) in by_k.iter().enumerate() {
        let shard = Shard { k: slot + 1, n };
        let expected: Vec<usize> = shard.indices(first.points).collect();
        match held.as_slice() {
            [] => {
                // A shard given with other settings is already named.
                let differs = problems
                    .iter()
                    .any(|p| matches!(p, MergeProblem::Differs { k, .. } if *k == shard.k));
                if !differs {
                    problems.push(MergeProblem::Missing {
                        k: shard.k,
                        points: expected,
                    });
                }
            }
            [one] => {
                let (dir, _, got) = &shards[*one];
                let mut got: Vec<&PointResult> = got.iter().collect();
                got.sort_by_key(|p| p.index);
                got.dedup_by_key(|p| p.index);
                let missing: Vec<usize> = expected
                    .iter()
                    .copied()
                    .filter(|i| got.binary_search_by_key(i, |p| p.index).is_err())
                    .collect();
                let stray: Vec<usize> = got
                    .iter()
                    .map(|p| p.index)
                    .filter(|&i| !shard.holds(i) || i >= first.points)
                    .collect();
                if missing.is_empty() && stray.is_empty() {
                    points.extend(got.into_iter().cloned());
                } else {
                    problems.push(MergeProblem::Incomplete {
                        k: shard.k,
                        dir: dir.to_path_buf(),
                        have: expected.len() - missing.len(),
                        missing,
                        stray,
                    });
                }
            }
            many => problems.push(MergeProblem::Twice {
                k: shard.k,
                dirs: many.iter().map(|&i| shards[i].0.to_path_buf()).collect(),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(MergeRefused {
            problems,
            n: Some(n),
            grid,
        });
    }
    points.sort_by_key(|p| p.index);
    let mut meta = first;
    meta.shard = None;
    Ok((meta, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn k_of(text: &str, vars: &[(&str, &str)]) -> Result<usize, String> {
        parse_shard(text, &with(vars)).map(|c| c.shard.k)
    }

    #[test]
    fn a_shard_is_given_or_read_from_the_array_index() {
        assert_eq!(
            parse_shard("2/4", &with(&[])),
            Ok(ShardChoice {
                shard: Shard { k: 2, n: 4 },
                from: None
            })
        );
        // Slurm's array index is the shard number; Kubernetes' counts from 0.
        assert_eq!(k_of("auto/4", &[("SLURM_ARRAY_TASK_ID", "3")]), Ok(3));
        assert_eq!(k_of("auto/4", &[("JOB_COMPLETION_INDEX", "0")]), Ok(1));
        assert_eq!(k_of("auto/4", &[("JOB_COMPLETION_INDEX", "3")]), Ok(4));
        assert_eq!(
            parse_shard("auto/4", &with(&[("SLURM_ARRAY_TASK_ID", "3")]))
                .unwrap()
                .from,
            Some("SLURM_ARRAY_TASK_ID=3".to_string())
        );
        // Slurm's variable wins when both are set.
        assert_eq!(
            k_of(
                "auto/4",
                &[("SLURM_ARRAY_TASK_ID", "2"), ("JOB_COMPLETION_INDEX", "0")]
            ),
            Ok(2)
        );
    }

    #[test]
    fn a_shard_outside_the_array_is_refused_with_the_fix() {
        let e = k_of("auto/4", &[]).unwrap_err();
        assert!(
            e.contains("SLURM_ARRAY_TASK_ID")
                && e.contains("JOB_COMPLETION_INDEX")
                && e.contains("--shard 1/4"),
            "{e}"
        );
        let e = k_of("auto/4", &[("SLURM_ARRAY_TASK_ID", "0")]).unwrap_err();
        assert!(e.contains("--array=1-4"), "{e}");
        let e = k_of("auto/4", &[("SLURM_ARRAY_TASK_ID", "5")]).unwrap_err();
        assert!(e.contains("--array=1-4"), "{e}");
        let e = k_of("auto/4", &[("JOB_COMPLETION_INDEX", "4")]).unwrap_err();
        assert!(e.contains("0..3") && e.contains("completions to 4"), "{e}");
        let e = k_of("auto/4", &[("SLURM_ARRAY_TASK_ID", "x")]).unwrap_err();
        assert!(e.contains("SLURM_ARRAY_TASK_ID=x is not a number"), "{e}");
        for bad in ["0/4", "5/4", "2", "2/0", "a/4", "auto/", "2/x"] {
            assert!(k_of(bad, &[]).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_shard_holds_every_nth_point_from_k() {
        let s = Shard { k: 2, n: 3 };
        assert_eq!(s.indices(8).collect::<Vec<_>>(), vec![1, 4, 7]);
        assert!((0..8).all(|i| s.holds(i) == [1, 4, 7].contains(&i)));
        assert_eq!(Shard { k: 3, n: 3 }.indices(2).count(), 0);
    }
}
