//! Logs and traces of the same requests, joined by trace id
//! (tests/data/rig-joined, made by `TRACEPARENT=1 rig/multi.sh`): the load
//! generator sent each request a `traceparent`, HAProxy captured it, Nginx
//! logged it, the app's OpenTelemetry SDK continued the trace, and PyMySQL's
//! sqlcommenter wrote it into each statement, which MariaDB's slow log
//! kept.

use std::path::{Path, PathBuf};

use crate::support::stacksim;
use std::process::Output;

fn joined(f: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rig-joined")
        .join(f)
        .display()
        .to_string()
}

/// The end of the 400 requests/s level (Unix seconds, from ladder.txt).
const END_OF_400: &str = "1796636551";

fn temp(name: &str) -> PathBuf {
    crate::support::temp_dir("joined", name)
}

fn calibrate(out: &Path) -> Output {
    let mut args: Vec<String> = vec!["calibrate".into()];
    for (flag, file) in [
        ("--otlp", "traces.jsonl.gz"),
        ("--haproxy", "haproxy.log.gz"),
        ("--nginx", "web1-access.log.gz"),
        ("--nginx", "web2-access.log.gz"),
        ("--mysql-slow", "slow.log.gz"),
        ("--cpu", "front.csv"),
        ("--cpu", "back.csv"),
        ("--app-config", "gunicorn.conf.py"),
    ] {
        args.push(flag.into());
        args.push(joined(file));
    }
    for a in ["--until", END_OF_400, "--no-report", "--out"] {
        args.push(a.into());
    }
    args.push(out.display().to_string());
    stacksim(&args)
}

/// The mean `Query_time` (ms) of the slow log's SELECTs that carry a trace
/// context and started before the end of the 400 level, read here
/// independently of the calibrator's parser.
fn traced_select_mean_ms() -> f64 {
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(joined("slow.log.gz")).unwrap()),
        &mut text,
    )
    .unwrap();
    let until: i64 = END_OF_400.parse().unwrap();
    let (mut query, mut at) = (None, 0i64);
    let (mut sum, mut n) = (0.0, 0u32);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# Query_time: ") {
            query = rest
                .split_whitespace()
                .next()
                .and_then(|q| q.parse::<f64>().ok());
        } else if let Some(ts) = line.strip_prefix("SET timestamp=") {
            at = ts.trim_end_matches(';').parse().unwrap();
        } else if line.starts_with("SELECT") && line.contains("traceparent=") && at < until {
            sum += query.take().unwrap();
            n += 1;
        }
    }
    assert!(n > 10_000, "{n} statements");
    sum / f64::from(n) * 1e3
}

#[test]
fn logs_and_traces_of_the_same_requests_make_one_chain_of_tiers() {
    let dir = temp("chain");
    let out = dir.join("stack.toml");
    let o = calibrate(&out);
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: toml::Value = toml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let tiers = s["tier"].as_array().unwrap();
    let chain: Vec<(&str, &str)> = tiers
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["kind"].as_str().unwrap()))
        .collect();
    // HAProxy's and Nginx's records wrap the app's spans; the statements
    // hang under PyMySQL's client spans.
    assert_eq!(
        chain,
        [
            ("haproxy", "load-balancer"),
            ("nginx", "web"),
            ("app", "app"),
            ("mysql", "database")
        ]
    );
    let tier = |n: &str| {
        tiers
            .iter()
            .find(|t| t["name"].as_str() == Some(n))
            .unwrap()
    };
    // Two Nginx logs: two instances. The app's workers from gunicorn's config.
    assert_eq!(tier("nginx")["instances"].as_integer(), Some(2));
    assert_eq!(tier("app")["workers"].as_integer(), Some(4));
    // The machines from the two counter files.
    let host = |t: &toml::Value| {
        t.get("host")
            .or_else(|| t.get("primary").and_then(|p| p.get("host")))
            .and_then(|h| h.as_str())
            .map(str::to_string)
    };
    assert_eq!(host(tier("haproxy")).as_deref(), Some("front"));
    assert_eq!(host(tier("nginx")).as_deref(), Some("front"));
    assert_eq!(host(tier("app")).as_deref(), Some("back"));
    assert_eq!(host(tier("mysql")).as_deref(), Some("back"));
    // The app's calls to MariaDB stay on the back machine: no wire, the
    // time around each statement is the app's (PyMySQL's work), said; the
    // hop from Nginx across the veth pair stays a network delay.
    assert!(tier("mysql").get("network").is_none(), "{}", tier("mysql"));
    assert!(said.contains("stay on machine back"), "{said}");
    let net = tier("app")["network"].as_str().expect("a hop into the app");
    let net_ms =
        stacksim::units::parse_duration(net.trim_start_matches("const(").trim_end_matches(')'))
            .unwrap() as f64
            / 1e6;
    assert!(net_ms > 0.05 && net_ms < 2.0, "{net_ms} ms");
    // The database's time per read request is the server's own, from the
    // slow log: the mean Query_time of the traced SELECTs (one a read
    // request; the zero-load regression finds no rise with load in them).
    let read_ms: f64 = said
        .lines()
        .find(|l| l.starts_with("mysql") && l.split_whitespace().nth(1) == Some("read"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no mysql read row in:\n{said}"));
    let want = traced_select_mean_ms();
    assert!(
        (read_ms / want - 1.0).abs() < 0.01,
        "{read_ms} ms against {want} ms"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_log_whose_records_carry_no_trace_id_is_refused_with_traces() {
    let dir = temp("untraced");
    let out = dir.join("stack.toml");
    // The two-machine fixture's Nginx log has request ids but no trace
    // context: it cannot join the traces.
    let multi = |f: &str| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/rig-multi")
            .join(f)
            .display()
            .to_string()
    };
    let o = stacksim(&[
        "calibrate".into(),
        "--otlp".into(),
        multi("traces.jsonl.gz"),
        "--nginx".into(),
        multi("web1-access.log.gz"),
        "--no-report".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("none of its records carries a trace context")
            && err.contains("$http_traceparent"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}
