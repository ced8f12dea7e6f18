//! Helpers shared by the integration tests.

use std::path::Path;

use stacksim::analysis;
use stacksim::model::Model;
use stacksim::scenario::{self, Scenario};
use stacksim::stats::{Estimate, RepObs, Summary, summarize};
use stacksim::sweep::run_replications;

/// The repository root (where the shipped scenarios are).
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty temporary folder for one test: `stacksim-AREA-NAME-PID`.
pub fn temp_dir(area: &str, name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("stacksim-{area}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the stacksim binary with `args` (no RAYON_NUM_THREADS from the
/// environment) and returns what it did.
pub fn stacksim<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .env_remove("RAYON_NUM_THREADS")
        .output()
        .expect("the binary runs")
}

/// A small sweep of `scenarios/validation/mmc.toml`: 4 rates x 2 worker counts.
pub const SMALL_SWEEP: [&str; 4] = [
    "--vary",
    "workload.rate=100..400:100",
    "--vary",
    "tier.server.workers=4,5",
];

/// Loads a shipped scenario by its path under the repository root.
pub fn shipped(rel: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    scenario::load(&path)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .0
}

/// Stage 1 of the run lifecycle for a shipped scenario, with overrides
/// given as `KEY=VALUE`.
pub fn shipped_plan(rel: &str, set: &[&str]) -> stacksim::plan::PlanInit {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let input = stacksim::plan::ScenarioInput::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let ovs: Vec<_> = set
        .iter()
        .map(|s| scenario::Override::parse(s).unwrap())
        .collect();
    stacksim::plan::PlanInit::new(&input, &ovs).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

/// The folders of shipped scenarios, relative to the repository root.
pub const SHIPPED_DIRS: [&str; 4] = [
    "scenarios",
    "scenarios/examples",
    "scenarios/validation",
    "scenarios/write-scaling",
];

/// Parses a scenario from text.
pub fn parse(src: &str) -> Scenario {
    scenario::parse(src, "test.toml", None).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

/// Runs every replication and returns them with their summary.
pub fn run(s: &Scenario) -> (Vec<RepObs>, Summary) {
    let model = Model::build(s);
    let reps = run_replications(&model, 0, s.simulation.replications, &|| {});
    let summary = summarize(&reps);
    (reps, summary)
}

/// What the reports need beside a summary: loads, verdicts, bottleneck.
pub struct Assessed {
    pub loads: Vec<analysis::PoolLoad>,
    pub verdicts: Vec<analysis::Verdict>,
    pub bottleneck: Option<analysis::Bottleneck>,
    pub lints: Vec<analysis::lints::Lint>,
    pub analytic: Option<analysis::queueing::AnalyticModel>,
    pub settings: stacksim::report::RunSettings,
    pub provenance: stacksim::report::Provenance,
}

impl Assessed {
    /// Assesses a run of `s` for reporting.
    pub fn of(s: &Scenario, summary: &Summary, path: &str) -> Assessed {
        let loads = analysis::offered_load(s);
        let (verdicts, bottleneck) = analysis::verdicts(s, &loads, summary);
        let provenance = stacksim::report::Provenance::new("test", path, "");
        Assessed {
            loads,
            verdicts,
            bottleneck,
            lints: analysis::lints::lint(s),
            analytic: analysis::queueing::analytic_model(s),
            settings: stacksim::report::RunSettings::new(&s.simulation, false, false),
            provenance,
        }
    }

    /// The run report over these parts.
    pub fn report<'a>(
        &'a self,
        s: &'a Scenario,
        summary: &'a Summary,
    ) -> stacksim::report::RunReport<'a> {
        stacksim::report::RunReport {
            scenario: s,
            loads: &self.loads,
            summary,
            verdicts: &self.verdicts,
            bottleneck: self.bottleneck.as_ref(),
            lints: &self.lints,
            analytic: self.analytic.as_ref(),
            settings: &self.settings,
            provenance: &self.provenance,
        }
    }
}

/// Asserts that a command exited with 0, showing its stderr otherwise.
#[track_caller]
pub fn assert_ok(o: &std::process::Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs and also returns the verdicts.
pub fn run_with_verdicts(
    s: &Scenario,
) -> (
    Summary,
    Vec<analysis::Verdict>,
    Option<analysis::Bottleneck>,
) {
    let (_, summary) = run(s);
    let loads = analysis::offered_load(s);
    let (v, b) = analysis::verdicts(s, &loads, &summary);
    (summary, v, b)
}

/// The fair check of ../shared/VALIDATION.md: the estimate is within four
/// standard errors of the exact value, and the interval is narrow enough
/// (relative half-width at most `max_rel_hw`) for that to mean something.
#[track_caller]
pub fn assert_agrees(what: &str, e: &Estimate, exact: f64, max_rel_hw: f64) {
    let se = e.std_error().expect("needs at least two replications");
    let rel = e.relative_half_width().unwrap_or(f64::INFINITY);
    assert!(
        rel <= max_rel_hw,
        "{what}: interval too wide to test ({:.2}% > {:.2}%): run longer",
        rel * 100.0,
        max_rel_hw * 100.0
    );
    assert!(
        (e.mean - exact).abs() <= 4.0 * se,
        "{what}: estimate {:.5} ± {:.5} (se {:.5}) vs exact {exact:.5}: off by {:.1} se",
        e.mean,
        e.half_width.unwrap_or(f64::NAN),
        se,
        (e.mean - exact) / se
    );
}

/// Erlang C: probability that an arrival waits in an M/M/c with offered load a = lambda/mu.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    // term is now a^c / c!
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

/// Mean response time (s) of an M/M/c.
pub fn mmc_mean_response(lambda: f64, mean_service_s: f64, c: u32) -> f64 {
    let mu = 1.0 / mean_service_s;
    let a = lambda / mu;
    erlang_c(c, a) / (f64::from(c) * mu - lambda) + mean_service_s
}

/// The q-quantile (s) of the M/M/c FCFS response time: T = S + W with S
/// exponential(mu) and W = 0 with probability 1 - C, else exponential(c mu - lambda).
pub fn mmc_response_quantile(lambda: f64, mean_service_s: f64, c: u32, q: f64) -> f64 {
    let mu = 1.0 / mean_service_s;
    let pw = erlang_c(c, lambda / mu);
    let g = f64::from(c) * mu - lambda;
    let tail = |t: f64| {
        let conv = if (g - mu).abs() < 1e-12 {
            (1.0 + mu * t) * (-mu * t).exp()
        } else {
            (g * (-mu * t).exp() - mu * (-g * t).exp()) / (g - mu)
        };
        (1.0 - pw) * (-mu * t).exp() + pw * conv
    };
    let (mut lo, mut hi) = (0.0, 1e4 * mean_service_s);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if tail(mid) > 1.0 - q {
            lo = mid
        } else {
            hi = mid
        }
    }
    (lo + hi) / 2.0
}
