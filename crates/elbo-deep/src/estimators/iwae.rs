//! The importance-weighted bound (Burda, Grosse & Salakhutdinov 2016) on a
//! conjugate Gaussian toy where ln p(x) is exact.
//!
//! With k samples z_i ~ q and weights w_i = p(x, z_i) / q(z_i),
//!
//!   L_k = E[ln (1/k) Σ_i w_i]                      (Burda et al. 2016, eq. (8))
//!
//! L_1 is the ELBO. By Jensen's inequality L_k ≤ ln E[(1/k) Σ w_i] = ln p(x),
//! and since the mean of k weights is the average of the k leave-one-out
//! means of k − 1, concavity of ln gives L_{k−1} ≤ L_k (their Theorem 1):
//! L_1 ≤ L_2 ≤ … ≤ ln p(x), with L_k → ln p(x) when the weights are bounded.
//!
//! Its pathwise gradient (their §3): with z_i = g(ε_i; φ),
//! ∇_φ ln (1/k) Σ w_i = Σ_i w̃_i ∇_φ ln w_i, where w̃_i = w_i / Σ_j w_j are
//! the normalised weights — the ELBO's gradient with each sample weighted by
//! how well it explains x.
//!
//! The tensor form for models is [`super::surrogate::iwae_bound`].

use rand::Rng;
use rand_distr::StandardNormal;
use serde::Serialize;

use super::estimate::Gradient;
use super::gaussian::Gaussian;
use crate::{Error, Result};

/// ln (1/n) Σ exp(v_i), computed stably (max shifted out). −∞ for an empty
/// slice.
pub fn log_mean_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + (v.iter().map(|x| (x - m).exp()).sum::<f64>() / v.len() as f64).ln()
}

/// p(z) = N(0, 1), p(x | z) = N(z, s²): the evidence p(x) = N(0, 1 + s²)
/// and the posterior p(z | x) = N(x/(1 + s²), s²/(1 + s²)) are exact.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConjugateGaussian {
    noise_sd: f64,
}

impl ConjugateGaussian {
    /// The model with likelihood standard deviation `noise_sd` > 0.
    pub fn new(noise_sd: f64) -> Result<Self> {
        if !(noise_sd.is_finite() && noise_sd > 0.0) {
            return Err(Error::invalid("noise_sd", noise_sd, "finite and > 0"));
        }
        Ok(Self { noise_sd })
    }

    /// ln p(x) = ln N(x | 0, 1 + s²).
    pub fn log_evidence(&self, x: f64) -> f64 {
        let v = 1.0 + self.noise_sd * self.noise_sd;
        -0.5 * (2.0 * std::f64::consts::PI * v).ln() - 0.5 * x * x / v
    }

    /// The exact posterior p(z | x).
    pub fn posterior(&self, x: f64) -> Gaussian {
        let s2 = self.noise_sd * self.noise_sd;
        Gaussian::new(x / (1.0 + s2), (s2 / (1.0 + s2)).sqrt())
            .unwrap_or_else(|_| unreachable!("s > 0 gives a finite, positive posterior sd"))
    }

    /// ln p(x, z) = ln N(z | 0, 1) + ln N(x | z, s²).
    pub fn log_joint(&self, x: f64, z: f64) -> f64 {
        let s = self.noise_sd;
        let ln2pi = (2.0 * std::f64::consts::PI).ln();
        -ln2pi - s.ln() - 0.5 * z * z - 0.5 * ((x - z) / s).powi(2)
    }

    /// ∂/∂z ln p(x, z) = −z + (x − z)/s².
    pub fn dlog_joint_dz(&self, x: f64, z: f64) -> f64 {
        -z + (x - z) / (self.noise_sd * self.noise_sd)
    }

    /// The ELBO L_1 = ln p(x) − KL(q ‖ p(z | x)) in closed form.
    pub fn elbo(&self, x: f64, q: &Gaussian) -> f64 {
        let p = self.posterior(x);
        let (m, s, pm, ps) = (q.mu(), q.sigma(), p.mu(), p.sigma());
        let kl = (ps / s).ln() + (s * s + (m - pm).powi(2)) / (2.0 * ps * ps) - 0.5;
        self.log_evidence(x) - kl
    }

    /// The ELBO's exact gradient with respect to q's (m, s):
    /// (−m + (x − m)/s_x², −s − s/s_x² + 1/s).
    pub fn elbo_gradient(&self, x: f64, q: &Gaussian) -> Gradient {
        let v = self.noise_sd * self.noise_sd;
        let (m, s) = (q.mu(), q.sigma());
        [-m + (x - m) / v, -s - s / v + 1.0 / s]
    }

    /// One draw of ln (1/k) Σ w_i (z_i = m + s ε_i) and of its pathwise
    /// gradient Σ w̃_i ∇_{m,s} ln w_i, with ln w = ln p(x, z) − ln q(z) and
    /// along the path ∂ ln w/∂m = ∂_z ln p(x, z), ∂ ln w/∂s =
    /// ∂_z ln p(x, z) ε + 1/s (ln q(z) = −ln s − ε²/2 + const does not
    /// depend on m along the path).
    pub fn iwae_sample<R: Rng + ?Sized>(
        &self,
        x: f64,
        q: &Gaussian,
        k: usize,
        rng: &mut R,
    ) -> (f64, Gradient) {
        let eps: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
        let zs: Vec<f64> = eps.iter().map(|&e| q.transform(e)).collect();
        let log_w: Vec<f64> = zs
            .iter()
            .map(|&z| self.log_joint(x, z) - q.log_density(z))
            .collect();
        let bound = log_mean_exp(&log_w);
        let mut g = [0.0; 2];
        for ((&lw, &z), &e) in log_w.iter().zip(&zs).zip(&eps) {
            // w̃_i = exp(ln w_i − ln Σ w) = exp(ln w_i − bound − ln k).
            let w_tilde = (lw - bound - (k as f64).ln()).exp();
            let d = self.dlog_joint_dz(x, z);
            g[0] += w_tilde * d;
            g[1] += w_tilde * (d * e + 1.0 / q.sigma());
        }
        (bound, g)
    }
}

/// A Monte-Carlo estimate of L_k with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundEstimate {
    /// The number of importance samples k.
    pub k: usize,
    /// Mean of `draws` independent draws of ln (1/k) Σ w_i.
    pub bound: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Mean of the gradient draws with respect to q's (m, s).
    pub gradient: Gradient,
}

/// Estimate L_k (k ≥ 1) and its gradient from `draws` (≥ 2) independent
/// draws of k samples each.
pub fn estimate_bound<R: Rng + ?Sized>(
    model: &ConjugateGaussian,
    x: f64,
    q: &Gaussian,
    k: usize,
    draws: usize,
    rng: &mut R,
) -> Result<BoundEstimate> {
    if k == 0 {
        return Err(Error::invalid("k", k, ">= 1"));
    }
    if draws < 2 {
        return Err(Error::invalid("draws", draws, ">= 2"));
    }
    let (mut sum, mut sum2, mut g) = (0.0, 0.0, [0.0; 2]);
    for _ in 0..draws {
        let (b, d) = model.iwae_sample(x, q, k, rng);
        sum += b;
        sum2 += b * b;
        g[0] += d[0];
        g[1] += d[1];
    }
    let n = draws as f64;
    let mean = sum / n;
    let var = ((sum2 - n * mean * mean) / (n - 1.0)).max(0.0);
    Ok(BoundEstimate {
        k,
        bound: mean,
        std_error: (var / n).sqrt(),
        gradient: g.map(|v| v / n),
    })
}

#[cfg(test)]
mod tests {
    // Loops over the two parameters (μ, σ) index several arrays at once.
    #![allow(clippy::needless_range_loop)]

    use super::*;
    use elbo_core::rng::seeded;

    fn toy() -> (ConjugateGaussian, f64, Gaussian) {
        // q is deliberately off the posterior N(1.0, 0.5): mean and width.
        let model = ConjugateGaussian::new(1.0).unwrap();
        (model, 2.0, Gaussian::new(0.3, 1.2).unwrap())
    }

    #[test]
    fn log_mean_exp_is_stable() {
        assert!((log_mean_exp(&[0.0, 0.0]) - 0.0).abs() < 1e-15);
        assert!((log_mean_exp(&[1000.0, 1000.0]) - 1000.0).abs() < 1e-12);
        let v = [-1.0, 0.5, 2.0];
        let direct = (v.iter().map(|x: &f64| x.exp()).sum::<f64>() / 3.0).ln();
        assert!((log_mean_exp(&v) - direct).abs() < 1e-12);
        assert_eq!(log_mean_exp(&[]), f64::NEG_INFINITY);
    }

    /// The conjugate toy: the ELBO at the exact posterior is ln p(x).
    #[test]
    fn elbo_at_the_posterior_is_the_evidence() {
        let (model, x, _) = toy();
        let p = model.posterior(x);
        assert!((model.elbo(x, &p) - model.log_evidence(x)).abs() < 1e-12);
        let g = model.elbo_gradient(x, &p);
        assert!(g[0].abs() < 1e-12 && g[1].abs() < 1e-12);
    }

    /// L_1 estimated by Monte Carlo is the closed-form ELBO, and its
    /// pathwise gradient is the closed-form ELBO gradient (4 standard
    /// errors, with a 1e-3 floor for the gradient).
    #[test]
    fn iwae_with_one_sample_is_the_elbo() {
        let (model, x, q) = toy();
        let mut rng = seeded(1);
        let e = estimate_bound(&model, x, &q, 1, 40_000, &mut rng).unwrap();
        let elbo = model.elbo(x, &q);
        assert!(
            (e.bound - elbo).abs() < 4.0 * e.std_error,
            "{} vs {elbo}",
            e.bound
        );
        assert!(e.bound < model.log_evidence(x) - 10.0 * e.std_error);
        let g = model.elbo_gradient(x, &q);
        for p in 0..2 {
            assert!(
                (e.gradient[p] - g[p]).abs() < 0.03,
                "{p}: {} vs {}",
                e.gradient[p],
                g[p]
            );
        }
    }

    /// Burda et al. (2016) Theorem 1 on the toy: L_1 ≤ L_2 ≤ L_5 ≤ L_20 ≤
    /// L_100 ≤ ln p(x), each step significant, and the gap shrinks towards 0.
    #[test]
    fn iwae_bound_increases_with_k_towards_the_evidence() {
        let (model, x, q) = toy();
        let log_px = model.log_evidence(x);
        let mut prev: Option<BoundEstimate> = None;
        for (i, &k) in [1usize, 2, 5, 20, 100].iter().enumerate() {
            let draws = 40_000 / k.min(20);
            let e = estimate_bound(&model, x, &q, k, draws, &mut seeded(10 + i as u64)).unwrap();
            assert!(
                e.bound <= log_px + 4.0 * e.std_error,
                "L_{k} = {} > {log_px}",
                e.bound
            );
            if let Some(p) = prev {
                let se = (p.std_error.powi(2) + e.std_error.powi(2)).sqrt();
                assert!(
                    e.bound - p.bound > 4.0 * se,
                    "L_{k} {} vs L_{} {}",
                    e.bound,
                    p.k,
                    p.bound
                );
            }
            prev = Some(e);
        }
        let last = prev.unwrap_or_else(|| unreachable!("the loop ran"));
        assert!(log_px - last.bound < 0.02, "gap {}", log_px - last.bound);
        // A wrong evidence (0.05 too low) would fail the upper bound.
        assert!(last.bound > log_px - 0.05 + 4.0 * last.std_error);
    }

    /// At q = p(z | x) every weight equals p(x): the bound is exact for all k.
    #[test]
    fn iwae_at_the_posterior_is_exact_for_every_k() {
        let (model, x, _) = toy();
        let p = model.posterior(x);
        for k in [1, 3, 10] {
            let (b, _) = model.iwae_sample(x, &p, k, &mut seeded(k as u64));
            assert!((b - model.log_evidence(x)).abs() < 1e-12);
        }
        assert!(estimate_bound(&model, x, &p, 0, 10, &mut seeded(0)).is_err());
        assert!(ConjugateGaussian::new(0.0).is_err());
    }
}
