//! Logs of a simulated run in the formats real servers write, so real log
//! tools (and `stacksim calibrate`) can read it: an Nginx access log
//! ("combined" plus `$request_time`) for `--access-log`, and for `--logs
//! DIR` HAProxy's `option httplog`, an Nginx log per web instance (combined
//! plus `$request_time $upstream_response_time`) and a MariaDB slow query
//! log. Timers are computed as the servers do, from clock readings
//! truncated to the millisecond (microsecond for the slow log).

use std::io::{self, Write};

use crate::scenario::{Access, Kind, Scenario};
use crate::stats::{AccessRecord, VisitRecord};

/// Day 0 of the simulated clock: 2026-01-01, as days since 1970-01-01.
const EPOCH_DAYS: i64 = 20_454;

use crate::units::civil_from_days as civil;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `01/Jan/2026:00:00:07 +0000` for a simulated time.
fn time_local(ns: u64) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let (y, m, d) = civil(EPOCH_DAYS + secs / 86_400);
    let s = secs % 86_400;
    format!(
        "{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Writes one line per record.
pub fn write_access_log(
    s: &Scenario,
    records: &[AccessRecord],
    w: &mut dyn Write,
) -> io::Result<()> {
    for (i, r) in records.iter().enumerate() {
        let class = &s.classes[r.class as usize];
        let method = if class.access == Access::Write {
            "POST"
        } else {
            "GET"
        };
        let bytes = if r.status == 200 { 2048 } else { 0 };
        writeln!(
            w,
            "10.{}.{}.{} - - [{}] \"{method} /{} HTTP/1.1\" {} {bytes} \"-\" \"stacksim/{}\" {:.3}",
            r.server % 256,
            (i >> 8) % 256,
            i % 256,
            time_local(r.end_ns),
            class.name,
            r.status,
            crate::VERSION,
            r.duration_ns as f64 / 1e9
        )?;
    }
    Ok(())
}

/// `01/Jan/2026:00:00:07.123` (HAProxy's `%tr`) for a simulated time.
fn haproxy_date(ns: u64) -> String {
    let t = time_local(ns);
    // `01/Jan/2026:00:00:07 +0000` -> insert the milliseconds, drop the zone.
    format!("{}.{:03}", &t[..20], (ns / 1_000_000) % 1000)
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

fn first_visit(r: &AccessRecord, s: &Scenario, kind: Kind) -> Option<(usize, VisitRecord)> {
    r.visits
        .iter()
        .enumerate()
        .find(|(_, v)| s.tiers[v.tier as usize].kind == kind)
        .map(|(i, v)| (i, *v))
}

fn request_line(s: &Scenario, r: &AccessRecord, i: usize) -> String {
    let class = &s.classes[r.class as usize];
    let method = if class.access == Access::Write {
        "POST"
    } else {
        "GET"
    };
    format!("{method} /{}/{i} HTTP/1.1", class.name)
}

/// The files `write_logs` writes: (file name, which web instance or none).
pub fn log_files(s: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    if s.tiers.iter().any(|t| t.kind == Kind::LoadBalancer) {
        out.push("haproxy.log".to_string());
    }
    if let Some(web) = s.tiers.iter().find(|t| t.kind == Kind::Web) {
        let n: u32 = web.pools.iter().map(|p| p.instances).sum();
        for i in 0..n {
            out.push(format!("{}{}-access.log", web.name, i + 1));
        }
    }
    if s.tiers.iter().any(|t| t.kind == Kind::Database) {
        out.push("slow.log".to_string());
    }
    out.push(TRACES.to_string());
    out
}

/// The traces' file in `--logs DIR`.
pub const TRACES: &str = "traces.jsonl";

/// The machine an instance of a tier ran on, as `host.name` names it: its
/// host group's name, numbered when the group has several machines.
fn machine_of(s: &Scenario, v: &VisitRecord) -> Option<String> {
    let pool = s.tiers[v.tier as usize].pools.first()?;
    let h = &s.hosts[pool.host?];
    Some(if h.instances > 1 {
        format!("{}{}", h.name, v.instance % h.instances + 1)
    } else {
        h.name.clone()
    })
}

/// The request's trace in OpenTelemetry's OTLP JSON file format, one
/// `TracesData` object per line: a server span per tier visited (its
/// resource names the tier's service, machine and instance), from the
/// request's arrival there to the response; between two tiers a client
/// span from the end of the caller's service, so that each span's own
/// time is the tier's wait and service and the client span's the network;
/// a database is called by a client span alone (`db.system`), as a driver
/// instrumentation records it (the database itself is not traced).
/// Times in ns from 2026-01-01.
pub fn write_otlp(s: &Scenario, records: &[AccessRecord], w: &mut dyn Write) -> io::Result<()> {
    let epoch = EPOCH_DAYS as u64 * 86_400 * 1_000_000_000;
    let mut spans: Vec<String> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if r.visits.is_empty() {
            continue;
        }
        spans.clear();
        let trace = format!("{:032x}", i as u128 + 1);
        let mut next_id = (i as u64 + 1) << 8;
        let mut id = || {
            next_id += 1;
            format!("{next_id:016x}")
        };
        let class = &s.classes[r.class as usize];
        let method = if class.access == Access::Write {
            "POST"
        } else {
            "GET"
        };
        let status = if r.status == 200 { 1 } else { 2 };
        let mut parent: Option<String> = None;
        for (k, v) in r.visits.iter().enumerate() {
            let tier = &s.tiers[v.tier as usize];
            if tier.kind == Kind::Database {
                // Called by the previous tier's client span (written there).
                break;
            }
            let sid = id();
            let host = machine_of(s, v)
                .map(|m| format!(r#",{{"key":"host.name","value":{{"stringValue":"{m}"}}}}"#))
                .unwrap_or_default();
            let resource = format!(
                r#"{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{}"}}}},{{"key":"service.instance.id","value":{{"stringValue":"{}-{}"}}}}{host}]}}"#,
                tier.name,
                tier.name,
                v.instance + 1
            );
            let mut attrs = String::new();
            if k == 0 {
                attrs = format!(
                    r#"{{"key":"http.request.method","value":{{"stringValue":"{method}"}}}},{{"key":"url.path","value":{{"stringValue":"/{}/{i}"}}}},{{"key":"http.response.status_code","value":{{"intValue":"{}"}}}}"#,
                    class.name, r.status
                );
            }
            let mut one = format!(
                r#"{{"resource":{resource},"scopeSpans":[{{"scope":{{"name":"stacksim"}},"spans":[{{"traceId":"{trace}","spanId":"{sid}","parentSpanId":"{}","name":"{method} /{}","kind":2,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{attrs}],"status":{{"code":{status}}}}}"#,
                parent.as_deref().unwrap_or(""),
                class.name,
                epoch + v.arrive_ns,
                epoch + r.end_ns.max(v.arrive_ns)
            );
            if let Some(next) = r.visits.get(k + 1) {
                let to = &s.tiers[next.tier as usize];
                let cid = id();
                let (end, db) = if to.kind == Kind::Database {
                    (
                        next.end_ns,
                        r#",{"key":"db.system","value":{"stringValue":"mysql"}}"#.to_string(),
                    )
                } else {
                    (r.end_ns, String::new())
                };
                let _ = std::fmt::Write::write_fmt(
                    &mut one,
                    format_args!(
                        r#",{{"traceId":"{trace}","spanId":"{cid}","parentSpanId":"{sid}","name":"call {}","kind":3,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{{"key":"peer.service","value":{{"stringValue":"{}"}}}}{db}],"status":{{"code":{status}}}}}"#,
                        to.name,
                        epoch + v.end_ns.max(v.arrive_ns),
                        epoch + end.max(v.end_ns).max(v.arrive_ns),
                        to.name
                    ),
                );
                parent = Some(cid);
            }
            one.push_str("]}]}");
            spans.push(one);
        }
        writeln!(w, r#"{{"resourceSpans":[{}]}}"#, spans.join(","))?;
    }
    Ok(())
}

/// HAProxy's `option httplog`: one line per request through the first
/// load-balancer tier, at the time the response ended.
pub fn write_haproxy_log(
    s: &Scenario,
    records: &[AccessRecord],
    w: &mut dyn Write,
) -> io::Result<()> {
    for (i, r) in records.iter().enumerate() {
        let Some((at, lb)) = first_visit(r, s, Kind::LoadBalancer) else {
            continue;
        };
        let ta = ms(r.end_ns) - ms(lb.arrive_ns);
        let tw = ms(lb.start_ns) - ms(lb.arrive_ns);
        let server = r.visits.get(at + 1).map_or("<NOSRV>".to_string(), |v| {
            format!("{}{}", s.tiers[v.tier as usize].name, v.instance + 1)
        });
        let bytes = if r.status == 200 { 2048 } else { 0 };
        writeln!(
            w,
            "10.{}.{}.{}:{} [{}] fe {}/{} 0/{tw}/0/{}/{ta} {} {bytes} - - ---- 1/1/0/0/0 0/0 \"{}\"",
            (i >> 16) % 256,
            (i >> 8) % 256,
            i % 256,
            40_000 + i % 20_000,
            haproxy_date(lb.arrive_ns),
            s.tiers[lb.tier as usize].name,
            server,
            ta - tw,
            r.status,
            request_line(s, r, i)
        )?;
    }
    Ok(())
}

/// One web instance's Nginx log: combined plus `$request_time
/// $upstream_response_time` (`-` when nothing was called upstream).
pub fn write_nginx_log(
    s: &Scenario,
    records: &[AccessRecord],
    instance: u32,
    w: &mut dyn Write,
) -> io::Result<()> {
    for (i, r) in records.iter().enumerate() {
        let Some((at, web)) = first_visit(r, s, Kind::Web) else {
            continue;
        };
        if web.instance != instance {
            continue;
        }
        let rt = ms(r.end_ns) - ms(web.arrive_ns);
        let upstream = if at + 1 < r.visits.len() {
            let u = ms(r.end_ns) - ms(web.end_ns);
            format!("{}.{:03}", u / 1000, u % 1000)
        } else {
            "-".to_string()
        };
        let bytes = if r.status == 200 { 2048 } else { 0 };
        writeln!(
            w,
            "10.0.{}.{} - - [{}] \"{}\" {} {bytes} \"-\" \"stacksim/{}\" {}.{:03} {upstream}",
            (i >> 8) % 256,
            i % 256,
            time_local(r.end_ns),
            request_line(s, r, i),
            r.status,
            crate::VERSION,
            rt / 1000,
            rt % 1000
        )?;
    }
    Ok(())
}

/// A MariaDB slow query log with `long_query_time = 0`: one entry per
/// database visit (the last call of its step), `Query_time` its service.
pub fn write_slow_log(s: &Scenario, records: &[AccessRecord], w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "stacksim, Version: {} (a simulated MariaDB slow log). started with:\nTcp port: 0  Unix socket: none\nTime\t\t    Id Command\tArgument",
        crate::VERSION
    )?;
    let mut last_second = u64::MAX;
    for (i, r) in records.iter().enumerate() {
        let Some((_, db)) = first_visit(r, s, Kind::Database) else {
            continue;
        };
        let second = db.start_ns / 1_000_000_000;
        if second != last_second {
            let t = time_local(db.start_ns);
            // `01/Jan/2026:00:00:07` -> `260101  0:00:07`
            let (y, m, d) = civil(EPOCH_DAYS + (second / 86_400) as i64);
            let hms = &t[12..20];
            let h: u32 = hms[..2].parse().unwrap_or(0);
            writeln!(w, "# Time: {:02}{m:02}{d:02} {h:2}{}", y % 100, &hms[2..])?;
            last_second = second;
        }
        let q = db.end_ns.saturating_sub(db.start_ns) / 1000;
        let write = s.classes[r.class as usize].access == Access::Write;
        writeln!(w, "# User@Host: app[app] @ localhost []")?;
        writeln!(
            w,
            "# Thread_id: {}  Schema: app  QC_hit: No",
            db.instance + 1
        )?;
        writeln!(
            w,
            "# Query_time: {}.{:06}  Lock_time: 0.000000  Rows_sent: {}  Rows_examined: 1",
            q / 1_000_000,
            q % 1_000_000,
            u8::from(!write)
        )?;
        writeln!(w, "# Rows_affected: {}  Bytes_sent: 64", u8::from(write))?;
        writeln!(w, "SET timestamp={};", EPOCH_DAYS as u64 * 86_400 + second)?;
        if write {
            writeln!(w, "INSERT INTO events (item) VALUES ({i});")?;
        } else {
            writeln!(w, "SELECT id, name FROM items WHERE id = {i};")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(EPOCH_DAYS), (2026, 1, 1));
        assert_eq!(civil(EPOCH_DAYS + 59), (2026, 3, 1));
        assert_eq!(time_local(3_723_000_000_000), "01/Jan/2026:01:02:03 +0000");
        assert_eq!(
            time_local(86_400 * 31 * 1_000_000_000),
            "01/Feb/2026:00:00:00 +0000"
        );
    }
}

/// Whether a file's first bytes are an access log `run --access-log` wrote:
/// its first line names stacksim as the user agent. Such a file is replaced
/// by the next run without `--force`; a real server's log never is.
pub fn is_simulated_access_log(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let agent = b"\"stacksim/";
    first.starts_with(b"10.") && first.windows(agent.len()).any(|w| w == agent)
}

#[cfg(test)]
mod own_tests {
    use super::is_simulated_access_log;

    #[test]
    fn a_simulated_log_is_told_from_a_real_one() {
        assert!(is_simulated_access_log(
            b"10.0.0.0 - - [01/Jan/2026:00:00:00 +0000] \"GET /read HTTP/1.1\" 200 2048 \"-\" \"stacksim/0.1.0\" 0.002\n"
        ));
        assert!(!is_simulated_access_log(
            b"127.0.0.1 - - [01/Dec/2026:11:16:15 +0000] \"GET /item/591 HTTP/1.1\" 200 3278 \"-\" \"-\" 0.006\n"
        ));
        assert!(!is_simulated_access_log(b""));
    }
}
