//! Evaluation: the test log-likelihood by importance sampling (Burda et
//! al. 2016 §5, k = 5000), the test ELBO, active units and KL per latent
//! dimension, and the approximation and amortisation gaps (Cremer et al.
//! 2018) from a per-datapoint q_i optimised to convergence.
//!
//! Functions take a model on a plain device (`model.valid()`) unless they
//! optimise (the gaps), and images as `n × d` pixels already binarised
//! where the model is binary ([`binarize_fixed`]).

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::Likelihood;
use super::model::{Batch, Noise, Vae, to_vec};
use crate::data::ImageSet;
use crate::{Error, Result};

/// Stream of the evaluation RNG (the training epochs use 1, 2, …).
const EVAL_STREAM: u64 = 1 << 40;

/// An RNG for evaluation purpose `tag`, independent of training.
pub fn eval_rng(seed: u64, tag: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(EVAL_STREAM + tag);
    rng
}

/// One fixed stochastic binarisation of a test set (each pixel 1 with its
/// grey level as probability), the same for every evaluation of a run.
pub fn binarize_fixed(set: &ImageSet, seed: u64) -> Vec<f32> {
    set.binarize(&mut eval_rng(seed, 0))
}

/// Per data point: the ELBO estimated as the mean of log w over the k
/// samples, and log p̂(x) = log (1/k) Σ_s w_s (Burda et al. 2016 eq. (8),
/// the k-sample importance-sampling estimate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightStats {
    /// (1/k) Σ_s log w_s, per point.
    pub elbo: Vec<f64>,
    /// log (1/k) Σ_s w_s, per point.
    pub log_px: Vec<f64>,
}

/// Mean of a slice.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Stream the k importance weights of each point, in chunks so that at most
/// about `max_rows` decoder rows are alive at once, and accumulate the
/// log-mean-exp and the mean on the host in f64.
///
/// `q` gives (μ, log σ²) `[m, L]` for a chunk of points (`start`, `m`):
/// the amortised encoder, or per-datapoint parameters.
fn weight_stats_with(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    k: usize,
    max_rows: usize,
    rng: &mut ChaCha8Rng,
    q: &dyn Fn(&Tensor<2>, usize, usize) -> (Tensor<2>, Tensor<2>),
) -> Result<WeightStats> {
    let d = model.config.input();
    let l = model.config.latent();
    let device = model.head.weight.val().device();
    if pixels.len() != n * d {
        return Err(Error::Shape(format!(
            "{} pixels for {n} images of {d}",
            pixels.len()
        )));
    }
    let chunk = k.min(max_rows.max(1)); // samples per pass
    let per = (max_rows / chunk).clamp(1, n.max(1)); // points per pass
    let mut out = WeightStats {
        elbo: Vec::with_capacity(n),
        log_px: Vec::with_capacity(n),
    };
    let mut start = 0;
    while start < n {
        let m = per.min(n - start);
        let px = &pixels[start * d..(start + m) * d];
        let x = Tensor::<2>::from_data(TensorData::new(px.to_vec(), [m, d]), &device);
        let (mu, log_var) = q(&x, start, m);
        // Running log-sum-exp (max, scaled sum) and sum per point.
        let mut mx = vec![f64::NEG_INFINITY; m];
        let mut acc = vec![0.0f64; m];
        let mut sum = vec![0.0f64; m];
        let mut done = 0;
        while done < k {
            let s = chunk.min(k - done);
            let batch = Batch::new(px, m, d, s, model.config.likelihood, &device);
            let noise = Noise::draw(rng, s * m, l, &device);
            let lw = to_vec(model.log_weights_from_q(mu.clone(), log_var.clone(), &batch, &noise))?;
            for (r, &w) in lw.iter().enumerate() {
                let i = r % m;
                let w = f64::from(w);
                sum[i] += w;
                if w > mx[i] {
                    acc[i] = acc[i] * (mx[i] - w).exp() + 1.0;
                    mx[i] = w;
                } else {
                    acc[i] += (w - mx[i]).exp();
                }
            }
            done += s;
        }
        for i in 0..m {
            out.elbo.push(sum[i] / k as f64);
            out.log_px.push(mx[i] + acc[i].ln() - (k as f64).ln());
        }
        start += m;
    }
    Ok(out)
}

/// The amortised encoder's weight statistics: log p̂(x) by importance
/// sampling with q_φ(z|x) as proposal and k samples (Burda et al. 2016 §5
/// use k = 5000 for their test log-likelihoods), and the k-sample ELBO.
/// Pass a model on a plain device (`model.valid()`).
pub fn weight_stats(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    k: usize,
    seed: u64,
) -> Result<WeightStats> {
    let mut rng = eval_rng(seed, 1);
    weight_stats_with(
        model,
        pixels,
        n,
        k,
        max_rows(model),
        &mut rng,
        &|x, _, _| model.encode(x.clone()),
    )
}

/// Decoder rows per pass: about 32 MB of f32 per `[rows, D]` tensor.
fn max_rows(model: &Vae) -> usize {
    (8_000_000 / model.config.input().max(1)).max(64)
}

/// Test-set statistics under the amortised posterior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElboStats {
    /// Mean ELBO per point (one sample per point, analytic KL).
    pub elbo: f64,
    /// Mean E_q[log p(x|z)] per point (one sample).
    pub recon: f64,
    /// Mean KL(q(z|x) ‖ p(z)) per point.
    pub kl: f64,
    /// Mean KL per latent dimension (Kingma & Welling 2014 appendix B,
    /// per d).
    pub kl_per_dim: Vec<f64>,
    /// Cov_x(E_q[z_d]) per dimension (Burda et al. 2016 §5.2).
    pub mean_variance: Vec<f64>,
    /// Dimensions with Cov_x(E_q[z_d]) > 10⁻² (Burda et al. 2016 eq. (17)
    /// and the threshold of §5.2).
    pub active_units: usize,
}

/// Burda et al.'s threshold on Cov_x(E_q[z_d]) for an active unit.
pub const ACTIVE_THRESHOLD: f64 = 1e-2;

/// Test ELBO, KL per dimension and active units over `n` images.
/// Pass a model on a plain device (`model.valid()`).
pub fn elbo_stats(model: &Vae, pixels: &[f32], n: usize, seed: u64) -> Result<ElboStats> {
    let d = model.config.input();
    let l = model.config.latent();
    let device = model.head.weight.val().device();
    if pixels.len() != n * d || n == 0 {
        return Err(Error::Shape(format!(
            "{} pixels for {n} images of {d}",
            pixels.len()
        )));
    }
    let mut rng = eval_rng(seed, 2);
    let per = 1000.min(n);
    let (mut bound, mut recon, mut kl) = (0.0, 0.0, 0.0);
    let mut kl_dim = vec![0.0f64; l];
    let mut mu_sum = vec![0.0f64; l];
    let mut mu_sq = vec![0.0f64; l];
    let mut start = 0;
    while start < n {
        let m = per.min(n - start);
        let px = &pixels[start * d..(start + m) * d];
        let batch = Batch::new(px, m, d, 1, model.config.likelihood, &device);
        let noise = Noise::draw(&mut rng, m, l, &device);
        let (mu, log_var) = model.encode(batch.x.clone());
        let step = model.elbo_from_q(mu.clone(), log_var.clone(), &batch, &noise, 1.0, 0.0);
        let parts = to_vec(step.parts)?;
        bound += f64::from(parts[0]);
        recon += f64::from(parts[1]);
        kl += f64::from(parts[2]);
        let mu_h = to_vec(mu)?;
        let lv_h = to_vec(log_var)?;
        for (j, (&a, &b)) in mu_h.iter().zip(&lv_h).enumerate() {
            let c = j % l;
            let (a, b) = (f64::from(a), f64::from(b));
            kl_dim[c] += super::model::kl_gaussian(a, b);
            mu_sum[c] += a;
            mu_sq[c] += a * a;
        }
        start += m;
    }
    let nf = n as f64;
    let mean_variance: Vec<f64> = (0..l)
        .map(|c| (mu_sq[c] / nf - (mu_sum[c] / nf).powi(2)).max(0.0))
        .collect();
    Ok(ElboStats {
        elbo: bound / nf,
        recon: recon / nf,
        kl: kl / nf,
        kl_per_dim: kl_dim.iter().map(|v| v / nf).collect(),
        active_units: mean_variance
            .iter()
            .filter(|&&v| v > ACTIVE_THRESHOLD)
            .count(),
        mean_variance,
    })
}

/// A free Gaussian q_i(z) = N(μ_i, diag exp(s_i)) per data point: the
/// "q_i per x_i" of per-datapoint variational EM, before amortisation.
#[derive(Module, Debug)]
pub struct LocalPosteriors {
    /// μ_i, `[n, L]`.
    pub mu: Param<Tensor<2>>,
    /// log σ²_i, `[n, L]`.
    pub log_var: Param<Tensor<2>>,
}

/// Settings of the per-datapoint optimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapOptions {
    /// Adam learning rate for μ_i, log σ²_i.
    pub lr: f64,
    /// Samples per point per step.
    pub k_train: usize,
    /// Most steps.
    pub max_steps: usize,
    /// Steps per convergence window.
    pub window: usize,
    /// Converged when the window's mean bound rises by less than this
    /// (nats per point).
    pub tol: f64,
    /// Samples per point for the final ELBOs and log p̂(x).
    pub eval_k: usize,
}

impl Default for GapOptions {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            k_train: 10,
            max_steps: 3000,
            window: 100,
            tol: 1e-2,
            eval_k: 5000,
        }
    }
}

/// The decomposition of Cremer et al. (2018) eq. (4)–(5) on a set of
/// points: log p(x) − L[q_φ] = (log p(x) − L[q*]) + (L[q*] − L[q_φ]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gaps {
    /// Points used.
    pub n: usize,
    /// Mean log p̂(x): the larger of the importance-sampling estimates with
    /// q_φ and with q* as proposals, per point.
    pub log_px: f64,
    /// Mean L[q*]: the ELBO of the optimised per-datapoint Gaussians.
    pub elbo_optimal: f64,
    /// Mean L[q_φ]: the ELBO of the amortised encoder.
    pub elbo_amortised: f64,
    /// log p(x) − L[q*]: the approximation gap (the Gaussian family).
    pub approximation_gap: f64,
    /// L[q*] − L[q_φ]: the amortisation gap (one encoder for all x).
    pub amortisation_gap: f64,
    /// Optimisation steps taken.
    pub steps: usize,
    /// Whether the window criterion was met before `max_steps`.
    pub converged: bool,
    /// The settings used.
    pub options: GapOptions,
}

/// Optimise one q_i per point, starting from the encoder's output, with
/// Adam until the bound stops rising; then measure both gaps. `model` must
/// live on a device that records gradients; its weights are not changed.
pub fn gaps(model: &Vae, pixels: &[f32], n: usize, opts: &GapOptions, seed: u64) -> Result<Gaps> {
    let d = model.config.input();
    let l = model.config.latent();
    let device: Device = model.head.weight.val().device();
    if !device.is_autodiff() {
        return Err(Error::Shape(
            "gaps: the model must record gradients (device.autodiff())".into(),
        ));
    }
    if pixels.len() != n * d || n == 0 {
        return Err(Error::Shape(format!(
            "{} pixels for {n} images of {d}",
            pixels.len()
        )));
    }
    let plain = model.valid();
    let plain_device = plain.head.weight.val().device();
    // Amortised q_φ: start point, and its statistics.
    let x_plain = Tensor::<2>::from_data(TensorData::new(pixels.to_vec(), [n, d]), &plain_device);
    let (mu0, lv0) = plain.encode(x_plain);
    let mu0 = to_vec(mu0)?;
    let lv0 = to_vec(lv0)?;
    let mut rng = eval_rng(seed, 3);
    let amortised = weight_stats_with(
        &plain,
        pixels,
        n,
        opts.eval_k,
        max_rows(&plain),
        &mut rng,
        &|x, _, _| plain.encode(x.clone()),
    )?;

    // Per-datapoint q_i, decoder frozen.
    let decoder = model.clone().no_grad();
    let mut local = LocalPosteriors {
        mu: Param::from_tensor(Tensor::from_data(TensorData::new(mu0, [n, l]), &device)),
        log_var: Param::from_tensor(Tensor::from_data(TensorData::new(lv0, [n, l]), &device)),
    };
    let mut optim = AdamConfig::new()
        .with_epsilon(super::train::ADAM_EPSILON)
        .init();
    let batch = Batch::new(pixels, n, d, opts.k_train, model.config.likelihood, &device);
    let (mut window_sum, mut prev_window) = (0.0, f64::NEG_INFINITY);
    let mut steps = 0;
    let mut converged = false;
    while steps < opts.max_steps {
        let noise = Noise::draw(&mut rng, opts.k_train * n, l, &device);
        let step = decoder.elbo_from_q(
            local.mu.val(),
            local.log_var.val(),
            &batch,
            &noise,
            1.0,
            0.0,
        );
        let bound = step.report()?.bound;
        if !bound.is_finite() {
            return Err(Error::NonFinite {
                what: "bound",
                value: bound,
                at: format!("per-datapoint step {}", steps + 1),
            });
        }
        window_sum += bound;
        let grads = GradientsParams::from_grads(step.loss.backward(), &local);
        local = optim.step(opts.lr, local, grads);
        steps += 1;
        if steps % opts.window.max(1) == 0 {
            let w = window_sum / opts.window.max(1) as f64;
            window_sum = 0.0;
            if w - prev_window < opts.tol {
                converged = true;
                break;
            }
            prev_window = w;
        }
    }
    let local = local.valid();
    let (mu_star, lv_star) = (local.mu.val(), local.log_var.val());
    let optimal = weight_stats_with(
        &plain,
        pixels,
        n,
        opts.eval_k,
        max_rows(&plain),
        &mut rng,
        &|_, start, m| {
            (
                mu_star.clone().slice([start..start + m, 0..l]),
                lv_star.clone().slice([start..start + m, 0..l]),
            )
        },
    )?;
    let log_px: Vec<f64> = amortised
        .log_px
        .iter()
        .zip(&optimal.log_px)
        .map(|(a, b)| a.max(*b))
        .collect();
    let log_px = mean(&log_px);
    let elbo_optimal = mean(&optimal.elbo);
    let elbo_amortised = mean(&amortised.elbo);
    Ok(Gaps {
        n,
        log_px,
        elbo_optimal,
        elbo_amortised,
        approximation_gap: log_px - elbo_optimal,
        amortisation_gap: elbo_optimal - elbo_amortised,
        steps,
        converged,
        options: opts.clone(),
    })
}

/// Decoder means E[x|z] for latent codes `z` (`m × L`, row-major): pixel
/// probabilities for the Bernoulli decoder. Pass a plain-device model.
pub fn decode_means(model: &Vae, z: &[f32], m: usize) -> Result<Vec<f32>> {
    let l = model.config.latent();
    let device = model.head.weight.val().device();
    let z = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [m, l]), &device);
    to_vec(model.decode_mean(z))
}

/// Reconstructions E[x | z = μ_φ(x)] of `n` images. Pass a plain-device
/// model.
pub fn reconstruct(model: &Vae, pixels: &[f32], n: usize) -> Result<Vec<f32>> {
    let d = model.config.input();
    let device = model.head.weight.val().device();
    let x = Tensor::<2>::from_data(TensorData::new(pixels.to_vec(), [n, d]), &device);
    let (mu, _) = model.encode(x);
    to_vec(model.decode_mean(mu))
}

/// Encoder means μ_φ(x) (`n × L`). Pass a plain-device model.
pub fn encode_means(model: &Vae, pixels: &[f32], n: usize) -> Result<Vec<f32>> {
    let d = model.config.input();
    let device = model.head.weight.val().device();
    let x = Tensor::<2>::from_data(TensorData::new(pixels.to_vec(), [n, d]), &device);
    to_vec(model.encode(x).0)
}

/// Whether the model's pixels must be binary for evaluation.
pub fn is_binary(model: &Vae) -> bool {
    model.config.likelihood == Likelihood::Bernoulli
}
