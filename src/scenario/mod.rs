//! Scenario files: TOML text in, a validated [`Scenario`] out, or every
//! problem at once with its location.
//!
//! Stages: TOML text -> spanned document ([`toml::de::DeTable`]) -> walked by
//! `build` with a `Reader` that records problems -> [`Scenario`].

pub mod axis;
mod build;
mod classes;
pub mod diagnostic;
mod document;
pub use document::{KeyChange, at_constant_rate, diff as diff_documents};
mod faults;
pub mod files;
mod hosts;
mod overrides;
mod read;
pub mod spec;
mod tiers;

use std::path::Path;

use toml::de::DeTable;

pub use axis::Axis;
pub use diagnostic::{Diagnostic, ScenarioError};
pub use overrides::Override;
pub use spec::*;

/// The reference design, embedded so `stacksim run` works with no file.
pub const REFERENCE_TOML: &str = include_str!("../../scenarios/secured-web-stack.toml");

/// The scenario name a file stem gives (other characters become `-`).
pub fn folder_name(file_stem: &str) -> String {
    build::folder_name_from(file_stem)
}

/// The reference scenario named after the file it is written to
/// (`stacksim init mystack.toml` gives `name = "mystack"`), so that its
/// results go to `output/mystack`, not over the reference's.
pub fn reference_named(file_stem: &str) -> String {
    let name = folder_name(file_stem);
    let from = "\nname = \"secured-web-stack\"\n";
    REFERENCE_TOML.replacen(from, &format!("\nname = \"{name}\"\n"), 1)
}
/// Starting shapes for `stacksim init --template NAME`: the name, what it
/// is, and its text (shipped scenarios, none reading a data file).
pub const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "reference",
        "the secured, monitored three-server stack with its known weaknesses",
        REFERENCE_TOML,
    ),
    (
        "improved",
        "the reference with its weaknesses fixed: redundant edge, failover, split machines",
        include_str!("../../scenarios/secured-web-stack-improved.toml"),
    ),
    (
        "one-box",
        "a whole stack on one 2-core machine, threads and workers as real servers have them",
        include_str!("../../scenarios/examples/one-box.toml"),
    ),
    (
        "closed-users",
        "a closed workload: a population of users who think between requests",
        include_str!("../../scenarios/examples/closed-users.toml"),
    ),
    (
        "page-queries",
        "classes with their own routes and query counts per page",
        include_str!("../../scenarios/examples/page-queries.toml"),
    ),
    (
        "primary-failover",
        "the reference with its MySQL primary crashing and a replica promoted",
        include_str!("../../scenarios/primary-failover.toml"),
    ),
];

/// Template `template`'s text with its scenario named after `file_stem`
/// (as `init` writes it), or `None` for an unknown template.
pub fn template_named(template: &str, file_stem: &str) -> Option<String> {
    let (_, _, text) = TEMPLATES.iter().find(|(n, _, _)| *n == template)?;
    let name = folder_name(file_stem);
    // The scenario's own `name` is the first top-level one, before any table.
    let at = text.find("\nname = \"")?;
    let end = at + 1 + text[at + 1..].find('\n')?;
    Some(format!(
        "{}\nname = \"{name}\"{}",
        &text[..at],
        &text[end..]
    ))
}

/// The name shown for the embedded reference scenario.
pub const REFERENCE_PATH: &str = "<built-in secured-web-stack.toml>";

/// Parses and validates a scenario from text. `path` is used in messages;
/// `base_dir` resolves relative file names (empirical CSVs).
pub fn parse(src: &str, path: &str, base_dir: Option<&Path>) -> Result<Scenario, ScenarioError> {
    parse_with(src, path, base_dir, &[])
}

/// Parses and validates a scenario with `--set` overrides applied first.
pub fn parse_with(
    src: &str,
    path: &str,
    base_dir: Option<&Path>,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    let fail = |diagnostics: Vec<Diagnostic>| ScenarioError {
        path: path.to_string(),
        source: src.to_string(),
        overrides: overrides.iter().map(Override::shown).collect(),
        diagnostics,
    };
    let (doc, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        let diags = errors
            .iter()
            .map(|e| Diagnostic {
                span: e.span().unwrap_or(0..0),
                key: String::new(),
                message: e.message().trim().to_string(),
                hint: Some("this is not valid TOML; see https://toml.io".into()),
            })
            .collect();
        return Err(fail(diags));
    }
    // A relative rate (`workload.rate=2x`) becomes the absolute one, from
    // the workload's peak as the overrides before it leave it.
    let (resolved, mut notes) = match resolve_relative_rates(src, path, base_dir, overrides) {
        Ok(x) => x,
        Err(diags) => return Err(fail(diags)),
    };
    let overrides: &[Override] = &resolved;
    let mut doc = doc.into_inner();
    // Path problems are reported together with everything validation finds.
    let (path_problems, replaced) = overrides::apply(&mut doc, overrides, src.len());
    notes.extend(replaced);
    let default_name = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.starts_with('<'))
        .unwrap_or("scenario")
        .to_string();
    let mut reader = read::Reader {
        diags: Vec::new(),
        base_dir: base_dir.map(Path::to_path_buf),
        pending_replay_classes: Vec::new(),
        src_len: src.len(),
        data_files: Vec::new(),
    };
    match build::read_scenario(&mut reader, &doc, &default_name) {
        Some(mut s) if reader.diags.is_empty() && path_problems.is_empty() => {
            s.document = document::to_table(&doc);
            s.data_files = std::mem::take(&mut reader.data_files);
            s.override_notes = notes;
            Ok(s)
        }
        _ => {
            let mut diags = path_problems;
            diags.extend(reader.diags);
            if diags.is_empty() {
                diags.push(Diagnostic {
                    span: 0..0,
                    key: String::new(),
                    message: "the scenario is incomplete".into(),
                    hint: None,
                });
            }
            diags.sort_by_key(|d| d.span.start);
            Err(fail(diags))
        }
    }
}

/// The overrides with every relative `workload.rate` (`2x`, `+50%`) made
/// absolute: the factor times the peak rate of the workload the overrides
/// before it give (a schedule's highest point, a replay's busiest second, a
/// constant rate itself), with a note saying so.
fn resolve_relative_rates(
    src: &str,
    path: &str,
    base_dir: Option<&Path>,
    overrides: &[Override],
) -> Result<(Vec<Override>, Vec<String>), Vec<Diagnostic>> {
    let mut out = overrides.to_vec();
    let mut notes = Vec::new();
    for i in 0..out.len() {
        if out[i].key != "workload.rate" {
            continue;
        }
        let Some(factor) = overrides::relative_rate(&out[i].value) else {
            continue;
        };
        let span = overrides::override_span(src.len(), i);
        let before = parse_with(src, path, base_dir, &out[..i]).map_err(|e| e.diagnostics)?;
        let Some(peak) = before.arrivals.peak_rate().filter(|r| *r > 0.0) else {
            return Err(vec![Diagnostic {
                span,
                key: out[i].key.clone(),
                message: format!(
                    "`{}` is relative to the workload's peak rate, and a closed workload has none",
                    out[i].value
                ),
                hint: Some("give an absolute rate, e.g. workload.rate=900".into()),
            }]);
        };
        // To a thousandth of a request per second: no float noise in the
        // resolved scenario.
        let rate = (peak * factor * 1000.0).round() / 1000.0;
        notes.push(format!(
            "{} is {factor} × the workload's peak of {}/s: {}/s",
            out[i].shown(),
            rate_text(peak),
            rate_text(rate)
        ));
        out[i].value = format!("{rate}");
    }
    Ok((out, notes))
}

/// A rate for a note: whole numbers grouped by thousands, else one decimal.
fn rate_text(r: f64) -> String {
    if (r - r.round()).abs() < 1e-9 && r < 1e15 {
        crate::units::thousands(r.round() as u64)
    } else {
        format!("{r:.1}")
    }
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<(Scenario, String), LoadError> {
    load_with(path, &[])
}

/// Reads a scenario file, applies overrides, validates.
pub fn load_with(path: &Path, overrides: &[Override]) -> Result<(Scenario, String), LoadError> {
    let src = files::read_scenario(path)?;
    let scenario = parse_with(&src, &path.display().to_string(), path.parent(), overrides)?;
    Ok((scenario, src))
}

/// Why a scenario could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    Io(String, std::io::Error),
    /// The file has problems.
    Invalid(ScenarioError),
}

impl From<ScenarioError> for LoadError {
    fn from(e: ScenarioError) -> Self {
        LoadError::Invalid(e)
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The message names the file already (`files::read_capped`).
            LoadError::Io(_, e) => write!(f, "{e}"),
            LoadError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_scenario_is_valid() {
        let s = parse(REFERENCE_TOML, "ref.toml", None).unwrap();
        assert_eq!(s.name, "secured-web-stack");
        assert!(s.tiers.iter().any(|t| t.kind == Kind::Database));
    }

    #[test]
    fn collects_every_problem_at_once() {
        let src = r#"
name = "x"
[simulation]
duration = "5"
replicatons = 3
[workload]
rate = -4
classes = [ { name = "a", share = 0.5 }, { name = "b", share = 0.4 } ]
[[tier]]
name = "web"
wokers = 4
service = "exp(2)"
balance = "fastest"
"#;
        let e = parse(src, "x.toml", None).unwrap_err();
        let keys: Vec<&str> = e.diagnostics.iter().map(|d| d.key.as_str()).collect();
        for k in [
            "simulation.duration",
            "simulation.replicatons",
            "workload.rate",
            "workload.classes",
            "tier.web.wokers",
            "tier.web.service",
            "tier.web.balance",
        ] {
            assert!(keys.contains(&k), "missing {k} in {keys:?}");
        }
        let text = e.render(false);
        assert!(text.contains("did you mean `workers`"), "{text}");
        assert!(text.contains("x.toml:4:12"), "{text}");
    }

    #[test]
    fn route_to_unknown_tier_is_located() {
        let src = r#"
[workload]
rate = 10
classes = [ { name = "a", share = 1, route = ["web", "dbb"] } ]
[[tier]]
name = "web"
service = "exp(1ms)"
[[tier]]
name = "db"
kind = "database"
primary = { workers = 2, service = "exp(1ms)" }
"#;
        let e = parse(src, "r.toml", None).unwrap_err();
        assert_eq!(e.diagnostics.len(), 1, "{e}");
        assert!(e.diagnostics[0].message.contains("no tier named `dbb`"));
        assert!(e.render(false).contains("did you mean `db`"));
    }

    #[test]
    fn database_needs_primary_and_services_cover_classes() {
        let src = r#"
[workload]
rate = 10
classes = [ { name = "browse", share = 0.5 }, { name = "checkout", share = 0.5, access = "write" } ]
[[tier]]
name = "app"
service = { browse = "exp(1ms)" }
[[tier]]
name = "db"
kind = "database"
replicas = { count = 0 }
"#;
        let e = parse(src, "d.toml", None).unwrap_err();
        let msgs: Vec<&str> = e.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("no service time for class `checkout`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("needs a `primary`")),
            "{msgs:?}"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = parse("[workload\nrate = 1", "s.toml", None).unwrap_err();
        assert!(!e.diagnostics.is_empty());
        assert!(e.render(false).contains("s.toml:1:"));
    }

    #[test]
    fn class_calls_and_access_defaults() {
        let src = r#"
[workload]
rate = 10
classes = [ { name = "read", share = 0.7, calls = { db = "geometric(mean = 3)" } }, { name = "write", share = 0.3 } ]
[[tier]]
name = "app"
service = "exp(1ms)"
[[tier]]
name = "db"
kind = "database"
primary = { workers = 2, service = { read = "exp(1ms)", write = "exp(4ms)" } }
replicas = { count = 2, workers = 2, service = "exp(1ms)" }
"#;
        let s = parse(src, "c.toml", None).unwrap();
        assert_eq!(s.classes[0].access, Access::Read);
        assert_eq!(s.classes[1].access, Access::Write);
        assert_eq!(
            s.classes[0].route[1].calls,
            crate::dist::Calls::Geometric(3.0)
        );
        assert_eq!(s.tiers[1].pools_for(Access::Read), vec![1]);
        assert_eq!(s.tiers[1].pools_for(Access::Write), vec![0]);
        assert_eq!(s.tiers[1].pools[0].service[1].mean(), 4e6);
    }
}
