//! Streaming statistics and output analysis: pure numbers, no simulation.
//!
//! - [`Estimate`]: a mean across replications with its Student-t interval.
//! - [`LatencyHistogram`]: HDR histogram of durations in nanoseconds.
//! - [`Moments`]: streaming mean and variance.
//! - [`obs`]: what one replication observed.
//! - [`summary`]: observations of R replications reduced to estimates.

pub mod ci;
pub mod hist;
pub mod moments;
pub mod mser;
pub mod obs;
pub mod paired;
pub mod summary;

pub use ci::{Estimate, erlang_c, t_quantile_975};
pub use hist::LatencyHistogram;
pub use moments::Moments;
pub use obs::*;
pub use paired::Difference;
pub use summary::*;
