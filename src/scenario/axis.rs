//! Sweep axes: a key and the values it takes, from `--vary KEY=SPEC` or a
//! `[sweep]` table. SPEC is a range `100..2000:100` (inclusive, numbers) or
//! a list `0,1,2` (any values).

use serde::{Deserialize, Serialize};

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 100_000;

/// One swept key and its values, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    /// Dotted path, as for `--set`.
    pub key: String,
    /// The values, as override texts.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `KEY=SPEC`.
    pub fn parse(text: &str) -> Result<Axis, String> {
        let (k, spec) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KEY=SPEC, e.g. workload.rate=100..2000:100 or tier.db.replicas.count=0,1,2"))?;
        Axis::from_spec(k.trim(), spec.trim())
    }

    /// Builds an axis from a key and a range or list spec.
    pub fn from_spec(key: &str, spec: &str) -> Result<Axis, String> {
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("`{key}` is not a dotted key path"));
        }
        let values =
            if let Some((range, step)) = spec.split_once(':').filter(|(r, _)| r.contains("..")) {
                let (a, b) = range.split_once("..").unwrap_or((range, range));
                let num = |s: &str| {
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("`{s}` in `{spec}` is not a number"))
                };
                let (a, b, step) = (num(a)?, num(b)?, num(step)?);
                if step.is_nan() || step <= 0.0 || b < a {
                    return Err(format!(
                        "`{spec}`: a range needs start <= end and a step above zero"
                    ));
                }
                let n = ((b - a) / step + 1e-9).floor() as usize + 1;
                if n > MAX_POINTS {
                    return Err(format!("`{spec}` has {n} values; at most {MAX_POINTS}"));
                }
                (0..n).map(|i| format_number(a + step * i as f64)).collect()
            } else {
                spec.split(',')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect::<Vec<_>>()
            };
        if values.is_empty() {
            return Err(format!("`{key}` has no values"));
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }
}

/// A number as a short decimal: `100`, `0.25`.
fn format_number(x: f64) -> String {
    let r = (x * 1e9).round() / 1e9;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// The cartesian product of the axes, the first axis varying slowest.
/// Each point is its list of `(key, value)`.
pub fn grid(axes: &[Axis]) -> Result<Vec<Vec<(String, String)>>, String> {
    let total = axes
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
    match total {
        Some(n) if n <= MAX_POINTS => {}
        _ => return Err(format!("the sweep has more than {MAX_POINTS} points")),
    }
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for a in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                a.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((a.key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists() {
        let a = Axis::parse("workload.rate=100..500:100").unwrap();
        assert_eq!(a.values, ["100", "200", "300", "400", "500"]);
        let b = Axis::parse("tier.db.replicas.count=0,1,2").unwrap();
        assert_eq!(b.values, ["0", "1", "2"]);
        assert_eq!(
            Axis::parse("x=0.1..0.3:0.1").unwrap().values,
            ["0.1", "0.2", "0.3"]
        );
        assert_eq!(Axis::parse("x=1..2:5").unwrap().values, ["1"]);
        assert!(Axis::parse("x=5..1:1").is_err());
        assert!(Axis::parse("x=1..5:0").is_err());
        assert!(Axis::parse("x=a..5:1").is_err());
        assert!(Axis::parse("x=").is_err());
        assert!(Axis::parse("nokey").is_err());
    }

    #[test]
    fn grid_is_the_cartesian_product_first_axis_slowest() {
        let g = grid(&[
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=x,y,z").unwrap(),
        ])
        .unwrap();
        assert_eq!(g.len(), 6);
        let flat: Vec<String> = g.iter().map(|p| format!("{}{}", p[0].1, p[1].1)).collect();
        assert_eq!(flat, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        assert_eq!(grid(&[]).unwrap(), vec![Vec::<(String, String)>::new()]);
        let big = Axis::parse("a=1..1000:1").unwrap();
        assert!(grid(&[big.clone(), big]).is_err());
    }
}
