//! Failures, health checks, failover, timeouts, retries and scripted faults:
//! their validated form and how they are read.

use serde::Serialize;
use toml::de::DeTable;

use super::read::{Reader, Value, field, join};
use super::spec::{Role, Tier};
use crate::dist::Dist;

/// Random failures of each instance of a pool.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failures {
    /// Time from a repair (or the start) to the next failure.
    pub time_to_failure: Dist,
    /// Time from a failure to its repair.
    pub time_to_repair: Dist,
}

/// Random pauses of each instance of a pool (`pauses`): episodes in which
/// its services run `slowdown` times longer (a garbage collection, a
/// checkpoint or flush, CPU steal from a noisy neighbour).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pauses {
    /// Time from a pause's end (or the start) to the next pause.
    pub every: Dist,
    /// Length of a pause.
    pub length: Dist,
    /// Service times of visits that start during a pause are multiplied by
    /// this (at least 1).
    pub slowdown: f64,
}

/// HAProxy-style health checks of the instances a tier sends to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HealthCheck {
    /// Time between checks of one instance (ns).
    pub interval_ns: u64,
    /// How long a check of a dead instance takes to fail (ns).
    pub timeout_ns: u64,
    /// Consecutive failed checks that mark an instance down.
    pub fall: u32,
    /// Consecutive passed checks that mark it up again.
    pub rise: u32,
}

/// Database failover: detection, then promotion of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Failover {
    /// From the primary's failure to its detection (ns).
    pub detection_ns: u64,
    /// From detection to a replica taking writes (ns).
    pub promotion_ns: u64,
}

/// Client retries of failed or timed-out requests.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Backoff before the first retry (ns); doubles per retry.
    pub backoff_ns: u64,
    /// Cap on the backoff (ns).
    pub max_backoff_ns: u64,
    /// Full jitter: the wait is uniform on [0, backoff].
    pub jitter: bool,
    /// Retry budget: retries may be at most this fraction of first attempts.
    pub budget: Option<f64>,
}

/// What the client does: timeout, retries, and how many requests it
/// keeps outstanding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Client {
    /// End-to-end timeout per attempt (ns).
    pub timeout_ns: Option<u64>,
    /// Retries of failed attempts.
    pub retry: Option<Retry>,
    /// A cap on requests outstanding (a load generator's or a connection
    /// pool's connections); none for a client that sends every arrival.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Connections>,
    /// Distinct clients an open workload's arrivals come from, each
    /// arrival from one drawn uniformly (`clients`); a closed workload's
    /// users are its clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
}

/// The client's connections: at most `limit` requests outstanding at once
/// (from send to answer, retries included); an arrival that finds every
/// connection busy waits for one in arrival order, or is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Connections {
    /// Connections (requests outstanding at most).
    pub limit: u32,
    /// Refuse an arrival that finds every connection busy (else it waits).
    pub refuse: bool,
}

/// Which instances a scripted fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// Every instance of the tier.
    Tier,
    /// One instance (index in the tier's first pool).
    Instance(u32),
    /// A database role.
    Role(Role),
    /// One read replica of a database (index among its replicas).
    Replica(u32),
    /// One shard of a sharded database: its primary, its replicas, or both.
    Shard {
        /// Shard index.
        shard: u32,
        /// The role hit; `None`: the whole shard.
        role: Option<Role>,
    },
    /// Every component on the machines of a host group (one machine, or all).
    Host {
        /// Index into the scenario's hosts.
        group: usize,
        /// One machine of the group, or every machine.
        machine: Option<u32>,
    },
}

/// What a scripted fault does.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The instances crash and stay down for the duration.
    Down,
    /// Service times are multiplied by the factor for the duration.
    Slow(f64),
}

/// A scripted fault.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fault {
    /// Start (ns from the beginning of the run).
    pub at_ns: u64,
    /// Length (ns).
    pub duration_ns: u64,
    /// Tier index (0, and unused, for a host fault).
    pub tier: usize,
    /// Which instances.
    pub target: FaultTarget,
    /// Outage or slowdown.
    pub kind: FaultKind,
}

/// Reads `failures = { time_to_failure = "...", time_to_repair = "..." }`.
pub(crate) fn read_failures(
    r: &mut Reader,
    t: &DeTable<'_>,
    key: &str,
) -> Option<Option<Failures>> {
    let Some(v) = field(t, "failures") else {
        return Some(None);
    };
    let key = join(key, "failures");
    let ft = r.table(v, &key)?;
    r.check_keys(ft, &key, &["time_to_failure", "time_to_repair"]);
    const HINT: &str =
        "e.g. failures = { time_to_failure = \"exp(6h)\", time_to_repair = \"exp(10m)\" }";
    let ttf = timing(r, ft, v, &key, "time_to_failure", HINT);
    let ttr = timing(r, ft, v, &key, "time_to_repair", HINT);
    Some(Some(Failures {
        time_to_failure: ttf?,
        time_to_repair: ttr?,
    }))
}

/// Reads `pauses = { every = "exp(5m)", length = "exp(2s)", slowdown = 20 }`.
pub(crate) fn read_pauses(r: &mut Reader, t: &DeTable<'_>, key: &str) -> Option<Option<Pauses>> {
    let Some(v) = field(t, "pauses") else {
        return Some(None);
    };
    let key = join(key, "pauses");
    let pt = r.table(v, &key)?;
    r.check_keys(pt, &key, &["every", "length", "slowdown"]);
    const HINT: &str = "e.g. pauses = { every = \"exp(5m)\", length = \"exp(2s)\", slowdown = 20 }";
    let every = timing(r, pt, v, &key, "every", HINT);
    let length = timing(r, pt, v, &key, "length", HINT);
    let slowdown = match field(pt, "slowdown") {
        Some(x) => r.positive(x, &join(&key, "slowdown"), 1e6).and_then(|k| {
            if k >= 1.0 {
                Some(k)
            } else {
                r.error(
                    x.span(),
                    &join(&key, "slowdown"),
                    "a pause slows services down: `slowdown` is at least 1".into(),
                    Some("2 doubles service times during a pause; 1 changes nothing".into()),
                );
                None
            }
        }),
        None => {
            r.error(
                v.span(),
                &key,
                "`pauses` needs `slowdown`".into(),
                Some(HINT.into()),
            );
            None
        }
    };
    Some(Some(Pauses {
        every: every?,
        length: length?,
        slowdown: slowdown?,
    }))
}

/// A distribution of time with a mean above zero, `name` of table `t`
/// (`v`, at `key`): an error with `hint` when it is missing.
fn timing(
    r: &mut Reader,
    t: &DeTable<'_>,
    v: &Value<'_>,
    key: &str,
    name: &str,
    hint: &str,
) -> Option<Dist> {
    let Some(d) = field(t, name) else {
        let table = key.rsplit('.').next().unwrap_or(key);
        r.error(
            v.span(),
            key,
            format!("`{table}` needs `{name}`"),
            Some(hint.into()),
        );
        return None;
    };
    let d = r.dist(d, &join(key, name))?;
    if d.mean() > 0.0 {
        return Some(d);
    }
    r.error(
        d_span(t, name),
        &join(key, name),
        "must have a mean above zero".into(),
        None,
    );
    None
}

fn d_span(t: &DeTable<'_>, name: &str) -> std::ops::Range<usize> {
    field(t, name).map_or(0..0, |v| v.span())
}

/// Reads `health_check = { interval, timeout, fall, rise }`.
pub(crate) fn read_health_check(r: &mut Reader, v: &Value<'_>, key: &str) -> Option<HealthCheck> {
    let t = r.table(v, key)?;
    r.check_keys(t, key, &["interval", "timeout", "fall", "rise"]);
    let interval =
        field(t, "interval").map_or(Some(2_000_000_000), |x| r.period(x, &join(key, "interval")));
    let timeout = field(t, "timeout").map_or(Some(1_000_000_000), |x| {
        r.positive_duration(x, &join(key, "timeout"))
    });
    let fall = field(t, "fall").map_or(Some(3), |x| r.int(x, &join(key, "fall"), 1, 1000));
    let rise = field(t, "rise").map_or(Some(2), |x| r.int(x, &join(key, "rise"), 1, 1000));
    let (interval_ns, timeout_ns) = (interval?, timeout?);
    if timeout_ns >= interval_ns {
        r.error(
            field(t, "timeout").map_or(v.span(), |x| x.span()),
            &join(key, "timeout"),
            "a health check's timeout must be shorter than its interval".into(),
            Some(
                "checks start every `interval`; one cannot still be waiting when the next begins"
                    .into(),
            ),
        );
        return None;
    }
    Some(HealthCheck {
        interval_ns,
        timeout_ns,
        fall: fall? as u32,
        rise: rise? as u32,
    })
}

/// Reads `failover = { detection, promotion }` for a database.
pub(crate) fn read_failover(
    r: &mut Reader,
    v: &Value<'_>,
    key: &str,
    replicas: Option<u32>,
) -> Option<Failover> {
    let t = r.table(v, key)?;
    r.check_keys(t, key, &["detection", "promotion"]);
    let detection = field(t, "detection").map_or(Some(10_000_000_000), |x| {
        r.duration(x, &join(key, "detection"))
    });
    let promotion = field(t, "promotion").map_or(Some(20_000_000_000), |x| {
        r.duration(x, &join(key, "promotion"))
    });
    if replicas == Some(0) {
        r.error(
            v.span(),
            key,
            "failover needs a replica to promote, and this database has none".into(),
            Some("add `replicas = { count = 1, ... }` or remove `failover`".into()),
        );
        return None;
    }
    Some(Failover {
        detection_ns: detection?,
        promotion_ns: promotion?,
    })
}

/// Reads the client's `timeout` and `retry` from `[workload]`.
pub(crate) fn read_client(r: &mut Reader, w: &DeTable<'_>) -> Option<Client> {
    // Read both before giving up, so both report their problems.
    let timeout_ns = field(w, "timeout").map(|v| r.positive_duration(v, "workload.timeout"));
    let retry = field(w, "retry").map(|v| read_retry(r, v, "workload.retry"));
    let connections = read_connections(r, w);
    let clients = match field(w, "clients") {
        None => Some(None),
        Some(v) if field(w, "users").is_some() => {
            r.error(
                v.span(),
                "workload.clients",
                "`clients` names an open workload's clients; a closed one's users are its clients"
                    .into(),
                Some("remove `clients`".into()),
            );
            None
        }
        Some(v) => r
            .int(v, "workload.clients", 1, 10_000_000)
            .map(|n| Some(n as u32)),
    };
    Some(Client {
        timeout_ns: timeout_ns.map_or(Some(None), |t| t.map(Some))?,
        retry: retry.map_or(Some(None), |t| t.map(Some))?,
        connections: connections?,
        clients: clients?,
    })
}

/// `connections = N` and `when_busy = "wait" | "refuse"`.
fn read_connections(r: &mut Reader, w: &DeTable<'_>) -> Option<Option<Connections>> {
    let limit = field(w, "connections").map(|v| r.int(v, "workload.connections", 1, 10_000_000));
    let refuse = match field(w, "when_busy") {
        None => Some(false),
        Some(v) => match r.string(v, "workload.when_busy").as_deref() {
            Some("wait") => Some(false),
            Some("refuse") => Some(true),
            Some(other) => {
                r.error(
                    v.span(),
                    "workload.when_busy",
                    format!("unknown `when_busy` \"{other}\""),
                    Some("`\"wait\"` (an arrival waits for a free connection, as a load generator's queue does) or `\"refuse\"` (it is dropped)".into()),
                );
                None
            }
            None => None,
        },
    };
    if let (None, Some(v)) = (&limit, field(w, "when_busy")) {
        r.error(
            v.span(),
            "workload.when_busy",
            "`when_busy` applies to a client with `connections`".into(),
            Some(
                "add `connections = N` (requests outstanding at most) or remove `when_busy`".into(),
            ),
        );
        return None;
    }
    match limit {
        None => Some(None),
        Some(l) => Some(Some(Connections {
            limit: l? as u32,
            refuse: refuse?,
        })),
    }
}

fn read_retry(r: &mut Reader, v: &Value<'_>, key: &str) -> Option<Retry> {
    let t = r.table(v, key)?;
    r.check_keys(
        t,
        key,
        &["attempts", "backoff", "max_backoff", "jitter", "budget"],
    );
    let attempts =
        field(t, "attempts").map_or(Some(3), |x| r.int(x, &join(key, "attempts"), 1, 100));
    let backoff =
        field(t, "backoff").map_or(Some(100_000_000), |x| r.duration(x, &join(key, "backoff")));
    let max_backoff = field(t, "max_backoff").map_or(Some(10_000_000_000), |x| {
        r.duration(x, &join(key, "max_backoff"))
    });
    let jitter = field(t, "jitter").map_or(Some(true), |x| r.boolean(x, &join(key, "jitter")));
    let budget = match field(t, "budget") {
        Some(x) => Some(r.positive(x, &join(key, "budget"), 10.0)?),
        None => None,
    };
    let (backoff_ns, max_backoff_ns) = (backoff?, max_backoff?);
    if max_backoff_ns < backoff_ns {
        r.error(
            field(t, "max_backoff").map_or(v.span(), |x| x.span()),
            &join(key, "max_backoff"),
            "must be at least `backoff`".into(),
            None,
        );
        return None;
    }
    Some(Retry {
        attempts: attempts? as u32,
        backoff_ns,
        max_backoff_ns,
        jitter: jitter?,
        budget,
    })
}

/// Reads the `[[fault]]` array against the tiers.
pub(crate) fn read_faults(
    r: &mut Reader,
    doc: &DeTable<'_>,
    tiers: &[Tier],
    declared: &[String],
    hosts: &[super::Host],
) -> Option<Vec<Fault>> {
    let Some(v) = field(doc, "fault") else {
        return Some(Vec::new());
    };
    let items = r.array(v, "fault")?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let key = format!("fault[{i}]");
        let Some(t) = r.table(item, &key) else {
            ok = false;
            continue;
        };
        r.check_keys(
            t,
            &key,
            &[
                "at", "duration", "tier", "host", "instance", "role", "kind", "factor", "shard",
            ],
        );
        match read_fault(r, t, item, &key, tiers, declared, hosts) {
            Some(f) => out.push(f),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_fault(
    r: &mut Reader,
    t: &DeTable<'_>,
    item: &Value<'_>,
    key: &str,
    tiers: &[Tier],
    declared: &[String],
    hosts: &[super::Host],
) -> Option<Fault> {
    let need = |r: &mut Reader, name: &str| {
        if field(t, name).is_none() {
            r.error(item.span(), key, format!("a fault needs `{name}`"), Some("e.g. { at = \"2m\", duration = \"30s\", tier = \"db\", role = \"primary\", kind = \"down\" }".into()));
        }
        field(t, name)
    };
    let at = need(r, "at").and_then(|v| r.duration(v, &join(key, "at")));
    let duration = need(r, "duration").and_then(|v| r.positive_duration(v, &join(key, "duration")));
    let kind_word = field(t, "kind").map_or(Some("down"), |v| {
        r.choice(v, &join(key, "kind"), &[("down", "down"), ("slow", "slow")])
    });
    let factor = match (kind_word, field(t, "factor")) {
        (Some("slow"), Some(v)) => r.positive(v, &join(key, "factor"), 1e6),
        (Some("slow"), None) => {
            r.error(
                item.span(),
                key,
                "a slowdown needs `factor`".into(),
                Some("e.g. factor = 5: service times five times longer".into()),
            );
            None
        }
        (_, Some(v)) => {
            r.error(
                v.span(),
                &join(key, "factor"),
                "`factor` applies to kind = \"slow\" only".into(),
                None,
            );
            None
        }
        (_, None) => Some(1.0),
    };
    if let Some(hv) = field(t, "host") {
        // A machine (or a group) fails: everything placed on it.
        let group = super::hosts::read_host_ref(r, hv, &join(key, "host"), hosts)?;
        if let Some(x) = field(t, "tier").or(field(t, "role")) {
            r.error(
                x.span(),
                key,
                "give `host` or `tier`/`role`, not both".into(),
                None,
            );
            return None;
        }
        let machine = match field(t, "instance") {
            Some(v) => {
                let n = hosts[group].instances;
                let idx = r.int(v, &join(key, "instance"), 0, i64::from(u32::MAX))?;
                if idx >= i64::from(n) {
                    r.error(
                        v.span(),
                        &join(key, "instance"),
                        format!("host `{}` has no machine {idx}", hosts[group].name),
                        Some(format!(
                            "machines are numbered 0 to {}",
                            n.saturating_sub(1)
                        )),
                    );
                    return None;
                }
                Some(idx as u32)
            }
            None => None,
        };
        let kind = match kind_word? {
            "slow" => FaultKind::Slow(factor?),
            _ => FaultKind::Down,
        };
        return Some(Fault {
            at_ns: at?,
            duration_ns: duration?,
            tier: 0,
            target: FaultTarget::Host { group, machine },
            kind,
        });
    }
    let tier_v = need(r, "tier")?;
    let name = r.string(tier_v, &join(key, "tier"))?;
    let Some(ti) = tiers.iter().position(|x| x.name == name) else {
        if !declared.contains(&name) {
            let names: Vec<&str> = declared.iter().map(String::as_str).collect();
            r.error(
                tier_v.span(),
                &join(key, "tier"),
                format!("no tier named `{name}`"),
                Some(format!("tiers: {}", names.join(", "))),
            );
        }
        return None;
    };
    let tier = &tiers[ti];
    let replicas = tier
        .pools
        .iter()
        .find(|p| p.role == Role::Replicas)
        .map_or(0, |p| p.instances);
    let target = if let Some(v) = field(t, "shard") {
        read_shard_target(r, t, v, key, tier)?
    } else {
        match (field(t, "instance"), field(t, "role")) {
            (Some(a), Some(v)) => {
                let role = r.choice(
                    v,
                    &join(key, "role"),
                    &[("primary", Role::Primary), ("replicas", Role::Replicas)],
                )?;
                let idx = r.int(a, &join(key, "instance"), 0, i64::from(u32::MAX))?;
                let n = if role == Role::Replicas { replicas } else { 1 };
                if idx >= i64::from(n) {
                    r.error(
                        a.span(),
                        &join(key, "instance"),
                        format!("tier `{name}` has no {} {idx}", role.as_str()),
                        Some(if n == 0 {
                            format!("tier `{name}` has no {}", role.as_str())
                        } else {
                            format!(
                                "its {} are numbered 0 to {}",
                                role.as_str(),
                                n.saturating_sub(1)
                            )
                        }),
                    );
                    return None;
                }
                match role {
                    Role::Replicas => FaultTarget::Replica(idx as u32),
                    r => FaultTarget::Role(r),
                }
            }
            (Some(v), None) => {
                let n = tier.pools[0].instances;
                let idx = r.int(v, &join(key, "instance"), 0, i64::from(u32::MAX))?;
                if idx >= i64::from(n) {
                    let hint = if replicas > 0 {
                        format!(
                            "`instance` alone is the primary (0); one replica is `role = \"replicas\", instance = K` (0 to {})",
                            replicas - 1
                        )
                    } else {
                        format!("instances are numbered 0 to {}", n.saturating_sub(1))
                    };
                    r.error(
                        v.span(),
                        &join(key, "instance"),
                        format!("tier `{name}` has no instance {idx}"),
                        Some(hint),
                    );
                    return None;
                }
                FaultTarget::Instance(idx as u32)
            }
            (None, Some(v)) => {
                let role = r.choice(
                    v,
                    &join(key, "role"),
                    &[("primary", Role::Primary), ("replicas", Role::Replicas)],
                )?;
                let has = tier.pools.iter().any(|p| p.role == role && p.instances > 0);
                if !has {
                    r.error(
                        v.span(),
                        &join(key, "role"),
                        format!("tier `{name}` has no {} to fail", role.as_str()),
                        Some("roles belong to database tiers".into()),
                    );
                    return None;
                }
                FaultTarget::Role(role)
            }
            (None, None) => FaultTarget::Tier,
        }
    };
    let kind = match kind_word? {
        "slow" => FaultKind::Slow(factor?),
        _ => FaultKind::Down,
    };
    Some(Fault {
        at_ns: at?,
        duration_ns: duration?,
        tier: ti,
        target,
        kind,
    })
}

/// `shard = K` (with `role` or not) on a fault of a sharded database.
fn read_shard_target(
    r: &mut Reader,
    t: &DeTable<'_>,
    v: &Value<'_>,
    key: &str,
    tier: &Tier,
) -> Option<FaultTarget> {
    let k = join(key, "shard");
    if tier.shards <= 1 {
        r.error(
            v.span(),
            &k,
            format!("tier `{}` has no shards", tier.name),
            Some("`shard` picks one shard of a database with `shards = N`".into()),
        );
        return None;
    }
    if let Some(i) = field(t, "instance") {
        r.error(
            i.span(),
            &join(key, "instance"),
            "give `shard` (and `role`) or `instance`, not both".into(),
            Some("`shard = 1, role = \"primary\"` is shard 1's primary".into()),
        );
        return None;
    }
    let idx = r.int(v, &k, 0, i64::from(tier.shards) - 1)? as u32;
    let role = match field(t, "role") {
        None => None,
        Some(rv) => Some(r.choice(
            rv,
            &join(key, "role"),
            &[("primary", Role::Primary), ("replicas", Role::Replicas)],
        )?),
    };
    if role == Some(Role::Replicas) && tier.pools.get(1).is_none_or(|p| p.instances == 0) {
        r.error(
            v.span(),
            &join(key, "role"),
            format!("tier `{}` has no replicas to fail", tier.name),
            None,
        );
        return None;
    }
    Some(FaultTarget::Shard { shard: idx, role })
}
