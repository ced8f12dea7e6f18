//! A comparison's plain data: the designs, and each variant against the
//! baseline, per component. Computed by `plan::compare`, rendered by
//! `report::compare` and its charts.

use super::RunReport;
use crate::scenario::KeyChange;
use crate::stats::Difference;

/// One design of a comparison.
pub struct Design<'a> {
    /// `A`, `B`, `C`, ...
    pub label: String,
    /// The scenario file (or the built-in name).
    pub path: String,
    /// Its run.
    pub run: RunReport<'a>,
}

/// Whether a compared row exists in each design.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// In both.
    Both,
    /// Only in the baseline.
    OnlyBaseline,
    /// Only in the variant.
    OnlyVariant,
}

/// A tier, database role, host group, class or failure cause, compared.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RowComparison {
    /// `tier`, `role` (a database's primary or replicas), `host`, `class`
    /// or `errors`.
    pub scope: &'static str,
    /// Its name (`web`, `db primary`, `server`, `read`, `timeout`).
    pub name: String,
    /// Where it exists.
    pub presence: Presence,
    /// Whether it is unstable in the baseline and in the variant (its
    /// waits and latencies then measure the run's length).
    pub unstable: [bool; 2],
    /// Its figures (only the design that has it, when not both).
    pub metrics: Vec<Difference>,
}

/// One variant against the baseline.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Pairing {
    /// Index of the variant in the designs (the baseline is 0).
    pub variant: usize,
    /// The share of A's figure (0.01 = 1%) a significant difference must
    /// reach to be material.
    pub threshold: f64,
    /// What differs between the two scenario files, key by key.
    pub scenario_diff: Vec<KeyChange>,
    /// Set when the two workloads differ: what the comparison then means.
    pub workload_warning: Option<String>,
    /// End-to-end figures.
    pub end_to_end: Vec<Difference>,
    /// Per tier, database role, host group, class and failure cause.
    pub rows: Vec<RowComparison>,
    /// The bottleneck of each (label and utilization %).
    pub bottleneck: [Option<(String, f64)>; 2],
    /// The highest arrival rate each can carry, from the analytic model
    /// (requests/s; none for a closed workload).
    pub saturation_rps: [Option<f64>; 2],
    /// Where each saturates first, by the analytic model.
    pub saturates_at: [Option<String>; 2],
    /// Design-review findings of the baseline the variant no longer has.
    pub findings_fixed: Vec<String>,
    /// Findings the variant has that the baseline had not.
    pub findings_added: Vec<String>,
    /// Plain sentences, most important first.
    pub verdict: Vec<String>,
}

/// The whole comparison, ready to render.
pub struct CompareReport<'a> {
    /// The designs, the baseline first.
    pub designs: Vec<Design<'a>>,
    /// Each variant against the baseline.
    pub pairings: &'a [Pairing],
    /// The simulation settings every design ran with, in a sentence.
    pub settings_line: String,
    /// The command line.
    pub command_line: String,
}

impl CompareReport<'_> {
    /// The label of design `i` (`A`, `B`, ...).
    pub(crate) fn label(&self, i: usize) -> &str {
        &self.designs[i].label
    }
}
