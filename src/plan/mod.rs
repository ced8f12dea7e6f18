//! The run lifecycle, once, for every command: load the scenario, apply the
//! command's flags, cap the time series, choose the warm-up, build the model,
//! replicate (or replicate to a precision), summarize and judge.
//!
//! Two stages, so that no command can skip a rule (nexosim's
//! `SimInit -> Simulation`):
//!
//! 1. [`PlanInit`]: the validated scenario with every override and run flag
//!    applied (as overrides on the TOML document, so the resolved scenario
//!    reads back as a scenario) and the time series capped. Cheap: no
//!    simulation has run. A command checks its output folder here.
//! 2. [`Plan`]: the warm-up chosen (`warmup = "auto"` runs its MSER-5 pilot
//!    here) and the model built. [`Plan::replicate`] and
//!    [`Plan::replicate_to_precision`] return an owned [`RunResult`] that
//!    reports itself ([`RunResult::report`]).
//!
//! `run`, `sweep` (a plan per point), `capacity` (a plan per probe),
//! `compare` (a plan per design), `review --simulate` and `perf` all go
//! through here; the binary only parses arguments, shows progress and picks
//! exit codes.

pub mod capacity;
pub mod compare;
pub mod sweep;
pub mod validate;
mod warmup;

use std::path::{Path, PathBuf};

use crate::analysis::lints::Lint;
use crate::analysis::queueing::AnalyticModel;
use crate::analysis::{self, Bottleneck, PoolLoad, Verdict};
use crate::model::Model;
use crate::report::{Provenance, RunReport, RunSettings};
use crate::scenario::{
    self, LoadError, MAX_SERIES_INTERVALS, Override, REFERENCE_PATH, REFERENCE_TOML, Scenario,
    ScenarioError, Warmup,
};
use crate::stats::{RepObs, Summary, summarize};
use crate::units::format_duration;

pub use warmup::{WarmupChoice, WarmupError};

/// A scenario's text and where it came from.
#[derive(Clone, Debug)]
pub struct ScenarioInput {
    /// The path shown in messages (or the built-in name).
    pub path: String,
    /// The TOML text as read.
    pub text: String,
    /// Where relative file names (empirical CSVs) are resolved.
    pub base_dir: Option<PathBuf>,
}

impl ScenarioInput {
    /// Reads a scenario file.
    pub fn read(path: &Path) -> Result<ScenarioInput, LoadError> {
        let text = crate::scenario::files::read_scenario(path)?;
        Ok(ScenarioInput {
            path: path.display().to_string(),
            text,
            base_dir: path.parent().map(Path::to_path_buf),
        })
    }

    /// The built-in reference scenario.
    pub fn reference() -> ScenarioInput {
        ScenarioInput {
            path: REFERENCE_PATH.to_string(),
            text: REFERENCE_TOML.to_string(),
            base_dir: None,
        }
    }

    /// A file, or the built-in reference when there is none.
    pub fn file_or_reference(file: Option<&Path>) -> Result<ScenarioInput, LoadError> {
        file.map_or_else(|| Ok(ScenarioInput::reference()), ScenarioInput::read)
    }
}

/// The run-length flags every simulating command takes. Each becomes an
/// override of its `simulation` key, named by its flag in messages.
#[derive(Clone, Debug, Default)]
pub struct RunFlags {
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--replications`.
    pub replications: Option<u32>,
    /// `--duration`, as typed (`60s`, `5m`).
    pub duration: Option<String>,
    /// `--warmup`, as typed (`30s`, `auto`).
    pub warmup: Option<String>,
}

impl RunFlags {
    /// The flags as overrides, in a fixed order.
    pub fn overrides(&self) -> Vec<Override> {
        let mut out = Vec::new();
        if let Some(s) = self.seed {
            out.push(Override::from_flag(
                "--seed",
                "simulation.seed",
                &s.to_string(),
            ));
        }
        if let Some(r) = self.replications {
            out.push(Override::from_flag(
                "--replications",
                "simulation.replications",
                &r.to_string(),
            ));
        }
        if let Some(d) = &self.duration {
            out.push(Override::from_flag("--duration", "simulation.duration", d));
        }
        if let Some(w) = &self.warmup {
            out.push(Override::from_flag("--warmup", "simulation.warmup", w));
        }
        out
    }
}

/// Stage 1: a validated scenario with every override applied and its time
/// series capped. Nothing has been simulated yet.
#[derive(Clone, Debug)]
pub struct PlanInit {
    input: ScenarioInput,
    overrides: Vec<Override>,
    scenario: Scenario,
    series_cap: Option<u64>,
    /// `sample_every` as the scenario gives it, before the cap.
    sample_every_ns: u64,
}

impl PlanInit {
    /// Validates `input` with `overrides` applied in order (the `--set`
    /// overrides, then [`RunFlags::overrides`]): every problem at once.
    pub fn new(input: &ScenarioInput, overrides: &[Override]) -> Result<PlanInit, ScenarioError> {
        let mut scenario = scenario::parse_with(
            &input.text,
            &input.path,
            input.base_dir.as_deref(),
            overrides,
        )?;
        let sample_every_ns = scenario.simulation.sample_every_ns;
        let series_cap = scenario.simulation.cap_series();
        Ok(PlanInit {
            sample_every_ns,
            input: input.clone(),
            overrides: overrides.to_vec(),
            scenario,
            series_cap,
        })
    }

    /// The same scenario with more overrides after these (a sweep point, a
    /// capacity probe, a paired design's settings).
    pub fn with_overrides(&self, more: &[Override]) -> Result<PlanInit, ScenarioError> {
        let mut all = self.overrides.clone();
        all.extend_from_slice(more);
        PlanInit::new(&self.input, &all)
    }

    /// The scenario as it will run (warm-up not yet chosen when `auto`).
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Where it came from.
    pub fn input(&self) -> &ScenarioInput {
        &self.input
    }

    /// Every override applied, in order.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// This scenario with `other`'s run settings (`[simulation]`: seed,
    /// replications, duration, warm-up, sampling, drain), so that the two run
    /// paired replications with common random numbers.
    pub fn with_simulation_of(&self, other: &PlanInit) -> Result<PlanInit, ScenarioError> {
        let sim = &other.scenario.simulation;
        let flag = "(paired with A)";
        let ns = |x: u64| format!("{x}ns");
        let warmup = match sim.warmup {
            Warmup::Auto => "auto".to_string(),
            Warmup::Fixed(w) => ns(w),
        };
        let ovs = [
            ("simulation.seed", sim.seed.to_string()),
            ("simulation.replications", sim.replications.to_string()),
            ("simulation.duration", ns(sim.duration_ns)),
            ("simulation.warmup", warmup),
            ("simulation.sample_every", ns(other.sample_every_ns)),
            ("simulation.drain", ns(sim.drain_ns)),
        ]
        .map(|(k, v)| Override::from_flag(flag, k, &v));
        self.with_overrides(&ovs)
    }

    /// Stage 2: chooses the warm-up (running the MSER-5 pilot when it is
    /// `auto`; `on_pilot` is called once per pilot replication) and builds
    /// the model.
    pub fn build(self, on_pilot: &(dyn Fn() + Sync)) -> Result<Plan, WarmupError> {
        let mut scenario = self.scenario;
        let mut series_cap = self.series_cap;
        let warmup = match scenario.simulation.warmup {
            Warmup::Auto => {
                let choice = warmup::choose(&scenario, on_pilot)?;
                scenario.simulation.warmup = Warmup::Fixed(choice.warmup_ns);
                // The chosen warm-up lengthens the run: cap again.
                series_cap = scenario.simulation.cap_series().or(series_cap);
                Some(choice)
            }
            Warmup::Fixed(_) => None,
        };
        let loads = analysis::offered_load(&scenario);
        let model = Model::build(&scenario);
        Ok(Plan {
            input: self.input,
            overrides: self.overrides,
            scenario,
            series_cap,
            warmup,
            loads,
            model,
        })
    }
}

/// Stage 2: a scenario ready to replicate.
#[derive(Clone, Debug)]
pub struct Plan {
    input: ScenarioInput,
    overrides: Vec<Override>,
    scenario: Scenario,
    series_cap: Option<u64>,
    warmup: Option<WarmupChoice>,
    loads: Vec<PoolLoad>,
    model: Model,
}

/// `--precision`: add replications until the key intervals are this narrow.
#[derive(Clone, Copy, Debug)]
pub struct Precision {
    /// The target relative 95% half-width (e.g. 0.02).
    pub target: f64,
    /// The most replications to run.
    pub max_replications: u32,
}

/// Whether a precision target was met.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PrecisionOutcome {
    /// The target.
    pub target: f64,
    /// The widest relative half-width of mean and p99 latency and throughput.
    pub widest: f64,
    /// Replications run.
    pub replications: u32,
    /// Whether `widest <= target`.
    pub converged: bool,
}

impl Plan {
    /// The scenario as it runs: warm-up chosen, series capped.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The runnable model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The traffic equations' offered load per pool.
    pub fn loads(&self) -> &[PoolLoad] {
        &self.loads
    }

    /// The warm-up the pilot chose, when it was `auto`.
    pub fn warmup_choice(&self) -> Option<&WarmupChoice> {
        self.warmup.as_ref()
    }

    /// The widened sample interval, when the series was capped.
    pub fn series_cap(&self) -> Option<u64> {
        self.series_cap
    }

    /// Where it came from.
    pub fn input(&self) -> &ScenarioInput {
        &self.input
    }

    /// Every override applied, in order.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The settings it runs with, as stated beside results.
    pub fn settings(&self) -> RunSettings {
        RunSettings::new(
            &self.scenario.simulation,
            self.warmup.is_some(),
            self.series_cap.is_some(),
        )
    }

    /// Keeps up to `limit` access-log records from replication 0.
    pub fn with_access_log(mut self, limit: usize) -> Plan {
        self.model.set_access_log(limit);
        self
    }

    /// Runs the replications one after another on this thread and returns
    /// their raw observations (`stacksim perf`'s one-core figure).
    pub fn observe_serially(&self, on_rep: &dyn Fn()) -> Vec<RepObs> {
        (0..self.scenario.simulation.replications)
            .map(|rep| {
                let obs = crate::model::run_replication(&self.model, rep);
                on_rep();
                obs
            })
            .collect()
    }

    /// Runs the replications in parallel and returns their raw observations.
    pub fn observe(&self, on_rep: &(dyn Fn() + Sync)) -> Vec<RepObs> {
        crate::sweep::run_replications(
            &self.model,
            0,
            self.scenario.simulation.replications,
            on_rep,
        )
    }

    /// Runs the scenario's replications in parallel.
    pub fn replicate(&self, on_rep: &(dyn Fn() + Sync)) -> RunResult {
        let n = self.scenario.simulation.replications;
        let obs = crate::sweep::run_replications(&self.model, 0, n, on_rep);
        self.finish(obs, None)
    }

    /// Runs the scenario's replications, then doubles them until the 95%
    /// half-widths of end-to-end mean and p99 latency and throughput are
    /// within the target, or the cap is reached (then says so).
    pub fn replicate_to_precision(&self, p: Precision, on_rep: &(dyn Fn() + Sync)) -> RunResult {
        let n = self.scenario.simulation.replications;
        let mut obs = crate::sweep::run_replications(&self.model, 0, n, on_rep);
        let outcome = loop {
            let s = summarize(&obs);
            let widest = [
                s.overall.latency_mean_ms,
                s.overall.latency_p99_ms,
                s.overall.throughput_rps,
            ]
            .iter()
            .map(|e| e.relative_half_width().unwrap_or(f64::INFINITY))
            .fold(0.0, f64::max);
            let n = obs.len() as u32;
            if widest <= p.target || n >= p.max_replications {
                break PrecisionOutcome {
                    target: p.target,
                    widest,
                    replications: n,
                    converged: widest <= p.target,
                };
            }
            let next = (n * 2).clamp(n + 1, p.max_replications);
            obs.extend(crate::sweep::run_replications(&self.model, n, next, on_rep));
        };
        self.finish(obs, Some(outcome))
    }

    /// Summarizes and judges replications of this plan (run here or, for a
    /// sweep, by [`crate::sweep::run_points`]).
    pub fn finish(
        &self,
        observations: Vec<RepObs>,
        precision: Option<PrecisionOutcome>,
    ) -> RunResult {
        let mut scenario = self.scenario.clone();
        scenario.simulation.replications = observations.len() as u32;
        let summary = summarize(&observations);
        let (verdicts, bottleneck) = analysis::verdicts(&scenario, &self.loads, &summary);
        RunResult {
            settings: RunSettings::new(
                &scenario.simulation,
                self.warmup.is_some(),
                self.series_cap.is_some(),
            ),
            lints: analysis::lints::lint(&scenario),
            analytic: analysis::queueing::analytic_model(&scenario),
            notes: self.notes(precision, &summary),
            scenario,
            loads: self.loads.clone(),
            observations,
            summary,
            verdicts,
            bottleneck,
            warmup: self.warmup.clone(),
            precision,
            input: self.input.clone(),
        }
    }

    /// How the run was shaped, in sentences for the provenance.
    fn notes(&self, precision: Option<PrecisionOutcome>, summary: &Summary) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some((_, first)) = summary.stopped_early.first() {
            let warmup = self.scenario().simulation.warmup_ns();
            let secs = first.at_ns as f64 / 1e9;
            notes.push(format!(
                "STOPPED EARLY: {} of {} replications held {} requests in flight (the most one holds) and were stopped, the first at {secs:.2} s{}: the backlog grew ~{} requests/s; this load has no steady state, and the figures cover only the time before each stop",
                summary.stopped_early.len(),
                summary.replications,
                crate::units::thousands(first.limit),
                if first.at_ns < warmup {
                    " (still in the warm-up, so nothing was observed)"
                } else {
                    ""
                },
                crate::units::whole(first.in_flight as f64 / secs.max(1e-9))
            ));
        }
        if let Some(p) = precision {
            notes.push(if p.converged {
                format!(
                    "precision: converged after {} replications (every 95% half-width of mean and p99 latency and throughput within {:.1}%; the widest is {:.2}%)",
                    p.replications,
                    p.target * 100.0,
                    p.widest * 100.0
                )
            } else {
                format!(
                    "precision: NOT converged: after {} replications (the cap) the widest half-width is {:.2}%, above the {:.1}% target",
                    p.replications,
                    p.widest * 100.0,
                    p.target * 100.0
                )
            });
        }
        if let Some(w) = &self.warmup {
            notes.push(format!(
                "warm-up: chosen automatically by MSER-5: {}",
                format_duration(w.warmup_ns)
            ));
        }
        if let Some(w) = self.series_cap {
            notes.push(format!(
                "time series: one interval every {} (at most {MAX_SERIES_INTERVALS} intervals per replication)",
                format_duration(w)
            ));
        }
        notes
    }
}

/// A finished run: everything the reports need, owned.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The scenario as run (replications as actually run).
    pub scenario: Scenario,
    /// Offered load per pool.
    pub loads: Vec<PoolLoad>,
    /// Each replication's raw observations, in index order.
    pub observations: Vec<RepObs>,
    /// The estimates.
    pub summary: Summary,
    /// Stability per pool.
    pub verdicts: Vec<Verdict>,
    /// The most utilized resource.
    pub bottleneck: Option<Bottleneck>,
    /// How the run was shaped (warm-up chosen, precision, series cap).
    pub notes: Vec<String>,
    /// The design review's findings.
    pub lints: Vec<Lint>,
    /// The analytic queueing model (none for closed workloads).
    pub analytic: Option<AnalyticModel>,
    /// The warm-up the pilot chose, when it was `auto`.
    pub warmup: Option<WarmupChoice>,
    /// Whether `--precision` was met.
    pub precision: Option<PrecisionOutcome>,
    /// The settings it ran with.
    pub settings: RunSettings,
    input: ScenarioInput,
}

impl RunResult {
    /// Provenance for this run, from `command_line`.
    pub fn provenance(&self, command_line: &str) -> Provenance {
        let mut p = Provenance::new(command_line, &self.input.path, &self.input.text);
        p.notes = self.notes.clone();
        p.data_files = self.scenario.data_files.clone();
        p
    }

    /// The run report over this result.
    pub fn report<'a>(&'a self, provenance: &'a Provenance) -> RunReport<'a> {
        RunReport {
            scenario: &self.scenario,
            loads: &self.loads,
            summary: &self.summary,
            verdicts: &self.verdicts,
            bottleneck: self.bottleneck.as_ref(),
            lints: &self.lints,
            analytic: self.analytic.as_ref(),
            settings: &self.settings,
            provenance,
        }
    }
}
