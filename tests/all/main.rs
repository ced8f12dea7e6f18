//! The integration suite: one binary, a module per behaviour.

mod architecture;
/// The benchmark's calendar queue, tested against a list (it is not part of
/// the engine, which uses a heap).
#[path = "../../benches/calendar.rs"]
#[allow(dead_code)]
mod calendar;
mod calendar_queue;
mod calibrate;
mod calibrate_joined;
mod calibrate_multi;
mod calibrate_round_trip;
mod charts;
mod cli;
mod client;
mod compare;
mod conservation;
mod cpu;
mod deploy;
mod determinism;
mod docs;
mod failures;
mod fuzz;
mod golden;
mod hostile_logs;
mod hosts;
mod lifecycle;
mod next_question;
mod nothing_lost;
mod progress;
mod review;
mod scenario_errors;

mod support;
mod sweep;
mod theory;
mod warnings;
mod workload;
mod write_scaling;
