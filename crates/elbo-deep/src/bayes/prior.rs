//! Priors over the weights: a Gaussian N(0, σ²), the scale mixture of
//! Blundell et al. (2015) eq. (7), and a per-weight factorised Gaussian — the
//! form a previous posterior takes when it becomes the next prior
//! ([`BayesMlp::posterior_as_prior`](super::BayesMlp::posterior_as_prior)).

use burn::tensor::Tensor;

use crate::{Error, Result};

/// ½ ln 2π.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The prior P(w) over every weight and bias of a network.
#[derive(Debug, Clone)]
pub enum Prior {
    /// P(w) = Π_j N(w_j | 0, σ²): the KL to a factorised Gaussian q has a
    /// closed form.
    Gaussian {
        /// Prior standard deviation σ > 0.
        sigma: f64,
    },
    /// Blundell et al. (2015) eq. (7): P(w) = Π_j [π N(w_j | 0, σ1²) +
    /// (1 − π) N(w_j | 0, σ2²)], σ1 > σ2 (a heavy tail and a spike at
    /// zero). No closed-form KL: estimated by Monte Carlo, eq. (2).
    ScaleMixture {
        /// Mixing weight π ∈ (0, 1) of the wide component.
        pi: f64,
        /// Standard deviation σ1 of the wide component.
        sigma1: f64,
        /// Standard deviation σ2 < σ1 of the narrow component.
        sigma2: f64,
    },
    /// One Gaussian per weight (one entry per layer): a previous posterior
    /// q(w | θ_{t−1}) used as the prior for new data (Blundell et al. 2015
    /// §3.4 / the seed's sequential update; VIME's q_old).
    Factorised(Vec<GaussianFactors>),
}

/// Per-weight means and standard deviations of one layer (no gradients).
#[derive(Debug, Clone)]
pub struct GaussianFactors {
    /// Means of the weights, `[d_input, d_output]`.
    pub w_mu: Tensor<2>,
    /// Standard deviations of the weights, `[d_input, d_output]`.
    pub w_sigma: Tensor<2>,
    /// Means of the biases, `[d_output]`.
    pub b_mu: Tensor<1>,
    /// Standard deviations of the biases, `[d_output]`.
    pub b_sigma: Tensor<1>,
}

impl GaussianFactors {
    /// The factors as host vectors `(w_mu, w_sigma, b_mu, b_sigma)`, row-major.
    pub fn to_vecs(&self) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        (
            tensor_vec(&self.w_mu),
            tensor_vec(&self.w_sigma),
            tensor_vec(&self.b_mu),
            tensor_vec(&self.b_sigma),
        )
    }
}

/// A tensor's values on the host (f32).
pub(crate) fn tensor_vec<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    // Float tensors of this crate are f32; `convert` makes the read total.
    t.to_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

/// The prior as one layer sees it.
#[derive(Debug, Clone, Copy)]
pub enum LayerPrior<'a> {
    /// N(0, σ²) for every weight.
    Gaussian(f64),
    /// The scale mixture (π, σ1, σ2).
    ScaleMixture(f64, f64, f64),
    /// Per-weight Gaussians.
    Factors(&'a GaussianFactors),
}

impl Prior {
    /// Check the hyper-parameters: σ > 0, π ∈ (0, 1), σ1 > σ2 > 0.
    pub fn check(&self) -> Result<()> {
        let pos = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(name, v, "finite and > 0"))
            }
        };
        match *self {
            Prior::Gaussian { sigma } => pos("prior sigma", sigma),
            Prior::ScaleMixture { pi, sigma1, sigma2 } => {
                if !(pi > 0.0 && pi < 1.0) {
                    return Err(Error::invalid("prior pi", pi, "in (0, 1)"));
                }
                pos("prior sigma1", sigma1)?;
                pos("prior sigma2", sigma2)?;
                if sigma2 >= sigma1 {
                    return Err(Error::invalid(
                        "prior sigma2",
                        sigma2,
                        "smaller than sigma1 (the narrow component)",
                    ));
                }
                Ok(())
            }
            Prior::Factorised(_) => Ok(()),
        }
    }

    /// Whether KL(q ‖ P) has a closed form (Gaussian and factorised priors).
    pub fn has_closed_form_kl(&self) -> bool {
        !matches!(self, Prior::ScaleMixture { .. })
    }

    /// The prior of layer `i`.
    ///
    /// # Panics
    /// When a factorised prior has fewer layers than the network (a caller
    /// bug: it came from another network).
    #[track_caller]
    pub fn layer(&self, i: usize) -> LayerPrior<'_> {
        match self {
            Prior::Gaussian { sigma } => LayerPrior::Gaussian(*sigma),
            Prior::ScaleMixture { pi, sigma1, sigma2 } => {
                LayerPrior::ScaleMixture(*pi, *sigma1, *sigma2)
            }
            Prior::Factorised(f) => LayerPrior::Factors(&f[i]),
        }
    }
}

/// ln N(w | 0, σ²), element-wise.
pub fn ln_normal0<const D: usize>(w: Tensor<D>, sigma: f64) -> Tensor<D> {
    w.square()
        .mul_scalar(-0.5 / (sigma * sigma))
        .sub_scalar(sigma.ln() + HALF_LN_2PI)
}

/// Blundell et al. (2015) eq. (7), element-wise and stable:
/// ln[π N(w | 0, σ1²) + (1 − π) N(w | 0, σ2²)] = m + ln(e^{a−m} + e^{b−m}).
pub fn ln_scale_mixture<const D: usize>(w: Tensor<D>, pi: f64, s1: f64, s2: f64) -> Tensor<D> {
    let a = ln_normal0(w.clone(), s1).add_scalar(pi.ln());
    let b = ln_normal0(w, s2).add_scalar((1.0 - pi).ln());
    let m = a.clone().max_pair(b.clone());
    let s = (a - m.clone()).exp() + (b - m.clone()).exp();
    m + s.log()
}
