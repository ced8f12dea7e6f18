//! No panic on any input: mutated scenario files are either rejected with
//! diagnostics or run, and a mutant that is accepted runs, as written, in
//! bounded memory and time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    // Sizes and rates that are legal but large, and intervals at the floor.
    "100000",
    "1000000",
    "\"1ms\"",
    "\"1us\"",
];

fn mutate(src: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for &(op, pos, tok) in ops {
        if s.is_empty() {
            break;
        }
        let p = pos % s.len();
        match op % 4 {
            0 => {
                let end = (p + 1 + tok % 12).min(s.len());
                s.drain(p..end);
            }
            1 => {
                let t: Vec<char> = TOKENS[tok % TOKENS.len()].chars().collect();
                s.splice(p..p, t);
            }
            2 => {
                // Replace a number-ish character by another digit or sign.
                s[p] = ['0', '9', '-', '.', 'e', '"'][tok % 6];
            }
            _ => {
                // Replace the value of the `key = value` line at `p` by a
                // token: legal syntax, values at and past their limits.
                let start = s[..p].iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
                let end = s[p..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(s.len(), |i| p + i);
                if let Some(eq) = s[start..end].iter().position(|&c| c == '=') {
                    let t: Vec<char> = format!(" {}", TOKENS[tok % TOKENS.len()]).chars().collect();
                    s.splice(start + eq + 1..end, t);
                }
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

/// How many mutants the memory-limited test runs: `PROPTEST_CASES` when set
/// (to run many more by hand), else 100 (each is a process, about 30 ms).
fn limited_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// The address-space limit a mutant runs under (1.5 GiB of virtual memory;
/// resident use stays well under 1 GiB at this limit).
const MEMORY_LIMIT_KIB: u64 = 1_500_000;
/// A mutant that has not finished by then counts as hung.
const TIME_LIMIT: Duration = Duration::from_secs(60);

proptest! {
    #![proptest_config(ProptestConfig {
        cases: limited_cases(),
        max_global_rejects: 100 * limited_cases(),
        ..ProptestConfig::default()
    })]
    /// The binary runs each accepted mutant as written (rates, sizes and
    /// intervals included; only the run is kept short) under a memory limit:
    /// it finishes, or refuses with exit 2, and never aborts on allocation.
    #[test]
    fn accepted_mutants_run_as_written_under_a_memory_limit(ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6)) {
        let src = mutate(REFERENCE_TOML, &ops);
        prop_assume!(scenario::parse(&src, "fuzz.toml", None).is_ok());
        let dir = std::env::temp_dir().join(format!(
            "stacksim-fuzz-{}-{:016x}",
            std::process::id(),
            fingerprint(&src)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.toml"), &src).unwrap();
        let script = format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec '{}' run m.toml --duration 1s --warmup 0s --replications 1 --no-charts --quiet --out o",
            env!("CARGO_BIN_EXE_stacksim")
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .current_dir(&dir)
            .env("RAYON_NUM_THREADS", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + TIME_LIMIT;
        let mut hung = false;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                hung = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let _ = std::fs::remove_dir_all(&dir);
        prop_assert!(!hung, "still running after {TIME_LIMIT:?}:\n{src}");
        prop_assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "exit {:?} under a {MEMORY_LIMIT_KIB} KiB limit:\n{err}\n{src}",
            o.status
        );
        if o.status.code() == Some(2) {
            prop_assert!(err.contains("error"), "exit 2 with no error:\n{err}");
        }
    }
}

/// A stable name for a mutant's folder (FNV-1a of its text).
fn fingerprint(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
