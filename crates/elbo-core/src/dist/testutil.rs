//! Helpers shared by the distributions' tests: proptest configuration,
//! Monte-Carlo checks, quadrature and random SPD matrices.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Few cases (the test profile is opt-level 1), a fixed seed so a run is
/// reproducible, and no regression files written outside `src/dist/`.
pub(crate) fn config() -> Config {
    Config {
        cases: 32,
        rng_seed: RngSeed::Fixed(0x5eed_e1b0),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Mean and standard error of the mean of `xs`.
pub(crate) fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

/// Asserts that a Monte-Carlo estimate of `exact` from `xs` lies within
/// 5 standard errors (plus `1e-9` of slack for exactly-constant samples).
#[track_caller]
pub(crate) fn assert_mc(what: &str, xs: &[f64], exact: f64) {
    let (m, se) = mean_se(xs);
    assert!(
        (m - exact).abs() <= 5.0 * se + 1e-9 * (1.0 + exact.abs()),
        "{what}: Monte Carlo {m} ± {se}, closed form {exact}"
    );
}

/// ∫₀¹ f(x) dx by tanh-sinh (double-exponential) quadrature, which copes with
/// integrable singularities at both ends. f is called with (x, 1 − x), both
/// computed without cancellation; points where either rounds to 0 are skipped.
pub(crate) fn integrate_01(f: impl Fn(f64, f64) -> f64) -> f64 {
    let h = 1.0 / 64.0;
    let half_pi = std::f64::consts::FRAC_PI_2;
    let mut s = 0.0;
    for k in -(6 * 64)..=(6 * 64) {
        let t = f64::from(k) * h;
        let u = half_pi * t.sinh();
        // x = (1 + tanh u)/2 = 1/(1 + e^{−2u}), 1 − x = 1/(1 + e^{2u}).
        let x = 1.0 / (1.0 + (-2.0 * u).exp());
        let y = 1.0 / (1.0 + (2.0 * u).exp());
        if x == 0.0 || y == 0.0 {
            continue;
        }
        // dx/du = 2x(1 − x) and du/dt = (π/2) cosh t.
        let w = half_pi * t.cosh() * 2.0 * x * y;
        let fx = f(x, y);
        if w > 0.0 && fx != 0.0 {
            s += h * w * fx;
        }
    }
    s
}

/// ∫₀^∞ f(x) dx via x = u/(1 − u).
pub(crate) fn integrate_0_inf(f: impl Fn(f64) -> f64) -> f64 {
    integrate_01(|u, v| {
        let fx = f(u / v);
        if fx == 0.0 { 0.0 } else { fx / v / v }
    })
}

/// ∫_{−∞}^{∞} f(x) dx as the sum of two half-lines about `c`, scaled by `s`.
pub(crate) fn integrate_real(c: f64, s: f64, f: impl Fn(f64) -> f64) -> f64 {
    s * (integrate_0_inf(|t| f(c + s * t)) + integrate_0_inf(|t| f(c - s * t)))
}

/// A random symmetric positive-definite D×D matrix B Bᵀ + δ I, D in `dims`,
/// with its dimension.
pub(crate) fn spd(dims: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Array2<f64>> {
    dims.prop_flat_map(|d| (prop::collection::vec(-1.0..1.0_f64, d * d), 0.2..1.5_f64))
        .prop_map(|(b, delta)| {
            let d = (b.len() as f64).sqrt().round() as usize;
            let b = Array2::from_shape_vec((d, d), b).expect("d*d entries");
            b.dot(&b.t()) + Array2::<f64>::eye(d) * delta
        })
}

/// A vector of length `d` with entries in `lo..hi`.
pub(crate) fn vec_in(d: usize, lo: f64, hi: f64) -> impl Strategy<Value = Array1<f64>> {
    prop::collection::vec(lo..hi, d).prop_map(Array1::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn quadrature_known_integrals() {
        assert_relative_eq!(integrate_01(|x, _| x * x), 1.0 / 3.0, epsilon = 1e-12);
        // ∫₀¹ x^{−1/2} dx = 2 (endpoint singularity).
        assert_relative_eq!(integrate_01(|x, _| x.powf(-0.5)), 2.0, epsilon = 1e-7);
        assert_relative_eq!(integrate_0_inf(|x| (-x).exp()), 1.0, epsilon = 1e-10);
        let pi = std::f64::consts::PI;
        assert_relative_eq!(
            integrate_real(0.3, 2.0, |x| 1.0 / (1.0 + x * x)),
            pi,
            epsilon = 1e-8
        );
    }
}
