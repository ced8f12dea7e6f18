//! Design lints: the topology's known weaknesses, each with a severity and a
//! one-line fix.

use serde::Serialize;

use crate::scenario::{Balance, Kind, Role, Scenario};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// A risk under some conditions.
    Warning,
    /// A single point of failure or an exposure.
    High,
}

/// One finding.
#[derive(Clone, Debug, Serialize)]
pub struct Lint {
    /// Stable identifier, e.g. `single-primary`.
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// What is wrong, naming the tier.
    pub message: String,
    /// The one-line fix.
    pub fix: String,
}

/// The findings so far.
struct Findings(Vec<Lint>);

impl Findings {
    fn push(&mut self, id: &'static str, severity: Severity, message: String, fix: &str) {
        self.0.push(Lint {
            id,
            severity,
            message,
            fix: fix.to_string(),
        });
    }
}

/// One lint: looks at the scenario, adds what it finds.
type Check = fn(&Scenario, &mut Findings);

/// Every lint, in the order their findings are listed within a severity.
const CHECKS: [Check; 11] = [
    single_instances,
    uneven_placement,
    single_primaries,
    replica_beside_primary,
    unchecked_balancers,
    plaintext_hops,
    shared_servers,
    hosts,
    uncosted_tls,
    no_client_timeout,
    retries_without_budget,
];

/// Every finding for a scenario, most severe first.
pub fn lint(s: &Scenario) -> Vec<Lint> {
    let mut out = Findings(Vec::new());
    for check in CHECKS {
        check(s, &mut out);
    }
    let mut out = out.0;
    out.sort_by_key(|l| std::cmp::Reverse(l.severity));
    out
}

/// `` `a`, `b` ``: names for a message.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `replica-beside-primary`: a replica on its primary's machine fails with it.
fn replica_beside_primary(s: &Scenario, out: &mut Findings) {
    for (tier, i, machine) in super::warnings::replicas_beside_primary(s) {
        out.push(
            "replica-beside-primary",
            Severity::Warning,
            format!("`{tier}` replica#{i} runs on {machine}, the primary's machine: losing it loses both, and they compete for its cores"),
            "place replicas on other machines (another host group, or more machines in this one)",
        );
    }
}

/// `uneven-placement`: instances dealt unevenly over a group's machines
/// load one machine more than the others.
fn uneven_placement(s: &Scenario, out: &mut Findings) {
    for u in super::warnings::uneven_placements(s) {
        let fix = format!(
            "run a multiple of the {} machines' count of instances, or give `{}` as many machines as instances",
            u.machines, u.host
        );
        out.0.push(Lint {
            id: "uneven-placement",
            severity: Severity::Warning,
            message: u.message(),
            fix,
        });
    }
}

/// `single-instance`: a tier of one instance is a single point of failure.
fn single_instances(s: &Scenario, out: &mut Findings) {
    for t in s.tiers.iter().filter(|t| t.kind != Kind::Database) {
        if t.pools[0].instances != 1 {
            continue;
        }
        let sev = if matches!(t.kind, Kind::LoadBalancer | Kind::Firewall) {
            Severity::High
        } else {
            Severity::Warning
        };
        out.push(
            "single-instance",
            sev,
            format!(
                "`{}` ({}) has one instance: a single point of failure",
                t.name,
                t.kind.as_str()
            ),
            "run two, behind a floating address or DNS with health checks",
        );
    }
}

/// `single-primary` (no failover) and `write-ceiling` (every write to one primary).
fn single_primaries(s: &Scenario, out: &mut Findings) {
    for t in s.tiers.iter().filter(|t| t.kind == Kind::Database) {
        let replicas = t
            .pools
            .iter()
            .find(|p| p.role == Role::Replicas)
            .map_or(0, |p| p.instances);
        let sharded = t.shards > 1;
        if t.failover.is_none() {
            let what = if sharded {
                format!(
                    "each of `{}`'s {} shards has one primary and no failover: each is a single point of failure for its keys' writes",
                    t.name, t.shards
                )
            } else {
                format!(
                    "`{}` has one primary and no failover: it is a single point of failure for every write",
                    t.name
                )
            };
            out.push(
                "single-primary",
                Severity::High,
                what,
                if replicas > 0 {
                    "add `failover = { detection = \"10s\", promotion = \"20s\" }`; `shards = 3` would also limit an outage to a third of the writes (simulate it: `stacksim compare` this file against a copy with the key)"
                } else {
                    "add a replica and `failover`"
                },
            );
        }
        if !sharded {
            out.push(
                "write-ceiling",
                Severity::Info,
                format!(
                    "every write to `{}` goes to one primary: replicas raise read capacity, never write capacity",
                    t.name
                ),
                "simulate the fix: `shards = N` splits writes over N primaries (`stacksim review` gives the write ceiling at 2 and 4); or batch writes, or move write-heavy data elsewhere",
            );
        }
        let Some(hot) = hottest_shard(t) else {
            continue;
        };
        let (class, k, share) = hot;
        out.push(
            "hot-shard",
            Severity::Warning,
            format!(
                "`{}` shard#{k} takes {:.0}% of class `{}`'s keys, against {:.0}% for an even spread: its primary (or replicas, for reads) reaches its ceiling first",
                t.name,
                share * 100.0,
                s.classes[class].name,
                100.0 / f64::from(t.shards)
            ),
            "spread the hot keys (a finer key, or more keys per shard), or give the hot tenant its own shard",
        );
    }
}

/// The shard whose share of a class's keys is furthest above an even
/// spread, when it is at least 1.5 times that: (class, shard, share).
fn hottest_shard(t: &crate::scenario::Tier) -> Option<(usize, usize, f64)> {
    let even = 1.0 / f64::from(t.shards.max(1));
    t.shard_keys
        .iter()
        .enumerate()
        .flat_map(|(c, k)| {
            k.weights(t.shards)
                .into_iter()
                .enumerate()
                .map(move |(i, w)| (c, i, w))
        })
        .filter(|&(_, _, w)| w >= 1.5 * even)
        .max_by(|a, b| a.2.total_cmp(&b.2))
}

/// `no-health-check`: a balancer that sends to several instances without checking them.
fn unchecked_balancers(s: &Scenario, out: &mut Findings) {
    for (i, t) in s.tiers.iter().enumerate() {
        let sends_to_many = s.classes.iter().any(|c| {
            c.route.windows(2).any(|w| {
                w[0].tier == i
                    && s.tiers[w[1].tier]
                        .pools
                        .iter()
                        .map(|p| p.instances)
                        .sum::<u32>()
                        > 1
            })
        });
        if t.kind == Kind::LoadBalancer && t.health_check.is_none() && sends_to_many {
            out.push(
                "no-health-check",
                Severity::High,
                format!(
                    "`{}` balances without health checks: requests keep going to a dead backend",
                    t.name
                ),
                "add `health_check = { interval = \"2s\", timeout = \"1s\", fall = 3, rise = 2 }`",
            );
        }
    }
}

/// `plaintext-hops`: hops after TLS ends.
fn plaintext_hops(s: &Scenario, out: &mut Findings) {
    let plain: Vec<&str> = (1..s.tiers.len())
        .filter(|&i| s.hop_encrypted(i) == Some(false))
        .map(|i| s.tiers[i].name.as_str())
        .collect();
    if !plain.is_empty() {
        out.push(
            "plaintext-hops",
            Severity::High,
            format!(
                "after TLS ends, the hops to {} carry plaintext",
                quoted(&plain)
            ),
            "set `tls = \"reencrypt\"` on the terminating tier (and the tiers after it), or terminate at the web tier",
        );
    }
}

/// `co-located` without hosts: consecutive tiers linked by `balance = "same"`.
fn shared_servers(s: &Scenario, out: &mut Findings) {
    let same: Vec<&str> = s
        .tiers
        .windows(2)
        .filter(|w| {
            w[0].balance == Balance::Same && w[0].pools[0].instances == w[1].pools[0].instances
        })
        .flat_map(|w| [w[0].name.as_str(), w[1].name.as_str()])
        .collect();
    if same.len() >= 4 && s.hosts.is_empty() {
        let mut names = same.clone();
        names.dedup();
        out.push(
            "co-located",
            Severity::Warning,
            format!(
                "{} share every server (balance = \"same\"): one busy component slows the others on its server, and a server crash takes them all",
                quoted(&names)
            ),
            "give the busiest component (usually the database or the app) hosts of its own",
        );
    }
}

/// Per host: `co-located` (three or more components on its machines) and
/// `no-monitoring`.
fn hosts(s: &Scenario, out: &mut Findings) {
    for (h, host) in s.hosts.iter().enumerate() {
        let on: Vec<String> = s
            .tiers
            .iter()
            .flat_map(|t| {
                t.pools
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.host == Some(h) && p.instances > 0)
                    .map(|(pi, _)| t.pool_label(pi))
            })
            .collect();
        if on.len() >= 3 {
            let names: Vec<&str> = on.iter().map(String::as_str).collect();
            out.push(
                "co-located",
                Severity::Warning,
                format!(
                    "{} all run on host `{}`: they compete for its {} cores, and one machine's crash takes them all",
                    quoted(&names),
                    host.name,
                    host.cores
                ),
                "give the database (and any CPU-heavy tier) machines of its own",
            );
        }
        if host.monitoring.is_none() {
            out.push(
                "no-monitoring",
                Severity::Warning,
                format!(
                    "host `{}` has no monitoring agent: its failures and saturation go unseen",
                    host.name
                ),
                "add `monitoring = { interval = \"10s\", cost = \"exp(20ms)\" }`",
            );
        }
    }
}

/// `tls-uncosted`: TLS marked but not costed. Its CPU is modelled only if
/// the service time already includes it, which a reader cannot tell.
fn uncosted_tls(s: &Scenario, out: &mut Findings) {
    for t in &s.tiers {
        if t.tls != crate::scenario::Tls::None && t.costs.tls.is_none() {
            out.push(
                "tls-uncosted",
                Severity::Info,
                format!(
                    "`{}` ends TLS but has no `tls_cost`: handshakes and crypto cost CPU only if its `service` time includes them",
                    t.name
                ),
                "add `tls_cost = { per_request = \"20us\", full_handshake = \"1ms\", resumption = 0.6, requests_per_connection = 8 }` (measured on your hardware), or fold the cost into `service`",
            );
        }
    }
}

/// `no-client-timeout`.
fn no_client_timeout(s: &Scenario, out: &mut Findings) {
    if s.client.timeout_ns.is_none() {
        out.push(
            "no-client-timeout",
            Severity::Info,
            "clients never time out: overload shows up only as latency".into(),
            "set `[workload] timeout` to what users tolerate",
        );
    }
}

/// `retries-without-budget`: a brief slowdown can become a retry storm.
fn retries_without_budget(s: &Scenario, out: &mut Findings) {
    if let Some(r) = s.client.retry
        && r.attempts > 1
        && r.budget.is_none()
    {
        out.push(
            "retries-without-budget",
            Severity::Warning,
            format!(
                "clients retry up to {} times with no budget: a brief slowdown can become a retry storm",
                r.attempts
            ),
            "add `budget = 0.1` to `[workload] retry`",
        );
    }
}
