//! The network and the bounds: encoder, decoder, log-likelihoods, the ELBO
//! (pathwise and score-function), the importance-weighted bound, and the
//! closed-form Gaussian KL.
//!
//! Every bound is written to use as few tensor operations per step as the
//! maths allows (burn's CPU backend pays per operation, DESIGN.md): one
//! concatenated encoder head for μ and log σ², noise and the data's
//! complements prepared on the host, the KL fused into one expression, and
//! one host synchronisation per step for the reported numbers.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{log_sigmoid, relu, sigmoid, tanh};
use burn::tensor::{Device, Tensor, TensorData};

use super::config::{Activation, Likelihood, VaeConfig};
use crate::{Error, Result};

/// ln 2π.
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Encoder q_φ(z|x) and decoder p_θ(x|z) as mirrored MLPs (Kingma & Welling
/// 2014 appendix C). Built by [`VaeConfig::init`].
#[derive(Module, Debug)]
pub struct Vae {
    /// Encoder hidden layers D → h_1 → … → h_m.
    pub encoder: Vec<Linear>,
    /// The concatenated head h_m → 2L: columns 0..L are μ, L..2L are log σ².
    pub head: Linear,
    /// Decoder hidden layers L → h_m → … → h_1.
    pub decoder: Vec<Linear>,
    /// Decoder output h_1 → D: Bernoulli logits or Gaussian means.
    pub out: Linear,
    /// Gaussian decoder only: one log variance per pixel.
    pub log_var_x: Option<Param<Tensor<1>>>,
    /// The architecture (not a parameter).
    #[module(skip)]
    pub config: VaeConfig,
}

impl VaeConfig {
    /// A freshly initialised network on `device` (PyTorch's default
    /// uniform(±1/√fan_in) initialisation, burn's `LinearConfig` default).
    pub fn init(&self, device: &Device) -> Result<Vae> {
        self.check()?;
        let d = self.input();
        let l = self.latent();
        let hidden = self.hidden();
        let mut encoder = Vec::with_capacity(hidden.len());
        let mut prev = d;
        for &h in hidden {
            encoder.push(LinearConfig::new(prev, h).init(device));
            prev = h;
        }
        let head = LinearConfig::new(prev, 2 * l).init(device);
        let mut decoder = Vec::with_capacity(hidden.len());
        let mut prev = l;
        for &h in hidden.iter().rev() {
            decoder.push(LinearConfig::new(prev, h).init(device));
            prev = h;
        }
        let out = LinearConfig::new(prev, d).init(device);
        let log_var_x = match self.likelihood {
            Likelihood::Bernoulli => None,
            Likelihood::Gaussian => Some(Param::from_tensor(Tensor::zeros([d], device))),
        };
        Ok(Vae {
            encoder,
            head,
            decoder,
            out,
            log_var_x,
            config: self.clone(),
        })
    }
}

/// A minibatch prepared on the host: the pixels, repeated `k` times
/// (sample-major: row s·B + b is data point b), and for the Bernoulli
/// likelihood their complements 1 − x.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Data points B.
    pub n: usize,
    /// Samples per data point k.
    pub k: usize,
    /// `[B, D]`: the encoder's input.
    pub x: Tensor<2>,
    /// `[k·B, D]`: x repeated k times (the decoder's targets).
    pub x_rep: Tensor<2>,
    /// `[k·B, D]`: 1 − x repeated (Bernoulli only).
    pub one_minus_x_rep: Option<Tensor<2>>,
}

impl Batch {
    /// Build from `n` rows of `d` pixels.
    pub fn new(
        pixels: &[f32],
        n: usize,
        d: usize,
        k: usize,
        likelihood: Likelihood,
        device: &Device,
    ) -> Self {
        assert_eq!(pixels.len(), n * d, "batch of {n}×{d} pixels");
        let x = Tensor::<2>::from_data(TensorData::new(pixels.to_vec(), [n, d]), device);
        let (x_rep, one_minus_x_rep) = if k == 1 {
            let omx = (likelihood == Likelihood::Bernoulli).then(|| {
                let v: Vec<f32> = pixels.iter().map(|&p| 1.0 - p).collect();
                Tensor::<2>::from_data(TensorData::new(v, [n, d]), device)
            });
            (x.clone(), omx)
        } else {
            let mut rep = Vec::with_capacity(k * n * d);
            for _ in 0..k {
                rep.extend_from_slice(pixels);
            }
            let omx = (likelihood == Likelihood::Bernoulli).then(|| {
                let v: Vec<f32> = rep.iter().map(|&p| 1.0 - p).collect();
                Tensor::<2>::from_data(TensorData::new(v, [k * n, d]), device)
            });
            (
                Tensor::<2>::from_data(TensorData::new(rep, [k * n, d]), device),
                omx,
            )
        };
        Self {
            n,
            k,
            x,
            x_rep,
            one_minus_x_rep,
        }
    }
}

/// Standard-normal noise ε for k samples of B points, drawn on the host
/// (so that runs are reproducible from the seed whatever the device).
#[derive(Debug, Clone)]
pub struct Noise {
    /// `[k·B, L]`.
    pub eps: Tensor<2>,
    /// `[k·B, 1]`: Σ_l ε_l², for log q(z|x) of a reparameterised z.
    pub eps_sq: Tensor<2>,
}

impl Noise {
    /// Wrap host draws `eps` (`rows × l`, row-major).
    pub fn new(eps: Vec<f32>, rows: usize, l: usize, device: &Device) -> Self {
        assert_eq!(eps.len(), rows * l, "noise of {rows}×{l}");
        let sq: Vec<f32> = eps
            .chunks(l)
            .map(|r| r.iter().map(|e| e * e).sum())
            .collect();
        Self {
            eps: Tensor::from_data(TensorData::new(eps, [rows, l]), device),
            eps_sq: Tensor::from_data(TensorData::new(sq, [rows, 1]), device),
        }
    }

    /// Draw `rows × l` standard normals from `rng`.
    pub fn draw<R: rand::Rng + ?Sized>(
        rng: &mut R,
        rows: usize,
        l: usize,
        device: &Device,
    ) -> Self {
        let eps: Vec<f32> = (0..rows * l)
            .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
            .collect();
        Self::new(eps, rows, l, device)
    }
}

/// What one step of a bound computed: the loss to differentiate and the
/// numbers to report, fetched in one synchronisation by [`Step::report`].
#[derive(Debug)]
pub struct Step {
    /// The scalar to minimise, `[1]`.
    pub loss: Tensor<1>,
    /// Values to report, summed over the batch: `[bound, recon, kl]` for
    /// the ELBO, `[bound]` for IWAE.
    pub parts: Tensor<1>,
    /// Data points in the batch.
    pub n: usize,
}

/// The reported numbers of a step, per data point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The bound (ELBO or L_k) per data point, in nats.
    pub bound: f64,
    /// E_q[log p(x|z)] per data point (ELBO only).
    pub recon: Option<f64>,
    /// KL(q(z|x) ‖ p(z)) per data point (ELBO only).
    pub kl: Option<f64>,
}

impl Step {
    /// Fetch the reported numbers (one host synchronisation).
    pub fn report(&self) -> Result<StepReport> {
        let v = to_vec(self.parts.clone())?;
        let n = self.n as f64;
        Ok(StepReport {
            bound: f64::from(v[0]) / n,
            recon: v.get(1).map(|&r| f64::from(r) / n),
            kl: v.get(2).map(|&r| f64::from(r) / n),
        })
    }
}

/// A tensor's values as a host vector.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Shape(format!("reading a tensor: {e:?}")))
}

impl Vae {
    /// A copy without autodiff (burn's `valid()`), for evaluation.
    pub fn plain(&self) -> Vae {
        self.valid()
    }

    /// Number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        self.num_params()
    }

    fn act(&self, t: Tensor<2>) -> Tensor<2> {
        match self.config.activation {
            Activation::Tanh => tanh(t),
            Activation::Relu => relu(t),
        }
    }

    /// The encoder: μ_φ(x) and log σ²_φ(x) (Kingma & Welling 2014 eq. (12)
    /// with one concatenated output layer).
    ///
    /// # Shapes
    /// x `[B, D]` → (μ `[B, L]`, log σ² `[B, L]`)
    pub fn encode(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let mut h = x; // [B, D]
        for layer in &self.encoder {
            h = self.act(layer.forward(h)); // [B, h_i]
        }
        let head = self.head.forward(h); // [B, 2L]
        let [b, two_l] = head.dims();
        let l = two_l / 2;
        let mu = head.clone().slice([0..b, 0..l]); // [B, L]
        let log_var = head.slice([0..b, l..two_l]); // [B, L]
        (mu, log_var)
    }

    /// The decoder's output: Bernoulli logits or Gaussian means.
    ///
    /// # Shapes
    /// z `[N, L]` → `[N, D]`
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let mut h = z; // [N, L]
        for layer in &self.decoder {
            h = self.act(layer.forward(h)); // [N, h_i]
        }
        self.out.forward(h) // [N, D]
    }

    /// The decoder's mean E[x|z] (pixel probabilities σ(l) or Gaussian
    /// means), for pictures.
    pub fn decode_mean(&self, z: Tensor<2>) -> Tensor<2> {
        let out = self.decode(z);
        match self.config.likelihood {
            Likelihood::Bernoulli => sigmoid(out),
            Likelihood::Gaussian => out,
        }
    }

    /// log p_θ(x|z) per row, `[N, 1]`, for decoder output `out` `[N, D]`
    /// against the batch's repeated targets.
    ///
    /// Bernoulli (Kingma & Welling 2014 appendix C.1, stable in the
    /// logits): x·l − softplus(l) = log σ(l) − (1 − x)·l.
    /// Gaussian (appendix C.2): −½ Σ_d [ln 2π + s_d + (x_d − m_d)² e^{−s_d}].
    pub fn log_px_rows(&self, out: Tensor<2>, batch: &Batch) -> Tensor<2> {
        self.log_px_terms(out, batch)
            .sum_dim(1) // [N, 1]
            .add_scalar(self.log_px_constant())
    }

    /// Σ over rows and pixels of log p_θ(x|z), `[1]`.
    pub fn log_px_sum(&self, out: Tensor<2>, batch: &Batch) -> Tensor<1> {
        let rows = out.dims()[0] as f64;
        self.log_px_terms(out, batch)
            .sum()
            .add_scalar(self.log_px_constant() * rows)
    }

    /// The per-pixel part of log p(x|z) that depends on the output.
    fn log_px_terms(&self, out: Tensor<2>, batch: &Batch) -> Tensor<2> {
        match (&self.log_var_x, &batch.one_minus_x_rep) {
            (None, Some(omx)) => log_sigmoid(out.clone()) - omx.clone() * out,
            (None, None) => {
                // A Bernoulli batch built without complements: 3 more ops.
                let omx = batch.x_rep.clone().neg().add_scalar(1.0);
                log_sigmoid(out.clone()) - omx * out
            }
            (Some(s), _) => {
                let prec = s.val().neg().exp().unsqueeze::<2>(); // [1, D]
                let s_row = s.val().unsqueeze::<2>(); // [1, D]
                ((batch.x_rep.clone() - out).square() * prec + s_row).mul_scalar(-0.5)
            }
        }
    }

    /// The constant of log p(x|z) per row (−D/2 ln 2π for the Gaussian).
    fn log_px_constant(&self) -> f64 {
        match self.config.likelihood {
            Likelihood::Bernoulli => 0.0,
            Likelihood::Gaussian => -0.5 * self.config.input() as f64 * LN_2PI,
        }
    }

    /// z = μ + σ ⊙ ε for k samples (Kingma & Welling 2014 eq. (10), the
    /// reparameterisation), sample-major `[k·B, L]`; also returns σ repeated.
    fn reparameterise(
        &self,
        mu: Tensor<2>,
        log_var: Tensor<2>,
        noise: &Noise,
        k: usize,
    ) -> Tensor<2> {
        let std = log_var.mul_scalar(0.5).exp(); // [B, L]
        if k == 1 {
            mu + std * noise.eps.clone()
        } else {
            mu.repeat_dim(0, k) + std.repeat_dim(0, k) * noise.eps.clone() // [kB, L]
        }
    }

    /// The ELBO with pathwise gradients, from an encoder output (μ, log σ²)
    /// — the amortised q_φ(z|x) or a free per-datapoint q_i.
    ///
    /// Kingma & Welling (2014) eq. (10):
    /// L = −KL(q(z|x) ‖ p(z)) + (1/k) Σ_s log p(x|z_s), with the KL in closed
    /// form (eq. (10)'s first term, [`kl_elementwise`]). The loss is
    /// −(recon − β·KL̃)/B where KL̃ is the KL or, with free bits λ,
    /// Σ_d max(λ, mean_b KL_bd)·B (Kingma et al. 2016 eq. (15)).
    pub fn elbo_from_q(
        &self,
        mu: Tensor<2>,
        log_var: Tensor<2>,
        batch: &Batch,
        noise: &Noise,
        beta: f64,
        free_bits: f64,
    ) -> Step {
        let k = batch.k;
        let n = batch.n;
        let z = self.reparameterise(mu.clone(), log_var.clone(), noise, k); // [kB, L]
        let out = self.decode(z); // [kB, D]
        let recon = self.log_px_sum(out, batch).div_scalar(k as f64); // [1]
        let kl_el = kl_elementwise(mu, log_var); // [B, L]
        let kl = kl_el.clone().sum(); // [1]
        let kl_term = if free_bits > 0.0 {
            kl_el
                .mean_dim(0)
                .clamp_min(free_bits)
                .sum()
                .mul_scalar(n as f64)
        } else {
            kl.clone()
        };
        let loss = (kl_term.mul_scalar(beta) - recon.clone()).div_scalar(n as f64);
        let bound = recon.clone() - kl.clone();
        Step {
            loss,
            parts: Tensor::cat(vec![bound, recon, kl], 0).detach(),
            n,
        }
    }

    /// The ELBO with pathwise gradients for the batch (amortised encoder).
    pub fn elbo_pathwise(&self, batch: &Batch, noise: &Noise, beta: f64, free_bits: f64) -> Step {
        let (mu, log_var) = self.encode(batch.x.clone());
        self.elbo_from_q(mu, log_var, batch, noise, beta, free_bits)
    }

    /// The ELBO with score-function (REINFORCE) gradients for the encoder.
    ///
    /// z is sampled and detached; the surrogate
    /// (1/k) Σ_s [log p(x|z_s) + (log p(x|z_s) − b)·(log q(z_s|x) − ⊥log q(z_s|x))] − β KL
    /// has the ELBO as its value (the bracket's second term is zero) and
    /// as its gradient the decoder's pathwise gradient plus the encoder's
    /// score-function estimate E[(log p(x|z) − b) ∇_φ log q_φ(z|x)] − β∇_φ KL
    /// (the analytic KL keeps its exact gradient). `baseline` b is a
    /// control variate: any constant keeps the estimate unbiased.
    pub fn elbo_score(
        &self,
        batch: &Batch,
        noise: &Noise,
        beta: f64,
        free_bits: f64,
        baseline: f64,
    ) -> Step {
        let k = batch.k;
        let n = batch.n;
        let (mu, log_var) = self.encode(batch.x.clone());
        let (mu_r, lv_r) = if k == 1 {
            (mu.clone(), log_var.clone())
        } else {
            (
                mu.clone().repeat_dim(0, k),
                log_var.clone().repeat_dim(0, k),
            )
        };
        let z = (mu_r.clone() + lv_r.clone().mul_scalar(0.5).exp() * noise.eps.clone()).detach();
        let out = self.decode(z.clone()); // [kB, D]
        let log_px = self.log_px_rows(out, batch); // [kB, 1]
        // log q(z|x) up to its constant: −½ Σ_l [(z − μ)² e^{−s} + s].
        let log_q = ((z - mu_r).square() * lv_r.clone().neg().exp() + lv_r)
            .sum_dim(1)
            .mul_scalar(-0.5); // [kB, 1]
        let signal = log_px.clone().detach().sub_scalar(baseline); // [kB, 1]
        let score = (signal * (log_q.clone() - log_q.detach())).sum(); // [1], value 0
        let recon = log_px.sum().div_scalar(k as f64);
        let kl_el = kl_elementwise(mu, log_var);
        let kl = kl_el.clone().sum();
        let kl_term = if free_bits > 0.0 {
            kl_el
                .mean_dim(0)
                .clamp_min(free_bits)
                .sum()
                .mul_scalar(n as f64)
        } else {
            kl.clone()
        };
        let surrogate = recon.clone() + score.div_scalar(k as f64) - kl_term.mul_scalar(beta);
        let bound = recon.clone() - kl.clone();
        Step {
            loss: surrogate.neg().div_scalar(n as f64),
            parts: Tensor::cat(vec![bound, recon, kl], 0).detach(),
            n,
        }
    }

    /// log w_s = log p(x, z_s) − log q(z_s|x) for z_s = μ + σ ε_s, `[k·B, 1]`
    /// (sample-major), from an encoder output.
    ///
    /// With the reparameterised z the Gaussian constants cancel:
    /// log p(z) − log q(z|x) = ½ Σ_l (ε_l² − z_l² + log σ²_l).
    pub fn log_weights_from_q(
        &self,
        mu: Tensor<2>,
        log_var: Tensor<2>,
        batch: &Batch,
        noise: &Noise,
    ) -> Tensor<2> {
        let k = batch.k;
        let lv_sum = log_var.clone().sum_dim(1); // [B, 1]
        let lv_sum = if k == 1 {
            lv_sum
        } else {
            lv_sum.repeat_dim(0, k)
        }; // [kB, 1]
        let z = self.reparameterise(mu, log_var, noise, k); // [kB, L]
        let z_sq = z.clone().square().sum_dim(1); // [kB, 1]
        let out = self.decode(z); // [kB, D]
        self.log_px_rows(out, batch) + (noise.eps_sq.clone() - z_sq + lv_sum).mul_scalar(0.5)
    }

    /// The importance-weighted bound (Burda et al. 2016 eq. (8)):
    /// L_k = log (1/k) Σ_s w_s, computed as a log-sum-exp shifted by the
    /// (detached) maximum, per data point, summed over the batch.
    pub fn iwae(&self, batch: &Batch, noise: &Noise) -> Step {
        let (mu, log_var) = self.encode(batch.x.clone());
        let log_w = self.log_weights_from_q(mu, log_var, batch, noise); // [kB, 1]
        let bound = log_mean_exp_samples(log_w, batch.k, batch.n).sum(); // [1]
        Step {
            loss: bound.clone().neg().div_scalar(batch.n as f64),
            parts: bound.detach(),
            n: batch.n,
        }
    }
}

/// log (1/k) Σ_s exp(a_s) over the k samples of each of n points, for
/// sample-major `[k·n, 1]` input; `[n]` out. Stable: shifted by the
/// detached maximum (Burda et al. 2016 §3: the gradient is the
/// normalised-weight average, which the shift leaves unchanged).
pub fn log_mean_exp_samples(log_w: Tensor<2>, k: usize, n: usize) -> Tensor<1> {
    let lw = log_w.reshape([k, n]); // [k, n]
    let m = lw.clone().max_dim(0).detach(); // [1, n]
    let lse = (lw - m.clone()).exp().sum_dim(0).log() + m; // [1, n]
    lse.sub_scalar((k as f64).ln()).reshape([n])
}

/// KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension (Kingma & Welling 2014
/// appendix B): −½ (1 + log σ² − μ² − σ²), elementwise `[B, L]`.
pub fn kl_elementwise(mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<2> {
    (mu.square() + log_var.clone().exp() - log_var)
        .sub_scalar(1.0)
        .mul_scalar(0.5)
}

/// The same KL on the host, in f64, for one dimension.
pub fn kl_gaussian(mu: f64, log_var: f64) -> f64 {
    0.5 * (mu * mu + log_var.exp() - 1.0 - log_var)
}
