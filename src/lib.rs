//! stacksim: a discrete-event capacity simulator for web infrastructure.
//!
//! A run goes through these stages, each its own type, data flowing one way:
//!
//! 1. [`scenario::parse`] reads TOML into a validated [`scenario::Scenario`],
//!    or returns every problem at once with its location.
//! 2. [`analysis::offered_load`] solves the traffic equations: offered
//!    utilization per pool, and stations that cannot reach a steady state.
//! 3. [`model::Model::build`] turns the scenario into stations and routes.
//! 4. [`sweep::run_replications`] runs independent replications in parallel;
//!    each returns its raw observations ([`stats::RepObs`]).
//! 5. [`stats::summarize`] reduces them to estimates with 95% intervals.
//! 6. [`analysis::verdicts`] names the bottleneck and unstable stations.
//! 7. [`report`] renders the table, `summary.json`, `summary.csv` and
//!    `timeseries.csv`.
//!
//! ```
//! use stacksim::{analysis, model::Model, scenario, stats, sweep};
//! let src = r#"
//!     [simulation]
//!     duration = "20s"
//!     warmup = "2s"
//!     replications = 2
//!     [workload]
//!     rate = 50
//!     [[tier]]
//!     name = "web"
//!     workers = 2
//!     service = "exp(10ms)"
//! "#;
//! let sc = scenario::parse(src, "doc.toml", None).unwrap();
//! let offered = analysis::offered_load(&sc);
//! assert!((offered[0].utilization - 0.25).abs() < 1e-9);
//! let model = Model::build(&sc);
//! let reps = sweep::run_replications(&model, sc.simulation.replications, &|| {});
//! let summary = stats::summarize(&reps);
//! let util = summary.pools[0].utilization;
//! assert!(util.mean > 0.15 && util.mean < 0.35);
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod dist;
pub mod engine;
pub mod model;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod sweep;
pub mod units;

/// The stacksim version, for provenance.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
