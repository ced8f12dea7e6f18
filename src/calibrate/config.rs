//! The topology figures logs do not hold, read from the configs when given:
//! haproxy.cfg (nbthread, maxconn, balance, servers, ssl binds),
//! nginx.conf (worker_processes, worker_connections, upstream servers), an
//! application server's config (gunicorn, uWSGI, PHP-FPM, Puma: its
//! workers) and the database's (`my.cnf`: `max_connections`). Only the
//! directives named here are read; the rest is ignored.

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

/// An application server's worker count, as its config says, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct AppConfig {
    /// Requests it serves at once.
    pub workers: u32,
    /// The directive it came from, for the scenario's comment.
    pub source: String,
}

/// `key = value` or `key value` (a config line), the key lowercased; `#`
/// and `;` comments dropped.
fn key_value(line: &str) -> Option<(String, &str)> {
    let line = line.split(['#', ';']).next()?.trim();
    let (k, v) = match line.split_once('=') {
        Some((k, v)) => (k.trim(), v.trim()),
        None => line.split_once(char::is_whitespace)?,
    };
    Some((k.trim().to_ascii_lowercase(), v.trim()))
}

/// Reads an application server's config: gunicorn's (`workers = 4`, with
/// `threads = 2` multiplying), uWSGI's (`processes` or `workers`, times
/// `threads`), a PHP-FPM pool's (`pm.max_children`), Puma's (`workers 2`
/// times the most of `threads 1, 5`). `None` when it names no count (a
/// Python expression such as `cpu_count() * 2 + 1` is not evaluated).
pub fn app(text: &str) -> Option<AppConfig> {
    let (mut workers, mut threads, mut source) = (None::<u32>, None::<u32>, Vec::new());
    for line in text.lines() {
        let Some((k, v)) = key_value(line) else {
            continue;
        };
        let v = v.trim_matches(['"', '\'']);
        match k.as_str() {
            "workers" | "processes" | "pm.max_children" => {
                if let Ok(n) = v.parse::<u32>() {
                    workers = Some(n);
                    source.push(format!("{k} = {n}"));
                }
            }
            "threads" => {
                // Puma's `threads MIN, MAX`: the most.
                let most = v
                    .split(',')
                    .filter_map(|t| t.trim().parse::<u32>().ok())
                    .max();
                if let Some(n) = most {
                    threads = Some(n);
                    source.push(format!("threads = {v}"));
                }
            }
            _ => {}
        }
    }
    let w = match (workers, threads) {
        (Some(w), t) => w.saturating_mul(t.unwrap_or(1)),
        (None, Some(t)) => t,
        (None, None) => return None,
    };
    (w > 0).then(|| AppConfig {
        workers: w,
        source: source.join(", "),
    })
}

/// `max_connections` in a MySQL / MariaDB config (`[mysqld]`, `[mariadb]`
/// or `[server]`).
pub fn mysql_max_connections(text: &str) -> Option<u32> {
    let mut section = String::new();
    let mut found = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        if !matches!(
            section.as_str(),
            "mysqld" | "mariadb" | "server" | "mariadbd"
        ) {
            continue;
        }
        if let Some((k, v)) = key_value(t)
            && k.replace('-', "_") == "max_connections"
        {
            found = v.parse().ok().or(found);
        }
    }
    found
}

#[cfg(test)]
mod app_tests {
    use super::*;

    #[test]
    fn worker_counts_come_from_each_kind_of_config() {
        let g = app("bind = '127.0.0.1:8000'\nworkers = 4  # sync\nthreads = 2\n").unwrap();
        assert_eq!(g.workers, 8);
        assert_eq!(g.source, "workers = 4, threads = 2");
        assert_eq!(app("[uwsgi]\nprocesses = 6\n").unwrap().workers, 6);
        let fpm = app("[www]\npm = static\npm.max_children = 6\n").unwrap();
        assert_eq!(
            (fpm.workers, fpm.source.as_str()),
            (6, "pm.max_children = 6")
        );
        assert_eq!(app("workers 2\nthreads 1, 5\n").unwrap().workers, 10);
        assert_eq!(app("workers = multiprocessing.cpu_count() * 2 + 1\n"), None);
        assert_eq!(
            mysql_max_connections(
                "[client]\nmax_connections = 1\n[mysqld]\nmax-connections = 151\n"
            ),
            Some(151)
        );
        assert_eq!(mysql_max_connections("[mysqld]\nport = 3306\n"), None);
    }
}
