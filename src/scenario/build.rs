//! Walks the parsed TOML document into a validated [`Scenario`].

use toml::de::{DeTable, DeValue};

use super::classes::{declared_tier_names, read_classes, resolve_routes};
use super::faults::{read_client, read_faults};
use super::read::{Reader, Value, field, join};
use super::spec::*;
use super::tiers::read_tiers;
use crate::units::NS_PER_SEC;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "simulation",
    "workload",
    "tier",
    "fault",
    "sweep",
    "host",
];
const SIM_KEYS: &[&str] = &[
    "duration",
    "warmup",
    "replications",
    "seed",
    "sample_every",
    "drain",
];
const WORKLOAD_KEYS: &[&str] = &[
    "rate",
    "schedule",
    "users",
    "replay",
    "replay_sha256",
    "think",
    "classes",
    "timeout",
    "retry",
    "connections",
    "when_busy",
    "clients",
];
/// Reads a whole scenario document, collecting every problem.
pub(crate) fn read_scenario(
    r: &mut Reader,
    doc: &DeTable<'_>,
    default_name: &str,
) -> Option<Scenario> {
    r.check_keys(doc, "", TOP_KEYS);
    let name = match field(doc, "name") {
        Some(v) => r.string(v, "name").and_then(|n| {
            if is_folder_name(&n) {
                Some(n)
            } else {
                r.error(
                    v.span(),
                    "name",
                    "a scenario name becomes a folder name".into(),
                    Some("use letters, digits, `-`, `_` and `.` only".into()),
                );
                None
            }
        }),
        None => Some(folder_name_from(default_name)),
    };
    if let Some(v) = field(doc, "description") {
        r.string(v, "description");
    }
    let simulation = read_simulation(r, doc);
    let empty = DeTable::new();
    let workload = match field(doc, "workload") {
        Some(v) => r.table(v, "workload"),
        None => {
            r.error(
                0..0,
                "workload",
                "the scenario has no [workload] table".into(),
                Some("add e.g. `[workload]` with `rate = 600`".into()),
            );
            None
        }
    };
    let (arrivals, raw_classes) = match workload {
        Some(w) => {
            r.check_keys(w, "workload", WORKLOAD_KEYS);
            (read_arrivals(r, w), read_classes(r, w))
        }
        None => (None, read_classes(r, &empty)),
    };
    let class_names: Vec<String> = raw_classes.iter().map(|c| c.name.clone()).collect();
    let mut arrivals = arrivals;
    resolve_replay(r, workload, &mut arrivals, &class_names);
    let accesses: Vec<Access> = raw_classes.iter().map(|c| c.access).collect();
    let hosts = super::hosts::read_hosts(r, doc);
    let tiers = read_tiers(
        r,
        doc,
        &class_names,
        &accesses,
        hosts.as_deref().unwrap_or(&[]),
    );
    let declared = declared_tier_names(doc);
    let client = match workload {
        Some(w) => read_client(r, w),
        None => Some(Client::default()),
    };
    let faults = read_faults(r, doc, &tiers, &declared, hosts.as_deref().unwrap_or(&[]));
    let sweep = read_sweep(r, doc);
    let classes = resolve_routes(r, raw_classes, &tiers, &declared);
    check_warmup_vs_schedule(r, doc, &simulation, &arrivals);
    check_read_your_writes(r, doc, &tiers, &arrivals, &client);
    if !r.diags.is_empty() {
        return None;
    }
    Some(Scenario {
        name: name?,
        simulation: simulation?,
        arrivals: arrivals?,
        classes: classes?,
        tiers,
        client: client?,
        faults: faults?,
        sweep: sweep?,
        hosts: hosts?,
        document: toml::Table::new(),
        data_files: Vec::new(),
        override_notes: Vec::new(),
    })
}

/// `[sweep]`: `"key" = "100..2000:100"` (a range) or `"key" = [0, 1, 2]`.
fn read_sweep(r: &mut Reader, doc: &DeTable<'_>) -> Option<Vec<super::Axis>> {
    let Some(v) = field(doc, "sweep") else {
        return Some(Vec::new());
    };
    let t = r.table(v, "sweep")?;
    let mut out = Vec::new();
    let mut ok = true;
    for (k, val) in t.iter() {
        let key = k.get_ref().to_string();
        let spec = match val.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Array(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|x| match x.get_ref() {
                        DeValue::String(s) => s.to_string(),
                        DeValue::Integer(i) => i.to_string(),
                        DeValue::Float(f) => f.as_str().to_string(),
                        DeValue::Boolean(b) => b.to_string(),
                        _ => String::new(),
                    })
                    .collect();
                Some(parts.join(","))
            }
            _ => None,
        };
        match spec.map(|s| super::Axis::from_spec(&key, &s)) {
            Some(Ok(a)) => out.push(a),
            Some(Err(e)) => {
                r.error(
                    val.span(),
                    &format!("sweep.{key}"),
                    e,
                    Some("a range \"100..2000:100\" or a list [0, 1, 2]".into()),
                );
                ok = false;
            }
            None => {
                r.error(
                    val.span(),
                    &format!("sweep.{key}"),
                    "expected a range string or a list".into(),
                    Some("e.g. \"workload.rate\" = \"100..2000:100\"".into()),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn read_simulation(r: &mut Reader, doc: &DeTable<'_>) -> Option<Simulation> {
    let mut sim = Simulation {
        duration_ns: 60 * NS_PER_SEC,
        warmup: Warmup::Fixed(10 * NS_PER_SEC),
        replications: 10,
        seed: 1,
        sample_every_ns: NS_PER_SEC,
        drain_ns: 0,
    };
    let mut drain = None;
    let mut ok = true;
    if let Some(v) = field(doc, "simulation") {
        let t = r.table(v, "simulation")?;
        r.check_keys(t, "simulation", SIM_KEYS);
        let mut get = |key: &str, f: &mut dyn FnMut(&mut Reader, &Value<'_>, &str) -> bool| {
            if let Some(v) = field(t, key) {
                ok &= f(r, v, &join("simulation", key));
            }
        };
        get("duration", &mut |r, v, k| {
            r.positive_duration(v, k)
                .map(|x| sim.duration_ns = x)
                .is_some()
        });
        get("warmup", &mut |r, v, k| {
            if matches!(v.get_ref(), DeValue::String(s) if s == "auto") {
                sim.warmup = Warmup::Auto;
                return true;
            }
            r.duration(v, k)
                .map(|x| sim.warmup = Warmup::Fixed(x))
                .is_some()
        });
        get("replications", &mut |r, v, k| {
            r.int(v, k, 1, 100_000)
                .map(|x| sim.replications = x as u32)
                .is_some()
        });
        get("seed", &mut |r, v, k| {
            r.int(v, k, 0, i64::MAX)
                .map(|x| sim.seed = x as u64)
                .is_some()
        });
        get("sample_every", &mut |r, v, k| {
            r.positive_duration(v, k)
                .map(|x| sim.sample_every_ns = x)
                .is_some()
        });
        get("drain", &mut |r, v, k| {
            r.duration(v, k).map(|x| drain = Some(x)).is_some()
        });
    }
    sim.drain_ns = drain.unwrap_or(sim.duration_ns);
    ok.then_some(sim)
}

/// `replay = "arrivals.csv"`: a CSV of `time_s,class` (seconds from the
/// start of the run, class name), as `stacksim calibrate --arrivals`
/// writes it. Class names are resolved once the classes are read.
fn read_replay(r: &mut Reader, v: &Value<'_>, sha: Option<&Value<'_>>) -> Option<Arrivals> {
    let path = r.string(v, "workload.replay")?;
    let full = r.data_path(&path);
    let text = match super::files::read_data(&full) {
        Ok(t) => t,
        Err(e) => {
            r.error(
                v.span(),
                "workload.replay",
                e,
                Some("the path is relative to the scenario file".into()),
            );
            return None;
        }
    };
    let mut rows: Vec<(u64, String)> = Vec::new();
    let mut bad: Option<String> = None;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header_ok = rdr
        .headers()
        .is_ok_and(|h| h.get(0) == Some("time_s") && h.get(1) == Some("class"));
    if !header_ok {
        bad = Some("the first line must be the header `time_s,class`".into());
    }
    for (i, rec) in rdr.records().enumerate() {
        if bad.is_some() {
            break;
        }
        let line = i + 2;
        let parsed = rec.ok().and_then(|rec| {
            let t: f64 = rec.get(0)?.parse().ok()?;
            let c = rec.get(1)?.to_string();
            ((0.0..1e9).contains(&t) && !c.is_empty()).then_some(((t * 1e9) as u64, c))
        });
        match parsed {
            Some(row) => rows.push(row),
            None => {
                bad = Some(format!(
                    "line {line} is not `seconds,class` with seconds of 0 or more"
                ))
            }
        }
    }
    if bad.is_none() && rows.is_empty() {
        bad = Some("the file holds no arrival".into());
    }
    if let Some(b) = bad {
        r.error(
            v.span(),
            "workload.replay",
            format!("{}: {b}", full.display()),
            Some("write it with `stacksim calibrate --arrivals FILE`".into()),
        );
        return None;
    }
    rows.sort_by_key(|x| x.0);
    // The text is valid UTF-8: its bytes are the file's bytes.
    let file = crate::dist::SampleFile::of(&path, text.as_bytes());
    if let Some(sv) = sha
        && let Some(want) = r.string(sv, "workload.replay_sha256")
        && !want.trim().eq_ignore_ascii_case(&file.sha256)
    {
        r.error(
            sv.span(),
            "workload.replay_sha256",
            format!(
                "{} has changed since this scenario was written: its SHA-256 is {}",
                full.display(),
                file.sha256
            ),
            Some("run `stacksim calibrate` again (it writes both files), or remove `replay_sha256` to replay the file as it is now".into()),
        );
        return None;
    }
    let times: Vec<u64> = rows.iter().map(|x| x.0).collect();
    r.record_data_file(
        "workload.replay",
        file,
        rows.len(),
        super::DataSummary::of_arrivals(&times),
    );
    Some(Arrivals::Replay(Replay {
        path,
        times_ns: times,
        // Names wait in `pending_classes` until the classes are known.
        classes: Vec::new(),
    }))
    .inspect(|_| r.pending_replay_classes = rows.into_iter().map(|x| x.1).collect())
}

/// Gives each replayed arrival its class index; a name no class has is an
/// error at the `replay` key.
fn resolve_replay(
    r: &mut Reader,
    w: Option<&DeTable<'_>>,
    arrivals: &mut Option<Arrivals>,
    names: &[String],
) {
    let Some(Arrivals::Replay(rep)) = arrivals else {
        return;
    };
    let pending = std::mem::take(&mut r.pending_replay_classes);
    let mut out = Vec::with_capacity(pending.len());
    for (i, n) in pending.iter().enumerate() {
        match names.iter().position(|c| c == n) {
            Some(c) => out.push(c as u16),
            None => {
                let span = w
                    .and_then(|w| field(w, "replay"))
                    .map_or(0..0, |v| v.span());
                r.error(
                    span,
                    "workload.replay",
                    format!(
                        "arrival {} (line {}) has class `{n}`, which the workload does not declare",
                        i + 1,
                        i + 2
                    ),
                    Some(format!("declared classes: {}", names.join(", "))),
                );
                *arrivals = None;
                return;
            }
        }
    }
    rep.classes = out;
}

fn read_arrivals(r: &mut Reader, w: &DeTable<'_>) -> Option<Arrivals> {
    let rate = field(w, "rate");
    let schedule = field(w, "schedule");
    let users = field(w, "users");
    let replay = field(w, "replay");
    let given: Vec<&Value<'_>> = [rate, schedule, users, replay]
        .into_iter()
        .flatten()
        .collect();
    if given.len() != 1 {
        let span = given.get(1).map_or(0..0, |v| v.span());
        r.error(
            span,
            "workload",
            if given.is_empty() {
                "the workload has no arrivals".into()
            } else {
                "give only one of `rate`, `schedule`, `replay` and `users`".into()
            },
            Some("open: `rate = 600`, `schedule = [...]` or `replay = \"arrivals.csv\"`; closed: `users = 50` with `think = \"exp(1s)\"`".into()),
        );
        return None;
    }
    let sha = field(w, "replay_sha256");
    if let Some(v) = replay {
        return read_replay(r, v, sha);
    }
    if let Some(v) = sha {
        r.error(
            v.span(),
            "workload.replay_sha256",
            "`replay_sha256` pins the file of `replay`, which is not given".into(),
            Some("remove it, or add `replay = \"arrivals.csv\"`".into()),
        );
    }
    if let Some(t) = field(w, "think")
        && users.is_none()
    {
        r.error(
            t.span(),
            "workload.think",
            "`think` applies to a closed workload only".into(),
            Some("add `users = N` or remove `think`".into()),
        );
    }
    if let Some(v) = rate {
        return r
            .positive(v, "workload.rate", 1e9)
            .map(|rate_rps| Arrivals::Poisson { rate_rps });
    }
    if let Some(v) = users {
        if let Some(c) = field(w, "connections") {
            r.error(
                c.span(),
                "workload.connections",
                "`connections` caps an open workload's requests outstanding; a closed one has one per user already".into(),
                Some("remove `connections`, or give `rate` instead of `users`".into()),
            );
        }
        let n = r.int(v, "workload.users", 1, 10_000_000);
        let think = match field(w, "think") {
            Some(t) => r.dist(t, "workload.think").and_then(|d| {
                if d.mean() > 0.0 {
                    Some(d)
                } else {
                    r.error(t.span(), "workload.think", "a think time must have a mean above zero".into(), Some("users that never think would send requests without simulated time passing".into()));
                    None
                }
            }),
            None => {
                r.error(
                    v.span(),
                    "workload.users",
                    "a closed workload needs `think`".into(),
                    Some("add e.g. `think = \"exp(1s)\"`".into()),
                );
                None
            }
        };
        return Some(Arrivals::Closed {
            users: n? as u32,
            think: think?,
        });
    }
    let v = schedule?;
    let items = r.array(v, "workload.schedule")?;
    if items.is_empty() {
        r.error(
            v.span(),
            "workload.schedule",
            "the schedule is empty".into(),
            Some("add points like { at = \"0s\", rate = 200 }".into()),
        );
        return None;
    }
    let mut points = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let key = format!("workload.schedule[{i}]");
        let Some(t) = r.table(item, &key) else {
            ok = false;
            continue;
        };
        r.check_keys(t, &key, &["at", "rate", "ramp"]);
        let at = match field(t, "at") {
            Some(v) => r.duration(v, &join(&key, "at")),
            None => {
                r.error(
                    item.span(),
                    &key,
                    "a schedule point needs `at`".into(),
                    None,
                );
                None
            }
        };
        let rate = match field(t, "rate") {
            Some(v) => r.number(v, &join(&key, "rate")).and_then(|x| {
                if (0.0..=1e9).contains(&x) {
                    Some(x)
                } else {
                    r.error(
                        v.span(),
                        &join(&key, "rate"),
                        format!("a rate must be between 0 and 1e9 requests/s, found {x}"),
                        None,
                    );
                    None
                }
            }),
            None => {
                r.error(
                    item.span(),
                    &key,
                    "a schedule point needs `rate` (requests/s)".into(),
                    None,
                );
                None
            }
        };
        let ramp = field(t, "ramp").map_or(Some(false), |v| r.boolean(v, &join(&key, "ramp")));
        match (at, rate, ramp) {
            (Some(at_ns), Some(rate_rps), Some(ramp)) => {
                if let Some(prev) = points.last().map(|p: &RatePoint| p.at_ns)
                    && at_ns <= prev
                {
                    let span = field(t, "at").map_or(item.span(), |v| v.span());
                    r.error(
                        span,
                        &join(&key, "at"),
                        "schedule times must increase".into(),
                        None,
                    );
                    ok = false;
                }
                if ramp && i == 0 {
                    r.error(
                        item.span(),
                        &join(&key, "ramp"),
                        "the first point has nothing to ramp from".into(),
                        Some("remove `ramp` from the first point".into()),
                    );
                    ok = false;
                }
                points.push(RatePoint {
                    at_ns,
                    rate_rps,
                    ramp,
                });
            }
            _ => ok = false,
        }
    }
    if ok && points.iter().all(|p| p.rate_rps == 0.0) {
        r.error(
            v.span(),
            "workload.schedule",
            "every rate in the schedule is zero".into(),
            None,
        );
        ok = false;
    }
    ok.then_some(Arrivals::Schedule(points))
}

/// Read-your-writes routing needs to know whose read follows whose write:
/// a closed workload's users, or an open one's `clients`.
fn check_read_your_writes(
    r: &mut Reader,
    doc: &DeTable<'_>,
    tiers: &[Tier],
    arrivals: &Option<Arrivals>,
    client: &Option<Client>,
) {
    let closed = matches!(arrivals, Some(Arrivals::Closed { .. }));
    let has_clients = client.as_ref().is_some_and(|c| c.clients.is_some());
    if closed || has_clients || arrivals.is_none() {
        return;
    }
    for t in tiers {
        if t.replication
            .as_ref()
            .is_some_and(|x| x.read_your_writes_ns.is_some())
        {
            let span = field(doc, "workload").map_or(0..0, |v| v.span());
            r.error(
                span,
                &format!("tier.{}.replication.read_your_writes", t.name),
                "read-your-writes routing needs to know each request's client, and this open workload names none".into(),
                Some("add `clients = 10000` to [workload] (each arrival from one of that many clients), or use `users`".into()),
            );
        }
    }
}

fn check_warmup_vs_schedule(
    r: &mut Reader,
    doc: &DeTable<'_>,
    sim: &Option<Simulation>,
    arrivals: &Option<Arrivals>,
) {
    let (Some(sim), Some(Arrivals::Schedule(points))) = (sim, arrivals) else {
        return;
    };
    // A run shortened on the command line (`--duration 20s`) deliberately
    // stops before the later points; an automatic warm-up only lengthens it.
    let from_command_line = field(doc, "simulation")
        .and_then(|v| v.get_ref().as_table())
        .is_some_and(|t| {
            ["duration", "warmup"]
                .iter()
                .any(|k| field(t, k).is_some_and(|v| v.span().start > r.src_len))
        });
    if from_command_line || sim.warmup == Warmup::Auto {
        return;
    }
    if let Some(last) = points.last()
        && last.at_ns >= sim.window_end_ns()
    {
        let span = field(doc, "workload").map_or(0..0, |v| v.span());
        r.error(
            span,
            "workload.schedule",
            "the schedule has points after the end of the run".into(),
            Some("the run ends at warmup + duration; drop the later points or run longer".into()),
        );
    }
}

/// Whether `name` is safe as a folder name under `output/`: letters,
/// digits, `-`, `_` and `.`, not starting with a dot (no `..`, no hidden
/// folder, no path separator).
fn is_folder_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

/// A scenario's name from its file's stem, made safe as a folder name:
/// other characters become `-`, leading dots go (`...toml` would otherwise
/// name `output/..`); nothing left gives `scenario`.
pub(crate) fn folder_name_from(stem: &str) -> String {
    let mapped: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = mapped.trim_start_matches('.');
    if is_folder_name(name) {
        name.to_string()
    } else {
        "scenario".to_string()
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn a_file_stem_becomes_a_safe_folder_name() {
        assert_eq!(folder_name_from("mystack"), "mystack");
        assert_eq!(folder_name_from(".."), "scenario");
        assert_eq!(folder_name_from("..."), "scenario");
        assert_eq!(folder_name_from(".hidden"), "hidden");
        assert_eq!(folder_name_from("my stack (v2)"), "my-stack--v2-");
        assert_eq!(folder_name_from("caf\u{e9}"), "caf-");
        assert!(!is_folder_name("a/b") && !is_folder_name("..") && is_folder_name("a.b"));
    }
}
