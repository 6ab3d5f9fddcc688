//! The dynamics BNN's posterior q(θ; φ), φ = (μ, ρ), copied to the host in
//! f64, and the per-transition information gain computed there.
//!
//! Why on the host: VIME needs one gradient of ℓ(q; s_t) *per transition*
//! (5000 per TRPO batch, each averaged over 10 weight draws). In burn every
//! such gradient is a separate graph of a few dozen tensor operations, and
//! burn's per-operation overhead (DESIGN.md, "burn 0.22: measured facts")
//! would make that tens of seconds per iteration. For an MLP of this size
//! (≈ 250 weights) the forward pass, its backward pass and the diagonal
//! second-order step are a few thousand f64 operations per draw, done here
//! exactly and in parallel over transitions (rayon). The training of the
//! BNN on the replay pool stays in burn ([`super::Dynamics`]).

use elbo_deep::bayes::BayesMlp;
use rand::Rng;
use rand_distr::StandardNormal;

/// σ = ln(1 + e^ρ) (Blundell et al. 2015 §3.2), stable for large |ρ|.
pub fn softplus(rho: f64) -> f64 {
    if rho > 30.0 { rho } else { rho.exp().ln_1p() }
}

/// dσ/dρ = sigmoid(ρ).
pub fn sigmoid(rho: f64) -> f64 {
    1.0 / (1.0 + (-rho).exp())
}

/// One layer's variational parameters, weights row-major `[d_in, d_out]`
/// as in [`elbo_deep::bayes::BayesLinear`].
#[derive(Clone, Debug, PartialEq)]
pub struct HostLayer {
    /// Inputs.
    pub d_in: usize,
    /// Outputs.
    pub d_out: usize,
    /// μ of the weights.
    pub w_mu: Vec<f64>,
    /// ρ of the weights.
    pub w_rho: Vec<f64>,
    /// μ of the biases.
    pub b_mu: Vec<f64>,
    /// ρ of the biases.
    pub b_rho: Vec<f64>,
}

impl HostLayer {
    /// Number of weights and biases.
    pub fn len(&self) -> usize {
        self.d_in * self.d_out + self.d_out
    }

    /// No weights (never for a checked network).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// q(θ; φ) of a ReLU MLP with a Gaussian likelihood N(f(x; θ), σ_y²), in f64.
/// Flat parameter order: for each layer, W then b; μ and ρ in separate
/// vectors of that order.
#[derive(Clone, Debug, PartialEq)]
pub struct HostBnn {
    /// The layers, input first.
    pub layers: Vec<HostLayer>,
    /// Likelihood standard deviation σ_y.
    pub likelihood_sigma: f64,
}

fn host_vec<const D: usize>(t: &elbo_deep::bayes::Tensor<D>) -> Vec<f64> {
    // Float tensors of elbo-deep are f32; `convert` makes the read total.
    t.to_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
        .into_iter()
        .map(f64::from)
        .collect()
}

impl HostBnn {
    /// Copy (μ, ρ) of every layer of `net`.
    pub fn from_net(net: &BayesMlp, likelihood_sigma: f64) -> Self {
        let layers = net
            .layers
            .iter()
            .map(|l| {
                let (d_in, d_out) = l.dims();
                HostLayer {
                    d_in,
                    d_out,
                    w_mu: host_vec(&l.w_mu.val()),
                    w_rho: host_vec(&l.w_rho.val()),
                    b_mu: host_vec(&l.b_mu.val()),
                    b_rho: host_vec(&l.b_rho.val()),
                }
            })
            .collect();
        HostBnn {
            layers,
            likelihood_sigma,
        }
    }

    /// Number of weights and biases.
    pub fn n_params(&self) -> usize {
        self.layers.iter().map(HostLayer::len).sum()
    }

    /// Input size.
    pub fn d_in(&self) -> usize {
        self.layers.first().map_or(0, |l| l.d_in)
    }

    /// Output size.
    pub fn d_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.d_out)
    }

    /// All μ, flat.
    pub fn mu(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.n_params());
        for l in &self.layers {
            v.extend_from_slice(&l.w_mu);
            v.extend_from_slice(&l.b_mu);
        }
        v
    }

    /// All ρ, flat.
    pub fn rho(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.n_params());
        for l in &self.layers {
            v.extend_from_slice(&l.w_rho);
            v.extend_from_slice(&l.b_rho);
        }
        v
    }

    /// The same network with flat (μ, ρ) replaced.
    pub fn with_params(&self, mu: &[f64], rho: &[f64]) -> Self {
        let mut out = self.clone();
        let mut k = 0;
        for l in &mut out.layers {
            let nw = l.w_mu.len();
            let nb = l.b_mu.len();
            l.w_mu.copy_from_slice(&mu[k..k + nw]);
            l.w_rho.copy_from_slice(&rho[k..k + nw]);
            l.b_mu.copy_from_slice(&mu[k + nw..k + nw + nb]);
            l.b_rho.copy_from_slice(&rho[k + nw..k + nw + nb]);
            k += nw + nb;
        }
        out
    }

    /// The diagonal of H⁻¹ at q = q_old, where H is the Hessian of
    /// KL(q ‖ q_old) w.r.t. (μ, ρ) (Houthooft et al. 2016 eq. (16)):
    /// ∂²KL/∂μ² = 1/σ², ∂²KL/∂ρ² = 2 σ'(ρ)²/σ² with σ' = sigmoid(ρ)
    /// (the value of `BayesLinear::kl_hessian_diag` at q = P). Returns
    /// (H⁻¹_μ, H⁻¹_ρ), flat.
    pub fn inverse_kl_hessian(&self) -> (Vec<f64>, Vec<f64>) {
        let rho = self.rho();
        let h_mu = rho.iter().map(|&r| softplus(r).powi(2)).collect();
        let h_rho = rho
            .iter()
            .map(|&r| softplus(r).powi(2) / (2.0 * sigmoid(r).powi(2)))
            .collect();
        (h_mu, h_rho)
    }

    /// The Monte-Carlo gradient of the expected negative log-likelihood
    /// −E_q[ln p(y | x, θ)] w.r.t. (μ, ρ), averaged over `noise.len() /
    /// n_params()` weight draws θ = μ + softplus(ρ) ∘ ε (the pathwise
    /// estimator of Blundell et al. 2015 §3.2: ∂/∂μ = g, ∂/∂ρ = g ε σ'(ρ),
    /// g = ∂(−ln p)/∂θ by backpropagation). `noise` holds the draws one
    /// after another in the flat order. Adds into (`g_mu`, `g_rho`) and
    /// returns the mean negative log-likelihood (without the constant).
    ///
    /// # Panics
    /// When `x`, `y` or `noise` have the wrong length (a caller bug).
    pub fn nll_grad(
        &self,
        x: &[f64],
        y: &[f64],
        noise: &[f64],
        g_mu: &mut [f64],
        g_rho: &mut [f64],
    ) -> f64 {
        let p = self.n_params();
        assert!(
            p > 0 && noise.len().is_multiple_of(p),
            "noise of {} values",
            noise.len()
        );
        assert_eq!(x.len(), self.d_in(), "input length");
        assert_eq!(y.len(), self.d_out(), "target length");
        let samples = noise.len() / p;
        let inv_s = 1.0 / samples as f64;
        let inv_var = 1.0 / (self.likelihood_sigma * self.likelihood_sigma);
        let rho = self.rho();
        let sp: Vec<f64> = rho.iter().map(|&r| softplus(r)).collect();
        let sg: Vec<f64> = rho.iter().map(|&r| sigmoid(r)).collect();
        // Per-layer sampled weights, activations, and the backward signal.
        let mut w: Vec<Vec<f64>> = self.layers.iter().map(|l| vec![0.0; l.len()]).collect();
        let mut acts: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len() + 1);
        let mut nll = 0.0;
        for s in 0..samples {
            let eps = &noise[s * p..(s + 1) * p];
            // SAMPLE θ = μ + σ ε
            let mut k = 0;
            for (l, wl) in self.layers.iter().zip(w.iter_mut()) {
                let nw = l.w_mu.len();
                for j in 0..nw {
                    wl[j] = l.w_mu[j] + sp[k + j] * eps[k + j];
                }
                for j in 0..l.d_out {
                    wl[nw + j] = l.b_mu[j] + sp[k + nw + j] * eps[k + nw + j];
                }
                k += l.len();
            }
            // FORWARD: h_{l+1} = relu(h_l W_l + b_l), no relu on the last
            acts.clear();
            acts.push(x.to_vec());
            let last = self.layers.len() - 1;
            for (li, (l, wl)) in self.layers.iter().zip(&w).enumerate() {
                let h = &acts[li];
                let mut out = wl[l.d_in * l.d_out..].to_vec();
                for (i, &hi) in h.iter().enumerate() {
                    if hi != 0.0 {
                        let row = &wl[i * l.d_out..(i + 1) * l.d_out];
                        for (o, r) in out.iter_mut().zip(row) {
                            *o += hi * r;
                        }
                    }
                }
                if li < last {
                    out.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                acts.push(out);
            }
            // LOSS −ln p = Σ (f − y)² / (2σ_y²) + const; δ = (f − y)/σ_y²
            let f = &acts[self.layers.len()];
            let mut delta: Vec<f64> = f.iter().zip(y).map(|(a, b)| (a - b) * inv_var).collect();
            nll += f
                .iter()
                .zip(y)
                .map(|(a, b)| 0.5 * (a - b) * (a - b) * inv_var)
                .sum::<f64>();
            // BACKWARD, layer by layer from the output
            let mut offset = p;
            for li in (0..self.layers.len()).rev() {
                let l = &self.layers[li];
                offset -= l.len();
                let h = &acts[li];
                let wl = &w[li];
                let eps_l = &eps[offset..offset + l.len()];
                let nw = l.w_mu.len();
                for (i, &hi) in h.iter().enumerate() {
                    for (o, &d) in delta.iter().enumerate() {
                        let j = i * l.d_out + o;
                        let g = hi * d * inv_s;
                        g_mu[offset + j] += g;
                        g_rho[offset + j] += g * eps_l[j] * sg[offset + j];
                    }
                }
                for (o, &d) in delta.iter().enumerate() {
                    let g = d * inv_s;
                    g_mu[offset + nw + o] += g;
                    g_rho[offset + nw + o] += g * eps_l[nw + o] * sg[offset + nw + o];
                }
                if li > 0 {
                    // δ_{l−1} = (W_l δ_l) ∘ 1[h_l > 0] (h_l = relu output)
                    let mut prev = vec![0.0; l.d_in];
                    for (i, pv) in prev.iter_mut().enumerate() {
                        if h[i] > 0.0 {
                            let row = &wl[i * l.d_out..(i + 1) * l.d_out];
                            *pv = row.iter().zip(&delta).map(|(a, b)| a * b).sum();
                        }
                    }
                    delta = prev;
                }
            }
        }
        nll * inv_s
    }

    /// Draw `samples` weight-noise vectors ε ~ N(0, I), flat.
    pub fn draw_noise(&self, samples: usize, rng: &mut impl Rng) -> Vec<f64> {
        (0..samples * self.n_params())
            .map(|_| rng.sample(StandardNormal))
            .collect()
    }

    /// The information gain of one transition (x, y) by the paper's
    /// second-order step (Houthooft et al. 2016 eqs. (16)–(17)): with
    /// ℓ(q) = KL(q ‖ q_old) − E_q[ln p(y | x, θ)] and ∇ℓ at q = q_old (where
    /// the KL's gradient vanishes, so ∇ℓ = −∇E_q[ln p]), one step
    /// Δφ = −λ H⁻¹ ∇ℓ gives KL(q_new ‖ q_old) ≈ ½ Δφᵀ H Δφ =
    /// ½ λ² ∇ℓᵀ H⁻¹ ∇ℓ, H the diagonal Hessian of the KL
    /// ([`inverse_kl_hessian`](Self::inverse_kl_hessian)). `noise` as in
    /// [`nll_grad`](Self::nll_grad).
    pub fn info_gain_second_order(
        &self,
        x: &[f64],
        y: &[f64],
        noise: &[f64],
        step_size: f64,
        h_inv: &(Vec<f64>, Vec<f64>),
    ) -> f64 {
        let p = self.n_params();
        let (mut g_mu, mut g_rho) = (vec![0.0; p], vec![0.0; p]);
        self.nll_grad(x, y, noise, &mut g_mu, &mut g_rho);
        let quad: f64 = g_mu
            .iter()
            .zip(&h_inv.0)
            .map(|(g, h)| g * g * h)
            .chain(g_rho.iter().zip(&h_inv.1).map(|(g, h)| g * g * h))
            .sum();
        0.5 * step_size * step_size * quad
    }

    /// The exact few-step update KL, for checking the second-order
    /// approximation: copy q_old, take `steps` steps
    /// φ ← φ − λ H⁻¹ ∇ℓ(φ) on the one transition (H at q_old, as the paper's
    /// step; ∇ℓ including the gradient of KL(q ‖ q_old), which is zero only
    /// at the first step), then KL(q' ‖ q_old) in closed form
    /// ([`kl_to`](Self::kl_to)). The same `noise` is used at every step
    /// (common random numbers, so one step reproduces the second-order
    /// formula's gradient exactly). Returns (KL, q').
    pub fn info_gain_exact(
        &self,
        x: &[f64],
        y: &[f64],
        noise: &[f64],
        step_size: f64,
        steps: usize,
    ) -> (f64, HostBnn) {
        let p = self.n_params();
        let h_inv = self.inverse_kl_hessian();
        let (mu0, rho0) = (self.mu(), self.rho());
        let (mut mu, mut rho) = (mu0.clone(), rho0.clone());
        let mut q = self.clone();
        for _ in 0..steps {
            let (mut g_mu, mut g_rho) = (vec![0.0; p], vec![0.0; p]);
            q.nll_grad(x, y, noise, &mut g_mu, &mut g_rho);
            // ∇ KL(q ‖ q_old): (μ − μ₀)/σ₀² and (−1/σ + σ/σ₀²) σ'(ρ)
            for k in 0..p {
                let s0 = softplus(rho0[k]);
                let s = softplus(rho[k]);
                g_mu[k] += (mu[k] - mu0[k]) / (s0 * s0);
                g_rho[k] += (-1.0 / s + s / (s0 * s0)) * sigmoid(rho[k]);
            }
            for k in 0..p {
                mu[k] -= step_size * h_inv.0[k] * g_mu[k];
                rho[k] -= step_size * h_inv.1[k] * g_rho[k];
            }
            q = self.with_params(&mu, &rho);
        }
        (q.kl_to(self), q)
    }

    /// KL(q ‖ q_other) between two factorised Gaussians of the same shape,
    /// in closed form: Σ ln(σ₀/σ) + (σ² + (μ − μ₀)²)/(2σ₀²) − ½
    /// (Houthooft et al. 2016 eq. (12)'s KL, Blundell et al. 2015's closed
    /// form). Each term is written as ½(r − 1 − ln r) + (μ − μ₀)²/(2σ₀²),
    /// r = σ²/σ₀², to keep tiny KLs accurate.
    pub fn kl_to(&self, other: &HostBnn) -> f64 {
        let (mu, rho, mu0, rho0) = (self.mu(), self.rho(), other.mu(), other.rho());
        let mut kl = 0.0;
        for k in 0..mu.len() {
            let (s, s0) = (softplus(rho[k]), softplus(rho0[k]));
            let r = (s / s0).powi(2);
            // r − 1 − ln r, accurate near r = 1 through ln_1p
            let u = r - 1.0;
            kl += 0.5 * (u - u.ln_1p()) + (mu[k] - mu0[k]).powi(2) / (2.0 * s0 * s0);
        }
        kl
    }

    /// The posterior-mean prediction f(x; μ).
    pub fn predict_mean(&self, x: &[f64]) -> Vec<f64> {
        let mut h = x.to_vec();
        let last = self.layers.len() - 1;
        for (li, l) in self.layers.iter().enumerate() {
            let mut out = l.b_mu.clone();
            for (i, &hi) in h.iter().enumerate() {
                for (o, v) in out.iter_mut().enumerate() {
                    *v += hi * l.w_mu[i * l.d_out + o];
                }
            }
            if li < last {
                out.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            h = out;
        }
        h
    }
}
