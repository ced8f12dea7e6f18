//! `stacksim sweep` and `stacksim merge`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Args;

use super::{
    EXIT_FAILURE, EXIT_INVALID, EXIT_OK, SimFlags, apply_sim_flags, color, load, overrides,
    progress,
};
use stacksim::analysis;
use stacksim::report::sweep::{
    PointResult, SweepMeta, read_point_lines, write_point_line, write_sweep_csv, write_sweep_json,
};
use stacksim::report::{self, OutputLayout, Provenance, RunReport};
use stacksim::scenario::{self, Axis, Override, Scenario, axis};
use stacksim::stats::summarize;
use stacksim::sweep::{PointJob, run_points};

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
    /// Output folder (default: output/<scenario name>-sweep).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Keep the points already in the output folder and run only the rest.
    #[arg(long)]
    resume: bool,
    /// Run only slice K of N (1-based), e.g. --shard 2/4; combine with `stacksim merge`.
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
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("--shard {text}: write K/N, e.g. 2/4"))?;
    let (k, n): (usize, usize) = (
        k.trim()
            .parse()
            .map_err(|_| format!("--shard {text}: K is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("--shard {text}: N is not a number"))?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {text}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

fn err(msg: impl std::fmt::Display, code: u8) -> u8 {
    eprintln!("error: {msg}");
    code
}

/// The files of a sweep folder.
struct SweepFiles {
    layout: OutputLayout,
}

impl SweepFiles {
    fn meta(&self) -> PathBuf {
        self.layout.dir().join("sweep-meta.json")
    }
    fn points(&self) -> PathBuf {
        self.layout.dir().join("points.jsonl")
    }
}

pub(crate) fn sweep(a: &SweepArgs) -> u8 {
    let (base, source, path) = match load(Some(&a.file), &a.set) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let axes: Vec<Axis> = if a.vary.is_empty() {
        base.sweep.clone()
    } else {
        match a
            .vary
            .iter()
            .map(|v| Axis::parse(v))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(x) => x,
            Err(e) => return err(format!("--vary {e}"), EXIT_INVALID),
        }
    };
    if axes.is_empty() {
        return err(
            "nothing to sweep: give --vary KEY=SPEC or a [sweep] table",
            EXIT_INVALID,
        );
    }
    let grid = match axis::grid(&axes) {
        Ok(g) => g,
        Err(e) => return err(e, EXIT_INVALID),
    };
    let shard = match a.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => return err(e, EXIT_INVALID),
    };
    // Every point is validated before anything runs.
    let common = match overrides(&a.set) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut scenarios: Vec<Scenario> = Vec::with_capacity(grid.len());
    for values in &grid {
        let mut ovs = common.clone();
        ovs.extend(values.iter().map(|(k, v)| Override {
            key: k.clone(),
            value: v.clone(),
        }));
        match scenario::parse_with(&source, &path, a.file.parent(), &ovs) {
            Ok(mut s) => {
                if let Err(e) = apply_sim_flags(&mut s, &a.sim) {
                    return err(e, EXIT_INVALID);
                }
                s.simulation.cap_series();
                scenarios.push(s);
            }
            Err(e) => {
                eprint!("{}", e.render(color()));
                let at: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                return err(
                    format!(
                        "the sweep point {} is invalid; nothing was run",
                        at.join(", ")
                    ),
                    EXIT_INVALID,
                );
            }
        }
    }
    let meta = SweepMeta {
        version: stacksim::VERSION.to_string(),
        scenario: base.name.clone(),
        scenario_source: source.clone(),
        overrides: common.iter().map(Override::text).collect(),
        axes: axes.clone(),
        points: grid.len(),
        seed: scenarios[0].simulation.seed,
        replications: scenarios[0].simulation.replications,
    };
    let files = SweepFiles {
        layout: OutputLayout::new(
            Some(
                &a.out
                    .clone()
                    .unwrap_or_else(|| Path::new("output").join(format!("{}-sweep", base.name))),
            ),
            &base.name,
        ),
    };
    if let Err(e) = files.layout.prepare() {
        return err(e, EXIT_FAILURE);
    }
    let mut done: Vec<PointResult> = Vec::new();
    if a.resume {
        match std::fs::read_to_string(files.meta()) {
            Ok(text) => match serde_json::from_str::<SweepMeta>(&text) {
                Ok(old) if old == meta => {}
                _ => {
                    return err(
                        format!(
                            "{} holds a different sweep; run without --resume or use another --out",
                            files.layout.dir().display()
                        ),
                        EXIT_INVALID,
                    );
                }
            },
            Err(_) => {
                return err(
                    format!("nothing to resume in {}", files.layout.dir().display()),
                    EXIT_INVALID,
                );
            }
        }
        done = std::fs::read_to_string(files.points())
            .map(|t| read_point_lines(&t))
            .unwrap_or_default();
        done.retain(|p| p.index < grid.len());
        // Rewrite the kept points, dropping a torn last line, before appending.
        let rewritten = files.layout.write_atomic(&files.points(), |w| {
            done.iter().try_for_each(|p| write_point_line(p, w))
        });
        if let Err(e) = rewritten {
            return err(e, EXIT_FAILURE);
        }
    } else {
        let meta_json = serde_json::to_string_pretty(&meta).unwrap_or_default();
        if let Err(e) = files
            .layout
            .write_atomic(&files.meta(), |w| w.write_all(meta_json.as_bytes()))
        {
            return err(e, EXIT_FAILURE);
        }
        if let Err(e) = std::fs::write(files.points(), b"") {
            return err(
                format!("cannot write {}: {e}", files.points().display()),
                EXIT_FAILURE,
            );
        }
    }
    let jobs: Vec<PointJob<'_>> = scenarios
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|(k, n)| i % n == k - 1))
        .filter(|(i, _)| !done.iter().any(|p| p.index == *i))
        .map(|(index, scenario)| PointJob { index, scenario })
        .collect();
    let total: u64 = jobs
        .iter()
        .map(|j| u64::from(j.scenario.simulation.replications))
        .sum();
    if !a.quiet && !done.is_empty() {
        eprintln!(
            "resuming: {} points already done, {} to run",
            done.len(),
            jobs.len()
        );
    }
    let bar = progress(total, "replications", a.quiet);
    let out_file = match OpenOptions::new()
        .append(true)
        .create(true)
        .open(files.points())
    {
        Ok(f) => Mutex::new(f),
        Err(e) => {
            return err(
                format!("cannot write {}: {e}", files.points().display()),
                EXIT_FAILURE,
            );
        }
    };
    let finished: Mutex<Vec<PointResult>> = Mutex::new(Vec::new());
    let write_failed = Mutex::new(None::<String>);
    run_points(&jobs, &|| bar.inc(1), &|index, reps| {
        let s = &scenarios[index];
        let summary = summarize(&reps);
        let loads = analysis::offered_load(s);
        let (verdicts, bottleneck) = analysis::verdicts(s, &loads, &summary);
        let prov = Provenance::new("", "", "");
        let rr = RunReport {
            scenario: s,
            loads: &loads,
            summary: &summary,
            verdicts: &verdicts,
            bottleneck: bottleneck.as_ref(),
            provenance: &prov,
        };
        let p = PointResult::from_run(index, grid[index].clone(), &rr);
        // Appended as it finishes, so an interrupted sweep keeps it.
        let mut f = out_file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = write_point_line(&p, &mut *f).and_then(|()| f.flush()) {
            *write_failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
        }
        finished.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    });
    bar.finish_and_clear();
    if let Some(e) = write_failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return err(
            format!("cannot append to {}: {e}", files.points().display()),
            EXIT_FAILURE,
        );
    }
    done.extend(finished.into_inner().unwrap_or_else(|e| e.into_inner()));
    if shard.is_some() {
        if !a.quiet {
            eprintln!(
                "wrote shard {} ({} points); combine shards with: stacksim merge --out DIR SHARD_DIRS...",
                files.layout.dir().display(),
                done.len()
            );
        }
        return EXIT_OK;
    }
    finish(&files.layout, &meta, done, a.no_charts, a.quiet)
}

/// Writes the final outputs from every point, in grid order.
fn finish(
    layout: &OutputLayout,
    meta: &SweepMeta,
    mut points: Vec<PointResult>,
    no_charts: bool,
    quiet: bool,
) -> u8 {
    points.sort_by_key(|p| p.index);
    points.dedup_by_key(|p| p.index);
    if points.len() != meta.points {
        return err(
            format!(
                "{} of {} points are missing",
                meta.points - points.len(),
                meta.points
            ),
            EXIT_FAILURE,
        );
    }
    let dir = layout.dir();
    let csv = layout.write_atomic(&dir.join("sweep.csv"), |w| {
        write_sweep_csv(meta, &points, w)
    });
    let json = layout.write_atomic(&dir.join("sweep.json"), |w| {
        write_sweep_json(meta, &points, w)
    });
    if let Err(e) = csv.and(json) {
        return err(e, EXIT_FAILURE);
    }
    if !no_charts {
        let charts = match report::charts::render_sweep(&points) {
            Ok(c) => c,
            Err(e) => return err(e, EXIT_FAILURE),
        };
        for c in &charts {
            let png = layout.write_atomic(&layout.chart_png(c.name), |w| w.write_all(&c.png));
            let svg =
                layout.write_atomic(&layout.chart_svg(c.name), |w| w.write_all(c.svg.as_bytes()));
            if let Err(e) = png.and(svg) {
                return err(e, EXIT_FAILURE);
            }
        }
        if let Err(e) = layout.write_atomic(&layout.report_html(), |w| {
            report::sweep::write_sweep_html(meta, &points, &charts, w)
        }) {
            return err(e, EXIT_FAILURE);
        }
    }
    if !quiet {
        out!("{}", report::sweep::render_sweep_table(meta, &points));
        eprintln!("\nwrote {}", dir.display());
    }
    EXIT_OK
}

pub(crate) fn merge(a: &MergeArgs) -> u8 {
    let mut meta: Option<SweepMeta> = None;
    let mut points = Vec::new();
    for dir in &a.shards {
        let text = match std::fs::read_to_string(dir.join("sweep-meta.json")) {
            Ok(t) => t,
            Err(e) => {
                return err(
                    format!("{}: not a sweep output folder ({e})", dir.display()),
                    EXIT_INVALID,
                );
            }
        };
        let m: SweepMeta = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                return err(
                    format!("{}: unreadable sweep-meta.json ({e})", dir.display()),
                    EXIT_INVALID,
                );
            }
        };
        if meta.as_ref().is_some_and(|x| *x != m) {
            return err(
                format!("{} is a shard of a different sweep", dir.display()),
                EXIT_INVALID,
            );
        }
        meta = Some(m);
        points.extend(
            std::fs::read_to_string(dir.join("points.jsonl"))
                .map(|t| read_point_lines(&t))
                .unwrap_or_default(),
        );
    }
    let Some(meta) = meta else {
        return err("no shards given", EXIT_INVALID);
    };
    let layout = OutputLayout::new(Some(&a.out), &meta.scenario);
    if let Err(e) = layout.prepare() {
        return err(e, EXIT_FAILURE);
    }
    finish(&layout, &meta, points, a.no_charts, false)
}
