//! Service-time and think-time distributions.
//!
//! A distribution is written as a call in a scenario string: `exp(2ms)`,
//! `lognormal(mean = 1ms, cv = 1.5)`, `uniform(1ms, 3ms)`. [`Dist`] is the
//! validated description (every parameter in nanoseconds); [`Sampler`] is its
//! fast form, drawing integer nanoseconds, never negative.

use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, StandardNormal, Weibull};

use crate::units::parse_duration;

/// A validated distribution of durations; parameters in nanoseconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Dist {
    /// Always the same value.
    Constant(f64),
    /// Exponential with the given mean.
    Exponential {
        /// Mean in ns.
        mean: f64,
    },
    /// Uniform on `[min, max]`.
    Uniform {
        /// Lower bound in ns.
        min: f64,
        /// Upper bound in ns.
        max: f64,
    },
    /// Lognormal given by its own mean and coefficient of variation.
    LogNormal {
        /// Mean in ns.
        mean: f64,
        /// Standard deviation / mean.
        cv: f64,
    },
    /// Gamma given by its mean and coefficient of variation (shape = 1/cv²).
    Gamma {
        /// Mean in ns.
        mean: f64,
        /// Standard deviation / mean.
        cv: f64,
    },
    /// Weibull with a shape `k` and a scale.
    Weibull {
        /// Shape parameter k (> 0).
        shape: f64,
        /// Scale in ns.
        scale: f64,
    },
    /// Each sample drawn uniformly from a list of observed values (ns).
    /// Written out as a summary (count, mean, spread, quantiles, and the
    /// file they came from), not the samples: a 30 MB CSV must not become a
    /// 144 MB summary.json.
    Empirical(Samples),
}

/// The observed values of an empirical distribution (ns), and the file they
/// were read from when they came from one.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    /// The values, in nanoseconds, in the order read.
    pub values: Vec<f64>,
    /// The file, when the scenario named one.
    pub file: Option<SampleFile>,
}

/// A samples file as it was read: enough to tell later whether a result
/// came from the same data.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SampleFile {
    /// The path as the scenario wrote it (relative to the scenario's folder).
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

impl SampleFile {
    /// The record of `bytes`, read from `path`.
    pub fn of(path: &str, bytes: &[u8]) -> SampleFile {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes);
        SampleFile {
            path: path.to_string(),
            bytes: bytes.len() as u64,
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The record of the file at `path`, read in blocks (a log of any size
    /// is digested without holding it).
    pub fn read(path: &std::path::Path) -> std::io::Result<SampleFile> {
        use sha2::Digest;
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(SampleFile {
            path: path.display().to_string(),
            bytes,
            sha256: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
}

impl From<Vec<f64>> for Samples {
    fn from(values: Vec<f64>) -> Samples {
        Samples { values, file: None }
    }
}

impl std::ops::Deref for Samples {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.values
    }
}

impl serde::Serialize for Samples {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        summarize_samples(self, s)
    }
}

/// The summary an empirical distribution is written as.
fn summarize_samples<S: serde::Serializer>(samples: &Samples, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let v = &samples.values;
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if sorted.is_empty() {
            f64::NAN
        } else {
            sorted[((sorted.len() - 1) as f64 * p).round() as usize]
        }
    };
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut st = s.serialize_struct("EmpiricalSummary", 9)?;
    if let Some(file) = &samples.file {
        st.serialize_field("file", file)?;
    } else {
        st.skip_field("file")?;
    }
    st.serialize_field("samples", &v.len())?;
    st.serialize_field("mean_ns", &mean)?;
    st.serialize_field("sd_ns", &sd)?;
    st.serialize_field("min_ns", &q(0.0))?;
    st.serialize_field("p50_ns", &q(0.5))?;
    st.serialize_field("p90_ns", &q(0.9))?;
    st.serialize_field("p99_ns", &q(0.99))?;
    st.serialize_field("max_ns", &q(1.0))?;
    st.end()
}

/// Gamma function for the Weibull mean (Lanczos approximation, |error| < 1e-13).
/// Lanczos coefficients (g = 7, n = 9): the Gamma function here and its
/// logarithm in calibration's fits.
pub(crate) const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

fn gamma_fn(x: f64) -> f64 {
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma_fn(1.0 - x))
    } else {
        let x = x - 1.0;
        let mut a = LANCZOS[0];
        let t = x + 7.5;
        for (i, g) in LANCZOS[1..].iter().enumerate() {
            a += g / (x + i as f64 + 1.0);
        }
        (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
    }
}

impl Dist {
    /// The distribution as a scenario writes it (`"lognormal(mean = 1.2ms,
    /// cv = 0.8)"`), so that `parse_dist` reads back the same values to the
    /// written precision.
    pub fn spell(&self) -> String {
        let d = |ns: f64| crate::units::format_duration(ns.max(0.0).round() as u64);
        match self {
            Dist::Constant(v) => format!("const({})", d(*v)),
            Dist::Exponential { mean } => format!("exp({})", d(*mean)),
            Dist::Uniform { min, max } => format!("uniform({}, {})", d(*min), d(*max)),
            Dist::LogNormal { mean, cv } => format!("lognormal(mean = {}, cv = {cv:.3})", d(*mean)),
            Dist::Gamma { mean, cv } => format!("gamma(mean = {}, cv = {cv:.3})", d(*mean)),
            Dist::Weibull { shape, scale } => {
                format!("weibull(shape = {shape:.3}, scale = {})", d(*scale))
            }
            Dist::Empirical(v) => {
                let items: Vec<String> = v.iter().map(|x| d(*x)).collect();
                format!("empirical({})", items.join(", "))
            }
        }
    }

    /// The mean in nanoseconds.
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exponential { mean }
            | Dist::LogNormal { mean, .. }
            | Dist::Gamma { mean, .. } => *mean,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Weibull { shape, scale } => scale * gamma_fn(1.0 + 1.0 / shape),
            Dist::Empirical(v) => v.iter().sum::<f64>() / v.len() as f64,
        }
    }

    /// The squared coefficient of variation (variance / mean²), for analytic models.
    pub fn scv(&self) -> f64 {
        let m = self.mean();
        if m <= 0.0 {
            return 0.0;
        }
        let var = match self {
            Dist::Constant(_) => 0.0,
            Dist::Exponential { mean } => mean * mean,
            Dist::Uniform { min, max } => (max - min).powi(2) / 12.0,
            Dist::LogNormal { mean, cv } | Dist::Gamma { mean, cv } => (mean * cv).powi(2),
            Dist::Weibull { shape, scale } => scale * scale * gamma_fn(1.0 + 2.0 / shape) - m * m,
            Dist::Empirical(v) => v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64,
        };
        var / (m * m)
    }

    /// Builds the fast sampler. Parameters were validated when the `Dist` was made.
    pub fn sampler(&self) -> Sampler {
        match self {
            Dist::Constant(v) => Sampler::Constant(v.round() as u64),
            Dist::Exponential { mean } => Sampler::Exponential(*mean),
            Dist::Uniform { min, max } => Sampler::Uniform(*min, max - min),
            Dist::LogNormal { mean, cv } if *cv == 0.0 => Sampler::Constant(mean.round() as u64),
            Dist::LogNormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                Sampler::LogNormal {
                    mu: mean.ln() - sigma2 / 2.0,
                    sigma: sigma2.sqrt(),
                }
            }
            Dist::Gamma { mean, cv } if *cv == 0.0 => Sampler::Constant(mean.round() as u64),
            Dist::Gamma { mean, cv } => {
                let shape = 1.0 / (cv * cv);
                match Gamma::new(shape, mean / shape) {
                    Ok(g) => Sampler::Gamma(g),
                    Err(_) => Sampler::Constant(mean.round() as u64),
                }
            }
            Dist::Weibull { shape, scale } => match Weibull::new(*scale, *shape) {
                Ok(w) => Sampler::Weibull(w),
                Err(_) => Sampler::Constant(scale.round() as u64),
            },
            Dist::Empirical(v) => Sampler::Empirical(v.iter().map(|x| x.round() as u64).collect()),
        }
    }
}

/// The sampling form of a [`Dist`]: draws whole nanoseconds, never negative.
#[derive(Clone, Debug)]
pub enum Sampler {
    /// A fixed value.
    Constant(u64),
    /// Exponential with this mean (ns).
    Exponential(f64),
    /// `min + U * width`.
    Uniform(f64, f64),
    /// `exp(mu + sigma * Z)`.
    LogNormal {
        /// Mean of the underlying normal.
        mu: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Gamma.
    Gamma(Gamma<f64>),
    /// Weibull.
    Weibull(Weibull<f64>),
    /// Uniform choice among the values.
    Empirical(Vec<u64>),
}

impl Sampler {
    /// Draws one duration in nanoseconds.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x: f64 = match self {
            Sampler::Constant(v) => return *v,
            Sampler::Exponential(mean) => {
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            Sampler::Uniform(min, width) => {
                let u: f64 = rand::RngExt::random(rng);
                min + u * width
            }
            Sampler::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Sampler::Gamma(g) => g.sample(rng),
            Sampler::Weibull(w) => w.sample(rng),
            Sampler::Empirical(v) => {
                let i = rand::RngExt::random_range(rng, 0..v.len());
                return v[i];
            }
        };
        // `as` saturates: NaN -> 0, negative -> 0, huge -> u64::MAX.
        (x + 0.5) as u64
    }
}

/// One argument of a distribution call: `name = value` or a bare `value`.
struct Arg<'a> {
    key: Option<&'a str>,
    value: &'a str,
}

fn push_arg<'a>(args: &mut Vec<Arg<'a>>, s: &'a str) {
    let s = s.trim();
    if s.is_empty() {
        return;
    }
    match s.split_once('=') {
        Some((k, v)) if !k.contains('"') => args.push(Arg {
            key: Some(k.trim()),
            value: v.trim(),
        }),
        _ => args.push(Arg {
            key: None,
            value: s,
        }),
    }
}

fn split_args(inner: &str) -> Vec<Arg<'_>> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut in_quote = false;
    let mut start = 0;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'"' | b'\'' => in_quote = !in_quote,
            b'[' | b'(' if !in_quote => depth += 1,
            b']' | b')' if !in_quote => depth = depth.saturating_sub(1),
            b',' if !in_quote && depth == 0 => {
                push_arg(&mut args, &inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push_arg(&mut args, &inner[start..]);
    args
}

/// Parameters of a call, looked up by name or position.
struct Params<'a> {
    func: &'a str,
    args: Vec<Arg<'a>>,
}

impl<'a> Params<'a> {
    /// Returns the value given by `key` or at `position`, checking for extra arguments.
    fn get(&self, key: &str, position: usize) -> Option<&'a str> {
        self.args
            .iter()
            .find(|a| a.key == Some(key))
            .or_else(|| self.args.iter().filter(|a| a.key.is_none()).nth(position))
            .map(|a| a.value)
    }

    fn check_keys(&self, allowed: &[&str]) -> Result<(), String> {
        for a in &self.args {
            if let Some(k) = a.key
                && !allowed.contains(&k)
            {
                return Err(format!(
                    "`{}` takes no parameter `{k}`; its parameters are {}",
                    self.func,
                    allowed.join(", ")
                ));
            }
        }
        if self.args.len() > allowed.len() {
            return Err(format!(
                "`{}` takes {} parameter(s) ({}), {} given",
                self.func,
                allowed.len(),
                allowed.join(", "),
                self.args.len()
            ));
        }
        Ok(())
    }

    fn duration(&self, key: &str, position: usize) -> Result<f64, String> {
        let v = self
            .get(key, position)
            .ok_or_else(|| format!("`{}` needs `{key}`, e.g. {}", self.func, example(self.func)))?;
        parse_duration(v).map_err(|e| format!("`{key}`: {e}"))
    }

    fn number(&self, key: &str, position: usize) -> Result<f64, String> {
        let v = self
            .get(key, position)
            .ok_or_else(|| format!("`{}` needs `{key}`, e.g. {}", self.func, example(self.func)))?;
        let x: f64 = v
            .parse()
            .map_err(|_| format!("`{key}` must be a number, found `{v}`"))?;
        if !x.is_finite() {
            return Err(format!("`{key}` must be finite"));
        }
        Ok(x)
    }
}

fn example(func: &str) -> &'static str {
    match func {
        "exp" | "exponential" => "exp(2ms)",
        "const" | "constant" => "const(1ms)",
        "uniform" => "uniform(1ms, 3ms)",
        "lognormal" => "lognormal(mean = 1ms, cv = 1.0)",
        "gamma" => "gamma(mean = 1ms, cv = 0.5)",
        "weibull" => "weibull(shape = 1.5, scale = 2ms)",
        _ => "empirical(1ms, 2ms, 5ms) or empirical(file = \"samples.csv\", unit = \"ms\")",
    }
}

/// The distribution names accepted, for error hints.
pub const DIST_NAMES: &str =
    "const, exp, uniform, lognormal, gamma, weibull, empirical (e.g. \"exp(2ms)\")";

/// Parses a distribution call. `read_file` loads an empirical CSV by path
/// (the scenario layer resolves it relative to the scenario file).
pub fn parse_dist(
    text: &str,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Dist, String> {
    let t = text.trim();
    let Some(open) = t.find('(') else {
        // A bare duration is a constant.
        return parse_duration(t)
            .map(Dist::Constant)
            .map_err(|e| format!("not a distribution: {e}; expected one of {DIST_NAMES}"));
    };
    if !t.ends_with(')') {
        return Err(format!("`{t}` is missing its closing `)`"));
    }
    let func = t[..open].trim();
    let params = Params {
        func,
        args: split_args(&t[open + 1..t.len() - 1]),
    };
    let dist = match func {
        "const" | "constant" => {
            params.check_keys(&["value"])?;
            Dist::Constant(params.duration("value", 0)?)
        }
        "exp" | "exponential" => {
            params.check_keys(&["mean"])?;
            let mean = params.duration("mean", 0)?;
            if mean <= 0.0 {
                return Err("`exp` needs a mean above zero".into());
            }
            Dist::Exponential { mean }
        }
        "uniform" => {
            params.check_keys(&["min", "max"])?;
            let (min, max) = (params.duration("min", 0)?, params.duration("max", 1)?);
            if max < min {
                return Err(format!(
                    "`uniform` needs min <= max, found {min} > {max} ns"
                ));
            }
            Dist::Uniform { min, max }
        }
        "lognormal" | "gamma" => {
            params.check_keys(&["mean", "cv"])?;
            let mean = params.duration("mean", 0)?;
            let cv = params.number("cv", 1)?;
            if mean <= 0.0 {
                return Err(format!("`{func}` needs a mean above zero"));
            }
            if !(0.0..=100.0).contains(&cv) {
                return Err(format!("`{func}` needs 0 <= cv <= 100, found {cv}"));
            }
            if func == "gamma" {
                Dist::Gamma { mean, cv }
            } else {
                Dist::LogNormal { mean, cv }
            }
        }
        "weibull" => {
            params.check_keys(&["shape", "scale"])?;
            let shape = params.number("shape", 0)?;
            let scale = params.duration("scale", 1)?;
            if !(0.05..=1000.0).contains(&shape) {
                return Err(format!(
                    "`weibull` needs 0.05 <= shape <= 1000, found {shape}"
                ));
            }
            if scale <= 0.0 {
                return Err("`weibull` needs a scale above zero".into());
            }
            Dist::Weibull { shape, scale }
        }
        "empirical" => parse_empirical(&params, read_file)?,
        other => {
            return Err(format!(
                "unknown distribution `{other}`; expected one of {DIST_NAMES}"
            ));
        }
    };
    if dist.mean() > 1e15 {
        return Err("the mean is implausibly long (over 11 days)".into());
    }
    Ok(dist)
}

fn parse_empirical(
    params: &Params<'_>,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Dist, String> {
    let file = params.args.iter().find(|a| a.key == Some("file"));
    let samples = if let Some(file) = file {
        params.check_keys(&["file", "unit"])?;
        let path = file.value.trim_matches(|c| c == '"' || c == '\'');
        let unit = params
            .get("unit", usize::MAX)
            .map(|u| u.trim_matches(|c| c == '"' || c == '\'').to_string());
        let text =
            read_file(path).map_err(|e| format!("cannot read empirical samples `{path}`: {e}"))?;
        let values =
            parse_samples_csv(&text, unit.as_deref()).map_err(|e| format!("{path}: {e}"))?;
        Samples {
            values,
            // The text is valid UTF-8: its bytes are the file's bytes.
            file: Some(SampleFile::of(path, text.as_bytes())),
        }
    } else {
        let mut v = Vec::new();
        for a in &params.args {
            if a.key.is_some() {
                return Err("`empirical` takes a list of durations, or file = \"...\"".into());
            }
            v.push(parse_duration(a.value)?);
        }
        Samples::from(v)
    };
    if samples.is_empty() {
        return Err("`empirical` needs at least one sample".into());
    }
    Ok(Dist::Empirical(samples))
}

/// Reads one duration per line (first column of a CSV). A first line that is
/// not a value is taken as a header. Bare numbers need `unit`.
pub fn parse_samples_csv(text: &str, unit: Option<&str>) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("not CSV: {e}"))?;
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        let cell = record.get(0).unwrap_or("");
        if cell.is_empty() {
            continue;
        }
        let parsed = match cell.parse::<f64>() {
            Ok(x) => match unit {
                Some(u) => parse_duration(&format!("{x}{u}")),
                None => Err(format!(
                    "bare number `{cell}`: give the file's unit, e.g. unit = \"ms\""
                )),
            },
            Err(_) => parse_duration(cell),
        };
        match parsed {
            Ok(x) => out.push(x),
            Err(_) if i == 0 && out.is_empty() && cell.parse::<f64>().is_err() => {} // header
            Err(e) => return Err(format!("line {line}: {e}")),
        }
    }
    Ok(out)
}

/// How many times a request calls a tier on one visit of its route.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Calls {
    /// Exactly this many calls (at least 1).
    Fixed(u32),
    /// Geometric on {1, 2, ...} with this mean (>= 1).
    Geometric(f64),
}

impl Calls {
    /// Mean number of calls.
    pub fn mean(&self) -> f64 {
        match self {
            Calls::Fixed(n) => *n as f64,
            Calls::Geometric(m) => *m,
        }
    }

    /// Draws a number of calls.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        match *self {
            Calls::Fixed(n) => n,
            Calls::Geometric(m) if m <= 1.0 => 1,
            Calls::Geometric(m) => {
                // P(K = k) = (1-p)^(k-1) p with p = 1/m; inverse transform.
                let u: f64 = rand::RngExt::random(rng);
                let k = 1.0 + ((1.0 - u).ln() / (1.0 - 1.0 / m).ln()).floor();
                k.min(1e6) as u32
            }
        }
    }

    /// Parses `"geometric(mean = 3)"` or `"geometric(3)"`.
    pub fn parse(text: &str) -> Result<Calls, String> {
        let t = text.trim();
        let inner = t
            .strip_prefix("geometric(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| {
                format!(
                    "`{t}` is not a call count: write a whole number or \"geometric(mean = 3)\""
                )
            })?;
        let v = inner
            .trim()
            .strip_prefix("mean")
            .map(|r| r.trim_start().trim_start_matches('='))
            .unwrap_or(inner);
        let m: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("`{v}` is not a number"))?;
        if !(1.0..=1e5).contains(&m) {
            return Err(format!(
                "a geometric call count needs 1 <= mean <= 100000, found {m}"
            ));
        }
        Ok(Calls::Geometric(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn no_file(_: &str) -> Result<String, String> {
        Err("no files in this test".into())
    }

    fn parse(s: &str) -> Result<Dist, String> {
        parse_dist(s, &no_file)
    }

    #[test]
    fn parses_each_family() {
        assert_eq!(
            parse("exp(50us)").unwrap(),
            Dist::Exponential { mean: 50e3 }
        );
        assert_eq!(
            parse("exp(mean = 2ms)").unwrap(),
            Dist::Exponential { mean: 2e6 }
        );
        assert_eq!(parse("2ms").unwrap(), Dist::Constant(2e6));
        assert_eq!(parse("const(1ms)").unwrap(), Dist::Constant(1e6));
        assert_eq!(
            parse("lognormal(mean = 1ms, cv = 1.0)").unwrap(),
            Dist::LogNormal { mean: 1e6, cv: 1.0 }
        );
        assert_eq!(
            parse("gamma(1ms, 0.5)").unwrap(),
            Dist::Gamma { mean: 1e6, cv: 0.5 }
        );
        assert_eq!(
            parse("uniform(min = 1ms, max = 3ms)").unwrap(),
            Dist::Uniform { min: 1e6, max: 3e6 }
        );
        assert_eq!(
            parse("weibull(shape = 2, scale = 1ms)").unwrap(),
            Dist::Weibull {
                shape: 2.0,
                scale: 1e6
            }
        );
        assert_eq!(
            parse("empirical(1ms, 3ms)").unwrap(),
            Dist::Empirical(vec![1e6, 3e6].into())
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "exp(-1ms)",
            "exp(0ms)",
            "exp(2)",
            "exp(2ms",
            "normal(1ms, 1ms)",
            "uniform(3ms, 1ms)",
            "lognormal(mean = 1ms)",
            "lognormal(mean = 1ms, cv = -1)",
            "lognormal(mean = 1ms, sd = 1)",
            "exp(1ms, 2ms)",
            "empirical()",
            "empirical(file = \"x.csv\")",
            "weibull(shape = 0, scale = 1ms)",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn empirical_csv_with_header_and_units() {
        assert_eq!(
            parse_samples_csv("latency\n1ms\n2ms\n", None).unwrap(),
            vec![1e6, 2e6]
        );
        assert_eq!(
            parse_samples_csv("ms\n1\n2.5\n", Some("ms")).unwrap(),
            vec![1e6, 2.5e6]
        );
        assert!(parse_samples_csv("1\n2\n", None).is_err());
        assert!(parse_samples_csv("1ms\nxx\n", None).is_err());
    }

    #[test]
    fn weibull_mean_matches_gamma_function() {
        // shape 1 is exponential: mean = scale.
        let d = Dist::Weibull {
            shape: 1.0,
            scale: 5.0,
        };
        assert!((d.mean() - 5.0).abs() < 1e-9);
        // shape 2: mean = scale * sqrt(pi) / 2.
        let d = Dist::Weibull {
            shape: 2.0,
            scale: 2.0,
        };
        assert!((d.mean() - std::f64::consts::PI.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn sample_means_match_stated_means() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        for d in [
            Dist::Exponential { mean: 1e6 },
            Dist::LogNormal { mean: 1e6, cv: 1.5 },
            Dist::Gamma { mean: 1e6, cv: 0.5 },
            Dist::Weibull {
                shape: 1.5,
                scale: 1e6,
            },
            Dist::Uniform { min: 0.0, max: 2e6 },
        ] {
            let s = d.sampler();
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| s.sample(&mut rng) as f64).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let se = (var / n as f64).sqrt();
            assert!(
                (mean - d.mean()).abs() < 4.0 * se,
                "{d:?}: {mean} vs {}",
                d.mean()
            );
            let scv = var / (mean * mean);
            assert!(
                (scv - d.scv()).abs() < 0.1 * d.scv().max(0.1),
                "{d:?} scv {scv}"
            );
        }
    }

    #[test]
    fn geometric_calls_have_their_mean() {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
        let c = Calls::parse("geometric(mean = 3)").unwrap();
        let n = 100_000;
        let draws: Vec<u32> = (0..n).map(|_| c.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&k| k >= 1));
        let mean = draws.iter().map(|&k| k as f64).sum::<f64>() / n as f64;
        // Var = (1-p)/p^2 = 6; se = sqrt(6/n).
        assert!((mean - 3.0).abs() < 4.0 * (6.0 / n as f64).sqrt(), "{mean}");
        assert!(Calls::parse("geometric(0.5)").is_err());
        assert!(Calls::parse("3").is_err());
    }
}

#[cfg(test)]
mod empirical_json {
    use super::Dist;

    #[test]
    fn an_empirical_distribution_is_written_as_a_summary_not_its_samples() {
        let d = Dist::Empirical(
            (1..=1000)
                .map(|i| f64::from(i) * 1e3)
                .collect::<Vec<_>>()
                .into(),
        );
        let v = serde_json::to_value(&d).unwrap();
        let e = &v["empirical"];
        assert_eq!(e["samples"], 1000);
        assert_eq!(e["mean_ns"], 500_500.0);
        assert_eq!(e["min_ns"], 1e3);
        assert_eq!(e["max_ns"], 1e6);
        assert_eq!(e["p50_ns"], 501e3);
        assert!(
            serde_json::to_string(&d).unwrap().len() < 200,
            "no sample list"
        );
    }
}
