//! Reading request classes and resolving their routes against the tiers.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::diagnostic::did_you_mean;
use super::read::{Reader, Value, field, join};
use super::spec::*;
use crate::dist::Calls;

const CLASS_KEYS: &[&str] = &["name", "share", "access", "route", "calls"];
/// A class as read, before routes are resolved against tier names.
pub(crate) struct RawClass<'v, 'i> {
    pub name: String,
    pub span: Range<usize>,
    pub share: f64,
    pub access: Access,
    pub route: Option<&'v Value<'i>>,
    pub calls: Option<&'v Value<'i>>,
}

pub(crate) fn read_classes<'v, 'i>(r: &mut Reader, w: &'v DeTable<'i>) -> Vec<RawClass<'v, 'i>> {
    let Some(v) = field(w, "classes") else {
        return vec![RawClass {
            name: "request".into(),
            span: 0..0,
            share: 1.0,
            access: Access::Read,
            route: None,
            calls: None,
        }];
    };
    let Some(items) = r.array(v, "workload.classes") else {
        return Vec::new();
    };
    let mut out: Vec<RawClass<'v, 'i>> = Vec::new();
    if items.len() > 1000 {
        r.error(
            v.span(),
            "workload.classes",
            format!("{} classes; at most 1000 are supported", items.len()),
            None,
        );
        return out;
    }
    for (i, item) in items.iter().enumerate() {
        let key = format!("workload.classes[{i}]");
        let Some(t) = r.table(item, &key) else {
            continue;
        };
        r.check_keys(t, &key, CLASS_KEYS);
        let name = match field(t, "name") {
            Some(n) => r.string(n, &join(&key, "name")),
            None => {
                r.error(item.span(), &key, "a class needs a `name`".into(), None);
                None
            }
        };
        let share = match field(t, "share") {
            Some(s) => r.number(s, &join(&key, "share")).and_then(|x| {
                if x > 0.0 && x <= 1.0 {
                    Some(x)
                } else {
                    r.error(
                        s.span(),
                        &join(&key, "share"),
                        format!("a share must be in (0, 1], found {x}"),
                        None,
                    );
                    None
                }
            }),
            None if items.len() == 1 => Some(1.0),
            None => {
                r.error(item.span(), &key, "a class needs a `share`".into(), None);
                None
            }
        };
        let Some(name) = name else { continue };
        if out.iter().any(|c| c.name == name) {
            r.error(
                item.span(),
                &key,
                format!("class `{name}` is defined twice"),
                None,
            );
            continue;
        }
        let default_access = if name.to_ascii_lowercase().contains("write") {
            Access::Write
        } else {
            Access::Read
        };
        let access = field(t, "access").map_or(Some(default_access), |a| {
            r.choice(
                a,
                &join(&key, "access"),
                &[("read", Access::Read), ("write", Access::Write)],
            )
        });
        out.push(RawClass {
            name,
            span: item.span(),
            share: share.unwrap_or(f64::NAN),
            access: access.unwrap_or(default_access),
            route: field(t, "route"),
            calls: field(t, "calls"),
        });
    }
    if out.is_empty() && r.diags.is_empty() {
        r.error(
            v.span(),
            "workload.classes",
            "there are no classes".into(),
            Some("remove `classes` for a single class, or list at least one".into()),
        );
    }
    let sum: f64 = out.iter().map(|c| c.share).sum();
    if sum.is_finite() && !out.is_empty() && (sum - 1.0).abs() > 1e-6 {
        r.error(
            v.span(),
            "workload.classes",
            format!("class shares sum to {}, not 1", (sum * 1e6).round() / 1e6),
            Some("make the shares add up to exactly 1".into()),
        );
    }
    out
}

/// Every tier name in the file, valid or not, so a route naming a tier that
/// has problems of its own is not reported a second time.
pub(crate) fn declared_tier_names(doc: &DeTable<'_>) -> Vec<String> {
    let Some(DeValue::Array(items)) = field(doc, "tier").map(|v| v.get_ref()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|t| match t.get_ref() {
            DeValue::Table(t) => match field(t, "name").map(|n| n.get_ref()) {
                Some(DeValue::String(s)) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

pub(crate) fn resolve_routes(
    r: &mut Reader,
    raw: Vec<RawClass<'_, '_>>,
    tiers: &[Tier],
    declared: &[String],
) -> Option<Vec<Class>> {
    let names: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (ci, c) in raw.into_iter().enumerate() {
        let key = format!("workload.classes[{ci}]");
        let mut route: Vec<Step> = Vec::new();
        match c.route {
            None => route.extend((0..tiers.len()).map(|tier| Step {
                tier,
                calls: Calls::Fixed(1),
            })),
            Some(v) => {
                let rkey = join(&key, "route");
                for item in r.array(v, &rkey).unwrap_or(&[]) {
                    let (name_v, calls) = match item.get_ref() {
                        DeValue::String(_) => (Some(item), Some(Calls::Fixed(1))),
                        DeValue::Table(t) => {
                            r.check_keys(t, &rkey, &["tier", "calls"]);
                            let calls = field(t, "calls").map_or(Some(Calls::Fixed(1)), |c| {
                                r.calls(c, &join(&rkey, "calls"))
                            });
                            if field(t, "tier").is_none() {
                                r.error(
                                    item.span(),
                                    &rkey,
                                    "a route step needs `tier`".into(),
                                    None,
                                );
                            }
                            (field(t, "tier"), calls)
                        }
                        _ => {
                            r.error(
                                item.span(),
                                &rkey,
                                "a route step is a tier name or { tier = \"db\", calls = 3 }"
                                    .into(),
                                None,
                            );
                            (None, None)
                        }
                    };
                    let name = name_v.and_then(|nv| r.string(nv, &rkey).map(|n| (n, nv.span())));
                    match (name, calls) {
                        (Some((n, span)), Some(calls)) => {
                            match names.iter().position(|x| *x == n) {
                                Some(tier) => route.push(Step { tier, calls }),
                                None if declared.contains(&n) => ok = false,
                                None => {
                                    let all: Vec<&str> =
                                        declared.iter().map(String::as_str).collect();
                                    let hint = match did_you_mean(&n, &all) {
                                        Some(m) => {
                                            format!("did you mean `{m}`? tiers: {}", all.join(", "))
                                        }
                                        None => format!("tiers: {}", all.join(", ")),
                                    };
                                    r.error(
                                        span,
                                        &rkey,
                                        format!("no tier named `{n}`"),
                                        Some(hint),
                                    );
                                    ok = false;
                                }
                            }
                        }
                        _ => ok = false,
                    }
                }
                if route.is_empty() && ok {
                    r.error(
                        v.span(),
                        &rkey,
                        "the route is empty".into(),
                        Some("list the tiers this class visits, in order".into()),
                    );
                    ok = false;
                }
            }
        }
        if let Some(cv) = c.calls
            && let Some(t) = r.table(cv, &join(&key, "calls"))
        {
            for (k, v) in t.iter() {
                let ckey = join(&join(&key, "calls"), k.get_ref());
                let Some(calls) = r.calls(v, &ckey) else {
                    ok = false;
                    continue;
                };
                let mut found = false;
                for step in route
                    .iter_mut()
                    .filter(|s| names.get(s.tier) == Some(&k.get_ref().as_ref()))
                {
                    step.calls = calls;
                    found = true;
                }
                if !found && !tiers.is_empty() {
                    r.error(
                        k.span(),
                        &ckey,
                        format!("`{}` is not on this class's route", k.get_ref()),
                        Some(format!(
                            "route: {}",
                            route
                                .iter()
                                .map(|s| names[s.tier])
                                .collect::<Vec<_>>()
                                .join(" -> ")
                        )),
                    );
                    ok = false;
                }
            }
        }
        if route.len() > MAX_STEPS {
            r.error(
                c.span.clone(),
                &key,
                format!(
                    "the route has {} steps; at most {MAX_STEPS} are supported",
                    route.len()
                ),
                None,
            );
            ok = false;
        }
        out.push(Class {
            name: c.name,
            share: c.share,
            access: c.access,
            route,
        });
    }
    ok.then_some(out)
}
