//! `stacksim sweep` and `stacksim merge`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Args;

use super::{EXIT_FAILURE, EXIT_INVALID, EXIT_OK, SimFlags, invalid, plan_init, progress};
use stacksim::plan::PlanInit;
use stacksim::plan::sweep::{
    Shard, SweepError, SweepPlan, merge_shards, meta_differences, parse_shard,
};
use stacksim::report::sweep::{PointResult, SweepFolder, SweepMeta, is_sweep_file};
use stacksim::report::{self, OutFolder};
use stacksim::scenario::Axis;

#[derive(Args, Debug)]
pub(crate) struct SweepArgs {
    /// Scenario file.
    file: PathBuf,
    /// A swept key: KEY=START..END:STEP or KEY=A,B,C (repeatable; default: the scenario's [sweep]).
    #[arg(long, value_name = "KEY=SPEC")]
    vary: Vec<String>,
    /// Override a scenario key at every point (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    sim: SimFlags,
    /// Output folder (default: output/<scenario name>-sweep; output/<name> when the name ends in "sweep").
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Keep the points already in the output folder and run only the rest.
    #[arg(long)]
    resume: bool,
    /// Run only slice K of N (1-based), e.g. --shard 2/4, or auto/N in an array job (K from
    /// SLURM_ARRAY_TASK_ID, or JOB_COMPLETION_INDEX + 1); combine with `stacksim merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Skip charts and the report.
    #[arg(long)]
    no_charts: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
pub(crate) struct MergeArgs {
    /// Folder for the merged result.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The shard output folders.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Skip charts and the report.
    #[arg(long)]
    no_charts: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn err(msg: impl std::fmt::Display, code: u8) -> u8 {
    eprintln!("error: {msg}");
    code
}

/// The sweep's axes: `--vary` flags, else the scenario's `[sweep]` table.
fn axes(a: &SweepArgs, init: &PlanInit) -> Result<Vec<Axis>, u8> {
    if a.vary.is_empty() {
        return Ok(init.scenario().sweep.clone());
    }
    a.vary
        .iter()
        .map(|v| Axis::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("--vary {e}"), EXIT_INVALID))
}

/// The default folder: `output/<name>-sweep`, unless the name already says it.
fn default_out(name: &str) -> PathBuf {
    let folder = if name.ends_with("sweep") {
        name.to_string()
    } else {
        format!("{name}-sweep")
    };
    Path::new("output").join(folder)
}

pub(crate) fn sweep(a: &SweepArgs) -> u8 {
    let init = match plan_init(Some(&a.file), &a.set, &a.sim) {
        Ok(x) => x,
        Err(code) => return code,
    };
    super::warn_settings(&init, a.quiet);
    let axes = match axes(a, &init) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let env = |name: &str| std::env::var(name).ok();
    let shard = match a.shard.as_deref().map(|t| parse_shard(t, &env)).transpose() {
        Ok(s) => s,
        Err(e) => return err(e, EXIT_INVALID),
    };
    // Every point is validated before anything runs.
    let mut sweep = match SweepPlan::new(&init, axes) {
        Ok(s) => s,
        Err(SweepError::Axes(e)) => return err(e, EXIT_INVALID),
        Err(SweepError::Point { at, error }) => {
            invalid(&error);
            return err(
                format!("the sweep point {at} is invalid; nothing was run"),
                EXIT_INVALID,
            );
        }
        Err(e) => return err(format!("{e:?}"), EXIT_INVALID),
    };
    if let Some(what) = super::arrivals_replaced(&init.scenario().arrivals)
        && !a.quiet
        && sweep.meta.axes.iter().any(|x| x.key == "workload.rate")
    {
        eprintln!(
            "note: each point's workload.rate replaces the workload's {what} with constant (Poisson) arrivals"
        );
    }
    if let Some(choice) = &shard {
        sweep.shard(choice.shard);
        if let (Some(from), false) = (&choice.from, a.quiet) {
            eprintln!("shard {} (from {from})", choice.shard);
        }
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| default_out(&init.scenario().name));
    // Locked before any work; a second sweep into the folder is refused.
    let mut lock = match OutFolder::open_in_place(&out) {
        Ok(f) => f,
        Err(e) => return super::output_error(&e),
    };
    let folder = SweepFolder::new(lock.layout());
    let mut done: Vec<PointResult> = Vec::new();
    let log = if a.resume {
        match folder.read_meta() {
            Ok(old) if old == sweep.meta => {}
            Ok(old) if old.shard != sweep.meta.shard => {
                let name =
                    |s: Option<Shard>| s.map_or("the whole sweep".into(), |s| format!("shard {s}"));
                return err(
                    format!(
                        "{} holds {}, not {}; resume each shard into its own folder",
                        out.display(),
                        name(old.shard),
                        name(sweep.meta.shard)
                    ),
                    EXIT_INVALID,
                );
            }
            Ok(old) => {
                return err(
                    format!(
                        "{} holds a different sweep (this run vs the folder's: {}); run without --resume or use another --out",
                        out.display(),
                        meta_differences(&sweep.meta, &old).join("; ")
                    ),
                    EXIT_INVALID,
                );
            }
            Err(_) => {
                return err(
                    format!("nothing to resume in {}", out.display()),
                    EXIT_INVALID,
                );
            }
        }
        done = folder.read_points();
        done.retain(|p| p.index < sweep.points.len());
        folder.keep(&done)
    } else {
        // This sweep's record replaces an earlier sweep in one step, so the
        // folder never shows two sweeps; the earlier one is removed once
        // this one is whole (or by the next command if this one is killed).
        let files = match SweepFolder::first_files(&sweep.meta) {
            Ok(f) => f,
            Err(e) => return err(e, EXIT_FAILURE),
        };
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        match lock.start_over(is_sweep_file, "sweep-meta.json", &files) {
            Ok(0) => {}
            Ok(n) if !a.quiet => eprintln!(
                "replacing the earlier sweep in {} ({n} files, removed when this one finishes)",
                out.display()
            ),
            Ok(_) => {}
            Err(e) => return err(e, EXIT_FAILURE),
        }
        folder.open_log()
    };
    let log = match log {
        Ok(l) => l,
        Err(e) => return err(e, EXIT_FAILURE),
    };
    let pending = sweep.pending(&done);
    if !a.quiet && !done.is_empty() {
        eprintln!(
            "resuming: {} points already done, {} to run",
            done.len(),
            pending.len()
        );
    }
    let pilots = sweep.pilot_replications(&pending);
    let bar = progress(
        sweep.replications(&pending) + pilots,
        if pilots > 0 {
            "replications (warm-up pilots first)"
        } else {
            "replications"
        },
        a.quiet,
    );
    let finished: Mutex<Vec<PointResult>> = Mutex::new(Vec::new());
    let write_failed = Mutex::new(None::<String>);
    let ran = sweep.run(&pending, &|| bar.inc(1), &|| bar.inc(1), &|p| {
        // Appended as it finishes, so an interrupted sweep keeps it.
        if let Err(e) = log.append(&p) {
            *write_failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
        }
        finished.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    });
    bar.finish_and_clear();
    if let Err(e) = ran {
        return err(e, EXIT_INVALID);
    }
    if let Some(e) = write_failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return err(e, EXIT_FAILURE);
    }
    done.extend(finished.into_inner().unwrap_or_else(|e| e.into_inner()));
    if shard.is_some() {
        if let Err(e) = lock.drop_aside() {
            return err(e, EXIT_FAILURE);
        }
        if !a.quiet {
            eprintln!(
                "wrote shard {} ({} points); combine shards with: stacksim merge --out DIR SHARD_DIRS...",
                out.display(),
                done.len()
            );
        }
        return EXIT_OK;
    }
    let points = match finish(&folder, &sweep.meta, done, a.no_charts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(e) = lock.drop_aside() {
        return err(e, EXIT_FAILURE);
    }
    print_finished(&sweep.meta, &points, &out, a.quiet);
    EXIT_OK
}

/// Writes the final outputs from every point, in grid order; returns the
/// points in that order.
fn finish(
    folder: &SweepFolder,
    meta: &SweepMeta,
    mut points: Vec<PointResult>,
    no_charts: bool,
) -> Result<Vec<PointResult>, u8> {
    points.sort_by_key(|p| p.index);
    points.dedup_by_key(|p| p.index);
    if points.len() != meta.points {
        return Err(err(
            format!(
                "{} of {} points are missing",
                meta.points - points.len(),
                meta.points
            ),
            EXIT_FAILURE,
        ));
    }
    if let Err(e) = folder.write_final(meta, &points, !no_charts) {
        return Err(err(e, EXIT_FAILURE));
    }
    Ok(points)
}

/// The sweep table on stdout and where it was written.
fn print_finished(meta: &SweepMeta, points: &[PointResult], dir: &Path, quiet: bool) {
    if !quiet {
        out!("{}", report::sweep::render_sweep_table(meta, points));
        eprintln!("\nwrote {}", dir.display());
    }
}

pub(crate) fn merge(a: &MergeArgs) -> u8 {
    // Every shard is checked before the output folder is made.
    let (meta, points) = match merge_shards(&a.shards) {
        Ok(x) => x,
        Err(refused) => {
            eprintln!(
                "error: cannot merge {} folder{}; nothing was written",
                a.shards.len(),
                if a.shards.len() == 1 { "" } else { "s" }
            );
            for line in refused.lines() {
                eprintln!("  {line}");
            }
            let rerun = refused.rerun();
            if !rerun.is_empty() {
                let list = |ks: &mut dyn Iterator<Item = usize>| {
                    ks.map(|k| k.to_string()).collect::<Vec<_>>().join(",")
                };
                eprintln!(
                    "run again: shard{} {} (Slurm: sbatch --array={} ...; a Kubernetes Indexed Job: completion index{} {})",
                    if rerun.len() == 1 { "" } else { "s" },
                    list(&mut rerun.iter().copied()),
                    list(&mut rerun.iter().copied()),
                    if rerun.len() == 1 { "" } else { "es" },
                    list(&mut rerun.iter().map(|k| k - 1)),
                );
            }
            return EXIT_INVALID;
        }
    };
    // Written whole beside the destination, then moved into place.
    let staged = match OutFolder::open(&a.out, report::output::results_rule()) {
        Ok(f) => f,
        Err(e) => return super::output_error(&e),
    };
    let folder = SweepFolder::new(staged.layout());
    let points = match finish(&folder, &meta, points, a.no_charts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(e) = staged.commit() {
        return err(e, EXIT_FAILURE);
    }
    print_finished(&meta, &points, &a.out, a.quiet);
    EXIT_OK
}
