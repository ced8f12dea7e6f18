//! What a tier does: one type for the four roles calibration knows, so
//! that a role is matched once, not as strings in each estimator.

use std::fmt;

/// A tier's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A load balancer (HAProxy, Envoy, Traefik).
    Balancer,
    /// A web server or reverse proxy (Nginx, Apache, Caddy).
    Web,
    /// An application server (gunicorn, PHP-FPM, a JVM, Node, ...).
    App,
    /// A database.
    Database,
}

/// Processes whose name says their role, as CPU counters name them (a
/// process, a systemd unit, a container): balancers, web servers,
/// application servers and runtimes, databases.
const KNOWN_PROCESSES: [(&str, Role); 21] = [
    ("haproxy", Role::Balancer),
    ("envoy", Role::Balancer),
    ("traefik", Role::Balancer),
    ("nginx", Role::Web),
    ("apache2", Role::Web),
    ("httpd", Role::Web),
    ("caddy", Role::Web),
    ("gunicorn", Role::App),
    ("uwsgi", Role::App),
    ("php-fpm", Role::App),
    ("puma", Role::App),
    ("unicorn", Role::App),
    ("node", Role::App),
    ("java", Role::App),
    ("tomcat", Role::App),
    ("dotnet", Role::App),
    ("mysqld", Role::Database),
    ("mariadbd", Role::Database),
    ("mariadb", Role::Database),
    ("mysql", Role::Database),
    ("postgres", Role::Database),
];

impl Role {
    /// Every role, in the order a request meets them.
    pub const ALL: [Role; 4] = [Role::Balancer, Role::Web, Role::App, Role::Database];

    /// The scenario's spelling of the role (`kind = "..."`).
    pub const fn kind(self) -> &'static str {
        match self {
            Role::Balancer => "load-balancer",
            Role::Web => "web",
            Role::App => "app",
            Role::Database => "database",
        }
    }

    /// The tier's name when calibrated from logs, as flags name it
    /// (`--workers app=4`, `--component worker=app`).
    pub const fn tier(self) -> &'static str {
        match self {
            Role::Balancer => "lb",
            Role::Web => "web",
            Role::App => "app",
            Role::Database => "db",
        }
    }

    /// The role a logs' tier name stands for.
    pub fn of_tier(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.tier() == name)
    }

    /// Its place in per-role arrays (`[lb, web, app, db]`).
    pub const fn slot(self) -> usize {
        self as usize
    }

    /// A well-known process's role, from a name that contains it
    /// (`php-fpm8.2`, `mariadbd`, `nginx.service`).
    pub fn of_process(name: &str) -> Option<Role> {
        let lower = name.to_ascii_lowercase();
        KNOWN_PROCESSES
            .iter()
            .find(|(p, _)| lower.contains(p))
            .map(|(_, r)| *r)
    }

    /// A traced service's role from its name; `db` when a client span
    /// called it as a database (`db.system`). Anything not named as a
    /// balancer, a web server or a database is an application.
    pub fn of_service(name: &str, db: bool) -> Role {
        let l = name.to_ascii_lowercase();
        if db
            || ["mysql", "mariadb", "postgres", "mongo", "redis", "memcache"]
                .iter()
                .any(|k| l.contains(k))
        {
            return Role::Database;
        }
        if ["haproxy", "envoy", "traefik", "balancer", "lb"]
            .iter()
            .any(|k| l == *k || l.contains(k) && *k != "lb")
        {
            return Role::Balancer;
        }
        if ["nginx", "apache", "httpd", "caddy", "web"]
            .iter()
            .any(|k| l.contains(k))
        {
            return Role::Web;
        }
        Role::App
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_come_from_processes_services_and_tier_names() {
        for (name, role) in [
            ("php-fpm8.2", Some(Role::App)),
            ("MySQLd", Some(Role::Database)),
            ("nginx.service", Some(Role::Web)),
            ("haproxy", Some(Role::Balancer)),
            ("backup", None),
        ] {
            assert_eq!(Role::of_process(name), role, "{name}");
        }
        assert_eq!(Role::of_service("nginx-edge", false), Role::Web);
        assert_eq!(Role::of_service("checkout", false), Role::App);
        assert_eq!(Role::of_service("orders", true), Role::Database);
        assert_eq!(Role::of_service("envoy-front", false), Role::Balancer);
        for r in Role::ALL {
            assert_eq!(Role::of_tier(r.tier()), Some(r));
            assert_eq!(Role::ALL[r.slot()], r);
        }
        assert_eq!(Role::of_tier("cache"), None);
    }
}
