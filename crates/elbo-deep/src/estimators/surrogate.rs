//! The estimators as burn tensor operations, for models: each function
//! builds a *surrogate* whose autodiff gradient is the estimator (NumPyro's
//! `TraceGraph_ELBO` pattern). Nothing here is generic over a backend: the
//! tensors live on whatever [`burn::tensor::Device`] the caller made, with
//! `.autodiff()` when gradients are wanted.
//!
//! - Pathwise: sample through [`reparameterise`], z = μ + σ ⊙ ε, and
//!   differentiate f(z) directly (Mohamed et al. 2020, §5, eqs. (35),
//!   (37); Kingma & Welling 2014 §2.4).
//! - Score function: [`score_function_surrogate`] with z sampled *without*
//!   a path to the parameters (detached), so that only ln q carries
//!   gradient (Williams 1992; Mohamed et al. 2020, §4, eqs. (13)–(14)).
//! - Importance-weighted bound: [`iwae_bound`] over per-sample
//!   log-weights (Burda et al. 2016, eq. (8)).

use burn::tensor::Tensor;

/// ln 2π.
const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// z = μ + σ ⊙ ε: a sample from N(μ, diag σ²) that is a differentiable
/// function of (μ, σ) (Mohamed et al. 2020, eq. (37)).
///
/// # Shapes
/// - `mu`, `sigma`, `eps`: [batch, d]
/// - returns [batch, d]
pub fn reparameterise(mu: Tensor<2>, sigma: Tensor<2>, eps: Tensor<2>) -> Tensor<2> {
    mu + sigma * eps // [batch, d]
}

/// ln N(z | μ, diag σ²), summed over the last dimension.
///
/// # Shapes
/// - `z`, `mu`, `sigma`: [batch, d]
/// - returns [batch]
pub fn gaussian_log_density(z: Tensor<2>, mu: Tensor<2>, sigma: Tensor<2>) -> Tensor<1> {
    let [batch, _] = z.dims();
    let u = (z - mu) / sigma.clone(); // [batch, d]
    let per_dim = u.square().mul_scalar(-0.5) - sigma.log(); // [batch, d]
    per_dim.sub_scalar(LN_2PI / 2.0).sum_dim(1).reshape([batch]) // [batch]
}

/// The score-function surrogate mean_n [ f_n + ⌊f_n − b_n⌋ (ln q_n − ⌊ln q_n⌋) ]
/// (⌊·⌋ = detach): its *value* is the plain Monte-Carlo average of f, and
/// its *gradient* is (1/N) Σ ∇f_n + (1/N) Σ (f_n − b_n) ∇ ln q(z_n) — the
/// score-function estimator with baseline b (Mohamed et al. 2020, eq. (14);
/// Williams 1992's REINFORCE with reinforcement baseline). The first term
/// carries gradients through parameters f depends on directly (a decoder's);
/// for the estimator to be the score function, `log_q` must be ln q(z_n)
/// evaluated at samples z_n that are themselves detached.
///
/// `baseline` must not depend on z_n for the estimator to stay unbiased:
/// a constant, a moving average of past batches, or
/// [`leave_one_out_baseline`].
///
/// # Shapes
/// - `log_q`, `f`, `baseline`: [n]
/// - returns [1]
pub fn score_function_surrogate(log_q: Tensor<1>, f: Tensor<1>, baseline: Tensor<1>) -> Tensor<1> {
    let advantage = (f.clone() - baseline).detach(); // [n]
    let centred = log_q.clone() - log_q.detach(); // [n], value 0
    (f + advantage * centred).mean() // [1]
}

/// For each sample n, the mean of the *other* samples' costs,
/// (Σ_m f_m − f_n)/(N − 1): a baseline independent of sample n (N ≥ 2),
/// hence unbiased (the scalar leave-one-out baseline; detached).
///
/// # Shapes
/// - `f`: [n], n ≥ 2
/// - returns [n]
pub fn leave_one_out_baseline(f: Tensor<1>) -> Tensor<1> {
    let [n] = f.dims();
    let f = f.detach();
    let total = f.clone().sum(); // [1]
    (total.expand([n]) - f).div_scalar((n.max(2) - 1) as f64) // [n]
}

/// ln (1/k) Σ_i exp(log_w[b, i]) per row: the importance-weighted bound's
/// Monte-Carlo estimate for each item of the batch (Burda et al. 2016,
/// eq. (8); k = 1 gives the ELBO). The row maximum is shifted out
/// (detached; the result does not depend on the shift) for stability. Its
/// autodiff gradient is Σ_i w̃_i ∇ ln w_i.
///
/// # Shapes
/// - `log_w`: [batch, k]
/// - returns [batch]
pub fn iwae_bound(log_w: Tensor<2>) -> Tensor<1> {
    let [batch, k] = log_w.dims();
    let m = log_w.clone().detach().max_dim(1); // [batch, 1]
    let shifted = (log_w - m.clone()).exp().sum_dim(1); // [batch, 1]
    (shifted.log() + m)
        .reshape([batch])
        .sub_scalar((k as f64).ln()) // [batch]
}

#[cfg(test)]
mod tests {
    use super::super::estimate::{pathwise, score};
    use super::super::gaussian::{Cost, Gaussian, TestFunction};
    use super::super::iwae::{ConjugateGaussian, log_mean_exp};
    use super::*;
    use burn::tensor::Device;
    use elbo_core::rng::seeded;
    use rand::Rng;
    use rand_distr::StandardNormal;

    fn vec1(t: Tensor<1>) -> Vec<f64> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map(|v| v.into_iter().map(f64::from).collect())
            .unwrap_or_default()
    }

    fn draws(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = seeded(seed);
        (0..n).map(|_| rng.sample(StandardNormal)).collect()
    }

    /// f(x) = (x − k)² as a tensor op.
    fn square(x: Tensor<2>, k: f64) -> Tensor<2> {
        x.sub_scalar(k).square()
    }

    /// burn's autodiff through z = μ + σε gives the plain pathwise estimate
    /// on the same ε.
    #[test]
    fn autodiff_through_the_path_is_the_pathwise_estimator() {
        let device = Device::flex().autodiff();
        let (mu0, s0, k, n) = (0.5, 1.5, 2.0, 64);
        let eps = draws(n, 3);
        let mu = Tensor::<2>::from_floats([[mu0 as f32]], &device).require_grad();
        let sigma = Tensor::<2>::from_floats([[s0 as f32]], &device).require_grad();
        let e = Tensor::<1>::from_floats(
            eps.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice(),
            &device,
        )
        .reshape([n, 1]);
        let z = reparameterise(mu.clone().expand([n, 1]), sigma.clone().expand([n, 1]), e);
        let loss = square(z, k).mean();
        let grads = loss.backward();
        let g_mu = vec1(
            mu.grad(&grads)
                .map(|g| g.reshape([1]))
                .unwrap_or_else(|| panic!("no grad")),
        );
        let g_s = vec1(
            sigma
                .grad(&grads)
                .map(|g| g.reshape([1]))
                .unwrap_or_else(|| panic!("no grad")),
        );
        let q = Gaussian::new(mu0, s0).unwrap();
        let xs: Vec<f64> = eps.iter().map(|&v| q.transform(v)).collect();
        let want = pathwise(&q, &TestFunction::Square { k }, &xs);
        assert!(
            (g_mu[0] - want[0]).abs() < 1e-4 * (1.0 + want[0].abs()),
            "{g_mu:?} {want:?}"
        );
        assert!(
            (g_s[0] - want[1]).abs() < 1e-4 * (1.0 + want[1].abs()),
            "{g_s:?} {want:?}"
        );
    }

    /// The surrogate's gradient is the plain score-function estimate with
    /// the same baseline, and its value is the mean cost.
    #[test]
    fn surrogate_gradient_is_the_score_function_estimator() {
        let device = Device::flex().autodiff();
        let (mu0, s0, k, n, b) = (1.0, 0.8, -1.0, 32, 2.5);
        let eps = draws(n, 4);
        let q = Gaussian::new(mu0, s0).unwrap();
        let f = TestFunction::Square { k };
        let xs: Vec<f64> = eps.iter().map(|&v| q.transform(v)).collect();
        let mu = Tensor::<2>::from_floats([[mu0 as f32]], &device).require_grad();
        let sigma = Tensor::<2>::from_floats([[s0 as f32]], &device).require_grad();
        // Samples with no path to (μ, σ).
        let z = Tensor::<1>::from_floats(
            xs.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice(),
            &device,
        )
        .reshape([n, 1]);
        let log_q = gaussian_log_density(
            z.clone(),
            mu.clone().expand([n, 1]),
            sigma.clone().expand([n, 1]),
        );
        let cost = square(z, k).reshape([n]);
        let baseline = Tensor::<1>::from_floats([b as f32], &device).expand([n]);
        let s = score_function_surrogate(log_q, cost, baseline);
        let value = vec1(s.clone())[0];
        let grads = s.backward();
        let g_mu = vec1(
            mu.grad(&grads)
                .map(|g| g.reshape([1]))
                .unwrap_or_else(|| panic!("no grad")),
        )[0];
        let g_s = vec1(
            sigma
                .grad(&grads)
                .map(|g| g.reshape([1]))
                .unwrap_or_else(|| panic!("no grad")),
        )[0];
        let want = score(&q, &f, &xs, [b; 2]);
        let mean_f = xs.iter().map(|&x| f.value(x)).sum::<f64>() / n as f64;
        assert!((value - mean_f).abs() < 1e-4 * (1.0 + mean_f.abs()));
        assert!(
            (g_mu - want[0]).abs() < 1e-3 * (1.0 + want[0].abs()),
            "{g_mu} {want:?}"
        );
        assert!(
            (g_s - want[1]).abs() < 1e-3 * (1.0 + want[1].abs()),
            "{g_s} {want:?}"
        );
    }

    #[test]
    fn leave_one_out_baseline_excludes_the_sample() {
        let device = Device::flex();
        let f = Tensor::<1>::from_floats([1.0, 2.0, 6.0], &device);
        let b = vec1(leave_one_out_baseline(f));
        assert_eq!(b, vec![4.0, 3.5, 1.5]);
    }

    /// The tensor bound equals the plain log-mean-exp, and its autodiff
    /// gradient through z = m + sε is the plain IWAE gradient on the same ε.
    #[test]
    fn tensor_iwae_bound_and_gradient_match_the_plain_toy() {
        let device = Device::flex().autodiff();
        let model = ConjugateGaussian::new(1.0).unwrap();
        let (x, m0, s0, k) = (2.0, 0.3, 1.2, 8);
        let eps = draws(k, 6);
        let q = Gaussian::new(m0, s0).unwrap();
        let m = Tensor::<2>::from_floats([[m0 as f32]], &device).require_grad();
        let s = Tensor::<2>::from_floats([[s0 as f32]], &device).require_grad();
        let e = Tensor::<1>::from_floats(
            eps.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice(),
            &device,
        )
        .reshape([k, 1]);
        let z = reparameterise(m.clone().expand([k, 1]), s.clone().expand([k, 1]), e); // [k, 1]
        let log_prior = z.clone().square().mul_scalar(-0.5).sub_scalar(LN_2PI / 2.0);
        let log_lik = z
            .clone()
            .neg()
            .add_scalar(x)
            .square()
            .mul_scalar(-0.5)
            .sub_scalar(LN_2PI / 2.0);
        let log_q = gaussian_log_density(z, m.clone().expand([k, 1]), s.clone().expand([k, 1]))
            .reshape([k, 1]);
        let log_w = (log_prior + log_lik - log_q).reshape([1, k]);
        let bound = iwae_bound(log_w);
        let got = vec1(bound.clone())[0];
        let grads = bound.backward();
        let g = [
            vec1(
                m.grad(&grads)
                    .map(|g| g.reshape([1]))
                    .unwrap_or_else(|| panic!("no grad")),
            )[0],
            vec1(
                s.grad(&grads)
                    .map(|g| g.reshape([1]))
                    .unwrap_or_else(|| panic!("no grad")),
            )[0],
        ];
        // The plain computation on the same ε.
        let lw: Vec<f64> = eps
            .iter()
            .map(|&e| {
                let z = q.transform(e);
                model.log_joint(x, z) - q.log_density(z)
            })
            .collect();
        assert!((got - log_mean_exp(&lw)).abs() < 1e-4);
        let (_, want) = model.iwae_sample(x, &q, k, &mut seeded(6));
        for p in 0..2 {
            assert!(
                (g[p] - want[p]).abs() < 1e-3 * (1.0 + want[p].abs()),
                "{p}: {g:?} {want:?}"
            );
        }
    }
}
