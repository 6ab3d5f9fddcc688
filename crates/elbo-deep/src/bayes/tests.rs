//! Tests of the Bayesian layers: KL closed form against Monte Carlo,
//! gradients against finite differences, the linear case against the exact
//! posterior, and the posterior-as-prior algebra VIME relies on.

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::exact::compare_linear;
use super::prior::tensor_vec;
use super::*;

fn cpu() -> Device {
    Device::flex()
}

fn layer(i: usize, o: usize, rho: f64, d: &Device) -> BayesLinear {
    BayesLinearConfig::new(i, o)
        .with_rho_init(rho)
        .with_mu_gain(1.0)
        .init(d)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

#[test]
fn kl_closed_form_matches_monte_carlo() {
    let d = cpu();
    let l = layer(30, 20, -1.0, &d);
    let prior = Prior::Gaussian { sigma: 0.7 };
    let exact = scalar(l.kl_closed_form(prior.layer(0)).unwrap());
    let draws = 400;
    let mc: f64 = (0..draws)
        .map(|_| scalar(l.kl_monte_carlo(&l.sample(), prior.layer(0))))
        .sum::<f64>()
        / draws as f64;
    // Per draw the estimate's sd is about √(n/2)·O(1) ≈ 20; over 400 draws ≈ 1.
    assert!((mc - exact).abs() < 4.0, "MC {mc} vs closed form {exact}");

    // Against a factorised prior (a previous posterior).
    let other = layer(30, 20, -0.5, &d);
    let fprior = BayesMlp {
        layers: vec![other],
        log_noise: Param::from_tensor(Tensor::zeros([1], &d)),
    }
    .posterior_as_prior();
    let exact = scalar(l.kl_closed_form(fprior.layer(0)).unwrap());
    let mc: f64 = (0..draws)
        .map(|_| scalar(l.kl_monte_carlo(&l.sample(), fprior.layer(0))))
        .sum::<f64>()
        / draws as f64;
    assert!(
        (mc - exact).abs() < 0.02 * exact.abs() + 4.0,
        "MC {mc} vs closed form {exact}"
    );
}

#[test]
fn scale_mixture_density_matches_direct_formula() {
    let d = cpu();
    let ws = [-3.0f64, -0.2, 0.0, 1e-4, 0.5, 2.0];
    let (pi, s1, s2) = (0.25, 1.0, (-6f64).exp());
    let t = Tensor::<1>::from_floats(ws.map(|w| w as f32), &d);
    let got = tensor_vec(&ln_scale_mixture(t, pi, s1, s2));
    for (w, g) in ws.iter().zip(got) {
        let n =
            |s: f64| (-(w * w) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
        let want = (pi * n(s1) + (1.0 - pi) * n(s2)).ln();
        assert!(
            (g as f64 - want).abs() < 1e-3 * want.abs().max(1.0),
            "w={w}: {g} vs {want}"
        );
    }
}

/// The minibatch objective with the noise ε held fixed, as a function of
/// one parameter tensor's entries.
fn objective(
    net: &BayesMlp,
    x: &Tensor<2>,
    y: &Tensor<2>,
    noise: &[(Tensor<2>, Tensor<1>)],
    prior: &Prior,
) -> Tensor<1> {
    let (f, draws) = net.forward_with_noise(x.clone(), noise);
    let nll = net.nll(f, y.clone(), Likelihood::Gaussian { sigma: 0.5 });
    nll + net.kl(prior, &draws).mul_scalar(0.1)
}

fn perturbed(net: &BayesMlp, which: usize, idx: usize, h: f32) -> BayesMlp {
    let mut out = net.clone();
    let l = &mut out.layers[0];
    let bump = |t: Tensor<2>| {
        let mut v = tensor_vec(&t);
        v[idx] += h;
        let [a, b] = t.dims();
        train::matrix(v, a, b, &t.device())
    };
    if which == 0 {
        l.w_mu = Param::from_tensor(bump(l.w_mu.val()).detach());
    } else {
        l.w_rho = Param::from_tensor(bump(l.w_rho.val()).detach());
    }
    out
}

#[test]
fn objective_gradients_match_finite_differences() {
    let d = cpu().autodiff();
    let net = BayesMlpConfig::new(vec![2, 3, 1])
        .with_rho_init(-1.0)
        .init(&d)
        .unwrap();
    let x = Tensor::<2>::random([5, 2], Distribution::Normal(0.0, 1.0), &d);
    let y = Tensor::<2>::random([5, 1], Distribution::Normal(0.0, 1.0), &d);
    let noise: Vec<(Tensor<2>, Tensor<1>)> = net
        .layers
        .iter()
        .map(|l| {
            let (i, o) = l.dims();
            (
                Tensor::random([i, o], Distribution::Normal(0.0, 1.0), &d),
                Tensor::random([o], Distribution::Normal(0.0, 1.0), &d),
            )
        })
        .collect();
    // Scale mixture: the Monte-Carlo KL is in the pathwise gradient too.
    for prior in [
        Prior::Gaussian { sigma: 1.0 },
        Prior::ScaleMixture {
            pi: 0.5,
            sigma1: 1.0,
            sigma2: 0.1,
        },
    ] {
        let loss = objective(&net, &x, &y, &noise, &prior);
        let grads = loss.backward();
        let g_mu = tensor_vec(&net.layers[0].w_mu.val().grad(&grads).unwrap());
        let g_rho = tensor_vec(&net.layers[0].w_rho.val().grad(&grads).unwrap());
        let h = 2e-3f32;
        let f0 = scalar(objective(&net, &x, &y, &noise, &prior));
        let mut checked = 0;
        for (which, g) in [(0, &g_mu), (1, &g_rho)] {
            #[allow(clippy::needless_range_loop)]
            for idx in 0..6 {
                let up = scalar(objective(
                    &perturbed(&net, which, idx, h),
                    &x,
                    &y,
                    &noise,
                    &prior,
                ));
                let dn = scalar(objective(
                    &perturbed(&net, which, idx, -h),
                    &x,
                    &y,
                    &noise,
                    &prior,
                ));
                let ad = g[idx] as f64;
                let (fwd, bwd) = ((up - f0) / h as f64, (f0 - dn) / h as f64);
                // A ReLU kink inside [−h, h] makes the one-sided slopes
                // disagree; the derivative is not defined there.
                if (fwd - bwd).abs() > 0.2 * ad.abs().max(1.0) {
                    continue;
                }
                let fd = (up - dn) / (2.0 * h as f64);
                assert!(
                    (fd - ad).abs() < 2e-2 * ad.abs().max(1.0),
                    "{prior:?} param {which}[{idx}]: autodiff {ad} vs finite differences {fd}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 8, "only {checked} smooth points");
    }
}

#[test]
fn linear_layer_matches_the_exact_posterior_and_measures_the_mean_field_gap() {
    // Correlated inputs, so that mean field visibly under-estimates variance.
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let n = 40;
    let mut x = Array2::<f64>::zeros((n, 3));
    let mut t = Array1::<f64>::zeros(n);
    for i in 0..n {
        let a: f64 = rng.sample(StandardNormal);
        let b: f64 = rng.sample(StandardNormal);
        let c: f64 = rng.sample(StandardNormal);
        x[[i, 0]] = a;
        x[[i, 1]] = 0.8 * a + 0.6 * b;
        x[[i, 2]] = c;
        let e: f64 = rng.sample(StandardNormal);
        t[i] = 0.5 + 1.0 * a - 0.5 * x[[i, 1]] + 0.3 * c + 0.5 * e;
    }
    let cmp = compare_linear(x.view(), t.view(), 2.0, 4.0, 1500, &cpu()).unwrap();
    for i in 0..4 {
        assert!(
            (cmp.mu_fit[i] - cmp.m_exact[i]).abs() < 2e-3,
            "mean {i}: {} vs exact {}",
            cmp.mu_fit[i],
            cmp.m_exact[i]
        );
        let rel = cmp.var_fit[i] / cmp.var_mean_field[i];
        assert!(
            (rel - 1.0).abs() < 0.03,
            "variance {i}: {} vs 1/Λ_ii {}",
            cmp.var_fit[i],
            cmp.var_mean_field[i]
        );
        assert!(cmp.var_mean_field[i] <= cmp.var_exact[i] * (1.0 + 1e-12));
    }
    // The correlated pair is over-confident: 1/Λ_ii < (S_N)_ii.
    assert!(cmp.var_mean_field[1] < 0.8 * cmp.var_exact[1], "{cmp:?}");
    assert!(cmp.kl_gap_theory > 0.05, "{cmp:?}");
    assert!(
        (cmp.kl_gap_fitted - cmp.kl_gap_theory).abs() < 0.01 + 0.02 * cmp.kl_gap_theory,
        "fitted gap {} vs theory {}",
        cmp.kl_gap_fitted,
        cmp.kl_gap_theory
    );
}

#[test]
fn posterior_as_prior_gives_zero_kl_and_the_known_hessian() {
    let d = cpu();
    let net = BayesMlpConfig::new(vec![4, 3, 2])
        .with_rho_init(-2.0)
        .init(&d)
        .unwrap();
    let prior = net.posterior_as_prior();
    assert!(scalar(net.kl(&prior, &[])).abs() < 1e-4);
    let h = net.kl_hessian_diag(&prior).unwrap();
    let rho = tensor_vec(&net.layers[0].w_rho.val());
    let h_rho = tensor_vec(&h[0].w_rho);
    let h_mu = tensor_vec(&h[0].w_mu);
    for ((r, hr), hm) in rho.iter().zip(&h_rho).zip(&h_mu) {
        let r = *r as f64;
        let sigma = r.exp().ln_1p();
        let s1 = 1.0 / (1.0 + (-r).exp());
        assert!((*hr as f64 - 2.0 * s1 * s1 / (sigma * sigma)).abs() < 1e-3 * *hr as f64);
        assert!((*hm as f64 - 1.0 / (sigma * sigma)).abs() < 1e-3 * *hm as f64);
    }
    assert!(
        net.kl_hessian_diag(&Prior::ScaleMixture {
            pi: 0.5,
            sigma1: 1.0,
            sigma2: 0.1
        })
        .is_none()
    );
}

#[test]
fn kl_hessian_matches_finite_differences_of_the_gradient() {
    let d = cpu().autodiff();
    let l = layer(3, 2, -1.0, &d);
    let prior = Prior::Gaussian { sigma: 0.3 };
    let grad_rho = |l: &BayesLinear| {
        let g = l.kl_closed_form(prior.layer(0)).unwrap().backward();
        tensor_vec(&l.w_rho.val().grad(&g).unwrap())
    };
    let hd = tensor_vec(&l.kl_hessian_diag(prior.layer(0)).unwrap().w_rho);
    let eps = 1e-2f32;
    for idx in 0..6 {
        let shift = |s: f32| {
            let mut c = l.clone();
            let mut v = tensor_vec(&c.w_rho.val());
            v[idx] += s;
            c.w_rho = Param::from_tensor(train::matrix(v, 3, 2, &d).detach());
            grad_rho(&c)[idx] as f64
        };
        let fd = (shift(eps) - shift(-eps)) / (2.0 * eps as f64);
        assert!(
            (fd - hd[idx] as f64).abs() < 2e-2 * fd.abs().max(1.0),
            "{idx}: {fd} vs {}",
            hd[idx]
        );
    }
}

#[test]
fn kl_weights_sum_to_one() {
    for m in [1, 2, 7, 469, 2000] {
        for w in [KlWeighting::Uniform, KlWeighting::Blundell] {
            let s: f64 = (1..=m).map(|i| w.weight(i, m)).sum();
            assert!((s - 1.0).abs() < 1e-9, "{w:?} M={m}: {s}");
        }
    }
    assert!((KlWeighting::Blundell.weight(1, 3) - 4.0 / 7.0).abs() < 1e-12);
}

#[test]
fn local_reparameterisation_has_the_moments_of_weight_sampling() {
    let d = cpu();
    let l = layer(5, 1, -0.5, &d);
    let x = Tensor::<2>::random([1, 5], Distribution::Normal(0.0, 1.0), &d);
    let (g, dl) = l.moments(x.clone());
    let (g, v) = (scalar(g.reshape([1])), scalar(dl.reshape([1])));
    let xs = x.clone().repeat_dim(0, 4000);
    let ys = tensor_vec(&l.forward_local(xs));
    let ws: Vec<f32> = (0..2000)
        .map(|_| tensor_vec(&l.forward_sample(x.clone()).0)[0])
        .collect();
    for s in [ys, ws] {
        let m = s.iter().map(|&v| v as f64).sum::<f64>() / s.len() as f64;
        let var = s.iter().map(|&y| (y as f64 - m).powi(2)).sum::<f64>() / s.len() as f64;
        assert!(
            (m - g).abs() < 4.0 * (v / s.len() as f64).sqrt() + 1e-3,
            "{m} vs {g}"
        );
        assert!((var / v - 1.0).abs() < 0.12, "{var} vs {v}");
    }
}

#[test]
fn pruning_removes_the_lowest_signal_to_noise() {
    let d = cpu();
    let net = BayesMlpConfig::new(vec![10, 8, 3])
        .with_rho_init(-1.0)
        .init(&d)
        .unwrap();
    let mut snr = net.signal_to_noise();
    snr.sort_by(f32::total_cmp);
    let thr = snr[snr.len() / 2];
    let p = net.pruned(thr);
    let zeros = p
        .layers
        .iter()
        .flat_map(|l| tensor_vec(&l.w_mu.val()))
        .filter(|&v| v == 0.0)
        .count();
    assert_eq!(zeros, snr.len() / 2);
}

#[test]
fn invalid_parameters_are_refused() {
    assert!(Prior::Gaussian { sigma: 0.0 }.check().is_err());
    assert!(
        Prior::ScaleMixture {
            pi: 1.0,
            sigma1: 1.0,
            sigma2: 0.1
        }
        .check()
        .is_err()
    );
    let e = Prior::ScaleMixture {
        pi: 0.5,
        sigma1: 0.1,
        sigma2: 1.0,
    }
    .check()
    .unwrap_err();
    assert!(e.to_string().contains("sigma2"), "{e}");
    assert!(BayesMlpConfig::new(vec![3]).check().is_err());
    assert!(BayesMlpConfig::new(vec![3, 0, 1]).check().is_err());
    let mut c = train::FitConfig::bbb();
    c.samples = 0;
    assert!(c.check().is_err());
}

#[test]
fn training_lowers_the_loss_and_checkpoints_round_trip() {
    let d = cpu().autodiff();
    d.seed(1);
    let x = Tensor::<2>::random([64, 2], Distribution::Normal(0.0, 1.0), &d);
    let y = x.clone().sum_dim(1).mul_scalar(0.5);
    let net = BayesMlpConfig::new(vec![2, 8, 1]).init(&d).unwrap();
    let mut tr = train::Trainer::new(
        net,
        Prior::Gaussian { sigma: 1.0 },
        Likelihood::Gaussian { sigma: 0.1 },
        train::FitConfig {
            batch_size: 16,
            lr: 1e-2,
            ..train::FitConfig::bbb()
        },
    )
    .unwrap();
    let first = tr.epoch(&x, &y).unwrap().bound;
    let mut last = first;
    for _ in 0..30 {
        last = tr.epoch(&x, &y).unwrap().bound;
    }
    assert!(last > first, "bound {first} → {last}");
    let dir = tempdir();
    let path = dir.join("net.bpk");
    train::save(&tr.net, &path).unwrap();
    let fresh = BayesMlpConfig::new(vec![2, 8, 1]).init(&d).unwrap();
    let loaded = train::load(fresh, &path).unwrap();
    assert_eq!(
        tensor_vec(&loaded.layers[0].w_mu.val()),
        tensor_vec(&tr.net.layers[0].w_mu.val())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("elbo-bayes-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&p);
    p
}

#[test]
fn autotraits() {
    fn check<T: Send + Sync>() {}
    check::<BayesMlp>();
    check::<Prior>();
}

/// Data-parallel Bayes by Backprop on P threads: the bound per epoch and the
/// weights follow the single-process run (the KL weighted π_i / P on each
/// replica, the gradients summed), for equal and unequal shares. The means
/// are used (`Sampling::Mean`): burn's generator is global per device, so
/// threads cannot draw their own streams; the per-row noise of local
/// reparameterisation is checked in `parallel` and under MPI.
#[test]
fn data_parallel_replicas_follow_the_single_process_run() {
    use crate::parallel::{Replicas, Single, assert_replicas_follow, flat_params};
    let d = cpu().autodiff();
    d.seed(2);
    let x = Tensor::<2>::random([70, 3], Distribution::Normal(0.0, 1.0), &d);
    let y = x.clone().sum_dim(1).mul_scalar(0.5);
    let init = BayesMlpConfig::new(vec![3, 8, 1]).init(&d).unwrap();
    let run = |replicas: &dyn Replicas, seed: u64| {
        let mut tr = train::Trainer::new(
            init.clone(),
            Prior::Gaussian { sigma: 1.0 },
            Likelihood::Gaussian { sigma: 0.3 },
            train::FitConfig {
                batch_size: 16,
                lr: 1e-2,
                sampling: Sampling::Mean,
                seed,
                ..train::FitConfig::bbb()
            },
        )
        .unwrap();
        tr.sync(replicas).unwrap();
        let trace: Vec<f64> = (0..4)
            .map(|_| tr.epoch_on(&x, &y, replicas).unwrap().bound)
            .collect();
        (trace, flat_params(&tr.net).unwrap())
    };
    let single = run(&Single, 3);
    let (other, _) = run(&Single, 4);
    assert!((other[0] - single.0[0]).abs() > 1e-3 * single.0[0].abs());
    for p in [2usize, 3] {
        assert_replicas_follow(p, &single, |g| run(g, 3));
    }
}
