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

/// Every finding for a scenario, most severe first.
pub fn lint(s: &Scenario) -> Vec<Lint> {
    let mut out = Vec::new();
    let mut push = |id, severity, message: String, fix: &str| {
        out.push(Lint {
            id,
            severity,
            message,
            fix: fix.to_string(),
        })
    };
    for t in &s.tiers {
        if t.kind == Kind::Database {
            let replicas = t
                .pools
                .iter()
                .find(|p| p.role == Role::Replicas)
                .map_or(0, |p| p.instances);
            if t.failover.is_none() {
                push(
                    "single-primary",
                    Severity::High,
                    format!(
                        "`{}` has one primary and no failover: it is a single point of failure for every write",
                        t.name
                    ),
                    if replicas > 0 {
                        "add `failover = { detection = \"10s\", promotion = \"20s\" }`"
                    } else {
                        "add a replica and `failover`"
                    },
                );
            }
            push(
                "write-ceiling",
                Severity::Info,
                format!(
                    "every write to `{}` goes to one primary: replicas raise read capacity, never write capacity",
                    t.name
                ),
                "shard writes, batch them, or move write-heavy data elsewhere when the primary saturates",
            );
            continue;
        }
        let instances = t.pools[0].instances;
        if instances == 1
            && matches!(
                t.kind,
                Kind::LoadBalancer | Kind::Firewall | Kind::Web | Kind::App | Kind::Server
            )
        {
            let sev = if matches!(t.kind, Kind::LoadBalancer | Kind::Firewall) {
                Severity::High
            } else {
                Severity::Warning
            };
            push(
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
    // Balancers that send to several instances without checking them.
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
            push(
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
    let plain: Vec<&str> = (1..s.tiers.len())
        .filter(|&i| s.hop_encrypted(i) == Some(false))
        .map(|i| s.tiers[i].name.as_str())
        .collect();
    if !plain.is_empty() {
        push(
            "plaintext-hops",
            Severity::High,
            format!(
                "after TLS ends, the hops to {} carry plaintext",
                plain
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "set `tls = \"reencrypt\"` on the terminating tier (and the tiers after it), or terminate at the web tier",
        );
    }
    // Components that share servers: consecutive tiers linked by `balance = "same"`.
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
        push(
            "co-located",
            Severity::Warning,
            format!(
                "{} share every server (balance = \"same\"): one busy component slows the others on its server, and a server crash takes them all",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give the busiest component (usually the database or the app) hosts of its own",
        );
    }
    // Components placed on the same machines.
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
            push(
                "co-located",
                Severity::Warning,
                format!(
                    "{} all run on host `{}`: they compete for its {} cores, and one machine's crash takes them all",
                    on.iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    host.name,
                    host.cores
                ),
                "give the database (and any CPU-heavy tier) machines of its own",
            );
        }
        if host.monitoring.is_none() {
            push(
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
    // TLS marked but not costed: its CPU is modelled only if the service
    // time already includes it, which a reader cannot tell.
    for t in &s.tiers {
        if t.tls != crate::scenario::Tls::None && t.costs.tls.is_none() {
            push(
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
    if s.client.timeout_ns.is_none() {
        push(
            "no-client-timeout",
            Severity::Info,
            "clients never time out: overload shows up only as latency".into(),
            "set `[workload] timeout` to what users tolerate",
        );
    }
    if let Some(r) = s.client.retry
        && r.attempts > 1
        && r.budget.is_none()
    {
        push(
            "retries-without-budget",
            Severity::Warning,
            format!(
                "clients retry up to {} times with no budget: a brief slowdown can become a retry storm",
                r.attempts
            ),
            "add `budget = 0.1` to `[workload] retry`",
        );
    }
    out.sort_by_key(|l| std::cmp::Reverse(l.severity));
    out
}
