//! `stacksim compare`: designs side by side, per component, with paired
//! intervals, a scenario diff, workload warnings and a report folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{assert_ok, root};

fn stacksim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args(args)
        .current_dir(cwd)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("the binary runs")
}

fn temp(name: &str) -> PathBuf {
    crate::support::temp_dir("compare", name)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The reference design against the improved one: the scenario diff,
/// capacity and bottleneck of each, components only one has, findings
/// fixed, and a report folder whose CSV holds every compared figure.
#[test]
fn the_reference_against_the_improved_design_says_where_they_differ() {
    let dir = temp("reference");
    let o = stacksim(
        &[
            "compare",
            "scenarios/secured-web-stack.toml",
            "scenarios/secured-web-stack-improved.toml",
            "--duration",
            "20s",
            "--warmup",
            "5s",
            "--replications",
            "3",
            "--out",
            dir.join("cmp").to_str().unwrap(),
        ],
        &root(),
    );
    assert_ok(&o);
    let t = text(&o);
    // The scenario diff comes first, keyed by tier name.
    let diff_at = t.find("What differs").expect("a scenario diff");
    assert!(t.find("Capacity:").unwrap() > diff_at, "{t}");
    assert!(t.contains("tier.lb.instances"), "{t}");
    assert!(
        t.contains("B saturates at 1,667 requests/s against A's 1,284 (+30%"),
        "{t}"
    );
    assert!(t.contains("The bottleneck moves"), "{t}");
    assert!(t.contains("drops tier server-firewall, host server"), "{t}");
    // Statistical and practical significance apart: web's utilization
    // moves by a steady +0.00 points, which excludes 0 but is not a change,
    // and is not listed among the differences.
    let listed = &t[t.find("Per component").expect("per-component list")..];
    let (listed, one_side) = listed
        .split_once("In one design only (not compared):")
        .expect("components one design lacks, apart");
    assert!(!listed.contains("tier web "), "{listed}");
    assert!(!listed.contains("+0.00 ± 0.00 *"), "{listed}");
    assert!(
        listed.contains("excluded 0 but changed by less than 1%"),
        "{listed}"
    );
    assert!(!listed.contains("absent"), "{listed}");
    assert!(one_side.contains("host db-server"), "{one_side}");
    assert!(
        t.contains("Every design ran 3 paired replications of 20s"),
        "{t}"
    );
    for f in [
        "compare.json",
        "compare.csv",
        "compare.md",
        "compare.html",
        "compare-latency-cdf.png",
        "compare-utilization.svg",
    ] {
        assert!(dir.join("cmp").join(f).is_file(), "{f} missing");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("cmp/compare.json")).unwrap()).unwrap();
    let p = &v["pairings"][0]["comparison"];
    let fixed: Vec<&str> = p["findings_fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for id in ["single-primary", "plaintext-hops", "co-located"] {
        assert!(
            fixed.iter().any(|f| f.starts_with(id)),
            "{id} not fixed: {fixed:?}"
        );
    }
    assert!(p["workload_warning"].is_null(), "same workload");
    let rows = p["rows"].as_array().unwrap();
    let row = |scope: &str, name: &str| {
        rows.iter()
            .find(|r| r["scope"] == scope && r["name"] == name)
            .unwrap_or_else(|| panic!("no {scope} {name}"))
    };
    assert_eq!(row("host", "server")["presence"], "only_baseline");
    assert_eq!(row("host", "db-server")["presence"], "only_variant");
    assert_eq!(row("role", "db primary")["presence"], "both");
    // Two balancers share the load: each is half as busy, significantly.
    let lb = &row("tier", "lb")["metrics"][0];
    assert_eq!(lb["metric"], "utilization");
    assert_eq!(lb["significant"], true);
    assert_eq!(lb["material"], true);
    let web = &row("tier", "web")["metrics"][0];
    assert_eq!(web["metric"], "utilization");
    assert_eq!(web["material"], false, "{web}");
    let ratio = lb["b"]["mean"].as_f64().unwrap() / lb["a"]["mean"].as_f64().unwrap();
    assert!((0.45..0.55).contains(&ratio), "lb utilization B/A {ratio}");
    // One CSV row per compared figure.
    let csv = std::fs::read_to_string(dir.join("cmp/compare.csv")).unwrap();
    let figures = p["end_to_end"].as_array().unwrap().len()
        + rows
            .iter()
            .map(|r| r["metrics"].as_array().unwrap().len())
            .sum::<usize>();
    assert_eq!(csv.lines().count(), 1 + figures);
    // The HTML renders code spans, never literal backticks.
    let html = std::fs::read_to_string(dir.join("cmp/compare.html")).unwrap();
    assert!(html.contains("<code>db</code>"), "code spans");
    assert!(!html.contains('`'), "a literal backtick in compare.html");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two M/M/1 queues at 50 requests/s, served in 10 ms and in 5 ms: the mean
/// response times are 20 ms and 6.67 ms, so the paired difference's
/// interval must hold -13.33 ms (or the run is a 1-in-20 miss: seeded, so
/// it is deterministic).
#[test]
fn the_paired_difference_of_two_queues_holds_the_exact_difference() {
    let dir = temp("mm1");
    let write = |name: &str, service: &str| {
        std::fs::write(
            dir.join(name),
            format!(
                "[simulation]\nduration = \"200s\"\nwarmup = \"20s\"\nreplications = 10\n[workload]\nrate = 50\n[[tier]]\nname = \"q\"\nservice = \"exp({service})\"\n"
            ),
        )
        .unwrap();
    };
    write("slow.toml", "10ms");
    write("fast.toml", "5ms");
    let o = stacksim(&["compare", "slow.toml", "fast.toml", "--json"], &dir);
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["pairings"][0]["comparison"];
    let mean = p["end_to_end"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["metric"] == "mean latency")
        .unwrap();
    let exact = 1000.0 / 150.0 - 1000.0 / 50.0;
    let d = mean["difference"]["mean"].as_f64().unwrap();
    let hw = mean["difference"]["half_width"].as_f64().unwrap();
    assert!((d - exact).abs() <= hw, "B - A = {d} ± {hw}, exact {exact}");
    // Pairing narrows the interval: the difference's is narrower than
    // A's own (common random numbers correlate the two).
    assert!(hw < mean["a"]["half_width"].as_f64().unwrap(), "{mean}");
    assert_eq!(mean["significant"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Designs offered different loads are warned about; a variant's own
/// simulation settings are replaced by the baseline's, and the settings
/// line says so; `compare A B C` compares each with A.
#[test]
fn different_workloads_are_warned_and_three_designs_pair_with_the_first() {
    let dir = temp("workloads");
    let write = |name: &str, rate: u32, duration: &str| {
        std::fs::write(
            dir.join(name),
            format!(
                "[simulation]\nduration = \"{duration}\"\nwarmup = \"2s\"\nreplications = 3\n[workload]\nrate = {rate}\n[[tier]]\nname = \"q\"\nservice = \"exp(1ms)\"\n"
            ),
        )
        .unwrap();
    };
    write("a.toml", 600, "20s");
    write("b.toml", 900, "20s");
    write("c.toml", 600, "40s");
    let o = stacksim(&["compare", "a.toml", "b.toml", "c.toml"], &dir);
    assert_ok(&o);
    let t = text(&o);
    assert!(t.contains("== B (b.toml) against A (a.toml) =="), "{t}");
    assert!(t.contains("== C (c.toml) against A (a.toml) =="), "{t}");
    assert_eq!(
        t.matches("WARNING: the two workloads differ").count(),
        1,
        "B only: {t}"
    );
    // The measured offered rates (Poisson: near 600 and 900, not exact).
    let at = t.find("(A is offered ").expect("the offered rates");
    let rates: Vec<f64> = t[at..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| s.parse().unwrap())
        .collect();
    assert!((570.0..630.0).contains(&rates[0]), "{rates:?}");
    assert!((860.0..940.0).contains(&rates[1]), "{rates:?}");
    assert!(
        t.contains("C's own [simulation] settings differ and were replaced by A's"),
        "{t}"
    );
    assert!(t.contains("workload.rate"), "the diff names the key: {t}");
    std::fs::remove_dir_all(&dir).unwrap();
}
