//! The discrete-event kernel: a clock, an event queue ordered by
//! `(time, sequence)`, and reproducible random streams. It knows nothing of
//! web stacks; the model puts its own event type in.

pub mod queue;
pub mod rng;

pub use queue::EventQueue;
pub use rng::{SimRng, stream, stream_id};
