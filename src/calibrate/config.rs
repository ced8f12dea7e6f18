//! The topology figures logs do not hold, read from the configs when given:
//! haproxy.cfg (nbthread, maxconn, balance, servers, ssl binds) and
//! nginx.conf (worker_processes, worker_connections, upstream servers).
//! Only the directives named here are read; the rest is ignored.

/// What haproxy.cfg says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HaproxyConfig {
    /// `nbthread` in `global`.
    pub nbthread: Option<u32>,
    /// `maxconn` in `global`.
    pub maxconn: Option<u32>,
    /// `balance` of the first backend (or `defaults`).
    pub balance: Option<String>,
    /// Servers of the backends: (name, per-server `maxconn`).
    pub servers: Vec<(String, Option<u32>)>,
    /// A `bind` with `ssl`: TLS ends at the balancer.
    pub tls: bool,
}

/// What nginx.conf says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NginxConfig {
    /// `worker_processes` (None for `auto`).
    pub worker_processes: Option<u32>,
    /// `worker_connections`.
    pub worker_connections: Option<u32>,
    /// `server` lines inside `upstream` blocks.
    pub upstream_servers: u32,
}

fn num(t: Option<&str>) -> Option<u32> {
    t.and_then(|v| v.trim_end_matches(';').parse().ok())
}

/// Reads haproxy.cfg text.
pub fn haproxy(text: &str) -> HaproxyConfig {
    let mut c = HaproxyConfig::default();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut t = line.split_whitespace();
        let Some(first) = t.next() else { continue };
        if !line.starts_with(char::is_whitespace) {
            section = first.to_string();
        }
        match (section.as_str(), first) {
            ("global", "nbthread") => c.nbthread = num(t.next()),
            ("global", "maxconn") => c.maxconn = num(t.next()),
            ("backend" | "listen" | "defaults", "balance") if c.balance.is_none() => {
                c.balance = t.next().map(str::to_string);
            }
            ("backend" | "listen", "server") => {
                let name = t.next().unwrap_or("").to_string();
                let rest: Vec<&str> = t.collect();
                let maxconn = rest
                    .iter()
                    .position(|w| *w == "maxconn")
                    .and_then(|i| num(rest.get(i + 1).copied()));
                c.servers.push((name, maxconn));
            }
            ("frontend" | "listen", "bind") if t.any(|w| w == "ssl") => c.tls = true,
            _ => {}
        }
    }
    c
}

/// Reads nginx.conf text.
pub fn nginx(text: &str) -> NginxConfig {
    let mut c = NginxConfig::default();
    let mut in_upstream = 0usize;
    let mut depth = 0usize;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for stmt in line.split_inclusive([';', '{', '}']) {
            let mut t = stmt.split_whitespace();
            let first = t.next().unwrap_or("");
            match first {
                "worker_processes" => c.worker_processes = num(t.next()),
                "worker_connections" => c.worker_connections = num(t.next()),
                "upstream" => in_upstream = depth + 1,
                "server" if in_upstream > 0 && depth >= in_upstream => c.upstream_servers += 1,
                _ => {}
            }
            if stmt.ends_with('{') {
                depth += 1;
            } else if stmt.ends_with('}') {
                depth = depth.saturating_sub(1);
                if depth < in_upstream {
                    in_upstream = 0;
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_directives() {
        let h = haproxy(
            "global\n    nbthread 2\n    maxconn 4096\nfrontend fe\n    bind 127.0.0.1:443 ssl crt x.pem\nbackend web\n    balance roundrobin\n    server web1 127.0.0.1:8081 maxconn 512\n    server web2 127.0.0.1:8082\n",
        );
        assert_eq!(h.nbthread, Some(2));
        assert_eq!(h.maxconn, Some(4096));
        assert_eq!(h.balance.as_deref(), Some("roundrobin"));
        assert_eq!(
            h.servers,
            vec![("web1".into(), Some(512)), ("web2".into(), None)]
        );
        assert!(h.tls);
        let n = nginx(
            "worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n upstream app {\n  server a:1;\n  server b:2;\n }\n server { listen 80; }\n}\n",
        );
        assert_eq!(n.worker_processes, Some(1));
        assert_eq!(n.worker_connections, Some(1024));
        assert_eq!(n.upstream_servers, 2);
    }
}
