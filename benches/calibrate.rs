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
        postgres: Vec::new(),
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

/// A request's trace as the simulator's `run --logs` writes it: four tiers,
/// seven spans (a server span per service, a client span per call), one
/// OTLP JSON line.
fn otlp_line(i: u64) -> String {
    let t0 = 1_767_225_600_000_000_000u64 + i * 3_000_000;
    let span = |svc: &str, id: u64, parent: u64, kind: u8, a: u64, b: u64, attrs: &str| {
        let parent = if parent == 0 {
            String::new()
        } else {
            format!("{parent:016x}")
        };
        format!(
            r#"{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{svc}"}}}},{{"key":"service.instance.id","value":{{"stringValue":"{svc}-1"}}}},{{"key":"host.name","value":{{"stringValue":"front"}}}}]}},"scopeSpans":[{{"scope":{{"name":"bench"}},"spans":[{{"traceId":"{:032x}","spanId":"{id:016x}","parentSpanId":"{parent}","name":"GET /read","kind":{kind},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{attrs}],"status":{{"code":1}}}}]}}]}}"#,
            i + 1,
            t0 + a,
            t0 + b
        )
    };
    let base = (i + 1) << 8;
    let get = r#"{"key":"http.request.method","value":{"stringValue":"GET"}},{"key":"url.path","value":{"stringValue":"/read/1"}}"#;
    let peer = |p: &str| format!(r#"{{"key":"peer.service","value":{{"stringValue":"{p}"}}}}"#);
    let spans = [
        span("lb", base + 1, 0, 2, 0, 9_000_000, get),
        span(
            "lb",
            base + 2,
            base + 1,
            3,
            300_000,
            9_000_000,
            &peer("web"),
        ),
        span("web", base + 3, base + 2, 2, 300_000, 9_000_000, ""),
        span(
            "web",
            base + 4,
            base + 3,
            3,
            3_300_000,
            9_000_000,
            &peer("app"),
        ),
        span("app", base + 5, base + 4, 2, 4_300_000, 9_000_000, ""),
        span(
            "app",
            base + 6,
            base + 5,
            3,
            8_000_000,
            8_500_000,
            r#"{"key":"db.system","value":{"stringValue":"mysql"}}"#,
        ),
    ];
    format!(r#"{{"resourceSpans":[{}]}}"#, spans.join(","))
}

/// OTLP JSON traces: parse, join by trace id within the horizon, and turn
/// each trace into visits; items are spans.
#[divan::bench]
fn otlp_spans(b: divan::Bencher) {
    let traces = 20_000u64;
    let mut text = String::new();
    for i in 0..traces {
        text.push_str(&otlp_line(i));
        text.push('\n');
    }
    let dir = std::env::temp_dir().join(format!("stacksim-bench-otlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp");
    let path = dir.join("traces.jsonl");
    std::fs::write(&path, text).expect("write");
    let rules = classes::default_rules();
    b.counter(ItemsCount::new(traces as usize * 6))
        .bench_local(|| {
            let mut n = 0i64;
            let paths = [path.clone()];
            stacksim::calibrate::traces::read_traces(
                &paths,
                &[],
                Vec::new(),
                &rules,
                (None, None),
                &mut |t| {
                    n += t.e2e_ns;
                },
            )
            .expect("traces");
            divan::black_box(n)
        });
    let _ = std::fs::remove_dir_all(&dir);
}
