//! Speed of the kernel and of whole replications.
//!
//! `cargo bench` prints, per benchmark, the time and the throughput in items
//! per second: events for the queue, simulated requests for replications.

use std::path::Path;

use divan::counter::ItemsCount;
use stacksim::engine::EventQueue;

/// The calendar queue lives with its benchmark: the engine does not use it.
#[allow(dead_code)]
mod calendar;
use calendar::CalendarQueue;
use stacksim::model::{Model, run_replication};
use stacksim::scenario;

fn main() {
    divan::main();
}

/// A xorshift stream of exponential-ish gaps (mean about 1 ms): the hold
/// model's increments, fixed so every queue sees the same sequence.
fn gaps() -> impl FnMut() -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        (-(1.0 - u).ln() * 1e6) as u64
    }
}

/// What the hold model needs of a queue.
trait Hold {
    fn schedule(&mut self, time: u64, event: u32);
    fn pop(&mut self) -> Option<(u64, u32)>;
}

impl Hold for EventQueue<u32> {
    fn schedule(&mut self, time: u64, event: u32) {
        EventQueue::schedule(self, time, event);
    }
    fn pop(&mut self) -> Option<(u64, u32)> {
        EventQueue::pop(self)
    }
}

impl Hold for CalendarQueue<u32> {
    fn schedule(&mut self, time: u64, event: u32) {
        CalendarQueue::schedule(self, time, event);
    }
    fn pop(&mut self) -> Option<(u64, u32)> {
        CalendarQueue::pop(self)
    }
}

/// The hold model: pop the earliest event, schedule it again a random gap
/// later, at a steady population of `n` pending events.
fn hold(bencher: divan::Bencher, n: usize, mut q: impl Hold) {
    let mut next = gaps();
    for i in 0..n {
        q.schedule(next(), i as u32);
    }
    bencher.counter(ItemsCount::new(n)).bench_local(|| {
        for _ in 0..n {
            if let Some((t, e)) = q.pop() {
                q.schedule(t + next(), e);
            }
        }
    });
}

/// The engine's event queue (lazy-pop binary heap) in the hold model.
#[divan::bench(args = [16, 1_000, 100_000, 1_000_000], sample_count = 30)]
fn event_queue_hold(bencher: divan::Bencher, n: usize) {
    hold(bencher, n, EventQueue::<u32>::with_capacity(n));
}

/// The same hold model on a calendar queue, for comparison at large counts.
#[divan::bench(args = [16, 1_000, 100_000, 1_000_000], sample_count = 30)]
fn calendar_queue_hold(bencher: divan::Bencher, n: usize) {
    hold(bencher, n, CalendarQueue::<u32>::new());
}

fn load(rel: &str, seconds: u64) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let (mut s, _) = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    s.simulation.duration_ns = seconds * 1_000_000_000;
    s.simulation.warmup = stacksim::scenario::Warmup::Fixed(1_000_000_000);
    s.simulation.drain_ns = s.simulation.duration_ns;
    Model::build(&s)
}

/// One replication of the speed reference model (800 requests/s), 60 s
/// simulated: about 48,800 requests with full statistics.
#[divan::bench(sample_count = 20)]
fn replication_bench_web(bencher: divan::Bencher) {
    let model = load("scenarios/bench-web.toml", 60);
    let requests = run_replication(&model, 0).conservation.arrived as usize;
    bencher
        .counter(ItemsCount::new(requests))
        .bench_local(|| run_replication(&model, 0));
}

/// One replication of the reference design (600 requests/s, holding app tier).
#[divan::bench(sample_count = 20)]
fn replication_secured_web_stack(bencher: divan::Bencher) {
    let model = load("scenarios/secured-web-stack.toml", 60);
    let requests = run_replication(&model, 0).conservation.arrived as usize;
    bencher
        .counter(ItemsCount::new(requests))
        .bench_local(|| run_replication(&model, 0));
}
