//! The resolved scenario as a document: the file's TOML with every
//! command-line override applied, in the scenario's own keys and
//! spellings, so that it reads back as the same scenario
//! (`summary.json`'s `resolved_scenario`, `scenario.toml` beside the results).

use toml::de::{DeTable, DeValue};

/// Converts the parsed (and overridden) document into a plain TOML table.
pub(crate) fn to_table(doc: &DeTable<'_>) -> toml::Table {
    doc.iter()
        .filter_map(|(k, v)| Some((k.get_ref().to_string(), to_value(v.get_ref())?)))
        .collect()
}

fn to_value(v: &DeValue<'_>) -> Option<toml::Value> {
    Some(match v {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            toml::Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).ok()?)
        }
        DeValue::Float(f) => toml::Value::Float(f.as_str().parse().ok()?),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(a) => {
            toml::Value::Array(a.iter().filter_map(|x| to_value(x.get_ref())).collect())
        }
        DeValue::Table(t) => toml::Value::Table(to_table(t)),
    })
}

/// The scenario text with open Poisson arrivals at `rate` and the class
/// shares replaced (`(name, share)`; classes not named keep theirs): what
/// `stacksim validate` simulates for each observed window. A `schedule`, a
/// `replay` or a closed workload is dropped. Comments are not kept.
pub fn at_constant_rate(text: &str, rate: f64, shares: &[(String, f64)]) -> Result<String, String> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let workload = doc
        .entry("workload")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(w) = workload else {
        return Err("`workload` is not a table".into());
    };
    for k in ["schedule", "users", "think", "replay"] {
        w.remove(k);
    }
    w.insert("rate".into(), toml::Value::Float(rate));
    if let Some(toml::Value::Array(classes)) = w.get_mut("classes") {
        for c in classes.iter_mut() {
            let toml::Value::Table(c) = c else { continue };
            let name = c
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string();
            if let Some((_, share)) = shares.iter().find(|(n, _)| *n == name) {
                c.insert("share".into(), toml::Value::Float(*share));
            }
        }
    }
    toml::to_string(&doc).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value_kind() {
        let src =
            "a = 0x1f\nb = -2.5e3\nc = \"exp(2ms)\"\nd = [1, 2]\n[[t]]\nname = \"x\"\ne = true\n";
        let doc = DeTable::parse(src).unwrap().into_inner();
        let t = to_table(&doc);
        assert_eq!(t["a"].as_integer(), Some(31));
        assert_eq!(t["b"].as_float(), Some(-2500.0));
        let again: toml::Table = toml::from_str(&toml::to_string(&t).unwrap()).unwrap();
        assert_eq!(again, t);
    }
}

/// One key that differs between two scenario documents.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KeyChange {
    /// The key as a path: `workload.rate`, `tier.lb.instances` (an array
    /// of tables is keyed by each table's `name`, else by its index).
    pub key: String,
    /// Its value in the first document, as TOML; `None` where it is absent.
    pub a: Option<String>,
    /// Its value in the second.
    pub b: Option<String>,
}

/// Every key whose value differs between `a` and `b`, tables in key order
/// and arrays of tables in the first's order, then the second's new ones;
/// the scenario's `name`
/// left out (it always differs). A table only one side has is one change
/// (the whole table, inline), not one per key in it.
pub fn diff(a: &toml::Table, b: &toml::Table) -> Vec<KeyChange> {
    let mut out = Vec::new();
    let (a, b) = (toml::Value::Table(a.clone()), toml::Value::Table(b.clone()));
    walk("", Some(&a), Some(&b), &mut out);
    out.retain(|c| c.key != "name");
    out
}

/// The children of a table, or of an array of tables keyed by each
/// table's `name` (else its index); `None` for any other value.
fn children(v: &toml::Value) -> Option<Vec<(String, &toml::Value)>> {
    match v {
        toml::Value::Table(t) => Some(t.iter().map(|(k, x)| (k.clone(), x)).collect()),
        toml::Value::Array(items) if !items.is_empty() && items.iter().all(|x| x.is_table()) => {
            Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let id = x
                            .get("name")
                            .and_then(toml::Value::as_str)
                            .map_or_else(|| i.to_string(), str::to_string);
                        (id, x)
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

fn find<'v>(c: &[(String, &'v toml::Value)], k: &str) -> Option<&'v toml::Value> {
    c.iter().find(|x| x.0 == k).map(|x| x.1)
}

fn walk(key: &str, a: Option<&toml::Value>, b: Option<&toml::Value>, out: &mut Vec<KeyChange>) {
    if let (Some(x), Some(y)) = (a, b)
        && let (Some(ca), Some(cb)) = (children(x), children(y))
    {
        let mut keys: Vec<&String> = ca.iter().map(|c| &c.0).collect();
        for (k, _) in &cb {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for k in keys {
            let child = if key.is_empty() {
                k.clone()
            } else {
                format!("{key}.{k}")
            };
            walk(&child, find(&ca, k), find(&cb, k), out);
        }
        return;
    }
    if a != b {
        out.push(KeyChange {
            key: key.to_string(),
            a: a.map(inline),
            b: b.map(inline),
        });
    }
}

/// A value as inline TOML (a table as `{ k = v, ... }`).
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let items: Vec<String> = t
                .iter()
                .map(|(k, x)| format!("{k} = {}", inline(x)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod diff_tests {
    use super::diff;

    #[test]
    fn keys_that_differ_are_listed_by_path_with_tables_named() {
        let a: toml::Table = toml::from_str(
            "name = \"a\"\n[workload]\nrate = 600\n[[tier]]\nname = \"lb\"\ninstances = 1\n[[tier]]\nname = \"web\"\n",
        )
        .unwrap();
        let b: toml::Table = toml::from_str(
            "name = \"b\"\n[workload]\nrate = 600\ntimeout = \"5s\"\n[[tier]]\nname = \"lb\"\ninstances = 2\n[[tier]]\nname = \"web\"\n",
        )
        .unwrap();
        let d = diff(&a, &b);
        let keys: Vec<&str> = d.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["tier.lb.instances", "workload.timeout"]);
        assert_eq!(d[0].a.as_deref(), Some("1"));
        assert_eq!(d[0].b.as_deref(), Some("2"));
        assert_eq!(d[1].a, None);
        assert_eq!(d[1].b.as_deref(), Some("\"5s\""));
        assert!(diff(&a, &a).is_empty());
        // A table only one side has is one change, inline.
        let c: toml::Table =
            toml::from_str("[workload]\nrate = 600\n[[host]]\nname = \"db\"\ncores = 8\n").unwrap();
        let w: toml::Table = toml::from_str("[workload]\nrate = 600\n").unwrap();
        let d = diff(&w, &c);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].key, "host");
        assert_eq!(d[0].b.as_deref(), Some("[{ cores = 8, name = \"db\" }]"));
    }
}
