//! `--set KEY=VALUE`: override any scenario key by its dotted path before
//! validation, so an override is checked exactly like the file.
//!
//! Paths follow the file: `workload.rate`, `simulation.seed`,
//! `tier.app.workers` (an element of an array of tables - `[[tier]]`,
//! `[[host]]`, `[[fault]]`, a workload's `classes` - is named by its `name`
//! or by its index: `host.server.cores`, `fault.0.at`,
//! `workload.classes.write.share`), `tier.db.replicas.count` (a database
//! role). A value is read as TOML when it is valid TOML
//! (`900`, `true`, `[1, 2]`), else as a string (`2ms`, `exp(3ms)`).

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, did_you_mean};

/// One `KEY=VALUE` override.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Override {
    /// Dotted path.
    pub key: String,
    /// The value as written.
    pub value: String,
    /// The command-line flag it came from (`--set`, `--vary`, `--duration`),
    /// so a problem with it names the flag the user typed.
    #[serde(default = "set_flag")]
    pub flag: String,
}

fn set_flag() -> String {
    "--set".into()
}

impl Override {
    /// Parses `KEY=VALUE`.
    pub fn parse(text: &str) -> Result<Override, String> {
        let (k, v) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KEY=VALUE, e.g. workload.rate=900"))?;
        let key = k.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!(
                "`{k}` is not a dotted key path, e.g. tier.app.workers"
            ));
        }
        Ok(Override {
            key: key.to_string(),
            value: v.trim().to_string(),
            flag: set_flag(),
        })
    }

    /// An override from a flag other than `--set`: `--vary KEY=...` gives
    /// `from_flag("--vary", key, value)`; `--duration 20s` gives
    /// `from_flag("--duration", "simulation.duration", "20s")`.
    pub fn from_flag(flag: &str, key: &str, value: &str) -> Override {
        Override {
            key: key.to_string(),
            value: value.to_string(),
            flag: flag.to_string(),
        }
    }

    /// `KEY=VALUE` as given.
    pub fn text(&self) -> String {
        format!("{}={}", self.key, self.value)
    }

    /// The flag as the user typed it: `--set tier.app.workers=4`, `--duration 20s`.
    pub fn shown(&self) -> String {
        match self.flag.as_str() {
            "--set" | "--vary" => format!("{} {}", self.flag, self.text()),
            flag => format!("{flag} {}", self.value),
        }
    }
}

/// The span that marks override `i` in diagnostics: past the end of the file.
pub(crate) fn override_span(src_len: usize, i: usize) -> Range<usize> {
    let at = src_len + 1 + i;
    at..at
}

/// Gives every span in a value the override's span.
fn respan<'a>(v: DeValue<'a>, span: &Range<usize>) -> DeValue<'a> {
    match v {
        DeValue::Array(a) => {
            let mut out = toml::de::DeArray::new();
            for x in a.iter() {
                out.push(Spanned::new(
                    span.clone(),
                    respan(x.get_ref().clone(), span),
                ));
            }
            DeValue::Array(out)
        }
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            for (k, x) in t.iter() {
                out.insert(
                    Spanned::new(span.clone(), k.get_ref().clone()),
                    Spanned::new(span.clone(), respan(x.get_ref().clone(), span)),
                );
            }
            DeValue::Table(out)
        }
        other => other,
    }
}

fn value_of<'a>(text: &'a str, span: &Range<usize>) -> DeValue<'a> {
    match DeValue::parse(text) {
        Ok(v) => respan(v.into_inner(), span),
        Err(_) => DeValue::String(Cow::Borrowed(text)),
    }
}

/// The keys of an open workload's arrivals other than `rate`: a constant
/// rate set by an override replaces them.
const ARRIVALS_KEYS: [(&str, &str); 3] = [
    ("schedule", "rate schedule"),
    ("replay", "replayed arrivals"),
    ("replay_sha256", ""),
];

/// `--set workload.rate=N` on a workload with a schedule or replayed
/// arrivals (as `calibrate` writes): the constant rate replaces them, so a
/// calibrated scenario answers "what at N requests/s?" as it is. Returns
/// what was replaced, to tell the user.
fn replace_arrivals(doc: &mut DeTable<'_>, ov: &Override) -> Option<String> {
    if ov.key != "workload.rate" {
        return None;
    }
    let Some(DeValue::Table(w)) = doc.get_mut("workload").map(|v| v.get_mut()) else {
        return None;
    };
    let mut replaced = None;
    for (key, what) in ARRIVALS_KEYS {
        if w.remove(key).is_some() && !what.is_empty() {
            replaced = Some(what);
        }
    }
    replaced.map(|what| {
        format!(
            "{} replaces the workload's {what} with constant (Poisson) arrivals at {}/s",
            ov.shown(),
            ov.value
        )
    })
}

/// A rate relative to the workload's peak: `2x`, `1.5x`, `+50%`, `-20%`,
/// `150%`, as the factor it multiplies the peak by. `None` for anything
/// else (an absolute rate is left to validation).
pub fn relative_rate(value: &str) -> Option<f64> {
    let v = value.trim();
    let factor = if let Some(x) = v.strip_suffix(['x', 'X']) {
        x.trim().parse::<f64>().ok()?
    } else if let Some(p) = v.strip_suffix('%') {
        let p = p.trim();
        if let Some(up) = p.strip_prefix('+') {
            1.0 + up.trim().parse::<f64>().ok()? / 100.0
        } else if let Some(down) = p.strip_prefix('-') {
            1.0 - down.trim().parse::<f64>().ok()? / 100.0
        } else {
            p.parse::<f64>().ok()? / 100.0
        }
    } else {
        return None;
    };
    (factor.is_finite() && factor > 0.0).then_some(factor)
}

/// Applies the overrides to the document, in order. Path problems (a tier
/// that does not exist, a key under a value that is not a table) become
/// diagnostics; everything else is left to validation. Returns them, and
/// notes on what an override replaced.
pub(crate) fn apply<'a>(
    doc: &mut DeTable<'a>,
    overrides: &'a [Override],
    src_len: usize,
) -> (Vec<Diagnostic>, Vec<String>) {
    let mut diags = Vec::new();
    let mut notes = Vec::new();
    for (i, ov) in overrides.iter().enumerate() {
        let span = override_span(src_len, i);
        notes.extend(replace_arrivals(doc, ov));
        let parts: Vec<&'a str> = ov.key.split('.').collect();
        if let Err(message) = set(doc, &parts, value_of(&ov.value, &span), &span) {
            diags.push(Diagnostic {
                span: span.clone(),
                key: ov.key.clone(),
                message: message.0,
                hint: message.1,
            });
        }
    }
    (diags, notes)
}

type PathError = (String, Option<String>);

fn set<'a>(
    t: &mut DeTable<'a>,
    parts: &[&'a str],
    value: DeValue<'a>,
    span: &Range<usize>,
) -> Result<(), PathError> {
    let (&head, rest) = parts
        .split_first()
        .ok_or_else(|| ("empty key".to_string(), None))?;
    if rest.is_empty() {
        t.insert(
            Spanned::new(span.clone(), Cow::Borrowed(head)),
            Spanned::new(span.clone(), value),
        );
        return Ok(());
    }
    if head == "tier" && t.get("tier").is_none() {
        return Err(("the scenario has no tiers".into(), None));
    }
    // An array of tables (`[[tier]]`, `[[host]]`, `[[fault]]`, a
    // workload's `classes`): an element by its `name`, or by its index.
    if let Some(DeValue::Array(items)) = t.get_mut(head).map(|v| v.get_mut()) {
        let (what, all_of) = match head {
            "classes" => ("class".to_string(), "classes".to_string()),
            h => (h.to_string(), format!("{h}s")),
        };
        let id = rest[0];
        let names: Vec<Option<String>> = items
            .iter()
            .map(|x| match x.get_ref() {
                DeValue::Table(tt) => match tt.get("name").map(|n| n.get_ref()) {
                    Some(DeValue::String(s)) => Some(s.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let pos = names
            .iter()
            .position(|n| n.as_deref() == Some(id))
            .or_else(|| id.parse::<usize>().ok().filter(|i| *i < items.len()));
        let Some(pos) = pos else {
            let all: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
            let by_index = format!("or an index from 0 to {}", items.len().saturating_sub(1));
            let hint = match did_you_mean(id, &all) {
                Some(m) => format!(
                    "did you mean `{m}`? {all_of}: {} ({by_index})",
                    all.join(", ")
                ),
                None if all.is_empty() => format!(
                    "{all_of} are named by index: 0 to {}",
                    items.len().saturating_sub(1)
                ),
                None => format!("{all_of}: {} ({by_index})", all.join(", ")),
            };
            return Err((format!("no {what} named `{id}`"), Some(hint)));
        };
        let Some(DeValue::Table(tt)) = items.get_mut(pos).map(|x| x.get_mut()) else {
            return Err((format!("`{head}.{id}` is not a table"), None));
        };
        if rest.len() == 1 {
            return Err((
                format!("`{head}.{id}` needs a key, e.g. {head}.{id}.name"),
                None,
            ));
        }
        return set(tt, &rest[1..], value, span);
    }
    if t.get(head).is_none() {
        t.insert(
            Spanned::new(span.clone(), Cow::Borrowed(head)),
            Spanned::new(span.clone(), DeValue::Table(DeTable::new())),
        );
    }
    match t.get_mut(head).map(|v| v.get_mut()) {
        Some(DeValue::Table(inner)) => set(inner, rest, value, span),
        _ => Err((
            format!("`{head}` is not a table, so it has no key `{}`", rest[0]),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_rates_read_as_factors() {
        assert_eq!(relative_rate("2x"), Some(2.0));
        assert_eq!(relative_rate(" 1.5X "), Some(1.5));
        assert_eq!(relative_rate("+50%"), Some(1.5));
        assert_eq!(relative_rate("-20%"), Some(0.8));
        assert_eq!(relative_rate("150%"), Some(1.5));
        for absolute in ["900", "x", "-100%", "0x", "abc%", "nanx"] {
            assert_eq!(relative_rate(absolute), None, "{absolute}");
        }
    }

    #[test]
    fn parses_key_value() {
        assert_eq!(
            Override::parse("workload.rate=900").unwrap(),
            Override {
                key: "workload.rate".into(),
                value: "900".into(),
                flag: "--set".into(),
            }
        );
        assert!(Override::parse("workload.rate").is_err());
        assert!(Override::parse("a..b=1").is_err());
        assert!(Override::parse("=1").is_err());
    }
}
