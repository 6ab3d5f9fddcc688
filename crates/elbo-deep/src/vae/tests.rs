//! Tests of the VAE: closed forms against Monte Carlo and finite
//! differences, the ordering of the bounds, the exact likelihood of a
//! linear-Gaussian VAE (probabilistic PCA), training, checkpoints, resume.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::eval::{self, GapOptions};
use super::*;
use crate::data::{self, ImageSet};

fn ad() -> Device {
    Device::flex().autodiff()
}

fn linear(w: Vec<f32>, d_in: usize, d_out: usize, b: Vec<f32>, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(b, [d_out]),
            device,
        ))),
    }
}

fn digits_split() -> (ImageSet, ImageSet) {
    let d = data::digits().unwrap(); // embedded in the binary
    let train: Vec<usize> = (0..1500).collect();
    let test: Vec<usize> = (1500..d.len()).collect();
    (d.select(&train), d.select(&test))
}

fn small(latent: usize) -> VaeConfig {
    VaeConfig::parse(&format!("64-64-{latent}"))
        .unwrap()
        .with_activation(Activation::Tanh)
}

fn grad_of(g: &GradientsParams, p: &Param<Tensor<2>>) -> Vec<f32> {
    to_vec(g.get::<2>(p.id).expect("the parameter has a gradient")).unwrap()
}

// ---- Closed forms -------------------------------------------------------

/// Kingma & Welling (2014) appendix B against a Monte-Carlo estimate of
/// E_q[log q(z) − log p(z)].
#[test]
fn analytic_kl_equals_monte_carlo_kl() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let cases = [(0.0, 0.0), (1.5, -1.0), (-0.7, 0.8), (0.3, -3.0)];
    let n = 200_000;
    for &(mu, lv) in &cases {
        let s: f64 = f64::exp(0.5 * lv);
        let mut acc = 0.0;
        for _ in 0..n {
            let e: f64 = StandardNormal.sample(&mut rng);
            let z = mu + s * e;
            // log q − log p; the ln 2π terms cancel.
            acc += -0.5 * e * e - 0.5 * lv + 0.5 * z * z;
        }
        let mc = acc / n as f64;
        let exact = kl_gaussian(mu, lv);
        assert!(
            (mc - exact).abs() < 0.01 + 0.01 * exact,
            "{mu},{lv}: {mc} vs {exact}"
        );
    }
    // The tensor version agrees with the host version.
    let device = Device::flex();
    let mu = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 1.5, -0.7, 0.3], [1, 4]),
        &device,
    );
    let lv = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, -1.0, 0.8, -3.0], [1, 4]),
        &device,
    );
    let t = to_vec(kl_elementwise(mu, lv)).unwrap();
    for (v, &(mu, lv)) in t.iter().zip(&cases) {
        assert!((f64::from(*v) - kl_gaussian(mu, lv)).abs() < 1e-5);
    }
}

/// A tiny model whose gradients are compared with central differences of
/// the same bound (fixed noise), in f32 with a loose tolerance.
#[test]
fn bound_gradients_match_finite_differences() {
    let device = ad();
    device.seed(5);
    let cfg = VaeConfig::parse("4-3-2")
        .unwrap()
        .with_activation(Activation::Tanh);
    let model = cfg.init(&device).unwrap();
    let x = [
        1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0,
    ];
    let (n, k) = (3, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let eps: Vec<f32> = (0..k * n * 2)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();

    for objective in [Objective::Elbo, Objective::Iwae] {
        let loss_of = |m: &Vae, dev: &Device| -> (Tensor<1>, f64) {
            let batch = Batch::new(&x, n, 4, k, Likelihood::Bernoulli, dev);
            let noise = Noise::new(eps.clone(), k * n, 2, dev);
            let step = match objective {
                Objective::Elbo => m.elbo_pathwise(&batch, &noise, 1.0, 0.0),
                Objective::Iwae => m.iwae(&batch, &noise),
            };
            let v = f64::from(to_vec(step.loss.clone()).unwrap()[0]);
            (step.loss, v)
        };
        let (loss, _) = loss_of(&model, &device);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let plain = model.valid();
        let plain_dev = Device::flex();
        // (which linear layer, weight index) across encoder, μ and log σ² heads, decoder.
        type Pick = fn(&Vae) -> &Linear;
        let layers: [(&str, Pick); 4] = [
            ("encoder", |m| &m.encoder[0]),
            ("head", |m| &m.head),
            ("decoder", |m| &m.decoder[0]),
            ("out", |m| &m.out),
        ];
        for (name, pick) in layers {
            let g = grad_of(&grads, &pick(&model).weight);
            let w = to_vec(pick(&plain).weight.val()).unwrap();
            let [d_in, d_out] = pick(&plain).weight.val().dims();
            for idx in [0, w.len() / 2, w.len() - 1] {
                let h = 1e-2f32;
                let at = |delta: f32| {
                    let mut m = plain.clone();
                    let mut w2 = w.clone();
                    w2[idx] += delta;
                    let b = to_vec(pick(&plain).bias.as_ref().map(|b| b.val()).unwrap()).unwrap(); // biases are on
                    let layer = linear(w2, d_in, d_out, b, &plain_dev);
                    match name {
                        "encoder" => m.encoder[0] = layer,
                        "head" => m.head = layer,
                        "decoder" => m.decoder[0] = layer,
                        _ => m.out = layer,
                    }
                    loss_of(&m, &plain_dev).1
                };
                let fd = (at(h) - at(-h)) / (2.0 * f64::from(h));
                let an = f64::from(g[idx]);
                assert!(
                    (fd - an).abs() < 2e-3 + 2e-2 * an.abs(),
                    "{objective:?} {name}[{idx}]: finite difference {fd} vs autodiff {an}"
                );
            }
        }
    }
}

/// The score-function surrogate has the ELBO as its value, the pathwise
/// decoder gradient, and on average the pathwise encoder gradient.
#[test]
fn score_function_surrogate_is_unbiased() {
    let device = ad();
    device.seed(7);
    let cfg = VaeConfig::parse("4-3-2")
        .unwrap()
        .with_activation(Activation::Tanh);
    let model = cfg.init(&device).unwrap();
    let x = [1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0];
    let (n, k) = (2, 20_000);
    let batch = Batch::new(&x, n, 4, k, Likelihood::Bernoulli, &device);
    let noise = Noise::draw(&mut ChaCha8Rng::seed_from_u64(3), k * n, 2, &device);
    let p = model.elbo_pathwise(&batch, &noise, 1.0, 0.0);
    let s = model.elbo_score(&batch, &noise, 1.0, 0.0, -2.0);
    let (rp, rs) = (p.report().unwrap(), s.report().unwrap());
    assert!((rp.bound - rs.bound).abs() < 1e-4, "{rp:?} {rs:?}");
    let lp = to_vec(p.loss.clone()).unwrap()[0];
    let ls = to_vec(s.loss.clone()).unwrap()[0];
    assert!((lp - ls).abs() < 1e-4, "loss values {lp} vs {ls}");
    let gp = GradientsParams::from_grads(p.loss.backward(), &model);
    let gs = GradientsParams::from_grads(s.loss.backward(), &model);
    // Same z: the decoder's gradients are identical.
    let (a, b) = (
        grad_of(&gp, &model.out.weight),
        grad_of(&gs, &model.out.weight),
    );
    for (u, v) in a.iter().zip(&b) {
        assert!((u - v).abs() < 1e-4, "{u} vs {v}");
    }
    // The encoder head: equal in expectation (k = 20000 samples).
    let (a, b) = (
        grad_of(&gp, &model.head.weight),
        grad_of(&gs, &model.head.weight),
    );
    let scale = a.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    for (u, v) in a.iter().zip(&b) {
        assert!(
            (u - v).abs() < 0.1 * scale + 0.02,
            "pathwise {u} vs score {v} (scale {scale})"
        );
    }
}

// ---- Bounds and likelihood ---------------------------------------------

/// On a fixed model: ELBO ≤ L_5 ≤ L_50 ≤ log p̂(x) (k = 5000), on average
/// over 150 test digits (Burda et al. 2016 Theorem 1).
#[test]
fn bounds_are_ordered_and_below_the_likelihood_estimate() {
    let device = Device::flex();
    device.seed(11);
    let model = small(4).init(&device).unwrap();
    let (_, test) = digits_split();
    let test = test.take(150);
    let px = eval::binarize_fixed(&test, 0);
    let n = test.len();
    let elbo = eval::elbo_stats(&model, &px, n, 0).unwrap().elbo;
    let l1 = eval::mean(&eval::weight_stats(&model, &px, n, 1, 1).unwrap().log_px);
    let l5 = eval::mean(&eval::weight_stats(&model, &px, n, 5, 2).unwrap().log_px);
    let l50 = eval::mean(&eval::weight_stats(&model, &px, n, 50, 3).unwrap().log_px);
    let ll = eval::mean(&eval::weight_stats(&model, &px, n, 5000, 4).unwrap().log_px);
    assert!((elbo - l1).abs() < 0.5, "ELBO {elbo} vs L_1 {l1}");
    assert!(
        l1 < l5 && l5 < l50 && l50 <= ll + 0.01,
        "L1 {l1} L5 {l5} L50 {l50} log p {ll}"
    );
    assert!(elbo <= ll, "ELBO {elbo} above log p̂ {ll}");
}

/// A linear-Gaussian VAE is probabilistic PCA: x = Wᵀz + b + σ ε has
/// log p(x) = log N(x; b, WᵀW + σ² I) in closed form (Tipping & Bishop
/// 1999). The k = 5000 importance-sampling estimate must match it.
#[test]
#[allow(non_snake_case)]
fn importance_sampling_recovers_the_exact_ppca_likelihood() {
    const D: usize = 5;
    const L: usize = 2;
    let device = Device::flex();
    let cfg = VaeConfig::parse("5-2")
        .unwrap()
        .with_likelihood(Likelihood::Gaussian);
    let mut model = cfg.init(&device).unwrap();
    // Decoder W (L×D, burn's row layout), b, σ² = 0.3.
    let W: [[f64; D]; L] = [[1.0, 0.5, -0.3, 0.8, 0.0], [0.2, -1.0, 0.4, 0.3, 0.9]];
    let b = [0.1, -0.2, 0.3, 0.0, 0.5];
    let s2 = 0.3f64;
    model.out = linear(
        W.iter().flatten().map(|&v| v as f32).collect(),
        L,
        D,
        b.iter().map(|&v| v as f32).collect(),
        &device,
    );
    model.log_var_x = Some(Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![s2.ln() as f32; D], [D]),
        &device,
    )));
    // Encoder: the exact posterior mean M⁻¹W(x − b), M = WWᵀ + σ²I, and the
    // diagonal of its covariance σ² M⁻¹ (q is not exact: the posterior
    // covariance is not diagonal).
    let mut M = [[0.0; L]; L];
    for i in 0..L {
        for j in 0..L {
            M[i][j] =
                (0..D).map(|d| W[i][d] * W[j][d]).sum::<f64>() + if i == j { s2 } else { 0.0 };
        }
    }
    let det = M[0][0] * M[1][1] - M[0][1] * M[1][0];
    let Minv = [
        [M[1][1] / det, -M[0][1] / det],
        [-M[1][0] / det, M[0][0] / det],
    ];
    let mut A = [[0.0; L]; D]; // x ↦ μ = (x − b) A
    for d in 0..D {
        for l in 0..L {
            A[d][l] = (0..L).map(|j| Minv[l][j] * W[j][d]).sum();
        }
    }
    let mut head_w = vec![0.0f32; D * 2 * L];
    for d in 0..D {
        for l in 0..L {
            head_w[d * 2 * L + l] = A[d][l] as f32;
        }
    }
    let mut head_b = vec![0.0f32; 2 * L];
    for l in 0..L {
        head_b[l] = -(0..D).map(|d| b[d] * A[d][l]).sum::<f64>() as f32;
        head_b[L + l] = (s2 * Minv[l][l]).ln() as f32;
    }
    model.head = linear(head_w, D, 2 * L, head_b, &device);

    // Data from the model, and the exact log-likelihood with C = WᵀW + σ²I.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let n = 20;
    let mut x = vec![0.0f32; n * D];
    for i in 0..n {
        let z: [f64; L] = [
            StandardNormal.sample(&mut rng),
            StandardNormal.sample(&mut rng),
        ];
        for d in 0..D {
            let e: f64 = StandardNormal.sample(&mut rng);
            x[i * D + d] =
                (b[d] + (0..L).map(|l| W[l][d] * z[l]).sum::<f64>() + s2.sqrt() * e) as f32;
        }
    }
    let mut C = [[0.0; D]; D];
    for i in 0..D {
        for j in 0..D {
            C[i][j] =
                (0..L).map(|l| W[l][i] * W[l][j]).sum::<f64>() + if i == j { s2 } else { 0.0 };
        }
    }
    let (Lc, logdet) = cholesky(&C);
    let exact: Vec<f64> = (0..n)
        .map(|i| {
            let r: Vec<f64> = (0..D).map(|d| f64::from(x[i * D + d]) - b[d]).collect();
            let mut y = [0.0; D]; // L y = r
            for a in 0..D {
                y[a] = (r[a] - (0..a).map(|c| Lc[a][c] * y[c]).sum::<f64>()) / Lc[a][a];
            }
            let quad: f64 = y.iter().map(|v| v * v).sum();
            -0.5 * (D as f64 * model::LN_2PI + logdet + quad)
        })
        .collect();
    let est = eval::weight_stats(&model, &x, n, 5000, 0).unwrap();
    for (i, &ex) in exact.iter().enumerate() {
        assert!(
            (est.log_px[i] - ex).abs() < 0.02,
            "point {i}: estimate {} vs exact {ex}",
            est.log_px[i]
        );
        assert!(est.elbo[i] <= ex + 1e-3);
    }
}

#[allow(non_snake_case)]
fn cholesky<const D: usize>(C: &[[f64; D]; D]) -> ([[f64; D]; D], f64) {
    let mut l = [[0.0; D]; D];
    for i in 0..D {
        for j in 0..=i {
            let s: f64 = C[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            l[i][j] = if i == j { s.sqrt() } else { s / l[j][j] };
        }
    }
    let logdet = 2.0 * (0..D).map(|i| l[i][i].ln()).sum::<f64>();
    (l, logdet)
}

// ---- Training, checkpoints, resume -------------------------------------

fn quick_train(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: 100,
        lr: 3e-3,
        seed: 4,
        ..TrainConfig::default()
    }
}

#[test]
fn training_on_digits_raises_the_test_elbo() {
    let device = ad();
    let (train, test) = digits_split();
    let px = eval::binarize_fixed(&test, 0);
    let mut t = Trainer::new(small(8), quick_train(6), &device).unwrap();
    let before = eval::elbo_stats(&t.model().valid(), &px, test.len(), 0).unwrap();
    while !t.finished() {
        t.epoch(&train, &mut |_, _| {}).unwrap();
    }
    let after = eval::elbo_stats(&t.model().valid(), &px, test.len(), 0).unwrap();
    assert!(
        after.elbo > before.elbo + 5.0,
        "{} → {}",
        before.elbo,
        after.elbo
    );
    let tr = &t.state.elbo_trace;
    assert_eq!(tr.len(), 6);
    assert!(tr[5] > tr[0], "{tr:?}");
    assert_eq!(after.kl_per_dim.len(), 8);
    assert!(after.active_units >= 1 && after.active_units <= 8);
    assert!((after.kl_per_dim.iter().sum::<f64>() - after.kl).abs() < 1e-3 * after.kl.max(1.0));
}

#[test]
fn iwae_and_score_function_training_run_and_improve() {
    let device = ad();
    let (train, _) = digits_split();
    for cfg in [
        TrainConfig {
            objective: Objective::Iwae,
            k: 5,
            ..quick_train(2)
        },
        TrainConfig {
            estimator: Estimator::Score,
            ..quick_train(2)
        },
        TrainConfig {
            warmup: 1.0,
            free_bits: 0.1,
            ..quick_train(2)
        },
    ] {
        let mut t = Trainer::new(small(4), cfg.clone(), &device).unwrap();
        while !t.finished() {
            t.epoch(&train, &mut |_, _| {}).unwrap();
        }
        let tr = &t.state.elbo_trace;
        assert!(
            tr.iter().all(|v| v.is_finite()) && tr[1] > tr[0],
            "{cfg:?}: {tr:?}"
        );
    }
}

fn weights(m: &Vae) -> Vec<f32> {
    let mut v = Vec::new();
    for l in m
        .encoder
        .iter()
        .chain([&m.head])
        .chain(m.decoder.iter())
        .chain([&m.out])
    {
        v.extend(to_vec(l.weight.val()).unwrap());
        v.extend(to_vec(l.bias.as_ref().map(|b| b.val()).unwrap()).unwrap()); // biases are on
    }
    v
}

#[test]
fn checkpoint_round_trip_gives_identical_outputs() {
    let device = ad();
    let (train, test) = digits_split();
    let dir = std::env::temp_dir().join(format!("elbo-vae-ckpt-{}", std::process::id()));
    let path = dir.join("ckpt.bin");
    let mut t = Trainer::new(small(4), quick_train(1), &device).unwrap();
    t.epoch(&train, &mut |_, _| {}).unwrap();
    t.save(&path).unwrap();
    let r = Trainer::resume(&path, small(4), quick_train(1), &device).unwrap();
    assert_eq!(r.state, t.state);
    assert!(r.finished());
    let px = eval::binarize_fixed(&test, 0);
    let a = eval::reconstruct(&t.model().valid(), &px[..64 * 10], 10).unwrap();
    let b = eval::reconstruct(&r.model().valid(), &px[..64 * 10], 10).unwrap();
    assert_eq!(a, b);
    // Another network or another run's flags are refused.
    let e = Trainer::resume(&path, small(5), quick_train(1), &device).unwrap_err();
    assert!(e.to_string().contains("another network"), "{e}");
    let e = Trainer::resume(
        &path,
        small(4),
        TrainConfig {
            lr: 1e-4,
            ..quick_train(1)
        },
        &device,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("another training configuration"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_continues_identically() {
    let device = ad();
    let (train, _) = digits_split();
    let dir = std::env::temp_dir().join(format!("elbo-vae-resume-{}", std::process::id()));
    let path = dir.join("ckpt.bin");
    device.seed(21);
    let init = small(4).init(&device).unwrap();
    let cfg = TrainConfig {
        estimator: Estimator::Score,
        ..quick_train(3)
    };
    let mut straight =
        Trainer::from_model(crate::checkpoint::fresh_copy(&init, &device), cfg.clone());
    while !straight.finished() {
        straight.epoch(&train, &mut |_, _| {}).unwrap();
    }
    let mut first = Trainer::from_model(
        init,
        TrainConfig {
            epochs: 1,
            ..cfg.clone()
        },
    );
    first.epoch(&train, &mut |_, _| {}).unwrap();
    first.save(&path).unwrap();
    let mut resumed = Trainer::resume(&path, small(4), cfg, &device).unwrap();
    assert!(!resumed.finished());
    while !resumed.finished() {
        resumed.epoch(&train, &mut |_, _| {}).unwrap();
    }
    assert_eq!(resumed.state.elbo_trace, straight.state.elbo_trace);
    assert_eq!(resumed.state.baseline, straight.state.baseline);
    assert_eq!(weights(resumed.model()), weights(straight.model()));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Amortisation gap ---------------------------------------------------

#[test]
fn per_datapoint_optimisation_closes_the_amortisation_gap() {
    let device = ad();
    let (train, test) = digits_split();
    let mut t = Trainer::new(small(4), quick_train(2), &device).unwrap();
    while !t.finished() {
        t.epoch(&train, &mut |_, _| {}).unwrap();
    }
    let test = test.take(30);
    let px = eval::binarize_fixed(&test, 0);
    let opts = GapOptions {
        max_steps: 400,
        eval_k: 500,
        ..GapOptions::default()
    };
    let g = eval::gaps(t.model(), &px, test.len(), &opts, 0).unwrap();
    assert!(g.amortisation_gap > 0.0, "{g:?}");
    assert!(g.approximation_gap > -0.05, "{g:?}");
    assert!((g.log_px - g.elbo_amortised - g.approximation_gap - g.amortisation_gap).abs() < 1e-9);
    // A plain-device model is refused (nothing to differentiate).
    assert!(eval::gaps(&t.model().valid(), &px, test.len(), &opts, 0).is_err());
}

#[test]
fn wrong_image_size_is_a_clear_error() {
    let device = ad();
    let (train, _) = digits_split();
    let mut t = Trainer::new(VaeConfig::pytorch(), quick_train(1), &device).unwrap();
    let e = t.epoch(&train, &mut |_, _| {}).unwrap_err().to_string();
    assert!(
        e.contains("64 pixels per image (8×8) but the network's input is 784"),
        "{e}"
    );
}

/// Data-parallel training on P threads (equal and unequal shares of the
/// batch) follows the single-process run: the same bound every epoch (the
/// replicas draw the global batch's pixels and ε) and the same weights, up
/// to the order of float additions — and differs once the noise differs.
#[test]
fn data_parallel_replicas_follow_the_single_process_run() {
    use crate::parallel::{Single, assert_replicas_follow};
    let device = ad();
    let (train, _) = digits_split();
    for cfg in [
        TrainConfig {
            estimator: Estimator::Score,
            ..quick_train(2)
        },
        TrainConfig {
            objective: Objective::Iwae,
            k: 3,
            ..quick_train(2)
        },
    ] {
        device.seed(11);
        let init = small(4).init(&device).unwrap();
        let run = |replicas: &dyn crate::parallel::Replicas, seed: u64| {
            let mut t = Trainer::from_model(
                init.clone(),
                TrainConfig {
                    seed,
                    ..cfg.clone()
                },
            );
            t.sync(replicas).unwrap();
            while !t.finished() {
                t.epoch_on(&train, replicas, &mut |_, _| {}).unwrap();
            }
            (t.state.elbo_trace.clone(), weights(t.model()))
        };
        let single = run(&Single, 4);
        let (other_seed, _) = run(&Single, 5);
        for p in [2usize, 3] {
            assert_replicas_follow(p, &single, |g| run(g, 4));
        }
        // A different seed moves the curve by far more than the tolerance.
        assert!((other_seed[0] - single.0[0]).abs() > 1e-3 * single.0[0].abs());
    }
}
