//! The verdicts in plain sentences, for the reports.

use super::RunReport;
use crate::analysis::Stability;
use crate::scenario::{Access, Kind, Role};

/// Sentences a design review can quote, most important first.
pub fn verdict_sentences(r: &RunReport<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let s = r.scenario;
    if let Some(b) = r.bottleneck
        && let Some(bp) = b.pool()
    {
        let ps = &r.summary.pools[bp];
        let load = &r.loads[bp];
        let tier = &s.tiers[load.tier];
        let who = if tier.pools[load.pool].role == Role::Primary {
            format!("The single {} primary, which takes every write,", tier.name)
        } else {
            format!("The {} tier", load.label)
        };
        let next = r
            .pool_rows()
            .filter(|(p, _)| *p != bp)
            .map(|(p, _)| r.summary.pools[p].service_utilization.mean)
            .filter(|u| u.is_finite())
            .fold(0.0, f64::max);
        let below = ((next * 10.0).floor() + 1.0) * 10.0;
        // An unstable pool's wait measures the run's length: no figure.
        let unstable = r.verdicts.iter().any(|v| {
            v.pool == bp && matches!(v.stability, crate::analysis::Stability::Unstable { .. })
        });
        // With a client connection cap, the queue that grows is the
        // client's: the tier's own holds at most the cap.
        let client_grows = r.scenario.client.connections.is_some_and(|c| !c.refuse)
            && r.summary
                .client
                .as_ref()
                .is_some_and(|c| c.backlog_growth_rps.mean > 0.0);
        let wait = if unstable && client_grows {
            format!(
                "the client's queue grows without bound (its connections all busy), while requests wait {:.1} ms on average there",
                ps.wait_mean_ms.mean
            )
        } else if unstable {
            "its queue grows without bound, so its wait measures the run's length".to_string()
        } else {
            format!(
                "requests wait {:.1} ms on average there",
                ps.wait_mean_ms.mean
            )
        };
        out.push(format!(
            "{who} runs at {:.0}% utilization; {wait}. It is the bottleneck: every other tier's workers spend under {below:.0}% of their time serving.",
            b.utilization * 100.0,
        ));
    }
    // A machine busier than any tier: co-located components compete for its
    // cores, and the busiest such machine is the bottleneck.
    if let Some(b) = r.bottleneck
        && let crate::analysis::Resource::Host { group, .. } = b.resource
    {
        let host = &s.hosts[group];
        let next = r
            .pool_rows()
            .map(|(p, _)| (p, r.summary.pools[p].service_utilization.mean))
            .filter(|(_, u)| u.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let busiest = next.map_or(String::new(), |(p, u)| {
            format!(
                " The busiest tier, {}, keeps its workers {:.0}% busy.",
                r.loads[p].label,
                u * 100.0
            )
        });
        out.push(format!(
            "The CPUs of {} ({} cores, shared by every component placed on it) are {:.0}% busy, more than any tier's workers. It is the bottleneck: it saturates first as load grows.{busiest}",
            b.machine.as_ref().map_or(b.label.clone(), ToString::to_string),
            host.cores,
            b.utilization * 100.0
        ));
    }
    for v in r.verdicts {
        match v.stability {
            Stability::Stable => {}
            _ => out.push(sentence(&v.message)),
        }
    }
    let top_pool = r
        .pool_rows()
        .map(|(p, _)| r.summary.pools[p].utilization.mean)
        .filter(|u| u.is_finite())
        .fold(0.0, f64::max);
    for (h, hs) in r.summary.hosts.iter().enumerate() {
        let u = hs.utilization.mean;
        let is_bottleneck = r.bottleneck.is_some_and(
            |b| matches!(b.resource, crate::analysis::Resource::Host { group, .. } if group == h),
        );
        if u.is_finite() && u > top_pool && !is_bottleneck {
            let host = &s.hosts[h];
            out.push(format!(
                "The CPUs of host `{}` ({} x {} cores) are {:.0}% busy, more than any tier's workers: the components on it compete for its cores.",
                host.name, host.instances, host.cores, u * 100.0
            ));
        }
    }
    let all = &r.summary.overall;
    let failed = all.error_rate.mean * 100.0;
    let causes: Vec<String> = crate::stats::Cause::ALL
        .iter()
        .filter(|c| all.failed_by_cause[c.index()] > 0)
        .map(|c| {
            format!(
                "{} {:.2}%",
                c.describe(),
                all.error_rate_by_cause[c.index()].mean * 100.0
            )
        })
        .collect();
    let share = |n: u64| n as f64 / all.arrived.max(1) as f64 * 100.0;
    let unfinished = all.unfinished();
    let open = share(all.open_at_end);
    if share(all.failed) > 1.0 || share(unfinished) > 1.0 || open > 1.0 {
        // The failure is the headline: it is what users saw. A backlog
        // still open when the window closed is served, if ever, by the
        // drain after it: the availability is the one at the window's end.
        let (basis, avail) = if open > 1.0 {
            (" by the window's end", all.availability_at_window_end.mean)
        } else {
            ("", all.availability.mean)
        };
        let mut parts = Vec::new();
        if all.failed > 0 {
            parts.push(format!(
                "{:.1}% of requests failed{}",
                share(all.failed),
                if causes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", causes.join(", "))
                }
            ));
        }
        let grows = if r.unstable_through(None).is_empty() {
            ""
        } else {
            ", the backlog growing"
        };
        if open > 1.0 {
            parts.push(format!(
                "{open:.1}% were still open when the window closed{grows}{}",
                if unfinished > 0 {
                    format!(" ({:.1}% still when the run stopped)", share(unfinished))
                } else {
                    String::new()
                }
            ));
        } else if unfinished > 0 {
            parts.push(format!(
                "{:.1}% were unfinished when the run stopped",
                share(unfinished)
            ));
        }
        if all.failed == 0
            && let Some(first) = parts.first_mut()
        {
            *first = format!("Of the requests offered, {first}");
        }
        out.insert(
            0,
            format!(
                "{}: availability{basis} {:.2}%.",
                parts.join(" and "),
                avail * 100.0
            ),
        );
        let through = r.unstable_through(None);
        if all.failed > 0 {
            out.push(format!(
                "Users saw a median of {:.1} ms and a 99th percentile of {:.1} ms, counting each failed request at the time its error came.",
                all.seen_p50_ms.mean, all.seen_p99_ms.mean
            ));
        }
        out.push(format!(
            "Of the {:.1}% of requests that completed, the median took {:.1} ms and the 99th percentile {:.1} ms (± {:.1}); these figures leave out every failed and unfinished request{}.",
            share(all.completed),
            all.latency_p50_ms.mean,
            all.latency_p99_ms.mean,
            all.latency_p99_ms.half_width.unwrap_or(f64::NAN),
            if through.is_empty() {
                String::new()
            } else {
                format!(
                    ", and as they pass through an unstable pool ({}) they grow with the run's length: no figure for the stack",
                    through.join(", ")
                )
            }
        ));
    } else {
        out.push(format!(
            "End to end, the median completed request takes {:.1} ms and the 99th percentile {:.1} ms (± {:.1}); {}.",
            all.latency_p50_ms.mean,
            all.latency_p99_ms.mean,
            all.latency_p99_ms.half_width.unwrap_or(f64::NAN),
            if failed > 0.0 {
                format!("{:.2}% of requests failed ({}), availability {:.3}%", failed, causes.join(", "), all.availability.mean * 100.0)
            } else {
                "no request failed".to_string()
            }
        ));
    }
    if all.attempts_per_request.mean > 1.0005 {
        out.push(format!(
            "Client retries sent {:.2} attempts per request: the stack carried {:.0}% more work than users asked for.",
            all.attempts_per_request.mean,
            (all.attempts_per_request.mean - 1.0) * 100.0
        ));
    }
    if r.summary.write_outages.iter().any(|o| !o.is_empty()) {
        out.push(format!(
            "Writes had no primary for {:.1} s per replication on average (± {:.1}).",
            r.summary.write_outage_s.mean,
            r.summary.write_outage_s.half_width.unwrap_or(f64::NAN)
        ));
    }
    for (ti, tier) in s
        .tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == Kind::Database)
    {
        let writes: Vec<(usize, f64)> = s
            .classes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.access == Access::Write && c.route.iter().any(|st| st.tier == ti))
            .map(|(i, c)| (i, c.share))
            .collect();
        let share: f64 = writes.iter().map(|(_, w)| w).sum();
        if share <= 0.0 {
            continue;
        }
        let primary = &tier.pools[0];
        let mean_s = writes
            .iter()
            .map(|(i, w)| primary.service[*i].mean() * w)
            .sum::<f64>()
            / share
            / 1e9;
        let cap = f64::from(primary.workers) / mean_s;
        let replicas = tier.pools.get(1).map_or(0, |p| p.instances);
        out.push(format!(
            "Every write goes to the one primary of `{}`: with {} connection{} and {:.1} ms per write it can take about {:.0} writes/s at most, however many replicas ({replicas} now) serve reads, and while it is down no write succeeds.",
            tier.name,
            primary.workers,
            if primary.workers == 1 { "" } else { "s" },
            mean_s * 1e3,
            cap,
        ));
    }
    let plain: Vec<String> = (1..s.tiers.len())
        .filter(|&i| s.hop_encrypted(i) == Some(false))
        .map(|i| format!("`{}`", s.tiers[i].name))
        .collect();
    if !plain.is_empty() {
        let ends: Vec<&str> = s
            .tiers
            .iter()
            .filter(|t| t.tls == crate::scenario::Tls::Terminate)
            .map(|t| t.name.as_str())
            .collect();
        out.push(format!(
            "TLS ends at `{}`: the hops to {} carry plaintext.",
            ends.join("`, `"),
            plain.join(", ")
        ));
    }
    out
}

fn sentence(msg: &str) -> String {
    let mut s = msg.to_string();
    if let Some(first) = s.get(..1) {
        s.replace_range(..1, &first.to_uppercase());
    }
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}
