//! Speed of calibration's log readers on the rig's real logs
//! (tests/data/rig): lines per second through each parser, and the whole
//! streaming pass (gzip, parse, windows, histograms) over a file.
//!
//! `cargo bench --bench calibrate` prints items (lines) per second.

use std::io::Read;
use std::path::PathBuf;

use divan::counter::ItemsCount;
use stacksim::calibrate::classes;
use stacksim::calibrate::haproxy::HaproxyParser;
use stacksim::calibrate::nginx::NginxParser;
use stacksim::calibrate::observe::{LogInputs, observe};

const RIG_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time"#;

fn main() {
    divan::main();
}

fn rig(f: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rig")
        .join(f)
}

/// The decompressed lines of a fixture log.
fn lines(f: &str) -> Vec<Vec<u8>> {
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(rig(f)).expect("fixture"))
        .read_to_end(&mut text)
        .expect("gzip");
    text.split(|&c| c == b'\n')
        .map(<[u8]>::to_vec)
        .filter(|l| !l.is_empty())
        .collect()
}

#[divan::bench]
fn haproxy_httplog_lines(b: divan::Bencher) {
    let ls = lines("haproxy.log.gz");
    let mut p = HaproxyParser::new(None).expect("format");
    b.counter(ItemsCount::new(ls.len())).bench_local(|| {
        let mut n = 0u64;
        for l in &ls {
            if let Some(r) = p.parse(l) {
                n += r.active_ms.unwrap_or(0) as u64;
            }
        }
        divan::black_box(n)
    });
}

#[divan::bench]
fn nginx_lines(b: divan::Bencher) {
    let ls = lines("web1-access.log.gz");
    let mut p = NginxParser::new(Some(RIG_FORMAT)).expect("format");
    b.counter(ItemsCount::new(ls.len())).bench_local(|| {
        let mut n = 0i64;
        for l in &ls {
            if let Some(r) = p.parse(l) {
                n += r.request_ns;
            }
        }
        divan::black_box(n)
    });
}

/// The whole pass over the HAProxy log as calibrate makes it: gunzip,
/// parse, classify, window, histogram.
#[divan::bench(sample_count = 10)]
fn observe_haproxy_log(b: divan::Bencher) {
    let n = lines("haproxy.log.gz").len();
    let inputs = LogInputs {
        haproxy: vec![rig("haproxy.log.gz")],
        haproxy_format: None,
        haproxy_utc_offset_s: 0,
        nginx: Vec::new(),
        nginx_format: None,
        mysql_slow: Vec::new(),
        window_ns: 60_000_000_000,
        window_auto: false,
        classes: classes::default_rules(),
        since_ns: None,
        until_ns: None,
        keep_arrivals: false,
    };
    b.counter(ItemsCount::new(n))
        .bench(|| divan::black_box(observe(&inputs).expect("observe").windows.len()));
}
