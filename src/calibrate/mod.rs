//! The second way in: a scenario from a real stack's logs and CPU counters.
//!
//! 1. [`observe::observe`] streams HAProxy, Nginx and slow-query logs once
//!    into windows (moments and HDR histograms; memory flat in log size).
//! 2. [`build::calibrate`] turns them into a [`Calibration`]: the arrival
//!    rate per window and its burstiness, the class mix, each tier's own time
//!    per class (from nested timers), a fitted or empirical distribution for
//!    each ([`fit`]), CPU per request and background CPU per component from
//!    the utilization law ([`regress`]), and every value a user must check.
//! 3. [`emit::scenario_toml`] writes it as a runnable scenario whose every
//!    number says where it came from; the report is `report`'s.
//!
//! May use scenario, dist, stats, units and csv; never the engine, the model,
//! sweeps or report (../shared/STYLE.md).

pub mod build;
pub mod classes;
pub mod config;
pub mod cpu;
pub mod emit;
pub mod fit;
pub mod format;
pub mod from_traces;
pub mod haproxy;
pub mod log_spans;
pub mod machines;
pub mod nginx;
pub mod observe;
pub mod pauses;
pub mod pglog;
pub mod regress;
pub mod role;
pub mod slowlog;
pub mod source;
pub mod time;
pub mod traces;
pub mod validation;

use std::fmt;
use std::path::PathBuf;

pub use build::{CalibrateInput, Calibration, calibrate};
pub use classes::ClassRule;

/// What can stop a calibration.
#[derive(Debug)]
#[non_exhaustive]
pub enum CalibrateError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
    /// A format string given on the command line is wrong.
    Format {
        /// The flag that gave it.
        flag: String,
        /// What is wrong.
        message: String,
    },
    /// The input cannot make a scenario (no lines matched, a single
    /// window, logs that do not overlap in time, ...).
    Input {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
}

impl fmt::Display for CalibrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalibrateError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            CalibrateError::Format { flag, message } => write!(f, "{flag}: {message}"),
            CalibrateError::Input { message, hint } => write!(f, "{message}\n  hint: {hint}"),
        }
    }
}

impl std::error::Error for CalibrateError {}
