//! The round trip with exact ground truth: `stacksim run --logs` writes the
//! HAProxy, Nginx and slow-query logs of scenarios/validation/
//! calibrate-round-trip.toml (timers truncated to the millisecond as the
//! servers do), `calibrate` reads them back with its default formats, and
//! every recovered rate, share, mean and cv lies within 4 standard errors
//! of the scenario's value (../shared/VALIDATION.md).

use std::path::PathBuf;
use std::process::Command;

use stacksim::calibrate::observe::LogInputs;
use stacksim::calibrate::{CalibrateInput, calibrate, classes};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Standard error of a sample cv of `n` values with this cv and excess
/// kurtosis (delta method on the sample variance: Var(s²) = σ⁴ (2 + κ) / n).
fn cv_se(cv: f64, kurtosis: f64, n: u64) -> f64 {
    cv / 2.0 * ((2.0 + kurtosis) / n as f64).sqrt()
}

/// Excess kurtosis of a gamma with this cv (shape 1/cv²: 6 / shape).
fn gamma_kurtosis(cv: f64) -> f64 {
    6.0 * cv * cv
}

/// Excess kurtosis of a lognormal with this cv.
fn lognormal_kurtosis(cv: f64) -> f64 {
    let w = 1.0 + cv * cv; // e^{σ²}
    w.powi(4) + 2.0 * w.powi(3) + 3.0 * w.powi(2) - 6.0
}

#[test]
fn calibrate_recovers_a_simulated_stack_from_its_logs() {
    let dir = std::env::temp_dir().join(format!("stacksim-round-trip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let logs = dir.join("logs");
    let o = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args([
            "run",
            "scenarios/validation/calibrate-round-trip.toml",
            "--no-charts",
            "--quiet",
        ])
        .arg("--out")
        .arg(dir.join("run"))
        .arg("--logs")
        .arg(&logs)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = calibrate(&CalibrateInput {
        name: "round-trip".into(),
        logs: LogInputs {
            haproxy: vec![logs.join("haproxy.log")],
            haproxy_format: None,
            haproxy_utc_offset_s: 0,
            nginx: vec![logs.join("web1-access.log"), logs.join("web2-access.log")],
            nginx_format: None,
            mysql_slow: vec![logs.join("slow.log")],
            postgres: Vec::new(),
            window_ns: 10_000_000_000,
            window_auto: false,
            classes: classes::default_rules(),
            since_ns: None,
            until_ns: None,
            keep_arrivals: false,
        },
        cpu: Vec::new(),
        hosts: Vec::new(),
        host_cores: Vec::new(),
        components: Vec::new(),
        workers: Vec::new(),
        cores: None,
        haproxy_config: None,
        nginx_config: None,
        app_config: None,
        db_config: None,
        otlp: Vec::new(),
        jaeger: Vec::new(),
        replay_as: None,
    })
    .unwrap();

    // Rate: 300/s Poisson; the mean over k windows of w seconds has
    // standard error sqrt(300 / (k w)).
    let k = c.windows.len() as f64;
    let rate_se = (300.0 / (k * c.window_s)).sqrt();
    assert!(k >= 10.0, "{k} windows");
    assert!(
        (c.arrivals.mean_rps - 300.0).abs() <= 4.0 * rate_se,
        "rate {} (se {rate_se})",
        c.arrivals.mean_rps
    );
    assert!(!c.arrivals.varies);
    // Mix: a quarter writes, binomial.
    let total: u64 = c.classes.iter().map(|x| x.3).sum();
    let write = c.classes.iter().find(|x| x.0 == "write").unwrap();
    let share_se = (0.25 * 0.75 / total as f64).sqrt();
    assert!(
        (write.1 - 0.25).abs() <= 4.0 * share_se,
        "write share {}",
        write.1
    );

    let time = |tier: &str, class: &str| {
        c.tiers
            .iter()
            .find(|t| t.name == tier)
            .unwrap()
            .times
            .iter()
            .find(|t| t.class == class)
            .unwrap()
            .clone()
    };
    let ms = 1e6;
    // Per-request fits: Nginx's own time (1 ms timers) and the database's
    // (microseconds): mean within 4 SE (sd / sqrt n), cv within 4 SE of the
    // sample cv, and the scenario's family chosen.
    for (tier, class, mean, cv, kurt, family) in [
        ("web", "read", 3.0, 0.5, gamma_kurtosis(0.5), "gamma"),
        ("web", "write", 3.0, 0.5, gamma_kurtosis(0.5), "gamma"),
        ("db", "read", 0.5, 1.0, lognormal_kurtosis(1.0), "lognormal"),
        ("db", "write", 2.0, 0.7, gamma_kurtosis(0.7), "gamma"),
    ] {
        let t = time(tier, class);
        let se = mean * cv / (t.n as f64).sqrt();
        assert!(
            (t.mean_ns / ms - mean).abs() <= 4.0 * se,
            "{tier}/{class} mean {} ms, want {mean} ± {}",
            t.mean_ns / ms,
            4.0 * se
        );
        let cse = cv_se(cv, kurt, t.n);
        assert!(
            (t.cv - cv).abs() <= 4.0 * cse,
            "{tier}/{class} cv {}, want {cv} ± {}",
            t.cv,
            4.0 * cse
        );
        let f = t.fit.as_ref().unwrap();
        assert_eq!(f.candidates[0].name, family, "{tier}/{class}: {}", t.how);
        assert!(t.dist.spell().starts_with(family), "{}", t.dist.spell());
    }
    // Differences of two logs' means (no per-request join): the app's
    // upstream time less the database's, and HAProxy's Ta less Nginx's
    // request time. Their standard error is that of the two means, from
    // the scenario's variances (independent stages, each timer adding 1/6
    // ms² of truncation): upstream = app + db, request = web + app + db,
    // Ta = lb + request.
    let var = |m: f64, cv: f64| (m * cv).powi(2);
    for (class, app_mean, app_cv, db_mean, db_cv) in
        [("read", 4.0, 0.8, 0.5, 1.0), ("write", 6.0, 0.5, 2.0, 0.7)]
    {
        let t = time("app", class);
        let n = t.n as f64;
        let up_var = var(app_mean, app_cv) + var(db_mean, db_cv) + 1.0 / 6.0;
        let se = (up_var / n + var(db_mean, db_cv) / n).sqrt();
        assert!(
            (t.mean_ns / ms - app_mean).abs() <= 4.0 * se,
            "app/{class} mean {} ms, want {app_mean} ± {}",
            t.mean_ns / ms,
            4.0 * se
        );
        let lb = time("lb", class);
        let rt_var = var(3.0, 0.5) + up_var;
        let ta_var = 0.3f64.powi(2) + rt_var;
        let se = (ta_var / lb.n as f64 + rt_var / lb.n as f64).sqrt();
        assert!(
            (lb.mean_ns / ms - 0.3).abs() <= 4.0 * se,
            "lb/{class} mean {} ms, want 0.3 ± {}",
            lb.mean_ns / ms,
            4.0 * se
        );
        // The interval has power: 4 SE under 0.15 ms, half the balancer's mean.
        assert!(4.0 * se < 0.15, "{se}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The round trip from traces: `stacksim run --logs` writes the OTLP JSON
/// traces of scenarios/validation/calibrate-traces-round-trip.toml (two
/// machines, a 1 ms hop into the application), `calibrate --otlp` reads
/// them back, and the tiers, their order, kinds and instances, the
/// machines, each tier's own time per class (mean within 4 standard
/// errors, cv within 4 standard errors of the sample cv) and the hop's
/// network come back.
#[test]
fn calibrate_recovers_a_two_machine_stack_from_its_traces() {
    let dir = std::env::temp_dir().join(format!("stacksim-trace-trip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let logs = dir.join("logs");
    let o = Command::new(env!("CARGO_BIN_EXE_stacksim"))
        .args([
            "run",
            "scenarios/validation/calibrate-traces-round-trip.toml",
            "--no-charts",
            "--quiet",
        ])
        .arg("--out")
        .arg(dir.join("run"))
        .arg("--logs")
        .arg(&logs)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = calibrate(&CalibrateInput {
        name: "traces".into(),
        logs: LogInputs {
            haproxy: Vec::new(),
            haproxy_format: None,
            haproxy_utc_offset_s: 0,
            nginx: Vec::new(),
            nginx_format: None,
            mysql_slow: Vec::new(),
            postgres: Vec::new(),
            window_ns: 10_000_000_000,
            window_auto: false,
            classes: classes::default_rules(),
            since_ns: None,
            until_ns: None,
            keep_arrivals: false,
        },
        cpu: Vec::new(),
        hosts: Vec::new(),
        host_cores: Vec::new(),
        components: Vec::new(),
        workers: Vec::new(),
        cores: None,
        haproxy_config: None,
        nginx_config: None,
        app_config: None,
        db_config: None,
        otlp: vec![logs.join("traces.jsonl")],
        jaeger: Vec::new(),
        replay_as: None,
    })
    .unwrap();
    let names: Vec<(&str, &str, u32)> = c
        .tiers
        .iter()
        .map(|t| (t.name.as_str(), t.kind.kind(), t.instances.value))
        .collect();
    assert_eq!(
        names,
        [
            ("lb", "load-balancer", 1),
            ("web", "web", 2),
            ("app", "app", 1),
            ("db", "database", 1)
        ]
    );
    // Rate and mix, as for the logs.
    let k = c.windows.len() as f64;
    let rate_se = (300.0 / (k * c.window_s)).sqrt();
    assert!(
        (c.arrivals.mean_rps - 300.0).abs() <= 4.0 * rate_se,
        "rate {}",
        c.arrivals.mean_rps
    );
    // Every tier's own time per request, fitted per request (the spans
    // are exact to the nanosecond: no timer quantization).
    let time = |tier: &str, class: &str| {
        c.tiers
            .iter()
            .find(|t| t.name == tier)
            .unwrap()
            .times
            .iter()
            .find(|t| t.class == class)
            .unwrap()
            .clone()
    };
    for (tier, class, mean, cv, kurt) in [
        ("lb", "read", 0.3, 1.0, 6.0),
        ("web", "read", 3.0, 0.5, gamma_kurtosis(0.5)),
        ("web", "write", 3.0, 0.5, gamma_kurtosis(0.5)),
        ("app", "read", 4.0, 0.8, lognormal_kurtosis(0.8)),
        ("app", "write", 6.0, 0.5, lognormal_kurtosis(0.5)),
        ("db", "read", 0.5, 1.0, lognormal_kurtosis(1.0)),
        ("db", "write", 2.0, 0.7, gamma_kurtosis(0.7)),
    ] {
        let t = time(tier, class);
        let se = mean * cv / (t.n as f64).sqrt();
        assert!(
            (t.mean_ns / 1e6 - mean).abs() <= 4.0 * se,
            "{tier}/{class} mean {} ms, want {mean} ± {}",
            t.mean_ns / 1e6,
            4.0 * se
        );
        let cse = cv_se(cv, kurt, t.n);
        assert!(
            (t.cv - cv).abs() <= 4.0 * cse,
            "{tier}/{class} cv {}, want {cv} ± {}",
            t.cv,
            4.0 * cse
        );
    }
    // The hop that crosses machines: a constant 1 ms.
    let app = c.tiers.iter().find(|t| t.name == "app").unwrap();
    let net = app.network_ns.as_ref().expect("the hop into the app");
    assert!((net.value / 1e6 - 1.0).abs() < 1e-3, "{}", net.value);
    assert!(
        c.tiers
            .iter()
            .filter(|t| t.name != "app")
            .all(|t| t.network_ns.is_none())
    );
    // Synchronous calls: every tier but the last waits for the next.
    let holds: Vec<bool> = c.tiers.iter().map(|t| t.hold.is_some()).collect();
    assert_eq!(holds, [true, true, true, false]);
    // The machines the spans name, per tier.
    for (tier, machine) in [("lb", "front"), ("web", "front"), ("app", "back")] {
        assert!(
            c.warnings
                .iter()
                .any(|w| w.starts_with(&format!("tier {tier} ran on {machine} "))),
            "{tier}: {:?}",
            c.warnings
        );
    }
    // The scenario reads back and runs.
    let text = stacksim::calibrate::emit::scenario_toml(&c);
    stacksim::scenario::parse(&text, "traces.toml", None).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
