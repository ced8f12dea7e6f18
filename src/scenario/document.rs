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
