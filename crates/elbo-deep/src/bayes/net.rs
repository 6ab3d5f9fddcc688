//! `BayesMlp`: a stack of [`BayesLinear`] layers with ReLU between them, the
//! minibatch objective of Blundell et al. (2015) eq. (8)–(9), and the
//! posterior-as-prior update.

use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::linear::{BayesLinear, BayesLinearConfig, LayerDiag, softplus};
use super::prior::{GaussianFactors, HALF_LN_2PI, Prior};
use crate::parallel::{Rows, noise_rows};
use crate::{Error, Result};

/// How a forward pass treats the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Use the means μ (a plain network; the "mean" prediction).
    Mean,
    /// One weight draw per forward pass, shared by the minibatch
    /// (Blundell et al. 2015 §3.2).
    Weights,
    /// The local reparameterisation trick: pre-activations drawn per
    /// example (Kingma et al. 2015 §2.3).
    Local,
}

/// The observation model p(y | x, w).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// y ~ N(f(x; w), σ²) with σ known.
    Gaussian {
        /// Noise standard deviation σ > 0.
        sigma: f64,
    },
    /// y ~ N(f(x; w), σ²) with ln σ a point-estimated parameter of the
    /// network (`BayesMlp::log_noise`, type-II maximum likelihood).
    GaussianLearnt,
    /// y ~ Categorical(softmax f(x; w)); targets are one-hot rows.
    Categorical,
}

/// The weight π_i of the KL in minibatch i of M (Blundell et al. 2015 §3.4,
/// eq. (9)): Σ_i π_i = 1, so the epoch's sum is the full bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlWeighting {
    /// π_i = 1/M.
    Uniform,
    /// π_i = 2^{M−i} / (2^M − 1): the prior dominates the first minibatches,
    /// the data the later ones.
    Blundell,
}

impl KlWeighting {
    /// π_i for minibatch `i` (1-based) of `m`. Written as
    /// 2^{−i} / (1 − 2^{−M}) so that M beyond 1023 does not overflow.
    pub fn weight(self, i: usize, m: usize) -> f64 {
        match self {
            KlWeighting::Uniform => 1.0 / m as f64,
            KlWeighting::Blundell => {
                let num = 2f64.powi(-(i.min(1100) as i32));
                let den = 1.0 - 2f64.powi(-(m.min(1100) as i32));
                num / den
            }
        }
    }
}

/// The configuration of a [`BayesMlp`]: layer sizes (input first, output
/// last), initial ρ and the gain of the initial means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BayesMlpConfig {
    /// `[d_input, hidden…, d_output]`, at least two entries.
    pub sizes: Vec<usize>,
    /// Initial ρ of every weight.
    pub rho_init: f64,
    /// Gain of the initial means (√2 suits ReLU).
    pub mu_gain: f64,
}

impl BayesMlpConfig {
    /// A network with these sizes, ρ = −5 and gain √2.
    pub fn new(sizes: Vec<usize>) -> Self {
        Self {
            sizes,
            rho_init: -5.0,
            mu_gain: std::f64::consts::SQRT_2,
        }
    }

    /// Set the initial ρ.
    pub fn with_rho_init(mut self, rho: f64) -> Self {
        self.rho_init = rho;
        self
    }

    /// Check: at least input and output, every size ≥ 1.
    pub fn check(&self) -> Result<()> {
        if self.sizes.len() < 2 || self.sizes.contains(&0) {
            return Err(Error::invalid(
                "layer sizes",
                format!("{:?}", self.sizes),
                "at least [input, output], every size >= 1",
            ));
        }
        for w in self.sizes.windows(2) {
            self.layer(w[0], w[1]).check()?;
        }
        Ok(())
    }

    fn layer(&self, i: usize, o: usize) -> BayesLinearConfig {
        BayesLinearConfig::new(i, o)
            .with_rho_init(self.rho_init)
            .with_mu_gain(self.mu_gain)
    }

    /// The network on `device` after [`check`](Self::check).
    pub fn init(&self, device: &Device) -> Result<BayesMlp> {
        self.check()?;
        Ok(BayesMlp {
            layers: self
                .sizes
                .windows(2)
                .map(|w| self.layer(w[0], w[1]).init(device))
                .collect(),
            log_noise: Param::from_tensor(Tensor::zeros([1], device)),
        })
    }
}

/// A Bayesian multilayer perceptron: [`BayesLinear`] layers, ReLU between
/// them, and a point-estimated log noise scale for
/// [`Likelihood::GaussianLearnt`].
#[derive(Module, Debug)]
pub struct BayesMlp {
    /// The layers, input first.
    pub layers: Vec<BayesLinear>,
    /// ln σ of a learnt Gaussian likelihood, `[1]` (unused otherwise).
    pub log_noise: Param<Tensor<1>>,
}

/// The parts of one minibatch's objective.
#[derive(Debug, Clone)]
pub struct LossParts {
    /// The loss to minimise, F_i = π_i KL − E_q[ln p(D_i | w)]
    /// (Blundell et al. 2015 eq. (8)–(9)), `[1]`.
    pub loss: Tensor<1>,
    /// The KL (or its estimate) of this step, `[1]`.
    pub kl: Tensor<1>,
    /// −ln p(D_i | w) averaged over the weight samples, `[1]`.
    pub nll: Tensor<1>,
}

impl BayesMlp {
    /// The network without autodiff, for prediction (burn's `valid()`).
    pub fn inference(&self) -> BayesMlp {
        self.valid()
    }

    /// σ = exp(ln σ) of [`Likelihood::GaussianLearnt`].
    pub fn noise_sigma(&self) -> f64 {
        super::prior::tensor_vec(&self.log_noise.val())
            .first()
            .map_or(f64::NAN, |&v| (v as f64).exp())
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Number of weights and biases.
    pub fn n_weights(&self) -> usize {
        self.layers.iter().map(BayesLinear::n_weights).sum()
    }

    /// One forward pass. With `dropout = Some(p)` the hidden activations are
    /// zeroed with probability p and scaled by 1/(1 − p) (the dropout
    /// baseline; meant with [`Sampling::Mean`]). Returns the outputs and,
    /// for [`Sampling::Weights`], the weight draws (for the Monte-Carlo KL).
    ///
    /// # Shapes
    /// x `[batch, d_input]` → `[batch, d_output]`.
    pub fn forward(
        &self,
        x: Tensor<2>,
        sampling: Sampling,
        dropout: Option<f64>,
    ) -> (Tensor<2>, Vec<super::linear::WeightSample>) {
        self.forward_in(x, sampling, dropout, None)
    }

    /// [`BayesMlp::forward`] for one replica's rows of a global minibatch
    /// (data-parallel training): per-row noise (local reparameterisation,
    /// dropout masks) is the global batch's at these rows; weight draws are
    /// the same on every replica.
    pub fn forward_in(
        &self,
        x: Tensor<2>,
        sampling: Sampling,
        dropout: Option<f64>,
        rows: Option<Rows>,
    ) -> (Tensor<2>, Vec<super::linear::WeightSample>) {
        let mut h = x;
        let mut draws = Vec::new();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = match sampling {
                Sampling::Mean => layer.forward_mean(h),
                Sampling::Local => layer.forward_local_in(h, rows),
                Sampling::Weights => {
                    let (y, s) = layer.forward_sample(h);
                    draws.push(s);
                    y
                }
            }; // [batch, d_i]
            if i < last {
                h = relu(h);
                if let Some(p) = dropout.filter(|&p| p > 0.0) {
                    let keep = noise_rows(
                        h.dims(),
                        rows,
                        Distribution::Bernoulli(1.0 - p),
                        &h.device(),
                    );
                    h = h * keep.mul_scalar(1.0 / (1.0 - p));
                }
            }
        }
        (h, draws)
    }

    /// A forward pass with the given weight noise ε, one `(w_eps, b_eps)`
    /// per layer (common random numbers). Returns the outputs and the draws.
    ///
    /// # Shapes
    /// x `[batch, d_input]` → `[batch, d_output]`.
    #[track_caller]
    pub fn forward_with_noise(
        &self,
        x: Tensor<2>,
        noise: &[(Tensor<2>, Tensor<1>)],
    ) -> (Tensor<2>, Vec<super::linear::WeightSample>) {
        assert_eq!(noise.len(), self.layers.len(), "one noise pair per layer");
        let mut h = x;
        let mut draws = Vec::new();
        let last = self.layers.len() - 1;
        for (i, (layer, (we, be))) in self.layers.iter().zip(noise).enumerate() {
            let s = layer.sample_with(we.clone(), be.clone());
            h = h.matmul(s.w.clone()) + s.b.clone().unsqueeze(); // [batch, d_i]
            draws.push(s);
            if i < last {
                h = relu(h);
            }
        }
        (h, draws)
    }

    /// KL(q ‖ P) summed over layers: closed form when the prior has one,
    /// otherwise the Monte-Carlo estimate of Blundell et al. (2015) eq. (2)
    /// at `draws` (drawn fresh when `draws` is empty, e.g. after a local
    /// reparameterisation pass).
    pub fn kl(&self, prior: &Prior, draws: &[super::linear::WeightSample]) -> Tensor<1> {
        let mut total: Option<Tensor<1>> = None;
        for (i, layer) in self.layers.iter().enumerate() {
            let lp = prior.layer(i);
            let k = match layer.kl_closed_form(lp) {
                Some(k) => k,
                None => match draws.get(i) {
                    Some(s) => layer.kl_monte_carlo(s, lp),
                    None => layer.kl_monte_carlo(&layer.sample(), lp),
                },
            };
            total = Some(match total {
                Some(t) => t + k,
                None => k,
            });
        }
        // A checked network has at least one layer.
        total.unwrap_or_else(|| Tensor::zeros([1], &self.log_noise.val().device()))
    }

    /// −ln p(y | f) summed over the minibatch.
    ///
    /// # Shapes
    /// f, y `[batch, d_output]` → `[1]`.
    pub fn nll(&self, f: Tensor<2>, y: Tensor<2>, likelihood: Likelihood) -> Tensor<1> {
        let [n, d] = f.dims();
        let count = (n * d) as f64;
        match likelihood {
            Likelihood::Gaussian { sigma } => (f - y)
                .square()
                .sum()
                .mul_scalar(0.5 / (sigma * sigma))
                .add_scalar(count * (sigma.ln() + HALF_LN_2PI)),
            Likelihood::GaussianLearnt => {
                let ln_s = self.log_noise.val(); // [1]
                let inv_var = ln_s.clone().mul_scalar(-2.0).exp();
                ((f - y).square().sum() * inv_var).mul_scalar(0.5)
                    + ln_s.mul_scalar(count).add_scalar(count * HALF_LN_2PI)
            }
            Likelihood::Categorical => -(log_softmax(f, 1) * y).sum(),
        }
    }

    /// The minibatch objective F_i = π_i KL(q ‖ P) − (1/S) Σ_s ln p(D_i | w⁽ˢ⁾)
    /// (Blundell et al. 2015 eq. (8)–(9)), S = `samples` ≥ 1 weight draws.
    /// With `kl_weight = 0` and [`Sampling::Mean`] it is the plain network's
    /// negative log-likelihood.
    #[allow(clippy::too_many_arguments)]
    pub fn loss(
        &self,
        x: Tensor<2>,
        y: Tensor<2>,
        prior: &Prior,
        likelihood: Likelihood,
        sampling: Sampling,
        samples: usize,
        kl_weight: f64,
    ) -> LossParts {
        self.loss_in(x, y, prior, likelihood, sampling, samples, kl_weight, None)
    }

    /// [`BayesMlp::loss`] on one replica's rows of a global minibatch
    /// ([`BayesMlp::forward_in`]); the replicas' losses sum to the global
    /// F_i when each weights the KL by π_i / P.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_in(
        &self,
        x: Tensor<2>,
        y: Tensor<2>,
        prior: &Prior,
        likelihood: Likelihood,
        sampling: Sampling,
        samples: usize,
        kl_weight: f64,
        rows: Option<Rows>,
    ) -> LossParts {
        let samples = if sampling == Sampling::Mean {
            1
        } else {
            samples.max(1)
        };
        let mut nll: Option<Tensor<1>> = None;
        let mut kl: Option<Tensor<1>> = None;
        for _ in 0..samples {
            let (f, draws) = self.forward_in(x.clone(), sampling, None, rows);
            let n = self.nll(f, y.clone(), likelihood);
            nll = Some(match nll {
                Some(t) => t + n,
                None => n,
            });
            // Closed-form KL needs computing once; the MC estimate once per draw.
            if kl_weight > 0.0 && (kl.is_none() || !prior.has_closed_form_kl()) {
                let k = self.kl(prior, &draws);
                kl = Some(match kl {
                    Some(t) => t + k,
                    None => k,
                });
            }
        }
        let device = x.device();
        // samples ≥ 1, so the loop ran and `nll` is set.
        let nll = nll
            .unwrap_or_else(|| Tensor::zeros([1], &device))
            .div_scalar(samples as f64);
        let kl = match kl {
            Some(k) if !prior.has_closed_form_kl() => k.div_scalar(samples as f64),
            Some(k) => k,
            None => Tensor::zeros([1], &device),
        };
        LossParts {
            loss: kl.clone().mul_scalar(kl_weight) + nll.clone(),
            kl,
            nll,
        }
    }

    /// The posterior as the prior for the next data: q(w | θ_{t−1}) becomes
    /// P(w) (the seed's sequential update, p(w | D_{1:t}) ∝
    /// p(D_t | w) p(w | D_{1:t−1}); VIME's q_old). Detached: no gradient
    /// flows into the prior.
    pub fn posterior_as_prior(&self) -> Prior {
        Prior::Factorised(
            self.layers
                .iter()
                .map(|l| {
                    let (ws, bs) = l.sigmas();
                    GaussianFactors {
                        w_mu: l.w_mu.val().detach(),
                        w_sigma: ws.detach(),
                        b_mu: l.b_mu.val().detach(),
                        b_sigma: bs.detach(),
                    }
                })
                .collect(),
        )
    }

    /// The per-layer diagonal Hessians of the closed-form KL(q ‖ P) w.r.t.
    /// (μ, ρ) ([`BayesLinear::kl_hessian_diag`]); `None` for the scale
    /// mixture.
    pub fn kl_hessian_diag(&self, prior: &Prior) -> Option<Vec<LayerDiag>> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| l.kl_hessian_diag(prior.layer(i)))
            .collect()
    }

    /// Signal-to-noise |μ|/σ of every weight (biases excluded), the pruning
    /// score of Blundell et al. (2015) §5.1.
    pub fn signal_to_noise(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.n_weights());
        for l in &self.layers {
            let snr = l.w_mu.val().abs() / softplus(l.w_rho.val());
            out.extend(super::prior::tensor_vec(&snr));
        }
        out
    }

    /// The network with every weight whose |μ|/σ is below `threshold` set to
    /// zero (mean and, through ρ → −∞ … here σ ≈ 0, variance).
    pub fn pruned(&self, threshold: f32) -> BayesMlp {
        let mut out = self.clone();
        for l in out.layers.iter_mut() {
            let mu = l.w_mu.val();
            let snr = mu.clone().abs() / softplus(l.w_rho.val());
            let keep = snr.greater_equal_elem(threshold).float();
            let new_mu = mu * keep.clone();
            let new_rho =
                l.w_rho.val() * keep.clone() + keep.neg().add_scalar(1.0).mul_scalar(-30.0);
            l.w_mu = Param::from_tensor(new_mu.detach());
            l.w_rho = Param::from_tensor(new_rho.detach());
        }
        out
    }
}
