//! A resumed Bayes-by-Backprop trainer continues exactly. burn's random
//! generator is global per device, so this test lives in its own process:
//! unit tests running beside it in threads would draw from the same stream.

use burn::tensor::{Device, Distribution, Tensor};
use elbo_deep::bayes::{BayesMlpConfig, Likelihood, Prior, train};

/// The values of a weight matrix (a conversion of f32 data cannot fail).
fn values(t: &Tensor<2>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

/// Four epochs straight equal two epochs, a checkpoint, a fresh trainer
/// restored from it and two more: weights, Adam's moments and the noise of
/// every epoch all continue.
#[test]
fn a_resumed_trainer_continues_exactly() {
    let d = Device::flex().autodiff();
    d.seed(2);
    let x = Tensor::<2>::random([48, 2], Distribution::Normal(0.0, 1.0), &d);
    let y = x.clone().sum_dim(1).mul_scalar(0.5);
    let make = || {
        d.seed(5);
        let net = BayesMlpConfig::new(vec![2, 6, 1]).init(&d).unwrap();
        train::Trainer::new(
            net,
            Prior::Gaussian { sigma: 1.0 },
            Likelihood::Gaussian { sigma: 0.1 },
            train::FitConfig {
                batch_size: 16,
                lr: 1e-2,
                ..train::FitConfig::bbb()
            },
        )
        .unwrap()
    };
    let mut straight = make();
    let trace: Vec<f64> = (0..4)
        .map(|_| straight.epoch(&x, &y).unwrap().bound)
        .collect();

    let dir = std::env::temp_dir().join(format!("elbo-resume-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("resume.ckpt");
    let mut first = make();
    let mut resumed_trace: Vec<f64> = (0..2).map(|_| first.epoch(&x, &y).unwrap().bound).collect();
    first.save_checkpoint(&path, &resumed_trace).unwrap();
    let mut second = make();
    let saved: Vec<f64> = second.load_checkpoint(&path).unwrap();
    // JSON keeps the trace to the last digit or so.
    assert!(
        saved
            .iter()
            .zip(&resumed_trace)
            .all(|(a, b)| (a - b).abs() < 1e-9 * b.abs())
    );
    assert_eq!((second.epochs(), second.steps()), (2, 6));
    resumed_trace.extend((0..2).map(|_| second.epoch(&x, &y).unwrap().bound));
    for (a, b) in trace.iter().zip(&resumed_trace) {
        assert!(
            (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            "{trace:?} vs {resumed_trace:?}"
        );
    }
    assert_eq!(
        values(&straight.net.layers[0].w_mu.val()),
        values(&second.net.layers[0].w_mu.val())
    );
    let _ = std::fs::remove_file(&path);
}
