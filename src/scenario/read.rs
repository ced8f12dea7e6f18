//! A reader over the spanned TOML tree that records every problem it meets.
//!
//! Serde stops at the first error; a scenario author wants them all at once.
//! So the scenario is parsed into toml's spanned document tree and walked by
//! hand: each accessor returns `None` after recording a [`Diagnostic`], and
//! the walk goes on.

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::spec::{DataFile, DataSummary};
use crate::dist::{Calls, DIST_NAMES, Dist, SampleFile, parse_dist};
use crate::units::parse_duration;

/// A spanned TOML value.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Collects diagnostics while reading values.
pub(crate) struct Reader {
    /// Problems found so far.
    pub diags: Vec<Diagnostic>,
    /// Folder that relative file paths (empirical CSVs) are resolved against.
    pub base_dir: Option<PathBuf>,
    /// Class names of replayed arrivals, waiting for the classes to be read.
    pub pending_replay_classes: Vec<String>,
    /// Length of the file's text: a span past it marks a command-line override.
    pub src_len: usize,
    /// Data files read so far (empirical samples, replayed arrivals).
    pub data_files: Vec<DataFile>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Looks a key up in a table.
pub(crate) fn field<'t, 'i>(t: &'t DeTable<'i>, key: &str) -> Option<&'t Value<'i>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

impl Reader {
    /// Records a problem.
    pub fn error(&mut self, span: Range<usize>, key: &str, message: String, hint: Option<String>) {
        self.diags.push(Diagnostic {
            span,
            key: key.to_string(),
            message,
            hint,
        });
    }

    fn wrong_type(&mut self, v: &Value<'_>, key: &str, expected: &str, hint: Option<String>) {
        self.error(
            v.span(),
            key,
            format!("expected {expected}, found {}", type_name(v.get_ref())),
            hint,
        );
    }

    /// Reports every key of `t` not in `allowed`, suggesting the nearest.
    pub fn check_keys(&mut self, t: &DeTable<'_>, path: &str, allowed: &[&str]) {
        for (k, _) in t.iter() {
            let name = k.get_ref().as_ref();
            if !allowed.contains(&name) {
                let hint = match did_you_mean(name, allowed) {
                    Some(s) => format!(
                        "did you mean `{s}`? expected one of: {}",
                        allowed.join(", ")
                    ),
                    None => format!("expected one of: {}", allowed.join(", ")),
                };
                let key = join(path, name);
                self.error(k.span(), &key, format!("unknown key `{name}`"), Some(hint));
            }
        }
    }

    /// The value as a table.
    pub fn table<'v, 'i>(&mut self, v: &'v Value<'i>, key: &str) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, key, "a table", None);
                None
            }
        }
    }

    /// The value as an array.
    pub fn array<'v, 'i>(&mut self, v: &'v Value<'i>, key: &str) -> Option<&'v [Value<'i>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a.as_ref()),
            _ => {
                self.wrong_type(v, key, "an array", None);
                None
            }
        }
    }

    /// The value as a string.
    pub fn string(&mut self, v: &Value<'_>, key: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(v, key, "a string", None);
                None
            }
        }
    }

    /// The value as a boolean.
    pub fn boolean(&mut self, v: &Value<'_>, key: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, key, "true or false", None);
                None
            }
        }
    }

    /// The value as an integer in `[min, max]`.
    pub fn int(&mut self, v: &Value<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => {
                i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
            }
            _ => {
                self.wrong_type(v, key, "a whole number", None);
                return None;
            }
        };
        match parsed {
            Some(x) if (min..=max).contains(&x) => Some(x),
            _ => {
                let msg = if min == 1 && parsed.is_some_and(|x| x < 1) {
                    format!("must be at least 1, found {}", parsed.unwrap_or(0))
                } else {
                    format!("must be between {min} and {max}")
                };
                self.error(v.span(), key, msg, None);
                None
            }
        }
    }

    /// The value as a finite number (integer or float).
    pub fn number(&mut self, v: &Value<'_>, key: &str) -> Option<f64> {
        let x = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .ok()
                .map(|x| x as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => {
                self.wrong_type(v, key, "a number", None);
                return None;
            }
        };
        match x {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                self.error(v.span(), key, "must be a finite number".into(), None);
                None
            }
        }
    }

    /// A number that must be above zero (and at most `max`).
    pub fn positive(&mut self, v: &Value<'_>, key: &str, max: f64) -> Option<f64> {
        let x = self.number(v, key)?;
        if x <= 0.0 || x > max {
            self.error(
                v.span(),
                key,
                if x <= 0.0 {
                    format!("must be above zero, found {x}")
                } else {
                    format!("must be at most {max}, found {x}")
                },
                None,
            );
            return None;
        }
        Some(x)
    }

    /// A duration string with a unit, in nanoseconds.
    pub fn duration(&mut self, v: &Value<'_>, key: &str) -> Option<u64> {
        let hint = Some(
            "write a number with a unit, e.g. \"250us\", \"2ms\", \"30s\", \"5m\"".to_string(),
        );
        match v.get_ref() {
            DeValue::String(s) => match parse_duration(s) {
                Ok(ns) => Some(ns.round() as u64),
                Err(e) => {
                    self.error(v.span(), key, e, hint);
                    None
                }
            },
            DeValue::Integer(_) | DeValue::Float(_) => {
                self.error(v.span(), key, "a duration needs a unit".into(), hint);
                None
            }
            _ => {
                self.wrong_type(v, key, "a duration string", hint);
                None
            }
        }
    }

    /// A duration that must be above zero.
    pub fn positive_duration(&mut self, v: &Value<'_>, key: &str) -> Option<u64> {
        let ns = self.duration(v, key)?;
        if ns == 0 {
            self.error(v.span(), key, "must be longer than zero".into(), None);
            return None;
        }
        Some(ns)
    }

    /// A period of something that recurs (a monitoring sample, a health
    /// check): at least 1 ms, so no setting schedules events faster than a
    /// thousand a second per machine or instance.
    pub fn period(&mut self, v: &Value<'_>, key: &str) -> Option<u64> {
        const MIN_PERIOD_NS: u64 = 1_000_000;
        let ns = self.duration(v, key)?;
        if ns < MIN_PERIOD_NS {
            self.error(
                v.span(),
                key,
                format!(
                    "{} is shorter than 1ms: at most a thousand a second",
                    crate::units::format_duration(ns)
                ),
                Some("real agents and checks run every few seconds, e.g. \"10s\"".into()),
            );
            return None;
        }
        Some(ns)
    }

    /// Where a data file the scenario names as `p` is.
    pub fn data_path(&self, p: &str) -> PathBuf {
        match &self.base_dir {
            Some(b) => b.join(p),
            None => PathBuf::from(p),
        }
    }

    /// Records that `key` read `file`, `rows` values in it, like `summary`.
    pub fn record_data_file(
        &mut self,
        key: &str,
        file: SampleFile,
        rows: usize,
        summary: DataSummary,
    ) {
        let at = self.data_path(&file.path);
        let resolved = std::fs::canonicalize(&at).unwrap_or(at);
        self.data_files.push(DataFile {
            key: key.to_string(),
            resolved: resolved.display().to_string(),
            file,
            rows,
            summary,
        });
    }

    /// A distribution string such as `"exp(2ms)"`.
    pub fn dist(&mut self, v: &Value<'_>, key: &str) -> Option<Dist> {
        let DeValue::String(s) = v.get_ref() else {
            self.wrong_type(
                v,
                key,
                "a distribution string",
                Some(format!("one of {DIST_NAMES}")),
            );
            return None;
        };
        let read = |p: &str| super::files::read_data(&self.data_path(p));
        match parse_dist(s, &read) {
            Ok(d) => {
                if let Dist::Empirical(samples) = &d
                    && let Some(file) = &samples.file
                {
                    self.record_data_file(
                        key,
                        file.clone(),
                        samples.len(),
                        DataSummary::of_samples(&samples.values),
                    );
                }
                Some(d)
            }
            Err(e) => {
                self.error(
                    v.span(),
                    key,
                    e,
                    Some(format!("distributions: {DIST_NAMES}")),
                );
                None
            }
        }
    }

    /// A call count: a whole number >= 1 or `"geometric(mean = m)"`.
    pub fn calls(&mut self, v: &Value<'_>, key: &str) -> Option<Calls> {
        match v.get_ref() {
            DeValue::Integer(_) => self.int(v, key, 1, 100_000).map(|n| Calls::Fixed(n as u32)),
            DeValue::String(s) => match Calls::parse(s) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.error(v.span(), key, e, None);
                    None
                }
            },
            _ => {
                self.wrong_type(v, key, "a whole number or \"geometric(mean = 3)\"", None);
                None
            }
        }
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(
        &mut self,
        v: &Value<'_>,
        key: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let s = self.string(v, key)?;
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == s) {
            return Some(*t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let hint = match did_you_mean(&s, &names) {
            Some(m) => format!("did you mean `{m}`? expected one of: {}", names.join(", ")),
            None => format!("expected one of: {}", names.join(", ")),
        };
        self.error(v.span(), key, format!("unknown value `{s}`"), Some(hint));
        None
    }
}

/// Joins a key path: `join("tier.web", "workers")`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
