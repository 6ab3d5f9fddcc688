//! The Gaussian toy of Mohamed, Rosca, Figurnov & Mnih (2020), §3: the
//! measure q(x) = N(x | μ, σ²), a univariate cost f(x; k), and the gradient
//! η = ∇_{μ,σ} E_q[f(x; k)] in closed form, so that every estimator can be
//! checked for bias and its variance computed exactly by quadrature.
//!
//! The costs are the paper's three — (x − k)² (its Fig. 2), exp(−k x²) and
//! cos(k x) (its Fig. 3) — and the cubic (x − k)³ that issue 5 asks for.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::{Error, Result};

/// The measure q(x) = N(x | μ, σ²), σ > 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gaussian {
    mu: f64,
    sigma: f64,
}

impl Gaussian {
    /// N(μ, σ²); an error unless μ is finite and σ is finite and > 0.
    pub fn new(mu: f64, sigma: f64) -> Result<Self> {
        if !mu.is_finite() {
            return Err(Error::invalid("mu", mu, "finite"));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(Error::invalid("sigma", sigma, "finite and > 0"));
        }
        Ok(Self { mu, sigma })
    }

    /// The mean μ.
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// The standard deviation σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The sampling path x = g(ε; μ, σ) = μ + σ ε with ε ~ N(0, 1):
    /// Mohamed et al. (2020) §5.2, the location-scale transform of eq. (37).
    pub fn transform(&self, eps: f64) -> f64 {
        self.mu + self.sigma * eps
    }

    /// ln N(x | μ, σ²).
    pub fn log_density(&self, x: f64) -> f64 {
        let z = (x - self.mu) / self.sigma;
        -0.5 * z * z - self.sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    }

    /// The score ∇_{μ,σ} ln N(x | μ, σ²) = ((x − μ)/σ², ((x − μ)² / σ² − 1)/σ):
    /// the factor multiplying f in the score-function estimator, Mohamed et
    /// al. (2020) eq. (13). Both components have mean zero under q.
    pub fn score(&self, x: f64) -> [f64; 2] {
        let z = (x - self.mu) / self.sigma;
        [z / self.sigma, (z * z - 1.0) / self.sigma]
    }

    /// E_q[s_μ²] = 1/σ² and E_q[s_σ²] = 2/σ² (the Fisher information of
    /// (μ, σ)), the denominators of the optimal baseline.
    pub fn fisher(&self) -> [f64; 2] {
        let v = self.sigma * self.sigma;
        [1.0 / v, 2.0 / v]
    }

    /// ∂x/∂(μ, σ) along the path x = μ + σ ε, written through x:
    /// (1, (x − μ)/σ) — Mohamed et al. (2020) eq. (37).
    pub fn path_derivative(&self, x: f64) -> [f64; 2] {
        [1.0, (x - self.mu) / self.sigma]
    }

    /// E_q[g(x)] by composite Simpson quadrature on μ ± 10σ with 4096
    /// intervals: exact to ≈1e-9 relative for the smooth, at most
    /// polynomially growing g used here while kσ ≲ 30.
    pub fn expect(&self, g: impl Fn(f64) -> f64) -> f64 {
        const HALF_WIDTH: f64 = 10.0;
        const N: usize = 4096;
        let (lo, hi) = (-HALF_WIDTH, HALF_WIDTH);
        let h = (hi - lo) / N as f64;
        let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
        let term = |i: usize| {
            let e = lo + h * i as f64;
            norm * (-0.5 * e * e).exp() * g(self.transform(e))
        };
        let mut s = term(0) + term(N);
        for i in 1..N {
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * term(i);
        }
        s * h / 3.0
    }
}

/// A differentiable cost f(x) of one variable: what the estimators need.
/// The score-function estimators call only [`Cost::value`]; the pathwise
/// estimator calls only [`Cost::derivative`].
pub trait Cost {
    /// f(x).
    fn value(&self, x: f64) -> f64;
    /// f′(x).
    fn derivative(&self, x: f64) -> f64;
}

/// The test costs of Mohamed et al. (2020) §3 (Figs. 2–3), plus a cubic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum TestFunction {
    /// f(x; k) = (x − k)² (Fig. 2).
    Square {
        /// The shift k.
        k: f64,
    },
    /// f(x; k) = (x − k)³.
    Cubic {
        /// The shift k.
        k: f64,
    },
    /// f(x; k) = exp(−k x²) (Fig. 3, middle), k ≥ 0.
    Exp {
        /// The width parameter k.
        k: f64,
    },
    /// f(x; k) = cos(k x) (Fig. 3, right).
    Cos {
        /// The frequency k.
        k: f64,
    },
}

impl TestFunction {
    /// Every function's name, as the command line spells it.
    pub const NAMES: [&'static str; 4] = ["square", "cubic", "exp", "cos"];

    /// The function called `name` with parameter `k`.
    pub fn new(name: &str, k: f64) -> Result<Self> {
        if !k.is_finite() {
            return Err(Error::invalid("k", k, "finite"));
        }
        let f = match name {
            "square" => Self::Square { k },
            "cubic" => Self::Cubic { k },
            "exp" if k < 0.0 => return Err(Error::invalid("k", k, ">= 0 for exp(-k x^2)")),
            "exp" => Self::Exp { k },
            "cos" => Self::Cos { k },
            other => {
                return Err(Error::invalid(
                    "function",
                    other,
                    "one of square, cubic, exp, cos",
                ));
            }
        };
        Ok(f)
    }

    /// The function's name (`square`, `cubic`, `exp`, `cos`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Square { .. } => "square",
            Self::Cubic { .. } => "cubic",
            Self::Exp { .. } => "exp",
            Self::Cos { .. } => "cos",
        }
    }

    /// The parameter k.
    pub fn k(&self) -> f64 {
        match *self {
            Self::Square { k } | Self::Cubic { k } | Self::Exp { k } | Self::Cos { k } => k,
        }
    }

    /// The same function with another k (validated as in [`Self::new`]).
    pub fn with_k(&self, k: f64) -> Result<Self> {
        Self::new(self.name(), k)
    }

    /// E_{N(μ,σ²)}[f] in closed form.
    ///
    /// - (x − k)²: (μ − k)² + σ²
    /// - (x − k)³: (μ − k)³ + 3(μ − k)σ²
    /// - exp(−k x²): a^{−1/2} exp(−k μ² / a), a = 1 + 2kσ²
    /// - cos(k x): cos(k μ) exp(−k²σ²/2)
    pub fn expectation(&self, q: &Gaussian) -> f64 {
        let (mu, s) = (q.mu(), q.sigma());
        match *self {
            Self::Square { k } => (mu - k).powi(2) + s * s,
            Self::Cubic { k } => (mu - k).powi(3) + 3.0 * (mu - k) * s * s,
            Self::Exp { k } => {
                let a = 1.0 + 2.0 * k * s * s;
                a.powf(-0.5) * (-k * mu * mu / a).exp()
            }
            Self::Cos { k } => (k * mu).cos() * (-0.5 * k * k * s * s).exp(),
        }
    }

    /// The true gradient η = (∂/∂μ, ∂/∂σ) E_{N(μ,σ²)}[f], differentiated
    /// from [`Self::expectation`] by hand (Mohamed et al. 2020, eq. (2) for
    /// this toy):
    ///
    /// - (x − k)²: (2(μ − k), 2σ)
    /// - (x − k)³: (3(μ − k)² + 3σ², 6(μ − k)σ)
    /// - exp(−k x²): E·(−2kμ/a, −2kσ/a + 4k²μ²σ/a²)
    /// - cos(k x): (−k sin(kμ), −k²σ cos(kμ)) · exp(−k²σ²/2)
    pub fn gradient(&self, q: &Gaussian) -> [f64; 2] {
        let (mu, s) = (q.mu(), q.sigma());
        match *self {
            Self::Square { k } => [2.0 * (mu - k), 2.0 * s],
            Self::Cubic { k } => [3.0 * (mu - k).powi(2) + 3.0 * s * s, 6.0 * (mu - k) * s],
            Self::Exp { k } => {
                let a = 1.0 + 2.0 * k * s * s;
                let e = self.expectation(q);
                [
                    e * (-2.0 * k * mu / a),
                    e * (-2.0 * k * s / a + 4.0 * k * k * mu * mu * s / (a * a)),
                ]
            }
            Self::Cos { k } => {
                let damp = (-0.5 * k * k * s * s).exp();
                [
                    -k * (k * mu).sin() * damp,
                    -k * k * s * (k * mu).cos() * damp,
                ]
            }
        }
    }
}

impl Cost for TestFunction {
    fn value(&self, x: f64) -> f64 {
        match *self {
            Self::Square { k } => (x - k).powi(2),
            Self::Cubic { k } => (x - k).powi(3),
            Self::Exp { k } => (-k * x * x).exp(),
            Self::Cos { k } => (k * x).cos(),
        }
    }

    fn derivative(&self, x: f64) -> f64 {
        match *self {
            Self::Square { k } => 2.0 * (x - k),
            Self::Cubic { k } => 3.0 * (x - k).powi(2),
            Self::Exp { k } => -2.0 * k * x * (-k * x * x).exp(),
            Self::Cos { k } => -k * (k * x).sin(),
        }
    }
}

impl fmt::Display for TestFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.k();
        match self {
            Self::Square { .. } => write!(f, "(x - {k})^2"),
            Self::Cubic { .. } => write!(f, "(x - {k})^3"),
            Self::Exp { .. } => write!(f, "exp(-{k} x^2)"),
            Self::Cos { .. } => write!(f, "cos({k} x)"),
        }
    }
}

impl FromStr for TestFunction {
    type Err = Error;

    /// `square`, `cubic`, `exp` or `cos`, optionally `:k` (default k = 1).
    fn from_str(s: &str) -> Result<Self> {
        let (name, k) = match s.split_once(':') {
            Some((n, k)) => (
                n.trim(),
                k.trim()
                    .parse::<f64>()
                    .map_err(|_| Error::invalid("k", k, "a number, as in square:2"))?,
            ),
            None => (s.trim(), 1.0),
        };
        Self::new(name, k)
    }
}

#[cfg(test)]
mod tests {
    // Loops over the two parameters (μ, σ) index several arrays at once.
    #![allow(clippy::needless_range_loop)]

    use super::*;

    /// The closed-form gradients match central finite differences of the
    /// closed-form expectations, and the expectations match quadrature.
    #[test]
    fn closed_form_gradients_match_finite_differences_and_quadrature() {
        let q = Gaussian::new(0.7, 1.3).unwrap();
        for name in TestFunction::NAMES {
            for k in [0.3, 1.0, 2.5] {
                let f = TestFunction::new(name, k).unwrap();
                let quad = q.expect(|x| f.value(x));
                assert!((quad - f.expectation(&q)).abs() < 1e-8, "{f}: {quad}");
                let h = 1e-5;
                let e = |mu: f64, s: f64| f.expectation(&Gaussian::new(mu, s).unwrap());
                let fd = [
                    (e(q.mu() + h, q.sigma()) - e(q.mu() - h, q.sigma())) / (2.0 * h),
                    (e(q.mu(), q.sigma() + h) - e(q.mu(), q.sigma() - h)) / (2.0 * h),
                ];
                let g = f.gradient(&q);
                for i in 0..2 {
                    assert!((g[i] - fd[i]).abs() < 1e-6 * (1.0 + g[i].abs()), "{f} {i}");
                }
            }
        }
    }

    #[test]
    fn scores_have_mean_zero_and_fisher_variance() {
        let q = Gaussian::new(-0.4, 0.6).unwrap();
        let fisher = q.fisher();
        for i in 0..2 {
            assert!(q.expect(|x| q.score(x)[i]).abs() < 1e-10);
            assert!((q.expect(|x| q.score(x)[i].powi(2)) - fisher[i]).abs() < 1e-8);
        }
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(Gaussian::new(0.0, 0.0).is_err());
        assert!(Gaussian::new(0.0, -1.0).is_err());
        assert!(Gaussian::new(f64::NAN, 1.0).is_err());
        assert!("sine".parse::<TestFunction>().is_err());
        assert!("exp:-1".parse::<TestFunction>().is_err());
        assert!("square:x".parse::<TestFunction>().is_err());
        assert_eq!(
            "cos:3".parse::<TestFunction>().unwrap(),
            TestFunction::Cos { k: 3.0 }
        );
    }
}
