//! `stacksim compare A B [C ...]`: paired runs with common random numbers,
//! each design against the first.

use std::path::PathBuf;

use clap::Args;

use super::{
    EXIT_FAILURE, EXIT_INVALID, EXIT_OK, SimFlags, command_line, invalid, plan_build, plan_init,
    progress,
};
use stacksim::plan::compare::{CompareInit, design_label};
use stacksim::report::OutFolder;
use stacksim::report::compare::{
    CompareReport, Design, compare_json, render_compare_text, write_compare,
};

#[derive(Args, Debug)]
pub(crate) struct CompareArgs {
    /// The scenarios: the baseline first, then one or more variants, each
    /// compared with the baseline.
    #[arg(required = true, num_args = 2.., value_name = "SCENARIO")]
    designs: Vec<PathBuf>,
    /// Override a key in every design (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    sim: SimFlags,
    /// A difference counts (marked `*`) when its paired 95% interval
    /// excludes zero and it is at least PERCENT of the baseline's figure;
    /// smaller ones that exclude zero are marked `~`.
    #[arg(long, value_name = "PERCENT", default_value = "1", value_parser = threshold)]
    threshold: f64,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    /// Write compare.json, compare.csv, compare.md, compare.html and the
    /// charts into DIR (replaced whole).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// `--threshold`: a percentage from 0 to 100, `1` or `0.5` or `2%`.
fn threshold(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. 1 or 0.5)"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 100"))
    }
}

pub(crate) fn compare(args: &CompareArgs) -> u8 {
    let quiet = args.quiet || args.json;
    let mut inits = Vec::new();
    for path in &args.designs {
        // The run flags apply to every design; the variants then take the
        // baseline's remaining settings, so the replications pair.
        match plan_init(Some(path), &args.set, &args.sim) {
            Ok(x) => inits.push(x),
            Err(code) => return code,
        }
    }
    let init = match CompareInit::new(inits) {
        Ok(x) => x.with_threshold(args.threshold / 100.0),
        Err(e) => return invalid(&e),
    };
    for d in &init.designs {
        super::warn_settings(d, quiet);
    }
    let first = init.designs[0].scenario();
    let n = first.simulation.replications;
    if n < 2 {
        eprintln!("error: a paired comparison needs at least 2 replications (--replications)");
        return EXIT_INVALID;
    }
    let folder = match args
        .out
        .as_deref()
        .map(|d| OutFolder::open(d, stacksim::report::output::results_rule()))
    {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => return super::output_error(&e),
    };
    let settings_line = init.settings_line();
    let k = init.designs.len() as u64;
    let mut runs = Vec::new();
    for d in &init.designs {
        let plan = match plan_build(d.clone(), quiet) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let bar = progress(k * u64::from(n), "replications", quiet);
        bar.set_position(runs.len() as u64 * u64::from(n));
        runs.push(plan.replicate(&|| bar.inc(1)));
        bar.finish_and_clear();
    }
    let pairings = init.pairings(&runs);
    let cmd = command_line();
    let provenances: Vec<_> = runs.iter().map(|r| r.provenance(&cmd)).collect();
    let report = CompareReport {
        designs: runs
            .iter()
            .zip(&provenances)
            .enumerate()
            .map(|(i, (r, p))| Design {
                label: design_label(i),
                path: args.designs[i].display().to_string(),
                run: r.report(p),
            })
            .collect(),
        pairings: &pairings,
        settings_line,
        command_line: cmd.clone(),
    };
    if let Some(folder) = folder
        && let Err(e) = write_compare(folder, &report)
    {
        eprintln!("error: {e}");
        return EXIT_FAILURE;
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&compare_json(&report)).unwrap_or_default()
        );
    } else {
        outln!("{}", render_compare_text(&report).trim_end());
        if let Some(dir) = &args.out {
            outln!(
                "\nwrote {}/compare.html (and compare.md, compare.json, compare.csv, charts)",
                dir.display()
            );
        }
    }
    EXIT_OK
}
