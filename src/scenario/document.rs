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
