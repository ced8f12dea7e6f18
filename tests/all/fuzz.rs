//! No panic on any input: mutated scenario files are either rejected with
//! diagnostics or run.

use proptest::prelude::*;
use stacksim::model::Model;
use stacksim::scenario::{self, REFERENCE_TOML};
use stacksim::sweep::run_replications;

const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "\"\"",
    "\"exp(\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    "\n",
    "\"5\"",
    "nan",
    "true",
    "\"geometric(mean = 0)\"",
    "[[tier]]",
    "\"same\"",
    "99999999999999999999",
    "\"x\"",
    ",",
    "\"0s\"",
];

fn mutate(src: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for &(op, pos, tok) in ops {
        if s.is_empty() {
            break;
        }
        let p = pos % s.len();
        match op % 3 {
            0 => {
                let end = (p + 1 + tok % 12).min(s.len());
                s.drain(p..end);
            }
            1 => {
                let t: Vec<char> = TOKENS[tok % TOKENS.len()].chars().collect();
                s.splice(p..p, t);
            }
            _ => {
                // Replace a number-ish character by another digit or sign.
                s[p] = ['0', '9', '-', '.', 'e', '"'][tok % 6];
            }
        }
    }
    s.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn mutated_scenarios_never_panic(ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6)) {
        let src = mutate(REFERENCE_TOML, &ops);
        match scenario::parse(&src, "fuzz.toml", None) {
            Ok(mut s) => {
                // Whatever was accepted must run: keep it tiny.
                s.simulation.duration_ns = 200_000_000;
                s.simulation.warmup = stacksim::scenario::Warmup::Fixed(10_000_000);
                s.simulation.drain_ns = 100_000_000;
                s.simulation.replications = 1;
                s.simulation.sample_every_ns = s.simulation.sample_every_ns.max(10_000_000);
                if let scenario::Arrivals::Poisson { rate_rps } = &mut s.arrivals {
                    *rate_rps = rate_rps.min(5000.0);
                }
                let model = Model::build(&s);
                let reps = run_replications(&model, 0, 1, &|| {});
                let c = reps[0].conservation;
                prop_assert_eq!(c.arrived, c.completed + c.failed + c.in_flight);
                // The analysis of whatever ran: lints, the analytic model
                // (pools and machines), verdicts and the bottleneck.
                let summary = stacksim::stats::summarize(&reps);
                let loads = stacksim::analysis::offered_load(&s);
                let _ = stacksim::analysis::lints::lint(&s);
                let _ = stacksim::analysis::queueing::analytic_model(&s);
                let _ = stacksim::analysis::verdicts(&s, &loads, &summary);
            }
            Err(e) => {
                prop_assert!(!e.diagnostics.is_empty());
                let _ = e.render(false);
            }
        }
    }
}
