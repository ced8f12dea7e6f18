//! Golden files: every shipped scenario, run briefly by the binary, gives
//! byte for byte the outputs kept in `tests/golden/<name>/`: the terminal
//! table, `summary.csv`, `timeseries.csv`, `faults.csv` and `summary.json`
//! (without the command line, which names this machine's paths). A change
//! that claims "outputs unchanged" is proved by this test passing; a change
//! meant to alter outputs regenerates them with
//! `STACKSIM_BLESS=1 cargo test golden`, and the diff of `tests/golden/`
//! shows exactly what changed. On a mismatch the new outputs are left in
//! `target/golden-actual/` to compare.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{SHIPPED_DIRS, root};

/// Short runs: enough for every mechanism to act, quick for CI.
const SETTINGS: [&str; 6] = ["--duration", "20s", "--warmup", "2s", "--replications", "3"];

/// Every shipped scenario, by path relative to the repository root.
fn shipped() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in SHIPPED_DIRS {
        for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                v.push(p.strip_prefix(root()).unwrap().to_path_buf());
            }
        }
    }
    v.sort();
    v
}

/// `summary.json` without what names this machine: the command line (the
/// binary's and output folder's paths) and absolute data-file paths.
fn normalized_summary(text: &str) -> String {
    let mut j: serde_json::Value = serde_json::from_str(text).unwrap();
    if let Some(p) = j.get_mut("provenance").and_then(|p| p.as_object_mut()) {
        p.remove("command_line");
    }
    let root = root().display().to_string();
    let out = serde_json::to_string_pretty(&j).unwrap() + "\n";
    out.replace(&root, "<repository>")
}

/// The outputs of one scenario, by golden file name.
fn outputs(rel: &Path, out: &Path) -> Vec<(&'static str, String)> {
    let o = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .current_dir(root())
        .env_remove("RAYON_NUM_THREADS")
        .env("NO_COLOR", "1")
        .arg("run")
        .arg(rel)
        .args(SETTINGS)
        .args(["--no-charts", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        rel.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    vec![
        ("table.txt", String::from_utf8(o.stdout).unwrap()),
        ("summary.csv", read("summary.csv")),
        ("timeseries.csv", read("timeseries.csv")),
        ("faults.csv", read("faults.csv")),
        ("summary.json", normalized_summary(&read("summary.json"))),
    ]
}

#[test]
fn every_shipped_scenario_gives_its_golden_outputs() {
    let bless = std::env::var_os("STACKSIM_BLESS").is_some();
    let tmp = super::support::temp_dir("golden", "runs");
    let golden = root().join("tests/golden");
    let actual = root().join("target/golden-actual");
    let _ = std::fs::remove_dir_all(&actual);
    let mut differ = Vec::new();
    let scenarios = shipped();
    assert!(
        scenarios.len() >= 20,
        "the shipped scenarios were not found"
    );
    for rel in &scenarios {
        let name = rel.file_stem().unwrap().to_string_lossy().into_owned();
        for (file, text) in outputs(rel, &tmp.join(&name)) {
            let path = golden.join(&name).join(file);
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if want != text {
                let keep = actual.join(&name).join(file);
                std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
                std::fs::write(&keep, &text).unwrap();
                differ.push(format!("{name}/{file}"));
            }
        }
    }
    std::fs::remove_dir_all(&tmp).unwrap();
    assert!(
        differ.is_empty(),
        "outputs differ from tests/golden for: {differ:?}\nthe new ones are in target/golden-actual/; if the change is intended, regenerate with STACKSIM_BLESS=1 cargo test golden and review the diff of tests/golden/"
    );
    // Every golden folder belongs to a shipped scenario.
    for e in std::fs::read_dir(&golden).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(
            scenarios
                .iter()
                .any(|p| p.file_stem().is_some_and(|s| s.to_string_lossy() == n)),
            "tests/golden/{n} has no scenario; remove it"
        );
    }
}
