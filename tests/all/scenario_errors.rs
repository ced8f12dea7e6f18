//! Bad input: every problem at once, located, with a hint.

use stacksim::scenario::{self, ScenarioError};

fn errors(src: &str) -> ScenarioError {
    match scenario::parse(src, "bad.toml", Some(std::path::Path::new("/nonexistent"))) {
        Ok(_) => panic!("should be rejected:\n{src}"),
        Err(e) => e,
    }
}

const EVERYTHING_WRONG: &str = r#"name = "bad"
[simulation]
duration = "-5s"
warmup = 30
replicas = 3
[workload]
rate = 0
classes = [
  { name = "read", share = 0.7 },
  { name = "write", share = 0.2, route = ["web", "dbx"] },
]
[[tier]]
name = "web"
instances = 0
workers = 0
wokers = 3
service = "lognormal(mean = 1ms)"
balance = "fastest"
hold = "yes"
[[tier]]
name = "db"
kind = "database"
replicas = { count = 1, service = "empirical(file = \"missing.csv\", unit = \"ms\")" }
"#;

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors(EVERYTHING_WRONG);
    let keys: Vec<&str> = e.diagnostics.iter().map(|d| d.key.as_str()).collect();
    let expected = [
        "simulation.duration",       // negative duration
        "simulation.warmup",         // no unit
        "simulation.replicas",       // unknown key
        "workload.rate",             // non-positive rate
        "workload.classes",          // shares sum to 0.9
        "workload.classes[1].route", // unknown tier
        "tier.web.instances",        // zero instances
        "tier.web.workers",          // zero workers
        "tier.web.wokers",           // typo
        "tier.web.service",          // malformed distribution
        "tier.web.balance",          // unknown algorithm
        "tier.web.hold",             // wrong type
        "tier.db",                   // no primary
        "tier.db.replicas.service",  // unreadable CSV
    ];
    for k in expected {
        assert!(keys.contains(&k), "no diagnostic for {k}; got {keys:?}");
    }
    let text = e.render(false);
    assert!(
        text.contains(&format!("{} problems", e.diagnostics.len())),
        "{text}"
    );
    for d in &e.diagnostics {
        assert!(
            d.hint.is_some() || d.message.len() > 10,
            "{d:?} says too little"
        );
        let (line, col) = e.line_col(d.span.start);
        assert!(
            text.contains(&format!("bad.toml:{line}:{col}")),
            "no location for {d:?}\n{text}"
        );
    }
    assert!(text.contains("did you mean `workers`"), "{text}");
    assert!(text.contains("did you mean `db`"), "{text}");
    assert!(text.contains("sum to 0.9"), "{text}");
    assert!(text.contains("missing.csv"), "{text}");
    assert!(text.contains("^"), "carets under the values: {text}");
}

/// An unknown `kind` is one problem among the tier's others, not a mask
/// over them: the rest of the tier is read as the shape its table has (a
/// database when it has `primary` or `replicas`), and no route naming the
/// tier is blamed for it.
#[test]
fn an_unknown_kind_does_not_hide_the_tiers_other_problems() {
    let e = errors(
        r#"
[workload]
rate = 10
classes = [ { name = "read", share = 1, route = ["web", "db"] } ]
[[tier]]
name = "web"
kind = "nginxx"
workers = 0
service = "exp(oops)"
queue = -3
[[tier]]
name = "db"
kind = "mysql"
primary = { workers = 0, service = "exp(2ms)" }
replicas = { count = -1, service = "exp(2ms)" }
"#,
    );
    let keys: Vec<&str> = e.diagnostics.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "tier.web.kind",
            "tier.web.workers",
            "tier.web.service",
            "tier.web.queue",
            "tier.db.kind",
            "tier.db.primary.workers",
            "tier.db.replicas.count",
        ],
        "{}",
        e.render(false)
    );
}

#[test]
fn each_problem_alone_is_caught() {
    let base = r#"[workload]
rate = 10
[[tier]]
name = "web"
service = "exp(1ms)"
"#;
    assert!(scenario::parse(base, "ok.toml", None).is_ok());
    let cases = [
        (base.replace("rate = 10", "rate = -1"), "must be above zero"),
        (
            base.replace("rate = 10", "rate = \"fast\""),
            "expected a number",
        ),
        (base.replace("exp(1ms)", "exp(1)"), "no unit"),
        (
            base.replace("exp(1ms)", "gauss(1ms)"),
            "unknown distribution",
        ),
        (
            base.replace("name = \"web\"", "name = \"web\"\nqueue = -3"),
            "between 0",
        ),
        (
            base.replace("name = \"web\"", "name = \"web\"\nkind = \"cache\""),
            "unknown value `cache`",
        ),
        (
            format!("{base}[[tier]]\nname = \"web\"\nservice = \"exp(1ms)\"\n"),
            "defined twice",
        ),
        (base.replace("[workload]\nrate = 10\n", ""), "no [workload]"),
        (
            base.replace("rate = 10", "rate = 10\nusers = 5"),
            "only one of",
        ),
        (base.replace("rate = 10", "users = 5"), "needs `think`"),
        (base.replace("exp(1ms)", "uniform(3ms, 1ms)"), "min <= max"),
        (
            format!("{base}[simulation]\nsample_every = \"0s\"\n"),
            "longer than zero",
        ),
        (
            "tier = 3\n[workload]\nrate = 1\n".to_string(),
            "expected an array",
        ),
        ("[workload\n".to_string(), ""),
    ];
    for (src, needle) in cases {
        let e = errors(&src);
        let text = e.render(false);
        assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
        assert!(text.contains("bad.toml:"), "{text}");
    }
}

#[test]
fn empirical_csv_is_read_relative_to_the_scenario() {
    let dir = std::env::temp_dir().join(format!("stacksim-emp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("samples.csv"), "latency_ms\n1\n2\n3\n").unwrap();
    let src = r#"[workload]
rate = 10
[[tier]]
name = "web"
service = "empirical(file = \"samples.csv\", unit = \"ms\")"
"#;
    let s = scenario::parse(src, "e.toml", Some(&dir)).unwrap();
    assert_eq!(s.tiers[0].pools[0].service[0].mean(), 2e6);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nonsensical_fault_settings_are_located() {
    let src = r#"[workload]
rate = 10
timeout = "-1s"
retry = { attempts = 0, backoff = "2s", max_backoff = "1s" }
[[tier]]
name = "lb"
kind = "load-balancer"
service = "exp(100us)"
health_check = { interval = "1s", timeout = "2s" }
[[tier]]
name = "web"
instances = 2
service = "exp(1ms)"
[[tier]]
name = "app"
service = "exp(1ms)"
failures = { time_to_failure = "exp(1h)" }
[[tier]]
name = "db"
kind = "database"
primary = { workers = 2, service = "exp(1ms)" }
[[tier]]
name = "db2"
kind = "database"
failover = { detection = "10s", promotion = "20s" }
primary = { workers = 2, service = "exp(1ms)" }
[[fault]]
at = "-5s"
duration = "10s"
tier = "web"
[[fault]]
at = "1m"
duration = "10s"
tier = "web"
instance = 2
[[fault]]
at = "1m"
duration = "10s"
tier = "cache"
[[fault]]
at = "1m"
duration = "10s"
tier = "web"
kind = "slow"
[[fault]]
at = "1m"
duration = "10s"
tier = "db"
role = "replicas"
"#;
    let e = errors(src);
    let text = e.render(false);
    for needle in [
        "is negative",                               // workload.timeout and fault[0].at
        "must be at least 1, found 0",               // retry attempts 0
        "must be at least `backoff`",                // max_backoff < backoff
        "timeout must be shorter than its interval", // health check
        "`failures` needs `time_to_repair`",         // incomplete failures
        "failover needs a replica to promote",       // nothing to promote
        "has no instance 2",                         // unknown instance
        "no tier named `cache`",                     // unknown tier
        "a slowdown needs `factor`",                 // slow without factor
        "has no replicas to fail",                   // role without instances
    ] {
        assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
    }
    for d in &e.diagnostics {
        let (line, col) = e.line_col(d.span.start);
        assert!(text.contains(&format!("bad.toml:{line}:{col}")), "{d:?}");
    }
}

/// `--set` reaches every array of tables: hosts and classes by name,
/// faults by index, database roles by their table; a wrong name is located
/// to the flag and names what exists.
#[test]
fn overrides_reach_hosts_faults_classes_and_roles() {
    use stacksim::scenario::Override;
    let read = |rel: &str| {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
    };
    let with = |src: &str, sets: &[&str]| {
        let ovs: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
        scenario::parse_with(src, "s.toml", None, &ovs)
    };
    let reference = read("scenarios/secured-web-stack.toml");
    let s = with(
        &reference,
        &["host.server.cores=16", "tier.db.primary.workers=8"],
    )
    .unwrap();
    assert_eq!(s.hosts[0].cores, 16);
    let db = s.tiers.iter().find(|t| t.name == "db").unwrap();
    assert_eq!(db.pools[0].workers, 8);
    // By index too.
    assert_eq!(
        with(&reference, &["host.0.cores=4"]).unwrap().hosts[0].cores,
        4
    );
    let crash = read("scenarios/examples/server-crash.toml");
    let s = with(&crash, &["fault.0.at=90s"]).unwrap();
    assert_eq!(s.faults[0].at_ns, 90_000_000_000);
    let heavy = read("scenarios/write-heavy.toml");
    let s = with(
        &heavy,
        &[
            "workload.classes.write.share=0.3",
            "workload.classes.read.share=0.7",
        ],
    )
    .unwrap();
    let share = |n: &str| s.classes.iter().find(|c| c.name == n).unwrap().share;
    assert_eq!((share("read"), share("write")), (0.7, 0.3));
    // A name that is not there: located to the flag, with what exists.
    let e = with(&reference, &["host.sever.cores=16"]).unwrap_err();
    let text = e.render(false);
    assert!(text.contains("no host named `sever`"), "{text}");
    assert!(text.contains("did you mean `server`?"), "{text}");
    assert!(text.contains("--set host.sever.cores=16"), "{text}");
    let e = with(&crash, &["fault.3.at=90s"]).unwrap_err();
    let text = e.render(false);
    assert!(text.contains("no fault named `3`"), "{text}");
    assert!(text.contains("faults are named by index: 0 to 0"), "{text}");
}
