//! Synthetic data sets, drawn from a seed.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::Dataset;
use crate::rng::seeded;

/// The cubic of PRML Fig 10.9: f(x) = 0.05 x³ − 0.5 x + 1.
pub fn cubic_mean(x: f64) -> f64 {
    0.05 * x * x * x - 0.5 * x + 1.0
}

/// `n` points with x uniform on (−5, 5) and t = f(x) + ε, ε ~ N(0, 0.09)
/// (noise standard deviation 0.3), as in PRML §10.3.3 / Fig 10.9.
pub fn cubic(n: usize, seed: u64) -> Dataset {
    let mut rng = seeded(seed);
    // 0.3 > 0, so Normal::new cannot fail.
    let noise = Normal::new(0.0, 0.3).expect("valid standard deviation");
    let x: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
    let t: Array1<f64> = x
        .iter()
        .map(|&xi| cubic_mean(xi) + noise.sample(&mut rng))
        .collect();
    Dataset {
        name: "cubic".into(),
        x: Array2::from_shape_vec((n, 1), x).expect("n x 1 values"),
        y: Some(t),
        feature_names: vec!["x".into()],
        target_name: Some("t".into()),
    }
}
