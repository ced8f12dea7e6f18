//! Progress as a user at a terminal sees it: every simulating command draws
//! a bar on stderr from its start (at 0 done) when stderr is a terminal, and
//! none with `--quiet` or when stderr is a pipe. The terminal is a real
//! pseudo-terminal from `script` (util-linux, in every Debian install).

use std::path::Path;
use std::process::Command;

use crate::support::{root, temp_dir};

/// The bar's glyphs (indicatif's default fill and empty cells).
const BAR: [char; 2] = ['█', '░'];

/// Runs the binary with `args` under a pseudo-terminal; everything it wrote
/// (stdout and stderr share the terminal).
fn at_terminal(args: &[&str], cwd: &Path) -> String {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_stacksim"))
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let out = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &line.join(" "), "/dev/null"])
        .current_dir(cwd)
        .env("RAYON_NUM_THREADS", "2")
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .output()
        .expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed under a terminal:\n{text}"
    );
    text
}

/// The same command with stderr a pipe: its stderr.
fn piped(args: &[&str], cwd: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(cwd)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?} failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn has_bar(text: &str) -> bool {
    text.chars().any(|c| BAR.contains(&c))
}

#[test]
fn every_simulating_command_shows_progress_from_its_start_at_a_terminal_only() {
    let dir = temp_dir("progress", "commands");
    let out = |n: &str| dir.join(n).display().to_string();
    let (run_out, sweep_out) = (out("run"), out("sweep"));
    let mm1 = "scenarios/validation/mm1.toml";
    let short = ["--duration", "5s", "--warmup", "1s", "--replications", "3"];
    let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(tail.iter().map(|s| s.to_string()))
            .collect()
    };
    // Each command and what its bar says when it starts (0 done).
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            with(&["run", mm1, "--out", &run_out], &short),
            "0/3 replications",
        ),
        (
            with(
                &[
                    "run",
                    mm1,
                    "--out",
                    &run_out,
                    "--duration",
                    "60s",
                    "--warmup",
                    "auto",
                ],
                &["--replications", "3"],
            ),
            "0/3 warm-up pilot replications",
        ),
        (
            with(
                &[
                    "sweep",
                    mm1,
                    "--vary",
                    "workload.rate=20,40",
                    "--out",
                    &sweep_out,
                ],
                &short,
            ),
            "0/6 replications",
        ),
        (
            with(
                &["capacity", mm1, "--slo", "p99<100ms", "--max-probes", "2"],
                &short,
            ),
            "0/3 replications of probe 1 at 70.0 requests/s",
        ),
        (with(&["compare", mm1, mm1], &short), "0/6 replications"),
        (
            with(&["review", mm1, "--simulate"], &short),
            "0/3 replications",
        ),
        (with(&["perf", mm1], &short), "0/3 replications on one core"),
    ];
    for (args, start) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let seen = at_terminal(&args, &root());
        assert!(
            has_bar(&seen),
            "{args:?}: no progress bar at a terminal:\n{seen}"
        );
        assert!(
            seen.contains(start),
            "{args:?}: the bar was not drawn at its start ({start:?}):\n{seen}"
        );
        let mut quiet = args.clone();
        quiet.push("--quiet");
        let seen = at_terminal(&quiet, &root());
        assert!(!has_bar(&seen), "{quiet:?}: a bar despite --quiet:\n{seen}");
        let stderr = piped(&args, &root());
        assert!(!has_bar(&stderr), "{args:?}: a bar on a pipe:\n{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
