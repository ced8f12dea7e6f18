//! MSER-5 (White 1997): where to truncate a warm-up. The series is averaged
//! in batches of 5; the truncation `d` minimises the squared standard error
//! of the mean of what is left, `sum((x_i - mean_d)^2) / (n - d)^2`. A
//! minimum in the second half of the series means the run is too short to
//! tell, and no truncation is returned.

/// The truncation point in observations of `xs` (a multiple of 5), or `None`
/// when the run is too short to choose one.
pub fn mser5(xs: &[f64]) -> Option<usize> {
    let batches: Vec<f64> = xs
        .chunks_exact(5)
        .map(|c| c.iter().sum::<f64>() / 5.0)
        .collect();
    let n = batches.len();
    if n < 10 || batches.iter().any(|b| !b.is_finite()) {
        return None;
    }
    let mut best = (f64::INFINITY, 0);
    for d in 0..=n / 2 {
        let rest = &batches[d..];
        let m = rest.iter().sum::<f64>() / rest.len() as f64;
        let ss: f64 = rest.iter().map(|x| (x - m).powi(2)).sum();
        let stat = ss / (rest.len() as f64).powi(2);
        if stat < best.0 {
            best = (stat, d);
        }
    }
    // A minimum at the edge of the searched half: the transient may run on.
    (best.1 < n / 2).then_some(best.1 * 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_initial_transient() {
        // 50 observations rising from 0 to a steady 10, then 450 steady with
        // a little deterministic noise.
        let mut xs: Vec<f64> = (0..50).map(|i| i as f64 / 5.0).collect();
        xs.extend((0..450).map(|i| 10.0 + ((i * 7919) % 13) as f64 / 13.0 - 0.5));
        let d = mser5(&xs).unwrap();
        assert!((40..=60).contains(&d), "{d}");
    }

    #[test]
    fn steady_series_needs_no_truncation_and_short_ones_refuse() {
        let xs: Vec<f64> = (0..500).map(|i| ((i * 7919) % 13) as f64).collect();
        assert!(mser5(&xs).unwrap() <= 50);
        assert_eq!(mser5(&[1.0; 20]), None, "too short");
        let rising: Vec<f64> = (0..200).map(f64::from).collect();
        assert_eq!(mser5(&rising), None, "never settles");
    }
}
