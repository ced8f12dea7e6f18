//! stacksim: a discrete-event capacity simulator for web infrastructure.
//!
//! A run goes through these stages, each its own type, data flowing one way;
//! [`plan`] is the lifecycle every command uses, so none can skip a step:
//!
//! 1. [`plan::PlanInit::new`] reads TOML through [`scenario::parse_with`]
//!    into a validated [`scenario::Scenario`] with the command-line
//!    overrides and run flags applied, or returns every problem at once with
//!    its location; it caps the time series.
//! 2. [`plan::PlanInit::build`] chooses the warm-up (`warmup = "auto"`: an
//!    MSER-5 pilot), solves the traffic equations
//!    ([`analysis::offered_load`]) and builds the [`model::Model`].
//! 3. [`plan::Plan::replicate`] runs independent replications in parallel
//!    ([`sweep::run_replications`]); each returns its raw observations
//!    ([`stats::RepObs`]).
//! 4. The [`plan::RunResult`] holds them reduced to estimates with 95%
//!    intervals ([`stats::summarize`]), the verdicts and the bottleneck
//!    ([`analysis::verdicts`]), the lints and the analytic model.
//! 5. [`report`] renders the table, `summary.json`, the CSV files, the
//!    charts and the reports from [`plan::RunResult::report`].
//!
//! ```
//! use stacksim::plan::{PlanInit, ScenarioInput};
//! let input = ScenarioInput {
//!     path: "doc.toml".into(),
//!     text: r#"
//!         [simulation]
//!         duration = "20s"
//!         warmup = "2s"
//!         replications = 2
//!         [workload]
//!         rate = 50
//!         [[tier]]
//!         name = "web"
//!         workers = 2
//!         service = "exp(10ms)"
//!     "#
//!     .into(),
//!     base_dir: None,
//! };
//! let init = PlanInit::new(&input, &[]).unwrap();
//! let plan = init.build(&|| {}).unwrap();
//! assert!((plan.loads()[0].utilization - 0.25).abs() < 1e-9);
//! let result = plan.replicate(&|| {});
//! let util = result.summary.pools[0].utilization;
//! assert!(util.mean > 0.15 && util.mean < 0.35);
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod calibrate;
pub mod dist;
pub mod engine;
pub mod model;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod sweep;
pub mod units;

/// The stacksim version, for provenance.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
