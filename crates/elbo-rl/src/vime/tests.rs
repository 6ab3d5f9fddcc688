//! Tests of VIME: the host gradient against burn's autodiff through
//! elbo-deep's layers, the second-order information gain against the exact
//! one-step and few-step update KLs, the median normalisation, and a short
//! TRPO + VIME run.

use super::*;
use crate::env::AnyEnv;
use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;

/// A [3 → 4 → 2] BNN with random μ and ρ ∈ (−2, 0) (σ ∈ (0.13, 0.69)),
/// drawn from our own seeded generator (burn's is global to the device, and
/// tests run in parallel).
fn tiny(seed: u64) -> (BayesMlp, Device) {
    let d = Device::flex().autodiff();
    let mut net = BayesMlpConfig::new(vec![3, 4, 2]).init(&d).unwrap(); // sizes ≥ 1: valid
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |n: usize, lo: f32, hi: f32| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(lo..hi)).collect()
    };
    for l in &mut net.layers {
        let (i, o) = l.dims();
        let t2 = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [i, o]), &d);
        let t1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [o]), &d);
        l.w_mu = Param::from_tensor(t2(draw(i * o, -1.0, 1.0)));
        l.w_rho = Param::from_tensor(t2(draw(i * o, -2.0, 0.0)));
        l.b_mu = Param::from_tensor(t1(draw(o, -0.5, 0.5)));
        l.b_rho = Param::from_tensor(t1(draw(o, -2.0, 0.0)));
    }
    (net, d)
}

const X: [f64; 3] = [0.7, -1.2, 0.4];
const Y: [f64; 2] = [1.5, -0.8];

fn noise(host: &HostBnn, samples: usize, seed: u64) -> Vec<f64> {
    host.draw_noise(samples, &mut ChaCha8Rng::seed_from_u64(seed))
}

/// The host's pathwise gradient of −E_q[ln p(y | x, θ)] w.r.t. (μ, ρ) equals
/// burn's autodiff of elbo-deep's `forward_with_noise` + `nll` with the same
/// weight noise (tolerance 1e-4 relative to the largest component: burn
/// computes in f32, whose rounding over a few dozen operations is ~1e-6
/// relative).
#[test]
fn host_gradient_matches_burn_autodiff() {
    let (net, d) = tiny(1);
    let sigma_y = 0.5;
    let host = HostBnn::from_net(&net, sigma_y);
    let s = 4;
    let eps = noise(&host, s, 7);
    let p = host.n_params();
    let (mut g_mu, mut g_rho) = (vec![0.0; p], vec![0.0; p]);
    host.nll_grad(&X, &Y, &eps, &mut g_mu, &mut g_rho);

    let x = Tensor::<2>::from_data(TensorData::new(X.map(|v| v as f32).to_vec(), [1, 3]), &d);
    let y = Tensor::<2>::from_data(TensorData::new(Y.map(|v| v as f32).to_vec(), [1, 2]), &d);
    let mut loss: Option<Tensor<1>> = None;
    for k in 0..s {
        let e = &eps[k * p..(k + 1) * p];
        let mut off = 0;
        let pairs: Vec<(Tensor<2>, Tensor<1>)> = host
            .layers
            .iter()
            .map(|l| {
                let nw = l.d_in * l.d_out;
                let w: Vec<f32> = e[off..off + nw].iter().map(|&v| v as f32).collect();
                let b: Vec<f32> = e[off + nw..off + l.len()]
                    .iter()
                    .map(|&v| v as f32)
                    .collect();
                off += l.len();
                (
                    Tensor::from_data(TensorData::new(w, [l.d_in, l.d_out]), &d),
                    Tensor::from_data(TensorData::new(b, [l.d_out]), &d),
                )
            })
            .collect();
        let (f, _) = net.forward_with_noise(x.clone(), &pairs);
        let nll = net.nll(f, y.clone(), Likelihood::Gaussian { sigma: sigma_y });
        loss = Some(match loss {
            Some(t) => t + nll,
            None => nll,
        });
    }
    let loss = loss.unwrap().div_scalar(s as f64); // s ≥ 1 terms were added
    let grads = loss.backward();
    let mut burn_mu = Vec::new();
    let mut burn_rho = Vec::new();
    let read = |t: Tensor<2>| -> Vec<f64> {
        t.to_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap() // converted to f32 just above
            .into_iter()
            .map(f64::from)
            .collect()
    };
    for l in &net.layers {
        // Every parameter is on the loss's path, so each has a gradient.
        burn_mu.extend(read(l.w_mu.val().grad(&grads).unwrap()));
        burn_mu.extend(read(l.b_mu.val().grad(&grads).unwrap().unsqueeze()));
        burn_rho.extend(read(l.w_rho.val().grad(&grads).unwrap()));
        burn_rho.extend(read(l.b_rho.val().grad(&grads).unwrap().unsqueeze()));
    }
    let scale = g_mu
        .iter()
        .chain(&g_rho)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1e-3, "a non-trivial gradient: {scale}");
    for (k, (a, b)) in g_mu.iter().zip(&burn_mu).enumerate() {
        assert!((a - b).abs() < 1e-4 * scale, "mu[{k}]: host {a} burn {b}");
    }
    for (k, (a, b)) in g_rho.iter().zip(&burn_rho).enumerate() {
        assert!((a - b).abs() < 1e-4 * scale, "rho[{k}]: host {a} burn {b}");
    }
}

/// The paper's second-order information gain ½ λ² ∇ᵀ H⁻¹ ∇ (eq. (17))
/// against the exact KL(q′ ‖ q) after the step it approximates, in f64 with
/// common weight noise. The μ part of the KL is exactly quadratic, so the
/// only error is the Taylor remainder in ρ, O(λ) relative: at the paper's
/// λ = 0.01 the two agree to 1 % (measured: 2e-4 to 9e-4 on three random
/// nets), and the error shrinks
/// linearly with λ (second-order accuracy).
#[test]
fn second_order_information_gain_matches_the_exact_one_step_kl() {
    for seed in 0..3 {
        let (net, _) = tiny(seed);
        let host = HostBnn::from_net(&net, 0.5);
        let eps = noise(&host, 10, seed + 100);
        let h_inv = host.inverse_kl_hessian();
        let rel = |lambda: f64| {
            let approx = host.info_gain_second_order(&X, &Y, &eps, lambda, &h_inv);
            let (exact, _) = host.info_gain_exact(&X, &Y, &eps, lambda, 1);
            assert!(exact > 0.0 && approx > 0.0);
            ((approx - exact) / exact).abs()
        };
        let (e2, e3) = (rel(1e-2), rel(1e-3));
        eprintln!("seed {seed}: relative error {e2:.3e} at 0.01, {e3:.3e} at 0.001");
        assert!(e2 < 1e-2, "seed {seed}: relative error {e2} at λ = 0.01");
        assert!(
            e3 < 0.2 * e2 + 1e-9,
            "seed {seed}: error {e2} at λ = 1e-2, {e3} at 1e-3: not O(λ)"
        );
    }
}

/// A few-step update (5 steps of λ/5, each with the KL's own gradient pulling
/// back towards q_old) moves φ a little less far than one step of λ; its KL
/// stays within 10 % of the second-order value at λ = 0.01.
#[test]
fn few_step_update_kl_is_close_to_the_second_order_value() {
    let (net, _) = tiny(4);
    let host = HostBnn::from_net(&net, 0.5);
    let eps = noise(&host, 10, 9);
    let h_inv = host.inverse_kl_hessian();
    let approx = host.info_gain_second_order(&X, &Y, &eps, 0.01, &h_inv);
    let (few, _) = host.info_gain_exact(&X, &Y, &eps, 0.002, 5);
    eprintln!("few-step {few:.4e}, second-order {approx:.4e}");
    assert!(((few - approx) / approx).abs() < 0.1, "{few} vs {approx}");
}

/// The bonus is η KL_t / median of the previous batches' mean KLs: the
/// first batch is divided by its own mean, so its mean bonus is η.
#[test]
fn the_bonus_is_normalised_by_the_median_of_previous_batches() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    let env = AnyEnv::by_name("mountaincar-sparse").unwrap(); // a listed name
    let cfg = VimeConfig {
        updates: 5,
        min_pool: 50,
        eta: 0.1,
        ..Default::default()
    };
    let mut vime = Vime::new(env.obs_dim(), env.action_space(), &cfg).unwrap(); // defaults are valid
    let mut venv = crate::env::VecEnv::new(env, 2, 0).unwrap(); // 2 copies ≥ 1
    let policy = crate::pg::Policy::new(2, venv.action_space(), &[4]);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let theta = policy.init(&mut rng, 0.0);
    let mut batch = crate::pg::collect(&mut venv, &policy, &theta, 40, &mut rng);
    let before = batch.rewards.clone();
    vime.apply(&mut batch).unwrap();
    let added: f64 = batch.rewards.iter().zip(&before).map(|(a, b)| a - b).sum();
    let mean_bonus = added / batch.len() as f64;
    assert!((mean_bonus - 0.1).abs() < 1e-9, "{mean_bonus}");
    assert!(batch.rewards.iter().zip(&before).all(|(a, b)| a >= b));
    assert_eq!(vime.pool.len(), 80);
    assert!(vime.log[0].elbo.is_finite(), "80 ≥ min_pool: trained");
    let first_mean = vime.log[0].mean_kl;
    let mut batch2 = crate::pg::collect(&mut venv, &policy, &theta, 40, &mut rng);
    vime.apply(&mut batch2).unwrap();
    assert_eq!(vime.log[1].median, first_mean);
}

/// TRPO + VIME runs end to end on sparse MountainCar.
#[test]
fn trpo_with_vime_runs_and_is_reproducible() {
    let run = || {
        let env = AnyEnv::by_name("mountaincar-sparse").unwrap(); // a listed name
        let cfg = TrpoConfig {
            batch_size: 128,
            num_envs: 4,
            iterations: 3,
            value_epochs: 1,
            ..Default::default()
        };
        let vcfg = VimeConfig {
            updates: 10,
            min_pool: 100,
            ..Default::default()
        };
        let mut seen = 0;
        let log = train_trpo(env, &cfg, &vcfg, &mut |b| seen += b.len()).unwrap(); // valid settings
        (log, seen)
    };
    let (a, seen) = run();
    assert_eq!(seen, 3 * 128);
    assert_eq!(a.vime.len(), 3);
    assert!(
        a.vime
            .iter()
            .all(|v| v.mean_kl > 0.0 && v.mean_kl.is_finite())
    );
    assert!(a.vime[0].elbo.is_finite());
    // Reproducibility from the seed is checked by the CLI tests, in a
    // process of their own: burn's generator is per device and global, so
    // tests running in parallel here draw from it in between.
}

#[test]
fn invalid_settings_are_named() {
    let bad = VimeConfig {
        prior_sigma: 0.0,
        ..Default::default()
    };
    assert!(bad.check().unwrap_err().to_string().contains("prior_sigma"));
    let bad = VimeConfig {
        eta: -1.0,
        ..Default::default()
    };
    assert!(bad.check().unwrap_err().to_string().contains("eta"));
}
