//! `stacksim calibrate` and `validate` on the real rig fixture
//! (tests/data/rig, made by rig/run.sh: see its README): parsers on real
//! lines, the awkward ones included, and the calibration's figures against
//! what the rig is known to be.

use std::path::{Path, PathBuf};

use crate::support::stacksim;
use std::process::{Command, Output};

use stacksim::calibrate::haproxy::{HTTPLOG, HaproxyParser};
use stacksim::calibrate::nginx::NginxParser;
use stacksim::calibrate::observe::LogInputs;
use stacksim::calibrate::slowlog::{SlowLine, SlowLogParser, StatementKind};
use stacksim::calibrate::source::LineSource;
use stacksim::calibrate::{CalibrateInput, calibrate, classes};

/// The rig's Nginx `log_format` (rig/run.sh).
const RIG_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time"#;

/// End of the rig's 900 requests/s level (Unix seconds, from ladder.txt):
/// the calibration uses the levels up to it.
const END_OF_900: i64 = 1_796_123_828;

fn rig(f: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rig")
        .join(f)
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    let mut src = LineSource::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(l) = src.next_line().unwrap() {
        out.push(l.to_vec());
    }
    out
}

#[test]
fn haproxy_httplog_lines_parse_raw_and_behind_a_syslog_header() {
    let raw = lines(&rig("haproxy.log.gz"));
    let framed = lines(&rig("haproxy-syslog-sample.log"));
    let mut p = HaproxyParser::new(None).unwrap();
    let mut parsed = 0;
    let mut badreq = 0;
    let mut most_fc = 0;
    for l in &raw {
        match p.parse(l) {
            Some(r) if r.method.starts_with(b"<") => badreq += 1,
            Some(r) => {
                parsed += 1;
                assert!(r.active_ms.is_some(), "{}", String::from_utf8_lossy(l));
                assert_eq!(r.status, 200);
                assert!(r.server == b"web1" || r.server == b"web2");
                // `%fc`: the load generator's pool, 1 to 128 connections.
                let fc = r.fe_conns.expect("httplog carries %fc");
                assert!((1..=128).contains(&fc), "{fc}");
                most_fc = most_fc.max(fc);
            }
            None => panic!("unparsed: {}", String::from_utf8_lossy(l)),
        }
    }
    // The rig's port probe before the ladder is the one `<BADREQ>`.
    assert_eq!(badreq, 1);
    assert_eq!(most_fc, 128, "the load generator's 128 connections");
    assert!(parsed > 100_000, "{parsed}");
    // The syslog-framed copy carries the same requests in the same order.
    let mut q = HaproxyParser::new(None).unwrap();
    let from_framed: Vec<(i64, Option<i64>)> = framed
        .iter()
        .filter_map(|l| q.parse(l).map(|r| (r.start_ns, r.active_ms)))
        .collect();
    let from_raw: Vec<(i64, Option<i64>)> = raw
        .iter()
        .take(from_framed.len() + 20)
        .filter_map(|l| p.parse(l).map(|r| (r.start_ns, r.active_ms)))
        .collect();
    assert!(from_framed.len() >= 290, "{}", from_framed.len());
    // HAProxy's two threads write each target on their own, so a line or
    // two swap places between the copies: every framed record is among the
    // raw log's first ones.
    for r in &from_framed {
        assert!(from_raw.contains(r), "{r:?} not in the raw log");
    }
}

#[test]
fn the_httplog_format_string_reads_the_default_lines_alike() {
    let raw = lines(&rig("haproxy.log.gz"));
    let mut default = HaproxyParser::new(None).unwrap();
    let mut explicit = HaproxyParser::new(Some(HTTPLOG)).unwrap();
    for l in raw.iter().take(2000) {
        let a = default
            .parse(l)
            .map(|r| (r.start_ns, r.active_ms, r.phases_ms));
        let b = explicit
            .parse(l)
            .map(|r| (r.start_ns, r.active_ms, r.phases_ms));
        assert_eq!(a, b);
    }
}

#[test]
fn a_wrong_format_string_is_an_error_that_says_where() {
    let e = HaproxyParser::new(Some("%ci:%cp [%tr] % %Ta"))
        .err()
        .unwrap();
    assert!(e.contains("at 14"), "{e}");
    let e = HaproxyParser::new(Some("%ci [%tr] %ST")).err().unwrap();
    assert!(e.contains("%Ta"), "{e}");
    let e = NginxParser::new(Some("$remote_addr $status"))
        .err()
        .unwrap();
    assert!(e.contains("$request_time"), "{e}");
    let e = NginxParser::new(Some("$msec$request_time")).err().unwrap();
    assert!(e.contains("nothing between"), "{e}");
}

#[test]
fn a_log_cut_mid_line_loses_only_that_line() {
    let mut src = LineSource::open(&rig("haproxy-syslog-cut.log")).unwrap();
    let mut n = 0;
    while src.next_line().unwrap().is_some() {
        n += 1;
    }
    assert!(src.truncated_last);
    assert_eq!(n, lines(&rig("haproxy-syslog-sample.log")).len() - 1);
}

#[test]
fn nginx_lines_parse_with_their_upstream_retries() {
    let mut p = NginxParser::new(Some(RIG_FORMAT)).unwrap();
    let mut retries = 0;
    let mut n = 0;
    for l in lines(&rig("web1-access.log.gz")) {
        let r = p
            .parse(&l)
            .unwrap_or_else(|| panic!("unparsed: {}", String::from_utf8_lossy(&l)));
        n += 1;
        // Summed over the tries, the upstream time fits inside the request's.
        let up = r.upstream_ns.unwrap();
        assert!(
            up <= r.request_ns + 1_000_000,
            "{}",
            String::from_utf8_lossy(&l)
        );
        if r.tries > 1 {
            retries += 1;
            let text = String::from_utf8_lossy(&l);
            assert!(text.contains(", "), "{text}");
        }
    }
    assert!(n > 50_000);
    // The dead second upstream is retried every 10 s by each worker.
    assert!((5..200).contains(&retries), "{retries} retries");
    // Lines of another format are not Nginx records.
    for l in lines(&rig("haproxy-syslog-sample.log")).iter().take(50) {
        assert!(p.parse(l).is_none());
    }
}

#[test]
fn slow_log_entries_are_one_per_query_time_line() {
    let all = lines(&rig("slow.log.gz"));
    let expected = all
        .iter()
        .filter(|l| l.starts_with(b"# Query_time:"))
        .count();
    let mut p = SlowLogParser::new();
    let (mut reads, mut writes, mut other, mut garbage) = (0, 0, 0, 0);
    for l in &all {
        match p.line(l) {
            SlowLine::Statement(s) => {
                assert!(s.query_ns > 0 && s.query_ns < 10_000_000_000);
                match s.kind {
                    StatementKind::Read => reads += 1,
                    StatementKind::Write => writes += 1,
                    StatementKind::Other => other += 1,
                }
            }
            SlowLine::Garbage => garbage += 1,
            SlowLine::Part => {}
        }
    }
    assert_eq!(reads + writes + other, expected);
    assert_eq!(garbage, 0);
    // The rig sends one statement per request, a fifth of them writes.
    let share = writes as f64 / (reads + writes) as f64;
    assert!((share - 0.2).abs() < 0.01, "write share {share}");
}

fn rig_input(until: Option<i64>, window_s: i64) -> CalibrateInput {
    CalibrateInput {
        name: "rig".into(),
        logs: LogInputs {
            haproxy: vec![rig("haproxy.log.gz")],
            haproxy_format: None,
            haproxy_utc_offset_s: 0,
            nginx: vec![rig("web1-access.log.gz"), rig("web2-access.log.gz")],
            nginx_format: Some(RIG_FORMAT.into()),
            mysql_slow: vec![rig("slow.log.gz")],
            postgres: Vec::new(),
            window_ns: window_s * 1_000_000_000,
            window_auto: false,
            classes: classes::default_rules(),
            since_ns: None,
            until_ns: until.map(|u| u * 1_000_000_000),
            keep_arrivals: false,
        },
        cpu: vec![rig("cpu.csv")],
        hosts: Vec::new(),
        host_cores: Vec::new(),
        components: Vec::new(),
        workers: vec![("app".into(), 4)],
        cores: Some(2),
        haproxy_config: Some(rig("haproxy.cfg")),
        nginx_config: Some(rig("web1-nginx.conf")),
        app_config: None,
        db_config: None,
        otlp: Vec::new(),
        jaeger: Vec::new(),
        replay_as: None,
    }
}

/// What the rig is known to be comes back: its configs, its 80/20 mix, its
/// ladder's rates, and CPU that follows the utilization law.
#[test]
fn calibration_of_the_rig_recovers_what_it_is() {
    let c = calibrate(&rig_input(Some(END_OF_900), 5)).unwrap();
    let tier = |n: &str| c.tiers.iter().find(|t| t.name == n).unwrap();
    assert_eq!(tier("lb").threads.as_ref().unwrap().value, 2);
    assert!(!tier("lb").threads.as_ref().unwrap().check);
    assert_eq!(tier("web").instances.value, 2);
    assert_eq!(tier("web").workers.value, 1024);
    assert_eq!(tier("web").threads.as_ref().unwrap().value, 1);
    assert_eq!(tier("app").workers.value, 4);
    // The load generator draws a write with probability 0.2: the share
    // lies within three binomial standard errors.
    let (_, write_share, is_write, n) = c.classes.iter().find(|x| x.0 == "write").unwrap();
    assert!(*is_write);
    let se = (0.2 * 0.8 / *n as f64).sqrt();
    assert!((write_share - 0.2).abs() < 3.0 * se, "{write_share} ({n})");
    // The ladder's first level is 300 requests/s, Poisson: its windows'
    // counts lie within four Poisson standard deviations of 1500 per 5 s
    // (the window that holds the level's start is partial).
    let first: Vec<f64> = c.windows.iter().take(2).map(|w| w.rate_rps * 5.0).collect();
    for k in first {
        assert!((k - 1500.0).abs() < 4.0 * 1500f64.sqrt(), "{k}");
    }
    assert!(c.arrivals.varies);
    // CPU follows the utilization law for every server.
    for comp in ["lb", "web1", "web2", "app", "db"] {
        let l = c
            .components
            .iter()
            .find(|x| x.component == comp)
            .and_then(|x| x.line.as_ref())
            .unwrap();
        assert!(l.separable, "{comp}");
        assert!(l.r2 > 0.9, "{comp}: R^2 {}", l.r2);
    }
    // The pauses between levels are quiet spells: every process's CPU there
    // is its background (the counters read next to nothing: 2 s or more of
    // them), and the intercepts above it are CPU that flows only with
    // traffic, written as idle_background.
    let mut quiet = 0.0;
    let mut above = 0.0;
    for comp in &c.components {
        let q = comp
            .idle
            .as_ref()
            .expect("a quiet spell for every component");
        assert!(
            q.seconds >= 2.0 && q.intervals >= 2,
            "{}: {q:?}",
            comp.component
        );
        assert!(q.cores < 0.01, "{}: {q:?}", comp.component);
        quiet += q.cores;
        let intercept = comp.line.as_ref().unwrap().background_cores.max(0.0);
        above += (intercept - q.cores).max(0.0);
    }
    let bg = c.hosts[0].background.as_ref().unwrap().value;
    let idle = c.hosts[0].idle_background.as_ref().unwrap().value;
    assert!((bg - quiet).abs() < 1e-12, "{bg} {quiet}");
    assert!((idle - above).abs() < 1e-12, "{idle} {above}");
    assert!(idle > 0.1, "{idle}");
    // The load generator is no tier's: off the request path.
    assert!(c.hosts[0].off_path_s.is_some());
    // The scenario it writes reads back.
    let text = stacksim::calibrate::emit::scenario_toml(&c);
    stacksim::scenario::parse(&text, "rig.toml", None).unwrap();
    assert!(text.contains("CHECK"));
}

fn temp(name: &str) -> PathBuf {
    crate::support::temp_dir("cal", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The rig's logs as command-line flags, then `extra`.
fn rig_log_args(with_db_and_cpu: bool, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--haproxy",
        s(&rig("haproxy.log.gz")),
        "--nginx",
        s(&rig("web1-access.log.gz")),
        "--nginx",
        s(&rig("web2-access.log.gz")),
        "--nginx-format",
        RIG_FORMAT,
        "--window",
        "5s",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    if with_db_and_cpu {
        for x in [
            "--mysql-slow",
            s(&rig("slow.log.gz")),
            "--cpu",
            s(&rig("cpu.csv")),
        ] {
            v.push(x.to_string());
        }
    }
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

/// Calibrates the rig from its levels up to 900 requests/s into `out`.
fn calibrate_rig_below_900(out: &Path) {
    let until = END_OF_900.to_string();
    let o = stacksim_with(
        "calibrate",
        &rig_log_args(
            true,
            &[
                "--cores",
                "2",
                "--workers",
                "app=4",
                "--until",
                &until,
                "--out",
                s(out),
                "--no-report",
                "-q",
            ],
        ),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Validates `scenario` on the rig's windows after 900 requests/s (and
/// `extra`), writing `report`; its validation.json.
fn validate_rig(scenario: &Path, report: &Path, extra: &[&str]) -> serde_json::Value {
    let until = END_OF_900.to_string();
    let mut flags = vec!["--since", until.as_str(), "--out", s(report), "-q"];
    flags.extend_from_slice(extra);
    let mut args = vec![s(scenario).to_string()];
    args.extend(rig_log_args(true, &flags));
    let o = stacksim_with("validate", &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(report.join("validation.json")).unwrap()).unwrap()
}

/// Runs `stacksim COMMAND args...`.
fn stacksim_with(command: &str, args: &[String]) -> Output {
    let mut all = vec![command.to_string()];
    all.extend_from_slice(args);
    stacksim(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn bad_input_is_exit_2_and_writes_nothing() {
    let dir = temp("bad");
    let out = dir.join("x.toml");
    let report = dir.join("report");
    // A missing file.
    let o = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&dir.join("nope.log")),
        "--out",
        s(&out),
        "--report",
        s(&report),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
    // No line of the format: Nginx lines given as HAProxy's.
    let o = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&rig("web1-access.log.gz")),
        "--out",
        s(&out),
        "--report",
        s(&report),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no haproxy records"), "{err}");
    assert!(err.contains("--haproxy-format"), "{err}");
    // A time range that holds no request.
    let o = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&rig("haproxy.log.gz")),
        "--nginx",
        s(&rig("web1-access.log.gz")),
        "--nginx-format",
        RIG_FORMAT,
        "--until",
        "1796123800",
        "--since",
        "1796123900",
        "--out",
        s(&out),
        "--report",
        s(&report),
    ]);
    assert_eq!(o.status.code(), Some(2));
    // No request log at all.
    let o = stacksim(&[
        "calibrate",
        "--mysql-slow",
        s(&rig("slow.log.gz")),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no request log"));
    // A wrong format string names its flag.
    let o = stacksim(&[
        "calibrate",
        "--nginx",
        s(&rig("web1-access.log.gz")),
        "--nginx-format",
        "$status",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--nginx-format"));
    assert!(!out.exists());
    assert!(!report.exists());
}

#[test]
fn calibrate_writes_a_scenario_that_runs_and_a_report() {
    let dir = temp("ok");
    let out = dir.join("rig.toml");
    let report = dir.join("report");
    let until = END_OF_900.to_string();
    let o = stacksim_with(
        "calibrate",
        &rig_log_args(
            true,
            &[
                "--cores",
                "2",
                "--workers",
                "app=4",
                "--until",
                &until,
                "--out",
                s(&out),
                "--report",
                s(&report),
            ],
        ),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "calibration.md",
        "calibration.html",
        "calibration.json",
        "calibration-fits.png",
        "calibration-cpu.png",
        "calibration-cpu-per-request.png",
        "calibration-rate.png",
    ] {
        assert!(report.join(f).is_file(), "{f}");
    }
    let o = stacksim(&["check", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A second calibration to the same file needs --force.
    let again = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&rig("haproxy.log.gz")),
        "--out",
        s(&out),
    ]);
    assert_eq!(again.status.code(), Some(2));
}

/// Calibrated on the levels up to 900 requests/s and validated on the
/// rest of the ladder: the knee the scenario predicts against the one the
/// logs show (1,742 requests/s, the busiest 5 s window at saturation).
/// Measured: 1,486 predicted, 14.7% low. It was 1,362 (22% low) while the
/// utilization-law intercepts (0.19 cores) were charged as background that
/// competes with requests; the counters read 0.002 cores in the quiet
/// spells between levels, so the intercept is overhead that flows with
/// traffic and yields at saturation (`idle_background`). What remains is
/// the CPU per request falling under contention (1.33 ms below the knee,
/// 1.10 at saturation), which no window below the knee shows.
#[test]
fn validate_predicts_the_rig_knee_within_15_percent() {
    let dir = temp("knee");
    let out = dir.join("rig.toml");
    calibrate_rig_below_900(&out);
    let report = dir.join("validation");
    let v = validate_rig(&out, &report, &[]);
    let predicted = v["knee"]["predicted_rps"].as_f64().unwrap();
    let observed = v["knee"]["observed_max_rps"].as_f64().unwrap();
    assert!(v["knee"]["observed_saturated"].as_bool().unwrap());
    assert!(
        (predicted / observed - 1.0).abs() <= 0.15,
        "predicted {predicted:.0} against {observed:.0}"
    );
}

/// The rig's load generator keeps 128 keep-alive connections open at every
/// load (HAProxy logs them as `%fc`): calibrate writes that pool into the
/// scenario, and past the knee the simulated latency from send is then
/// bounded as the real one was: p99 within 50% over every window above 900
/// requests/s (45.7% measured, the saturated windows within 13%), against
/// over 1,000% with the workload left open.
#[test]
fn the_rigs_client_pool_is_calibrated_and_bounds_latency_past_the_knee() {
    let dir = temp("clients");
    let out = dir.join("rig.toml");
    calibrate_rig_below_900(&out);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("connections = 128 ")),
        "calibrate writes the pool:\n{text}"
    );
    let p99 = |v: &serde_json::Value| {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == "p99")
            .unwrap()["mape"]
            .as_f64()
            .unwrap()
    };
    let v = validate_rig(&out, &dir.join("capped"), &["--no-knee"]);
    assert_eq!(v["client_connections"], 128);
    assert!(p99(&v) <= 0.5, "p99 MAPE past the knee {:.3}", p99(&v));
    // The same calibration with the workload open: the backlog grows.
    let open = dir.join("open.toml");
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("connections = "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&open, without).unwrap();
    let v = validate_rig(&open, &dir.join("open"), &["--no-knee"]);
    assert!(v["client_connections"].is_null());
    assert!(p99(&v) > 10.0, "open: p99 MAPE {:.3}", p99(&v));
    // `--clients N` gives the cap to a scenario without one.
    let capped = p99(&validate_rig(&out, &dir.join("again"), &["--no-knee"]));
    let v = validate_rig(&open, &dir.join("flag"), &["--no-knee", "--clients", "128"]);
    assert_eq!(v["client_connections"], 128);
    assert_eq!(p99(&v), capped, "the flag and the key are the same cap");
}

/// Calibrated on the levels up to 900 requests/s and validated on the
/// 1,200 level, a third above anything it saw: throughput and the
/// machine's CPU within the default 10% tolerances (measured 0.1% and
/// 1.8%); p99 is reported (53% high here), not asserted.
#[test]
fn validate_extrapolates_cpu_and_throughput_above_the_calibrated_loads() {
    let dir = temp("v1200");
    let out = dir.join("rig.toml");
    calibrate_rig_below_900(&out);
    let report = dir.join("validation");
    let v = validate_rig(&out, &report, &["--until", "1796123846", "--no-knee"]);
    for f in [
        "validation.md",
        "validation.html",
        "validation-latency.png",
        "validation-cpu.png",
    ] {
        assert!(report.join(f).is_file(), "{f}");
    }
    let metric = |name: &str| {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(metric("throughput")["windows"], 2);
    for name in ["throughput", "cpu"] {
        let m = metric(name);
        assert!(m["pass"].as_bool().unwrap(), "{name}: {m}");
    }
    assert!(metric("p99")["mape"].as_f64().unwrap().is_finite());
    // Each tier's own time and CPU are compared too (no tolerance).
    for name in [
        "own lb", "own web", "own app", "own db", "cpu app", "cpu db",
    ] {
        assert_eq!(metric(name)["windows"], 2, "{name}");
    }
    // A tier whose own time is off by more than half is flagged: the
    // simulation puts the time in the wrong tier (Nginx's short bursts wait
    // behind the app's in a FIFO core pool: +187% here).
    for name in ["own lb", "own web", "own app", "own db"] {
        let m = metric(name);
        assert_eq!(
            m["misplaced"].as_bool().unwrap(),
            m["mape"].as_f64().unwrap() > 0.5,
            "{name}: {m}"
        );
    }
    assert!(metric("own web")["misplaced"].as_bool().unwrap());
    // The same calibration with the machine under the fair scheduler
    // (`scheduling = "cfs"`): the short-burst tiers wait less for a core,
    // so Nginx's and MariaDB's own times come closer to the logs'
    // (measured: +117% and +52% against FIFO's +187% and +89%).
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\ncores = 2"), "the calibrated host");
    let cfs = dir.join("rig-cfs.toml");
    std::fs::write(
        &cfs,
        text.replacen("\ncores = 2", "\ncores = 2\nscheduling = \"cfs\"", 1),
    )
    .unwrap();
    let w = validate_rig(
        &cfs,
        &dir.join("validation-cfs"),
        &["--until", "1796123846", "--no-knee"],
    );
    let mape = |v: &serde_json::Value, name: &str| {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .unwrap()["mape"]
            .as_f64()
            .unwrap()
    };
    for name in ["own web", "own db"] {
        assert!(
            mape(&w, name) < mape(&v, name),
            "{name}: cfs {} against fifo {}",
            mape(&w, name),
            mape(&v, name)
        );
    }
}

/// A replay file is simulated arrival for arrival: every logged arrival
/// inside the run arrives with its class, the same in every replication;
/// bad files and unknown classes are located errors.
#[test]
fn replay_simulates_the_logged_arrivals_exactly() {
    let dir = temp("replay");
    let mut csv = String::from("time_s,class\n");
    let mut writes = 0;
    for i in 0..3000u32 {
        // Irregular gaps, one class in seven a write, unsorted in pairs.
        let t = f64::from(i) * 0.01 + f64::from(i % 3) * 0.001;
        let class = if i % 7 == 0 { "write" } else { "read" };
        writes += u64::from(i % 7 == 0);
        csv.push_str(&format!("{t:.6},{class}\n"));
    }
    std::fs::write(dir.join("arrivals.csv"), &csv).unwrap();
    let scenario = |replay: &str| {
        format!(
            "name = \"replay\"\n[simulation]\nduration = \"40s\"\nwarmup = \"0s\"\nreplications = 3\n[workload]\nreplay = \"{replay}\"\nclasses = [{{ name = \"read\", share = 0.5 }}, {{ name = \"write\", share = 0.5 }}]\n[[tier]]\nname = \"web\"\nkind = \"web\"\nworkers = 64\nservice = \"exp(2ms)\"\n"
        )
    };
    let s = stacksim::scenario::parse(&scenario("arrivals.csv"), "r.toml", Some(&dir)).unwrap();
    let init = stacksim::plan::PlanInit::new(
        &stacksim::plan::ScenarioInput {
            path: "r.toml".into(),
            text: scenario("arrivals.csv"),
            base_dir: Some(dir.clone()),
        },
        &[],
    )
    .unwrap();
    assert_eq!(s.classes.len(), 2);
    let run = init.build(&|| {}).unwrap().replicate(&|| {});
    let c = &run.summary.classes;
    // 3,000 arrivals in 30 s, all inside the 40 s run, in each of 3 replications.
    assert_eq!(run.summary.overall.arrived, 3 * 3000);
    assert_eq!(c[1].arrived, 3 * writes);
    assert_eq!(run.summary.overall.offered_rps.half_width, Some(0.0));
    // Errors: a class the workload does not declare, a bad line, no file.
    std::fs::write(dir.join("odd.csv"), "time_s,class\n0.5,read\n1.0,admin\n").unwrap();
    let e = stacksim::scenario::parse(&scenario("odd.csv"), "r.toml", Some(&dir))
        .unwrap_err()
        .render(false);
    assert!(e.contains("class `admin`") && e.contains("line 3"), "{e}");
    std::fs::write(dir.join("bad.csv"), "time_s,class\nsoon,read\n").unwrap();
    let e = stacksim::scenario::parse(&scenario("bad.csv"), "r.toml", Some(&dir))
        .unwrap_err()
        .render(false);
    assert!(e.contains("line 2"), "{e}");
    let e = stacksim::scenario::parse(&scenario("none.csv"), "r.toml", Some(&dir))
        .unwrap_err()
        .render(false);
    assert!(e.contains("cannot read"), "{e}");
}

/// `calibrate --arrivals` writes the logged arrivals and a scenario that
/// replays them: as many as the entry log holds in the full windows.
#[test]
fn calibrate_writes_a_replay_of_the_logged_arrivals() {
    let dir = temp("arrivals");
    let out = dir.join("rig.toml");
    let arrivals = dir.join("arrivals.csv");
    let until = END_OF_900.to_string();
    let o = stacksim_with(
        "calibrate",
        &rig_log_args(
            false,
            &[
                "--until",
                &until,
                "--out",
                s(&out),
                "--arrivals",
                s(&arrivals),
                "--no-report",
                "-q",
            ],
        ),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("replay = \"arrivals.csv\""), "{text}");
    let c = calibrate(&rig_input(Some(END_OF_900), 5)).unwrap();
    let in_windows: u64 = c
        .windows
        .iter()
        .map(|w| w.class_counts.iter().sum::<u64>())
        .sum();
    let rows = std::fs::read_to_string(&arrivals).unwrap().lines().count() as u64 - 1;
    assert_eq!(rows, in_windows);
    let o = stacksim(&["check", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Without `--window`, logs too short for twelve 60 s windows get a shorter
/// window chosen (the longest that gives twelve, spanning three CPU
/// samples), said on stdout and in the report; with `--window` nothing is
/// chosen.
#[test]
fn the_window_is_chosen_when_not_given() {
    let dir = temp("autowindow");
    let out = dir.join("auto.toml");
    let mut args = rig_log_args(true, &["--out", s(&out), "--no-report"]);
    // Drop the fixture's own `--window 5s`.
    let at = args.iter().position(|a| a == "--window").unwrap();
    args.drain(at..at + 2);
    let o = stacksim_with("calibrate", &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("window: --window not given:"))
        .unwrap_or_else(|| panic!("{text}"));
    let full: usize = line
        .split(" windows, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(full >= 12, "{line}");
    // The CPU file samples every second: windows span at least three.
    let secs: u64 = line
        .trim_start_matches("window: --window not given: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3..60).contains(&secs), "{line}");
    // Given, the window is the user's.
    let given = rig_log_args(true, &["--out", s(&out), "--no-report", "--force"]);
    let o = stacksim_with("calibrate", &given);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("--window not given"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Worker counts come from the configs users have: the app server's (the
/// rig ran gunicorn with 4 sync workers, rig/run.sh) and my.cnf's
/// max_connections (a thread per connection, at most one per app worker),
/// each cited in the scenario; a config that names no count is an error.
#[test]
fn worker_counts_are_read_from_app_and_database_configs() {
    let dir = temp("configs");
    let (app, db, out) = (
        dir.join("gunicorn.conf.py"),
        dir.join("my.cnf"),
        dir.join("c.toml"),
    );
    std::fs::write(
        &app,
        "bind = \"127.0.0.1:8000\"\nworkers = 4\nworker_class = \"sync\"\n",
    )
    .unwrap();
    std::fs::write(
        &db,
        "[client]\nport = 3306\n[mysqld]\nmax_connections = 151\n",
    )
    .unwrap();
    let args = rig_log_args(
        true,
        &[
            "--app-config",
            s(&app),
            "--db-config",
            s(&db),
            "--out",
            s(&out),
            "--no-report",
            "-q",
        ],
    );
    let o = stacksim_with("calibrate", &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let app_line = text
        .lines()
        .find(|l| l.starts_with("workers = 4") && l.contains("gunicorn.conf.py: workers = 4"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!app_line.contains("CHECK"), "{app_line}");
    assert!(
        text.contains(
            "my.cnf: max_connections = 151; a thread per connection, at most one per app worker (4)"
        ),
        "{text}"
    );
    assert!(text.contains("primary = { workers = 4,"), "{text}");
    std::fs::write(&app, "workers = multiprocessing.cpu_count() * 2 + 1\n").unwrap();
    let mut args = args;
    args.push("--force".into());
    let o = stacksim_with("calibrate", &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no worker count in it"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rig's counters told as two machines, three ways: a `host` column,
/// a file per machine, `--host`. The rig ran on one machine, so the split
/// is a relabelling that tests the bookkeeping, not a measurement: the
/// multi-machine round trip (calibrate_round_trip.rs) tests the figures.
#[test]
fn machines_come_from_a_host_column_a_file_each_or_flags() {
    let dir = temp("machines");
    let text = std::fs::read_to_string(rig("cpu.csv")).unwrap();
    let machine = |comp: &str| {
        if ["app", "db"].contains(&comp) {
            "back"
        } else {
            "front"
        }
    };
    let mut column = String::from("time,host,component,cpu_seconds\n");
    let (mut front, mut back) = (
        String::from("time,component,cpu_seconds\n"),
        String::from("time,component,cpu_seconds\n"),
    );
    for line in text.lines().skip(1) {
        let comp = line.split(',').nth(1).unwrap();
        let (t, rest) = line.split_once(',').unwrap();
        column.push_str(&format!("{t},{},{rest}\n", machine(comp)));
        let file = if machine(comp) == "back" {
            &mut back
        } else {
            &mut front
        };
        file.push_str(line);
        file.push('\n');
    }
    std::fs::write(dir.join("cpu-hosts.csv"), &column).unwrap();
    std::fs::create_dir_all(dir.join("front")).unwrap();
    std::fs::write(dir.join("front/cpu.csv"), &front).unwrap();
    std::fs::write(dir.join("back.csv"), &back).unwrap();
    let until = END_OF_900.to_string();
    let ways: [Vec<String>; 3] = [
        vec!["--cpu".into(), s(&dir.join("cpu-hosts.csv")).into()],
        vec![
            "--cpu".into(),
            s(&dir.join("front/cpu.csv")).into(),
            "--cpu".into(),
            s(&dir.join("back.csv")).into(),
        ],
        vec![
            "--cpu".into(),
            s(&rig("cpu.csv")).into(),
            "--host".into(),
            "back=app,db".into(),
            "--host".into(),
            "front=lb,web1,web2,loadgen".into(),
        ],
    ];
    let mut texts = Vec::new();
    for (i, way) in ways.iter().enumerate() {
        std::fs::create_dir_all(dir.join(format!("way{i}"))).unwrap();
        let out = dir.join(format!("way{i}/stack.toml"));
        let mut args = rig_log_args(false, &[]);
        args.extend([
            "--mysql-slow".to_string(),
            s(&rig("slow.log.gz")).into(),
            "--workers".into(),
            "app=4".into(),
            "--cores".into(),
            "front=1".into(),
            "--cores".into(),
            "back=1".into(),
            "--until".into(),
            until.clone(),
            "--out".into(),
            s(&out).into(),
            "--no-report".into(),
            "-q".into(),
        ]);
        args.extend(way.iter().cloned());
        let o = stacksim_with("calibrate", &args);
        assert!(
            o.status.success(),
            "way {i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let t = std::fs::read_to_string(&out).unwrap();
        // Everything after the header comments (which name the files).
        texts.push(t[t.find("name = ").unwrap()..].to_string());
    }
    assert_eq!(texts[0], texts[1], "a host column and a file per machine");
    assert_eq!(texts[0], texts[2], "a host column and --host");
    let scenario: toml::Value = toml::from_str(&texts[0]).unwrap();
    let hosts = scenario["host"].as_array().unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["front", "back"]);
    for h in hosts {
        assert_eq!(h["cores"].as_integer(), Some(1));
    }
    let tiers = scenario["tier"].as_array().unwrap();
    let host_of = |name: &str| {
        let t = tiers
            .iter()
            .find(|t| t["name"].as_str() == Some(name))
            .unwrap();
        t.get("host")
            .or_else(|| t.get("primary").and_then(|p| p.get("host")))
            .and_then(|h| h.as_str())
            .map(str::to_string)
    };
    assert_eq!(host_of("lb").as_deref(), Some("front"));
    assert_eq!(host_of("web").as_deref(), Some("front"));
    assert_eq!(host_of("app").as_deref(), Some("back"));
    assert_eq!(host_of("db").as_deref(), Some("back"));
    // The load generator's CPU is off the request's path on its machine.
    assert!(hosts[0].get("off_path_cpu").is_some());
    assert!(hosts[1].get("off_path_cpu").is_none());
    // The background of the two machines adds up to the one machine's.
    let mut one = rig_input(Some(END_OF_900), 5);
    one.logs.nginx_format = Some(RIG_FORMAT.into());
    let c = calibrate(&one).unwrap();
    let cores = |v: &toml::Value, key: &str| {
        v.get(key).map_or(0.0, |b| {
            b.as_str()
                .unwrap()
                .trim_end_matches(" cores")
                .parse::<f64>()
                .unwrap()
        })
    };
    let split: f64 = hosts.iter().map(|h| cores(h, "background")).sum();
    let whole = c.hosts[0].background.as_ref().unwrap().value;
    assert!((split - whole).abs() < 0.002, "{split} against {whole}");
    // The scenario runs.
    let o = stacksim(&[
        "run",
        s(&dir.join("way0/stack.toml")),
        "--duration",
        "20s",
        "--replications",
        "2",
        "--no-charts",
        "-q",
        "--out",
        s(&dir.join("run")),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A --host naming no counter is an error that lists the names.
    let mut args = rig_log_args(true, &["--host", "db=mysqld", "--out"]);
    args.push(s(&dir.join("bad.toml")).into());
    let o = stacksim_with("calibrate", &args);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no CPU counter is named mysqld") && err.contains("app, db"),
        "{err}"
    );
    assert!(!dir.join("bad.toml").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real PostgreSQL log (tests/data/postgres): every statement read, the
/// extended protocol's parse, bind and execute summed into one, nothing
/// taken as garbage; counts checked against the lines themselves.
#[test]
fn a_postgresql_log_gives_its_statements() {
    use stacksim::calibrate::pglog::{PgLine, PgLogParser};
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/postgres/postgresql.log.gz");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
        &mut text,
    )
    .unwrap();
    let simple = text.lines().filter(|l| l.contains("  statement: ")).count();
    let executes = text.lines().filter(|l| l.contains("  execute ")).count();
    let mut src = LineSource::open(&path).unwrap();
    let mut p = PgLogParser::new();
    let (mut n, mut garbage, mut writes, mut total_ns) = (0, 0, 0, 0i64);
    while let Some(line) = src.next_line().unwrap() {
        match p.line(line) {
            PgLine::Statement(s) => {
                n += 1;
                total_ns += s.query_ns;
                if s.kind == StatementKind::Write {
                    writes += 1;
                }
            }
            PgLine::Garbage => garbage += 1,
            PgLine::Part => {}
        }
    }
    assert_eq!(n, simple + executes);
    assert_eq!(garbage, 0);
    // pgbench's TPC-B-like transaction: BEGIN, three UPDATEs, a SELECT, an
    // INSERT, END: four writes in seven.
    let share = f64::from(writes) / n as f64;
    assert!((share - 4.0 / 7.0).abs() < 0.02, "write share {share}");
    // The durations summed equal the log's own (parse and bind included).
    let logged_ms: f64 = text
        .lines()
        .filter_map(|l| {
            let d = l.split("duration: ").nth(1)?;
            d.split(' ').next()?.parse::<f64>().ok()
        })
        .sum();
    assert!(
        (total_ns as f64 / 1e6 - logged_ms).abs() < 1e-3 * logged_ms,
        "{} ms against {logged_ms} ms",
        total_ns as f64 / 1e6
    );
}

/// `--postgres` reads a PostgreSQL log; a MySQL slow log given there has no
/// PostgreSQL record: exit 2, the hint says which setting writes one.
#[test]
fn a_slow_log_given_as_a_postgresql_log_is_refused_with_the_setting() {
    let dir = temp("pg-wrong");
    let out = dir.join("x.toml");
    let o = stacksim(&[
        "calibrate",
        "--nginx",
        s(&rig("web1-access.log.gz")),
        "--postgres",
        s(&rig("slow.log.gz")),
        "--out",
        s(&out),
        "--no-report",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no postgres records") && err.contains("log_min_duration_statement = 0"),
        "{err}"
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Traces that cannot make a scenario are exit 2 with what to do, and
/// nothing is written: a Jaeger export given as OTLP, a CSV given as Jaeger,
/// traces whose root spans are all missing, traces and logs together.
#[test]
fn unusable_traces_are_exit_2_and_write_nothing() {
    let dir = temp("bad-traces");
    let out = dir.join("x.toml");
    let jaeger = dir.join("jaeger.json");
    std::fs::write(
        &jaeger,
        r#"{"data": [{"traceID": "5", "spans": [], "processes": {}}]}"#,
    )
    .unwrap();
    // Two spans whose parent was never exported.
    let orphans = dir.join("orphans.jsonl");
    let span = |id: u32| {
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"app"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{id:032x}","spanId":"{id:016x}","parentSpanId":"00000000000000ff","name":"x","kind":2,"startTimeUnixNano":"1796629797000000000","endTimeUnixNano":"1796629797001000000"}}]}}]}}]}}"#
        )
    };
    std::fs::write(&orphans, format!("{}\n{}\n", span(1), span(2))).unwrap();
    let (cpu, web1) = (rig("cpu.csv"), rig("web1-access.log.gz"));
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--otlp", s(&jaeger)], "give it with --jaeger"),
        (vec!["--jaeger", s(&cpu)], "not a Jaeger JSON export"),
        (vec!["--otlp", s(&orphans)], "2 traces without a root span"),
        (
            vec!["--otlp", s(&orphans), "--nginx", s(&web1)],
            "none of its records carries a trace context",
        ),
    ];
    for (flags, says) in cases {
        let mut args = vec!["calibrate"];
        args.extend(flags.iter().copied());
        args.extend(["--out", s(&out), "--no-report"]);
        let o = stacksim(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!out.exists(), "{flags:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Request ids join a request's HAProxy and Nginx lines: the balancer's
/// own time is then `Ta` less `$request_time` of each request, fitted per
/// request, instead of a difference of two logs' means. Synthetic lines
/// (written here, not a real server's): 3,000 requests at 50/s whose own
/// balancer time cycles through 1-5 ms (mean 3 ms) and whose Nginx time
/// cycles through 10-12 ms; 20 HAProxy lines carry ids no Nginx line has.
#[test]
fn request_ids_join_the_balancer_to_the_web_server_per_request() {
    use stacksim::calibrate::emit::iso;
    let dir = temp("ids");
    let (mut lb, mut web) = (String::new(), String::new());
    let t0: i64 = 1_796_000_000_000; // ms since the epoch
    let date = |ms: i64, haproxy: bool| {
        // 07/Dec/2026:08:00:00.123 (HAProxy) or 07/Dec/2026:08:00:00 +0000.
        let s = iso(ms * 1_000_000); // 2026-12-07T08:00:00Z
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m: usize = s[5..7].parse().unwrap();
        let base = format!(
            "{}/{}/{}:{}",
            &s[8..10],
            months[m - 1],
            &s[0..4],
            &s[11..19]
        );
        if haproxy {
            format!("{base}.{:03}", ms % 1000)
        } else {
            format!("{base} +0000")
        }
    };
    for i in 0..3020i64 {
        let start = t0 + i * 20;
        let own = 1 + i % 5;
        let rt = 10 + i % 3;
        let ta = own + rt;
        let id = format!("{:032x}", i * 7919 + 13);
        lb.push_str(&format!(
            "10.0.0.1:{} [{}] fe web/web1 0/0/0/{}/{ta} 200 2048 - - ---- 1/1/0/0/0 0/0 \"GET /item/{i} HTTP/1.1\" {id}\n",
            40000 + i % 20000,
            date(start, true),
            ta
        ));
        if i >= 3000 {
            continue; // ids HAProxy has and Nginx not
        }
        let end = start + own + rt;
        web.push_str(&format!(
            "127.0.0.1 - - [{}] \"GET /item/{i} HTTP/1.1\" 200 2048 \"-\" \"test\" {}.{:03} {}.{:03} {}.{:03} {id}\n",
            date(end, false),
            rt / 1000,
            rt % 1000,
            (rt - 1) / 1000,
            (rt - 1) % 1000,
            end / 1000,
            end % 1000,
        ));
    }
    std::fs::write(dir.join("haproxy.log"), lb).unwrap();
    std::fs::write(dir.join("access.log"), web).unwrap();
    let format = format!("{HTTPLOG} %ID");
    let out = dir.join("ids.toml");
    let o = stacksim(&[
        "calibrate",
        "--haproxy",
        s(&dir.join("haproxy.log")),
        "--haproxy-format",
        &format,
        "--nginx",
        s(&dir.join("access.log")),
        "--nginx-format",
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $upstream_response_time $msec $request_id",
        "--window",
        "5s",
        "--out",
        s(&out),
        "--no-report",
    ]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        said.contains("HAProxy lines and 0 Nginx lines carry ids that join nothing"),
        "{said}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lb_line = text
        .lines()
        .find(|l| l.contains("joined by request id"))
        .unwrap_or_else(|| panic!("{text}"));
    // "#   read: N requests, mean 3.000 ms, cv 0.47; ..."
    let mean: f64 = lb_line
        .split("mean ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((mean - 3.0).abs() < 0.05, "{lb_line}");
    let cv: f64 = lb_line
        .split("cv ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // 1..5 ms uniform over five values: sd sqrt(2), cv 0.471.
    assert!((cv - 2f64.sqrt() / 3.0).abs() < 0.03, "{lb_line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The calibration and validation reports say where they came from: the
/// stacksim version, the command line and every input file with its size
/// and SHA-256 (as `sha256sum` gives it), in the JSON and the HTML.
#[test]
fn calibration_and_validation_reports_carry_their_provenance() {
    let dir = temp("provenance");
    let out = dir.join("rig.toml");
    let until = END_OF_900.to_string();
    let cal = dir.join("calibration");
    let o = stacksim_with(
        "calibrate",
        &rig_log_args(
            true,
            &[
                "--cores",
                "2",
                "--workers",
                "app=4",
                "--until",
                &until,
                "--out",
                s(&out),
                "--report",
                s(&cal),
                "-q",
            ],
        ),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = dir.join("validation");
    let v = validate_rig(&out, &report, &["--until", "1796123846", "--no-knee"]);
    let sum = Command::new("sha256sum")
        .arg(rig("slow.log.gz"))
        .output()
        .expect("sha256sum runs");
    let expected = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cal.join("calibration.json")).unwrap())
            .unwrap();
    for (what, j, folder, page) in [
        ("validation", &v, &report, "validation.html"),
        ("calibration", &c, &cal, "calibration.html"),
    ] {
        assert_eq!(j["stacksim_version"], stacksim::VERSION, "{what}");
        assert!(
            j["command_line"].as_str().unwrap().contains("--mysql-slow"),
            "{what}: {}",
            j["command_line"]
        );
        let inputs = j["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 5, "{what}: haproxy, 2 nginx, slow log, cpu");
        let slow = inputs
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with("slow.log.gz"))
            .unwrap();
        assert_eq!(slow["sha256"], expected.as_str(), "{what}");
        let html = std::fs::read_to_string(folder.join(page)).unwrap();
        assert!(
            html.contains("<h2 id=\"provenance\">Provenance</h2>"),
            "{what}"
        );
        assert!(html.contains(&expected), "{what}");
    }
}
