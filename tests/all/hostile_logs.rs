//! `calibrate` on hostile logs: mutations of the rig fixture's real lines
//! (HAProxy, Nginx and slow-log lines in turn)
//! (extreme numbers, reordered and impossible times, cut and endless lines,
//! escape sequences, stray bytes), a compression bomb and a log spread over
//! a month, each run by the binary under a memory limit. It finishes or
//! refuses with exit 2, never panics or aborts, never echoes a control
//! character, and counts every line it read.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::support::root;

/// The address-space limit each run has (1.5 GiB of virtual memory).
const MEMORY_LIMIT_KIB: u64 = 1_500_000;
/// A run that has not finished by then counts as hung.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Real lines of one of the rig's logs, from the same few seconds.
fn base_lines(file: &str, skip: usize, take: usize) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(root().join("tests/data/rig").join(file)).unwrap();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut text)
        .unwrap();
    text.split(|&b| b == b'\n')
        .skip(skip)
        .take(take)
        .map(<[u8]>::to_vec)
        .collect()
}

/// The rig's Nginx `log_format`.
const RIG_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time"#;

/// The three logs the fuzz test mutates: (flag, file, lines to skip, lines
/// to take, the kind the scenario's header names it by).
const LOGS: [(&str, &str, usize, usize, &str); 3] = [
    ("--haproxy", "haproxy.log.gz", 20_000, 3_000, "haproxy"),
    ("--nginx", "web1-access.log.gz", 10_000, 1_500, "nginx"),
    ("--mysql-slow", "slow.log.gz", 60_000, 8_000, "mysql-slow"),
];

/// Runs `stacksim ARGS` in `dir` under the memory and time limits.
fn limited(dir: &Path, args: &str) -> (Output, bool) {
    let script = format!(
        "ulimit -v {MEMORY_LIMIT_KIB} && exec '{}' {args}",
        env!("CARGO_BIN_EXE_stacksim")
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + TIME_LIMIT;
    let mut hung = false;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            hung = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), hung)
}

/// Values a hostile or corrupt log puts where a number belongs.
const NUMBERS: [&str; 7] = [
    "10000000000000",
    "99999999999999999999",
    "-1",
    "0",
    "+5",
    "18446744073709551616",
    "9223372036854775807",
];

/// Applies one mutation to the lines.
fn mutate(lines: &mut Vec<Vec<u8>>, op: u8, a: usize, b: usize) {
    if lines.is_empty() {
        return;
    }
    let i = a % lines.len();
    match op % 10 {
        // A number replaced by an extreme one.
        0 => {
            let l = &lines[i];
            let digits: Vec<usize> = (0..l.len()).filter(|&k| l[k].is_ascii_digit()).collect();
            if let Some(&at) = digits.get(b % digits.len().max(1)) {
                let end = (at..l.len())
                    .find(|&k| !l[k].is_ascii_digit())
                    .unwrap_or(l.len());
                let mut m = l[..at].to_vec();
                m.extend_from_slice(NUMBERS[b % NUMBERS.len()].as_bytes());
                m.extend_from_slice(&l[end..]);
                lines[i] = m;
            }
        }
        // A line repeated elsewhere: time out of order.
        1 => {
            let l = lines[i].clone();
            let j = b % lines.len();
            lines.insert(j, l);
        }
        // A block reversed.
        2 => {
            let j = (i + b % 500).min(lines.len());
            lines[i..j].reverse();
        }
        // A line longer than any real one.
        3 => lines.insert(i, vec![b'A'; 70_000 + b % 200_000]),
        // Terminal escape sequences in the request path.
        4 => {
            let l = &mut lines[i];
            let at = b % (l.len() + 1);
            l.splice(at..at, b"\x1b[2J\x1b]0;pwned\x07\x9b".iter().copied());
        }
        // A line cut short.
        5 => {
            let cut = b % (lines[i].len() + 1);
            lines[i].truncate(cut);
        }
        // A stray byte.
        6 => {
            let l = &mut lines[i];
            if !l.is_empty() {
                let at = b % l.len();
                l[at] = [0u8, 0xff, b'\r', b'"', b' ', 0x80][b % 6];
            }
        }
        // A line lost.
        7 => {
            lines.remove(i);
        }
        // An impossible or far date.
        8 => {
            let dates: [&[u8]; 4] = [
                b"31/Feb/2026",
                b"01/Jan/1970",
                b"01/Dec/9999",
                b"99/Zzz/0000",
            ];
            let l = &lines[i];
            if let Some(at) = l.windows(11).position(|w| w == b"01/Dec/2026") {
                let mut m = l[..at].to_vec();
                m.extend_from_slice(dates[b % dates.len()]);
                m.extend_from_slice(&l[at + 11..]);
                lines[i] = m;
            }
        }
        // Two lines joined (a lost newline).
        _ => {
            if i + 1 < lines.len() {
                let next = lines.remove(i + 1);
                lines[i].extend_from_slice(&next);
            }
        }
    }
}

/// The first line of the output: no terminal control byte is echoed.
fn assert_no_control(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{what} echoes a control character: {text}"
    );
}

/// Lines the scenario says it read from a file: `#   KIND PATH: N lines`.
fn lines_read(scenario: &str, kind: &str) -> Option<u64> {
    let prefix = format!("#   {kind} ");
    let l = scenario.lines().find(|l| l.starts_with(&prefix))?;
    let n = l.rsplit(": ").next()?.split(' ').next()?;
    n.replace(',', "").parse().ok()
}

fn limited_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: limited_cases(),
        ..ProptestConfig::default()
    })]
    #[test]
    fn mutated_real_logs_are_read_or_refused_never_crash(
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..12),
        gzip in any::<bool>(),
    ) {
        let (flag, source, skip, take, kind) = LOGS[ops.len() % 3];
        let mut lines = base_lines(source, skip, take);
        for &(op, a, b) in &ops {
            mutate(&mut lines, op, a, b);
        }
        let mut bytes = lines.join(&b'\n');
        // Half end as a log being written does: mid-line.
        if ops.len() % 2 == 0 {
            bytes.push(b'\n');
        }
        let complete_lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let dir = std::env::temp_dir().join(format!(
            "stacksim-hostile-{}-{:x}",
            std::process::id(),
            bytes.len() ^ ops.len() << 40
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = if gzip {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            std::fs::write(dir.join("m.log.gz"), e.finish().unwrap()).unwrap();
            "m.log.gz"
        } else {
            std::fs::write(dir.join("m.log"), &bytes).unwrap();
            "m.log"
        };
        // A slow log needs a request log beside it: the real HAProxy lines.
        let mut args = format!("calibrate {flag} {file}");
        if flag == "--nginx" {
            args.push_str(&format!(" --nginx-format '{RIG_FORMAT}'"));
        }
        if flag == "--mysql-slow" {
            let (_, source, skip, take, _) = LOGS[0];
            std::fs::write(dir.join("h.log"), base_lines(source, skip, take).join(&b'\n')).unwrap();
            args.push_str(" --haproxy h.log");
        }
        args.push_str(" --window 2s --out o.toml --no-report --quiet");
        let (o, hung) = limited(&dir, &args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        prop_assert!(!hung, "hung: {err}");
        prop_assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "exit {:?} (a signal when None): {err}",
            o.status.code()
        );
        prop_assert!(!err.contains("panicked") && !err.contains("a bug"), "{err}");
        assert_no_control(&o.stderr, "stderr");
        assert_no_control(&o.stdout, "stdout");
        if o.status.success() {
            let scenario = std::fs::read_to_string(dir.join("o.toml")).unwrap();
            prop_assert_eq!(lines_read(&scenario, kind), Some(complete_lines), "every line counted");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A gzip file that expands without end (zeros, no newline) is refused
/// with a clear error once it passes the expansion a log can have.
#[test]
fn a_compression_bomb_is_refused() {
    let dir = super::support::temp_dir("hostile", "bomb");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&zeros).unwrap();
    }
    std::fs::write(dir.join("bomb.log.gz"), e.finish().unwrap()).unwrap();
    let (o, hung) = limited(
        &dir,
        "calibrate --haproxy bomb.log.gz --out o.toml --no-report",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!hung);
    assert!(
        matches!(o.status.code(), Some(1 | 2)),
        "{:?}: {err}",
        o.status.code()
    );
    assert!(err.contains("compression bomb"), "{err}");
    assert!(!dir.join("o.toml").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Real lines spread over a month, one window of 5 s each: memory follows
/// the lines read, not the month (each window of a few requests holds them
/// as values, not a 36 KiB histogram), so it runs under the limit.
#[test]
fn a_log_spread_over_a_month_runs_in_bounded_memory() {
    let dir = super::support::temp_dir("hostile", "month");
    let mut out = Vec::new();
    let f = std::fs::File::open(root().join("tests/data/rig/haproxy.log.gz")).unwrap();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut text)
        .unwrap();
    let mut n = 0u64;
    for l in text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(60_000)
    {
        let Some(at) = l.windows(12).position(|w| w == b"01/Dec/2026:") else {
            continue;
        };
        // Each line 40 s after the last: 60,000 lines span 28 days.
        let t = n * 40;
        let (day, h, m, s) = (1 + t / 86_400, t / 3_600 % 24, t / 60 % 60, t % 60);
        let stamp = format!("{day:02}/Dec/2026:{h:02}:{m:02}:{s:02}");
        out.extend_from_slice(&l[..at]);
        out.extend_from_slice(stamp.as_bytes());
        out.extend_from_slice(&l[at + 20..]);
        out.push(b'\n');
        n += 1;
    }
    std::fs::write(dir.join("month.log"), &out).unwrap();
    let (o, hung) = limited(
        &dir,
        "calibrate --haproxy month.log --window 5s --out o.toml --no-report --quiet",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!hung);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let scenario = std::fs::read_to_string(dir.join("o.toml")).unwrap();
    assert_eq!(lines_read(&scenario, "haproxy"), Some(n));
    std::fs::remove_dir_all(&dir).unwrap();
}
