//! `BayesLinear`: a fully connected layer whose weights are random,
//! w ~ q(w | θ) = Π_j N(w_j | μ_j, σ_j²) with σ = ln(1 + e^ρ)
//! (Blundell et al. 2015 §3.2).

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::prior::{HALF_LN_2PI, LayerPrior, ln_normal0, ln_scale_mixture};
use crate::parallel::{Rows, noise_rows};
use crate::{Error, Result};

/// σ = ln(1 + e^ρ) (Blundell et al. 2015 §3.2), with ρ capped at 30 where
/// softplus(ρ) = ρ to float precision (keeps e^ρ finite). Three tensor ops.
pub fn softplus<const D: usize>(rho: Tensor<D>) -> Tensor<D> {
    rho.clamp_max(30.0).exp().log1p()
}

/// The configuration of a [`BayesLinear`] layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesLinearConfig {
    /// Input features.
    pub d_input: usize,
    /// Output features.
    pub d_output: usize,
    /// Initial means μ ~ N(0, (gain / √d_input)²).
    pub mu_gain: f64,
    /// Initial ρ of every weight (σ = softplus(ρ); −5 gives σ ≈ 0.0067).
    pub rho_init: f64,
}

impl BayesLinearConfig {
    /// A `d_input → d_output` layer with μ gain 1 and ρ = −5.
    pub fn new(d_input: usize, d_output: usize) -> Self {
        Self {
            d_input,
            d_output,
            mu_gain: 1.0,
            rho_init: -5.0,
        }
    }

    /// Set the initial ρ.
    pub fn with_rho_init(mut self, rho: f64) -> Self {
        self.rho_init = rho;
        self
    }

    /// Set the gain of the initial means.
    pub fn with_mu_gain(mut self, gain: f64) -> Self {
        self.mu_gain = gain;
        self
    }

    /// Check sizes ≥ 1 and finite initial values.
    pub fn check(&self) -> Result<()> {
        if self.d_input == 0 || self.d_output == 0 {
            return Err(Error::invalid(
                "layer size",
                format!("{}x{}", self.d_input, self.d_output),
                ">= 1 in both dimensions",
            ));
        }
        if !self.rho_init.is_finite() {
            return Err(Error::invalid("rho_init", self.rho_init, "finite"));
        }
        if !(self.mu_gain.is_finite() && self.mu_gain >= 0.0) {
            return Err(Error::invalid("mu_gain", self.mu_gain, "finite and >= 0"));
        }
        Ok(())
    }

    /// The layer on `device` (seeded through `device.seed`).
    pub fn init(&self, device: &Device) -> BayesLinear {
        let std = self.mu_gain / (self.d_input as f64).sqrt();
        let shape = [self.d_input, self.d_output];
        BayesLinear {
            w_mu: Param::from_tensor(Tensor::random(
                shape,
                Distribution::Normal(0.0, std),
                device,
            )),
            w_rho: Param::from_tensor(Tensor::full(shape, self.rho_init, device)),
            b_mu: Param::from_tensor(Tensor::zeros([self.d_output], device)),
            b_rho: Param::from_tensor(Tensor::full([self.d_output], self.rho_init, device)),
        }
    }
}

/// A fully connected layer with a factorised Gaussian posterior over its
/// weights W `[d_input, d_output]` and biases b `[d_output]`:
/// q(W, b | θ) = Π N(μ, σ²), σ = ln(1 + e^ρ), θ = (μ, ρ)
/// (Blundell et al. 2015 §3.2). One weight draw gives y = x W + b.
#[derive(Module, Debug)]
pub struct BayesLinear {
    /// Means of the weights, `[d_input, d_output]`.
    pub w_mu: Param<Tensor<2>>,
    /// ρ of the weights (σ = softplus(ρ)), `[d_input, d_output]`.
    pub w_rho: Param<Tensor<2>>,
    /// Means of the biases, `[d_output]`.
    pub b_mu: Param<Tensor<1>>,
    /// ρ of the biases, `[d_output]`.
    pub b_rho: Param<Tensor<1>>,
}

/// One draw of a layer's weights, w = μ + σ ∘ ε (Blundell et al. 2015 §3.2,
/// step 2), with its noise kept for the Monte-Carlo KL.
#[derive(Debug, Clone)]
pub struct WeightSample {
    /// Sampled weights, `[d_input, d_output]`.
    pub w: Tensor<2>,
    /// Sampled biases, `[d_output]`.
    pub b: Tensor<1>,
    /// ε of the weights.
    pub w_eps: Tensor<2>,
    /// ε of the biases.
    pub b_eps: Tensor<1>,
    /// σ of the weights (with gradient).
    pub w_sigma: Tensor<2>,
    /// σ of the biases (with gradient).
    pub b_sigma: Tensor<1>,
}

/// The diagonal of a Hessian w.r.t. a layer's (μ, ρ), for second-order steps
/// (VIME's ΔΦ = H⁻¹ ∇ℓ, Houthooft et al. 2016 eq. (16)–(17)).
#[derive(Debug, Clone)]
pub struct LayerDiag {
    /// ∂²/∂μ² of the weights.
    pub w_mu: Tensor<2>,
    /// ∂²/∂ρ² of the weights.
    pub w_rho: Tensor<2>,
    /// ∂²/∂μ² of the biases.
    pub b_mu: Tensor<1>,
    /// ∂²/∂ρ² of the biases.
    pub b_rho: Tensor<1>,
}

impl BayesLinear {
    /// Input and output sizes.
    pub fn dims(&self) -> (usize, usize) {
        let [i, o] = self.w_mu.val().dims();
        (i, o)
    }

    /// Number of weights and biases.
    pub fn n_weights(&self) -> usize {
        let (i, o) = self.dims();
        i * o + o
    }

    /// σ of the weights and biases.
    pub fn sigmas(&self) -> (Tensor<2>, Tensor<1>) {
        (softplus(self.w_rho.val()), softplus(self.b_rho.val()))
    }

    /// y = x E[W] + E[b]: the network at its posterior means (the
    /// deterministic baseline and the "mean" prediction).
    ///
    /// # Shapes
    /// x `[batch, d_input]` → `[batch, d_output]`.
    pub fn forward_mean(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.w_mu.val()) + self.b_mu.val().unsqueeze() // [batch, d_output]
    }

    /// Draw one weight sample w = μ + softplus(ρ) ∘ ε, ε ~ N(0, I)
    /// (Blundell et al. 2015 §3.2, steps 1–2).
    pub fn sample(&self) -> WeightSample {
        let device = self.w_mu.val().device();
        let (i, o) = self.dims();
        let w_eps = Tensor::random([i, o], Distribution::Normal(0.0, 1.0), &device);
        let b_eps = Tensor::random([o], Distribution::Normal(0.0, 1.0), &device);
        self.sample_with(w_eps, b_eps)
    }

    /// The weights w = μ + softplus(ρ) ∘ ε for given noise ε (common random
    /// numbers: finite-difference checks, paired comparisons).
    pub fn sample_with(&self, w_eps: Tensor<2>, b_eps: Tensor<1>) -> WeightSample {
        let (w_sigma, b_sigma) = self.sigmas();
        WeightSample {
            w: self.w_mu.val() + w_sigma.clone() * w_eps.clone(),
            b: self.b_mu.val() + b_sigma.clone() * b_eps.clone(),
            w_eps,
            b_eps,
            w_sigma,
            b_sigma,
        }
    }

    /// y = x w + b with one weight draw shared by the minibatch.
    ///
    /// # Shapes
    /// x `[batch, d_input]` → `[batch, d_output]`.
    pub fn forward_sample(&self, x: Tensor<2>) -> (Tensor<2>, WeightSample) {
        let s = self.sample();
        let y = x.matmul(s.w.clone()) + s.b.clone().unsqueeze(); // [batch, d_output]
        (y, s)
    }

    /// The pre-activation's moments under q, exact for a factorised Gaussian
    /// (Kingma et al. 2015 eq. (6)): γ = x μ_W + μ_b, δ = x² σ_W² + σ_b².
    ///
    /// # Shapes
    /// x `[batch, d_input]` → (`[batch, d_output]`, `[batch, d_output]`).
    pub fn moments(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let (w_sigma, b_sigma) = self.sigmas();
        let gamma = self.forward_mean(x.clone()); // [batch, d_output]
        let delta = x.square().matmul(w_sigma.square()) + b_sigma.square().unsqueeze();
        (gamma, delta)
    }

    /// The local reparameterisation trick (Kingma et al. 2015 §2.3, eq. (6)):
    /// sample the pre-activation y ~ N(γ, δ) independently per example
    /// instead of the weights — the same marginal, lower-variance gradients,
    /// and a matrix product fewer.
    ///
    /// # Shapes
    /// x `[batch, d_input]` → `[batch, d_output]`.
    pub fn forward_local(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward_local_in(x, None)
    }

    /// [`BayesLinear::forward_local`] for one replica's rows of a global
    /// minibatch: the noise is the global batch's, at these rows
    /// ([`crate::parallel::noise_rows`]).
    pub fn forward_local_in(&self, x: Tensor<2>, rows: Option<Rows>) -> Tensor<2> {
        let (gamma, delta) = self.moments(x);
        let eps = noise_rows(
            gamma.dims(),
            rows,
            Distribution::Normal(0.0, 1.0),
            &gamma.device(),
        );
        gamma + delta.sqrt() * eps // [batch, d_output]
    }

    /// Closed-form KL(q(w | θ) ‖ P(w)) for a Gaussian or factorised
    /// Gaussian prior: Σ_j ln(s_j/σ_j) + (σ_j² + (μ_j − m_j)²)/(2 s_j²) − ½
    /// (the Gaussian KL that makes Blundell et al. 2015 eq. (1) analytic).
    /// `None` for the scale mixture, which has no closed form.
    pub fn kl_closed_form(&self, prior: LayerPrior<'_>) -> Option<Tensor<1>> {
        let (w_sigma, b_sigma) = self.sigmas();
        let (w_mu, b_mu) = (self.w_mu.val(), self.b_mu.val());
        match prior {
            LayerPrior::Gaussian(s) => {
                let s2 = s * s;
                let w =
                    (w_sigma.clone().square() + w_mu.square()).mul_scalar(0.5 / s2) - w_sigma.log();
                let b =
                    (b_sigma.clone().square() + b_mu.square()).mul_scalar(0.5 / s2) - b_sigma.log();
                let n = self.n_weights() as f64;
                Some(
                    (w.sum() + b.sum()).add_scalar(n * (s.ln() - 0.5)), // [1]
                )
            }
            LayerPrior::Factors(f) => {
                let kl2 = |mu: Tensor<2>, sigma: Tensor<2>, m: Tensor<2>, s: Tensor<2>| {
                    let v = s.clone().square();
                    ((sigma.clone().square() + (mu - m).square()) / v.mul_scalar(2.0) + s.log()
                        - sigma.log())
                    .sub_scalar(0.5)
                    .sum()
                };
                let w = kl2(w_mu, w_sigma, f.w_mu.clone(), f.w_sigma.clone());
                let b = kl2(
                    b_mu.unsqueeze(),
                    b_sigma.unsqueeze(),
                    f.b_mu.clone().unsqueeze(),
                    f.b_sigma.clone().unsqueeze(),
                );
                Some(w + b)
            }
            LayerPrior::ScaleMixture(..) => None,
        }
    }

    /// One-sample Monte-Carlo KL, Blundell et al. (2015) eq. (2):
    /// ln q(w | θ) − ln P(w) at the drawn w. ln q is written through ε,
    /// −Σ(ln σ + ε²/2 + ½ ln 2π), which has the same value and gradient
    /// (the path and score terms of ∂/∂μ cancel exactly).
    pub fn kl_monte_carlo(&self, s: &WeightSample, prior: LayerPrior<'_>) -> Tensor<1> {
        let n = self.n_weights() as f64;
        let ln_q = -(s.w_sigma.clone().log().sum()
            + s.b_sigma.clone().log().sum()
            + (s.w_eps.clone().square().sum() + s.b_eps.clone().square().sum()).mul_scalar(0.5))
        .add_scalar(n * HALF_LN_2PI);
        let ln_p = match prior {
            LayerPrior::Gaussian(sd) => {
                ln_normal0(s.w.clone(), sd).sum() + ln_normal0(s.b.clone(), sd).sum()
            }
            LayerPrior::ScaleMixture(pi, s1, s2) => {
                ln_scale_mixture(s.w.clone(), pi, s1, s2).sum()
                    + ln_scale_mixture(s.b.clone(), pi, s1, s2).sum()
            }
            LayerPrior::Factors(f) => {
                let lp2 = |w: Tensor<2>, m: Tensor<2>, sd: Tensor<2>| {
                    (((w - m) / sd.clone()).square().mul_scalar(-0.5) - sd.log())
                        .sub_scalar(HALF_LN_2PI)
                        .sum()
                };
                lp2(s.w.clone(), f.w_mu.clone(), f.w_sigma.clone())
                    + lp2(
                        s.b.clone().unsqueeze(),
                        f.b_mu.clone().unsqueeze(),
                        f.b_sigma.clone().unsqueeze(),
                    )
            }
        };
        ln_q - ln_p
    }

    /// The diagonal Hessian of the closed-form KL(q ‖ P) w.r.t. (μ, ρ) for
    /// a factorised Gaussian prior with per-weight (m, s) — what VIME's
    /// second-order information-gain step needs (Houthooft et al. 2016
    /// eq. (17)): ∂²KL/∂μ² = 1/s², and with σ = softplus(ρ), σ' = sigmoid(ρ),
    /// f(σ) = −ln σ + σ²/(2s²):
    /// ∂²KL/∂ρ² = f''(σ) σ'² + f'(σ) σ'(1 − σ'), f' = −1/σ + σ/s²,
    /// f'' = 1/σ² + 1/s². At q = P this is 2 σ'²/σ².
    /// `None` for the scale mixture.
    pub fn kl_hessian_diag(&self, prior: LayerPrior<'_>) -> Option<LayerDiag> {
        let device = self.w_mu.val().device();
        let (i, o) = self.dims();
        let (w_s, b_s): (Tensor<2>, Tensor<1>) = match prior {
            LayerPrior::Gaussian(s) => (
                Tensor::full([i, o], s, &device),
                Tensor::full([o], s, &device),
            ),
            LayerPrior::Factors(f) => (f.w_sigma.clone(), f.b_sigma.clone()),
            LayerPrior::ScaleMixture(..) => return None,
        };
        fn rho_h<const D: usize>(rho: Tensor<D>, s: Tensor<D>) -> Tensor<D> {
            let rho = rho.detach();
            let sigma = softplus(rho.clone());
            let d1 = burn::tensor::activation::sigmoid(rho);
            let inv_s2 = s.square().recip();
            let f1 = sigma.clone().recip().neg() + sigma.clone() * inv_s2.clone();
            let f2 = sigma.square().recip() + inv_s2;
            f2 * d1.clone().square() + f1 * d1.clone() * (d1.neg().add_scalar(1.0))
        }
        Some(LayerDiag {
            w_mu: w_s.clone().square().recip(),
            w_rho: rho_h(self.w_rho.val(), w_s),
            b_mu: b_s.clone().square().recip(),
            b_rho: rho_h(self.b_rho.val(), b_s),
        })
    }
}
