//! A calibration as a runnable scenario: every number with a comment saying
//! where it came from, and `CHECK` on every value no input held.

use std::fmt::Write as _;

use super::build::{Calibration, ClassTime, Sourced, TierCal};
use super::machines::HostCal;
use super::pauses::PauseReport;
use super::role::Role;
use super::time::NS;
use crate::dist::Dist;
use crate::units::{format_duration, thousands};

/// `2026-12-01T10:50:17Z` of ns since the epoch.
pub fn iso(ns: i64) -> String {
    let secs = ns.div_euclid(NS);
    let days = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    let (y, m, d) = crate::units::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn mark<T>(v: &Sourced<T>) -> String {
    if v.check {
        format!("CHECK: {}", v.source)
    } else {
        v.source.clone()
    }
}

/// Seconds before the first window in the simulated run.
pub const WARMUP_S: u64 = 10;

fn time_line(out: &mut String, t: &ClassTime) {
    let _ = write!(
        out,
        "#   {}: {} requests, mean {:.3} ms, cv {:.2}; {}",
        t.class,
        thousands(t.n),
        t.mean_ns / 1e6,
        t.cv,
        t.how
    );
    for f in &t.flags {
        let _ = write!(out, "; {f}");
    }
    out.push('\n');
}

fn service_value(times: &[ClassTime]) -> String {
    if times.len() == 1 {
        format!("\"{}\"", times[0].dist.spell())
    } else {
        let parts: Vec<String> = times
            .iter()
            .map(|t| format!("{} = \"{}\"", t.class, t.dist.spell()))
            .collect();
        format!("{{ {} }}", parts.join(", "))
    }
}

/// The `pauses` value for a tier the logs' pause episodes point at.
fn pauses_value(t: &TierCal, p: Option<&PauseReport>) -> Option<(String, String)> {
    let p = p?;
    let name = match t.kind {
        Role::Web => "web",
        Role::App => "app",
        Role::Database => "db",
        Role::Balancer => return None,
    };
    if p.tier() != Some(name) {
        return None;
    }
    let (rate, len) = (p.rate_per_s?, p.mean_length_s?);
    let mut ks: Vec<f64> = p
        .episodes
        .iter()
        .filter(|e| e.tier.as_deref() == Some(name))
        .filter_map(|e| e.slowdown)
        .collect();
    ks.sort_by(f64::total_cmp);
    let k = ks.get(ks.len() / 2).copied()?;
    let every = (1.0 / rate - len).max(len);
    Some((
        format!(
            "{{ every = \"exp({})\", length = \"exp({})\", slowdown = {k:.1} }}",
            format_duration((every * 1e9) as u64),
            format_duration((len * 1e9) as u64)
        ),
        format!(
            "{} pause episodes in {} s of logs, {:.1} s long on average, pointing at this tier; slowdown: the median over them of what makes a queue at the tier's utilization in the episode's window grow to the latency seen",
            p.episodes.len(),
            p.seconds_judged,
            len
        ),
    ))
}

#[cfg(test)]
pub(super) fn tier_block_for_test(out: &mut String, t: &TierCal) {
    tier_block(out, t, None);
}

fn tier_block(out: &mut String, t: &TierCal, pauses: Option<&PauseReport>) {
    let pauses = pauses_value(t, pauses);
    let _ = writeln!(out, "[[tier]]");
    let _ = writeln!(out, "name = \"{}\"", t.name);
    let _ = writeln!(out, "kind = \"{}\"", t.kind.kind());
    if t.kind == Role::Database {
        let _ = writeln!(
            out,
            "reads = \"primary\"   # {}",
            if c_from_logs(t) {
                "one server's slow log: no replicas seen"
            } else {
                "one server seen in the traces: no replicas"
            }
        );
        if let Some(h) = &t.hold {
            let _ = writeln!(out, "hold = true   # {h}");
        }
        network_line(out, t);
        let _ = writeln!(out, "# primary workers: {}", mark(&t.workers));
        let _ = writeln!(out, "# primary service per class:");
        for time in &t.times {
            time_line(out, time);
        }
        if let Some(c) = &t.cpu_per_visit_s {
            let _ = writeln!(
                out,
                "# primary cpu: {} (a fraction of the service)",
                mark(c)
            );
        }
        let mut p = format!(
            "primary = {{ workers = {}, service = {}",
            t.workers.value,
            service_value(&t.times)
        );
        if let Some(host) = &t.host {
            let _ = write!(p, ", host = \"{host}\"");
            if let Some(f) = t.cpu_fraction {
                let _ = write!(p, ", cpu = {f:.3}");
            }
        }
        if let Some(w) = t.wake.as_ref().filter(|w| w.separable) {
            let _ = writeln!(out, "# primary wakeup: {}", w.sentence(&t.name));
            let _ = write!(
                p,
                ", wakeup = \"{}\"",
                format_duration((w.wakeup_s.0 * 1e9).round() as u64)
            );
        }
        if let Some((v, why)) = &pauses {
            let _ = writeln!(out, "# primary pauses: {why}");
            let _ = write!(p, ", pauses = {v}");
        }
        p.push_str(" }");
        let _ = writeln!(out, "{p}");
        out.push('\n');
        return;
    }
    if t.instances.value != 1 || t.kind == Role::Web {
        let _ = writeln!(
            out,
            "instances = {}   # {}",
            t.instances.value,
            mark(&t.instances)
        );
    } else if t.instances.check {
        let _ = writeln!(out, "# instances = 1: {}", mark(&t.instances));
    }
    let _ = writeln!(
        out,
        "workers = {}   # {}",
        t.workers.value,
        mark(&t.workers)
    );
    if let (Some(th), true) = (&t.threads, t.host.is_some()) {
        let _ = writeln!(out, "threads = {}   # {}", th.value, mark(th));
    }
    if t.kind == Role::Web && t.instances.value > 1 {
        let _ = writeln!(
            out,
            "balance = \"roundrobin\"   # CHECK: not in any input (HAProxy balances the instances itself)"
        );
    }
    if let Some(h) = &t.hold {
        let _ = writeln!(out, "hold = true   # {h}");
    }
    network_line(out, t);
    let _ = writeln!(out, "# service per class:");
    for time in &t.times {
        time_line(out, time);
    }
    let _ = writeln!(out, "service = {}", service_value(&t.times));
    if let Some(host) = &t.host {
        let _ = writeln!(out, "host = \"{host}\"");
        if let (Some(c), Some(f)) = (&t.cpu_per_visit_s, t.cpu_fraction) {
            let _ = writeln!(
                out,
                "cpu = {f:.3}   # {:.3} ms of CPU per request: {}",
                c.value * 1e3,
                mark(c)
            );
        }
    }
    if let (Some(w), Some(_)) = (t.wake.as_ref().filter(|w| w.separable), &t.host) {
        let _ = writeln!(
            out,
            "wakeup = \"{}\"   # {}",
            format_duration((w.wakeup_s.0 * 1e9).round() as u64),
            w.sentence(&t.name)
        );
    }
    if let Some((v, why)) = &pauses {
        let _ = writeln!(out, "pauses = {v}   # {why}");
    }
    out.push('\n');
}

/// Whether a database tier was calibrated from a slow log.
fn c_from_logs(t: &TierCal) -> bool {
    t.times.iter().any(|x| x.how.contains("slow log")) || t.times.is_empty()
}

fn network_line(out: &mut String, t: &TierCal) {
    if let Some(n) = &t.network_ns {
        let _ = writeln!(
            out,
            "network = \"{}\"   # the hop into it, both ways: {}",
            Dist::Constant(n.value).spell(),
            mark(n)
        );
    }
}

fn host_block(out: &mut String, h: &HostCal) {
    let _ = writeln!(out, "[[host]]");
    match h.machines.as_slice() {
        [] => {
            let _ = writeln!(
                out,
                "name = \"{}\"   # CHECK: every component on one machine",
                h.name
            );
        }
        [one] if *one == h.name => {
            let _ = writeln!(
                out,
                "name = \"{}\"   # a machine of the CPU counters",
                h.name
            );
        }
        many => {
            let _ = writeln!(
                out,
                "name = \"{}\"   # machines {} of the CPU counters: the same tiers and cores",
                h.name,
                many.join(", ")
            );
            if many.len() > 1 {
                let _ = writeln!(out, "instances = {}", many.len());
            }
        }
    }
    let _ = writeln!(out, "cores = {}   # {}", h.cores.value, mark(&h.cores));
    if let Some(b) = &h.background {
        let _ = writeln!(out, "background = \"{:.3} cores\"   # {}", b.value, mark(b));
    }
    if let Some(b) = &h.idle_background {
        let _ = writeln!(
            out,
            "idle_background = \"{:.3} cores\"   # {}",
            b.value,
            mark(b)
        );
    }
    if let Some(o) = &h.off_path_s {
        let _ = writeln!(
            out,
            "off_path_cpu = \"{}\"   # {}",
            format_duration((o.value * 1e9).round() as u64),
            mark(o)
        );
    }
    out.push('\n');
}

/// The logged arrivals as a replay file: `time_s,class`, seconds from the
/// first full window's start (what `replay = "..."` reads).
pub fn arrivals_csv(c: &Calibration) -> String {
    let mut out = String::with_capacity(c.logged_arrivals.len() * 16 + 16);
    out.push_str("time_s,class\n");
    for (t, k) in &c.logged_arrivals {
        let name = c
            .input
            .logs
            .classes
            .get(*k as usize)
            .map_or("request", |r| r.name.as_str());
        let _ = writeln!(out, "{t:.6},{name}");
    }
    out
}

/// The scenario text.
pub fn scenario_toml(c: &Calibration) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Calibrated by `stacksim calibrate` (stacksim {}) from real {}.",
        crate::VERSION,
        if c.input.otlp.is_empty() && c.input.jaeger.is_empty() {
            "logs"
        } else {
            "traces"
        }
    );
    for f in &c.files {
        let _ = writeln!(
            out,
            "#   {} {}: {} lines, {} records, {} skipped",
            f.kind,
            f.path.display(),
            thousands(f.lines),
            thousands(f.records),
            thousands(f.skipped)
        );
    }
    for p in &c.input.cpu {
        let _ = writeln!(out, "#   cpu {}", p.display());
    }
    let first = c.windows.first().map_or(0, |w| w.start_ns);
    let last = c
        .windows
        .last()
        .map_or(0, |w| w.start_ns + (c.window_s * 1e9) as i64);
    let _ = writeln!(
        out,
        "# {} full windows of {} s, {} to {} ({} partial windows dropped).",
        c.windows.len(),
        c.window_s,
        iso(first),
        iso(last),
        c.partial_windows
    );
    let _ = writeln!(
        out,
        "# Each number says where it came from. CHECK marks a value no input held: set it."
    );
    for w in &c.warnings {
        let _ = writeln!(out, "# warning: {w}");
    }
    if let Some(p) = &c.pauses {
        let _ = writeln!(out, "# pauses: {}", p.sentence());
    }
    let _ = writeln!(out, "name = \"{}\"\n", c.name);

    let observed_s = (c.windows.len() as f64 * c.window_s).round() as u64;
    let _ = writeln!(out, "[simulation]");
    let _ = writeln!(
        out,
        "duration = \"{}\"   # the logged span",
        format_duration(observed_s * NS as u64)
    );
    if c.input.replay_as.is_some() {
        let _ = writeln!(
            out,
            "warmup = \"0s\"   # a replay starts at the logged start"
        );
    } else {
        let _ = writeln!(out, "warmup = \"{WARMUP_S}s\"");
    }
    let _ = writeln!(out, "replications = 5");
    let _ = writeln!(out, "seed = 1\n");

    let _ = writeln!(out, "[workload]");
    let a = &c.arrivals;
    let _ = writeln!(
        out,
        "# {:.1} requests/s on average; arrivals' dispersion index {:.2} in 1 s counts (Poisson: 1)",
        a.mean_rps, a.dispersion
    );
    match client_connections(&c.windows) {
        Some((mean, most)) if fixed_pool(mean, most) => {
            let _ = writeln!(
                out,
                "connections = {most}   # HAProxy's frontend held {mean:.1} connections on average (%fc), at most {most}, at every load: the clients keep a fixed pool (a load generator's, an upstream's), which caps the requests outstanding"
            );
        }
        Some((mean, most)) if most >= 2 => {
            let _ = writeln!(
                out,
                "# The clients held {mean:.1} connections on average at HAProxy's frontend (%fc), at most {most} in a window: not a fixed pool, so the workload stays open. A client that caps its connections takes `connections = N` (and `validate --clients N`)."
            );
        }
        _ => {}
    }
    if let Some(path) = &c.input.replay_as {
        let _ = writeln!(
            out,
            "# The logged arrivals, replayed as they came ({} arrivals with their classes; the run starts empty at the first window's start, and every replication replays the same arrivals).",
            c.logged_arrivals.len()
        );
        let _ = writeln!(
            out,
            "replay = \"{}\"",
            path.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let sha = crate::dist::SampleFile::of(path, arrivals_csv(c).as_bytes()).sha256;
        let _ = writeln!(
            out,
            "replay_sha256 = \"{sha}\"   # the file as calibrate wrote it; a changed file is refused"
        );
    } else if a.varies {
        let _ = writeln!(
            out,
            "# The rate varies between windows (constant-rate test p {}): one point per window.",
            super::fit::fmt_p(a.constant_p)
        );
        let _ = writeln!(out, "schedule = [");
        for (i, w) in c.windows.iter().enumerate() {
            let at = if i == 0 {
                0
            } else {
                WARMUP_S + (i as f64 * c.window_s).round() as u64
            };
            let _ = writeln!(
                out,
                "  {{ at = \"{}s\", rate = {:.1} }},   # window from {}",
                at,
                w.rate_rps,
                iso(w.start_ns)
            );
        }
        let _ = writeln!(out, "]");
    } else {
        let _ = writeln!(
            out,
            "rate = {:.1}   # constant across windows (test p {})",
            a.mean_rps,
            super::fit::fmt_p(a.constant_p)
        );
    }
    let classes: Vec<String> = c
        .classes
        .iter()
        .enumerate()
        .map(|(i, (name, share, write, n))| {
            let mut extra = String::new();
            let mut why = Vec::new();
            if let Some(Some(route)) = c.routes.get(i) {
                let steps: Vec<String> = route.iter().map(|t| format!("\"{t}\"")).collect();
                let _ = write!(extra, ", route = [{}]", steps.join(", "));
                why.push("the tiers its traces visit".to_string());
            }
            if let Some(calls) = c.class_calls.get(i).filter(|v| !v.is_empty()) {
                let items: Vec<String> = calls
                    .iter()
                    .map(|(t, mean, var)| {
                        let whole = mean.round();
                        if var.sqrt() < 0.05 && (mean - whole).abs() < 0.05 {
                            format!("\"{t}\" = {}", whole as u64)
                        } else {
                            format!("\"{t}\" = \"geometric(mean = {mean:.2})\"")
                        }
                    })
                    .collect();
                let _ = write!(extra, ", calls = {{ {} }}", items.join(", "));
                why.push(
                    calls
                        .iter()
                        .map(|(t, m, v)| format!("{m:.2} calls to {t} per request (sd {:.2})", v.sqrt()))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            let why = if why.is_empty() {
                String::new()
            } else {
                format!("; {}", why.join("; "))
            };
            format!(
                "  {{ name = \"{name}\", share = {share:.4}, access = \"{}\"{extra} }},   # {} requests{why}",
                if *write { "write" } else { "read" },
                thousands(*n)
            )
        })
        .collect();
    let _ = writeln!(out, "classes = [\n{}\n]\n", classes.join("\n"));

    for h in &c.hosts {
        host_block(&mut out, h);
    }
    for t in &c.tiers {
        tier_block(&mut out, t, c.pauses.as_ref());
    }
    out
}

/// Whether the clients' connections look like a fixed pool: held open at
/// (nearly) the most at every load, as keep-alive pools do, rather than
/// rising and falling with the requests in flight. A tenth below the most
/// allows for connections being re-opened.
pub(crate) fn fixed_pool(mean: f64, most: u32) -> bool {
    most >= 2 && mean >= 0.9 * f64::from(most)
}

/// The clients' concurrent connections over the windows that logged them
/// (HAProxy's `%fc`): mean over the requests, and the most in any window.
pub(crate) fn client_connections(windows: &[super::build::WindowRow]) -> Option<(f64, u32)> {
    let (mut sum, mut n, mut most) = (0.0, 0u64, 0u32);
    for w in windows {
        if let Some((mean, max)) = w.conns {
            let k: u64 = w.class_counts.iter().sum();
            sum += mean * k as f64;
            n += k;
            most = most.max(max);
        }
    }
    (n > 0).then(|| (sum / n as f64, most))
}
