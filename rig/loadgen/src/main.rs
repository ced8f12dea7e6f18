//! Open-loop Poisson HTTP/1.1 load for the calibration rig.
//!
//! One dispatcher thread draws exponential gaps and hands each request, with
//! its intended send time, to a pool of keep-alive connections. Latency is
//! measured from the intended send time, so a request that waited for a free
//! connection is charged for the wait (no coordinated omission). The run is
//! bounded by `--duration` and `--max-requests`; after dispatch stops, the
//! connections get `--drain` seconds to finish and anything still open counts
//! as unfinished.
//!
//! Output: one CSV line per request on `--out` (intended send time since the
//! Unix epoch in microseconds, latency in microseconds, status, class) and a
//! one-line summary on stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Args {
    target: String,
    rate: f64,
    duration: f64,
    max_requests: u64,
    connections: usize,
    write_share: f64,
    items: u64,
    seed: u64,
    drain: f64,
    out: String,
    traceparent: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        target: "127.0.0.1:8080".into(),
        rate: 100.0,
        duration: 10.0,
        max_requests: 1_000_000,
        connections: 64,
        write_share: 0.2,
        items: 10_000,
        seed: 1,
        drain: 10.0,
        out: "requests.csv".into(),
        traceparent: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--target" => a.target = v,
            "--rate" => a.rate = num(&v)?,
            "--duration" => a.duration = num(&v)?,
            "--max-requests" => a.max_requests = num(&v)? as u64,
            "--connections" => a.connections = num(&v)? as usize,
            "--write-share" => a.write_share = num(&v)?,
            "--items" => a.items = num(&v)? as u64,
            "--seed" => a.seed = num(&v)? as u64,
            "--drain" => a.drain = num(&v)?,
            "--out" => a.out = v,
            "--traceparent" => a.traceparent = v == "1",
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !(a.rate > 0.0 && a.duration > 0.0 && a.connections > 0) {
        return Err("--rate, --duration and --connections must be positive".into());
    }
    Ok(a)
}

/// splitmix64: small, seedable, good enough for arrival gaps.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform on (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

struct Job {
    intended: Instant,
    write: bool,
    item: u64,
    /// A W3C trace context (trace id, the client's span id) to send as a
    /// `traceparent` header, as an instrumented caller would.
    trace: Option<(u128, u64)>,
}

struct Record {
    intended_us: u64,
    latency_us: u64,
    status: u16,
    write: bool,
}

fn connect(target: &str) -> std::io::Result<BufReader<TcpStream>> {
    let s = TcpStream::connect(target)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(BufReader::new(s))
}

/// Sends one request on a keep-alive connection and reads the whole
/// response; returns the status and whether the server closes the connection.
fn exchange(conn: &mut BufReader<TcpStream>, job: &Job) -> std::io::Result<(u16, bool)> {
    let tp = job
        .trace
        .map(|(t, s)| format!("traceparent: 00-{t:032x}-{s:016x}-01\r\n"))
        .unwrap_or_default();
    let req = if job.write {
        let body = format!("item={}", job.item);
        format!(
            "POST /item HTTP/1.1\r\nHost: rig\r\n{tp}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    } else {
        format!("GET /item/{} HTTP/1.1\r\nHost: rig\r\n{tp}\r\n", job.item)
    };
    conn.get_mut().write_all(req.as_bytes())?;
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut length = 0usize;
    let mut close = false;
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().map_err(|_| std::io::ErrorKind::InvalidData)?;
        } else if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        }
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body)?;
    Ok((status, close))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let (rec_tx, rec_rx) = mpsc::channel::<Record>();
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let epoch_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64;

    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let rx = Arc::clone(&rx);
        let rec_tx = rec_tx.clone();
        let target = args.target.clone();
        let stop = Arc::clone(&stop);
        workers.push(std::thread::spawn(move || {
            let mut conn: Option<BufReader<TcpStream>> = None;
            loop {
                let job = {
                    let guard = rx.lock().expect("queue lock");
                    match guard.recv() {
                        Ok(j) => j,
                        Err(_) => return,
                    }
                };
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let mut status = 0u16;
                for _attempt in 0..2 {
                    if conn.is_none() {
                        conn = connect(&target).ok();
                    }
                    let Some(c) = conn.as_mut() else { break };
                    match exchange(c, &job) {
                        Ok((s, close)) => {
                            status = s;
                            if close {
                                conn = None;
                            }
                            break;
                        }
                        // A keep-alive connection closed by the server: one
                        // fresh connection, then give up.
                        Err(_) => conn = None,
                    }
                }
                let end = Instant::now();
                let _ = rec_tx.send(Record {
                    intended_us: epoch_us + job.intended.duration_since(t0).as_micros() as u64,
                    latency_us: end.duration_since(job.intended).as_micros() as u64,
                    status,
                    write: job.write,
                });
            }
        }));
    }
    drop(rec_tx);

    // Dispatch: exponential gaps at the target rate.
    let mut rng = Rng(args.seed);
    let mut next = t0;
    let mut sent = 0u64;
    let end_at = t0 + Duration::from_secs_f64(args.duration);
    while sent < args.max_requests {
        next += Duration::from_secs_f64(-rng.unit().ln() / args.rate);
        if next >= end_at {
            break;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let write = rng.unit() <= args.write_share;
        let item = rng.next_u64() % args.items + 1;
        let trace = args.traceparent.then(|| {
            let t = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
            (t.max(1), rng.next_u64().max(1))
        });
        if tx
            .send(Job {
                intended: next,
                write,
                item,
                trace,
            })
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    drop(tx);
    let dispatched = Instant::now();

    // Drain, bounded in time: records arrive as connections finish.
    let deadline = dispatched + Duration::from_secs_f64(args.drain);
    let mut records = Vec::with_capacity(sent as usize);
    while records.len() < sent as usize {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match rec_rx.recv_timeout(left) {
            Ok(r) => records.push(r),
            Err(_) => break,
        }
    }
    stop.store(true, Ordering::Relaxed);

    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.out).unwrap_or_else(|e| {
            eprintln!("loadgen: {}: {e}", args.out);
            std::process::exit(2)
        }),
    );
    writeln!(out, "intended_us,latency_us,status,class").expect("write");
    for r in &records {
        writeln!(
            out,
            "{},{},{},{}",
            r.intended_us,
            r.latency_us,
            r.status,
            if r.write { "write" } else { "read" }
        )
        .expect("write");
    }
    out.flush().expect("flush");

    let ok: Vec<u64> = {
        let mut v: Vec<u64> = records
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(|r| r.latency_us)
            .collect();
        v.sort_unstable();
        v
    };
    let q = |p: f64| {
        if ok.is_empty() {
            f64::NAN
        } else {
            ok[((ok.len() as f64 * p) as usize).min(ok.len() - 1)] as f64 / 1000.0
        }
    };
    // Achieved: successful completions within the level's length (a backlog
    // that drains afterwards does not count), over that length.
    let window_end_us = epoch_us + (args.duration * 1e6) as u64;
    let achieved = records
        .iter()
        .filter(|r| (200..300).contains(&r.status) && r.intended_us + r.latency_us <= window_end_us)
        .count();
    let failed = records.len() - ok.len();
    println!(
        "rate={} sent={} completed_ok={} failed={} unfinished={} achieved_rps={:.1} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2}",
        args.rate,
        sent,
        ok.len(),
        failed,
        sent as usize - records.len(),
        achieved as f64 / args.duration,
        q(0.50),
        q(0.90),
        q(0.99)
    );
    // Workers blocked on a stalled server are left to the process exit.
    std::process::exit(0);
}
