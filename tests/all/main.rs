//! The integration suite: one binary, a module per behaviour.

mod architecture;
mod charts;
mod cli;
mod conservation;
mod determinism;
mod failures;
mod fuzz;
mod hosts;
mod lifecycle;
mod review;
mod scenario_errors;
mod support;
mod sweep;
mod theory;
mod workload;
