//! The one-way data flow of ../shared/STYLE.md, checked on the source.

use std::path::Path;

fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    assert!(!out.is_empty(), "no sources under src/{dir}");
    out
}

fn assert_no_use(dir: &str, forbidden: &[&str]) {
    for (path, text) in sources(dir) {
        for f in forbidden {
            assert!(
                !text.contains(&format!("crate::{f}")),
                "{path} uses crate::{f}"
            );
        }
    }
}

#[test]
fn modules_depend_one_way() {
    assert_no_use(
        "engine",
        &["scenario", "model", "stats", "report", "sweep", "analysis"],
    );
    assert_no_use(
        "scenario",
        &["engine", "model", "stats", "report", "sweep", "analysis"],
    );
    assert_no_use(
        "stats",
        &["engine", "model", "scenario", "report", "sweep", "analysis"],
    );
    assert_no_use("model", &["report", "sweep", "analysis"]);
    assert_no_use("sweep", &["report", "plan", "analysis"]);
    assert_no_use("report", &["engine", "model", "sweep", "plan"]);
    assert_no_use("analysis", &["report", "sweep", "plan", "engine", "model"]);
}

/// The binary is argument parsing, progress and exit codes: it reaches the
/// library through the run lifecycle, never the model or the replications.
#[test]
fn the_cli_runs_through_the_lifecycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = sources("cli");
    files.push((
        "src/main.rs".into(),
        std::fs::read_to_string(root.join("main.rs")).unwrap(),
    ));
    for (path, text) in files {
        for f in [
            "Model::build",
            "run_replications",
            "stacksim::sweep::run_points",
            "summarize(",
            "analysis::verdicts",
            "cap_series",
            "choose_warmup",
        ] {
            assert!(!text.contains(f), "{path} calls {f}: use stacksim::plan");
        }
    }
}

#[test]
fn only_report_writes_and_only_sweep_uses_rayon() {
    for dir in [
        "engine", "scenario", "stats", "model", "sweep", "analysis", "plan", "cli",
    ] {
        for (path, text) in sources(dir) {
            for w in [
                "fs::write",
                "File::create",
                "OpenOptions",
                "create_dir",
                "fs::rename",
                "remove_file",
            ] {
                assert!(!text.contains(w), "{path} writes files ({w})");
            }
        }
    }
    for dir in [
        "engine", "scenario", "stats", "model", "report", "analysis", "plan", "cli",
    ] {
        for (path, text) in sources(dir) {
            assert!(!text.contains("rayon"), "{path} uses rayon");
        }
    }
}
