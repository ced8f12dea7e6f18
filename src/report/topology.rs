//! The topology as an SVG diagram: tiers left to right, instances and
//! workers, the database's primary and replicas, where TLS ends, and the
//! bottleneck and unstable pools marked.

use std::fmt::Write as _;

use super::RunReport;
use crate::analysis::Stability;
use crate::scenario::Role;

/// Escapes text for XML.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BOX_W: i32 = 180;
const GAP: i32 = 72;

/// The diagram as a standalone SVG document.
pub fn topology_svg(r: &RunReport<'_>) -> String {
    let s = r.scenario;
    let cols = s.tiers.len() as i32 + 1;
    let width = 30 + cols * BOX_W + (cols - 1) * GAP + 30;
    let max_pools = s
        .tiers
        .iter()
        .map(|t| t.pools.iter().filter(|p| p.instances > 0).count())
        .max()
        .unwrap_or(1) as i32;
    let box_h = 92;
    let height = 80 + max_pools * (box_h + 16) + 60;
    let mid = 70 + (max_pools * (box_h + 16)) / 2;
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Noto Sans, DejaVu Sans, Arial, sans-serif" font-size="13">"##
    );
    o.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>"##);
    let _ = write!(
        o,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>"##
    );
    let _ = write!(
        o,
        r##"<text x="20" y="30" font-size="18" font-weight="bold">{}</text>"##,
        xml_escape(&s.name)
    );
    // Users.
    let x0 = 30;
    let _ = write!(
        o,
        r##"<rect x="{x0}" y="{}" width="{BOX_W}" height="56" rx="28" fill="#f4f4f4" stroke="#888"/><text x="{}" y="{}" text-anchor="middle" font-weight="bold">users</text><text x="{}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
        mid - 28,
        x0 + BOX_W / 2,
        mid - 6,
        x0 + BOX_W / 2,
        mid + 14,
        xml_escape(&arrivals_label(r))
    );
    let tls_ends: Vec<bool> = s
        .tiers
        .iter()
        .map(|t| t.tls != crate::scenario::Tls::None)
        .collect();
    let bottleneck = r.bottleneck.and_then(|b| b.pool());
    // A machine as the bottleneck: the boxes on its host group say so in red.
    let hot_host = r.bottleneck.and_then(|b| match b.resource {
        crate::analysis::Resource::Host { group, .. } => Some(group),
        crate::analysis::Resource::Pool(_) => None,
    });
    let mut global = 0usize;
    for (ti, tier) in s.tiers.iter().enumerate() {
        let x = x0 + (ti as i32 + 1) * (BOX_W + GAP);
        // Arrow from the previous column.
        let hop = match s.hop_encrypted(ti) {
            Some(true) => "TLS",
            Some(false) => "plaintext",
            None => "",
        };
        let color = if hop == "plaintext" {
            "#c0392b"
        } else {
            "#555"
        };
        let live: Vec<(usize, &crate::scenario::Pool)> = tier
            .pools
            .iter()
            .enumerate()
            .filter(|(_, p)| p.instances > 0)
            .collect();
        let n = live.len() as i32;
        let top = mid - (n * (box_h + 16) - 16) / 2;
        for k in 0..n {
            let y = top + k * (box_h + 16) + box_h / 2;
            let _ = write!(
                o,
                r##"<line x1="{}" y1="{mid}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2" marker-end="url(#arrow)"/>"##,
                x - GAP + 2,
                x - 3
            );
        }
        if !hop.is_empty() {
            let _ = write!(
                o,
                r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{color}">{hop}</text>"##,
                x - GAP / 2,
                mid - 8
            );
        }
        for (k, (pi, pool)) in live.iter().enumerate() {
            let p = global + pi;
            let y = top + k as i32 * (box_h + 16);
            let unstable = r
                .verdicts
                .iter()
                .any(|v| v.pool == p && matches!(v.stability, Stability::Unstable { .. }));
            let (fill, stroke) = if Some(p) == bottleneck {
                ("#fde2e1", "#d62728")
            } else if unstable {
                ("#fff0dd", "#ff7f0e")
            } else {
                ("#e8f1fa", "#1f77b4")
            };
            let util = r
                .summary
                .pools
                .get(p)
                .map_or(f64::NAN, |s| s.utilization.mean * 100.0);
            let title = match pool.role {
                Role::Instances => tier.name.clone(),
                role => format!("{} {}", tier.name, role.as_str()),
            };
            let queue = pool
                .queue
                .map_or("queue unbounded".to_string(), |q| format!("queue {q} each"));
            let _ = write!(
                o,
                r##"<rect x="{x}" y="{y}" width="{BOX_W}" height="{box_h}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="2"/>"##
            );
            let cx = x + BOX_W / 2;
            let on_hot_host = pool.host.is_some() && pool.host == hot_host;
            let lines = [
                (
                    format!("<tspan font-weight=\"bold\">{}</tspan>", xml_escape(&title)),
                    20,
                ),
                (
                    format!(
                        "{}{}{}",
                        xml_escape(tier.kind.as_str()),
                        if tier.hold { " · holds" } else { "" },
                        pool.host.map_or(String::new(), |h| {
                            let on = xml_escape(&format!("· on {}", s.hosts[h].name));
                            if on_hot_host {
                                format!(
                                    " <tspan fill=\"#d62728\" font-weight=\"bold\">{on}</tspan>"
                                )
                            } else {
                                format!(" {on}")
                            }
                        })
                    ),
                    38,
                ),
                (
                    xml_escape(&format!("{} × {} workers", pool.instances, pool.workers)),
                    55,
                ),
                (xml_escape(&queue), 71),
                (
                    if util.is_finite() {
                        format!("{util:.0}% busy")
                    } else {
                        String::new()
                    },
                    87,
                ),
            ];
            for (text, dy) in lines {
                let _ = write!(
                    o,
                    r##"<text x="{cx}" y="{}" text-anchor="middle">{text}</text>"##,
                    y + dy - 2
                );
            }
        }
        if tls_ends[ti] {
            let label = if tier.tls == crate::scenario::Tls::Reencrypt {
                "TLS ends, re-encrypted"
            } else {
                "TLS ends here"
            };
            let _ = write!(
                o,
                r##"<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#c0392b" font-weight="bold">{label}</text>"##,
                x + BOX_W / 2,
                top - 10
            );
        }
        global += tier.pools.len();
    }
    let host_note = match (r.bottleneck, hot_host) {
        (Some(b), Some(_)) => format!(
            " · <tspan fill=\"#d62728\" font-weight=\"bold\">bottleneck: the CPU of {} ({:.0}% busy), shared by the boxes marked in red</tspan>",
            xml_escape(
                &b.machine
                    .as_ref()
                    .map_or(b.label.clone(), ToString::to_string)
            ),
            b.utilization * 100.0
        ),
        _ => String::new(),
    };
    let _ = write!(
        o,
        r##"<text x="20" y="{}" font-size="12" fill="#555">red box: bottleneck · orange: unstable · percentages: time-average utilization, held workers included{host_note}</text></svg>"##,
        height - 16
    );
    o
}

fn arrivals_label(r: &RunReport<'_>) -> String {
    match &r.scenario.arrivals {
        crate::scenario::Arrivals::Poisson { rate_rps } => format!("{rate_rps} requests/s"),
        crate::scenario::Arrivals::Schedule(_) => "rate schedule".into(),
        crate::scenario::Arrivals::Replay(r) => format!("replay of {} arrivals", r.times_ns.len()),
        crate::scenario::Arrivals::Closed { users, .. } => format!("{users} users"),
    }
}
