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
    assert_no_use(
        "calibrate",
        &["engine", "model", "sweep", "report", "plan", "analysis"],
    );
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

/// The report's submodules import one another in one direction: no two
/// reach each other, directly or through others.
#[test]
fn report_submodules_have_no_import_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources("report") {
        let rel = Path::new(&path).strip_prefix(&root).unwrap().to_path_buf();
        // `charts/latency.rs` belongs to `charts`; `sweep.rs` is `sweep`.
        let module = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "mod" {
            continue;
        }
        let in_charts = module == "charts";
        let entry = deps.entry(module.clone()).or_default();
        for (prefix, sibling_level) in [("crate::report::", true), ("super::", !in_charts)] {
            for (i, _) in text.match_indices(prefix) {
                let name: String = text[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                // A sibling module: `report/<name>.rs` or `report/<name>/`.
                // (Braced imports such as `super::{a, b}` name items, not
                // modules, in this tree; they are not followed.)
                let sibling = root.join(format!("{name}.rs")).exists() || root.join(&name).is_dir();
                if sibling_level && !name.is_empty() && name != module && sibling {
                    entry.insert(name);
                }
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        assert!(
            !stack.iter().any(|s| s == m),
            "report import cycle: {} -> {m}",
            stack.join(" -> ")
        );
        stack.push(m.to_string());
        for d in deps.get(m).into_iter().flatten() {
            visit(d, deps, stack, done);
        }
        stack.pop();
        done.insert(m.to_string());
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        visit(m, &deps, &mut Vec::new(), &mut done);
    }
    assert!(deps["sweep"].contains("charts"), "{deps:?}");
}
