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

/// A component's box.
const BOX_W: i32 = 210;
const BOX_H: i32 = 108;
/// Between two boxes of a row (a database's primary and replicas).
const COL_GAP: i32 = 26;
/// Between two rows: the hop's arrow and its label.
const ROW_GAP: i32 = 58;
/// Left margin; the right one holds the host captions.
const LEFT: i32 = 30;
const CAPTION_W: i32 = 300;
/// Room a host box leaves around its components.
const HOST_PAD: i32 = 10;
/// The smallest text in the diagram (px at its natural size, which the
/// report never scales down: it is at most the page's width).
const SMALL: i32 = 12;

/// A drawn component box, for the host boxes around them.
struct Placed {
    host: Option<usize>,
    row: usize,
    x: i32,
    y: i32,
}

/// The diagram as a standalone SVG document: users at the top, each tier a
/// row below, a database's roles side by side, each hop's arrow labelled
/// TLS or plaintext, and each host group drawn as a box around the
/// components it runs (so co-location shows), with its CPU.
pub fn topology_svg(r: &RunReport<'_>) -> String {
    let s = r.scenario;
    let live_pools = |t: &crate::scenario::Tier| t.pools.iter().filter(|p| p.instances > 0).count();
    let max_pools = s.tiers.iter().map(live_pools).max().unwrap_or(1).max(1) as i32;
    let inner = max_pools * BOX_W + (max_pools - 1) * COL_GAP;
    let width = LEFT + HOST_PAD + inner + HOST_PAD + CAPTION_W;
    let center = LEFT + HOST_PAD + inner / 2;
    let legend = legend_lines(r, width);
    let users_top = 56;
    let users_h = 56;
    let row_top = |i: usize| users_top + users_h + ROW_GAP + i as i32 * (BOX_H + ROW_GAP);
    let body = row_top(s.tiers.len()) - ROW_GAP;
    let height = body + 24 + legend.len() as i32 * 18 + 10;
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Noto Sans, DejaVu Sans, Arial, sans-serif" font-size="13">"##
    );
    o.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>"##);
    let _ = write!(
        o,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/><text x="{LEFT}" y="30" font-size="18" font-weight="bold">{}</text>"##,
        xml_escape(&s.name)
    );
    let _ = write!(
        o,
        r##"<rect x="{}" y="{users_top}" width="{BOX_W}" height="{users_h}" rx="28" fill="#f4f4f4" stroke="#888"/><text x="{center}" y="{}" text-anchor="middle" font-weight="bold">{}</text><text x="{center}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
        center - BOX_W / 2,
        users_top + 22,
        xml_escape(&users_title(r)),
        users_top + 42,
        xml_escape(&arrivals_label(r))
    );
    let bottleneck = r.bottleneck.and_then(|b| b.pool());
    let hot_host = r.bottleneck.and_then(|b| match b.resource {
        crate::analysis::Resource::Host { group, .. } => Some(group),
        crate::analysis::Resource::Pool(_) => None,
    });
    let mut placed: Vec<Placed> = Vec::new();
    let mut boxes = String::new();
    let mut arrows = String::new();
    let mut prev_bottom = users_top + users_h;
    let mut global = 0usize;
    for (ti, tier) in s.tiers.iter().enumerate() {
        let live: Vec<(usize, &crate::scenario::Pool)> = tier
            .pools
            .iter()
            .enumerate()
            .filter(|(_, p)| p.instances > 0)
            .collect();
        let n = live.len() as i32;
        let y = row_top(ti);
        let left = center - (n * BOX_W + (n - 1).max(0) * COL_GAP) / 2;
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
        for k in 0..n {
            let x = left + k * (BOX_W + COL_GAP) + BOX_W / 2;
            let _ = write!(
                arrows,
                r##"<line x1="{center}" y1="{}" x2="{x}" y2="{}" stroke="{color}" stroke-width="2" marker-end="url(#arrow)"/>"##,
                prev_bottom + 2,
                y - 3
            );
        }
        if !hop.is_empty() {
            let _ = write!(
                arrows,
                r##"<text x="{}" y="{}" font-size="{SMALL}" fill="{color}" font-weight="bold">{hop}</text>"##,
                // Clear of the arrows when they fan out to several boxes.
                center + if n > 1 { 70 } else { 8 },
                prev_bottom + ROW_GAP / 2 + 4
            );
        }
        for (k, (pi, pool)) in live.iter().enumerate() {
            let p = global + pi;
            let x = left + k as i32 * (BOX_W + COL_GAP);
            placed.push(Placed {
                host: pool.host,
                row: ti,
                x,
                y,
            });
            draw_box(&mut boxes, r, tier, pool, p, (x, y), bottleneck);
        }
        prev_bottom = y + BOX_H;
        global += tier.pools.len();
    }
    // Host boxes first, so the components sit on top of them.
    for (h, host) in s.hosts.iter().enumerate() {
        let on: Vec<&Placed> = placed.iter().filter(|b| b.host == Some(h)).collect();
        // One box per run of consecutive rows on this host.
        let mut runs: Vec<Vec<&Placed>> = Vec::new();
        for b in on {
            match runs.last_mut() {
                Some(run) if run.last().is_some_and(|l| b.row <= l.row + 1) => run.push(b),
                _ => runs.push(vec![b]),
            }
        }
        let hot = hot_host == Some(h);
        let stroke = if hot { "#d62728" } else { "#7a7a7a" };
        let util = r
            .summary
            .hosts
            .get(h)
            .map_or(f64::NAN, |x| x.utilization.mean * 100.0);
        for run in runs {
            let x0 = run.iter().map(|b| b.x).min().unwrap_or(0) - HOST_PAD;
            let x1 = run.iter().map(|b| b.x + BOX_W).max().unwrap_or(0) + HOST_PAD;
            let y0 = run.iter().map(|b| b.y).min().unwrap_or(0) - HOST_PAD;
            let y1 = run.iter().map(|b| b.y + BOX_H).max().unwrap_or(0) + HOST_PAD;
            let _ = write!(
                o,
                r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" rx="10" fill="#f7f7f7" stroke="{stroke}" stroke-width="2" stroke-dasharray="7 4"/>"##,
                x1 - x0,
                y1 - y0
            );
            let cx = x1 + 12;
            let machines = if host.instances == 1 {
                "1 machine".to_string()
            } else {
                format!("{} machines", host.instances)
            };
            let lines = [
                (format!("host {}", host.name), "bold"),
                (format!("{machines} × {} cores", host.cores), "normal"),
                (
                    if util.is_finite() {
                        format!(
                            "CPU {util:.0}% busy{}",
                            if hot { ": the bottleneck" } else { "" }
                        )
                    } else {
                        String::new()
                    },
                    if hot { "bold" } else { "normal" },
                ),
            ];
            for (i, (text, weight)) in lines.iter().enumerate() {
                let _ = write!(
                    o,
                    r##"<text x="{cx}" y="{}" font-weight="{weight}" fill="{}">{}</text>"##,
                    y0 + 16 + i as i32 * 18,
                    if hot { "#d62728" } else { "#444" },
                    xml_escape(text)
                );
            }
        }
    }
    o.push_str(&arrows);
    o.push_str(&boxes);
    for (i, line) in legend.iter().enumerate() {
        let _ = write!(
            o,
            r##"<text x="{LEFT}" y="{}" font-size="{SMALL}" fill="#555">{}</text>"##,
            body + 24 + i as i32 * 18,
            xml_escape(line)
        );
    }
    o.push_str("</svg>");
    o
}

/// One component's box: name, kind, instances × workers, queue, busy
/// share, and where TLS ends.
fn draw_box(
    o: &mut String,
    r: &RunReport<'_>,
    tier: &crate::scenario::Tier,
    pool: &crate::scenario::Pool,
    p: usize,
    (x, y): (i32, i32),
    bottleneck: Option<usize>,
) {
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
        r##"<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="2"/>"##
    );
    let tls = match tier.tls {
        crate::scenario::Tls::None => String::new(),
        crate::scenario::Tls::Reencrypt => "TLS ends, re-encrypted".into(),
        _ => "TLS ends here".into(),
    };
    let lines = [
        (xml_escape(&title), "font-weight=\"bold\""),
        (
            xml_escape(&format!(
                "{}{}",
                tier.kind.as_str(),
                if tier.hold { " · holds" } else { "" }
            )),
            "",
        ),
        (
            xml_escape(&format!("{} × {} workers", pool.instances, pool.workers)),
            "",
        ),
        (xml_escape(&queue), ""),
        (
            if util.is_finite() {
                format!(
                    "{util:.0}% busy{}",
                    if unstable { ", unstable" } else { "" }
                )
            } else {
                String::new()
            },
            "",
        ),
        (tls, "fill=\"#c0392b\" font-weight=\"bold\""),
    ];
    let cx = x + BOX_W / 2;
    for (i, (text, attrs)) in lines.iter().enumerate() {
        if !text.is_empty() {
            let _ = write!(
                o,
                r##"<text x="{cx}" y="{}" text-anchor="middle" {attrs}>{text}</text>"##,
                y + 19 + i as i32 * 16
            );
        }
    }
}

/// The legend, wrapped to the diagram's width.
fn legend_lines(r: &RunReport<'_>, width: i32) -> Vec<String> {
    let mut text = String::from(
        "Red box: the bottleneck. Orange: unstable. Dashed box: a host group, around the components that share its machines' cores. Percentages: time-average utilization, held workers included.",
    );
    if let Some(b) = r.bottleneck
        && matches!(b.resource, crate::analysis::Resource::Host { .. })
    {
        let _ = write!(
            text,
            " Bottleneck: the CPU of {} ({:.0}% busy).",
            b.machine
                .as_ref()
                .map_or(b.label.clone(), ToString::to_string),
            b.utilization * 100.0
        );
    }
    // About 6.5 px per character at 12 px.
    let per_line = ((width - 2 * LEFT) as f64 / 6.5) as usize;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(l) if l.len() + 1 + word.len() <= per_line => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The clients' box title: `users`, with their connections when capped.
fn users_title(r: &RunReport<'_>) -> String {
    match r.scenario.client.connections {
        Some(c) => format!("users, {} connections", c.limit),
        None => "users".into(),
    }
}

fn arrivals_label(r: &RunReport<'_>) -> String {
    match &r.scenario.arrivals {
        crate::scenario::Arrivals::Poisson { rate_rps } => format!("{rate_rps} requests/s"),
        crate::scenario::Arrivals::Schedule(_) => "rate schedule".into(),
        crate::scenario::Arrivals::Replay(r) => format!("replay of {} arrivals", r.times_ns.len()),
        crate::scenario::Arrivals::Closed { users, .. } => format!("{users} users"),
    }
}
